package asn

import "math/bits"

// stree is a static B-tree over sorted keys (Algorithmica's "S-tree"):
// nodes of streeB keys, one cache line each, stored layer by layer in one
// slice. A search reads one node per layer — six for the 103k IPv6 starts
// of the full table, of which only the lowest layers leave the cache —
// where a binary search over a crowded range reads a dozen lines or more.
type stree struct {
	nodes []uint64 // the layers, root first; a layer starts on a node boundary
	off   []int    // off[l] is where layer l starts; layer 0 (the leaves) is the keys, last
	n     int      // the number of keys
}

const streeB = 8 // keys per node: 64 bytes

// newSTree builds the tree over keys, which are sorted.
func newSTree(keys []uint64) stree {
	if len(keys) == 0 {
		return stree{}
	}
	// Layer 0 holds the keys; each node of layer l+1 holds the first key of
	// streeB nodes of layer l. Missing keys are the maximum.
	layers := [][]uint64{keys}
	for len(layers[len(layers)-1]) > streeB {
		below := layers[len(layers)-1]
		nodes := (len(below) + streeB - 1) / streeB
		up := make([]uint64, nodes)
		for j := range up {
			up[j] = below[j*streeB]
		}
		layers = append(layers, up)
	}
	t := stree{n: len(keys), off: make([]int, len(layers))}
	size := 0
	for _, l := range layers {
		size += (len(l) + streeB - 1) / streeB * streeB
	}
	t.nodes = make([]uint64, size)
	pos := 0
	for l := len(layers) - 1; l >= 0; l-- {
		t.off[l] = pos
		n := copy(t.nodes[pos:], layers[l])
		end := pos + (n+streeB-1)/streeB*streeB
		for i := pos + n; i < end; i++ {
			t.nodes[i] = ^uint64(0)
		}
		pos = end
	}
	return t
}

// search returns the index of the last key <= x, or -1.
func (t *stree) search(x uint64) int {
	if t.n == 0 {
		return -1
	}
	if x == ^uint64(0) {
		return t.n - 1 // and padding, the maximum, counts nowhere below
	}
	k := 0 // node within the layer
	for l := len(t.off) - 1; l >= 0; l-- {
		o := t.off[l] + k*streeB
		node := (*[streeB]uint64)(t.nodes[o : o+streeB])
		// Count the keys <= x without a branch: a borrow is a key > x.
		var gt uint64
		for _, v := range node {
			_, b := bits.Sub64(x, v, 0)
			gt += b
		}
		c := streeB - int(gt)
		if c == 0 {
			return -1 // only at the root: below every key
		}
		k = k*streeB + c - 1
	}
	return k
}
