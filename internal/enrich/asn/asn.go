// Package asn maps an IP address to the autonomous system that originates
// it: the AS number, the announced prefix (or, for range data, the CIDR
// around the address) and the AS name, for IPv4 and IPv6.
//
// A Builder collects ranges and prefixes from any number of sources —
// ip-location-db's ASN CSV (ReadIPLocationDB), RouteViews prefix-to-AS
// tables in pyasn's format (ReadPyASN) with pyasn's AS-name JSON
// (ReadASNames), and iptoasn's TSV (ReadIPToASN); Read tells them apart — and
// Build turns them into an immutable Table. Where entries overlap, the
// narrowest one (the most specific prefix, the shortest range) owns the
// addresses it covers; between entries of the same size the one added first
// wins, so callers add their most trusted source first.
//
// A Table answers Lookup without allocating and is safe for concurrent use.
// With the full ip-location-db table (515k ranges, 18 MB of heap) a lookup of
// a random routed address costs about 60 ns for IPv4 and 120 ns for IPv6 on
// the 2-core reference machine, every one a cache miss; addresses that
// recur cost less (BenchmarkLookupV4, BenchmarkLookupV6). WriteTo and
// ReadTable save and load the table as a compact binary snapshot, so a table
// built once by an import (about 0.6 s) is loaded by every later run in
// about 25 ms.
package asn

import (
	"fmt"
	"net/netip"
	"sort"
)

// Result is what Lookup knows about an address.
type Result struct {
	// ASN is the origin AS number; never 0.
	ASN uint32
	// Prefix is the announced prefix that covers the address when the
	// entry came from a routing table (pyasn), or, when it came from a
	// range (ip-location-db, iptoasn), the largest CIDR block that contains
	// the address and lies inside the part of the range this table assigns
	// to the AS. An IPv4-mapped IPv6 address gets an IPv4 prefix.
	Prefix netip.Prefix
	// Name is the AS name, or "" when no source named the AS.
	Name string
}

// rangeBits as a segment's prefix length marks a segment taken from a
// range: its Result.Prefix is computed from the segment's bounds.
const rangeBits = 0xff

// maxRecords bounds the distinct (ASN, name) pairs of a table: a snapshot
// keeps a segment's record number in the top 24 bits of a uint32.
const maxRecords = 1 << 24

// maxName bounds the length of an AS name in bytes; longer names are cut.
const maxName = 1<<16 - 1

// A Table maps addresses to origin ASes. Build or ReadTable make one; the
// zero Table is empty. A Table is never modified and is safe for concurrent
// use.
//
// Each family is a sorted array of disjoint segments: start4[i] is the first
// address of segment i, and seg4[i] holds its last address and all a lookup
// returns, so that a lookup touches the starts and then one segment; seg6
// holds its start too.
// index4[k] is the first segment whose start is at or above k<<16, so an
// IPv4 lookup searches only the segments that start in the address's /16
// (249 at most in the full table). IPv6 segments crowd into a few /16s (one
// /16 holds 17,579 of 103,197, one /48 1,294), so an IPv6 lookup searches
// a static B-tree of the starts' first halves instead (see stree).
type Table struct {
	start4 []uint32
	seg4   []seg4
	index4 []uint32

	seg6  []seg6
	tree6 stree // over seg6[i].start.hi

	recs  []record // the distinct (ASN, name) pairs, sorted by ASN, then name
	names string   // every distinct name once; records and segments slice it
}

// seg4 is an IPv4 segment without its start.
type seg4 struct {
	last uint32
	asn  uint32
	off  uint32 // the name is names[off : off+n]
	n    uint16
	bits uint8 // prefix length, or rangeBits
}

// seg6 is an IPv6 segment.
type seg6 struct {
	start u128
	last  u128
	asn   uint32
	off   uint32
	n     uint16
	bits  uint8
}

type record struct {
	asn uint32
	off uint32 // name = names[off : off+n]
	n   uint32
}

// Len returns the number of IPv4 and IPv6 segments: address ranges that
// map to one AS after overlaps are resolved and neighbours merged.
func (t *Table) Len() (v4, v6 int) { return len(t.start4), len(t.seg6) }

// Lookup returns the origin AS of a. It reports false when no entry covers
// a (not routed, private or unknown address space) or a is invalid. An
// IPv4-mapped IPv6 address is looked up as IPv4; a zone is ignored.
// Lookup does not allocate.
func (t *Table) Lookup(a netip.Addr) (Result, bool) {
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return t.lookup4(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
	}
	if a.Is6() {
		return t.lookup6(u128From16(a.As16()))
	}
	return Result{}, false
}

func (t *Table) lookup4(x uint32) (Result, bool) {
	if len(t.index4) != 1<<16+1 {
		return Result{}, false
	}
	return t.result4(t.find4(x), x)
}

// find4 returns the segment that may hold x; see result4.
func (t *Table) find4(x uint32) int {
	return lastAtMost(t.start4, int(t.index4[x>>16]), int(t.index4[x>>16+1]), x)
}

// Hit is Lookup's answer for one address.
type Hit struct {
	Result
	OK bool
}

// hitGroup is how many IPv4 lookups LookupAll runs side by side.
const hitGroup = 16

// LookupAll answers Lookup for each of addrs into hits, which must be at
// least as long. IPv4 addresses are looked up in groups, each step of the
// search done for the whole group before the next, so that the reads from
// memory of different addresses overlap. It does not allocate.
func (t *Table) LookupAll(addrs []netip.Addr, hits []Hit) {
	hits = hits[:len(addrs)]
	var (
		xs  [hitGroup]uint32
		pos [hitGroup]int
		k   [hitGroup]int // index in addrs
	)
	n := 0
	flush := func() {
		for j := range n {
			pos[j] = t.find4(xs[j])
		}
		for j := range n {
			r, ok := t.result4(pos[j], xs[j])
			hits[k[j]] = Hit{r, ok}
		}
		n = 0
	}
	ready := len(t.index4) == 1<<16+1
	for i, a := range addrs {
		if !(a.Is4() || a.Is4In6()) || !ready {
			r, ok := t.Lookup(a)
			hits[i] = Hit{r, ok}
			continue
		}
		b := a.As16()
		xs[n], k[n] = uint32(b[12])<<24|uint32(b[13])<<16|uint32(b[14])<<8|uint32(b[15]), i
		if n++; n == hitGroup {
			flush()
		}
	}
	flush()
}

// result4 makes the Result of x from segment i, the last starting at or
// before it.
func (t *Table) result4(i int, x uint32) (Result, bool) {
	starts := t.start4
	if i < 0 || i >= len(t.seg4) {
		return Result{}, false
	}
	s := &t.seg4[i]
	if x > s.last {
		return Result{}, false
	}
	n := int(s.bits)
	if n == rangeBits {
		n = cidrBits4(x, starts[i], s.last)
	}
	p := x &^ (^uint32(0) >> n)
	return Result{
		ASN:    s.asn,
		Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(p >> 24), byte(p >> 16), byte(p >> 8), byte(p)}), n),
		Name:   t.names[s.off : s.off+uint32(s.n)],
	}, true
}

func (t *Table) lookup6(x u128) (Result, bool) {
	// Search the first halves of the starts, then, in the rare case that
	// segments start inside the address's /64, all of the starts.
	segs := t.seg6
	i := t.tree6.search(x.hi)
	if i >= 0 && i < len(segs) && segs[i].start.hi == x.hi && x.lo < segs[i].start.lo {
		lo, hi := 0, i
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if !x.less(segs[m].start) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		i = lo - 1
	}
	if i < 0 || i >= len(segs) {
		return Result{}, false
	}
	s := &segs[i]
	if s.last.less(x) {
		return Result{}, false
	}
	n := int(s.bits)
	if n == rangeBits {
		n = cidrBits6(x, s.start, s.last)
	}
	return Result{
		ASN:    s.asn,
		Prefix: netip.PrefixFrom(x.mask(n).addr6(), n),
		Name:   t.names[s.off : s.off+uint32(s.n)],
	}, true
}

// lastAtMost returns the last index i in [lo-1, hi) with keys[i] <= x, or
// -1. The caller knows that keys[lo-1] < x when lo > 0 and that keys[hi] >
// x when hi < len(keys): lo and hi come from a first-level index. The
// search has no data-dependent branch, so it costs the same everywhere.
func lastAtMost(keys []uint32, lo, hi int, x uint32) int {
	if lo >= hi {
		return lo - 1
	}
	base := lo - 1
	if base < 0 {
		if keys[0] > x {
			return -1
		}
		base = 0
	}
	for n := hi - base; n > 1; {
		half := n >> 1
		// gt is -1 when keys[base+half] > x, else 0: keys are 32-bit, so
		// the 64-bit difference is negative exactly then.
		gt := int(int64(uint64(x)-uint64(keys[base+half])) >> 63)
		base += half &^ gt
		n -= half
	}
	return base
}

// Name returns a name of the AS asn as the table's sources gave it, or ""
// when the table has no entry for asn or no name for it. Name does not
// allocate.
func (t *Table) Name(asn uint32) string {
	i := sort.Search(len(t.recs), func(i int) bool { return t.recs[i].asn >= asn })
	for ; i < len(t.recs) && t.recs[i].asn == asn; i++ {
		if r := t.recs[i]; r.n > 0 {
			return t.names[r.off : r.off+r.n]
		}
	}
	return ""
}

// assemble completes t from its records and names and the segments of
// each family given as starts (already in t), last addresses and metas
// (record number << 8 | prefix length or rangeBits). It checks everything a
// lookup relies on, so that a damaged snapshot is an error rather than a
// table that misbehaves, and builds the indexes.
func (t *Table) assemble(last4, meta4 []uint32, start6, last6 []u128, meta6 []uint32) error {
	for i, r := range t.recs {
		if r.asn == 0 || uint64(r.off)+uint64(r.n) > uint64(len(t.names)) || r.n > maxName {
			return fmt.Errorf("record %d out of range", i)
		}
		if i > 0 && r.asn < t.recs[i-1].asn {
			return fmt.Errorf("records out of order at %d", i)
		}
	}
	t.seg4 = make([]seg4, len(t.start4))
	for i, s := range t.start4 {
		last, meta := last4[i], meta4[i]
		if last < s || i > 0 && s <= last4[i-1] {
			return fmt.Errorf("IPv4 segment %d out of order", i)
		}
		bits, rec := meta&0xff, meta>>8
		if int(rec) >= len(t.recs) || bits > 32 && bits != rangeBits {
			return fmt.Errorf("IPv4 segment %d: bad record or prefix length", i)
		}
		r := t.recs[rec]
		t.seg4[i] = seg4{last: last, asn: r.asn, off: r.off, n: uint16(r.n), bits: uint8(bits)}
	}
	t.seg6 = make([]seg6, len(start6))
	for i, s := range start6 {
		last, meta := last6[i], meta6[i]
		if last.less(s) || i > 0 && !last6[i-1].less(s) {
			return fmt.Errorf("IPv6 segment %d out of order", i)
		}
		bits, rec := meta&0xff, meta>>8
		if int(rec) >= len(t.recs) || bits > 128 && bits != rangeBits {
			return fmt.Errorf("IPv6 segment %d: bad record or prefix length", i)
		}
		r := t.recs[rec]
		t.seg6[i] = seg6{start: s, last: last, asn: r.asn, off: r.off, n: uint16(r.n), bits: uint8(bits)}
	}
	t.index4 = nil
	if len(t.start4) > 0 {
		t.index4 = make([]uint32, 1<<16+1)
		i := 0
		for k := range 1 << 16 {
			for i < len(t.start4) && t.start4[i]>>16 < uint32(k) {
				i++
			}
			t.index4[k] = uint32(i)
		}
		t.index4[1<<16] = uint32(len(t.start4))
	}
	keys := make([]uint64, len(start6))
	for i, s := range start6 {
		keys[i] = s.hi
	}
	t.tree6 = newSTree(keys)
	return nil
}

// metas returns the record number << 8 | prefix length of every segment,
// as assemble takes them.
func (t *Table) metas() (meta4, meta6 []uint32) {
	type key struct{ asn, off, n uint32 }
	rec := make(map[key]uint32, len(t.recs))
	for i, r := range t.recs {
		rec[key(r)] = uint32(i)
	}
	meta4 = make([]uint32, len(t.seg4))
	for i, s := range t.seg4 {
		meta4[i] = rec[key{s.asn, s.off, uint32(s.n)}]<<8 | uint32(s.bits)
	}
	meta6 = make([]uint32, len(t.seg6))
	for i, s := range t.seg6 {
		meta6[i] = rec[key{s.asn, s.off, uint32(s.n)}]<<8 | uint32(s.bits)
	}
	return meta4, meta6
}
