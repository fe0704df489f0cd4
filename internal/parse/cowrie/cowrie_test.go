package cowrie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/parsetest"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

var harness = parsetest.Harness{Now: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}

func parseString(t testing.TB, p parse.Parser, input string) *parsetest.Collector {
	t.Helper()
	c, err := harness.Run(t, p, "cowrie", "cowrie.json", []byte(input), true)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestGolden(t *testing.T) {
	parsetest.GoldenDirs(t, "testdata/*/input.json", func(t *testing.T, _ string, input []byte) *parsetest.Collector {
		return parseString(t, New(), string(input))
	})
}

// TestBOM checks that a byte order mark before the first line is no part
// of it.
func TestBOM(t *testing.T) {
	c := parseString(t, New(), "\uFEFF"+`{"eventid":"cowrie.session.connect","src_ip":"192.0.2.1","session":"s1","timestamp":"2026-01-01T00:00:00Z"}`)
	if len(c.Events) != 1 || len(c.Rejects) != 0 {
		t.Errorf("events %v, rejects %v; want one event", c.Events, c.Rejects)
	}
}

func decode(t *testing.T, ev string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(ev), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSessionEvent(t *testing.T) {
	input, err := os.ReadFile("testdata/ssh-brute-force/input.json")
	if err != nil {
		t.Fatal(err)
	}
	c := parseString(t, New(), string(input))
	if len(c.Events) != 3 || len(c.Rejects) != 0 {
		t.Fatalf("got %d events, %d rejects, want 3 and 0: %v", len(c.Events), len(c.Rejects), c.Rejects)
	}
	// Events come out as their sessions close, each with the line of its
	// session's first record.
	if want := []int{1, 10, 4}; fmt.Sprint(c.Lines) != fmt.Sprint(want) {
		t.Errorf("lines = %v, want %v", c.Lines, want)
	}
	bf := decode(t, c.Events[0])
	for k, want := range map[string]any{
		"classification.taxonomy": "intrusion-attempts", "classification.type": "brute-force",
		"source.ip": "198.51.100.23", "source.port": 40102.0, "destination.port": 2222.0,
		"protocol.application": "ssh", "protocol.transport": "tcp",
		"time.source":          "2026-03-02T10:00:00.125000+00:00",
		"extra.login_attempts": 3.0, "extra.login_success": false,
		"extra.client_version": "SSH-2.0-libssh2_1.10.0", "extra.duration": 4.016,
	} {
		if bf[k] != want {
			t.Errorf("%s = %v, want %v", k, bf[k], want)
		}
	}
	if got := fmt.Sprint(bf["extra.usernames"]); got != "[admin ubnt]" {
		t.Errorf("usernames = %s, want [admin ubnt]", got)
	}
	for _, ev := range c.Events {
		if strings.Contains(ev, "123456") || strings.Contains(ev, `"password`) {
			t.Errorf("a password leaked into the event: %s", ev)
		}
	}
	in := decode(t, c.Events[1])
	if in["extra.login_success"] != true || fmt.Sprint(in["extra.download_urls"]) != "[http://malware.example.net/x86 http://203.0.113.99/bins/mips]" {
		t.Errorf("session with login: %s", c.Events[1])
	}
	if n := len(in["extra.download_shasums"].([]any)); n != 2 {
		t.Errorf("download_shasums has %d entries, want 2 (duplicates dropped)", n)
	}
	if n := len(in["extra.commands"].([]any)); n != 2 {
		t.Errorf("commands has %d entries, want 2 (command.failed repeats input)", n)
	}
}

func TestProbeIsScanner(t *testing.T) {
	input, err := os.ReadFile("testdata/probe/input.json")
	if err != nil {
		t.Fatal(err)
	}
	c := parseString(t, New(), string(input))
	if len(c.Events) != 2 {
		t.Fatalf("got %d events, want 2", len(c.Events))
	}
	ssh, telnet := decode(t, c.Events[0]), decode(t, c.Events[1])
	if ssh["classification.type"] != "scanner" || ssh["classification.taxonomy"] != "information-gathering" {
		t.Errorf("probe classified as %v/%v", ssh["classification.taxonomy"], ssh["classification.type"])
	}
	if ssh["protocol.application"] != "ssh" || ssh["extra.client_version"] != "SSH-2.0-Go" {
		t.Errorf("old-style version line: %s", c.Events[0])
	}
	if telnet["protocol.application"] != "telnet" {
		t.Errorf("port 23 without protocol: %s", c.Events[1])
	}
}

func TestRejects(t *testing.T) {
	connect := `{"eventid":"cowrie.session.connect","src_ip":"192.0.2.1","src_port":1,"dst_ip":"192.0.2.2","dst_port":22,"session":"s1","timestamp":"2026-01-01T00:00:00Z"}`
	tests := []struct {
		name   string
		input  string
		events int
		want   []string // "line N: substring of the reason"
	}{
		{"malformed", connect + "\n{\"eventid\":\n", 1, []string{"line 2: not a Cowrie JSON record"}},
		{"not an object", "[1,2]\n" + connect, 1, []string{"line 1: not a Cowrie JSON record"}},
		{"no eventid", `{"session":"s1","src_ip":"192.0.2.1"}` + "\n" + connect, 1, []string{"line 1: the record has no eventid"}},
		{"no session", connect + "\n" + `{"eventid":"cowrie.login.failed","src_ip":"192.0.2.1"}`, 1, []string{"line 2: the cowrie.login.failed record has no session"}},
		{"bad timestamp", `{"eventid":"cowrie.session.connect","src_ip":"192.0.2.1","session":"s1","timestamp":"noon"}`, 0, []string{`line 1: timestamp: "noon" is not a date`}},
		{"bad src_ip", `{"eventid":"cowrie.session.connect","src_ip":"192.0.2.999","session":"s1"}`, 0, []string{`line 1: src_ip: "192.0.2.999" is not an IP address`}},
		{"bad port", `{"eventid":"cowrie.session.connect","src_ip":"192.0.2.1","src_port":65536,"session":"s1"}`, 0, []string{`line 1: cowrie.session.connect: src_port: "65536" is not a port number`}},
		{"port of wrong type", `{"eventid":"cowrie.session.connect","src_ip":"192.0.2.1","src_port":true,"session":"s1"}`, 0, []string{"line 1: not a Cowrie JSON record: field src_port holds a JSON bool"}},
		{"bad duration", connect + "\n" + `{"eventid":"cowrie.session.closed","duration":-1,"session":"s1"}`, 1, []string{"line 2: cowrie.session.closed: duration \"-1\" is not a number of seconds"}},
		{"no source", `{"eventid":"cowrie.login.failed","session":"s9","username":"root"}`, 0, []string{"line 1: session s9 has no src_ip"}},
		{"only the end", `{"eventid":"cowrie.log.closed","session":"s1","src_ip":"192.0.2.1"}` + "\n" + `{"eventid":"cowrie.session.closed","session":"s1","src_ip":"192.0.2.1"}`, 0, []string{"line 1: the session's records name no source and show nothing but its end"}},
		{"long line", connect + "\n" + `{"eventid":"x","pad":"` + strings.Repeat("a", maxLineLen) + `"}` + "\n" + connect, 1, []string{"line 2: line is longer than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseString(t, New(), tt.input)
			if len(c.Events) != tt.events {
				t.Errorf("got %d events, want %d: %v", len(c.Events), tt.events, c.Events)
			}
			if len(c.Rejects) != len(tt.want) {
				t.Fatalf("rejects = %q, want %q", c.Rejects, tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(c.Rejects[i], w) && !strings.Contains(c.Rejects[i], w) {
					t.Errorf("reject %q, want %q", c.Rejects[i], w)
				}
				if prefix, _, _ := strings.Cut(w, ":"); !strings.HasPrefix(c.Rejects[i], prefix+":") {
					t.Errorf("reject %q is not at %s", c.Rejects[i], prefix)
				}
			}
		})
	}
}

// writeSession writes the lines of one short brute-force session.
func writeSession(b *strings.Builder, id, ip string, closed bool) {
	fmt.Fprintf(b, `{"eventid":"cowrie.session.connect","src_ip":%q,"src_port":1024,"session":%q,"protocol":"ssh","timestamp":"2026-01-01T00:00:00Z"}`+"\n", ip, id)
	fmt.Fprintf(b, `{"eventid":"cowrie.login.failed","username":"root","password":"x","src_ip":%q,"session":%q,"timestamp":"2026-01-01T00:00:01Z"}`+"\n", ip, id)
	if closed {
		fmt.Fprintf(b, `{"eventid":"cowrie.session.closed","duration":1,"src_ip":%q,"session":%q,"timestamp":"2026-01-01T00:00:02Z"}`+"\n", ip, id)
	}
}

func TestEvictsOldestSession(t *testing.T) {
	var b strings.Builder
	writeSession(&b, "a", "192.0.2.1", false)
	writeSession(&b, "b", "192.0.2.2", false)
	writeSession(&b, "c", "192.0.2.3", false)
	fmt.Fprintf(&b, `{"eventid":"cowrie.session.closed","src_ip":"192.0.2.3","session":"c"}`+"\n")
	c := parseString(t, &Parser{MaxSessions: 2}, b.String())
	if len(c.Events) != 3 || len(c.Rejects) != 0 {
		t.Fatalf("got %d events and rejects %v, want 3 events", len(c.Events), c.Rejects)
	}
	// a is evicted when c opens; c closes; b is still open at the end.
	var order []string
	for _, ev := range c.Events {
		order = append(order, decode(t, ev)["extra.session"].(string))
	}
	if got := strings.Join(order, ","); got != "a,c,b" {
		t.Errorf("emitted %s, want a,c,b", got)
	}
}

func TestMemoryBudget(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		writeSession(&b, fmt.Sprint("s", i), "192.0.2.1", false)
	}
	p := &Parser{MaxBytes: 4 * sessionOverhead}
	sc := textreport.NewScanner(strings.NewReader(b.String()), maxLineLen)
	r := &run{p: p, in: &parse.Input{Feed: feed.Builtin()["cowrie"], Now: harness.Now}, out: &parsetest.Count{},
		open: map[sessionKey]*session{}, maxSess: DefaultMaxSessions, maxBytes: p.MaxBytes, maxList: DefaultMaxList}
	for sc.Scan() {
		n := sc.Line()
		if err := r.line(sc.Bytes(), n); err != nil {
			t.Fatal(err)
		}
		if r.bytes > p.MaxBytes {
			t.Fatalf("line %d: %d bytes held, more than %d", n, r.bytes, p.MaxBytes)
		}
	}
	if len(r.open) > 4 {
		t.Errorf("%d sessions open, want at most 4", len(r.open))
	}
}

func TestListCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"eventid":"cowrie.session.connect","src_ip":"192.0.2.1","session":"s","timestamp":"2026-01-01T00:00:00Z"}` + "\n")
	for i := range 10 {
		fmt.Fprintf(&b, `{"eventid":"cowrie.login.failed","username":"user%d","src_ip":"192.0.2.1","session":"s"}`+"\n", i)
		fmt.Fprintf(&b, `{"eventid":"cowrie.command.input","input":%q,"src_ip":"192.0.2.1","session":"s"}`+"\n", strings.Repeat("é", maxItemLen))
	}
	c := parseString(t, &Parser{MaxList: 3}, b.String())
	if len(c.Events) != 1 {
		t.Fatalf("got %d events", len(c.Events))
	}
	m := decode(t, c.Events[0])
	if n := len(m["extra.usernames"].([]any)); n != 3 {
		t.Errorf("%d usernames kept, want 3", n)
	}
	if m["extra.login_attempts"] != 10.0 || m["extra.truncated"] != true {
		t.Errorf("attempts %v truncated %v, want 10 and true", m["extra.login_attempts"], m["extra.truncated"])
	}
	cmd := m["extra.commands"].([]any)[0].(string)
	if len(cmd) > maxItemLen || !strings.HasPrefix(strings.Repeat("é", maxItemLen), cmd) {
		t.Errorf("command cut badly: %d bytes", len(cmd))
	}
	if raw := c.Raws; len(raw) != 0 {
		t.Errorf("unexpected rejects %v", c.Rejects)
	}
}

// failing is an Output whose Event fails, to check that Parse stops.
type failing struct{ parsetest.Count }

var errStop = errors.New("stop")

func (f *failing) Event(*event.Event, int) error { return errStop }

func TestOutputErrorStops(t *testing.T) {
	var b strings.Builder
	writeSession(&b, "a", "192.0.2.1", true)
	writeSession(&b, "b", "192.0.2.2", true)
	in := parse.Input{R: strings.NewReader(b.String()), Feed: feed.Builtin()["cowrie"], Now: harness.Now}
	if err := New().Parse(context.Background(), in, &failing{}); !errors.Is(err, errStop) {
		t.Errorf("Parse = %v, want errStop", err)
	}
}

func TestBadFeedDefaults(t *testing.T) {
	f := *feed.Builtin()["cowrie"]
	f.TLP = "purple"
	_, err := harness.Parse(t, New(), parse.Input{R: strings.NewReader(""), Feed: &f}, true)
	if err == nil || !strings.Contains(err.Error(), "tlp") {
		t.Errorf("Parse with a bad feed TLP = %v, want an error naming tlp", err)
	}
}

func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*/input.json")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The Collector checks every event.
		if _, err := harness.Run(t, &Parser{MaxSessions: 3, MaxList: 4}, "cowrie", "", b, true); err != nil {
			t.Fatalf("Parse: %v", err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	input, err := os.ReadFile("testdata/ssh-brute-force/input.json")
	if err != nil {
		b.Fatal(err)
	}
	var all bytes.Buffer
	for i := range 200 {
		// Distinct sessions: the same lines with the session ids renamed.
		all.Write(bytes.ReplaceAll(input, []byte(`"session":"`), fmt.Appendf(nil, `"session":"%d-`, i)))
	}
	harness.Bench(b, New(), "cowrie", "", all.Bytes())
	b.ReportMetric(float64(200*bytes.Count(input, []byte("\n"))), "lines/op")
}
