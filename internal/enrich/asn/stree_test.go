package asn

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func TestSTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 7, 8, 9, 63, 64, 65, 511, 512, 513, 4097} {
		for _, spread := range []uint64{4, 1 << 20, ^uint64(0)} {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = rng.Uint64N(spread) // duplicates when the spread is small
			}
			if n > 2 {
				keys[0], keys[1] = 0, ^uint64(0)
			}
			slices.Sort(keys)
			tr := newSTree(keys)
			probes := []uint64{0, 1, ^uint64(0), ^uint64(0) - 1, spread / 2}
			for _, k := range keys {
				probes = append(probes, k, k-1, k+1)
			}
			for range 100 {
				probes = append(probes, rng.Uint64N(spread))
			}
			for _, x := range probes {
				want := sort.Search(len(keys), func(i int) bool { return keys[i] > x }) - 1
				if got := tr.search(x); got != want {
					t.Fatalf("n=%d spread=%d: search(%d) = %d, want %d", n, spread, x, got, want)
				}
			}
		}
	}
}
