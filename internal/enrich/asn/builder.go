package asn

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ErrASN0 is returned for an entry with AS number 0, which RFC 7607
// reserves: it never originates a route. Readers skip such rows and count
// them as not routed.
var ErrASN0 = errors.New("AS 0 is not an origin AS")

// A Builder collects entries for a Table. The zero Builder is ready to use.
// A Builder is not safe for concurrent use.
type Builder struct {
	v4, v6   []entry
	seq      uint32
	names    map[string]uint32 // name → index in nameList
	nameList []string          // nameList[0] is ""
	setName  map[uint32]uint32 // ASN → name index, from SetName
	seenName map[uint32]uint32 // ASN → first name an entry gave
}

// entry is one prefix or range as added. IPv4 entries keep the address in
// the low 32 bits.
type entry struct {
	first, last u128
	seq         uint32 // order of addition: the first added wins a tie
	asn         uint32
	name        uint32 // index in Builder.nameList
	bits        uint8  // prefix length, or rangeBits
}

// Entries returns the number of entries added so far.
func (b *Builder) Entries() int { return len(b.v4) + len(b.v6) }

// AddPrefix adds an announced prefix with its origin AS and the AS name
// ("" when the source has none). Host bits of p are ignored. A prefix inside
// ::ffff:0:0/96 is taken as the IPv4 prefix it maps.
func (b *Builder) AddPrefix(p netip.Prefix, asn uint32, name string) error {
	return b.addPrefix(p, asn, b.intern(name))
}

// AddRange adds the inclusive range first–last with its origin AS and the
// AS name ("" when the source has none). Both ends must be of one family;
// IPv4-mapped IPv6 ends are taken as IPv4.
func (b *Builder) AddRange(first, last netip.Addr, asn uint32, name string) error {
	return b.addRange(first, last, asn, b.intern(name))
}

// SetName gives the AS asn a name for the entries that carry none (pyasn
// tables have no names; pyasn's asnames.json has them). An entry's own name
// always wins; among names set, the last call wins; an empty name is
// ignored. Without SetName an unnamed entry takes the first name another
// entry gave the same AS.
func (b *Builder) SetName(asn uint32, name string) {
	n := b.intern(name)
	if n == 0 {
		return
	}
	if b.setName == nil {
		b.setName = make(map[uint32]uint32)
	}
	b.setName[asn] = n
}

func (b *Builder) intern(name string) uint32 {
	name = strings.TrimSpace(name)
	if len(name) > maxName {
		name = strings.ToValidUTF8(name[:maxName], "")
	}
	if name == "" {
		return 0
	}
	if i, ok := b.names[name]; ok {
		return i
	}
	return b.newName(name)
}

// internBytes is intern without allocating for a name seen before.
func (b *Builder) internBytes(name []byte) uint32 {
	if len(name) == 0 || len(name) > maxName {
		return 0
	}
	if i, ok := b.names[string(name)]; ok {
		return i
	}
	return b.intern(string(name))
}

func (b *Builder) newName(name string) uint32 {
	if b.names == nil {
		b.names = make(map[string]uint32)
		b.nameList = []string{""}
	}
	i := uint32(len(b.nameList))
	b.nameList = append(b.nameList, name)
	b.names[name] = i
	return i
}

func (b *Builder) addPrefix(p netip.Prefix, asn, name uint32) error {
	if !p.IsValid() {
		return fmt.Errorf("invalid prefix %v", p)
	}
	a, n := p.Addr().WithZone(""), p.Bits()
	if a.Is4In6() && n >= 96 {
		a, n = a.Unmap(), n-96
	}
	p = netip.PrefixFrom(a, n).Masked()
	if a.Is4() {
		first := addrU128(p.Addr())
		last := u128{0, first.lo | uint64(^uint32(0)>>n)}
		return b.add(true, entry{first: first, last: last, asn: asn, name: name, bits: uint8(n)})
	}
	first := addrU128(p.Addr())
	last := first.xor(maxU128.mask(n).not())
	return b.add(false, entry{first: first, last: last, asn: asn, name: name, bits: uint8(n)})
}

func (b *Builder) addRange(first, last netip.Addr, asn, name uint32) error {
	if !first.IsValid() || !last.IsValid() {
		return errors.New("invalid address")
	}
	first, last = first.WithZone(""), last.WithZone("")
	if first.Is4In6() && last.Is4In6() {
		first, last = first.Unmap(), last.Unmap()
	}
	if first.Is4() != last.Is4() {
		return fmt.Errorf("range %v-%v mixes IPv4 and IPv6", first, last)
	}
	if last.Less(first) {
		return fmt.Errorf("range %v-%v ends before it starts", first, last)
	}
	return b.add(first.Is4(), entry{first: addrU128(first), last: addrU128(last), asn: asn, name: name, bits: rangeBits})
}

func (b *Builder) add(v4 bool, e entry) error {
	if e.asn == 0 {
		return ErrASN0
	}
	if b.seq == ^uint32(0) {
		return errors.New("too many entries")
	}
	e.seq = b.seq
	b.seq++
	if e.name != 0 {
		if b.seenName == nil {
			b.seenName = make(map[uint32]uint32)
		}
		if _, ok := b.seenName[e.asn]; !ok {
			b.seenName[e.asn] = e.name
		}
	}
	if v4 {
		b.v4 = append(b.v4, e)
	} else {
		b.v6 = append(b.v6, e)
	}
	return nil
}

// addrU128 is a as an integer; an IPv4 address lands in the low 32 bits.
func addrU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	return u128From16(a.As16())
}

// span is a run of addresses owned by one entry after overlaps are
// resolved; key is the entry's ASN<<32 | name index.
type span struct {
	first, last u128
	key         uint64
	bits        uint8
}

// Build sorts and merges the entries into a Table. Where entries overlap,
// each address goes to the narrowest entry that covers it (the most
// specific prefix, the shortest range); between entries of equal size, to
// the one added first. Neighbouring runs of one AS with the same name and
// the same kind (one prefix length, or both from ranges) are merged; for
// range data this means Result.Prefix may be larger than any one source
// row. The Builder may be used again afterwards.
func (b *Builder) Build() (*Table, error) {
	sp4 := sweep(b.v4, u128{0, uint64(^uint32(0))}, b.resolveName)
	sp6 := sweep(b.v6, maxU128, b.resolveName)

	// Records: the distinct (ASN, name) pairs in use, sorted by ASN then
	// name, each name stored once.
	keys := make(map[uint64]uint32)
	for _, sp := range [][]span{sp4, sp6} {
		for _, s := range sp {
			keys[s.key] = 0
		}
	}
	if len(keys) > maxRecords {
		return nil, fmt.Errorf("%d distinct AS numbers and names; at most %d fit a table", len(keys), maxRecords)
	}
	sorted := make([]uint64, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(x, y uint64) int {
		return cmp.Or(cmp.Compare(x>>32, y>>32), strings.Compare(b.name(x), b.name(y)))
	})
	t := &Table{recs: make([]record, len(sorted))}
	var names strings.Builder
	nameOff := make(map[uint32]uint32)
	for i, k := range sorted {
		keys[k] = uint32(i)
		ni := uint32(k)
		off, ok := nameOff[ni]
		if !ok {
			off = uint32(names.Len())
			nameOff[ni] = off
			names.WriteString(b.nameOf(ni))
		}
		t.recs[i] = record{asn: uint32(k >> 32), off: off, n: uint32(len(b.nameOf(ni)))}
	}
	t.names = names.String()
	if len(t.names) > 1<<31 {
		return nil, errors.New("AS names too large for a table")
	}

	t.start4 = make([]uint32, len(sp4))
	last4, meta4 := make([]uint32, len(sp4)), make([]uint32, len(sp4))
	for i, s := range sp4 {
		t.start4[i], last4[i] = uint32(s.first.lo), uint32(s.last.lo)
		meta4[i] = keys[s.key]<<8 | uint32(s.bits)
	}
	start6, last6, meta6 := make([]u128, len(sp6)), make([]u128, len(sp6)), make([]uint32, len(sp6))
	for i, s := range sp6 {
		start6[i], last6[i] = s.first, s.last
		meta6[i] = keys[s.key]<<8 | uint32(s.bits)
	}
	if err := t.assemble(last4, meta4, start6, last6, meta6); err != nil {
		return nil, fmt.Errorf("build: %v", err) // a bug: Build makes what assemble takes
	}
	return t, nil
}

// resolveName is the name index an entry ends up with: its own, else the
// one SetName gave its AS, else the first one another entry gave its AS.
func (b *Builder) resolveName(e *entry) uint32 {
	if e.name != 0 {
		return e.name
	}
	if n, ok := b.setName[e.asn]; ok {
		return n
	}
	return b.seenName[e.asn]
}

func (b *Builder) name(key uint64) string { return b.nameOf(uint32(key)) }

func (b *Builder) nameOf(i uint32) string {
	if i == 0 {
		return ""
	}
	return b.nameList[i]
}

// sweep resolves overlaps among es (of one family, max being its last
// address): it walks the entry boundaries in address order keeping the
// entries that cover the current address in a heap ordered by width and
// then by order of addition, so the top of the heap owns each run.
func sweep(es []entry, max u128, name func(*entry) uint32) []span {
	if len(es) == 0 {
		return nil
	}
	slices.SortFunc(es, func(x, y entry) int {
		if x.first != y.first {
			if x.first.less(y.first) {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.seq, y.seq)
	})
	h := entryHeap{es: es}
	out := make([]span, 0, len(es))
	var pos u128
	i := 0
	for {
		for len(h.idx) > 0 && es[h.idx[0]].last.less(pos) {
			h.pop()
		}
		if len(h.idx) == 0 {
			if i == len(es) {
				break
			}
			pos = es[i].first
		}
		for i < len(es) && !pos.less(es[i].first) {
			if !es[i].last.less(pos) {
				h.push(int32(i))
			}
			i++
		}
		top := &es[h.idx[0]]
		end := top.last
		if i < len(es) && !end.less(es[i].first) {
			end = es[i].first.subOne()
		}
		key := uint64(top.asn)<<32 | uint64(name(top))
		if n := len(out); n > 0 && out[n-1].key == key && out[n-1].bits == top.bits && out[n-1].last.addOne() == pos {
			out[n-1].last = end
		} else {
			out = append(out, span{first: pos, last: end, key: key, bits: top.bits})
		}
		if end == max {
			break
		}
		pos = end.addOne()
	}
	return out
}

// entryHeap is a min-heap of indices into es: narrowest entry first, then
// the one added first.
type entryHeap struct {
	es  []entry
	idx []int32
}

func (h *entryHeap) less(i, j int32) bool {
	a, b := &h.es[i], &h.es[j]
	wa, wb := a.last.sub(a.first), b.last.sub(b.first)
	if wa != wb {
		return wa.less(wb)
	}
	return a.seq < b.seq
}

func (h *entryHeap) push(x int32) {
	h.idx = append(h.idx, x)
	j := len(h.idx) - 1
	for j > 0 {
		p := (j - 1) / 2
		if !h.less(h.idx[j], h.idx[p]) {
			break
		}
		h.idx[j], h.idx[p] = h.idx[p], h.idx[j]
		j = p
	}
}

func (h *entryHeap) pop() {
	n := len(h.idx) - 1
	h.idx[0] = h.idx[n]
	h.idx = h.idx[:n]
	j := 0
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h.less(h.idx[r], h.idx[l]) {
			c = r
		}
		if !h.less(h.idx[c], h.idx[j]) {
			break
		}
		h.idx[j], h.idx[c] = h.idx[c], h.idx[j]
		j = c
	}
}
