package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sharedData is where the project's real test data lives, relative to this
// package's directory (the repository's ../shared/data).
const sharedData = "../../../../shared/data"

// samplesDir holds IntelMQ's Shadowserver test samples, one CSV per report
// type (see shared/data/feeds/MANIFEST.txt).
var samplesDir = filepath.Join(sharedData, "feeds/intelmq/parsers@d624988/shadowserver/testdata")

// testNow is the observation time of every test event.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// recorder is a parse.Output that keeps what it is given.
type recorder struct {
	events  []event.Event
	lines   []int
	rejects []rejected
	jsonl   bytes.Buffer
}

type rejected struct {
	line   int
	raw    string
	reason string
}

func (r *recorder) Event(e *event.Event, line int) error {
	r.jsonl.Write(e.AppendJSON(nil))
	r.jsonl.WriteByte('\n')
	var c event.Event
	if err := c.UnmarshalJSON(e.AppendJSON(nil)); err != nil {
		return fmt.Errorf("line %d: event does not read back: %v", line, err)
	}
	r.events = append(r.events, c)
	r.lines = append(r.lines, line)
	return nil
}

func (r *recorder) Reject(line int, raw []byte, reason error) error {
	r.rejects = append(r.rejects, rejected{line, string(raw), reason.Error()})
	return nil
}

func input(name, report string, data []byte) parse.Input {
	return parse.Input{R: bytes.NewReader(data), Name: name, Report: report, Feed: feed.Builtin()["shadowserver"], Now: testNow}
}

func run(t testing.TB, name, report string, data []byte) (*recorder, error) {
	t.Helper()
	var rec recorder
	err := New(nil).Parse(context.Background(), input(name, report, data), &rec)
	return &rec, err
}

func samples(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.csv"))
	if len(files) == 0 {
		t.Skipf("Shadowserver samples not found: %s is missing (they live in ../shared/data beside the repository)", samplesDir)
	}
	sort.Strings(files)
	return files
}

// expectedRejects lists the sample rows that really are invalid, by file
// and line, with the words the reason must contain.
// None do: the rows of event4_honeypot_ddos, event4_microsoft_sinkhole,
// scan_rdp and scan_synfulknock that lack the last column Shadowserver added
// later are read with it empty, as IntelMQ reads them.
var expectedRejects = map[string]map[int]string{}

// expectedFailures lists samples the current schema cannot read at all.
var expectedFailures = map[string]struct {
	err  error
	text string
}{
	// Shadowserver has retired the phish_url report; the schema of
	// 2026-03-24 has no such type.
	"phish_url.csv": {parse.ErrUnknownReport, `report type "phish_url"`},
	// (malware_url and sandbox_url predate the port column the schema now
	// requires; they are read without it.)
}

func TestSamplesGolden(t *testing.T) {
	for _, path := range samples(t) {
		base := filepath.Base(path)
		t.Run(strings.TrimSuffix(base, ".csv"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := run(t, base, "", data)
			if f, ok := expectedFailures[base]; ok {
				if !errors.Is(err, f.err) || !strings.Contains(err.Error(), f.text) {
					t.Fatalf("Parse error = %v, want %v containing %q", err, f.err, f.text)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := expectedRejects[base]
			for _, r := range rec.rejects {
				if w, ok := want[r.line]; !ok || !strings.Contains(r.reason, w) {
					t.Errorf("line %d rejected: %s\n\t%s", r.line, r.reason, r.raw)
				}
			}
			if len(rec.rejects) != len(want) {
				t.Errorf("%d rows rejected, want %d", len(rec.rejects), len(want))
			}
			if len(rec.events)+len(rec.rejects) == 0 {
				t.Errorf("no rows read")
			}
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(base, ".csv")+".jsonl")
			if *update {
				if err := os.WriteFile(golden, rec.jsonl.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			g, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(g, rec.jsonl.Bytes()) {
				t.Errorf("events differ from %s (go test -update rewrites it):\n%s", golden, firstDiff(string(g), rec.jsonl.String()))
			}
		})
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("event %d:\nwant %s\ngot  %s", i+1, w, g)
		}
	}
	return ""
}
