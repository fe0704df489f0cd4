package geo

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Hand-made broken and hostile files (builder_test.go): each is a clear
// error, and none costs more than a bounded amount of time and memory.

var any4 = netip.MustParseAddr("192.0.2.1")

func TestOpenErrors(t *testing.T) {
	valid := func() testFile { return oneRecord(mapOf(str("country_code"), str("SE")), 0) }
	withMeta := func(k string, v []byte) []byte {
		f := valid()
		f.overrides = map[string][]byte{k: v}
		return f.bytes()
	}
	metaOnly := func(meta []byte) []byte {
		f := valid()
		f.meta = meta
		return f.bytes()
	}
	loop := valid()
	loop.overrides = map[string][]byte{"description": ptr(0)} // the metadata map holds itself
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "no metadata marker"},
		{"not mmdb", bytes.Repeat([]byte("tocsin "), 1000), "no metadata marker"},
		{"marker too early", append(valid().bytes(), make([]byte, 130<<10)...), "no metadata marker"},
		{"no metadata", metaOnly([]byte{}), "metadata: field at offset 0 is past the end of the section (0 bytes)"},
		{"metadata a string", metaOnly(str("hello")), "metadata is a string, not a map"},
		{"metadata truncated", metaOnly(field(typeMap, 3)), "map of 3 entries cannot fit in the 0 bytes left"},
		{"no node_count", withMeta("node_count", nil), "metadata has no node_count"},
		{"node_count a string", withMeta("node_count", str("1")), "metadata node_count is a string, not an unsigned integer"},
		{"node_count too wide", withMeta("node_count", uintField(typeUint64, 1<<40)), "metadata node_count is 1099511627776, more than 32 bits"},
		{"node_count too large", withMeta("node_count", uintField(typeUint32, 1<<32-1)), "node_count 4294967295 needs a 25769803770-byte search tree"},
		{"record_size 20", withMeta("record_size", uintField(typeUint16, 20)), "record_size 20 is not supported"},
		{"ip_version 5", withMeta("ip_version", uintField(typeUint16, 5)), "ip_version is 5, not 4 or 6"},
		{"format version 3", withMeta("binary_format_major_version", uintField(typeUint16, 3)), "binary_format_major_version is 3"},
		{"description not strings", withMeta("description", mapOf(str("en"), uintField(typeUint16, 1))), `metadata description["en"] is a uint16, not a string`},
		{"languages not an array", withMeta("languages", str("en")), "metadata languages is a string, not an array"},
		{"database_type not a string", withMeta("database_type", boolean(true)), "metadata database_type is a boolean, not a string"},
		{"metadata pointer loop", loop.bytes(), "metadata: values nested more than 512 deep"},
		{"metadata pointer past end", withMeta("description", ptr(5000)), "metadata: pointer to offset 5000, past the end of the section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenBytes(tc.b)
			wantErr(t, err, "(bytes)", tc.want)
			path := filepath.Join(t.TempDir(), "x.mmdb")
			if err := os.WriteFile(path, tc.b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Open(path)
			wantErr(t, err, path, tc.want)
		})
	}

	// A valid file whose build epoch is the largest uint64 opens; its build
	// time is unknown rather than wrapped around.
	db, err := OpenBytes(withMeta("build_epoch", uintField(typeUint64, 1<<64-1)))
	if err != nil {
		t.Fatal(err)
	}
	if m := db.Metadata(); m.BuildEpoch != 1<<64-1 || !m.BuildTime().IsZero() {
		t.Errorf("metadata %+v, build time %v", m, m.BuildTime())
	}
	if got := valid(); true {
		db, err := OpenBytes(got.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if bt := db.Metadata().BuildTime(); !bt.Equal(time.Unix(1_700_000_000, 0)) {
			t.Errorf("build time %v", bt)
		}
	}
}

func TestBrokenTrees(t *testing.T) {
	// 33 nodes down the left: deeper than an IPv4 address.
	deep := testFile{ipVersion: 4, recordSize: 28, data: mapOf(str("country_code"), str("SE"))}
	for i := range 33 {
		deep.nodes = append(deep.nodes, [2]uint32{uint32(i + 1), 33 + 16})
	}
	deep.nodes[32][0] = 33 + 16

	cycle := testFile{ipVersion: 6, recordSize: 32, nodes: [][2]uint32{{1, 2}, {0, 2}}}

	separator := oneRecord(mapOf(str("country_code"), str("SE")), 0)
	separator.nodes[0][1] = 1 + 5

	unreachable := oneRecord(mapOf(str("country_code"), str("SE")), 0)
	unreachable.nodes = append(unreachable.nodes, [2]uint32{2, 2})
	unreachable.nodes[0] = [2]uint32{unreachable.dataRecord(0), unreachable.dataRecord(0)}

	dirty := oneRecord(mapOf(str("country_code"), str("SE")), 0)
	dirty.separator = append(make([]byte, 15), 1)

	for _, tc := range []struct {
		name   string
		f      testFile
		verify string
		addr   string
		lookup string // "" for no error
	}{
		{"too deep", deep, "node 0 starts a path of more than 32 nodes, longer than an IPv4 address", "0.0.0.0",
			"search tree: node 32 is still a node after all 32 bits of 0.0.0.0"},
		{"cycle", cycle, "search tree: node 1 points back to node 0, a cycle", "::", "node 0 is still a node after all 128 bits of ::"},
		{"record into separator", separator, "record value 6 points into the 16-byte data section separator", "128.0.0.1",
			"record value 6 points into the 16-byte data section separator (node_count 1) (looking up 128.0.0.1)"},
		{"unreachable node", unreachable, "1 of 2 nodes are not reachable from the root, the first is node 1", "1.2.3.4", ""},
		{"dirty separator", dirty, "data section separator byte is 0x01, not zero", "1.2.3.4", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := OpenBytes(tc.f.bytes())
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, db.Verify(), "(bytes)", tc.verify)
			_, _, err = db.Country(netip.MustParseAddr(tc.addr))
			if tc.lookup == "" {
				if err != nil {
					t.Error(err)
				}
				return
			}
			wantErr(t, err, "(bytes)", tc.lookup)
		})
	}
}

func TestHostileRecords(t *testing.T) {
	fan, fanTop := fanOut(40)
	big := bytes.Repeat([]byte{'a'}, 65535)
	amp := bytesField(big)
	ampTop := len(amp)
	amp = append(amp, field(typeArray, 8192)...)
	for range 8192 {
		amp = append(amp, ptr(0)...)
	}
	deep := str("x")
	for range 600 {
		deep = mapOf(str("a"), deep)
	}
	ptrPtr := append(str("SE"), ptr(0)...) // the pointer is at 3
	ptrPtrTop := len(ptrPtr)
	ptrPtr = append(ptrPtr, mapOf(str("country_code"), ptr(3))...)

	for _, tc := range []struct {
		name    string
		data    []byte
		top     int
		lookup  string // the error of Lookup
		country string // the error of Country, or "=CC" for its result
	}{
		{"pointer fan-out", fan, fanTop, "record has more than 65536 values", "="},
		{"pointer fan-out under a key", append(fan, mapOf(str("x"), ptr(fanTop), str("country_code"), str("SE"))...), len(fan),
			"record has more than 65536 values", "=SE"},
		{"payload amplification", amp, ampTop, "record has more than 2097152 bytes of strings and byte arrays", "="},
		{"nesting 600 deep", deep, 0, "values nested more than 512 deep", "values nested more than 512 deep"},
		{"pointer loop", mapOf(str("a"), ptr(0)), 0, "values nested more than 512 deep", "="},
		{"pointer to pointer", ptrPtr, ptrPtrTop, "pointer to offset 3, which holds another pointer", "pointer to offset 3, which holds another pointer"},
		{"oversized map", field(typeMap, 16_000_000), 0, "map of 16000000 entries cannot fit in the 0 bytes left", "map of 16000000 entries cannot fit"},
		{"oversized array", mapOf(str("a"), field(typeArray, 16_000_000)), 0, "array of 16000000 entries cannot fit", "array of 16000000 entries cannot fit"},
		{"string past the end", mapOf(str("country_code"), append(field(typeString, 100), "SE"...)), 0,
			"string of 100 bytes runs past the end of the section (2 bytes left)", "string of 100 bytes runs past the end"},
		{"unknown type", mapOf(str("a"), []byte{0x00, 0x09}), 0, "unknown data type 16", "unknown data type 16"},
		{"truncated pointer", append(pairStart("country_code"), 0x38, 0, 0), 0, "pointer truncated", "pointer truncated"},
		{"truncated size", append(pairStart("country_code"), 0x5f, 0), 0, "string size truncated", "string size truncated"},
		{"double of 4 bytes", mapOf(str("d"), append(field(typeDouble, 4), 1, 2, 3, 4)), 0, "double of 4 bytes, not 8", "="},
		{"float of 8 bytes", mapOf(str("f"), append(field(typeFloat, 8), make([]byte, 8)...)), 0, "float of 8 bytes, not 4", "="},
		{"boolean of size 2", mapOf(str("b"), field(typeBool, 2)), 0, "boolean with size 2, not 0 or 1", "="},
		{"uint16 of 3 bytes", mapOf(str("u"), append(field(typeUint16, 3), 1, 2, 3)), 0, "uint16 of 3 bytes, more than 2", "="},
		{"uint128 of 17 bytes", mapOf(str("u"), append(field(typeUint128, 17), make([]byte, 17)...)), 0, "uint128 of 17 bytes, more than 16", "="},
		{"key not a string", mapOf(uintField(typeUint16, 7), str("SE")), 0, "map key is a uint16, not a string", "map key is a uint16, not a string"},
		{"end marker", mapOf(str("a"), field(typeEnd, 0)), 0, "end marker inside a value", "end marker inside a value"},
		{"data cache container", mapOf(str("a"), field(typeContainer, 0)), 0, "data cache container inside a value", "data cache container inside a value"},
		{"country_code not a string", mapOf(str("country_code"), uintField(typeUint32, 752)), 0, "", "country_code is a uint32, not a string"},
		{"country not a map", mapOf(str("country"), str("SE")), 0, "", "country is a string, not a map"},
		{"iso_code not a string", mapOf(str("country"), mapOf(str("iso_code"), boolean(true))), 0, "", "country.iso_code is a boolean, not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := oneRecord(tc.data, tc.top)
			db, err := OpenBytes(f.bytes())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = db.Lookup(any4)
			if tc.lookup == "" {
				if err != nil {
					t.Errorf("Lookup: %v", err)
				}
			} else {
				wantErr(t, err, "(bytes)", tc.lookup)
				if !strings.HasSuffix(err.Error(), "(looking up 192.0.2.1)") {
					t.Errorf("error %q does not say which address", err)
				}
				wantErr(t, db.Verify(), "(bytes)", tc.lookup)
			}
			cc, ok, err := db.Country(any4)
			if want, found := strings.CutPrefix(tc.country, "="); found {
				if err != nil || cc != want || ok != (want != "") {
					t.Errorf("Country = %q, %v, %v; want %q", cc, ok, err, want)
				}
			} else {
				wantErr(t, err, "(bytes)", tc.country)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// pairStart is a map of one pair with only its key.
func pairStart(key string) []byte { return append(field(typeMap, 1), str(key)...) }

func TestCountryShapes(t *testing.T) {
	iso := func(cc string) []byte {
		return mapOf(str("names"), mapOf(str("en"), str("x")), str("iso_code"), str(cc))
	}
	for _, tc := range []struct {
		name string
		rec  []byte
		want string
	}{
		{"country_code", mapOf(str("country_code"), str("SE")), "SE"},
		{"country.iso_code", mapOf(str("continent"), mapOf(str("code"), str("EU")), str("country"), iso("PT")), "PT"},
		{"country_code wins, after", mapOf(str("country"), iso("PT"), str("country_code"), str("SE")), "SE"},
		{"country_code wins, before", mapOf(str("country_code"), str("SE"), str("country"), iso("PT")), "SE"},
		{"registered_country is not country", mapOf(str("registered_country"), iso("PT")), ""},
		{"empty code", mapOf(str("country_code"), str("")), ""},
		{"lower case kept", mapOf(str("country_code"), str("se")), "se"},
		{"long code kept", mapOf(str("country_code"), str("SWE")), "SWE"},
		{"no country", mapOf(str("asn"), uintField(typeUint32, 3301)), ""},
		{"empty map", mapOf(), ""},
		{"every type skipped", mapOf(str("double"), double(1.5), str("bytes"), bytesField([]byte{1, 2}),
			str("u16"), uintField(typeUint16, 7), str("u32"), uintField(typeUint32, 1<<31),
			str("i32"), uintField(typeInt32, 1<<32-1), str("u64"), uintField(typeUint64, 1<<63),
			str("u128"), uintField(typeUint128, 1<<40), str("float"), append(field(typeFloat, 4), 0, 0, 0, 0),
			str("bool"), boolean(true), str("array"), arrayOf(str("x"), mapOf(str("y"), arrayOf())),
			str("long"), str(strings.Repeat("x", 70000)), str("country_code"), str("SE")), "SE"},
		{"array", arrayOf(str("SE")), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := OpenBytes(oneRecord(tc.rec, 0).bytes())
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // decoded, then cached
				cc, ok, err := db.Country(any4)
				if err != nil || cc != tc.want || ok != (tc.want != "") {
					t.Errorf("Country = %q, %v, %v; want %q", cc, ok, err, tc.want)
				}
			}
			if err := db.Verify(); err != nil {
				t.Error(err)
			}
		})
	}

	// Values that only Verify objects to.
	f := oneRecord(mapOf(str("country_code"), str("S\xff")), 0)
	db, err := OpenBytes(f.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Lookup(any4); err != nil {
		t.Error(err)
	}
	wantErr(t, db.Verify(), "(bytes)", "data section: string is not valid UTF-8")
}

// Every record size, through the same hand-made tree.
func TestRecordSizes(t *testing.T) {
	for _, size := range []int{24, 28, 32} {
		for _, v := range []int{4, 6} {
			// Node 0 splits on the first bit, node 1 on the second; data
			// for 0/2 ("AA"), 64/2 ("BB") and 128/1 ("CC"). The data
			// records are far out, so that 28 bits need the high nibble.
			f := testFile{ipVersion: v, recordSize: size}
			f.nodes = make([][2]uint32, 2)
			pad := 0
			if size > 24 {
				pad = 1<<24 + 5
			}
			f.data = append(make([]byte, pad), mapOf(str("country_code"), str("AA"))...)
			b := len(f.data)
			f.data = append(f.data, mapOf(str("country_code"), str("BB"))...)
			c := len(f.data)
			f.data = append(f.data, mapOf(str("country_code"), str("CC"))...)
			f.nodes[0] = [2]uint32{1, f.dataRecord(c)}
			f.nodes[1] = [2]uint32{f.dataRecord(pad), f.dataRecord(b)}
			db, err := OpenBytes(f.bytes())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"1.2.3.4": "AA", "100.0.0.1": "BB", "200.0.0.1": "CC"}
			if v == 6 {
				// IPv4 is all under ::/2 here.
				want = map[string]string{"1.2.3.4": "AA", "::1": "AA", "4000::1": "BB", "8000::1": "CC", "ffff::": "CC"}
			}
			for s, cc := range want {
				got, ok, err := db.Country(netip.MustParseAddr(s))
				if err != nil || !ok || got != cc {
					t.Errorf("size %d, IPv%d, %s: %q, %v, %v; want %s", size, v, s, got, ok, err, cc)
				}
			}
			if err := db.Verify(); err != nil {
				t.Errorf("size %d, IPv%d: %v", size, v, err)
			}
		}
	}
}

// Every truncation and every single-bit flip of some small test files:
// errors are FormatErrors, and nothing panics or hangs.
func TestCorruptions(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("1.1.1.32"),
		netip.MustParseAddr("::1:ffff:ffff"), netip.MustParseAddr("255.255.255.255")}
	check := func(err error) {
		if err != nil && !errors.Is(err, ErrInvalidDatabase) {
			t.Fatalf("error %v is not ErrInvalidDatabase", err)
		}
	}
	exercise := func(b []byte) {
		db, err := OpenBytes(b)
		if check(err); err != nil {
			return
		}
		check(db.Verify())
		for _, a := range addrs {
			_, _, err := db.Country(a)
			check(err)
		}
		_, _, err = db.LookupValue(addrs[0])
		check(err)
	}
	for _, name := range []string{"MaxMind-DB-test-ipv4-24.mmdb", "MaxMind-DB-test-mixed-28.mmdb", "MaxMind-DB-test-decoder.mmdb"} {
		orig, err := os.ReadFile(filepath.Join("testdata", "maxmind", name))
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(orig) {
			exercise(orig[:n])
		}
		b := bytes.Clone(orig)
		for i := range b {
			for bit := range 8 {
				// All eight flips of each byte of the first file; one,
				// changing with the byte, of the others.
				if name != "MaxMind-DB-test-ipv4-24.mmdb" && bit != i%8 {
					continue
				}
				b[i] ^= 1 << bit
				exercise(b)
				b[i] ^= 1 << bit
			}
		}
	}
}
