package geo

import (
	"encoding/binary"
	"math"
)

// A small writer of the MaxMind DB format, written from the spec like the
// reader, to make the broken and hostile files the tests need. It writes
// exactly what it is told, including nonsense.

// field is the control byte(s) of a field of type typ with size size (for a
// pointer use ptr).
func field(typ, size int) []byte {
	var b []byte
	var c byte
	if typ <= 7 {
		c = byte(typ) << 5
	}
	var ext []byte
	if typ > 7 {
		ext = []byte{byte(typ - 7)}
	}
	var more []byte
	switch {
	case size < 29:
		c |= byte(size)
	case size < 285:
		c |= 29
		more = []byte{byte(size - 29)}
	case size < 65821:
		c |= 30
		x := size - 285
		more = []byte{byte(x >> 8), byte(x)}
	default:
		c |= 31
		x := size - 65821
		more = []byte{byte(x >> 16), byte(x >> 8), byte(x)}
	}
	b = append(b, c)
	b = append(b, ext...)
	return append(b, more...)
}

func str(s string) []byte { return append(field(typeString, len(s)), s...) }

func bytesField(p []byte) []byte { return append(field(typeBytes, len(p)), p...) }

// uintField writes x in the fewest bytes, as type typ.
func uintField(typ int, x uint64) []byte {
	var p []byte
	for ; x > 0; x >>= 8 {
		p = append([]byte{byte(x)}, p...)
	}
	return append(field(typ, len(p)), p...)
}

func double(f float64) []byte {
	return binary.BigEndian.AppendUint64(field(typeDouble, 8), math.Float64bits(f))
}

func boolean(v bool) []byte {
	if v {
		return field(typeBool, 1)
	}
	return field(typeBool, 0)
}

// ptr is a pointer to section offset p, in the smallest form that holds it.
func ptr(p int) []byte {
	switch {
	case p < 1<<11:
		return []byte{0x20 | byte(p>>8), byte(p)}
	case p < 2048+1<<19:
		p -= 2048
		return []byte{0x28 | byte(p>>16), byte(p >> 8), byte(p)}
	case p < 526336+1<<27:
		p -= 526336
		return []byte{0x30 | byte(p>>24), byte(p >> 16), byte(p >> 8), byte(p)}
	default:
		return binary.BigEndian.AppendUint32([]byte{0x38}, uint32(p))
	}
}

// mapOf writes a map of the given key and value fields, which alternate.
func mapOf(kv ...[]byte) []byte {
	b := field(typeMap, len(kv)/2)
	for _, x := range kv {
		b = append(b, x...)
	}
	return b
}

func arrayOf(elems ...[]byte) []byte {
	b := field(typeArray, len(elems))
	for _, x := range elems {
		b = append(b, x...)
	}
	return b
}

// testFile describes a database file to build.
type testFile struct {
	ipVersion  int         // 4 or 6
	recordSize int         // 24, 28 or 32
	nodes      [][2]uint32 // record values
	data       []byte      // the data section
	// meta replaces whole metadata map when not nil; else metaMap with
	// these overrides (a nil value drops the key).
	meta      []byte
	overrides map[string][]byte
	separator []byte // replaces the 16 zero bytes when not nil
}

// dataRecord is the record value pointing at data section offset off.
func (f testFile) dataRecord(off int) uint32 { return uint32(len(f.nodes) + 16 + off) }

func (f testFile) bytes() []byte {
	var b []byte
	for _, n := range f.nodes {
		l, r := n[0], n[1]
		switch f.recordSize {
		case 24:
			b = append(b, byte(l>>16), byte(l>>8), byte(l), byte(r>>16), byte(r>>8), byte(r))
		case 28:
			b = append(b, byte(l>>16), byte(l>>8), byte(l), byte(l>>24)<<4|byte(r>>24)&0xf, byte(r>>16), byte(r>>8), byte(r))
		default:
			b = binary.BigEndian.AppendUint32(b, l)
			b = binary.BigEndian.AppendUint32(b, r)
		}
	}
	sep := f.separator
	if sep == nil {
		sep = make([]byte, 16)
	}
	b = append(b, sep...)
	b = append(b, f.data...)
	b = append(b, metadataMarker...)
	if f.meta != nil {
		return append(b, f.meta...)
	}
	return append(b, f.metaMap()...)
}

// metaMap is a valid metadata map for f, with f.overrides applied.
func (f testFile) metaMap() []byte {
	keys := []string{"binary_format_major_version", "binary_format_minor_version", "build_epoch",
		"database_type", "description", "ip_version", "languages", "node_count", "record_size"}
	vals := map[string][]byte{
		"binary_format_major_version": uintField(typeUint16, 2),
		"binary_format_minor_version": uintField(typeUint16, 0),
		"build_epoch":                 uintField(typeUint64, 1_700_000_000),
		"database_type":               str("tocsin-test"),
		"description":                 mapOf(str("en"), str("made by builder_test.go")),
		"ip_version":                  uintField(typeUint16, uint64(f.ipVersion)),
		"languages":                   arrayOf(str("en")),
		"node_count":                  uintField(typeUint32, uint64(len(f.nodes))),
		"record_size":                 uintField(typeUint16, uint64(f.recordSize)),
	}
	for k, v := range f.overrides {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	var kv [][]byte
	for _, k := range keys {
		if v := vals[k]; v != nil {
			kv = append(kv, str(k), v)
		}
	}
	return mapOf(kv...)
}

// oneRecord is an IPv4 file whose every address has the record at data
// section offset top.
func oneRecord(data []byte, top int) testFile {
	f := testFile{ipVersion: 4, recordSize: 24, nodes: make([][2]uint32, 1), data: data}
	f.nodes[0] = [2]uint32{f.dataRecord(top), f.dataRecord(top)}
	return f
}

// fanOut is a data section of depth arrays each holding two pointers to the
// one below: 2^depth leaves from a few hundred bytes. It returns the data and
// the offset of the top array.
func fanOut(depth int) ([]byte, int) {
	data := uintField(typeUint16, 0)
	prev := 0
	for range depth {
		off := len(data)
		data = append(data, arrayOf(ptr(prev), ptr(prev))...)
		prev = off
	}
	return data, prev
}
