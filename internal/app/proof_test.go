package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/dnstest"
)

// TestOwnershipProof: self-registered assets get no events until their
// owner proves it holds them — a domain by a DNS TXT record served by a
// real DNS server (knotd), a network by a link mailed to its RIPE abuse-c
// (an outbox file) and followed with 'constituents confirm'.
func TestOwnershipProof(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	dump := filepath.Join("..", "constituency", "ripe", "testdata", "mixed.rpsl")
	if r := run(t, data, nil, "constituents", "import", "ripe", "--country", "SE", dump); r.code != 0 {
		t.Fatalf("import ripe: exit %d %s", r.code, r.stderr)
	}
	const org = "manual:selfreg"
	r := run(t, data, nil, "constituents", "add", "--id", "selfreg", "--name", "Self Registered AB", "--unconfirmed",
		"--asset", "192.0.2.128/25", "--asset", "198.18.0.0/15", "--asset", "right.test", "--asset", "wrong.test", "--asset", "none.test")
	if r.code != 0 || !strings.Contains(r.stdout, "unconfirmed") {
		t.Fatalf("add --unconfirmed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// show says what is unconfirmed and how to confirm it.
	show := run(t, data, nil, "constituents", "show", "selfreg").stdout
	for _, want := range []string{
		"network 192.0.2.128/25 of manual:selfreg (manual)",
		"UNCONFIRMED",
		"tocsin constituents request-confirmation manual:selfreg 192.0.2.128/25",
		"tocsin constituents challenge manual:selfreg right.test",
		"tocsin constituents verify manual:selfreg right.test",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	var shown struct {
		Assets []struct {
			Asset     string
			Confirmed bool
			Confirm   string
		}
	}
	json.Unmarshal([]byte(run(t, data, nil, "constituents", "show", "--json", "selfreg").stdout), &shown)
	if len(shown.Assets) != 5 || shown.Assets[0].Confirmed || shown.Assets[0].Confirm == "" {
		t.Errorf("show --json: %+v", shown.Assets)
	}

	// Before any proof: no event is attributed to the organisation; the
	// network's events go to the RIPE holder of the enclosing /24.
	cfg := filepath.Join(dir, "tocsin.yaml")
	os.WriteFile(cfg, []byte("feeds:\n  - name: partner\n    format: list\n    classification: {type: infected-system}\n"), 0o644)
	ingest := func(name string, lines ...string) {
		t.Helper()
		f := filepath.Join(dir, name)
		os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		if r := run(t, data, nil, "ingest", "--config", cfg, "--feed", "partner", f); r.code != 0 {
			t.Fatalf("ingest %s: exit %d %s", name, r.code, r.stderr)
		}
	}
	orgEvents := func() string {
		t.Helper()
		r := run(t, data, nil, "events", "--config", cfg, "--json", "--org", org)
		if r.code != 0 {
			t.Fatalf("events --org: exit %d %s", r.code, r.stderr)
		}
		return r.stdout
	}
	ingest("before.txt", "192.0.2.200", "www.right.test", "198.18.0.1")
	if ev := orgEvents(); ev != "" {
		t.Errorf("events of unconfirmed assets were attributed to %s:\n%s", org, ev)
	}
	if ev := run(t, data, nil, "events", "--config", cfg, "--json").stdout; !strings.Contains(ev, `"extra.source.org":"ripe:`) {
		t.Errorf("192.0.2.200 is not the RIPE holder's:\n%s", ev)
	}
	if l := run(t, data, nil, "lookup", "--json", "192.0.2.200", "www.right.test").stdout; strings.Contains(l, org) {
		t.Errorf("lookup attributes an unconfirmed asset:\n%s", l)
	}

	// The DNS challenge: the records to publish, served by knotd.
	challenge := func(domain string) (name, value string) {
		t.Helper()
		r := run(t, data, nil, "constituents", "challenge", "--json", org, domain)
		var c struct{ Name, Value, Record string }
		if err := json.Unmarshal([]byte(r.stdout), &c); r.code != 0 || err != nil {
			t.Fatalf("challenge %s: exit %d %s%s", domain, r.code, r.stdout, r.stderr)
		}
		if c.Name != "_tocsin-challenge."+domain+"." || c.Record != c.Name+` TXT "`+c.Value+`"` {
			t.Errorf("challenge %s: %+v", domain, c)
		}
		return c.Name, c.Value
	}
	_, right := challenge("right.test")
	_, wrongDomains := challenge("wrong.test")
	challenge("none.test")
	if plain := run(t, data, nil, "constituents", "challenge", "selfreg", "right.test").stdout; plain != `_tocsin-challenge.right.test. TXT "`+right+`"`+"\n" {
		t.Errorf("challenge prints %q", plain)
	}
	if fi, err := os.Stat(filepath.Join(data, "proof.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("proof.key: %v %v", fi, err)
	}
	srv := dnstest.Start(t, map[string]string{
		"right.test": dnstest.Zone("right.test", `_tocsin-challenge TXT "`+right+`"`, `www A 192.0.2.1`),
		// right.test's record does not prove wrong.test.
		"wrong.test": dnstest.Zone("wrong.test", `_tocsin-challenge TXT "`+right+`"`),
		"none.test":  dnstest.Zone("none.test", `www A 192.0.2.1`),
	})
	tests := []struct {
		domain string
		code   int
		say    []string
	}{
		{"wrong.test", 1, []string{"_tocsin-challenge.wrong.test.", right, wrongDomains}},
		{"none.test", 1, []string{"no TXT record at _tocsin-challenge.none.test."}},
		{"right.test", 0, []string{"confirmed: manual:selfreg holds right.test"}},
		{"example-energy.test", 1, []string{"register it first"}},
	}
	for _, tt := range tests {
		r := run(t, data, nil, "constituents", "verify", "--resolver", srv.Addr, "selfreg", tt.domain)
		if r.code != tt.code {
			t.Errorf("verify %s: exit %d, want %d\n%s%s", tt.domain, r.code, tt.code, r.stdout, r.stderr)
		}
		for _, s := range tt.say {
			if !strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("verify %s does not say %q:\n%s%s", tt.domain, s, r.stdout, r.stderr)
			}
		}
	}

	// The network: a link to the RIPE abuse-c of the /24 around it.
	r = run(t, data, nil, "constituents", "request-confirmation", "--base-url", "https://cert.example/tocsin/", org, "192.0.2.128/25")
	if r.code != 0 || !strings.Contains(r.stdout, "abuse@example.se") {
		t.Fatalf("request-confirmation: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mails, _ := filepath.Glob(filepath.Join(data, "outbox", "*.eml"))
	if len(mails) != 1 {
		t.Fatalf("outbox holds %v", mails)
	}
	msg, _ := os.ReadFile(mails[0])
	if !strings.HasPrefix(string(msg), "From: noreply@cert.example\r\n") {
		t.Errorf("mail is not from noreply@ the base URL's host:\n%s", msg)
	}
	for _, want := range []string{"\r\nTo: ", "abuse@example.se", "\r\nSubject: =?utf-8?q?Confirm_that_Self_Registered_AB_holds_192.0.2.128/25_",
		"ripe:ORG-EXS1-RIPE"} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("mail lacks %q:\n%s", want, msg)
		}
	}
	link := regexp.MustCompile(`https://cert\.example/tocsin/confirm/[A-Za-z0-9_.-]+`).FindString(string(msg))
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", msg)
	}
	// No RIPE data holds 198.18.0.0/15: no one to ask.
	r = run(t, data, nil, "constituents", "request-confirmation", "--base-url", "https://cert.example", org, "198.18.0.0/15")
	if r.code != 1 || !strings.Contains(r.stderr, "no RIPE abuse-c known for 198.18.0.0/15") {
		t.Errorf("request-confirmation without abuse-c: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, data, nil, "constituents", "request-confirmation", org, "192.0.2.128/25"); r.code != 2 || !strings.Contains(r.stderr, "--base-url") {
		t.Errorf("request-confirmation without a base URL: exit %d %s", r.code, r.stderr)
	}

	// A forged link confirms nothing; the real one does, once.
	forged := link[:len(link)-4] + "AAAA"
	if r := run(t, data, nil, "constituents", "confirm", forged); r.code != 1 || !strings.Contains(r.stderr, "not a valid confirmation token") {
		t.Errorf("confirm forged: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, data, nil, "constituents", "confirm", link); r.code != 0 || !strings.Contains(r.stdout, "confirmed: manual:selfreg holds 192.0.2.128/25") {
		t.Fatalf("confirm: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, data, nil, "constituents", "confirm", link); r.code != 0 || !strings.Contains(r.stdout, "already confirmed") {
		t.Errorf("confirm again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// After the proofs, new events are the organisation's; the
	// unconfirmed 198.18.0.0/15 still gets none. (Events seen before keep
	// the owner they had.)
	ingest("after.txt", "192.0.2.201", "mail.right.test", "198.18.0.2")
	ev := orgEvents()
	if !strings.Contains(ev, `"source.ip":"192.0.2.201"`) || !strings.Contains(ev, `"source.fqdn":"mail.right.test"`) || strings.Count(ev, "\n") != 2 {
		t.Errorf("events of %s after confirmation:\n%s", org, ev)
	}
	// The contact chain's abuse@ of the organisation's domains takes only
	// the confirmed ones.
	if strings.Contains(ev, "wrong.test") || strings.Contains(ev, "none.test") {
		t.Errorf("an unconfirmed domain is a contact:\n%s", ev)
	}
	show = run(t, data, nil, "constituents", "show", "selfreg").stdout
	if strings.Count(show, "UNCONFIRMED") != 3 { // 198.18.0.0/15, wrong.test, none.test
		t.Errorf("show after confirmation:\n%s", show)
	}
}
