package enrich

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/geo"
	"github.com/tocsin/tocsin/internal/enrich/iptable"
	"github.com/tocsin/tocsin/internal/event"
)

// realData returns the path of a file of ../shared/data, or skips.
func realData(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("real data file %s is absent (%v): it lives in ../shared/data next to the repository", p, err)
	}
	return p
}

var (
	fullOnce sync.Once
	fullX    *Enricher
	fullErr  error
	fullLoad string // what loading took, in time and memory
)

// memory describes the process's memory: resident now and at its peak,
// and the live heap after a collection.
func memory() string {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	out := fmt.Sprintf("heap %d MiB", m.HeapAlloc>>20)
	for _, f := range []string{"/proc/self/status", "/proc/self/smaps_rollup"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && (k == "VmRSS" || k == "VmHWM" || k == "AnonHugePages") {
				out += ", " + k + " " + strings.TrimSpace(v)
			}
		}
	}
	return out
}

// fullEnricher is the enricher of the performance target: the full
// ip-location-db AS table (412k IPv4 and 103k IPv6 ranges), its country
// database, and an owner index of 100,000 organisations holding 1,000,000
// assets (800,000 IPv4 networks nested as in the RIRs' databases, 150,000
// IPv6, 25,000 AS numbers, 25,000 domains).
func fullEnricher(b *testing.B) *Enricher {
	v4, v6 := realData(b, "ipdb/ip-location-db-asn/asn-ipv4.csv"), realData(b, "ipdb/ip-location-db-asn/asn-ipv6.csv")
	mmdb := realData(b, "ipdb/ip-location-db-geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb")
	fullOnce.Do(func() {
		t0 := time.Now()
		var ab asn.Builder
		for _, p := range []string{v4, v6} {
			f, err := os.Open(p)
			if err != nil {
				fullErr = err
				return
			}
			_, err = asn.ReadIPLocationDB(f, &ab)
			f.Close()
			if err != nil {
				fullErr = err
				return
			}
		}
		x := &Enricher{}
		if x.ASN, fullErr = ab.Build(); fullErr != nil {
			return
		}
		if x.Geo, fullErr = geo.Open(mmdb); fullErr != nil {
			return
		}
		if x.Owners, fullErr = constituencyIndex(100_000, 800_000, 150_000, 25_000, 25_000); fullErr != nil {
			return
		}
		t1, before := time.Now(), memory()
		if x.IPv4, fullErr = iptable.New(x.Owners, x.ASN, x.Geo); fullErr != nil {
			return
		}
		t2 := time.Now()
		fullLoad = fmt.Sprintf("sources loaded in %v (%s); merged table built in %v: %+v (%s)",
			t1.Sub(t0).Round(time.Millisecond), before, t2.Sub(t1).Round(time.Millisecond), x.IPv4.Stats(), memory())
		fullX = x
	})
	if fullErr != nil {
		b.Fatal(fullErr)
	}
	b.Log(fullLoad)
	return fullX
}

// constituencyIndex generates an owner index: IPv4 allocations (/12-/22)
// with sub-allocations (/16-/24) and assignments (/24-/30) inside, IPv6
// likewise (/24-/32, /36-/48, /48-/64).
func constituencyIndex(nOrgs, n4, n6, nASN, nDomains int) (*index.Index, error) {
	r := rand.New(rand.NewPCG(1, 2))
	b := index.NewBuilder()
	org := func() string { return fmt.Sprintf("ripe:ORG-%06d-RIPE", r.IntN(nOrgs)) }
	for i := range nOrgs {
		if err := b.AddOrg(constituency.Org{ID: fmt.Sprintf("ripe:ORG-%06d-RIPE", i)}); err != nil {
			return nil, err
		}
	}
	add := func(p netip.Prefix) error {
		return b.AddAsset(constituency.Asset{Org: org(), Kind: constituency.AssetNetwork, Prefix: p, Source: constituency.SourceRIPE, Confirmed: true})
	}
	nested := func(n, width int, random func() netip.Addr, levels [3][2]int) error {
		var parents []netip.Prefix
		for i := range n {
			lvl := min(i*3/n, 2) // a third of each level, parents first
			lo, hi := levels[lvl][0], levels[lvl][1]
			bits := lo + r.IntN(hi-lo+1)
			a := random()
			if lvl > 0 && len(parents) > 0 {
				parent := parents[r.IntN(len(parents))]
				bits = max(bits, parent.Bits()+1)
				// a random address inside the parent
				pb, ab := parent.Addr().AsSlice(), a.AsSlice()
				for j := range pb {
					keep := min(max(parent.Bits()-j*8, 0), 8)
					mask := byte(0xff << (8 - keep))
					ab[j] = pb[j]&mask | ab[j]&^mask
				}
				a, _ = netip.AddrFromSlice(ab)
			}
			p := netip.PrefixFrom(a, min(bits, width)).Masked()
			if lvl < 2 {
				parents = append(parents, p)
			}
			if err := add(p); err != nil {
				return err
			}
		}
		return nil
	}
	rand4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(1 + r.IntN(222)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	}
	rand6 := func() netip.Addr {
		var a [16]byte
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		a[0] = 0x20 | a[0]&0x1f
		return netip.AddrFrom16(a)
	}
	if err := nested(n4, 32, rand4, [3][2]int{{12, 22}, {16, 24}, {24, 30}}); err != nil {
		return nil, err
	}
	if err := nested(n6, 128, rand6, [3][2]int{{24, 32}, {36, 48}, {48, 64}}); err != nil {
		return nil, err
	}
	for i := range nASN {
		if err := b.AddAsset(constituency.Asset{Org: org(), Kind: constituency.AssetASN, ASN: uint32(64496 + i), Source: constituency.SourceRIPE, Confirmed: true}); err != nil {
			return nil, err
		}
	}
	for i := range nDomains {
		if err := b.AddAsset(constituency.Asset{Org: org(), Kind: constituency.AssetDomain, Domain: fmt.Sprintf("d%d.example", i), Source: constituency.SourceRIPE, Confirmed: true}); err != nil {
			return nil, err
		}
	}
	return b.Build()
}

// BenchmarkOwnerASNCountry is the target: owner, AS and country of
// random IPv4 addresses, at most 150 ns and no allocation. The parts are
// measured apart, in the same run.
func BenchmarkOwnerASNCountry(b *testing.B) {
	x := fullEnricher(b)
	const n = 1 << 16
	r := rand.New(rand.NewPCG(7, 8))
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	}
	runtime.GC()
	var sink int
	b.Run("owner", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, _, ok := x.Owners.OwnerOfIP(addrs[i&(n-1)]); ok {
				sink++
			}
		}
	})
	b.Run("asn", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok := x.ASN.Lookup(addrs[i&(n-1)]); ok {
				sink++
			}
		}
	})
	b.Run("country", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok, _ := x.Geo.Country(addrs[i&(n-1)]); ok {
				sink++
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			a := addrs[i&(n-1)]
			if _, _, ok := x.Owners.OwnerOfIP(a); ok {
				sink++
			}
			if _, ok := x.ASN.Lookup(a); ok {
				sink++
			}
			if _, ok, _ := x.Geo.Country(a); ok {
				sink++
			}
		}
	})
	b.Run("merged", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ans, _ := x.IPv4.Lookup(addrs[i&(n-1)])
			if _, ok := ans.Org(); ok {
				sink++
			}
			if ans.AS().OK { // with its prefix and name
				sink++
			}
			if _, ok := ans.Country(); ok {
				sink++
			}
		}
	})
	// With the owner's prefix too, as "all" makes it.
	b.Run("merged-owner-prefix", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ans, _ := x.IPv4.Lookup(addrs[i&(n-1)])
			if ans.Owner().OK {
				sink++
			}
			if ans.AS().OK {
				sink++
			}
			if _, ok := ans.Country(); ok {
				sink++
			}
		}
	})
	b.Run("all-batch-256", func(b *testing.B) {
		const batch = 256
		owners, ases := make([]index.Hit, batch), make([]asn.Hit, batch)
		b.ReportAllocs()
		n := 0
		for i := 0; b.Loop(); i += batch {
			as := addrs[i&(len(addrs)-1):][:batch]
			x.Owners.OwnersOfIPs(as, owners)
			x.ASN.LookupAll(as, ases)
			for j, a := range as {
				if _, ok, _ := x.Geo.Country(a); ok && owners[j].OK && ases[j].OK {
					sink++
				}
			}
			n += batch
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/addr")
	})
	// What ingest pays: Event per event, or Events per batch of 256.
	events := make([]event.Event, 1<<12)
	ptrs := make([]*event.Event, len(events))
	for i := range events {
		events[i].Source.IP = addrs[i]
		ptrs[i] = &events[i]
	}
	reset := func(es []*event.Event) {
		for _, e := range es {
			ip := e.Source.IP
			e.Source = event.Endpoint{IP: ip}
			clear(e.Extra)
		}
	}
	// The sources one by one (without the merged table), then merged.
	separate := &Enricher{ASN: x.ASN, Geo: x.Geo, Owners: x.Owners}
	for _, c := range []struct {
		name string
		x    *Enricher
	}{{"separate", separate}, {"merged", x}} {
		b.Run("Event-"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				e := ptrs[i&(len(ptrs)-1)]
				reset(ptrs[i&(len(ptrs)-1):][:1])
				c.x.Event(e)
			}
		})
		b.Run("Events-256-"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for i := 0; b.Loop(); i += 256 {
				batch := ptrs[i&(len(ptrs)-1):][:256]
				reset(batch)
				c.x.Events(batch)
				n += len(batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
		})
	}
	_ = sink
}
