package index

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
)

// IP prefixes are flattened into a range table: sorted, non-overlapping
// spans that cover the whole address space, each naming the organisation
// and prefix length of the longest prefix covering it (or none). A lookup
// is then a search for the last span starting at or below the address,
// narrowed first to a few spans by a two-level table over the address's
// bits (dir4.go, IPv4) or a radix over its high 64 bits (radix.go, IPv6),
// both of which adapt to how crowded each part of the address space is.
//
// With a million prefixes the spans (9 MB for IPv4) do not fit in a
// core's caches: a lookup of a random address reads three lines that are
// mostly not cached (its bucket, its child entry, its spans) and costs
// about three times a memory access (README.md has the figures).
// Addresses that come in order, or again, as in real feeds, find their
// lines in the cache and cost a quarter of that.
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

// Hit is OwnerOfIP's answer for one address.
type Hit struct {
	Org    OrgRef
	Prefix netip.Prefix
	OK     bool
}

// hitGroup is how many IPv4 lookups OwnersOfIPs runs side by side.
const hitGroup = 16

// OwnersOfIPs answers OwnerOfIP for each of addrs into hits, which must be
// at least as long. IPv4 addresses are looked up in groups, each step of
// the search done for the whole group before the next, so that the reads
// from memory of different addresses overlap instead of waiting for one
// another: for addresses in random order this costs a fraction of one
// OwnerOfIP per address (README.md has the figures). It does not
// allocate.
func (ix *Index) OwnersOfIPs(addrs []netip.Addr, hits []Hit) {
	hits = hits[:len(addrs)]
	var (
		xs  [hitGroup]uint32
		pos [hitGroup]int
		k   [hitGroup]int // index in addrs
	)
	empty := len(ix.v4.spans) == 0
	n := 0
	flush := func() {
		// Each loop's reads are independent of one another.
		for j := range n {
			pos[j] = ix.v4.dir.find(xs[j])
		}
		for j := range n {
			v := ix.v4.scan(pos[j], xs[j])
			hits[k[j]] = hit4(v, xs[j])
		}
		n = 0
	}
	for i, a := range addrs {
		if !(a.Is4() || a.Is4In6()) || empty {
			org, p, ok := ix.OwnerOfIP(a)
			hits[i] = Hit{org, p, ok}
			continue
		}
		b := a.As16()
		xs[n], k[n] = binary.BigEndian.Uint32(b[12:]), i
		if n++; n == hitGroup {
			flush()
		}
	}
	flush()
}

// hit4 makes the Hit of IPv4 address x from its span's value.
func hit4(v, x uint32) Hit {
	if v == 0 {
		return Hit{Org: NoOrg}
	}
	bits := int(v & 0xff)
	x &^= uint32(lowMask(32 - bits))
	var m [4]byte
	binary.BigEndian.PutUint32(m[:], x)
	return Hit{OrgRef(v>>8) - 1, netip.PrefixFrom(netip.AddrFrom4(m), bits), true}
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

// sweep flattens prefixes into spans covering [0, max], passing each to
// emit in order, the first starting at 0; a span runs to the next one's
// start. items are of one family (width 32 or 128 bits), sorted by
// compareNet. It returns how many items lost to another on the same
// prefix.
func sweep(items []netItem, width int, emit func(start u128, val uint32)) int {
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
	last := uint32(math.MaxUint32) // no span has this value
	add := func(start u128, val uint32) {
		if val != last {
			emit(start, val)
			last = val
		}
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
		add(cur, t.val)
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
			add(cur, v)
		}
		cur = start
		stack = append(stack, open{end(it), uint32(it.org+1)<<8 | uint32(it.bits)})
	}
	for len(stack) > 0 {
		pop()
	}
	if !done {
		add(cur, 0)
	}
	return sup
}

// Spans a bucket of dir4 or radix should hold at most: a cache line's
// worth of IPv4 spans; for IPv6 more, to keep the radix small.
const (
	bucketSpans4 = 8  // 8-byte spans
	bucketSpans6 = 16 // 24-byte spans
)

// window4 is how many IPv4 spans a lookup compares at once.
const window4 = 16

// table4 is the IPv4 range table. A span's start and value sit side by
// side: the search ends on the cache line that holds the answer.
type table4 struct {
	spans []span4 // and window4 spans of padding
	dir   dir4
}

type span4 struct{ start, val uint32 }

func buildTable4(items []netItem) (table4, int) {
	var t table4
	t.spans = make([]span4, 0, len(items)+len(items)/4+1+window4)
	sup := sweep(items, 32, func(start u128, val uint32) {
		t.spans = append(t.spans, span4{uint32(start.lo), val})
	})
	n := len(t.spans)
	// window4 spans of padding after the last, with its value, so that a
	// lookup can read window4 spans past any span.
	for range window4 {
		t.spans = append(t.spans, span4{math.MaxUint32, t.spans[n-1].val})
	}
	t.spans = slices.Clip(t.spans)
	t.dir = buildDir4(n, bucketSpans4, func(i int) uint32 { return t.spans[i].start })
	return t, sup
}

// lookup returns the value of the span holding x, 0 if none.
func (t *table4) lookup(x uint32) uint32 {
	if len(t.spans) == 0 {
		return 0
	}
	return t.scan(t.dir.find(x), x)
}

// scan returns the value of the span holding x, searching from span i,
// which starts at or before x (dir.find's answer).
func (t *table4) scan(i int, x uint32) uint32 {
	s := t.spans
	// The last span starting at or below x, s[i].start <= x. Count the
	// next window4 that do without branching, so that the processor can go
	// on to the next lookup while this one waits for memory; gallop on in
	// the rare case they all do.
	w := s[i+1 : i+1+window4]
	c := 0
	for j := range w {
		c += int((uint64(x)-uint64(w[j].start))>>63) ^ 1
	}
	i += c
	if c == window4 {
		step := 1
		for i+step < len(s) && s[i+step].start <= x {
			i += step
			step <<= 1
		}
		for step > 1 {
			step >>= 1
			if i+step < len(s) && s[i+step].start <= x {
				i += step
			}
		}
	}
	return s[i].val
}

// table6 is the IPv6 range table.
type table6 struct {
	spans []span6
	radix radix
}

type span6 struct {
	hi, lo uint64
	val    uint32
}

func buildTable6(items []netItem) (table6, int) {
	var t table6
	t.spans = make([]span6, 0, len(items)+len(items)/4+1)
	sup := sweep(items, 128, func(start u128, val uint32) {
		t.spans = append(t.spans, span6{start.hi, start.lo, val})
	})
	t.spans = slices.Clip(t.spans)
	t.radix = buildRadix(len(t.spans), bucketSpans6,
		func(i int) uint64 { return t.spans[i].hi },
		func(i int, a uint64) bool { s := &t.spans[i]; return s.hi < a || s.hi == a && s.lo == 0 })
	return t, sup
}

func (t *table6) lookup(x u128) uint32 {
	if len(t.spans) == 0 {
		return 0
	}
	s := t.spans
	i := t.radix.find(x.hi)
	// Gallop forward from s[i].start <= x, then halve back.
	step := 1
	for i+step < len(s) && !x.less(u128{s[i+step].hi, s[i+step].lo}) {
		i += step
		step <<= 1
	}
	for step > 1 {
		step >>= 1
		if i+step < len(s) && !x.less(u128{s[i+step].hi, s[i+step].lo}) {
			i += step
		}
	}
	return s[i].val
}
