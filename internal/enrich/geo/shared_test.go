package geo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// shared is ../shared/data/ipdb seen from this package's directory.
const shared = "../../../../shared/data/ipdb"

// sharedPath returns the path of name under shared, or skips the test when
// it is absent (a fresh clone).
func sharedPath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(shared, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("needs %s from ../shared/data (absent in a fresh clone): %v", name, err)
	}
	return p
}

// Every test database MaxMind ships opens and verifies, but the broken ones,
// which fail with the error that says what is wrong.
func TestAllMaxMindTestFiles(t *testing.T) {
	dir := sharedPath(t, "maxmind-test-data/test-data")
	files, err := filepath.Glob(filepath.Join(dir, "*.mmdb"))
	if err != nil || len(files) < 30 {
		t.Fatalf("%d files in %s: %v", len(files), dir, err)
	}
	broken := map[string]string{
		"GeoIP2-City-Test-Invalid-Node-Count.mmdb":   "node_count 100000 needs",
		"GeoIP2-City-Test-Broken-Double-Format.mmdb": "double of 5 bytes, not 8",
		"MaxMind-DB-test-broken-pointers-24.mmdb":    "points to data section offset 100052, past its end",
		"MaxMind-DB-test-broken-search-tree-24.mmdb": "node 0 points back to node 0, a cycle",
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			db, err := Open(f)
			if err == nil {
				err = db.Verify()
			}
			if want, ok := broken[name]; ok {
				wantErr(t, err, f, want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := db.Metadata()
			if m.BinaryFormatMajorVersion != 2 || m.DatabaseType == "" || m.NodeCount == 0 || m.BuildTime().IsZero() {
				t.Errorf("metadata %+v", m)
			}
		})
	}
}

// The GeoIP2 and GeoLite2 test databases hold what the JSON they were built
// from says: for the first and last address of every network in the JSON,
// the record decodes to the JSON value of the last network listed that holds
// the address (the generator inserts them in order, later over earlier).
func TestSourceData(t *testing.T) {
	dir := sharedPath(t, "maxmind-test-data")
	sources, err := filepath.Glob(filepath.Join(dir, "source-data", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, src := range sources {
		name := strings.TrimSuffix(filepath.Base(src), ".json")
		file := filepath.Join(dir, "test-data", name+".mmdb")
		if _, err := os.Stat(file); err != nil {
			continue // a JSON file whose database MaxMind does not ship
		}
		tested++
		t.Run(name, func(t *testing.T) {
			entries := readSource(t, src)
			db, err := Open(file)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, e := range entries {
				addrs := []netip.Addr{e.net.Addr(), last(e.net)}
				if a := e.net.Addr(); a.Is6() && e.net.Bits() >= 96 && bytes.Equal(a.AsSlice()[:12], make([]byte, 12)) {
					// An IPv4 network written under ::/96: look up the IPv4
					// addresses too.
					for _, x := range addrs[:2] {
						b := x.As16()
						addrs = append(addrs, netip.AddrFrom4([4]byte(b[12:])))
					}
				}
				for _, a := range addrs {
					want := expected(entries, a)
					got, err := db.Lookup(a)
					if err != nil {
						t.Fatalf("%s: %v", a, err)
					}
					checked++
					if got == nil {
						t.Errorf("%s (%s): no record, want %v", a, e.net, want)
						continue
					}
					if diff := compare("", got, want); diff != "" {
						t.Errorf("%s (%s): %s", a, e.net, diff)
					}
					if cc, ok, err := db.Country(a); err != nil {
						t.Errorf("%s: Country: %v", a, err)
					} else if wantCC := jsonCountry(want); cc != wantCC || ok != (wantCC != "") {
						t.Errorf("%s: Country = %q, %v; want %q", a, cc, ok, wantCC)
					}
				}
			}
			t.Logf("%d networks, %d addresses looked up", len(entries), checked)
		})
	}
	if tested < 10 {
		t.Errorf("only %d test databases have their source JSON", tested)
	}
}

type sourceEntry struct {
	net netip.Prefix
	rec map[string]any
}

func readSource(t *testing.T, path string) []sourceEntry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var raw []map[string]map[string]any
	if err := d.Decode(&raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []sourceEntry
	for _, m := range raw {
		for k, v := range m {
			p, err := netip.ParsePrefix(k)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, sourceEntry{p.Masked(), v})
		}
	}
	return out
}

// expected is the record of the last entry holding a.
func expected(entries []sourceEntry, a netip.Addr) map[string]any {
	for i := len(entries) - 1; i >= 0; i-- {
		p := entries[i].net
		if p.Contains(a) {
			return entries[i].rec
		}
		// An IPv4 network also holds its addresses under ::/96, and the
		// other way round.
		if a.Is4() && p.Addr().Is6() && p.Bits() >= 96 {
			v4 := a.As4()
			if p.Contains(netip.AddrFrom16([16]byte{12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})) {
				return entries[i].rec
			}
		}
		if a.Is6() && p.Addr().Is4() {
			b := a.As16()
			if bytes.Equal(b[:12], make([]byte, 12)) && p.Contains(netip.AddrFrom4([4]byte(b[12:]))) {
				return entries[i].rec
			}
		}
	}
	return nil
}

func jsonCountry(rec map[string]any) string {
	if cc, ok := rec["country_code"].(string); ok {
		return cc
	}
	if c, ok := rec["country"].(map[string]any); ok {
		if cc, ok := c["iso_code"].(string); ok {
			return cc
		}
	}
	return ""
}

// compare returns where got (as Lookup decodes it) differs from want (as
// encoding/json decodes it with UseNumber), or "".
func compare(path string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %T, want a map", path, got)
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if d := compare(path+"."+k, g[k], w[k]); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
		for i := range w {
			if d := compare(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
				return d
			}
		}
		return ""
	case json.Number:
		var ok bool
		switch g := got.(type) {
		case uint16, uint32, uint64, int32:
			ok = fmt.Sprint(g) == w.String()
		case *big.Int:
			ok = g.String() == w.String()
		case float64:
			f, err := w.Float64()
			ok = err == nil && (f == g || math.Abs(f-g) <= 1e-9*math.Abs(f))
		case float32:
			f, err := w.Float64()
			ok = err == nil && float32(f) == g
		}
		if !ok {
			return fmt.Sprintf("%s: got %v (%T), want %s", path, got, got, w)
		}
		return ""
	default:
		if got != want {
			return fmt.Sprintf("%s: got %v (%T), want %v (%T)", path, got, got, want, want)
		}
		return ""
	}
}
