// Package asn maps an IP address to the autonomous system that originates
// it: the AS number, the announced prefix (or, for range data, the CIDR
// around the address) and the AS name, for IPv4 and IPv6.
//
// A Builder collects ranges and prefixes from any number of sources —
// ip-location-db's ASN CSV (ReadIPLocationDB), RouteViews prefix-to-AS
// tables in pyasn's format (ReadPyASN) with pyasn's AS-name JSON
// (ReadASNames), and iptoasn's TSV (ReadIPToASN) — and Build turns them into
// an immutable Table. Where entries overlap, the narrowest one (the most
// specific prefix, the shortest range) owns the addresses it covers; between
// entries of the same size the one added first wins, so callers add their
// most trusted source first.
//
// A Table answers Lookup without allocating, in well under 100 ns for the
// full ip-location-db table, and is safe for concurrent use. WriteTo and
// ReadTable save and load it as a compact binary snapshot, so a table built
// once by an import is loaded in milliseconds by every later run.
package asn

import (
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

// rangeBits in a segment's meta marks a segment taken from a range: its
// Result.Prefix is computed from the segment's bounds.
const rangeBits = 0xff

// maxRecords bounds the distinct (ASN, name) pairs of a table: a segment
// keeps its record number in the top 24 bits of meta.
const maxRecords = 1 << 24

// A Table maps addresses to origin ASes. Build or ReadTable make one; the
// zero Table is empty. A Table is never modified and is safe for concurrent
// use.
//
// Each family is a sorted array of disjoint segments: start4[i] is the first
// address of segment i and seg4[i] holds its last address and meta (record
// number << 8 | prefix length, or rangeBits). index4[k] is the first segment
// whose start is at or above k<<16, so a lookup searches only the segments
// that start in the address's /16 (for IPv6: the first 16 bits).
type Table struct {
	start4 []uint32
	seg4   []seg4
	index4 []uint32

	start6 []u128
	seg6   []seg6
	index6 []uint32

	recs  []record // sorted by ASN, then name
	names string   // every distinct name once; records slice it
}

type seg4 struct {
	last uint32
	meta uint32
}

type seg6 struct {
	last u128
	meta uint32
}

type record struct {
	asn uint32
	off uint32 // name = names[off : off+n]
	n   uint32
}

// Len returns the number of IPv4 and IPv6 segments: address ranges that
// map to one AS after overlaps are resolved and neighbours merged.
func (t *Table) Len() (v4, v6 int) { return len(t.start4), len(t.start6) }

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
	k := x >> 16
	lo, hi := int(t.index4[k]), int(t.index4[k+1])
	starts := t.start4
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if starts[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo - 1
	if i < 0 || i >= len(t.seg4) {
		return Result{}, false
	}
	s := t.seg4[i]
	if x > s.last {
		return Result{}, false
	}
	rec := t.recs[s.meta>>8]
	n := int(s.meta & 0xff)
	if n == rangeBits {
		n = cidrBits4(x, starts[i], s.last)
	}
	p := x &^ (^uint32(0) >> n)
	return Result{
		ASN:    rec.asn,
		Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(p >> 24), byte(p >> 16), byte(p >> 8), byte(p)}), n),
		Name:   t.names[rec.off : rec.off+rec.n],
	}, true
}

func (t *Table) lookup6(x u128) (Result, bool) {
	if len(t.index6) != 1<<16+1 {
		return Result{}, false
	}
	k := x.hi >> 48
	lo, hi := int(t.index6[k]), int(t.index6[k+1])
	starts := t.start6
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s := starts[m]; s.hi < x.hi || s.hi == x.hi && s.lo <= x.lo {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo - 1
	if i < 0 || i >= len(t.seg6) {
		return Result{}, false
	}
	s := &t.seg6[i]
	if s.last.less(x) {
		return Result{}, false
	}
	rec := t.recs[s.meta>>8]
	n := int(s.meta & 0xff)
	if n == rangeBits {
		n = cidrBits6(x, starts[i], s.last)
	}
	return Result{
		ASN:    rec.asn,
		Prefix: netip.PrefixFrom(x.mask(n).addr6(), n),
		Name:   t.names[rec.off : rec.off+rec.n],
	}, true
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

// buildIndex fills index4 and index6 from the segment starts.
func (t *Table) buildIndex() {
	t.index4, t.index6 = nil, nil
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
	if len(t.start6) > 0 {
		t.index6 = make([]uint32, 1<<16+1)
		i := 0
		for k := range 1 << 16 {
			for i < len(t.start6) && t.start6[i].hi>>48 < uint64(k) {
				i++
			}
			t.index6[k] = uint32(i)
		}
		t.index6[1<<16] = uint32(len(t.start6))
	}
}
