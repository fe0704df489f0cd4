package geo

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// record returns the left (bit 0) or right (bit 1) record of node, which
// must be below nodeCount: Open checked that the tree holds nodeCount nodes.
func (db *DB) record(node, bit uint32) uint32 {
	t := db.tree
	switch db.recordSize {
	case 24:
		o := int(node)*6 + int(bit)*3
		t = t[o : o+3]
		return uint32(t[0])<<16 | uint32(t[1])<<8 | uint32(t[2])
	case 28:
		o := int(node) * 7
		t = t[o : o+7]
		if bit == 0 {
			return uint32(t[3]&0xf0)<<20 | uint32(t[0])<<16 | uint32(t[1])<<8 | uint32(t[2])
		}
		return uint32(t[3]&0x0f)<<24 | uint32(t[4])<<16 | uint32(t[5])<<8 | uint32(t[6])
	default:
		o := int(node)*8 + int(bit)*4
		return binary.BigEndian.Uint32(t[o : o+4])
	}
}

// walk follows the search tree from record rec along the first n bits of
// the key hi:lo (most significant bit first) and returns the record it stops
// at and the number of bits used. The record is a node (below nodeCount)
// only if all n bits were used without reaching the data or an empty
// record.
func (db *DB) walk(rec uint32, hi, lo uint64, n int) (uint32, int) {
	for i := range n {
		if rec >= db.nodeCount {
			return rec, i
		}
		rec = db.record(rec, uint32(hi>>63))
		hi, lo = hi<<1|lo>>63, lo<<1
	}
	return rec, n
}

// jumpTable returns the records reached from record root after jumpBits
// bits, for each value of those bits; or a terminal record reached before.
// Country starts its walk there (in stride nodes, stride.go): the top of
// the tree in one read instead of jumpBits. It costs at most
// 2^(jumpBits+1) steps, whatever the tree.
func (db *DB) jumpTable(root uint32) []uint32 {
	k := db.jumpBits
	tab := make([]uint32, 1<<k)
	var fill func(rec uint32, depth, prefix int)
	fill = func(rec uint32, depth, prefix int) {
		if rec >= db.nodeCount || depth == k {
			for i := prefix << (k - depth); i < (prefix+1)<<(k-depth); i++ {
				tab[i] = rec
			}
			return
		}
		fill(db.record(rec, 0), depth+1, prefix<<1)
		fill(db.record(rec, 1), depth+1, prefix<<1|1)
	}
	fill(root, 0, 0)
	return tab
}

// find walks the tree for a and returns the terminal record, nodeCount if
// the database has nothing for a, and the prefix length of the network the
// record covers. IPv4 addresses (and IPv4-mapped IPv6 ones) are looked up
// in an IPv6 tree under ::/96, as the format stores them; an IPv6 address in
// an IPv4 tree, or an invalid Addr, has nothing.
func (db *DB) find(a netip.Addr) (rec uint32, bits int, err error) {
	a = a.Unmap()
	nc := db.nodeCount
	switch {
	case a.Is4():
		if db.ipv4Rec >= nc {
			return db.ipv4Rec, 0, nil // the record covers all of IPv4
		}
		v4 := a.As4()
		rec, bits = db.walk(db.ipv4Rec, uint64(binary.BigEndian.Uint32(v4[:]))<<32, 0, 32)
	case a.Is6() && db.meta.IPVersion == 6:
		v6 := a.As16()
		rec, bits = db.walk(0, binary.BigEndian.Uint64(v6[:8]), binary.BigEndian.Uint64(v6[8:]), 128)
	default:
		return nc, 0, nil
	}
	if rec < nc {
		return 0, 0, db.formatErr(-1, "search tree: node %d is still a node after all %d bits of %s", rec, bits, a)
	}
	return rec, bits, nil
}

// findFast is find without the prefix length, through the jump tables and
// the stride nodes.
func (db *DB) findFast(a netip.Addr) (uint32, error) {
	a = a.Unmap()
	nc, k := db.nodeCount, db.jumpBits
	var rec uint32
	switch {
	case a.Is4():
		if db.ipv4Rec >= nc {
			return db.ipv4Rec, nil
		}
		v4 := a.As4()
		key := binary.BigEndian.Uint32(v4[:])
		rec = db.strideWalk(db.jump4[key>>(32-k)], uint64(key)<<(32+k), 0, 32-k)
	case a.Is6() && db.meta.IPVersion == 6:
		v6 := a.As16()
		hi, lo := binary.BigEndian.Uint64(v6[:8]), binary.BigEndian.Uint64(v6[8:])
		rec = db.strideWalk(db.jump6[hi>>(64-k)], hi<<k|lo>>(64-k), lo<<k, 128-k)
	default:
		return nc, nil
	}
	if rec < nc {
		// A broken tree: find says where.
		rec, _, err := db.find(a)
		return rec, err
	}
	return rec, nil
}

// dataOffset turns terminal record rec (not nodeCount) into an offset in the
// data section.
func (db *DB) dataOffset(rec uint32) (int, error) {
	if uint64(rec) < uint64(db.nodeCount)+separatorBytes {
		return 0, db.formatErr(-1, "search tree: record value %d points into the 16-byte data section separator (node_count %d)", rec, db.nodeCount)
	}
	off := uint64(rec) - uint64(db.nodeCount) - separatorBytes
	if off >= uint64(len(db.data)) {
		return 0, db.formatErr(-1, "search tree: record value %d points to data section offset %d, past its end (%d bytes)", rec, off, len(db.data))
	}
	return int(off), nil
}

// Country returns the country code recorded for a: the top-level string
// "country_code" (as in ip-location-db) or else "country"."iso_code" (as in
// GeoIP2 Country and City). ok is false when the database has no record for
// a, or the record has no country code. err is not nil only when the file is
// broken where the record for a is: a *FormatError.
//
// Country does not allocate for codes of two letters A-Z: it returns shared
// strings. It walks a copy of the tree made for speed (jump tables and
// stride nodes, built by Open) and remembers the code of the records it has
// decoded.
func (db *DB) Country(a netip.Addr) (cc string, ok bool, err error) {
	rec, err := db.findFast(a)
	if err != nil {
		return "", false, inLookup(err, a)
	}
	if rec == db.nodeCount {
		return "", false, nil
	}
	slot := &db.countries[(rec*0x9e3779b1)>>(32-countryCacheBits)]
	if e := slot.Load(); uint32(e>>16) == rec {
		if c := e & 0xffff; c < uint64(len(codes)) {
			return codes[c], true, nil
		}
		return "", false, nil
	}
	off, err := db.dataOffset(rec)
	if err != nil {
		return "", false, inLookup(err, a)
	}
	d := decoder{db: db, buf: db.data, base: db.dataStart, section: "data section"}
	cc, ok, err = d.country(off)
	if err != nil {
		return "", false, inLookup(err, a)
	}
	if c, isCode := codeIndex(cc); isCode {
		slot.Store(uint64(rec)<<16 | c)
	}
	return cc, ok, nil
}

// countryCacheBits sizes the cache of Country results by terminal record:
// 4096 entries of 8 bytes. A country database has a few hundred distinct
// records, so after the first look-ups Country decodes nothing; a city
// database has more, and some of them stay cached.
const countryCacheBits = 12

// codeIndex returns the index of cc in codes, len(codes) for "" (no
// country), or false for an unusual code, which is not cached.
func codeIndex(cc string) (uint64, bool) {
	switch {
	case cc == "":
		return uint64(len(codes)), true
	case len(cc) == 2 && cc[0]-'A' < 26 && cc[1]-'A' < 26:
		return uint64(cc[0]-'A')*26 + uint64(cc[1]-'A'), true
	}
	return 0, false
}

// Lookup decodes the whole record for a, which must be a map; nil if the
// database has no record for a. It is meant for tests, debugging and rare
// look-ups; see LookupValue for the types of the values.
func (db *DB) Lookup(a netip.Addr) (map[string]any, error) {
	v, _, err := db.LookupValue(a)
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, inLookup(db.formatErr(-1, "record is a %s, not a map", typeName(v)), a)
	}
	return m, nil
}

// LookupValue decodes the whole record for a and returns it with the
// network it covers; v is nil if the database has no record for a (the
// network is then the empty range a falls in). Values decode to Go types as
// follows: map: map[string]any; array: []any; string: string; byte array:
// []byte; double: float64; float: float32; boolean: bool; uint16, uint32,
// uint64: the same Go types; int32: int32; uint128: *big.Int.
func (db *DB) LookupValue(a netip.Addr) (v any, network netip.Prefix, err error) {
	rec, bits, err := db.find(a)
	if err != nil {
		return nil, netip.Prefix{}, inLookup(err, a)
	}
	if a.IsValid() {
		network, _ = a.Unmap().WithZone("").Prefix(bits)
	}
	if rec == db.nodeCount {
		return nil, network, nil
	}
	off, err := db.dataOffset(rec)
	if err != nil {
		return nil, netip.Prefix{}, inLookup(err, a)
	}
	d := decoder{db: db, buf: db.data, base: db.dataStart, section: "data section", build: true}
	v, _, err = d.value(off, 0)
	if err != nil {
		return nil, netip.Prefix{}, inLookup(err, a)
	}
	return v, network, nil
}

// inLookup adds the address being looked up to a *FormatError.
func inLookup(err error, a netip.Addr) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		fe.Msg += " (looking up " + a.String() + ")"
	}
	return err
}
