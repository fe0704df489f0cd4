package geo

// Country walks a copy of the search tree recast four bits at a time: a
// stride node is 16 records (64 bytes, one cache line) for the 16 values of
// the next four bits, each the stride node the binary tree reaches four
// levels down or the terminal record it reaches on the way. A walk then
// reads one cache line for every four bits instead of up to four scattered
// nodes: an IPv6 lookup in the ip-location-db country file goes down 56
// levels on average.
//
// Stride nodes are numbered like binary nodes, below nodeCount (there are
// fewer of them), so a record value means the same in both: below
// nodeCount a node, nodeCount nothing, above it data.

const strideBits = 4

// buildStride recasts the tree below the binary nodes in roots, which must
// be four-bit aligned, and returns the stride nodes and the stride node of
// each root (or the root itself if it is terminal). Every binary node
// becomes at most one stride node, so the work and the memory are bounded
// by nodeCount whatever the tree, cycles included.
func (db *DB) buildStride(roots []uint32) ([]uint32, []uint32) {
	nc := db.nodeCount
	index := make([]uint32, nc) // binary node → its stride node + 1, or 0
	var queue []uint32          // the binary node of each stride node
	strideOf := func(rec uint32) uint32 {
		if rec >= nc {
			return rec
		}
		if index[rec] == 0 {
			queue = append(queue, rec)
			index[rec] = uint32(len(queue))
		}
		return index[rec] - 1
	}
	out := make([]uint32, len(roots))
	for i, r := range roots {
		out[i] = strideOf(r)
	}
	var fill func(rec uint32, depth, prefix int, entries []uint32)
	fill = func(rec uint32, depth, prefix int, entries []uint32) {
		if rec >= nc || depth == strideBits {
			s := strideOf(rec)
			for j := prefix << (strideBits - depth); j < (prefix+1)<<(strideBits-depth); j++ {
				entries[j] = s
			}
			return
		}
		fill(db.record(rec, 0), depth+1, prefix<<1, entries)
		fill(db.record(rec, 1), depth+1, prefix<<1|1, entries)
	}
	// Two passes: the first finds the stride nodes (filling a scratch
	// node), the second fills them in a slice of the exact size.
	var scratch [1 << strideBits]uint32
	for k := 0; k < len(queue); k++ {
		fill(queue[k], 0, 0, scratch[:])
	}
	nodes := make([]uint32, len(queue)<<strideBits)
	for k, rec := range queue {
		fill(rec, 0, 0, nodes[k<<strideBits:(k+1)<<strideBits])
	}
	return nodes, out
}

// strideWalk follows the stride nodes from record rec along the first n
// bits (a multiple of four) of the key hi:lo. It returns the record it stops
// at: a stride node only if all n bits were used.
func (db *DB) strideWalk(rec uint32, hi, lo uint64, n int) uint32 {
	nc, s := db.nodeCount, db.stride
	for range n / strideBits {
		if rec >= nc {
			return rec
		}
		o := int(rec)<<strideBits | int(hi>>(64-strideBits))
		rec = s[o]
		hi, lo = hi<<strideBits|lo>>(64-strideBits), lo<<strideBits
	}
	return rec
}
