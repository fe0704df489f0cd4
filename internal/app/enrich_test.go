package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnrichmentEndToEnd: reference data imported with 'tocsin data import'
// enriches every ingested event and answers 'tocsin lookup'.
func TestEnrichmentEndToEnd(t *testing.T) {
	tsv := filepath.Join(sharedData, "ipdb", "iptoasn-excerpt", "ip2asn-v4.excerpt.tsv")
	if _, err := os.Stat(tsv); err != nil {
		t.Skipf("needs %s: %v", tsv, err)
	}
	mmdb := filepath.Join("..", "enrich", "geo", "testdata", "maxmind", "GeoIP2-Country-Test.mmdb")
	data := t.TempDir()
	if r := run(t, data, nil, "data", "import", "asn", tsv); r.code != 0 || !strings.Contains(r.stdout, "saved to") {
		t.Fatalf("import asn: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, data, nil, "data", "import", "geo", mmdb); r.code != 0 {
		t.Fatalf("import geo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	broken := filepath.Join("..", "enrich", "geo", "testdata", "maxmind", "MaxMind-DB-test-broken-search-tree-24.mmdb")
	if r := run(t, data, nil, "data", "import", "geo", broken); r.code != 1 || !strings.Contains(r.stderr, "broken-search-tree") {
		t.Errorf("broken geo database: exit %d, %s", r.code, r.stderr)
	}

	r := run(t, data, strings.NewReader("8.8.8.8\n# a comment\n1.1.1.1\nnot a target!\n"), "lookup", "--json", "-", "AS15169", "www.example.co.uk")
	if r.code != 1 || !strings.Contains(r.stderr, "line 4") {
		t.Errorf("lookup: exit %d (want 1 for the bad line), stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("lookup printed %d lines:\n%s", len(lines), r.stdout)
	}
	var first, dom map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[3]), &dom)
	if first["target"] != "8.8.8.8" || first["asn"] != float64(15169) || first["network"] != "8.8.8.0/24" || first["org"] != nil {
		t.Errorf("lookup 8.8.8.8: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"asn":7497`) {
		t.Errorf("1.1.1.1 is AS7497 in this excerpt: %s", lines[1])
	}
	if !strings.Contains(lines[2], `"as_name":"GOOGLE - Google LLC"`) {
		t.Errorf("AS15169: %s", lines[2])
	}
	if dom["domain"] != "example.co.uk" || !strings.Contains(lines[3], `{"email":"abuse@example.co.uk","source":"rfc2142"}`) {
		t.Errorf("domain: %s", lines[3])
	}

	// Ingest: events get the AS and country the feed did not give.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tocsin.yaml")
	os.WriteFile(cfg, []byte("feeds:\n  - name: partner\n    format: list\n    classification: {type: scanner}\n"), 0o644)
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("8.8.8.8\n81.2.69.160\nhttp://login.example.co.uk/x\n"), 0o644)
	if r := run(t, data, nil, "ingest", "--config", cfg, "--feed", "partner", list); r.code != 0 {
		t.Fatalf("ingest: %s", r.stderr)
	}
	ev := run(t, data, nil, "events", "--config", cfg, "--json").stdout
	for _, want := range []string{`"source.asn":15169`, `"source.network":"8.8.8.0/24"`, `"source.geolocation.cc":"GB"`, `"extra.source.registered_domain":"example.co.uk"`, `"source.domain_suffix":"co.uk"`} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %s:\n%s", want, ev)
		}
	}
}

// TestLookupMergedTable: with the full ip-location-db AS table, a lookup
// of targets from standard input uses the merged IPv4 table; it answers
// exactly as the per-source look-ups do for targets given as arguments.
func TestLookupMergedTable(t *testing.T) {
	if testing.Short() {
		t.Skip("imports the full AS table")
	}
	csv := filepath.Join(sharedData, "ipdb", "ip-location-db-asn", "asn-ipv4.csv")
	if _, err := os.Stat(csv); err != nil {
		t.Skipf("needs %s: %v", csv, err)
	}
	data := t.TempDir()
	if r := run(t, data, nil, "data", "import", "asn", csv); r.code != 0 {
		t.Fatalf("import asn: %d %s", r.code, r.stderr)
	}
	cons := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cons, []byte("organisations:\n  - {id: a, name: A, contacts: [{email: abuse@a.example}], assets: [8.8.8.0/24, 1.0.0.0/8]}\n  - {id: b, name: B, contacts: [{email: abuse@b.example}], assets: [1.1.1.0/24]}\n"), 0o644)
	if r := run(t, data, nil, "constituents", "import", cons); r.code != 0 {
		t.Fatalf("constituents: %s", r.stderr)
	}
	targets := []string{"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.2.3.4", "192.0.2.1", "10.0.0.1", "255.255.255.255", "0.0.0.0", "2001:4860:4860::8888"}
	for i := 0; i < 200; i++ {
		targets = append(targets, fmt.Sprintf("%d.%d.%d.%d", (i*37+11)%224, (i*91)%256, (i*53)%256, i%256))
	}
	args := run(t, data, nil, append([]string{"lookup", "--json"}, targets...)...)
	stdin := run(t, data, strings.NewReader(strings.Join(targets, "\n")+"\n"), "lookup", "--json", "-")
	if args.code != 0 || stdin.code != 0 {
		t.Fatalf("lookup: %d %d\n%s%s", args.code, stdin.code, args.stderr, stdin.stderr)
	}
	if !strings.Contains(stdin.stderr, "merged IPv4 table built") || strings.Contains(args.stderr, "merged IPv4 table built") {
		t.Errorf("the merged table should be built for standard input only:\nargs: %s\nstdin: %s", args.stderr, stdin.stderr)
	}
	if args.stdout != stdin.stdout {
		a, b := strings.Split(args.stdout, "\n"), strings.Split(stdin.stdout, "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("line %d differs:\nper source: %s\nmerged:     %s", i+1, a[i], b[i])
			}
		}
		t.Fatalf("outputs differ in length: %d vs %d lines", len(a), len(b))
	}
}
