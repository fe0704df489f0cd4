package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDataUpdate: a newer Shadowserver schema downloaded from a loopback
// server replaces the built-in one without a rebuild, and a download that
// is not a schema leaves the current file in place.
func TestDataUpdate(t *testing.T) {
	embedded := filepath.Join("..", "parse", "shadowserver", "schema", "intelmq.json")
	orig, err := os.ReadFile(embedded)
	if err != nil {
		t.Fatal(err)
	}
	// The "newer" schema knows a report type the built-in one does not.
	var schema map[string]json.RawMessage
	if err := json.Unmarshal(orig, &schema); err != nil {
		t.Fatal(err)
	}
	var ssh map[string]any
	if err := json.Unmarshal(schema["scan_ssh"], &ssh); err != nil {
		t.Fatal(err)
	}
	ssh["file_name"] = "scan_tocsintest"
	schema["scan_tocsintest"], _ = json.Marshal(ssh)
	newer, _ := json.Marshal(schema)

	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()

	data := t.TempDir()
	report := filepath.Join(t.TempDir(), "2026-11-24-scan_tocsintest-test.csv")
	os.WriteFile(report, []byte("timestamp,ip,port\n2026-11-24 01:02:03,192.0.2.1,22\n"), 0o644)

	if r := run(t, data, nil, "ingest", report); r.code != 1 || !strings.Contains(r.stderr, "scan_tocsintest") {
		t.Fatalf("before the update: exit %d, %s", r.code, r.stderr)
	}
	body = newer
	r := run(t, data, nil, "data", "update", "--shadowserver-url", srv.URL+"/schema")
	if r.code != 0 || !strings.Contains(r.stdout, "171 report types") {
		t.Fatalf("update: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, data, nil, "ingest", "--json", report); r.code != 0 || ingestJSON(t, r).Events != 1 {
		t.Fatalf("after the update: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	body = []byte("<html>rate limited</html>")
	r = run(t, data, nil, "data", "update", "--shadowserver-url", srv.URL+"/schema")
	if r.code != 1 || !strings.Contains(r.stderr, "kept the current one") {
		t.Errorf("bad download: exit %d, %s", r.code, r.stderr)
	}
	saved, _ := os.ReadFile(schemaPath(data))
	if !bytes.Equal(saved, newer) {
		t.Error("a bad download replaced the schema")
	}
}

// TestConfiguredFeeds: plain lists and generic CSV need a feed in the
// config; with one, they ingest end to end.
func TestConfiguredFeeds(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tocsin.yaml")
	os.WriteFile(cfg, []byte(`feeds:
  - name: partner-scanners
    format: list
    provider: Partner CERT
    classification: {type: scanner}
    tlp: amber
  - name: partner-csv
    format: csv
    classification: {type: infected-system}
    csv:
      header: true
      columns: {"Source IP": source.ip, "Port": source.port, "Seen": time.source, "Family": malware.name}
`), 0o644)
	list := filepath.Join(dir, "scanners.txt")
	os.WriteFile(list, []byte("# scanners seen by our partner\n192.0.2.10\n198.51.100.0/24\nnot an address at all!\n"), 0o644)
	csvFile := filepath.Join(dir, "infected.csv")
	os.WriteFile(csvFile, []byte("Source IP,Port,Seen,Family\n192.0.2.20,443,2026-11-23 10:00:00,Emotet\n192.0.2.21,99999,2026-11-23 10:00:00,Qakbot\n"), 0o644)

	data := t.TempDir()
	r := run(t, data, nil, "ingest", "--config", cfg, "--json", "--feed", "partner-scanners", list)
	if res := ingestJSON(t, r); r.code != 0 || res.Events != 2 || res.Quarantined != 1 {
		t.Errorf("list: exit %d %+v %s", r.code, res, r.stderr)
	}
	r = run(t, data, nil, "ingest", "--config", cfg, "--json", "--feed", "partner-csv", csvFile)
	if res := ingestJSON(t, r); r.code != 0 || res.Events != 1 || res.Quarantined != 1 {
		t.Errorf("csv: exit %d %+v %s", r.code, res, r.stderr)
	}
	ev := run(t, data, nil, "events", "--config", cfg, "--json", "--feed", "partner-csv")
	if !strings.Contains(ev.stdout, `"malware.name":"emotet"`) || !strings.Contains(ev.stdout, `"time.source":"2026-11-23T10:00:00+00:00"`) {
		t.Errorf("csv event: %s", ev.stdout)
	}
	ev = run(t, data, nil, "events", "--config", cfg, "--json", "--feed", "partner-scanners")
	if !strings.Contains(ev.stdout, `"tlp":"AMBER"`) || !strings.Contains(ev.stdout, `"source.network":"198.51.100.0/24"`) {
		t.Errorf("list events: %s", ev.stdout)
	}
	q := run(t, data, nil, "quarantine", "list", "--config", cfg)
	if !strings.Contains(q.stdout, "scanners.txt:4") || !strings.Contains(q.stdout, "infected.csv:3") {
		t.Errorf("quarantine:\n%s", q.stdout)
	}
	// Without the config, the feed is unknown, and the error says what to do.
	if r := run(t, data, nil, "ingest", "--feed", "partner-csv", csvFile); r.code != 1 || !strings.Contains(r.stderr, "feeds:") {
		t.Errorf("unknown feed: exit %d, %s", r.code, r.stderr)
	}
}

// TestProgressBar draws on a terminal for a report that takes a moment.
func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := newProgressBar(&b)
	p.Start("big.csv", 1000)
	p.start = p.start.Add(-time.Second)
	p.Advance(500, 12345)
	p.Done()
	out := b.String()
	if !strings.Contains(out, "big.csv") || !strings.Contains(out, " 50%") || !strings.Contains(out, "12345 events") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress output %q", out)
	}
	b.Reset()
	p.Start("quick.csv", 10)
	p.Advance(10, 1)
	p.Done()
	if b.Len() != 0 {
		t.Errorf("a quick report drew %q", b.String())
	}
}

// TestHoneypotAndAbuseCh: the other built-in feeds ingest end to end from
// the command line, compressed too.
func TestHoneypotAndAbuseCh(t *testing.T) {
	data := t.TempDir()
	cowrie := filepath.Join("..", "parse", "cowrie", "testdata", "ssh-brute-force", "input.json")
	r := run(t, data, nil, "ingest", "--json", "--feed", "cowrie", cowrie)
	if res := ingestJSON(t, r); r.code != 0 || res.Events == 0 || res.Quarantined != 0 {
		t.Fatalf("cowrie: exit %d %+v %s", r.code, res, r.stderr)
	}
	ev := run(t, data, nil, "events", "--json", "--feed", "cowrie")
	if !strings.Contains(ev.stdout, `"classification.type":"brute-force"`) || !strings.Contains(ev.stdout, `"protocol.application":"ssh"`) {
		t.Errorf("cowrie events: %s", ev.stdout)
	}
	feodo := filepath.Join(sharedData, "feeds", "abusech", "feodotracker_ipblocklist.2024-04-04.csv")
	if _, err := os.Stat(feodo); err != nil {
		t.Skipf("needs %s: %v", feodo, err)
	}
	r = run(t, data, nil, "ingest", "--json", "--feed", "abusech-feodo", feodo)
	if res := ingestJSON(t, r); r.code != 0 || res.Events != 28 || res.Quarantined != 0 {
		t.Errorf("feodo: exit %d %+v %s", r.code, res, r.stderr)
	}
	ev = run(t, data, nil, "events", "--json", "--feed", "abusech-feodo", "--limit", "1")
	if !strings.Contains(ev.stdout, `"classification.type":"c2-server"`) {
		t.Errorf("feodo event: %s", ev.stdout)
	}
}

// TestDataUpdateEnrichment: data update downloads the AS table, the country
// database and the Public Suffix List the config names, from a loopback
// server, and refuses a broken download without losing the current data.
func TestDataUpdateEnrichment(t *testing.T) {
	tsv := filepath.Join(sharedData, "ipdb", "iptoasn-excerpt", "ip2asn-v4.excerpt.tsv")
	psl := filepath.Join(sharedData, "dns", "publicsuffix", "public_suffix_list.dat")
	for _, f := range []string{tsv, psl} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("needs %s: %v", f, err)
		}
	}
	files := map[string]string{
		"/schema":   filepath.Join("..", "parse", "shadowserver", "schema", "intelmq.json"),
		"/asn.tsv":  tsv,
		"/geo.mmdb": filepath.Join("..", "enrich", "geo", "testdata", "maxmind", "GeoIP2-Country-Test.mmdb"),
		"/psl.dat":  psl,
		"/broken":   filepath.Join("..", "enrich", "geo", "testdata", "maxmind", "MaxMind-DB-test-broken-search-tree-24.mmdb"),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, f)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tocsin.yaml")
	write := func(geo string) {
		os.WriteFile(cfg, []byte("shadowserver:\n  schema_url: "+srv.URL+"/schema\nenrichment:\n  asn_urls: ["+srv.URL+"/asn.tsv]\n  geo_url: "+srv.URL+geo+"\n  psl_url: "+srv.URL+"/psl.dat\n"), 0o644)
	}
	write("/geo.mmdb")
	data := t.TempDir()
	r := run(t, data, nil, "data", "update", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("update: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, p := range []string{asnPath(data), geoPath(data), pslPath(data)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not saved: %v", err)
		}
	}
	if l := run(t, data, nil, "lookup", "--json", "8.8.8.8", "81.2.69.160"); !strings.Contains(l.stdout, `"asn":15169`) || !strings.Contains(l.stdout, `"cc":"GB"`) {
		t.Errorf("lookup after update: %s %s", l.stdout, l.stderr)
	}
	before, _ := os.ReadFile(geoPath(data))
	write("/broken")
	if r := run(t, data, nil, "data", "update", "--config", cfg); r.code != 1 || !strings.Contains(r.stderr, "current database is kept") {
		t.Errorf("broken download: exit %d, %s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(geoPath(data)); !bytes.Equal(before, after) {
		t.Error("a broken download replaced the country database")
	}
}
