package index

import (
	"math/bits"
)

// dir4 finds, in two loads and without a branch, an IPv4 span that starts
// at or shortly before an address. A root of up to 2^15 buckets splits
// the addresses from the first span start to the last evenly (addresses
// below go to the first bucket, above to the last). Each bucket has a
// child of 2^cb entries, cb from 0 for a bucket of a few spans to 12,
// which splits evenly the addresses from the first span starting in the
// bucket to the last, so that spans crowded into a corner of the bucket
// are spread over the child. A child entry holds the span that holds its
// first address.
//
// Without branches that depend on the data, the processor can start the
// next lookup while this one waits for memory, which on a large table is
// most of the time.
type dir4 struct {
	// root entries: child offset in ents (bits 0-26), cb (27-30), the
	// child's shift (31-35), its first address less the bucket's (36-63)
	root  []uint64
	ents  []uint32 // span indexes
	base  uint32
	shift uint8 // a bucket is 2^shift addresses
}

const (
	dir4OffMask  = 1<<27 - 1
	dir4MaxRoot  = 15
	dir4MaxChild = 12
)

// buildDir4 builds the dir4 of n spans, sorted by start, the first
// starting at 0, splitting buckets until they hold about target spans.
func buildDir4(n, target int, start func(i int) uint32) dir4 {
	d := dir4{}
	rootBits := 4
	for rootBits < dir4MaxRoot && 1<<rootBits < n/target {
		rootBits++
	}
	nb := 1 << rootBits
	if n > 1 {
		d.base = start(1)
		width := uint64(start(n-1) - d.base)
		for width>>d.shift >= uint64(nb) {
			d.shift++
		}
	}
	// holding returns the last span starting at or before a, searching
	// forward from j.
	holding := func(j int, a uint64) int {
		for j+1 < n && uint64(start(j+1)) <= a {
			j++
		}
		return j
	}
	d.root = make([]uint64, nb)
	d.ents = make([]uint32, 0, nb+n/target*2)
	lo := 0 // the span holding the bucket's first address
	for k := range nb {
		first := uint64(d.base) + uint64(k)<<d.shift
		next := first + 1<<d.shift // first address of the next bucket
		hi := n - 1
		if k < nb-1 && next <= 1<<32-1 {
			hi = holding(lo, next-1)
		}
		var cb, cshift int
		var delta uint64
		if hi-lo+1 > target && len(d.ents)+1<<dir4MaxChild <= dir4OffMask {
			cb = min(bits.Len(uint((hi-lo)/target)), dir4MaxChild)
			// From the first span starting in the bucket to the last.
			cfirst := uint64(start(lo + 1))
			if k == 0 {
				first = uint64(d.base) // addresses below base are lo's
			}
			delta = cfirst - first
			width := uint64(start(hi)) - cfirst
			cb = min(cb, bits.Len64(width)) // no finer than one address an entry
			for width>>cshift >= 1<<cb {
				cshift++
			}
		}
		d.root[k] = uint64(len(d.ents)) | uint64(cb)<<27 | uint64(cshift)<<31 | delta<<36
		d.ents = append(d.ents, uint32(lo))
		j := lo
		for c := 1; c < 1<<cb; c++ {
			j = holding(j, first+delta+uint64(c)<<cshift)
			d.ents = append(d.ents, uint32(j))
		}
		if k < nb-1 && next <= 1<<32-1 {
			lo = holding(hi, next)
		} else {
			lo = n - 1
		}
	}
	d.ents = d.ents[:len(d.ents):len(d.ents)]
	return d
}

// find returns a span starting at or before x, from which on few spans
// start at or before x.
func (d *dir4) find(x uint32) int {
	off := x - d.base
	if x < d.base {
		off = 0
	}
	k := min(off>>d.shift, uint32(len(d.root)-1))
	e := d.root[k]
	cb, cshift, delta := uint32(e>>27)&15, uint32(e>>31)&31, uint32(e>>36)
	r := off - k<<d.shift - delta // offset from the child's first address
	if off-k<<d.shift < delta {
		r = 0
	}
	j := min(r>>cshift, 1<<cb-1)
	return int(d.ents[uint32(e)&dir4OffMask+j])
}
