package geo

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The MaxMind test databases copied into testdata/maxmind; the expected
// contents come from MaxMind's generator (cmd/write-test-data in
// github.com/maxmind/MaxMind-DB).

func testdata(t testing.TB, name string) *DB {
	t.Helper()
	db, err := Open(filepath.Join("testdata", "maxmind", name))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

var (
	// The networks of MaxMind-DB-test-ipv4-*: the range 1.1.1.1-1.1.1.32.
	ipv4Nets = []string{"1.1.1.1/32", "1.1.1.2/31", "1.1.1.4/30", "1.1.1.8/29", "1.1.1.16/28", "1.1.1.32/32"}
	// The networks of MaxMind-DB-test-ipv6-*: the range ::1:ffff:ffff-::2:0:59.
	ipv6Nets = []string{"::1:ffff:ffff/128", "::2:0:0/122", "::2:0:40/124", "::2:0:50/125", "::2:0:58/127"}
)

// last is the last address of p.
func last(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestTestDatabases(t *testing.T) {
	for _, tc := range []struct {
		file      string
		ipVersion uint16
		size      uint16
		nets      []string
	}{
		{"MaxMind-DB-test-ipv4-24.mmdb", 4, 24, ipv4Nets},
		{"MaxMind-DB-test-ipv4-28.mmdb", 4, 28, ipv4Nets},
		{"MaxMind-DB-test-ipv4-32.mmdb", 4, 32, ipv4Nets},
		{"MaxMind-DB-test-ipv6-24.mmdb", 6, 24, ipv6Nets},
		{"MaxMind-DB-test-ipv6-28.mmdb", 6, 28, ipv6Nets},
		{"MaxMind-DB-test-ipv6-32.mmdb", 6, 32, ipv6Nets},
		{"MaxMind-DB-test-mixed-24.mmdb", 6, 24, append(slices.Clone(ipv6Nets), ipv4Nets...)},
		{"MaxMind-DB-test-mixed-28.mmdb", 6, 28, append(slices.Clone(ipv6Nets), ipv4Nets...)},
		{"MaxMind-DB-test-mixed-32.mmdb", 6, 32, append(slices.Clone(ipv6Nets), ipv4Nets...)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			db := testdata(t, tc.file)
			if err := db.Verify(); err != nil {
				t.Fatal(err)
			}
			m := db.Metadata()
			want := Metadata{
				DatabaseType:             "Test",
				Description:              map[string]string{"en": "Test Database", "zh": "Test Database Chinese"},
				Languages:                []string{"en", "zh"},
				IPVersion:                tc.ipVersion,
				RecordSize:               tc.size,
				NodeCount:                m.NodeCount,
				BuildEpoch:               m.BuildEpoch,
				BinaryFormatMajorVersion: 2,
			}
			if !reflect.DeepEqual(m, want) {
				t.Errorf("metadata\n got %+v\nwant %+v", m, want)
			}
			if m.BuildTime().Year() < 2020 {
				t.Errorf("build time %v", m.BuildTime())
			}
			for _, s := range tc.nets {
				p := netip.MustParsePrefix(s)
				wantIP := p.Addr().String()
				if p.Addr().Is4() && tc.ipVersion == 6 {
					wantIP = "::" + wantIP
				}
				addrs := []netip.Addr{p.Addr(), last(p)}
				if p.Addr().Is4() && tc.ipVersion == 6 {
					// The same networks as IPv6: under ::/96 as stored,
					// ::ffff:0:0/96 (mapped, unmapped by the reader) and
					// 2002::/16 (6to4: aliased in the tree by the writer).
					v4 := p.Addr().As4()
					addrs = append(addrs,
						netip.AddrFrom16([16]byte{12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
						netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
						netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: v4[0], 3: v4[1], 4: v4[2], 5: v4[3]}))
				}
				for _, a := range addrs {
					v, network, err := db.LookupValue(a)
					if err != nil {
						t.Fatal(err)
					}
					if got := v.(map[string]any)["ip"]; got != wantIP {
						t.Errorf("%s: ip %v, want %s", a, got, wantIP)
					}
					if a == p.Addr() && network != p {
						t.Errorf("%s: network %s, want %s", a, network, p)
					}
					if cc, ok, err := db.Country(a); cc != "" || ok || err != nil {
						t.Errorf("%s: Country = %q, %v, %v for a record without one", a, cc, ok, err)
					}
				}
			}
			for _, s := range []string{"1.1.1.0", "1.1.1.33", "::1:ffff:fffe", "::2:0:5a", "8.8.8.8", "2001:db8::1"} {
				a := netip.MustParseAddr(s)
				rec, err := db.Lookup(a)
				if err != nil || rec != nil {
					t.Errorf("%s: Lookup = %v, %v; want nothing", a, rec, err)
				}
			}
		})
	}
}

func TestDecoderTypes(t *testing.T) {
	u128 := new(big.Int).Lsh(big.NewInt(1), 120)
	maxU128 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	all := map[string]any{
		"array":       []any{uint32(1), uint32(2), uint32(3)},
		"bytes":       []byte{0, 0, 0, 42},
		"boolean":     true,
		"double":      42.123456,
		"float":       float32(1.1),
		"int32":       int32(-268435456),
		"map":         map[string]any{"mapX": map[string]any{"utf8_stringX": "hello", "arrayX": []any{uint32(7), uint32(8), uint32(9)}}},
		"uint16":      uint16(100),
		"uint32":      uint32(268435456),
		"uint64":      uint64(1) << 60,
		"uint128":     u128,
		"utf8_string": "unicode! ☯ - ♫",
	}
	db := testdata(t, "MaxMind-DB-test-decoder.mmdb")
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"1.1.1.1", "::1.1.1.0", "::1.1.1.255"} {
		got, err := db.Lookup(netip.MustParseAddr(s))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, all) {
			t.Errorf("%s:\n got %v\nwant %v", s, got, all)
		}
	}
	zero, err := db.Lookup(netip.MustParseAddr("::0.0.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	wantZero := map[string]any{
		"array": []any{}, "bytes": []byte{}, "boolean": false, "double": 0.0, "float": float32(0),
		"int32": int32(0), "map": map[string]any{}, "uint16": uint16(0), "uint32": uint32(0),
		"uint64": uint64(0), "uint128": new(big.Int), "utf8_string": "",
	}
	if !reflect.DeepEqual(zero, wantZero) {
		t.Errorf("::0.0.0.0:\n got %#v\nwant %#v", zero, wantZero)
	}
	maxed, err := db.Lookup(netip.MustParseAddr("255.255.255.255"))
	if err != nil {
		t.Fatal(err)
	}
	wantMax := map[string]any{
		"double": math.Inf(1), "float": float32(math.Inf(1)), "int32": int32(math.MaxInt32),
		"uint16": uint16(math.MaxUint16), "uint32": uint32(math.MaxUint32), "uint64": uint64(math.MaxUint64),
		"uint128": maxU128,
	}
	if !reflect.DeepEqual(maxed, wantMax) {
		t.Errorf("::255.255.255.255:\n got %v\nwant %v", maxed, wantMax)
	}

	// The pointer decoder file holds the same values, shared through
	// pointers, with boolean false (and a few more keys).
	db = testdata(t, "MaxMind-DB-test-pointer-decoder.mmdb")
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	got, err := db.Lookup(netip.MustParseAddr("1.1.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range all {
		if k == "boolean" {
			want = false
		}
		if !reflect.DeepEqual(got[k], want) {
			t.Errorf("pointer decoder %s = %v, want %v", k, got[k], want)
		}
	}
}

func TestNestedAndNonMapRecords(t *testing.T) {
	db := testdata(t, "MaxMind-DB-test-nested.mmdb")
	rec, err := db.Lookup(netip.MustParseAddr("1.1.1.1"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"map1": map[string]any{"map2": map[string]any{"array": []any{
		map[string]any{"map3": map[string]any{"a": uint32(1), "b": uint32(2), "c": uint32(3)}}}}}}
	if !reflect.DeepEqual(rec, want) {
		t.Errorf("nested: got %v, want %v", rec, want)
	}

	// Records that are strings: LookupValue returns them, Lookup says what
	// they are, Country finds no country.
	db = testdata(t, "MaxMind-DB-string-value-entries.mmdb")
	for _, s := range ipv4Nets {
		p := netip.MustParsePrefix(s)
		for _, a := range []netip.Addr{p.Addr(), last(p)} {
			v, network, err := db.LookupValue(a)
			if err != nil || v != s || network != p {
				t.Errorf("%s: LookupValue = %v, %s, %v; want %s", a, v, network, err, s)
			}
			if _, err := db.Lookup(a); err == nil || !strings.Contains(err.Error(), "record is a string, not a map") {
				t.Errorf("%s: Lookup error %v", a, err)
			}
			if cc, ok, err := db.Country(a); cc != "" || ok || err != nil {
				t.Errorf("%s: Country = %q, %v, %v", a, cc, ok, err)
			}
		}
	}

	// An IPv6 file with nothing under ::/96 but a record for ::/64: IPv4
	// addresses get that record.
	db = testdata(t, "MaxMind-DB-no-ipv4-search-tree.mmdb")
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"1.1.1.1", "255.255.255.255", "::1.1.1.1", "::ffff:1.1.1.1", "::1"} {
		v, _, err := db.LookupValue(netip.MustParseAddr(s))
		if err != nil || v != "::/64" {
			t.Errorf("%s: LookupValue = %v, %v; want ::/64", s, v, err)
		}
	}
	if v, _, err := db.LookupValue(netip.MustParseAddr("2001:db8::1")); v != nil || err != nil {
		t.Errorf("2001:db8::1: LookupValue = %v, %v; want nothing", v, err)
	}

	// Metadata with pointers in it (relative to the metadata section).
	db = testdata(t, "MaxMind-DB-test-metadata-pointers.mmdb")
	m := db.Metadata()
	const s = "Lots of pointers in metadata"
	if m.DatabaseType != s || !reflect.DeepEqual(m.Description, map[string]string{"en": s, "es": s, "zh": s}) ||
		!reflect.DeepEqual(m.Languages, []string{"en", "es", "zh"}) {
		t.Errorf("metadata %+v", m)
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestGeoIP2Country(t *testing.T) {
	db := testdata(t, "GeoIP2-Country-Test.mmdb")
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ addr, cc string }{
		{"81.2.69.160", "GB"},
		{"89.160.20.112", "SE"},
		{"::ffff:89.160.20.112", "SE"},
		{"2001:218::1", "JP"},
		{"2a02:d300::", "UA"},
		{"202.196.224.1", "PH"},
		{"1.1.1.1", ""},
		{"2001:db8::1", ""},
	} {
		cc, ok, err := db.Country(netip.MustParseAddr(tc.addr))
		if err != nil || cc != tc.cc || ok != (tc.cc != "") {
			t.Errorf("%s: Country = %q, %v, %v; want %q", tc.addr, cc, ok, err, tc.cc)
		}
		rec, err := db.Lookup(netip.MustParseAddr(tc.addr))
		if err != nil {
			t.Fatal(err)
		}
		if tc.cc != "" && rec["country"].(map[string]any)["iso_code"] != tc.cc {
			t.Errorf("%s: Lookup country %v", tc.addr, rec["country"])
		}
	}
	if n := testing.AllocsPerRun(100, func() { db.Country(netip.MustParseAddr("81.2.69.160")) }); n != 0 {
		t.Errorf("Country allocates %v times per call", n)
	}
}

// The broken files MaxMind ships: each is a clear error, where the file is
// broken, and the rest of the file still works.
func TestBrokenTestDatabases(t *testing.T) {
	path := filepath.Join("testdata", "maxmind", "GeoIP2-City-Test-Invalid-Node-Count.mmdb")
	_, err := Open(path)
	wantErr(t, err, path, "node_count 100000 needs a 700000-byte search tree")

	path = filepath.Join("testdata", "maxmind", "MaxMind-DB-test-broken-pointers-24.mmdb")
	db := testdata(t, "MaxMind-DB-test-broken-pointers-24.mmdb")
	wantErr(t, db.Verify(), path, "record value 100232 points to data section offset 100052, past its end (65 bytes)")
	_, err = db.Lookup(netip.MustParseAddr("1.1.1.16"))
	wantErr(t, err, path, "pointer to offset 1000000, past the end of the section (65 bytes) (looking up 1.1.1.16)")
	_, _, err = db.Country(netip.MustParseAddr("1.1.1.17"))
	wantErr(t, err, path, "pointer to offset 1000000, past the end of the section")
	_, _, err = db.Country(netip.MustParseAddr("1.1.1.32"))
	wantErr(t, err, path, "search tree: record value 100232 points to data section offset 100052")
	if rec, err := db.Lookup(netip.MustParseAddr("1.1.1.8")); err != nil || rec["ip"] != "1.1.1.8" {
		t.Errorf("1.1.1.8 in the sound part: %v, %v", rec, err)
	}

	path = filepath.Join("testdata", "maxmind", "MaxMind-DB-test-broken-search-tree-24.mmdb")
	db = testdata(t, "MaxMind-DB-test-broken-search-tree-24.mmdb")
	wantErr(t, db.Verify(), path, "node 0 points back to node 0, a cycle")
	// The root's right record points back to the root.
	_, _, err = db.Country(netip.MustParseAddr("255.255.255.255"))
	wantErr(t, err, path, "search tree: node 0 is still a node after all 32 bits of 255.255.255.255")
	_, err = db.Lookup(netip.MustParseAddr("128.128.128.128"))
	wantErr(t, err, path, "search tree: node 31 is still a node after all 32 bits of 128.128.128.128")
	if rec, err := db.Lookup(netip.MustParseAddr("1.1.1.1")); err != nil || rec["ip"] != "1.1.1.1" {
		t.Errorf("1.1.1.1 in the sound part: %v, %v", rec, err)
	}

	path = filepath.Join("testdata", "maxmind", "GeoIP2-City-Test-Broken-Double-Format.mmdb")
	db = testdata(t, "GeoIP2-City-Test-Broken-Double-Format.mmdb")
	wantErr(t, db.Verify(), path, "data section: double of 5 bytes, not 8")
	_, err = db.Lookup(netip.MustParseAddr("81.2.69.160"))
	wantErr(t, err, path, "double of 7 bytes, not 8 (looking up 81.2.69.160)")
	// Country reads only the country code, which is sound.
	if cc, ok, err := db.Country(netip.MustParseAddr("81.2.69.160")); cc != "GB" || !ok || err != nil {
		t.Errorf("Country(81.2.69.160) = %q, %v, %v", cc, ok, err)
	}
}

// wantErr checks that err is a *FormatError naming path that says want.
func wantErr(t *testing.T, err error, path, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want %q", want)
		return
	}
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidDatabase) {
		t.Errorf("error %v (%T) is not a FormatError", err, err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to name %s and say %q", err, path, want)
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "none.mmdb"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v", err)
	}
}

// The jump tables and stride nodes of Country's walk lead where the binary
// tree does.
func TestJumpTables(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "maxmind", "*.mmdb"))
	if real := filepath.Join(shared, realDir, "geo-whois-asn-country.mmdb"); fileExists(real) {
		files = append(files, real)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, f := range files {
		db, err := Open(f)
		if err != nil {
			continue
		}
		for range 20000 {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], r.Uint64()>>r.IntN(64))
			binary.BigEndian.PutUint64(b[8:], r.Uint64())
			for _, a := range []netip.Addr{netip.AddrFrom16(b), netip.AddrFrom4([4]byte(b[12:]))} {
				fast, err1 := db.findFast(a)
				exact, _, err2 := db.find(a)
				if fast != exact || (err1 == nil) != (err2 == nil) {
					t.Fatalf("%s, %s: %d, %v with jump tables, %d, %v without", f, a, fast, err1, exact, err2)
				}
			}
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// A DB is read-only after Open: lookups from many goroutines (run with
// -race).
func TestConcurrentLookups(t *testing.T) {
	db := testdata(t, "GeoIP2-Country-Test.mmdb")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				a := netip.AddrFrom4([4]byte{89, 160, 20, byte(112 + (i+g)%16)})
				if cc, ok, err := db.Country(a); cc != "SE" || !ok || err != nil {
					t.Errorf("%s: %q, %v, %v", a, cc, ok, err)
					return
				}
				if _, err := db.Lookup(a); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
