package geo

import (
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"
)

// randomV4 returns n addresses drawn uniformly from all of IPv4.
func randomV4(n int) []netip.Addr {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]netip.Addr, n)
	for i := range out {
		x := r.Uint32()
		out[i] = netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	return out
}

// randomInNetworks returns n addresses, each in a network of db that has
// data, drawn at random (networks alike, whatever their size), leaving out
// ::/96 when v4 is false and taking only it when true.
func randomInNetworks(tb testing.TB, db *DB, n int, v4 bool) []netip.Addr {
	var nets []netip.Prefix
	leaves(tb, db, func(p netip.Prefix, rec uint32) {
		if rec != db.nodeCount && (db.meta.IPVersion == 6 && p.Bits() >= 96 && isV4Space(p.Addr())) == v4 {
			nets = append(nets, p)
		}
	})
	if len(nets) == 0 {
		tb.Fatal("no networks")
	}
	r := rand.New(rand.NewPCG(3, 4))
	out := make([]netip.Addr, n)
	for i := range out {
		p := nets[r.IntN(len(nets))]
		b := p.Addr().As16()
		for bit := p.Bits(); bit < 128; bit++ {
			if r.IntN(2) == 1 {
				b[bit/8] |= 0x80 >> (bit % 8)
			}
		}
		out[i] = netip.AddrFrom16(b)
		if v4 {
			out[i] = netip.AddrFrom4([4]byte(b[12:]))
		}
	}
	return out
}

func benchCountry(b *testing.B, db *DB, addrs []netip.Addr) {
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		if _, ok, err := db.Country(addrs[i&(len(addrs)-1)]); err != nil {
			b.Fatal(err)
		} else if ok {
			found++
		}
	}
	if cpu := cpuTime() - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(found)/float64(b.N), "found/op")
}

// BenchmarkCountry measures Country on the real country database (tree walk
// and record decoding) with random addresses, and on MaxMind's GeoIP2
// Country test database (country.iso_code in larger records).
func BenchmarkCountry(b *testing.B) {
	const n = 1 << 16
	b.Run("ip-location-db/IPv4-random", func(b *testing.B) {
		benchCountry(b, openReal(b, "geo-whois-asn-country.mmdb"), randomV4(n))
	})
	b.Run("ip-location-db/IPv6-in-networks", func(b *testing.B) {
		db := openReal(b, "geo-whois-asn-country.mmdb")
		benchCountry(b, db, randomInNetworks(b, db, n, false))
	})
	b.Run("ip-location-db-ipv4-only/IPv4-random", func(b *testing.B) {
		benchCountry(b, openReal(b, "geo-whois-asn-country-ipv4.mmdb"), randomV4(n))
	})
	b.Run("GeoIP2-Country-Test/in-networks", func(b *testing.B) {
		db := testdata(b, "GeoIP2-Country-Test.mmdb")
		benchCountry(b, db, append(randomInNetworks(b, db, n/2, false), randomInNetworks(b, db, n/2, true)...))
	})
}

// BenchmarkLookup measures the general decoder: whole records as maps.
func BenchmarkLookup(b *testing.B) {
	for _, tc := range []struct{ name, file string }{
		{"ip-location-db", filepath.Join(shared, realDir, "geo-whois-asn-country.mmdb")},
		{"GeoIP2-Country-Test", filepath.Join("testdata", "maxmind", "GeoIP2-Country-Test.mmdb")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			db, err := Open(tc.file)
			if err != nil {
				b.Skip(err)
			}
			addrs := randomInNetworks(b, db, 1<<12, true)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := db.Lookup(addrs[i&(len(addrs)-1)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenVerify measures opening and verifying the real combined
// database (7.8 MB, 1.3 million nodes).
func BenchmarkOpenVerify(b *testing.B) {
	path := sharedPath(b, filepath.Join(realDir, "geo-whois-asn-country.mmdb"))
	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Open(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		db, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := db.Verify(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
