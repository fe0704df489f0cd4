package geo

import (
	"encoding/binary"
	"math"
	"math/big"
	"unicode/utf8"
)

// Data types of the data section (spec, "Output Data Section").
const (
	typeExtended  = 0
	typePointer   = 1
	typeString    = 2
	typeDouble    = 3
	typeBytes     = 4
	typeUint16    = 5
	typeUint32    = 6
	typeMap       = 7
	typeInt32     = 8
	typeUint64    = 9
	typeUint128   = 10
	typeArray     = 11
	typeContainer = 12
	typeEnd       = 13
	typeBool      = 14
	typeFloat     = 15
)

var typeNames = [...]string{
	typeExtended: "extended", typePointer: "pointer", typeString: "string", typeDouble: "double",
	typeBytes: "byte array", typeUint16: "uint16", typeUint32: "uint32", typeMap: "map",
	typeInt32: "int32", typeUint64: "uint64", typeUint128: "uint128", typeArray: "array",
	typeContainer: "data cache container", typeEnd: "end marker", typeBool: "boolean", typeFloat: "float",
}

// A decoder reads values from one section of the file (the data section or
// the metadata), checking every read against the section's bounds.
// Offsets are relative to the section, as pointers are.
type decoder struct {
	db      *DB
	buf     []byte // the section
	base    int    // file offset of buf[0], for errors
	section string // "data section" or "metadata", for errors

	build  bool // build Go values (Lookup), or only check them (Verify)
	strict bool // also check what a reader may overlook: UTF-8 in strings

	values  int // values decoded so far, against maxValues
	payload int // string and byte array bytes decoded so far, against maxPayload
}

// errf returns a *FormatError at section offset off.
func (d *decoder) errf(off int, format string, args ...any) error {
	return d.db.formatErr(int64(d.base+off), d.section+": "+format, args...)
}

// header decodes the control byte(s) of the field at off: its type, its size
// (for a pointer: the target offset; for a map: the number of pairs; for an
// array: the number of elements) and the offset of its payload.
func (d *decoder) header(off int) (typ, size, next int, err error) {
	b := d.buf
	if off < 0 || off >= len(b) {
		return 0, 0, 0, d.errf(off, "field at offset %d is past the end of the section (%d bytes)", off, len(b))
	}
	c := b[off]
	next = off + 1
	typ = int(c >> 5)
	if typ == typePointer {
		ss := int(c>>3) & 3
		if next+ss+1 > len(b) {
			return 0, 0, 0, d.errf(off, "pointer truncated by the end of the section")
		}
		var p uint64
		if ss < 3 {
			p = uint64(c & 7)
		}
		for _, x := range b[next : next+ss+1] {
			p = p<<8 | uint64(x)
		}
		switch ss {
		case 1:
			p += 2048
		case 2:
			p += 526336
		}
		if p >= uint64(len(b)) {
			return 0, 0, 0, d.errf(off, "pointer to offset %d, past the end of the section (%d bytes)", p, len(b))
		}
		return typ, int(p), next + ss + 1, nil
	}
	if typ == typeExtended {
		if next >= len(b) {
			return 0, 0, 0, d.errf(off, "extended type truncated by the end of the section")
		}
		e := int(b[next])
		next++
		typ = 7 + e
		if e == 0 || typ > typeFloat {
			return 0, 0, 0, d.errf(off, "unknown data type %d", typ)
		}
	}
	size = int(c & 0x1f)
	if size >= 29 {
		n := size - 28 // 1, 2 or 3 more bytes
		if next+n > len(b) {
			return 0, 0, 0, d.errf(off, "%s size truncated by the end of the section", typeNames[typ])
		}
		x := 0
		for _, y := range b[next : next+n] {
			x = x<<8 | int(y)
		}
		next += n
		size = [...]int{29, 285, 65821}[n-1] + x
	}
	return typ, size, next, nil
}

// target decodes the header of the field a pointer at off points to, which
// must not be another pointer.
func (d *decoder) target(off, p int) (typ, size, next int, err error) {
	typ, size, next, err = d.header(p)
	if err == nil && typ == typePointer {
		err = d.errf(off, "pointer to offset %d, which holds another pointer", p)
	}
	return typ, size, next, err
}

// payloadEnd checks that size payload bytes from next fit in the section.
func (d *decoder) payloadEnd(off, typ, size, next int) (int, error) {
	if size > len(d.buf)-next {
		return 0, d.errf(off, "%s of %d bytes runs past the end of the section (%d bytes left)", typeNames[typ], size, len(d.buf)-next)
	}
	return next + size, nil
}

// count charges one value and size payload bytes to the record's budget.
func (d *decoder) count(off, size int) error {
	d.values++
	d.payload += size
	if d.values > maxValues {
		return d.errf(off, "record has more than %d values (pointers sharing values over and over?)", maxValues)
	}
	if d.payload > maxPayload {
		return d.errf(off, "record has more than %d bytes of strings and byte arrays (pointers sharing values over and over?)", maxPayload)
	}
	return nil
}

// value decodes the field at off, following a pointer, and returns it with
// the offset just after the field (after the pointer, for a pointer). Values
// are built only if d.build; nesting is limited to maxDepth.
func (d *decoder) value(off, depth int) (any, int, error) {
	typ, size, next, err := d.header(off)
	if err != nil {
		return nil, 0, err
	}
	if typ == typePointer {
		p := size
		typ, size, pnext, err := d.target(off, p)
		if err != nil {
			return nil, 0, err
		}
		v, _, err := d.decode(p, typ, size, pnext, depth)
		return v, next, err
	}
	return d.decode(off, typ, size, next, depth)
}

// decode decodes the payload of a field of type typ whose header at off
// ended at next.
func (d *decoder) decode(off, typ, size, next, depth int) (any, int, error) {
	switch typ {
	case typeMap, typeArray:
		return d.container(off, typ, size, next, depth)
	case typeBool:
		if size > 1 {
			return nil, 0, d.errf(off, "boolean with size %d, not 0 or 1", size)
		}
		return size == 1, next, d.count(off, 0)
	case typeContainer, typeEnd:
		return nil, 0, d.errf(off, "%s inside a value", typeNames[typ])
	}
	end, err := d.payloadEnd(off, typ, size, next)
	if err != nil {
		return nil, 0, err
	}
	p := d.buf[next:end]
	switch typ {
	case typeString, typeBytes:
		if err := d.count(off, size); err != nil {
			return nil, 0, err
		}
		if typ == typeString {
			if d.strict && !utf8.Valid(p) {
				return nil, 0, d.errf(off, "string is not valid UTF-8")
			}
			if d.build {
				return string(p), end, nil
			}
			return nil, end, nil
		}
		if d.build {
			return append([]byte{}, p...), end, nil
		}
		return nil, end, nil
	case typeDouble, typeFloat:
		want := 8
		if typ == typeFloat {
			want = 4
		}
		if size != want {
			return nil, 0, d.errf(off, "%s of %d bytes, not %d", typeNames[typ], size, want)
		}
		if err := d.count(off, 0); err != nil {
			return nil, 0, err
		}
		if typ == typeFloat {
			return math.Float32frombits(binary.BigEndian.Uint32(p)), end, nil
		}
		return math.Float64frombits(binary.BigEndian.Uint64(p)), end, nil
	case typeUint128:
		if size > 16 {
			return nil, 0, d.errf(off, "uint128 of %d bytes, more than 16", size)
		}
		if err := d.count(off, 0); err != nil {
			return nil, 0, err
		}
		if d.build {
			return new(big.Int).SetBytes(p), end, nil
		}
		return nil, end, nil
	}
	// The other integers: uint16, uint32, int32, uint64.
	limit := 8
	switch typ {
	case typeUint16:
		limit = 2
	case typeUint32, typeInt32:
		limit = 4
	}
	if size > limit {
		return nil, 0, d.errf(off, "%s of %d bytes, more than %d", typeNames[typ], size, limit)
	}
	if err := d.count(off, 0); err != nil {
		return nil, 0, err
	}
	var x uint64
	for _, b := range p {
		x = x<<8 | uint64(b)
	}
	switch typ {
	case typeUint16:
		return uint16(x), end, nil
	case typeUint32:
		return uint32(x), end, nil
	case typeInt32:
		return int32(uint32(x)), end, nil
	default:
		return x, end, nil
	}
}

// container decodes a map of size pairs or an array of size elements.
func (d *decoder) container(off, typ, size, next, depth int) (any, int, error) {
	if depth >= maxDepth {
		return nil, 0, d.errf(off, "values nested more than %d deep", maxDepth)
	}
	// Every key and every value takes at least one byte: this bounds the
	// loops and the memory allocated up front by what the file holds.
	minBytes := size
	if typ == typeMap {
		minBytes = 2 * size
	}
	if minBytes > len(d.buf)-next {
		return nil, 0, d.errf(off, "%s of %d entries cannot fit in the %d bytes left in the section", typeNames[typ], size, len(d.buf)-next)
	}
	if err := d.count(off, 0); err != nil {
		return nil, 0, err
	}
	if typ == typeArray {
		var a []any
		if d.build {
			a = make([]any, 0, min(size, 1024))
		}
		for range size {
			v, n, err := d.value(next, depth+1)
			if err != nil {
				return nil, 0, err
			}
			next = n
			if d.build {
				a = append(a, v)
			}
		}
		if d.build {
			return a, next, nil
		}
		return nil, next, nil
	}
	var m map[string]any
	if d.build {
		m = make(map[string]any, min(size, 1024))
	}
	for range size {
		k, n, err := d.key(next)
		if err != nil {
			return nil, 0, err
		}
		if d.strict && !utf8.Valid(k) {
			return nil, 0, d.errf(next, "map key is not valid UTF-8")
		}
		v, n, err := d.value(n, depth+1)
		if err != nil {
			return nil, 0, err
		}
		next = n
		if d.build {
			m[string(k)] = v
		}
	}
	if d.build {
		return m, next, nil
	}
	return nil, next, nil
}

// key decodes the map key at off, a string or a pointer to one, and returns
// its bytes (in the file) and the offset after it.
func (d *decoder) key(off int) ([]byte, int, error) {
	typ, size, next, err := d.header(off)
	if err != nil {
		return nil, 0, err
	}
	after := -1
	if typ == typePointer {
		after = next
		if typ, size, next, err = d.target(off, size); err != nil {
			return nil, 0, err
		}
	}
	if typ != typeString {
		return nil, 0, d.errf(off, "map key is a %s, not a string", typeNames[typ])
	}
	end, err := d.payloadEnd(off, typ, size, next)
	if err != nil {
		return nil, 0, err
	}
	if err := d.count(off, size); err != nil {
		return nil, 0, err
	}
	if after < 0 {
		after = end
	}
	return d.buf[next:end], after, nil
}

// skip returns the offset after the field at off without decoding it or
// following pointers, so its cost is bounded by the bytes it passes over.
func (d *decoder) skip(off, depth int) (int, error) {
	typ, size, next, err := d.header(off)
	if err != nil {
		return 0, err
	}
	switch typ {
	case typePointer:
		return next, nil
	case typeBool:
		return next, nil
	case typeMap, typeArray:
		if depth >= maxDepth {
			return 0, d.errf(off, "values nested more than %d deep", maxDepth)
		}
		n := size
		if typ == typeMap {
			n *= 2
		}
		if n > len(d.buf)-next {
			return 0, d.errf(off, "%s of %d entries cannot fit in the %d bytes left in the section", typeNames[typ], size, len(d.buf)-next)
		}
		for range n {
			if next, err = d.skip(next, depth+1); err != nil {
				return 0, err
			}
		}
		return next, nil
	case typeContainer, typeEnd:
		return 0, d.errf(off, "%s inside a value", typeNames[typ])
	}
	return d.payloadEnd(off, typ, size, next)
}

// country finds the country code in the record at off: the string
// "country_code" in the top-level map, or else "iso_code" in the map
// "country". It allocates nothing unless the code is unusual (not two
// letters A-Z). A record that is not a map has no country code.
func (d *decoder) country(off int) (string, bool, error) {
	typ, size, next, err := d.header(off)
	if err != nil {
		return "", false, err
	}
	if typ == typePointer {
		if typ, size, next, err = d.target(off, size); err != nil {
			return "", false, err
		}
	}
	if typ != typeMap {
		return "", false, nil
	}
	if 2*size > len(d.buf)-next {
		return "", false, d.errf(off, "map of %d entries cannot fit in the %d bytes left in the section", size, len(d.buf)-next)
	}
	var iso []byte
	for range size {
		k, n, err := d.key(next)
		if err != nil {
			return "", false, err
		}
		switch string(k) {
		case "country_code":
			cc, err := d.str(n, "country_code")
			if err != nil {
				return "", false, err
			}
			return intern(cc), len(cc) > 0, nil
		case "country":
			if iso, err = d.isoCode(n); err != nil {
				return "", false, err
			}
		}
		if next, err = d.skip(n, 1); err != nil {
			return "", false, err
		}
	}
	return intern(iso), len(iso) > 0, nil
}

// isoCode returns "iso_code" of the map at off (or pointed to from off), or
// nil if it has none.
func (d *decoder) isoCode(off int) ([]byte, error) {
	typ, size, next, err := d.header(off)
	if err != nil {
		return nil, err
	}
	if typ == typePointer {
		if typ, size, next, err = d.target(off, size); err != nil {
			return nil, err
		}
	}
	if typ != typeMap {
		return nil, d.errf(off, "country is a %s, not a map", typeNames[typ])
	}
	if 2*size > len(d.buf)-next {
		return nil, d.errf(off, "map of %d entries cannot fit in the %d bytes left in the section", size, len(d.buf)-next)
	}
	for range size {
		k, n, err := d.key(next)
		if err != nil {
			return nil, err
		}
		if string(k) == "iso_code" {
			return d.str(n, "country.iso_code")
		}
		if next, err = d.skip(n, 2); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// str returns the bytes of the string at off (or pointed to from off); what
// names the field for errors.
func (d *decoder) str(off int, what string) ([]byte, error) {
	typ, size, next, err := d.header(off)
	if err != nil {
		return nil, err
	}
	if typ == typePointer {
		if typ, size, next, err = d.target(off, size); err != nil {
			return nil, err
		}
	}
	if typ != typeString {
		return nil, d.errf(off, "%s is a %s, not a string", what, typeNames[typ])
	}
	end, err := d.payloadEnd(off, typ, size, next)
	if err != nil {
		return nil, err
	}
	return d.buf[next:end], nil
}

// codes holds "AA" to "ZZ", so that Country returns country codes without
// allocating.
var codes = func() (c [26 * 26]string) {
	for i := range c {
		c[i] = string([]byte{'A' + byte(i/26), 'A' + byte(i%26)})
	}
	return c
}()

func intern(b []byte) string {
	if len(b) == 2 && b[0]-'A' < 26 && b[1]-'A' < 26 {
		return codes[int(b[0]-'A')*26+int(b[1]-'A')]
	}
	return string(b)
}

func isUint128(v any) bool {
	_, ok := v.(*big.Int)
	return ok
}
