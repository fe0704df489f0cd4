package iptable

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// BenchmarkLookup: random IPv4 addresses in the table merged from the
// full ip-location-db AS table and country database and 800,000
// generated owner prefixes. Each answer is unpacked: owner, AS with its
// prefix and name, country.
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
	var sink int
	use := func(ans Answer) {
		if _, ok := ans.Org(); ok {
			sink++
		}
		if ans.AS().OK {
			sink++
		}
		if _, ok := ans.Country(); ok {
			sink++
		}
	}
	b.Run("find", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			sink += int(tab.find(key(addrs[i&(n-1)])) & 1)
		}
	})
	b.Run("Lookup", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ans, _ := tab.Lookup(addrs[i&(n-1)])
			use(ans)
		}
	})
	b.Run("LookupAll-64", func(b *testing.B) {
		b.ReportAllocs()
		var answers [64]Answer
		for i := 0; b.Loop(); i += 64 {
			tab.LookupAll(addrs[i&(n-1):][:64], answers[:])
			for _, ans := range answers {
				use(ans)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/addr")
	})
	_ = sink
}
