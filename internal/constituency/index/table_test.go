package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// clusteredStarts returns n distinct sorted keys from 0 on, crowded into a
// few clusters of very different widths, as span starts are.
func clusteredStarts(r *rand.Rand, n int, width uint) []uint64 {
	seen := map[uint64]bool{0: true}
	out := []uint64{0}
	for len(out) < n {
		center := r.Uint64() >> (64 - width)
		spread := uint(r.IntN(int(width)))
		for range 1 + r.IntN(200) {
			k := center + r.Uint64()>>(64-spread)
			if width < 64 {
				k &= 1<<width - 1
			}
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestDir4 checks the IPv4 table search, for several bucket sizes, against
// a binary search, on addresses at, next to and between span starts.
func TestDir4(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 50, 5000} {
		keys := clusteredStarts(r, n, 32)
		if n == 3 {
			keys = []uint64{0, 1, math.MaxUint32} // the edges of the space
		}
		for _, target := range []int{1, 2, 6, 64} {
			tb := table4{spans: make([]span4, len(keys))}
			for i, k := range keys {
				tb.spans[i] = span4{uint32(k), uint32(i + 1)}
			}
			for range window4 {
				tb.spans = append(tb.spans, span4{math.MaxUint32, uint32(len(keys))})
			}
			tb.dir = buildDir4(len(keys), target, func(i int) uint32 { return tb.spans[i].start })
			check := func(x uint32) {
				want, _ := slices.BinarySearch(keys, uint64(x)+1) // first start above x
				if i := tb.dir.find(x); i >= want || tb.spans[i].start > x {
					t.Fatalf("n %d target %d: find(%#x) = %d, want a span at or before %d", n, target, x, i, want-1)
				}
				if got := tb.lookup(x); got != uint32(want) {
					t.Fatalf("n %d target %d: lookup(%#x) = span %d, want %d", n, target, x, got-1, want-1)
				}
			}
			for _, k := range keys {
				check(uint32(k))
				check(uint32(k) - 1)
				check(uint32(k) + 1)
			}
			for range 2000 {
				check(r.Uint32())
			}
			check(math.MaxUint32)
		}
	}
}

// TestRadix6 does the same for the IPv6 table, with many spans sharing
// their high 64 bits.
func TestRadix6(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 50, 5000} {
		his := clusteredStarts(r, n, 64)
		var starts []u128
		for i, hi := range his {
			starts = append(starts, u128{hi, 0})
			if i > 0 && r.IntN(4) == 0 { // longer prefixes inside this /64
				for range r.IntN(30) {
					starts = append(starts, u128{hi, r.Uint64()})
				}
			}
		}
		slices.SortFunc(starts, func(a, b u128) int {
			if a.less(b) {
				return -1
			}
			if b.less(a) {
				return 1
			}
			return 0
		})
		starts = slices.Compact(starts)
		for _, target := range []int{1, 3, 16, 100} {
			tb := table6{spans: make([]span6, len(starts))}
			for i, s := range starts {
				tb.spans[i] = span6{s.hi, s.lo, uint32(i + 1)}
			}
			tb.radix = buildRadix(len(starts), target,
				func(i int) uint64 { return tb.spans[i].hi },
				func(i int, a uint64) bool { s := &tb.spans[i]; return s.hi < a || s.hi == a && s.lo == 0 })
			check := func(x u128) {
				want, _ := slices.BinarySearchFunc(starts, x, func(s, x u128) int {
					if x.less(s) {
						return 1
					}
					return -1
				}) // first start above x
				if i := tb.radix.find(x.hi); i >= want || x.less(starts[i]) {
					t.Fatalf("n %d target %d: find(%x) = %d, want a span at or before %d", n, target, x, i, want-1)
				}
				if got := tb.lookup(x); got != uint32(want) {
					t.Fatalf("n %d target %d: lookup(%x) = span %d, want %d", n, target, x, got-1, want-1)
				}
			}
			for _, s := range starts {
				check(s)
				check(u128{s.hi, s.lo + 1})
				if s.lo > 0 {
					check(u128{s.hi, s.lo - 1})
				} else if s.hi > 0 {
					check(u128{s.hi - 1, math.MaxUint64})
				}
			}
			for range 2000 {
				check(u128{r.Uint64(), r.Uint64()})
			}
			check(u128{math.MaxUint64, math.MaxUint64})
		}
	}
}
