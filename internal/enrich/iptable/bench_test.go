package iptable

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// BenchmarkLookup: random IPv4 addresses in the table merged from the
// full ip-location-db AS table and country database and 800,000
// generated owner prefixes.
func BenchmarkLookup(b *testing.B) {
	g := openGeo(b, sharedData(b, "ipdb/ip-location-db-geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb"))
	r := rand.New(rand.NewPCG(1, 2))
	tab, err := New(genIndex(b, r, 100_000, 800_000), realASN(b), g)
	if err != nil {
		b.Fatal(err)
	}
	const n = 1 << 16
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		addrs[i] = addr4(r.Uint32())
	}
	var sink uint64
	b.Run("find", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			sink += tab.find(key(addrs[i&(n-1)]))
		}
	})
	b.Run("Lookup", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ans, _ := tab.Lookup(addrs[i&(n-1)])
			org, _ := ans.Org()
			cc, _ := ans.Country()
			sink += uint64(org) + uint64(ans.AS().Prefix.Bits()) + uint64(len(cc))
		}
	})
	b.Run("LookupAll-64", func(b *testing.B) {
		b.ReportAllocs()
		var answers [64]Answer
		for i := 0; b.Loop(); i += 64 {
			tab.LookupAll(addrs[i&(n-1):][:64], answers[:])
			sink += uint64(answers[0].AS().Prefix.Bits())
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/addr")
	})
	_ = sink
}
