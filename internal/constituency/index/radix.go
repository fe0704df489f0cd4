package index

import (
	"math"
	"math/bits"
)

// radix narrows a lookup in the IPv6 range table to a few spans, whatever
// the distribution of the spans: prefixes crowd into some parts of the
// address space (a /29 allocation may hold 100,000 assignments) and leave
// the rest empty, so one table of evenly sized buckets would leave some
// buckets with thousands of spans.
//
// It works on 64-bit keys, the high 64 bits of an address. A node splits
// the keys from base, the first span start it holds, to its last span
// start evenly into 2^bits buckets (keys below base go to the first
// bucket, keys above the last start to the last). The root has up to 2^16
// buckets; a bucket holding more than a few spans gets a child node with
// up to 2^12 buckets, which starts again from the spans the bucket holds,
// so that a crowd of spans in a corner of a bucket is spread over the
// child's buckets; and so on, radixMaxDepth levels below the root at
// most. Spans that share their high 64 bits (prefixes longer than /64)
// cannot be told apart and are searched.
//
// Entries are 4 bytes: the first span that may hold a key of the bucket
// (every span before it starts before the bucket's first key), or, with
// the top bit set, the offset in ents of the child node: three words of
// header (base high and low 32 bits, shift | bits<<8) and its entries.
type radix struct {
	ents     []uint32
	base     uint64
	shift    uint8
	rootBits uint8
}

const (
	radixChild    = 1 << 31
	radixMaxChild = 12
	radixMaxRoot  = 16
	radixMaxDepth = 2
	radixHeader   = 3
)

// radixBuilder holds what building needs about the spans.
type radixBuilder struct {
	r      *radix
	target int // spans a bucket may hold before it is split
	key    func(i int) uint64
	// before reports whether span i starts at or before the first address
	// of key a: key(i) < a, or key(i) == a and the low 64 bits of its start
	// are 0.
	before func(i int, a uint64) bool
}

// buildRadix builds the radix over n spans, sorted, the first starting at
// key 0. Buckets are split until they hold at most target spans or the
// spans cannot be told apart by key.
func buildRadix(n, target int, key func(int) uint64, before func(int, uint64) bool) radix {
	r := radix{}
	rb := radixBuilder{r: &r, target: target, key: key, before: before}
	rootBits := 4
	for rootBits < radixMaxRoot && 1<<rootBits < n/target {
		rootBits++
	}
	base, shift := rb.span(0, n-1, uint(rootBits))
	r.base, r.shift, r.rootBits = base, uint8(shift), uint8(rootBits)
	r.ents = make([]uint32, 1<<rootBits, 1<<rootBits+n/target)
	rb.fill(0, base, shift, uint(rootBits), 0, n-1, 0)
	r.ents = r.ents[:len(r.ents):len(r.ents)]
	return r
}

// span returns the base and shift of a node over spans lo to hi with
// 2^nbits buckets: from the first span starting after lo's start to the
// last.
func (rb *radixBuilder) span(lo, hi int, nbits uint) (base uint64, shift uint) {
	if hi <= lo {
		return 0, 0
	}
	base = rb.key(lo + 1)
	width := rb.key(hi) - base
	for shift < 64 && width>>shift >= 1<<nbits {
		shift++
	}
	return base, shift
}

// fill writes the entries of the node at off: 2^nbits buckets of 2^shift
// keys from base, over spans lo to hi (lo holds the node's first key).
func (rb *radixBuilder) fill(off int, base uint64, shift, nbits uint, lo, hi, depth int) {
	nb := 1 << nbits
	his := make([]int, nb) // last span starting in each bucket
	j := lo
	rb.r.ents[off] = uint32(lo)
	for k := 1; k < nb; k++ {
		if uint64(k) > (math.MaxUint64-base)>>shift { // past the end of the key space
			his[k-1] = hi
			rb.r.ents[off+k] = uint32(hi)
			continue
		}
		a := base + uint64(k)<<shift
		for j < hi && rb.before(j+1, a) {
			j++
		}
		his[k-1] = j
		rb.r.ents[off+k] = uint32(j)
	}
	his[nb-1] = hi
	if depth == radixMaxDepth {
		return
	}
	for k := range nb {
		l, h := int(rb.r.ents[off+k]), his[k]
		if h-l+1 <= rb.target || rb.key(l+1) == rb.key(h) {
			continue // few spans, or no way to tell them apart by key
		}
		cb := uint(bits.Len(uint((h - l) / rb.target)))
		cb = max(2, min(cb, radixMaxChild))
		cbase, cshift := rb.span(l, h, cb)
		child := len(rb.r.ents)
		if child+radixHeader+1<<cb >= radixChild {
			continue // too large to address: the lookup searches the bucket
		}
		rb.r.ents = append(rb.r.ents, make([]uint32, radixHeader+1<<cb)...)
		rb.r.ents[child] = uint32(cbase >> 32)
		rb.r.ents[child+1] = uint32(cbase)
		rb.r.ents[child+2] = uint32(cshift) | uint32(cb)<<8
		rb.r.ents[off+k] = radixChild | uint32(child)
		rb.fill(child+radixHeader, cbase, cshift, cb, l, h, depth+1)
	}
}

// find returns a span that starts at or below key, and from which on
// few spans start at or below key.
func (r *radix) find(key uint64) int {
	base, shift, nb, off := r.base, uint(r.shift), uint64(1)<<r.rootBits, uint32(0)
	for {
		var k uint64
		if key >= base {
			k = min((key-base)>>shift, nb-1)
		}
		e := r.ents[uint64(off)+k]
		if e&radixChild == 0 {
			return int(e)
		}
		h := r.ents[e&^radixChild : e&^radixChild+radixHeader]
		base = uint64(h[0])<<32 | uint64(h[1])
		shift, nb = uint(h[2]&0xff), 1<<(h[2]>>8)
		off = e&^radixChild + radixHeader
	}
}
