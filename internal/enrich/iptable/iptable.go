// Package iptable answers the three questions enrichment asks of an IPv4
// address — who owns it (constituency/index), which AS originates it
// (enrich/asn) and which country it is in (enrich/geo) — with one read
// from one table, built from the three when they are loaded.
//
// Each answer is constant over ranges of addresses. New takes the ranges
// of each source as the source itself resolves them (index.Spans4,
// asn.Blocks4, geo.CountryRanges4), cuts the address space where any of
// them changes, and packs the three answers of each piece into 63 bits:
// the organisation and its prefix length, the AS (an index in a table of
// AS numbers and names) and its prefix length, the country code (an index
// in a table of codes). top holds them for every /24 that one piece
// covers (98.6% of them with the full data); a /24 cut into several
// pieces holds where its pieces start in runs instead. A lookup of a
// random address is then one read from memory, where the three separate
// structures take seven to nine; the prefixes are the address masked to
// the lengths.
//
// On the 2-core reference machine (a virtual machine, where one read from
// memory takes about 150 ns when its page is a huge one and 250 ns when
// not), a lookup of a random address costs 50-150 ns against 450-700 ns
// for the three sources (BenchmarkOwnerASNCountry in enrich), because
// nothing in it waits on what it read but the read itself, so that the
// reads of successive lookups overlap: Answer is three words passed in
// registers and unpacked on demand. LookupAll issues the reads of a group
// together. The table lives outside the Go heap in huge pages
// (huge_linux.go).
//
// It costs memory whatever the data: 128 MiB for top, plus 9 bytes per
// piece of a mixed /24 and 12 per AS name (about 135 MiB with the full
// ip-location-db AS table and country database and 800,000 owner
// prefixes), and New takes about a second. IPv6 is left to the sources.
package iptable

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strings"

	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/geo"
)

// Table is the merged IPv4 table. It is never modified and is safe for
// concurrent use.
type Table struct {
	top    []uint64 // by the address's first 24 bits: packed answers, or mixed|offset in runs
	runs   []uint64 // per mixed /24: the packed answers of its pieces
	starts []uint8  // runs[i]'s first address's last byte: 0 starts a /24's run; a final 0
	recs   []asRec  // AS number and name; recs[0] is none
	names  string   // the AS names
	ccs    []string // country codes; ccs[0] is none

	owners    *index.Index
	asn       *asn.Table
	geo       *geo.DB
	countries bool // the table holds geo's answers
}

// asRec is an AS number and its name, names[off:off+n].
type asRec struct{ asn, off, n uint32 }

// The answers for a piece pack into 63 bits: owner, AS and country, each
// 0 for none, and the owner's and the AS's prefix lengths.
const (
	orgBitsShift = 0  // 6 bits
	asBitsShift  = 6  // 6 bits
	ccShift      = 12 // 10 bits: index in ccs
	recShift     = 22 // 20 bits: index in recs
	orgShift     = 42 // 21 bits: OrgRef+1

	maxCCs  = 1 << 10
	maxRecs = 1 << 20
	maxOrgs = 1<<21 - 1

	mixed = 1 << 63 // marks an entry of top that is an offset in runs
)

// ErrTooLarge is returned by New when the sources hold more organisations,
// AS names or country codes than the table can pack; the sources then
// answer on their own.
var ErrTooLarge = errors.New("too many distinct answers to merge")

// New merges the IPv4 answers of the three sources, any of which may be
// nil (its answers are then all "none"). When the country database cannot
// be listed (geo.CountryRanges4 fails), the table is built without
// countries: Countries reports false and the caller asks geo. The sources
// must not change afterwards (none of them can).
func New(owners *index.Index, as *asn.Table, g *geo.DB) (*Table, error) {
	t := &Table{owners: owners, asn: as, geo: g, ccs: []string{""}, recs: []asRec{{}}}
	if owners != nil && owners.NumOrgs() > maxOrgs {
		return nil, fmt.Errorf("iptable: %d organisations, at most %d: %w", owners.NumOrgs(), maxOrgs, ErrTooLarge)
	}
	// The sources' ranges, in order, each pulled as the sweep needs it.
	allOwners := func(yield func(index.Span4) bool) { yield(index.Span4{First: 0, Last: 1<<32 - 1, Org: index.NoOrg}) }
	if owners != nil {
		allOwners = owners.Spans4()
	}
	nextSpan, stopSpans := iter.Pull(allOwners)
	defer stopSpans()
	noBlocks := func(func(asn.Block4) bool) {}
	blocks := noBlocks
	if as != nil {
		blocks = as.Blocks4()
	}
	nextBlock, stopBlocks := iter.Pull(blocks)
	defer stopBlocks()
	var cs []geo.CountryRange4
	if g != nil {
		var err error
		if cs, err = g.CountryRanges4(); err == nil {
			t.countries = true
		}
	}
	if !t.countries {
		cs = []geo.CountryRange4{{First: 0, Last: 1<<32 - 1}}
	}

	type asName struct {
		asn  uint32
		name string
	}
	recIdx := make(map[asName]uint64)
	weight := []uint64{0} // addresses each rec covers
	var names strings.Builder
	nameOff := make(map[string]uint32)
	ccIdx := map[string]uint64{"": 0}
	t.top = hugeSlice[uint64](t, 1<<24)
	var (
		pend []uint64 // the pieces of the current /24 so far
		low  []uint8  // their first addresses' last bytes
	)
	// flush ends /24 b, whose pieces are pending.
	flush := func(b uint32) {
		if len(pend) == 1 {
			t.top[b] = pend[0]
		} else {
			t.top[b] = mixed | uint64(len(t.runs))
			t.runs, t.starts = append(t.runs, pend...), append(t.starts, low...)
		}
		pend, low = pend[:0], low[:0]
	}
	// piece gives the addresses first to last the packed answers v.
	piece := func(first, last uint32, v uint64) {
		for {
			b := first >> 8
			pend, low = append(pend, v), append(low, uint8(first))
			if last>>8 == b {
				if last&0xff == 0xff {
					flush(b)
				}
				return
			}
			flush(b)
			for full := b + 1; full < last>>8; full++ {
				t.top[full] = v
			}
			first = last &^ 0xff
		}
	}

	// The sweep: owner spans and country ranges cover all of IPv4; AS
	// blocks leave gaps. Neighbours with the same answers are one piece.
	span, _ := nextSpan()
	block, haveBlock := nextBlock()
	k := 0
	var (
		pFirst, pLast uint32
		pV            uint64
		started       bool
	)
	for x := uint64(0); x <= 1<<32-1; {
		a := uint32(x)
		for span.Last < a {
			var ok bool
			if span, ok = nextSpan(); !ok {
				return nil, fmt.Errorf("iptable: the owner index's spans end before %v", addr4(a))
			}
		}
		for haveBlock && block.Last < a {
			block, haveBlock = nextBlock()
		}
		for cs[k].Last < a {
			k++
		}
		last := min(span.Last, cs[k].Last)
		var v uint64
		if span.Org != index.NoOrg {
			v |= uint64(span.Org+1)<<orgShift | uint64(span.Bits)<<orgBitsShift
		}
		if haveBlock {
			if block.First <= a {
				last = min(last, block.Last)
				n, ok := recIdx[asName{block.ASN, block.Name}]
				if !ok {
					if n = uint64(len(t.recs)); n == maxRecs {
						return nil, fmt.Errorf("iptable: more than %d AS names: %w", maxRecs-1, ErrTooLarge)
					}
					recIdx[asName{block.ASN, block.Name}] = n
					off, seen := nameOff[block.Name]
					if !seen {
						off = uint32(names.Len())
						nameOff[block.Name] = off
						names.WriteString(block.Name)
					}
					t.recs = append(t.recs, asRec{block.ASN, off, uint32(len(block.Name))})
					weight = append(weight, 0)
				}
				weight[n] += uint64(last-a) + 1
				v |= n<<recShift | uint64(block.Bits)<<asBitsShift
			} else {
				last = min(last, block.First-1)
			}
		}
		if c := &cs[k]; c.OK {
			n, ok := ccIdx[c.CC]
			if !ok {
				if n = uint64(len(t.ccs)); n == maxCCs {
					return nil, fmt.Errorf("iptable: more than %d country codes: %w", maxCCs-1, ErrTooLarge)
				}
				ccIdx[c.CC] = n
				t.ccs = append(t.ccs, c.CC)
			}
			v |= n << ccShift
		}
		switch {
		case !started:
			pFirst, pLast, pV, started = a, last, v, true
		case v == pV:
			pLast = last
		default:
			piece(pFirst, pLast, pV)
			pFirst, pLast, pV = a, last, v
		}
		x = uint64(last) + 1
	}
	piece(pFirst, pLast, pV)
	t.starts = append(t.starts, 0)
	t.names = names.String()
	t.sortRecs(weight)
	// Off the heap and in huge pages, for the reason top is.
	t.runs = append(hugeSlice[uint64](t, len(t.runs))[:0], t.runs...)
	t.starts = append(hugeSlice[uint8](t, len(t.starts))[:0], t.starts...)
	t.recs = append(hugeSlice[asRec](t, len(t.recs))[:0], t.recs...)
	return t, nil
}

// sortRecs puts the AS records covering the most addresses first, and
// renumbers them in top and runs: for random addresses the records a
// lookup reads then crowd into a few cache lines, which stay cached.
// weight is the number of addresses of each.
func (t *Table) sortRecs(weight []uint64) {
	order := make([]uint32, len(t.recs)-1) // recs[0], none, stays
	for i := range order {
		order[i] = uint32(i + 1)
	}
	slices.SortStableFunc(order, func(a, b uint32) int { return cmp.Compare(weight[b], weight[a]) })
	renum := make([]uint64, len(t.recs))
	recs := make([]asRec, 1, len(t.recs))
	for i, old := range order {
		renum[old] = uint64(i + 1)
		recs = append(recs, t.recs[old])
	}
	t.recs = recs
	fix := func(v uint64) uint64 {
		old := v >> recShift & (maxRecs - 1)
		return v&^((maxRecs-1)<<recShift) | renum[old]<<recShift
	}
	for i, v := range t.top {
		if v&mixed == 0 {
			t.top[i] = fix(v)
		}
	}
	for i, v := range t.runs {
		t.runs[i] = fix(v)
	}
}

// Of reports whether t was built from these sources: only then are its
// answers theirs.
func (t *Table) Of(owners *index.Index, as *asn.Table, g *geo.DB) bool {
	return t != nil && t.owners == owners && t.asn == as && t.geo == g
}

// Countries reports whether t answers the country; when not (no country
// database, or one that could not be listed), ask geo.
func (t *Table) Countries() bool { return t.countries }

// Answer is what the sources answer for one address: the packed answers
// read from the table, unpacked on demand by its methods. It is three
// words, passed in registers: a lookup copies nothing through memory.
type Answer struct {
	t *Table
	v uint64 // the packed answers
	x uint32 // the address
}

// Org returns the organisation that index.Index.OwnerOfIP answers, and
// whether there is one.
func (a Answer) Org() (index.OrgRef, bool) {
	org := index.OrgRef(a.v>>orgShift) - 1
	return org, org != index.NoOrg
}

// Owner returns index.Index.OwnerOfIP's answer.
func (a Answer) Owner() index.Hit {
	org, ok := a.Org()
	if !ok {
		return index.Hit{Org: index.NoOrg}
	}
	return index.Hit{Org: org, Prefix: prefix4(a.x, uint8(a.v>>orgBitsShift&63)), OK: true}
}

// AS returns asn.Table.Lookup's answer.
func (a Answer) AS() asn.Hit {
	rec := &a.t.recs[a.v>>recShift&(maxRecs-1)] // recs[0], none, is all zero
	if rec.asn == 0 {
		return asn.Hit{}
	}
	return asn.Hit{Result: asn.Result{ASN: rec.asn, Prefix: prefix4(a.x, uint8(a.v>>asBitsShift&63)), Name: a.t.names[rec.off : rec.off+rec.n]}, OK: true}
}

// Country returns geo.DB.Country's cc and ok; always "", false when the
// table has no countries (Countries).
func (a Answer) Country() (string, bool) {
	c := a.v >> ccShift & (maxCCs - 1)
	return a.t.ccs[c], c != 0 // ccs[0] is ""
}

// Lookup answers for a as index.Index.OwnerOfIP, asn.Table.Lookup and
// geo.DB.Country do. ok is false when a is neither IPv4 nor IPv4-mapped
// IPv6: ask the sources. It does not allocate.
func (t *Table) Lookup(a netip.Addr) (ans Answer, ok bool) {
	if !a.Is4() && !a.Is4In6() {
		return Answer{}, false
	}
	x := key(a)
	return Answer{t, t.find(x), x}, true
}

// key returns IPv4 (or IPv4-mapped) address a as a number.
//
// Not from As16's bytes: the compiler reads them back from the stack as
// one 16-byte load spanning the two 8-byte stores that wrote them, which
// the processor cannot forward; the load then waits until the stores
// retire, that is until the previous lookup's read from memory is done,
// and successive lookups no longer overlap (130 ns a lookup instead of
// 7 in BenchmarkLookup/find).
func key(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// group is how many lookups LookupAll runs side by side.
const group = 16

// LookupAll answers Lookup for each of addrs into answers, which must be
// at least as long; an address that is neither IPv4 nor IPv4-mapped IPv6
// gets no answer (all "none"): ask the sources. The reads of a group of
// addresses are issued together, so that they overlap instead of waiting
// for one another: for addresses in random order this costs a fraction
// of Lookup per address. It does not allocate.
func (t *Table) LookupAll(addrs []netip.Addr, answers []Answer) {
	answers = answers[:len(addrs)]
	var (
		xs [group]uint32
		vs [group]uint64
	)
	for len(addrs) > 0 {
		n := min(len(addrs), group)
		for i, a := range addrs[:n] {
			xs[i] = 0
			if a.Is4() || a.Is4In6() {
				xs[i] = key(a)
			}
		}
		for i, x := range xs[:n] {
			vs[i] = t.top[x>>8]
		}
		for i, a := range addrs[:n] {
			if !a.Is4() && !a.Is4In6() {
				answers[i] = Answer{t: t} // none
				continue
			}
			v := vs[i]
			if v&mixed != 0 {
				v = t.find(xs[i])
			}
			answers[i] = Answer{t, v, xs[i]}
		}
		addrs, answers = addrs[n:], answers[n:]
	}
}

// find returns the packed answers for address x.
func (t *Table) find(x uint32) uint64 {
	v := t.top[x>>8]
	if v&mixed != 0 {
		// The last piece of the run starting at or before x's last byte;
		// the next run, or the final 0, starts with byte 0.
		s, i, low := t.starts, int(v&^mixed), uint8(x)
		for i+1 < len(s) && s[i+1] != 0 && s[i+1] <= low {
			i++
		}
		v = t.runs[i]
	}
	return v
}

func addr4(x uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// prefix4 returns the prefix of length bits that holds x.
func prefix4(x uint32, bits uint8) netip.Prefix {
	x &^= uint32(uint64(1)<<(32-bits) - 1)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}), int(bits))
}

// Stats describes a Table's size.
type Stats struct {
	Mixed int // /24s with more than one answer
	Runs  int // pieces in mixed /24s
	Bytes int // memory held
}

// Stats returns t's size.
func (t *Table) Stats() Stats {
	s := Stats{Runs: len(t.runs)}
	for _, e := range t.top {
		if e&mixed != 0 {
			s.Mixed++
		}
	}
	s.Bytes = 8*len(t.top) + 9*len(t.runs) + 12*len(t.recs) + len(t.names) + 16*len(t.ccs)
	return s
}
