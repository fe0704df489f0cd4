package asn

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"testing"
)

// benchAddrs returns n addresses for a lookup benchmark on tab: for
// "uniform", random addresses of the family (IPv6: inside 2000::/3, the
// global unicast space); for "routed", random addresses inside random
// segments of the table, so every lookup finds an AS.
func benchAddrs(tab *Table, v4 bool, kind string, n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(7, 8))
	out := make([]netip.Addr, n)
	for i := range out {
		switch {
		case v4 && kind == "uniform":
			out[i] = toAddr(true, u128{0, uint64(rng.Uint32())})
		case v4:
			j := rng.IntN(len(tab.start4))
			s, e := tab.start4[j], tab.seg4[j].last
			out[i] = toAddr(true, u128{0, uint64(s) + rng.Uint64N(uint64(e-s)+1)})
		case kind == "uniform":
			out[i] = u128{0x2000<<48 | rng.Uint64()>>3, rng.Uint64()}.addr6()
		default:
			j := rng.IntN(len(tab.seg6))
			s, e := tab.seg6[j].start, tab.seg6[j].last
			x := s
			if d := e.sub(s); d.hi == 0 && d.lo != ^uint64(0) {
				x.lo += rng.Uint64N(d.lo + 1) // no carry: s.lo+d.lo <= e
				if x.lo < s.lo {
					x.hi++
				}
			} else {
				x.lo = rng.Uint64()
			}
			out[i] = x.addr6()
		}
	}
	return out
}

func benchLookup(b *testing.B, v4 bool) {
	tab := ipLocationDBTable(b)
	for _, kind := range []string{"uniform", "routed"} {
		b.Run(kind, func(b *testing.B) {
			addrs := benchAddrs(tab, v4, kind, 1<<16)
			found, n := 0, 0
			runtime.GC() // the garbage of building the table, not the lookups
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			for ; b.Loop(); n++ {
				if _, ok := tab.Lookup(addrs[n&(1<<16-1)]); ok {
					found++
				}
			}
			if cpu1, _ := processCPU(); cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(n), "cpu-ns/op")
			}
			b.ReportMetric(float64(found)/float64(n), "found/op")
		})
	}
}

// BenchmarkLookupV4 looks up random IPv4 addresses in the full
// ip-location-db table (412k IPv4 and 103k IPv6 ranges).
func BenchmarkLookupV4(b *testing.B) { benchLookup(b, true) }

// BenchmarkLookupV6 is BenchmarkLookupV4 for IPv6.
func BenchmarkLookupV6(b *testing.B) { benchLookup(b, false) }

// BenchmarkBuild reads both ip-location-db CSVs from memory and builds the
// table: the work of an import.
func BenchmarkBuild(b *testing.B) {
	v4, err := os.ReadFile(sharedData(b, ipdbV4))
	if err != nil {
		b.Fatal(err)
	}
	v6, err := os.ReadFile(sharedData(b, ipdbV6))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(v4) + len(v6)))
	cpu0, cpuOK := processCPU()
	n := 0
	defer func() {
		if cpu1, _ := processCPU(); cpuOK {
			b.ReportMetric(float64(cpu1-cpu0)/1e6/float64(n), "cpu-ms/op")
		}
	}()
	for ; b.Loop(); n++ {
		var bld Builder
		if _, err := ReadIPLocationDB(bytes.NewReader(v4), &bld); err != nil {
			b.Fatal(err)
		}
		if _, err := ReadIPLocationDB(bytes.NewReader(v6), &bld); err != nil {
			b.Fatal(err)
		}
		if _, err := bld.Build(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadTable loads the snapshot of the full ip-location-db table:
// what every run does at start.
func BenchmarkReadTable(b *testing.B) {
	tab := ipLocationDBTable(b)
	var buf bytes.Buffer
	if _, err := tab.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := ReadTable(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
