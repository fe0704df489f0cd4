package intelmq

import (
	"bytes"
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
)

var harness = parsetest.Harness{Now: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}

func parseWith(t testing.TB, f *feed.Feed, input []byte) *parsetest.Collector {
	t.Helper()
	c, err := harness.Parse(t, New(), parse.Input{R: bytes.NewReader(input), Name: "events.jsonl", Feed: f}, true)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func builtin() *feed.Feed { return feed.Builtin()["intelmq"] }

// caseFeed returns the feed of a testdata case: feed.json, else the
// built-in intelmq feed.
func caseFeed(t testing.TB, dir string) *feed.Feed {
	path := filepath.Join(dir, "feed.json")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return builtin()
	}
	return parsetest.ReadFeed(t, path)
}

func cases(t testing.TB) []string {
	inputs, err := filepath.Glob("testdata/*/input.*")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata cases: %v", err)
	}
	return inputs
}

func TestGolden(t *testing.T) {
	parsetest.GoldenDirs(t, "testdata/*/input.*", func(t *testing.T, dir string, input []byte) *parsetest.Collector {
		return parseWith(t, caseFeed(t, dir), input)
	})
}

// TestRoundTrip is the contract of the format: what Write writes, Parse
// reads back to the same events, with any feed's defaults.
func TestRoundTrip(t *testing.T) {
	for _, path := range cases(t) {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			input, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first := parseWith(t, caseFeed(t, dir), input)
			if len(first.Events) == 0 {
				t.Skip("no events")
			}
			var written bytes.Buffer
			for _, ev := range first.Events {
				var e event.Event
				if err := e.UnmarshalJSON([]byte(ev)); err != nil {
					t.Fatal(err)
				}
				if err := Write(&written, &e); err != nil {
					t.Fatal(err)
				}
			}
			if written.String() != parsetest.Lines(first.Events) {
				t.Errorf("Write differs from AppendJSON:\n%s", written.String())
			}
			// Read the export back as another, unconfigured feed would.
			other := &feed.Feed{Name: "other", Format: "intelmq", Provider: "someone else",
				Classification: feed.Classification{Type: "undetermined"}}
			for _, f := range []*feed.Feed{builtin(), other} {
				second := parseWith(t, f, written.Bytes())
				if len(second.Rejects) > 0 {
					t.Errorf("re-reading rejected %v", second.Rejects)
				}
				if got, want := parsetest.Lines(second.Events), parsetest.Lines(first.Events); got != want {
					t.Errorf("re-read events differ (feed %s):\n got: %s\nwant: %s", f.Name, got, want)
				}
			}
		})
	}
}

func TestWrite(t *testing.T) {
	var e event.Event
	for k, v := range map[string]string{"source.ip": "192.0.2.1", "classification.type": "scanner", "extra.note": "a\nb"} {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := Write(&b, &e); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, &e); err != nil {
		t.Fatal(err)
	}
	want := `{"classification.type":"scanner","extra.note":"a\nb","source.ip":"192.0.2.1"}` + "\n"
	if b.String() != want+want {
		t.Errorf("Write wrote %q, want two lines of %q", b.String(), want)
	}
	if err := Write(failWriter{}, &e); !errors.Is(err, errWrite) {
		t.Errorf("Write to a failing writer = %v, want its error", err)
	}
}

var errWrite = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestLineDefaults(t *testing.T) {
	b, err := os.ReadFile("testdata/feed-defaults/input.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	c := parseWith(t, caseFeed(t, "testdata/feed-defaults"), b)
	if len(c.Events) != 4 {
		t.Fatalf("got %d events, %v", len(c.Events), c.Rejects)
	}
	var m []map[string]any
	for _, ev := range c.Events {
		var x map[string]any
		json.Unmarshal([]byte(ev), &x)
		m = append(m, x)
	}
	// A bare line takes every default of the feed.
	for k, want := range map[string]any{"feed.name": "partner-cert", "feed.provider": "Partner CERT", "feed.accuracy": 80.0,
		"tlp": "GREEN", "classification.type": "blacklist", "classification.identifier": "partner-list",
		"extra.shared_by": "partner-cert", "time.observation": "2026-04-01T00:00:00+00:00"} {
		if m[0][k] != want {
			t.Errorf("bare line: %s = %v, want %v", k, m[0][k], want)
		}
	}
	// A line's own values win; its own feed.name brings its own feed.*
	// fields only.
	for k, want := range map[string]any{"feed.name": "Upstream Feed", "feed.provider": nil, "feed.documentation": nil, "feed.accuracy": 95.0,
		"tlp": "RED", "extra.shared_by": "upstream", "time.observation": "2024-01-01T00:00:00+00:00"} {
		if m[1][k] != want {
			t.Errorf("line with values: %s = %v, want %v", k, m[1][k], want)
		}
	}
	// A line's own classification replaces the feed's as a whole.
	if m[2]["classification.taxonomy"] != "malicious-code" || m[2]["classification.identifier"] != nil {
		t.Errorf("line with a type: %s", c.Events[2])
	}
	if m[3]["classification.identifier"] != "own" {
		t.Errorf("line with a classification: %s", c.Events[3])
	}
}

func TestRejects(t *testing.T) {
	b, err := os.ReadFile("testdata/bad-lines/input.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	c := parseWith(t, builtin(), b)
	want := []string{
		"line 2: not an IntelMQ JSON event: unexpected EOF",
		"line 5: not an IntelMQ JSON event: the JSON value is a array, not an object",
		`line 6: source.ip: "192.0.2.999" is not an IP address; source.port: 70000 is outside 0-65535`,
		`line 7: "bogus.field" is not a field`,
		`line 8: classification.type: "pwned" is not a classification type`,
		"line 9: the event names nothing",
		`line 10: classification.type "scanner" does not belong to taxonomy "fraud"`,
		"line 11: not an IntelMQ JSON event: more follows the object on the same line",
		"line 12: raw: not base64",
		`line 13: source.port: "x" is not an integer`,
		`line 14: time.source: "2024-13-01T00:00:00+00:00" is not a date and time`,
	}
	if len(c.Rejects) != len(want) {
		t.Fatalf("rejects:\n%s\nwant %d", strings.Join(c.Rejects, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(c.Rejects[i], w) {
			t.Errorf("reject %q, want it to start %q", c.Rejects[i], w)
		}
	}
	if fmt.Sprint(c.Lines) != "[1 15]" {
		t.Errorf("events at lines %v, want [1 15]", c.Lines)
	}
}

func TestArrayLines(t *testing.T) {
	b, err := os.ReadFile("testdata/array/input.json")
	if err != nil {
		t.Fatal(err)
	}
	c := parseWith(t, builtin(), b)
	if fmt.Sprint(c.Lines) != "[2 21]" || len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0], "line 17: source.ip") {
		t.Errorf("events at %v, rejects %v; want [2 21] and one at line 17", c.Lines, c.Rejects)
	}
	broken := parseWith(t, builtin(), []byte("[{\"source.ip\":\"192.0.2.1\"},\n{\"source.ip\": }]"))
	if len(broken.Events) != 1 || len(broken.Rejects) != 1 || !strings.Contains(broken.Rejects[0], "the JSON array breaks here") {
		t.Errorf("broken array: %v %v", broken.Events, broken.Rejects)
	}
	open := parseWith(t, builtin(), []byte("[{\"source.ip\":\"192.0.2.1\"}"))
	if len(open.Events) != 1 || len(open.Rejects) != 1 || !strings.Contains(open.Rejects[0], "not closed") {
		t.Errorf("unclosed array: %v %v", open.Events, open.Rejects)
	}
}

func TestEmptyAndBOM(t *testing.T) {
	for _, input := range []string{"", "\n\n", "\uFEFF", "   \n  "} {
		c := parseWith(t, builtin(), []byte(input))
		if len(c.Events)+len(c.Rejects) != 0 {
			t.Errorf("%q: %v %v", input, c.Events, c.Rejects)
		}
	}
	c := parseWith(t, builtin(), []byte("\uFEFF{\"source.ip\":\"192.0.2.1\"}\r\n"))
	if len(c.Events) != 1 {
		t.Errorf("line after a BOM: %v", c.Rejects)
	}
}

func TestLongLine(t *testing.T) {
	input := `{"source.ip":"192.0.2.1","extra.x":"` + strings.Repeat("x", maxLineLen) + "\"}\n" + `{"source.ip":"192.0.2.2"}`
	c := parseWith(t, builtin(), []byte(input))
	if len(c.Events) != 1 || len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0], "line 1: line is longer") {
		t.Errorf("long line: %d events, rejects %v", len(c.Events), c.Rejects)
	}
	if c.Lines[0] != 2 {
		t.Errorf("event after the long line at line %d, want 2", c.Lines[0])
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range cases(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The Collector checks that every event reads back to itself.
		c := parseWith(t, builtin(), b)
		// The written events read back to themselves.
		if len(c.Events) > 0 {
			again := parseWith(t, builtin(), []byte(parsetest.Lines(c.Events)))
			if parsetest.Lines(again.Events) != parsetest.Lines(c.Events) {
				t.Fatalf("round trip differs:\n%s\n%s", parsetest.Lines(c.Events), parsetest.Lines(again.Events))
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	input, err := os.ReadFile("testdata/file-output/input.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	harness.Bench(b, New(), "intelmq", "", bytes.Repeat(input, 1000))
	b.ReportMetric(3000, "events/op")
}

func BenchmarkWrite(b *testing.B) {
	input, err := os.ReadFile("testdata/file-output/input.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	var e event.Event
	if err := e.UnmarshalJSON(bytes.SplitN(input, []byte("\n"), 2)[0]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(discardWriter{}, &e); err != nil {
			b.Fatal(err)
		}
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// An empty or null feed.name or classification.type is no value: the
// feed's defaults apply, and the event reads back the same (found by
// fuzzing).
func TestEmptyValuesAreAbsent(t *testing.T) {
	for _, line := range []string{
		`{"source.ip":"192.0.2.1","feed.name":""}`,
		`{"source.ip":"192.0.2.1","feed":{"name":null},"classification.type":""}`,
	} {
		c := parseWith(t, builtin(), []byte(line))
		if len(c.Events) != 1 {
			t.Fatalf("%s: rejected %v", line, c.Rejects)
		}
		if !strings.Contains(c.Events[0], `"feed.name":"intelmq"`) || !strings.Contains(c.Events[0], `"classification.type":"undetermined"`) {
			t.Errorf("%s: got %s", line, c.Events[0])
		}
		again := parseWith(t, builtin(), []byte(c.Events[0]))
		if len(again.Events) != 1 || again.Events[0] != c.Events[0] {
			t.Errorf("%s: does not read back the same: %v", line, again.Events)
		}
	}
}
