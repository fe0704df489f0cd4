package iptable

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/geo"
)

// sharedData returns the path of a file of ../shared/data (next to the
// repository), or skips when it is absent, as in a fresh clone.
func sharedData(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("real data file %s is absent (%v): it lives in ../shared/data next to the repository", p, err)
	}
	return p
}

// realASN reads the full ip-location-db AS table (IPv4 part).
func realASN(tb testing.TB) *asn.Table {
	tb.Helper()
	f, err := os.Open(sharedData(tb, "ipdb/ip-location-db-asn/asn-ipv4.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var b asn.Builder
	if _, err := asn.ReadIPLocationDB(f, &b); err != nil {
		tb.Fatal(err)
	}
	t, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func openGeo(tb testing.TB, path string) *geo.DB {
	tb.Helper()
	db, err := geo.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// genASN makes an AS table of n entries, prefixes and ranges, many
// overlapping, a few sharing a prefix.
func genASN(tb testing.TB, r *rand.Rand, n int) *asn.Table {
	tb.Helper()
	var b asn.Builder
	for i := range n {
		as := uint32(1 + r.IntN(5000))
		name := fmt.Sprintf("AS-%d", as%700) // names shared between ASes
		a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
		var err error
		if i%2 == 0 {
			err = b.AddPrefix(netip.PrefixFrom(a, 8+r.IntN(25)).Masked(), as, name)
		} else {
			last := a.As4()
			span := uint32(1) << r.IntN(20)
			x := (uint32(last[0])<<24 | uint32(last[1])<<16 | uint32(last[2])<<8 | uint32(last[3])) + uint32(r.Int64N(int64(span)))
			end := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
			if end.Less(a) {
				end = a
			}
			err = b.AddRange(a, end, as, name)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	t, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// genIndex makes an owner index of n IPv4 networks nested three deep, as
// in the RIRs' databases, some held by two organisations at the same
// length from different sources (manual must win), some unconfirmed.
func genIndex(tb testing.TB, r *rand.Rand, nOrgs, n int) *index.Index {
	tb.Helper()
	b := index.NewBuilder()
	for i := range nOrgs {
		if err := b.AddOrg(constituency.Org{ID: fmt.Sprintf("org-%d", i)}); err != nil {
			tb.Fatal(err)
		}
	}
	org := func() string { return fmt.Sprintf("org-%d", r.IntN(nOrgs)) }
	add := func(p netip.Prefix, src constituency.Source, confirmed bool) {
		if err := b.AddAsset(constituency.Asset{Org: org(), Kind: constituency.AssetNetwork, Prefix: p, Source: src, Confirmed: confirmed}); err != nil {
			tb.Fatal(err)
		}
	}
	var parents []netip.Prefix
	levels := [3][2]int{{8, 22}, {16, 26}, {24, 32}}
	for i := range n {
		lvl := min(i*3/n, 2)
		bits := levels[lvl][0] + r.IntN(levels[lvl][1]-levels[lvl][0]+1)
		x := r.Uint32()
		if lvl > 0 && len(parents) > 0 {
			p := parents[r.IntN(len(parents))]
			pa := p.Addr().As4()
			px := uint32(pa[0])<<24 | uint32(pa[1])<<16 | uint32(pa[2])<<8 | uint32(pa[3])
			keep := ^uint32(0) << (32 - p.Bits())
			x = px&keep | x&^keep
			bits = max(bits, p.Bits()+1)
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}), min(bits, 32)).Masked()
		if lvl < 2 {
			parents = append(parents, p)
		}
		switch r.IntN(20) {
		case 0: // two holders at the same length
			add(p, constituency.SourceRIPE, true)
			add(p, constituency.SourceManual, true)
		case 1:
			add(p, constituency.SourceRIPE, false)
		default:
			add(p, constituency.SourceRIPE, true)
		}
	}
	// An IPv6 network, which the table leaves alone.
	add(netip.MustParsePrefix("2001:db8::/32"), constituency.SourceManual, true)
	ix, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return ix
}

// check compares t's answers for a with the sources'.
func check(t *testing.T, tab *Table, owners *index.Index, as *asn.Table, g *geo.DB, a netip.Addr) {
	t.Helper()
	got, ok := tab.Lookup(a)
	if !ok {
		t.Fatalf("Lookup(%v): not answered", a)
	}
	wantOwner := index.Hit{Org: index.NoOrg}
	if owners != nil {
		wantOwner.Org, wantOwner.Prefix, wantOwner.OK = owners.OwnerOfIP(a)
	}
	var wantAS asn.Hit
	if as != nil {
		wantAS.Result, wantAS.OK = as.Lookup(a)
	}
	var wantCC string
	var wantOK bool
	if g != nil && tab.Countries() {
		cc, ok, err := g.Country(a)
		if err != nil {
			t.Fatalf("Country(%v): %v", a, err)
		}
		wantCC, wantOK = cc, ok
	}
	org, orgOK := got.Org()
	if h := got.Owner(); h != wantOwner || org != wantOwner.Org || orgOK != wantOwner.OK {
		t.Fatalf("%v: owner %+v (org %d %v), OwnerOfIP says %+v", a, h, org, orgOK, wantOwner)
	}
	if h := got.AS(); h != wantAS {
		t.Fatalf("%v: AS %+v, Lookup says %+v", a, h, wantAS)
	}
	if cc, ok := got.Country(); cc != wantCC || ok != wantOK {
		t.Fatalf("%v: country %q %v, Country says %q %v", a, cc, ok, wantCC, wantOK)
	}
}

// TestMatchesSources checks the merged answers against the three sources
// asked one by one: on random addresses and on both sides of every edge
// of every source's ranges.
func TestMatchesSources(t *testing.T) {
	countryTest := filepath.Join("..", "geo", "testdata", "maxmind", "GeoIP2-Country-Test.mmdb")
	cases := []struct {
		name      string
		sources   func(t *testing.T) (*index.Index, *asn.Table, *geo.DB)
		random    int
		countries bool
	}{
		{"real AS table and country database, generated owners", func(t *testing.T) (*index.Index, *asn.Table, *geo.DB) {
			g := openGeo(t, sharedData(t, "ipdb/ip-location-db-geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb"))
			r := rand.New(rand.NewPCG(1, 2))
			return genIndex(t, r, 10_000, 200_000), realASN(t), g
		}, 1_000_000, true},
		{"generated AS table and owners, MaxMind's test database", func(t *testing.T) (*index.Index, *asn.Table, *geo.DB) {
			r := rand.New(rand.NewPCG(3, 4))
			return genIndex(t, r, 500, 20_000), genASN(t, r, 20_000), openGeo(t, countryTest)
		}, 1_000_000, true},
		{"IPv4-only country database", func(t *testing.T) (*index.Index, *asn.Table, *geo.DB) {
			g := openGeo(t, sharedData(t, "ipdb/ip-location-db-geo-whois-asn-country-mmdb/geo-whois-asn-country-ipv4.mmdb"))
			r := rand.New(rand.NewPCG(5, 6))
			return genIndex(t, r, 100, 2_000), genASN(t, r, 2_000), g
		}, 100_000, true},
		{"no sources", func(t *testing.T) (*index.Index, *asn.Table, *geo.DB) { return nil, nil, nil }, 10_000, false},
		{"empty sources", func(t *testing.T) (*index.Index, *asn.Table, *geo.DB) {
			ix, err := index.NewBuilder().Build()
			if err != nil {
				t.Fatal(err)
			}
			var b asn.Builder
			as, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			return ix, as, nil
		}, 10_000, false},
		{"broken country database: left to geo", func(t *testing.T) (*index.Index, *asn.Table, *geo.DB) {
			r := rand.New(rand.NewPCG(7, 8))
			g := openGeo(t, filepath.Join("..", "geo", "testdata", "maxmind", "MaxMind-DB-test-broken-search-tree-24.mmdb"))
			return genIndex(t, r, 100, 1_000), genASN(t, r, 1_000), g
		}, 10_000, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			owners, as, g := c.sources(t)
			tab, err := New(owners, as, g)
			if err != nil {
				t.Fatal(err)
			}
			if tab.Countries() != c.countries {
				t.Fatalf("Countries() = %v, want %v", tab.Countries(), c.countries)
			}
			if !tab.Of(owners, as, g) {
				t.Fatal("Of(its own sources) = false")
			}
			// Every edge of every source's ranges, and its neighbours.
			var edges []uint32
			if owners != nil {
				for s := range owners.Spans4() {
					edges = append(edges, s.First, s.Last)
				}
			}
			if as != nil {
				for b := range as.Blocks4() {
					edges = append(edges, b.First, b.Last)
				}
			}
			if g != nil && tab.Countries() {
				cs, err := g.CountryRanges4()
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range cs {
					edges = append(edges, r.First, r.Last)
				}
			}
			for _, e := range edges {
				for _, x := range []uint32{e - 1, e, e + 1} {
					check(t, tab, owners, as, g, addr4(x))
				}
			}
			r := rand.New(rand.NewPCG(9, 10))
			for range c.random {
				check(t, tab, owners, as, g, addr4(r.Uint32()))
			}
			// IPv4-mapped IPv6 addresses are IPv4.
			for range 1000 {
				check(t, tab, owners, as, g, netip.AddrFrom16(addr4(r.Uint32()).As16()))
			}
			// LookupAll answers as Lookup does, IPv6 left out.
			as4 := make([]netip.Addr, 1000)
			for i := range as4 {
				as4[i] = addr4(r.Uint32())
				if i%100 == 0 {
					as4[i] = netip.MustParseAddr("2001:db8::1")
				}
			}
			all := make([]Answer, len(as4))
			tab.LookupAll(as4, all)
			for i, a := range as4 {
				want, ok := tab.Lookup(a)
				if !ok {
					want = Answer{t: tab} // none
				}
				if all[i] != want {
					t.Fatalf("LookupAll: %v: %+v, Lookup says %+v", a, all[i], want)
				}
			}
			t.Logf("%d edges, %+v", len(edges), tab.Stats())
		})
	}
}

// TestNotIPv4 checks that IPv6 and invalid addresses are left to the
// sources.
func TestNotIPv4(t *testing.T) {
	tab, err := New(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{{}, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::1")} {
		if _, ok := tab.Lookup(a); ok {
			t.Errorf("Lookup(%v) answered", a)
		}
	}
	var nilTab *Table
	if nilTab.Of(nil, nil, nil) {
		t.Error("a nil Table is Of anything")
	}
}
