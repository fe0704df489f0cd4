package index

import (
	"encoding/binary"
	"math"
	"net/netip"
)

// IP prefixes are flattened into a range table: sorted, non-overlapping
// spans that cover the whole address space, each naming the organisation
// and prefix length of the longest prefix covering it (or none). A lookup
// is then a binary search for the last span starting at or below the
// address. A small bucket table, indexed by the address's high bits,
// narrows the search to a few dozen spans first, so most lookups touch
// two or three cache lines outside the bucket table.
//
// A span's value packs (org+1)<<8 | prefix length into 32 bits; 0 is a gap.
// The prefix itself is the address masked to that length: the one prefix
// of that length containing the address, so adjacent spans with the same
// organisation and length (sibling prefixes) merge into one.

// OwnerOfIP returns the organisation holding the longest prefix that
// contains a, and that prefix. IPv4-mapped IPv6 addresses are looked up
// as IPv4 and get an IPv4 prefix; a zone is ignored. It does not allocate.
func (ix *Index) OwnerOfIP(a netip.Addr) (org OrgRef, prefix netip.Prefix, ok bool) {
	if a.Is4() || a.Is4In6() {
		b := a.As16()
		x := binary.BigEndian.Uint32(b[12:])
		v := ix.v4.lookup(x)
		if v == 0 {
			return NoOrg, netip.Prefix{}, false
		}
		bits := int(v & 0xff)
		x &^= uint32(lowMask(32 - bits))
		var m [4]byte
		binary.BigEndian.PutUint32(m[:], x)
		return OrgRef(v>>8) - 1, netip.PrefixFrom(netip.AddrFrom4(m), bits), true
	}
	if !a.IsValid() {
		return NoOrg, netip.Prefix{}, false
	}
	b := a.As16()
	x := u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
	v := ix.v6.lookup(x)
	if v == 0 {
		return NoOrg, netip.Prefix{}, false
	}
	bits := int(v & 0xff)
	if bits >= 64 {
		x.lo &^= lowMask(128 - bits)
	} else {
		x.hi &^= lowMask(64 - bits)
		x.lo = 0
	}
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return OrgRef(v>>8) - 1, netip.PrefixFrom(netip.AddrFrom16(b), bits), true
}

// lowMask returns a uint64 with the low n bits set, 0 <= n <= 64.
func lowMask(n int) uint64 {
	if n >= 64 {
		return math.MaxUint64
	}
	return 1<<uint(n) - 1
}

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

// span is an entry of a range table being built: it runs from start to
// the next span's start.
type span struct {
	start u128
	val   uint32
}

// sweep flattens prefixes into spans covering [0, max]. items are of one
// family (width 32 or 128 bits), sorted by compareNet. It returns the
// spans, the first starting at 0, and how many items lost to another on
// the same prefix.
func sweep(items []netItem, width int) ([]span, int) {
	max := u128{math.MaxUint64, math.MaxUint64}
	if width == 32 {
		max = u128{0, math.MaxUint32}
	}
	end := func(it netItem) u128 {
		h := width - int(it.bits) // host bits
		if h > 64 {
			return u128{it.hi | lowMask(h-64), math.MaxUint64}
		}
		return u128{it.hi, it.lo | lowMask(h)}
	}
	type open struct {
		end u128
		val uint32
	}
	out := make([]span, 0, len(items)+len(items)/2+1)
	emit := func(start u128, val uint32) {
		if n := len(out); n > 0 && out[n-1].val == val {
			return
		}
		out = append(out, span{start, val})
	}
	var (
		stack = make([]open, 0, width+1)
		cur   u128 // first address not yet given to a span
		done  bool // every address has its span
		sup   int
	)
	// pop closes the innermost open prefix: the addresses from cur to its
	// end (those not taken by its children) are its own.
	pop := func() {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if done || t.end.less(cur) {
			return
		}
		emit(cur, t.val)
		if t.end == max {
			done = true
			return
		}
		cur = t.end
		if cur.lo++; cur.lo == 0 {
			cur.hi++
		}
	}
	for i, it := range items {
		if i > 0 && it.hi == items[i-1].hi && it.lo == items[i-1].lo && it.bits == items[i-1].bits {
			sup++ // the earlier one sorts as the winner
			continue
		}
		start := u128{it.hi, it.lo}
		for len(stack) > 0 && stack[len(stack)-1].end.less(start) {
			pop()
		}
		// Prefixes nest or are disjoint, so the open ones all contain start
		// and the innermost owns the addresses before it.
		if cur.less(start) {
			var v uint32
			if len(stack) > 0 {
				v = stack[len(stack)-1].val
			}
			emit(cur, v)
		}
		cur = start
		stack = append(stack, open{end(it), uint32(it.org+1)<<8 | uint32(it.bits)})
	}
	for len(stack) > 0 {
		pop()
	}
	if !done {
		emit(cur, 0)
	}
	return out, sup
}

// bucketBits returns how many high bits of the key select a bucket for a
// table of n spans: about eight spans per bucket, at most 2^17 buckets
// (512 KiB of uint32).
func bucketBits(n int) int {
	b := 4
	for b < 17 && 1<<b < n/8 {
		b++
	}
	return b
}

// table4 is the IPv4 range table. Buckets split [base, last span start]
// evenly; addresses below base fall in bucket 0, above the last bucket in
// the last. A span's start and value sit side by side: the search ends on
// the cache line that holds the answer.
type table4 struct {
	spans  []span4
	bucket []uint32 // bucket[k]: span holding the first address of bucket k; one extra at the end
	base   uint32
	shift  uint
	nb     uint32 // number of buckets
}

type span4 struct{ start, val uint32 }

func buildTable4(items []netItem) (table4, int) {
	spans, sup := sweep(items, 32)
	t := table4{spans: make([]span4, len(spans))}
	for i, s := range spans {
		t.spans[i] = span4{uint32(s.start.lo), s.val}
	}
	n := len(spans)
	t.nb = 1 << bucketBits(n)
	if n > 1 {
		t.base = t.spans[1].start
		width := uint64(t.spans[n-1].start - t.base)
		for width>>t.shift >= uint64(t.nb) {
			t.shift++
		}
	}
	t.bucket = make([]uint32, t.nb+1)
	j := 0
	for k := uint64(1); k < uint64(t.nb); k++ {
		a := min(uint64(t.base)+k<<t.shift, math.MaxUint32)
		for j+1 < n && uint64(t.spans[j+1].start) <= a {
			j++
		}
		t.bucket[k] = uint32(j)
	}
	t.bucket[t.nb] = uint32(n - 1)
	return t, sup
}

// lookup returns the value of the span holding x, 0 if none.
func (t *table4) lookup(x uint32) uint32 {
	if len(t.bucket) == 0 {
		return 0
	}
	var k uint32
	if x >= t.base {
		k = min((x-t.base)>>t.shift, t.nb-1)
	}
	lo, hi := t.bucket[k], t.bucket[k+1]
	s := t.spans[lo : hi+1]
	// The last span starting at or below x: s[0].start <= x always.
	i, n := 0, len(s)
	for n > 1 {
		half := n >> 1
		if s[i+half].start <= x {
			i += half
		}
		n -= half
	}
	return s[i].val
}

// table6 is the IPv6 range table; buckets are cut on the high 64 bits.
type table6 struct {
	spans  []span6
	bucket []uint32
	base   uint64
	shift  uint
	nb     uint64
}

type span6 struct {
	hi, lo uint64
	val    uint32
}

func buildTable6(items []netItem) (table6, int) {
	spans, sup := sweep(items, 128)
	t := table6{spans: make([]span6, len(spans))}
	for i, s := range spans {
		t.spans[i] = span6{s.start.hi, s.start.lo, s.val}
	}
	n := len(spans)
	t.nb = 1 << bucketBits(n)
	if n > 1 {
		t.base = t.spans[1].hi
		width := t.spans[n-1].hi - t.base
		for width>>t.shift >= t.nb {
			t.shift++
		}
	}
	t.bucket = make([]uint32, t.nb+1)
	j := 0
	for k := uint64(1); k < t.nb; k++ {
		a := u128{math.MaxUint64, math.MaxUint64} // past the end of the space
		if k <= (math.MaxUint64-t.base)>>t.shift {
			a = u128{t.base + k<<t.shift, 0}
		}
		for j+1 < n && !a.less(u128{t.spans[j+1].hi, t.spans[j+1].lo}) {
			j++
		}
		t.bucket[k] = uint32(j)
	}
	t.bucket[t.nb] = uint32(n - 1)
	return t, sup
}

func (t *table6) lookup(x u128) uint32 {
	if len(t.bucket) == 0 {
		return 0
	}
	var k uint64
	if x.hi >= t.base {
		k = min((x.hi-t.base)>>t.shift, t.nb-1)
	}
	lo, hi := t.bucket[k], t.bucket[k+1]
	s := t.spans[lo : hi+1]
	i, n := 0, len(s)
	for n > 1 {
		half := n >> 1
		if m := &s[i+half]; m.hi < x.hi || (m.hi == x.hi && m.lo <= x.lo) {
			i += half
		}
		n -= half
	}
	return s[i].val
}
