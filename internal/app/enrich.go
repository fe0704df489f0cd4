package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich"
	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/domain"
	"github.com/tocsin/tocsin/internal/enrich/geo"
	"github.com/tocsin/tocsin/internal/enrich/iptable"
	"github.com/tocsin/tocsin/internal/enrich/securitytxt"
	"github.com/tocsin/tocsin/internal/store"
)

// Where the reference data lives in the data directory.
func asnPath(dataDir string) string { return filepath.Join(dataDir, "enrich", "asn.table") }
func geoPath(dataDir string) string { return filepath.Join(dataDir, "enrich", "country.mmdb") }
func pslPath(dataDir string) string {
	return filepath.Join(dataDir, "enrich", "public_suffix_list.dat")
}
func securityTxtPath(dataDir string) string {
	return filepath.Join(dataDir, "cache", "security-txt.json")
}

// enricher loads the reference data imported into the data directory. What
// has not been imported is skipped; the Public Suffix List is compiled in.
// A file that is there but broken is an error that says how to fix it.
// With merge, it also builds the merged IPv4 table (see mergeIPv4): worth
// its second and 128 MiB for a long stream of look-ups, not for one ingest
// process, whose per-source look-ups stay within enrichment's budget.
func (a *App) enricher(ctx context.Context, merge bool) (*enrich.Enricher, error) {
	x := &enrich.Enricher{PSL: domain.Embedded()}
	ix, err := a.ownerIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("owner index: %w", err)
	}
	x.Owners = ix
	// The cache only helps: a broken one is left out, not fatal.
	if x.SecurityTxt, err = securitytxt.OpenSaved(securityTxtPath(a.DataDir)); err != nil {
		a.Log.Warn("security.txt contacts left out", "err", err)
		x.SecurityTxt = nil
	}
	if f, err := os.Open(asnPath(a.DataDir)); err == nil {
		x.ASN, err = asn.ReadTable(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w (import it again with 'tocsin data import asn FILE')", asnPath(a.DataDir), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, err := os.Stat(geoPath(a.DataDir)); err == nil {
		db, err := geo.Open(geoPath(a.DataDir))
		if err != nil {
			return nil, fmt.Errorf("%w (import it again with 'tocsin data import geo FILE.mmdb')", err)
		}
		x.Geo = db
	}
	if merge {
		if err := a.mergeIPv4(x); err != nil {
			return nil, err
		}
	}
	if f, err := os.Open(pslPath(a.DataDir)); err == nil {
		l, err := domain.Parse(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w (remove it to use the built-in list)", pslPath(a.DataDir), err)
		}
		x.PSL = l
	}
	return x, nil
}

// mergeMin is how many IPv4 ranges the owner index and the AS table must
// hold together for the merged table to pay for its fixed 128 MiB: with
// few, the sources' own structures fit in the caches and are as fast.
const mergeMin = 50_000

// mergeIPv4 builds x's merged IPv4 table (iptable) from its owner index,
// AS table and country database, when they are large enough.
func (a *App) mergeIPv4(x *enrich.Enricher) error {
	n := 0
	if x.Owners != nil {
		n += x.Owners.Stats().IPv4Ranges
	}
	if x.ASN != nil {
		v4, _ := x.ASN.Len()
		n += v4
	}
	if n < mergeMin {
		return nil
	}
	// The table lives outside the Go heap: hand what loading the sources
	// left behind back to the system first, so the two do not add up.
	debug.FreeOSMemory()
	start := time.Now()
	t, err := iptable.New(x.Owners, x.ASN, x.Geo)
	if errors.Is(err, iptable.ErrTooLarge) {
		a.Log.Warn("IPv4 look-ups left to the owner index, AS table and country database", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	if x.Geo != nil && !t.Countries() {
		a.Log.Warn("the country database could not be merged into the IPv4 table: countries are looked up in it one by one", "file", geoPath(a.DataDir))
	}
	x.IPv4 = t
	a.Log.Info("merged IPv4 table built", "ranges", n, "bytes", t.Stats().Bytes, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// ownerIndex builds the owner index from the registry: every organisation,
// confirmed asset and contact. It returns nil when the registry is empty.
func (a *App) ownerIndex(ctx context.Context) (*index.Index, error) {
	reg, err := a.registry()
	if err != nil {
		return nil, err
	}
	b := index.NewBuilder()
	n := 0
	for o, err := range reg.Orgs(ctx) {
		if err != nil {
			return nil, err
		}
		if err := b.AddOrg(*o); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, nil
	}
	for x, err := range reg.Assets(ctx, store.AssetFilter{}) {
		if err != nil {
			return nil, err
		}
		if err := b.AddAsset(*x); err != nil {
			a.Log.Warn("asset left out of the owner index", "org", x.Org, "asset", store.AssetString(x), "err", err)
		}
	}
	for c, err := range reg.Contacts(ctx, "") {
		if err != nil {
			return nil, err
		}
		if err := b.AddContact(*c); err != nil {
			a.Log.Warn("contact left out of the owner index", "org", c.Org, "email", c.Email, "err", err)
		}
	}
	return b.Build()
}
