package phish

import (
	"bytes"
	"context"
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

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sharedData is ../shared/data/feeds seen from this package's directory.
const sharedData = "../../../../shared/data/feeds"

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// collector is a parse.Output that keeps the events as IntelMQ JSON lines
// and the rejects as "line N: reason" lines, and checks that every event
// reads back to itself.
type collector struct {
	t        testing.TB
	events   int
	rejects  int
	json     bytes.Buffer
	rejected bytes.Buffer
	keep     bool
	buf      []byte
}

func (c *collector) Event(e *event.Event, line int) error {
	c.events++
	c.buf = e.AppendJSON(c.buf[:0])
	// Reading JSON back is slow; on big samples a sample of the events
	// is enough.
	if c.keep || c.events%61 == 1 {
		checkEventJSON(c.t, c.buf, line)
	}
	if c.keep {
		c.json.Write(c.buf)
		c.json.WriteByte('\n')
	}
	return nil
}

func (c *collector) Reject(line int, raw []byte, reason error) error {
	c.rejects++
	if reason == nil {
		c.t.Errorf("line %d rejected without a reason", line)
	}
	if line < 1 {
		c.t.Errorf("reject with line number %d", line)
	}
	if c.keep {
		fmt.Fprintf(&c.rejected, "line %d: %v\n", line, reason)
	}
	return nil
}

// checkEventJSON checks that b is an event that UnmarshalJSON reads back
// to the same JSON and that is still valid.
func checkEventJSON(t testing.TB, b []byte, line int) {
	t.Helper()
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

// runParser parses r as report name of the built-in feed feedName.
func runParser(t testing.TB, p parse.Parser, feedName, name string, data []byte, keep bool) (*collector, error) {
	t.Helper()
	f := feed.Builtin()[feedName]
	if f == nil {
		t.Fatalf("no built-in feed %q", feedName)
	}
	c := &collector{t: t, keep: keep}
	err := p.Parse(context.Background(), parse.Input{R: bytes.NewReader(data), Name: name, Feed: f, Now: testNow}, c)
	return c, err
}

// readSample reads a file of ../shared/data/feeds, or skips the test when
// that directory is absent (a fresh clone without the shared samples).
func readSample(t *testing.T, rel string) []byte {
	t.Helper()
	path := filepath.Join(sharedData, rel)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("sample %s is absent (the real samples live in ../shared/data next to the repository)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type goldenCase struct {
	name    string // golden file base name; "" compares counts only
	sample  string // path under ../shared/data/feeds, or testdata/... for own fixtures
	parser  parse.Parser
	feed    string
	events  int
	rejects int
}

func runGolden(t *testing.T, tests []goldenCase) {
	for _, tt := range tests {
		t.Run(filepath.Base(tt.sample), func(t *testing.T) {
			var data []byte
			if strings.HasPrefix(tt.sample, "testdata/") {
				var err error
				if data, err = os.ReadFile(tt.sample); err != nil {
					t.Fatal(err)
				}
			} else {
				data = readSample(t, tt.sample)
			}
			c, err := runParser(t, tt.parser, tt.feed, filepath.Base(tt.sample), data, tt.name != "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.events != tt.events || c.rejects != tt.rejects {
				t.Errorf("got %d events and %d rejects, want %d and %d\n%s", c.events, c.rejects, tt.events, tt.rejects, c.rejected.String())
			}
			if tt.name == "" {
				return
			}
			compareGolden(t, filepath.Join("testdata", "golden", tt.name+".jsonl"), c.json.Bytes())
			compareGolden(t, filepath.Join("testdata", "golden", tt.name+".rejects"), c.rejected.Bytes())
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if os.IsNotExist(err) && len(got) == 0 {
		return
	}
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs at line %d (run go test -update if the change is right):\ngot  %s\nwant %s", path, i+1, g, w)
		}
	}
}
