package render

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/shadowserver"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	testDate   = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	testSender = Sender{Name: "CERT-Example", Email: "cert@cert.example.org", URL: "https://cert.example.org/", Phone: "+46 8 555 000 00"}
)

// keep is a parse.Output that keeps a copy of every event.
type keep struct {
	t      testing.TB
	events []*event.Event
}

func (k *keep) Event(e *event.Event, line int) error {
	var c event.Event
	if err := c.UnmarshalJSON(e.AppendJSON(nil)); err != nil {
		k.t.Fatalf("line %d: %v", line, err)
	}
	k.events = append(k.events, &c)
	return nil
}

func (k *keep) Reject(line int, raw []byte, reason error) error {
	k.t.Fatalf("line %d rejected: %v: %s", line, reason, raw)
	return nil
}

// shadowserverEvents parses the sample rows in testdata/shadowserver with
// the real parser, in a fixed order.
func shadowserverEvents(t testing.TB) []*event.Event {
	t.Helper()
	p := shadowserver.New(shadowserver.Embedded())
	f := feed.Builtin()["shadowserver"]
	out := &keep{t: t}
	for _, name := range []string{"event4_sinkhole_http.csv", "compromised_website.csv", "malware_url.csv",
		"scan_http_vulnerable.csv", "scan_dns.csv", "scan_ntp.csv", "event4_honeypot_brute_force.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", "shadowserver", name))
		if err != nil {
			t.Fatal(err)
		}
		in := parse.Input{R: bytes.NewReader(b), Name: name, Feed: f, Now: testDate.Add(-time.Hour)}
		if err := p.Parse(context.Background(), in, out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return out.events
}

// build makes an event from name/value pairs with event.Set.
func build(t testing.TB, kv ...string) *event.Event {
	t.Helper()
	e := &event.Event{}
	for i := 0; i < len(kv); i += 2 {
		if err := e.Set(kv[i], kv[i+1]); err != nil {
			t.Fatalf("%s: %v", kv[i], err)
		}
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	return e
}

// digest is a mixed notification: the Shadowserver samples, a phishing
// URL from OpenPhish, a Feodo Tracker C2 and a blocklist entry.
func digest(t testing.TB) *Data {
	t.Helper()
	evs := shadowserverEvents(t)
	evs = append(evs,
		build(t, "feed.name", "openphish", "feed.provider", "OpenPhish", "feed.documentation", "https://openphish.com/",
			"classification.type", "phishing", "source.url", "https://login.example-bank.test/secure/verify.php?id=4711",
			"source.fqdn", "login.example-bank.test", "source.ip", "192.0.2.77", "time.source", "2026-11-23T22:10:00Z"),
		build(t, "feed.name", "abusech-feodo", "feed.provider", "abuse.ch", "classification.type", "c2-server",
			"source.ip", "198.51.100.23", "source.port", "443", "malware.name", "QakBot", "time.source", "2026-11-23T12:00:00Z"),
		build(t, "feed.name", "spamhaus-drop", "feed.provider", "Spamhaus", "feed.documentation", "https://www.spamhaus.org/blocklists/do-not-route-or-peer/",
			"classification.type", "blacklist", "classification.identifier", "spamhaus-drop", "source.network", "203.0.113.0/24"),
	)
	d := &Data{Ident: "TOCSIN-20261124-000123", Date: testDate, OrgID: "org-42", OrgName: "Example AB",
		Recipient: "abuse@example.se", Sender: testSender}
	for i, e := range evs {
		first := testDate.Add(-time.Duration(48-i) * time.Hour)
		d.Items = append(d.Items, Item{ID: int64(1000 + i), Event: e, Count: int64(1 + i%3), FirstSeen: first, LastSeen: first.Add(time.Duration(i) * time.Hour)})
	}
	return d
}

// golden compares got with the file at path, or writes it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs at line %d (run go test -update if the change is right):\ngot  %q\nwant %q", path, i+1, g, w)
		}
	}
}

func mustNew(t testing.TB, dir string) *Renderer {
	t.Helper()
	r, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
