// Package iptable answers the three questions enrichment asks of an IPv4
// address — who owns it (constituency/index), which AS originates it
// (enrich/asn) and which country it is in (enrich/geo) — with one lookup
// in one table, built from the three when they are loaded.
//
// Each answer is constant over ranges of addresses. New takes the ranges
// of each source as the source itself resolves them (index.Spans4,
// asn.Blocks4, geo.CountryRanges4), cuts the address space where any of
// them changes, and gives every piece the ID of its triple of answers in
// a table of distinct triples. The pieces are then indexed by the first
// 24 bits of the address: an entry of top is the triple's ID when one
// piece covers the whole /24 (most do), else where the /24's pieces start
// in runs. A lookup of a random address is then one read from top, in
// some /24s one from runs, and one from the triples: two or three cache
// misses where the three separate structures take seven to nine.
//
// It costs memory: 64 MiB for top, 16 bytes a triple, 4 bytes a piece in
// a mixed /24 (about 100 MiB with the full ip-location-db AS table, its
// country database and a million owner prefixes). IPv6 is left to the
// sources.
package iptable

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/geo"
)

// Table is the merged IPv4 table. It is never modified and is safe for
// concurrent use.
type Table struct {
	top     []uint32 // by the address's first 24 bits: a triple ID, or mixed|offset in runs
	runs    []uint32 // per mixed /24: its pieces as first address's last byte<<24 | triple ID, then a 0
	triples []triple
	names   []string // AS names
	ccs     []string // country codes; ccs[0] is none

	owners    *index.Index
	asn       *asn.Table
	geo       *geo.DB
	countries bool // the triples hold geo's answers
}

// mixed marks an entry of top that is an offset in runs.
const mixed = 1 << 31

// maxTriples bounds the distinct triples: runs keeps an ID in 24 bits.
const maxTriples = 1 << 24

// triple is the three answers for a piece. 16 bytes: four to a cache line.
type triple struct {
	org     index.OrgRef // index.NoOrg: no owner
	as      uint32       // 0: no AS
	name    uint32       // in names
	cc      uint16       // in ccs
	orgBits uint8
	asBits  uint8
}

// ErrTooLarge is returned by New when the sources cut IPv4 into more
// pieces than the table can index; the sources then answer on their own.
var ErrTooLarge = errors.New("too many distinct answers to merge")

// New merges the IPv4 answers of the three sources, any of which may be
// nil (its answers are then all "none"). When the country database cannot
// be listed (geo.CountryRanges4 fails), the table is built without
// countries: Countries reports false and the caller asks geo. The sources
// must not change afterwards (none of them can).
func New(owners *index.Index, as *asn.Table, g *geo.DB) (*Table, error) {
	t := &Table{owners: owners, asn: as, geo: g, ccs: []string{""}}
	var (
		spans  []index.Span4
		blocks []asn.Block4
		cs     []geo.CountryRange4
	)
	if owners != nil {
		for s := range owners.Spans4() {
			spans = append(spans, s)
		}
	} else {
		spans = []index.Span4{{First: 0, Last: 1<<32 - 1, Org: index.NoOrg}}
	}
	if as != nil {
		for b := range as.Blocks4() {
			blocks = append(blocks, b)
		}
	}
	if g != nil {
		var err error
		if cs, err = g.CountryRanges4(); err == nil {
			t.countries = true
		}
	}
	if !t.countries {
		cs = []geo.CountryRange4{{First: 0, Last: 1<<32 - 1}}
	}

	// The pieces: a sweep over the three sorted lists. Owner spans and
	// country ranges cover all of IPv4; AS blocks leave gaps.
	type piece struct{ first, last, id uint32 }
	pieces := make([]piece, 0, len(spans)+2*len(blocks)+len(cs))
	ids := make(map[triple]uint32)
	nameIdx := make(map[string]uint32)
	ccIdx := map[string]uint16{"": 0}
	var i, j, k int // in spans, blocks, cs
	for x := uint64(0); x <= 1<<32-1; {
		a := uint32(x)
		for spans[i].Last < a {
			i++
		}
		for j < len(blocks) && blocks[j].Last < a {
			j++
		}
		for cs[k].Last < a {
			k++
		}
		last := min(spans[i].Last, cs[k].Last)
		tr := triple{org: spans[i].Org, orgBits: uint8(spans[i].Bits)}
		if j < len(blocks) {
			if b := &blocks[j]; b.First <= a {
				last = min(last, b.Last)
				n, ok := nameIdx[b.Name]
				if !ok {
					n = uint32(len(t.names))
					nameIdx[b.Name] = n
					t.names = append(t.names, b.Name)
				}
				tr.as, tr.name, tr.asBits = b.ASN, n, uint8(b.Bits)
			} else {
				last = min(last, b.First-1)
			}
		}
		if c := &cs[k]; c.OK {
			n, ok := ccIdx[c.CC]
			if !ok {
				n = uint16(len(t.ccs))
				if int(n) != len(t.ccs) {
					return nil, fmt.Errorf("iptable: more than 65535 distinct country codes: %w", ErrTooLarge)
				}
				ccIdx[c.CC] = n
				t.ccs = append(t.ccs, c.CC)
			}
			tr.cc = n
		}
		id, ok := ids[tr]
		if !ok {
			if len(t.triples) == maxTriples {
				return nil, fmt.Errorf("iptable: more than %d distinct answers: %w", maxTriples, ErrTooLarge)
			}
			id = uint32(len(t.triples))
			ids[tr] = id
			t.triples = append(t.triples, tr)
		}
		if n := len(pieces); n > 0 && pieces[n-1].id == id {
			pieces[n-1].last = last
		} else {
			pieces = append(pieces, piece{a, last, id})
		}
		x = uint64(last) + 1
	}

	// The index by /24.
	t.top = make([]uint32, 1<<24)
	p := 0
	for b := range uint32(1 << 24) {
		lo, hi := b<<8, b<<8|0xff
		for pieces[p].last < lo {
			p++
		}
		if pieces[p].last >= hi {
			t.top[b] = pieces[p].id
			continue
		}
		if len(t.runs) >= mixed {
			return nil, fmt.Errorf("iptable: more than %d pieces in mixed /24s: %w", mixed, ErrTooLarge)
		}
		t.top[b] = mixed | uint32(len(t.runs))
		for q := p; ; q++ {
			t.runs = append(t.runs, max(pieces[q].first, lo)&0xff<<24|pieces[q].id)
			if pieces[q].last >= hi {
				break
			}
		}
	}
	t.runs = append(t.runs, 0)
	return t, nil
}

// Of reports whether t was built from these sources: only then are its
// answers theirs.
func (t *Table) Of(owners *index.Index, as *asn.Table, g *geo.DB) bool {
	return t != nil && t.owners == owners && t.asn == as && t.geo == g
}

// Countries reports whether t answers the country; when not (no country
// database, or one that could not be listed), ask geo.
func (t *Table) Countries() bool { return t.countries }

// Answer is what the sources answer for one address.
type Answer struct {
	Owner index.Hit // index.OwnerOfIP
	AS    asn.Hit   // asn.Table.Lookup
	CC    string    // geo.DB.Country: cc, ok; always "", false without Countries
	CCOK  bool
}

// Lookup answers for a as index.Index.OwnerOfIP, asn.Table.Lookup and
// geo.DB.Country do. ok is false when a is neither IPv4 nor IPv4-mapped
// IPv6: ask the sources. It does not allocate.
func (t *Table) Lookup(a netip.Addr) (ans Answer, ok bool) {
	if !a.Is4() && !a.Is4In6() {
		return Answer{}, false
	}
	b := a.As16()
	x := uint32(b[12])<<24 | uint32(b[13])<<16 | uint32(b[14])<<8 | uint32(b[15])
	tr := t.find(x)
	if tr.org != index.NoOrg {
		ans.Owner = index.Hit{Org: tr.org, Prefix: prefix4(x, tr.orgBits), OK: true}
	} else {
		ans.Owner.Org = index.NoOrg
	}
	if tr.as != 0 {
		ans.AS = asn.Hit{Result: asn.Result{ASN: tr.as, Prefix: prefix4(x, tr.asBits), Name: t.names[tr.name]}, OK: true}
	}
	if tr.cc != 0 {
		ans.CC, ans.CCOK = t.ccs[tr.cc], true
	}
	return ans, true
}

// find returns the triple of address x.
func (t *Table) find(x uint32) *triple {
	e := t.top[x>>8]
	if e&mixed != 0 {
		// The last piece of the run starting at or before x's last byte;
		// the next run, or the final 0, starts with byte 0.
		r, i, low := t.runs, int(e&^mixed), x&0xff
		for i+1 < len(r) {
			n := r[i+1] >> 24
			if n == 0 || n > low {
				break
			}
			i++
		}
		e = r[i] & (maxTriples - 1)
	}
	return &t.triples[e]
}

// prefix4 returns the prefix of length bits that holds x.
func prefix4(x uint32, bits uint8) netip.Prefix {
	x &^= uint32(uint64(1)<<(32-bits) - 1)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}), int(bits))
}

// Stats describes a Table's size.
type Stats struct {
	Triples int // distinct answers
	Mixed   int // /24s with more than one answer
	Runs    int // pieces in mixed /24s
	Bytes   int // memory held
}

// Stats returns t's size.
func (t *Table) Stats() Stats {
	s := Stats{Triples: len(t.triples), Runs: len(t.runs) - 1}
	for _, e := range t.top {
		if e&mixed != 0 {
			s.Mixed++
		}
	}
	s.Bytes = 4*len(t.top) + 4*len(t.runs) + 16*len(t.triples) + 16*len(t.names) + 16*len(t.ccs)
	return s
}
