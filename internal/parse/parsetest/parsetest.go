// Package parsetest is what the tests of the parsers share: a Collector
// that keeps what a parser gives as IntelMQ JSON lines and "line N:
// reason" lines and checks every event it keeps reads back to itself; a
// Harness that runs a package's parsers on its samples and compares with
// golden files; the -update flag that rewrites them; and a benchmark loop.
//
// Tests alone import it: it registers the -update flag.
package parsetest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
)

var update = flag.Bool("update", false, "rewrite the golden files of the parser tests")

// SharedData is the directory of real feed samples, ../shared/data/feeds
// next to the repository, as seen from a parser package's directory.
const SharedData = "../../../../shared/data/feeds"

// sampleRate is how often a Collector that does not keep events checks
// one: reading JSON back is slow, and on big samples a sample is enough.
const sampleRate = 61

// Collector is a parse.Output that keeps what a parser gives: each event
// as a line of IntelMQ JSON, with its line number, and each reject as
// "line N: reason" (the reason on one line), with its raw text. It checks
// the parser's side of the contract as it goes: every event it keeps
// reads back to itself and is valid (see CheckEvent), and every reject
// has a reason and a line number.
type Collector struct {
	Events  []string // the IntelMQ JSON of each event kept
	Lines   []int    // the line of each event kept
	NEvents int      // the events received, kept or not
	Rejects []string // "line N: reason" of each reject
	Raws    []string // the raw text of each reject

	t    testing.TB
	keep bool
	buf  []byte
}

// NewCollector returns a Collector that reports to t. With keep false it
// counts events without keeping them and checks one in 61, for big
// samples; rejects are always kept.
func NewCollector(t testing.TB, keep bool) *Collector {
	return &Collector{t: t, keep: keep}
}

// Event implements parse.Output.
func (c *Collector) Event(e *event.Event, line int) error {
	c.NEvents++
	c.buf = e.AppendJSON(c.buf[:0])
	if c.keep || c.NEvents%sampleRate == 1 {
		CheckEvent(c.t, c.buf, line)
	}
	if c.keep {
		c.Events = append(c.Events, string(c.buf))
		c.Lines = append(c.Lines, line)
	}
	return nil
}

// Reject implements parse.Output.
func (c *Collector) Reject(line int, raw []byte, reason error) error {
	if line < 1 {
		c.t.Errorf("reject with line number %d", line)
	}
	msg := "(no reason)"
	if reason == nil {
		c.t.Errorf("line %d rejected without a reason", line)
	} else {
		msg = strings.ReplaceAll(reason.Error(), "\n", "; ")
	}
	c.Rejects = append(c.Rejects, fmt.Sprintf("line %d: %s", line, msg))
	c.Raws = append(c.Raws, string(raw))
	return nil
}

// JSON returns the events kept, one a line.
func (c *Collector) JSON() string { return Lines(c.Events) }

// Rejected returns the rejects, one a line.
func (c *Collector) Rejected() string { return Lines(c.Rejects) }

// Lines joins l into lines, each ending in "\n"; "" for none.
func Lines(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return strings.Join(l, "\n") + "\n"
}

// CheckEvent checks that b, an event's AppendJSON from the record at
// line, is JSON that UnmarshalJSON reads back to a valid event with the
// same JSON.
func CheckEvent(t testing.TB, b []byte, line int) {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("line %d: event is not valid JSON: %s", line, b)
	}
	var back event.Event
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatalf("line %d: event JSON does not read back: %v\n%s", line, err, b)
	}
	if err := back.Validate(); err != nil {
		t.Fatalf("line %d: event read back is not valid: %v\n%s", line, err, b)
	}
	if again := back.AppendJSON(nil); !bytes.Equal(again, b) {
		t.Fatalf("line %d: event JSON changes when read back:\n%s\n%s", line, b, again)
	}
}

// Harness is what the tests of one parser package share: the observation
// time of the events and the feeds the tests name besides the built-in
// ones.
type Harness struct {
	Now   time.Time
	Feeds map[string]*feed.Feed
}

// Feed returns the built-in feed name, else the Harness's; the test fails
// when there is neither.
func (h Harness) Feed(t testing.TB, name string) *feed.Feed {
	t.Helper()
	f := feed.Builtin()[name]
	if f == nil {
		f = h.Feeds[name]
	}
	if f == nil {
		t.Fatalf("no feed %q", name)
	}
	return f
}

// Parse runs p on in, observed at h.Now, into a new Collector (see
// NewCollector for keep) and returns it with Parse's error.
func (h Harness) Parse(t testing.TB, p parse.Parser, in parse.Input, keep bool) (*Collector, error) {
	t.Helper()
	in.Now = h.Now
	c := NewCollector(t, keep)
	err := p.Parse(context.Background(), in, c)
	return c, err
}

// Run parses data as the report name of feedName (see Feed).
func (h Harness) Run(t testing.TB, p parse.Parser, feedName, name string, data []byte, keep bool) (*Collector, error) {
	t.Helper()
	return h.Parse(t, p, parse.Input{R: bytes.NewReader(data), Name: name, Feed: h.Feed(t, feedName)}, keep)
}

// Bench benchmarks p on data as the report name of feedName (see Bench).
func (h Harness) Bench(b *testing.B, p parse.Parser, feedName, name string, data []byte) {
	Bench(b, p, parse.Input{Name: name, Feed: h.Feed(b, feedName), Now: h.Now}, data)
}

// Case is a golden test of a parser on one sample.
type Case struct {
	// Name names the golden files testdata/golden/Name.jsonl (the
	// events) and Name.rejects; "" compares the counts only, for big
	// samples.
	Name string
	// Sample is a path under SharedData, or testdata/... for one of the
	// package's own.
	Sample string
	Parser parse.Parser
	Feed   string // the feed's name (see Harness.Feed)
	// Events and Rejects are how many the sample gives.
	Events, Rejects int
}

// Golden runs each case as a subtest named after its sample.
func (h Harness) Golden(t *testing.T, cases []Case) {
	for _, tt := range cases {
		t.Run(filepath.Base(tt.Sample), func(t *testing.T) {
			var data []byte
			if strings.HasPrefix(tt.Sample, "testdata/") {
				var err error
				if data, err = os.ReadFile(tt.Sample); err != nil {
					t.Fatal(err)
				}
			} else {
				data = ReadSample(t, tt.Sample)
			}
			c, err := h.Run(t, tt.Parser, tt.Feed, filepath.Base(tt.Sample), data, tt.Name != "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.NEvents != tt.Events || len(c.Rejects) != tt.Rejects {
				t.Errorf("got %d events and %d rejects, want %d and %d\n%s", c.NEvents, len(c.Rejects), tt.Events, tt.Rejects, c.Rejected())
			}
			if tt.Name == "" {
				return
			}
			Golden(t, filepath.Join("testdata", "golden", tt.Name+".jsonl"), c.JSON())
			Golden(t, filepath.Join("testdata", "golden", tt.Name+".rejects"), c.Rejected())
		})
	}
}

// GoldenDirs runs a golden test for each case directory whose input file
// matches pattern ("testdata/*/input.json"), as a subtest named after the
// directory: run parses the input, and the events it gives are compared
// with want.jsonl in the directory, its rejects with rejects.txt.
func GoldenDirs(t *testing.T, pattern string, run func(t *testing.T, dir string, input []byte) *Collector) {
	inputs, err := filepath.Glob(pattern)
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata cases match %s: %v", pattern, err)
	}
	for _, path := range inputs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			input, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := run(t, dir, input)
			Golden(t, filepath.Join(dir, "want.jsonl"), c.JSON())
			Golden(t, filepath.Join(dir, "rejects.txt"), c.Rejected())
		})
	}
}

// Golden compares got with the golden file at path, an absent file
// standing for "". With -update it writes got there instead, or removes
// the file when got is "".
func Golden(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if got == "" {
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if got == string(want) {
		return
	}
	if os.IsNotExist(err) {
		t.Errorf("%s is absent, and the parse gave (run go test -update to write it):\n%.2000s", path, got)
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s differs at line %d (run go test -update if the change is right):\ngot  %s\nwant %s", path, i+1, g, w)
			return
		}
	}
}

// ReadSample reads a file under SharedData, or skips the test when that
// directory is absent (a fresh clone without the shared samples).
func ReadSample(t testing.TB, rel string) []byte {
	t.Helper()
	path := filepath.Join(SharedData, rel)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("sample %s is absent (the real samples live in ../shared/data next to the repository)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReadFeed reads a feed's configuration from a JSON file; an unknown key
// fails the test.
func ReadFeed(t testing.TB, path string) *feed.Feed {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f feed.Feed
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &f
}

// CheckNew checks a parser package's New: it knows every one of formats,
// and not other, a format of another package.
func CheckNew(t *testing.T, newParser func(format string) (parse.Parser, bool), formats []string, other string) {
	t.Helper()
	for _, f := range formats {
		if p, ok := newParser(f); !ok || p == nil {
			t.Errorf("New(%q) = %v, %v", f, p, ok)
		}
	}
	if _, ok := newParser(other); ok {
		t.Errorf("New(%q) claims a format of another package", other)
	}
}

// Count is a parse.Output that counts and keeps nothing.
type Count struct{ Events, Rejects int }

// Event implements parse.Output.
func (c *Count) Event(*event.Event, int) error { c.Events++; return nil }

// Reject implements parse.Output.
func (c *Count) Reject(int, []byte, error) error { c.Rejects++; return nil }

// Bench parses data with p as in says, b.N times, reporting bytes/s,
// allocations and events/s. A reject fails the benchmark: it would
// measure the wrong path.
func Bench(b *testing.B, p parse.Parser, in parse.Input, data []byte) {
	var out Count
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		out = Count{}
		in.R = bytes.NewReader(data)
		if err := p.Parse(context.Background(), in, &out); err != nil {
			b.Fatal(err)
		}
	}
	if out.Rejects > 0 {
		b.Fatalf("%d rejects", out.Rejects)
	}
	b.ReportMetric(float64(out.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
