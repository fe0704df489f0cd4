package asn

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestLookupAll: the batch answers as Lookup does, for groups that are
// full or not, both families mixed, and an empty table.
func TestLookupAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var b Builder
	for i := range 300 {
		p, _ := toAddr(true, u128{0, 0x0a000000 + uint64(rng.IntN(1<<16))}).Prefix(20 + rng.IntN(9))
		if err := b.AddPrefix(p, uint32(1+i%7), "AS"); err != nil {
			t.Fatal(err)
		}
	}
	b.AddPrefix(netip.MustParsePrefix("2001:db8::/32"), 9, "V6")
	full := mustBuild(t, &b)
	var none Builder
	for _, tab := range []*Table{full, mustBuild(t, &none), {}} {
		var addrs []netip.Addr
		for range 500 {
			addrs = append(addrs, toAddr(true, u128{0, 0x0a000000 + uint64(rng.IntN(1<<17))}), toAddr(true, u128{0, uint64(rng.Uint32())}))
		}
		addrs = append(addrs, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:10.0.0.1"), netip.Addr{})
		hits := make([]Hit, len(addrs))
		for _, n := range []int{0, 1, 16, 17, len(addrs)} {
			tab.LookupAll(addrs[:n], hits)
			for i, h := range hits[:n] {
				r, ok := tab.Lookup(addrs[i])
				if h != (Hit{r, ok}) {
					t.Fatalf("LookupAll of %d: %s: %+v, Lookup %+v %v", n, addrs[i], h, r, ok)
				}
			}
		}
		if n := testing.AllocsPerRun(10, func() { tab.LookupAll(addrs, hits) }); n != 0 {
			t.Errorf("LookupAll allocates %.0f times", n)
		}
	}
}
