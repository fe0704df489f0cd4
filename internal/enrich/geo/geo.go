// Package geo maps IP addresses to country codes from MaxMind DB (.mmdb)
// files: the ip-location-db country databases (records {"country_code": "SE"})
// and GeoIP2/GeoLite2 Country and City databases (records
// {"country": {"iso_code": "SE"}, ...}).
//
// The reader is written from the MaxMind DB format specification, version 2.0
// (https://maxmind.github.io/MaxMind-DB/). It holds the whole file in memory
// and never trusts it: every record, pointer, size and nesting depth is
// checked against the bounds of the file, so a broken or hostile file gives an
// error that names the file, the byte offset and what is wrong, never a panic,
// an out-of-range read or a loop without end. Open checks the metadata and the
// layout of the sections; Lookup and Country check what they read; Verify
// checks the whole file.
//
// A DB is immutable after Open and safe for concurrent use.
package geo

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync/atomic"
	"time"
)

// ErrInvalidDatabase is matched (errors.Is) by every error about the content
// of a database file. The error itself is a *FormatError.
var ErrInvalidDatabase = errors.New("invalid MaxMind DB")

// FormatError reports what is wrong with a database file and where.
type FormatError struct {
	File   string // the path given to Open; empty for OpenBytes
	Offset int64  // byte offset in the file, or -1 when no single place is at fault
	Msg    string // what is wrong
}

func (e *FormatError) Error() string {
	name := e.File
	if name == "" {
		name = "(bytes)"
	}
	if e.Offset < 0 {
		return fmt.Sprintf("geo: %s: invalid MaxMind DB: %s", name, e.Msg)
	}
	return fmt.Sprintf("geo: %s: invalid MaxMind DB at offset %d: %s", name, e.Offset, e.Msg)
}

// Is makes errors.Is(err, ErrInvalidDatabase) true.
func (e *FormatError) Is(target error) bool { return target == ErrInvalidDatabase }

// Metadata describes a database, from the metadata section at the end of the
// file.
type Metadata struct {
	DatabaseType             string            // e.g. "GeoIP2-Country", "geo-whois-asn-country"
	Description              map[string]string // language code → text; may be empty
	Languages                []string          // locales the records are localised to; may be empty
	IPVersion                uint16            // 4: IPv4 only; 6: IPv4 and IPv6
	RecordSize               uint16            // bits per search tree record: 24, 28 or 32
	NodeCount                uint32            // nodes in the search tree
	BuildEpoch               uint64            // build time, seconds since 1970 (UTC)
	BinaryFormatMajorVersion uint16            // always 2
	BinaryFormatMinorVersion uint16
}

// BuildTime is BuildEpoch as a time, or the zero time when BuildEpoch is past
// the year 9999 (a broken or hostile file).
func (m Metadata) BuildTime() time.Time {
	const maxEpoch = 253402300799 // 9999-12-31T23:59:59Z
	if m.BuildEpoch > maxEpoch {
		return time.Time{}
	}
	return time.Unix(int64(m.BuildEpoch), 0).UTC()
}

// DB is an opened MaxMind DB file.
type DB struct {
	file string // for errors; empty for OpenBytes
	buf  []byte // the whole file
	meta Metadata

	nodeCount  uint32
	recordSize int    // 24, 28 or 32
	tree       []byte // buf[:nodeCount*recordSize/4]
	dataStart  int    // file offset of the data section
	data       []byte // buf[dataStart:metadata marker]

	// IPv4 lookups in an IPv6 tree start where the 96 zero bits of ::/96
	// lead: ipv4Rec is a node, or a terminal record reached on the way.
	// In an IPv4 tree ipv4Rec is the root, 0.
	ipv4Rec uint32

	// Country's walk: the stride nodes (stride.go) after the first
	// jumpBits bits of an IPv4 address (from ipv4Rec; nil if that is
	// terminal) and of an IPv6 one (nil in an IPv4 tree), see jumpTable,
	// and the stride nodes below.
	jumpBits     int
	jump4, jump6 []uint32
	stride       []uint32

	// countries caches Country's result for a terminal record as
	// rec<<16 | index in codes (len(codes): no country); 0 is empty. The
	// entries are atomic so that lookups may run concurrently.
	countries *[1 << countryCacheBits]atomic.Uint64
}

// Limits on what a file may ask a reader to do. A record decodes to at most
// maxValues values and maxPayload bytes of strings and byte arrays, nested
// at most maxDepth deep: the same bounds MaxMind recommends to readers. They
// keep a small hostile file, whose pointers share and nest values, from
// costing more than a bounded amount of time and memory.
const (
	maxDepth       = 512
	maxValues      = 1 << 16
	maxPayload     = 2 << 20
	maxMetadata    = 128 << 10 // the metadata section, marker included (spec)
	separatorBytes = 16        // zero bytes between search tree and data
)

var metadataMarker = []byte("\xab\xcd\xefMaxMind.com")

// Open reads the database file at path into memory and checks its metadata
// and layout. The records are checked as they are read; call Verify to check
// them all at once.
func Open(path string) (*DB, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geo: %w", err)
	}
	return open(path, b)
}

// OpenBytes is Open for a database already in memory. The DB keeps b, which
// must not be modified afterwards.
func OpenBytes(b []byte) (*DB, error) { return open("", b) }

func open(file string, b []byte) (*DB, error) {
	db := &DB{file: file, buf: b, countries: new([1 << countryCacheBits]atomic.Uint64)}
	// The metadata starts after the last marker in the last 128 KiB.
	tail := max(0, len(b)-maxMetadata)
	i := bytes.LastIndex(b[tail:], metadataMarker)
	if i < 0 {
		return nil, db.formatErr(-1, "no metadata marker \\xab\\xcd\\xefMaxMind.com in the last 128 KiB: not a MaxMind DB file")
	}
	markerAt := tail + i
	metaStart := markerAt + len(metadataMarker)
	if err := db.readMetadata(metaStart); err != nil {
		return nil, err
	}
	m := &db.meta
	switch m.RecordSize {
	case 24, 28, 32:
	default:
		return nil, db.formatErr(-1, "record_size %d is not supported (24, 28 or 32)", m.RecordSize)
	}
	db.nodeCount = m.NodeCount
	db.recordSize = int(m.RecordSize)
	treeSize := uint64(m.NodeCount) * uint64(m.RecordSize) / 4
	if treeSize+separatorBytes > uint64(markerAt) {
		return nil, db.formatErr(-1, "node_count %d needs a %d-byte search tree and the 16-byte separator, but the metadata starts at offset %d (node_count too large or file truncated)",
			m.NodeCount, treeSize, markerAt)
	}
	db.tree = b[:treeSize]
	db.dataStart = int(treeSize) + separatorBytes
	db.data = b[db.dataStart:markerAt]

	// Find where IPv4 addresses start in an IPv6 tree: after ::/96.
	if m.IPVersion == 6 {
		db.ipv4Rec, _ = db.walk(0, 0, 0, 96)
	}
	db.jumpBits = 8
	if db.nodeCount >= 1<<16 {
		db.jumpBits = 16
	}
	if db.ipv4Rec < db.nodeCount {
		db.jump4 = db.jumpTable(db.ipv4Rec)
	}
	if m.IPVersion == 6 {
		db.jump6 = db.jumpTable(0)
	}
	var roots []uint32
	db.stride, roots = db.buildStride(append(slices.Clone(db.jump4), db.jump6...))
	copy(db.jump4, roots)
	copy(db.jump6, roots[len(db.jump4):])
	return db, nil
}

// readMetadata decodes and checks the metadata map at file offset start.
func (db *DB) readMetadata(start int) error {
	d := decoder{db: db, buf: db.buf[start:], base: start, section: "metadata", build: true}
	v, _, err := d.value(0, 0)
	if err != nil {
		return err
	}
	mv, ok := v.(map[string]any)
	if !ok {
		return db.formatErr(int64(start), "metadata is a %s, not a map", typeName(v))
	}
	m := &db.meta
	uintField := func(key string, bits int, required bool) (uint64, error) {
		x, present := mv[key]
		if !present {
			if required {
				return 0, db.formatErr(int64(start), "metadata has no %s", key)
			}
			return 0, nil
		}
		var u uint64
		switch x := x.(type) {
		case uint16:
			u = uint64(x)
		case uint32:
			u = uint64(x)
		case uint64:
			u = x
		default:
			return 0, db.formatErr(int64(start), "metadata %s is a %s, not an unsigned integer", key, typeName(x))
		}
		if bits < 64 && u >= 1<<bits {
			return 0, db.formatErr(int64(start), "metadata %s is %d, more than %d bits", key, u, bits)
		}
		return u, nil
	}
	var u uint64
	if u, err = uintField("binary_format_major_version", 16, true); err != nil {
		return err
	}
	m.BinaryFormatMajorVersion = uint16(u)
	if m.BinaryFormatMajorVersion != 2 {
		return db.formatErr(int64(start), "binary_format_major_version is %d; this reader knows version 2", u)
	}
	if u, err = uintField("binary_format_minor_version", 16, false); err != nil {
		return err
	}
	m.BinaryFormatMinorVersion = uint16(u)
	if u, err = uintField("node_count", 32, true); err != nil {
		return err
	}
	m.NodeCount = uint32(u)
	if u, err = uintField("record_size", 16, true); err != nil {
		return err
	}
	m.RecordSize = uint16(u)
	if u, err = uintField("ip_version", 16, true); err != nil {
		return err
	}
	m.IPVersion = uint16(u)
	if m.IPVersion != 4 && m.IPVersion != 6 {
		return db.formatErr(int64(start), "ip_version is %d, not 4 or 6", u)
	}
	if u, err = uintField("build_epoch", 64, false); err != nil {
		return err
	}
	m.BuildEpoch = u
	if x, ok := mv["database_type"]; ok {
		s, ok := x.(string)
		if !ok {
			return db.formatErr(int64(start), "metadata database_type is a %s, not a string", typeName(x))
		}
		m.DatabaseType = s
	}
	if x, ok := mv["description"]; ok {
		dm, ok := x.(map[string]any)
		if !ok {
			return db.formatErr(int64(start), "metadata description is a %s, not a map", typeName(x))
		}
		m.Description = make(map[string]string, len(dm))
		for k, v := range dm {
			s, ok := v.(string)
			if !ok {
				return db.formatErr(int64(start), "metadata description[%q] is a %s, not a string", k, typeName(v))
			}
			m.Description[k] = s
		}
	}
	if x, ok := mv["languages"]; ok {
		a, ok := x.([]any)
		if !ok {
			return db.formatErr(int64(start), "metadata languages is a %s, not an array", typeName(x))
		}
		for i, v := range a {
			s, ok := v.(string)
			if !ok {
				return db.formatErr(int64(start), "metadata languages[%d] is a %s, not a string", i, typeName(v))
			}
			m.Languages = append(m.Languages, s)
		}
	}
	return nil
}

// Metadata returns the database's metadata. The caller may modify the
// result.
func (db *DB) Metadata() Metadata {
	m := db.meta
	m.Description = maps.Clone(m.Description)
	m.Languages = slices.Clone(m.Languages)
	return m
}

// formatErr returns a *FormatError for file offset off (-1: none).
func (db *DB) formatErr(off int64, format string, args ...any) error {
	return &FormatError{File: db.file, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// typeName names the Go type of a decoded value in the format's words.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "double"
	case []byte:
		return "byte array"
	case uint16:
		return "uint16"
	case uint32:
		return "uint32"
	case int32:
		return "int32"
	case uint64:
		return "uint64"
	case map[string]any:
		return "map"
	case []any:
		return "array"
	case bool:
		return "boolean"
	case float32:
		return "float"
	case nil:
		return "nothing"
	default:
		if isUint128(v) {
			return "uint128"
		}
		return fmt.Sprintf("%T", v)
	}
}
