package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConstituency: a RIPE import and manual entries make the constituency;
// lookups and ingested events find the owner and the contact chain, manual
// entries first; a re-import changes nothing and never touches manual data.
func TestConstituency(t *testing.T) {
	data := t.TempDir()
	dump := filepath.Join("..", "constituency", "ripe", "testdata", "mixed.rpsl")
	r := run(t, data, nil, "constituents", "import", "ripe", "--country", "SE", "--json", dump)
	if r.code != 0 {
		t.Fatalf("import ripe: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var imp struct {
		Assets struct{ Added int }
	}
	json.Unmarshal([]byte(r.stdout), &imp)
	if imp.Assets.Added == 0 {
		t.Fatalf("import added no assets: %s", r.stdout)
	}
	again := run(t, data, nil, "constituents", "import", "ripe", "--country", "SE", dump)
	if !strings.Contains(again.stdout, "assets:        0 added, 0 changed, 0 removed") {
		t.Errorf("re-import changed something:\n%s", again.stdout)
	}

	dir := t.TempDir()
	manual := filepath.Join(dir, "constituents.yaml")
	os.WriteFile(manual, []byte(`organisations:
  - id: example-energy
    name: Example Energi AB
    sector: energy
    country: se
    languages: [sv, en]
    contacts: [{email: CERT@example-energy.se}]
    assets: [192.0.2.128/25, AS64500, example-energy.se]
`), 0o644)
	if r := run(t, data, nil, "constituents", "import", manual); r.code != 0 {
		t.Fatalf("import manual: exit %d %s", r.code, r.stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("organisations:\n  - id: x\n    name: X\n    asets: [192.0.2.0/24]\n"), 0o644)
	if r := run(t, data, nil, "constituents", "import", bad); r.code != 1 || !strings.Contains(r.stderr, "asets") {
		t.Errorf("unknown key: exit %d, %s", r.code, r.stderr)
	}

	r = run(t, data, nil, "lookup", "--json", "192.0.2.200", "192.0.2.5", "www.example-energy.se", "AS64500")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 4 {
		t.Fatalf("lookup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The manual /25 is more specific than the RIPE /24.
	if !strings.Contains(lines[0], `"org":{"id":"manual:example-energy","name":"Example Energi AB"}`) || !strings.Contains(lines[0], `{"email":"cert@example-energy.se","source":"manual"}`) {
		t.Errorf("192.0.2.200: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"org":{"id":"ripe:`) || !strings.Contains(lines[1], `"source":"ripe"`) {
		t.Errorf("192.0.2.5 should be the RIPE holder's, with its abuse-c: %s", lines[1])
	}
	if !strings.Contains(lines[2], `"manual:example-energy"`) || !strings.HasSuffix(lines[2], `{"email":"abuse@example-energy.se","source":"rfc2142"}]}`) {
		t.Errorf("domain: %s", lines[2])
	}
	if !strings.Contains(lines[3], `"manual:example-energy"`) {
		t.Errorf("AS64500: %s", lines[3])
	}

	// Ingested events carry their owner and its best contact.
	cfg := filepath.Join(dir, "tocsin.yaml")
	os.WriteFile(cfg, []byte("feeds:\n  - name: partner\n    format: list\n    classification: {type: infected-system}\n"), 0o644)
	list := filepath.Join(dir, "infected.txt")
	os.WriteFile(list, []byte("192.0.2.200\n198.51.100.20\n"), 0o644)
	if r := run(t, data, nil, "ingest", "--config", cfg, "--feed", "partner", list); r.code != 0 {
		t.Fatalf("ingest: %s", r.stderr)
	}
	ev := run(t, data, nil, "events", "--config", cfg, "--json").stdout
	if !strings.Contains(ev, `"extra.source.org":"manual:example-energy"`) || !strings.Contains(ev, `"source.abuse_contact":"cert@example-energy.se"`) {
		t.Errorf("events lack the owner:\n%s", ev)
	}

	byOrg := run(t, data, nil, "events", "--config", cfg, "--json", "--org", "example-energy").stdout
	if n := strings.Count(byOrg, "\n"); n != 1 || !strings.Contains(byOrg, "192.0.2.200") {
		t.Errorf("--org example-energy printed %d events:\n%s", n, byOrg)
	}

	show := run(t, data, nil, "constituents", "show", "example-energy")
	for _, want := range []string{"Example Energi AB", "192.0.2.128/25", "AS64500", "example-energy.se", "cert@example-energy.se"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("show lacks %s:\n%s", want, show.stdout)
		}
	}
	// A RIPE re-import leaves manual data alone; remove takes it away.
	run(t, data, nil, "constituents", "import", "ripe", "--country", "SE", dump)
	if l := run(t, data, nil, "constituents", "list"); !strings.Contains(l.stdout, "manual:example-energy") {
		t.Errorf("manual organisation gone after a re-import:\n%s", l.stdout)
	}
	if r := run(t, data, nil, "constituents", "remove", "example-energy"); r.code != 0 {
		t.Errorf("remove: %s", r.stderr)
	}
	ripeID := strings.SplitN(strings.SplitN(lines[1], `"org":{"id":"`, 2)[1], `"`, 2)[0]
	if r := run(t, data, nil, "constituents", "remove", ripeID); r.code != 1 || !strings.Contains(r.stderr, "import it again") {
		t.Errorf("removing an imported organisation: exit %d, %s", r.code, r.stderr)
	}
}

// TestLookupSecurityTxt: the contact chain of a domain includes its
// security.txt (RFC 9116), fetched over HTTPS from a loopback server.
func TestLookupSecurityTxt(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/security.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "Contact: mailto:security@example.com\nContact: https://example.com/report\nExpires: 2099-01-01T00:00:00Z\n")
	}))
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	addr := srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		HTTPClient: &http.Client{Transport: tr}}
	t.Setenv("TOCSIN_DATA_DIR", t.TempDir())
	if code := Main(context.Background(), env, []string{"lookup", "--json", "--security-txt", "www.example.com"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := `"contacts":[{"email":"security@example.com","source":"security.txt"},{"email":"abuse@example.com","source":"rfc2142"}]`
	if !strings.Contains(out.String(), want) {
		t.Errorf("lookup printed %s\nwant %s", out.String(), want)
	}
}

// TestManualNotifyPrefs: notification preferences in a manual YAML or CSV
// file are stored with the organisation and shown by show (and show
// --json).
func TestManualNotifyPrefs(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	yml := filepath.Join(dir, "constituents.yaml")
	os.WriteFile(yml, []byte(`organisations:
  - id: energy
    name: Energi AB
    notify: {time_zone: Europe/Stockholm, format: JSON, monthly: true}
  - id: quiet
    name: Quiet AB
    notify:
      opt_out: true
  - id: plain
    name: Plain AB
`), 0o644)
	csvFile := filepath.Join(dir, "constituents.csv")
	os.WriteFile(csvFile, []byte("id,name,sector,country,languages,contacts,assets,monthly,time_zone,format,notify_opt_out\n"+
		"water,Vatten AB,water,SE,sv,cert@water.example,,yes,UTC,xarf,\n"+
		"hush,Hush AB,,,,,,,,,true\n"), 0o644)
	for _, f := range []string{yml, csvFile} {
		if r := run(t, data, nil, "constituents", "import", f); r.code != 0 {
			t.Fatalf("import %s: exit %d %s", f, r.code, r.stderr)
		}
	}
	tests := []struct {
		org  string
		text string // in show's output
		json string // in show --json's
	}{
		{"energy", "notify: yes, time zone Europe/Stockholm, format json, monthly report", `"notify":{"format":"json","monthly":true,"opt_out":false,"time_zone":"Europe/Stockholm"}`},
		{"quiet", "notify: no (opted out", `"notify":{"format":"","monthly":false,"opt_out":true,"time_zone":""}`},
		{"plain", "notify: yes, time zone the CSIRT's, format the route's\n", `"notify":{"format":"","monthly":false,"opt_out":false,"time_zone":""}`},
		{"water", "notify: yes, time zone UTC, format xarf, monthly report", `"notify":{"format":"xarf","monthly":true,"opt_out":false,"time_zone":"UTC"}`},
		{"hush", "notify: no (opted out", `"opt_out":true`},
	}
	for _, tt := range tests {
		if s := run(t, data, nil, "constituents", "show", tt.org).stdout; !strings.Contains(s, tt.text) {
			t.Errorf("show %s lacks %q:\n%s", tt.org, tt.text, s)
		}
		if s := run(t, data, nil, "constituents", "show", "--json", tt.org).stdout; !strings.Contains(s, tt.json) {
			t.Errorf("show --json %s lacks %s:\n%s", tt.org, tt.json, s)
		}
	}
}

// TestManualNotifyPrefsErrors: a bad preference fails the whole file
// with an error that names the file, the organisation and what to write.
func TestManualNotifyPrefsErrors(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	tests := []struct {
		name, text string
		say        []string
	}{
		{"zone.yaml", "organisations:\n  - id: energy\n    name: Energi AB\n    notify: {time_zone: Europe/Stokholm}\n",
			[]string{"zone.yaml", "energy", `time_zone "Europe/Stokholm" is not an IANA time zone`}},
		{"format.yaml", "organisations:\n  - id: energy\n    name: Energi AB\n    notify: {format: pdf}\n",
			[]string{"format.yaml", "energy", `format "pdf": use csv, json or xarf`}},
		{"key.yaml", "organisations:\n  - id: energy\n    name: Energi AB\n    notify: {optout: true}\n",
			[]string{"key.yaml", "optout"}},
		{"zone.csv", "id,name,sector,country,languages,contacts,assets,time_zone\nenergy,Energi AB,,,,,,Mars/Olympus\n",
			[]string{"zone.csv:2", "energy", `"Mars/Olympus"`}},
		{"bool.csv", "id,name,sector,country,languages,contacts,assets,monthly\nenergy,Energi AB,,,,,,maybe\n",
			[]string{"bool.csv:2", "energy", `monthly "maybe": use true or false`}},
		{"column.csv", "id,name,sector,country,languages,contacts,assets,timezone\n",
			[]string{"column.csv", `"timezone"`, "notify_opt_out,time_zone,format,monthly"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(dir, tt.name)
			os.WriteFile(f, []byte(tt.text), 0o644)
			r := run(t, data, nil, "constituents", "import", f)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1: %s%s", r.code, r.stdout, r.stderr)
			}
			for _, s := range tt.say {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("error %q does not say %q", r.stderr, s)
				}
			}
		})
	}
	if l := run(t, data, nil, "constituents", "list").stdout; strings.Contains(l, "energy") {
		t.Errorf("a file with an error stored something:\n%s", l)
	}
}

// TestManualImportBadEntry: one bad organisation in a file stores the
// others and names the bad one (the batch is redone one by one).
func TestManualImportBadEntry(t *testing.T) {
	data := t.TempDir()
	f := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(f, []byte(`organisations:
  - {id: good-1, name: Good One, contacts: [{email: a@one.example}], assets: [192.0.2.0/25]}
  - {id: bad, name: Bad, contacts: [{email: not-an-address}], assets: [192.0.2.128/25]}
  - {id: good-2, name: Good Two, assets: [AS64500]}
`), 0o644)
	r := run(t, data, nil, "constituents", "import", f)
	if r.code != 1 || !strings.Contains(r.stderr, "manual:bad") || !strings.Contains(r.stdout, "2 organisations") {
		t.Fatalf("import: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	l := run(t, data, nil, "constituents", "list")
	if !strings.Contains(l.stdout, "manual:good-1") || !strings.Contains(l.stdout, "manual:good-2") {
		t.Errorf("the good organisations are missing:\n%s", l.stdout)
	}
}
