package csvmap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var now = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

// collector is a parse.Output that keeps everything it receives.
type collector struct {
	events  []string // AppendJSON of each event
	lines   []int
	rejects []string // "line N: reason"
	raws    []string
}

func (c *collector) Event(e *event.Event, line int) error {
	c.events = append(c.events, string(e.AppendJSON(nil)))
	c.lines = append(c.lines, line)
	return nil
}

func (c *collector) Reject(line int, raw []byte, reason error) error {
	c.rejects = append(c.rejects, fmt.Sprintf("line %d: %s", line, strings.ReplaceAll(reason.Error(), "\n", "; ")))
	c.raws = append(c.raws, string(raw))
	return nil
}

func parseWith(t testing.TB, f *feed.Feed, input string) (*collector, error) {
	t.Helper()
	c := &collector{}
	in := parse.Input{R: strings.NewReader(input), Name: "report.csv", Feed: f, Now: now}
	err := New().Parse(context.Background(), in, c)
	return c, err
}

func mustParse(t testing.TB, f *feed.Feed, input string) *collector {
	t.Helper()
	c, err := parseWith(t, f, input)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func readFeed(t testing.TB, path string) *feed.Feed {
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

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*/input.csv")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata cases: %v", err)
	}
	for _, path := range inputs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			input, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := mustParse(t, readFeed(t, filepath.Join(dir, "feed.json")), string(input))
			golden(t, filepath.Join(dir, "want.jsonl"), lines(c.events))
			golden(t, filepath.Join(dir, "rejects.txt"), lines(c.rejects))
			for _, ev := range c.events {
				reread(t, ev)
			}
		})
	}
}

func TestFeodoLines(t *testing.T) {
	input, err := os.ReadFile("testdata/abusech-feodo/input.csv")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, readFeed(t, "testdata/abusech-feodo/feed.json"), string(input))
	if len(c.events) != 28 || len(c.rejects) != 0 {
		t.Fatalf("%d events, rejects %v; the file says 28 entries", len(c.events), c.rejects)
	}
	if c.lines[0] != 10 || c.lines[27] != 37 {
		t.Errorf("first and last event at lines %d and %d, want 10 and 37", c.lines[0], c.lines[27])
	}
}

func TestRowReasons(t *testing.T) {
	input, err := os.ReadFile("testdata/bad-rows/input.csv")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, readFeed(t, "testdata/bad-rows/feed.json"), string(input))
	want := []string{
		`line 3: column 1 ("ip") → source.ip: "192.0.2.300" is not an IP address`,
		`line 4: column 2 ("port") → source.port: value "65536": 65536 is outside 0-65535`,
		`line 5: column 3 ("when") → time.source: "the eighth of March" is not a date and time`,
		`line 6: column 4 ("cc") → source.geolocation.cc: value "Portugal": "PORTUGAL" is not a two-letter country code`,
		`line 7: the row has 2 columns; column 3 ("when") → time.source is missing`,
		`line 8: column 5 ("url") → source.url: "http://" is not an absolute URL with a host`,
		`line 10: the event names nothing`,
		`line 11: a quoted field is not closed at the end of the report`,
	}
	if len(c.rejects) != len(want) {
		t.Fatalf("rejects:\n%s\nwant %d", strings.Join(c.rejects, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(c.rejects[i], w) {
			t.Errorf("reject\n%s\nwant it to start\n%s", c.rejects[i], w)
		}
	}
	if c.raws[0] != "192.0.2.300,80,2026-03-08 10:00:00,PT," {
		t.Errorf("raw of a rejected row = %q", c.raws[0])
	}
	// The stray quote on line 11 costs that row only.
	if fmt.Sprint(c.lines) != "[2 12 13]" {
		t.Errorf("events at lines %v, want [2 12 13]", c.lines)
	}
}

func TestQuoting(t *testing.T) {
	input, err := os.ReadFile("testdata/header-quoting/input.csv")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, readFeed(t, "testdata/header-quoting/feed.json"), string(input))
	if len(c.events) != 3 || len(c.rejects) != 1 {
		t.Fatalf("events %v\nrejects %v", c.events, c.rejects)
	}
	var m []map[string]any
	for _, ev := range c.events {
		var x map[string]any
		json.Unmarshal([]byte(ev), &x)
		m = append(m, x)
	}
	checks := []struct {
		i         int
		key, want string
	}{
		{0, "extra.notes", "plain, with a comma"},
		{0, "time.source", "2026-03-01T10:30:00+00:00"}, // csv.time_format, day first
		{0, "classification.taxonomy", "information-gathering"},
		{0, "classification.identifier", "partner-mixed"},
		{1, "extra.notes", "spaces before the quote"},
		{1, "source.url", "http://login.example.net/a?b=1,2"},
		{1, "classification.taxonomy", "fraud"},
		{2, "extra.notes", "she said \"hi\"\nand left"},
		{2, "time.source", "2026-03-03T12:00:00+00:00"}, // a built-in layout
		{2, "extra.fifth", "she said \"hi\"\nand left"},
	}
	for _, ck := range checks {
		if got := fmt.Sprint(m[ck.i][ck.key]); got != ck.want {
			t.Errorf("event %d: %s = %q, want %q", ck.i, ck.key, got, ck.want)
		}
	}
	if fmt.Sprint(c.lines) != "[2 3 4]" || !strings.HasPrefix(c.rejects[0], "line 8: classification.type is missing") {
		t.Errorf("lines %v, rejects %v", c.lines, c.rejects)
	}
}

func TestCheck(t *testing.T) {
	base := func() *feed.Feed {
		return &feed.Feed{Name: "f", Format: "csv",
			Classification: feed.Classification{Type: "scanner"},
			CSV:            feed.CSV{Header: true, Columns: map[string]string{"ip": "source.ip"}}}
	}
	tests := []struct {
		name   string
		change func(f *feed.Feed)
		want   string // "" for no error
	}{
		{"ok", func(*feed.Feed) {}, ""},
		{"tab", func(f *feed.Feed) { f.CSV.Delimiter = "tab" }, ""},
		{"pipe", func(f *feed.Feed) { f.CSV.Delimiter = "|" }, ""},
		{"multi-byte delimiter", func(f *feed.Feed) { f.CSV.Delimiter = "¦" }, ""},
		{"long delimiter", func(f *feed.Feed) { f.CSV.Delimiter = ";;" }, `feed "f": csv.delimiter: ";;" is not one character`},
		{"quote delimiter", func(f *feed.Feed) { f.CSV.Delimiter = `"` }, `csv.delimiter: "\"" cannot separate fields`},
		{"comment with space", func(f *feed.Feed) { f.CSV.Comment = "# " }, `csv.comment: "# " starts or ends with white space`},
		{"negative skip", func(f *feed.Feed) { f.CSV.SkipLines = -1 }, "csv.skip_lines: -1 is negative"},
		{"strftime", func(f *feed.Feed) { f.CSV.TimeFormat = "%d/%m/%Y" }, `csv.time_format: "%d/%m/%Y" is not a Go time layout`},
		{"no columns", func(f *feed.Feed) { f.CSV.Columns = nil }, "csv.columns: no column is mapped"},
		{"unknown field", func(f *feed.Feed) { f.CSV.Columns["ip"] = "source.ipp" }, `csv.columns["ip"]: "source.ipp" is not a field of the IntelMQ harmonisation (did you mean "source.ip"?)`},
		{"far unknown field", func(f *feed.Feed) { f.CSV.Columns["ip"] = "address" }, `csv.columns["ip"]: "address" is not a field of the IntelMQ harmonisation (use extra.NAME`},
		{"bare extra", func(f *feed.Feed) { f.CSV.Columns["x"] = "extra." }, `csv.columns["x"]: "extra." names no extra field`},
		{"duplicate", func(f *feed.Feed) { f.CSV.Columns["addr"] = "source.ip" }, `csv.columns["addr"] and csv.columns["ip"] both map to source.ip`},
		{"name without header", func(f *feed.Feed) { f.CSV.Header = false }, `csv.columns["ip"]: without csv.header: true a column is named by its number`},
		{"column zero", func(f *feed.Feed) { f.CSV.Columns = map[string]string{"0": "source.ip"} }, `csv.columns["0"]: columns are numbered from 1`},
		{"no classification", func(f *feed.Feed) { f.Classification = feed.Classification{} }, "classification.type: not set, and no csv.columns entry maps a column to classification.type"},
		{"type column", func(f *feed.Feed) {
			f.Classification = feed.Classification{}
			f.CSV.Columns["kind"] = "classification.type"
		}, ""},
		{"bad classification", func(f *feed.Feed) { f.Classification.Taxonomy = "fraud" }, `classification: classification.type "scanner" does not belong to taxonomy "fraud"`},
		{"bad taxonomy", func(f *feed.Feed) {
			f.Classification = feed.Classification{Taxonomy: "nonsense"}
			f.CSV.Columns["kind"] = "classification.type"
		}, `classification.taxonomy: "nonsense" is not a taxonomy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base()
			tt.change(f)
			err := Check(f)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Errorf("Check = nil, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Check = %q, want it to contain %q", err, tt.want)
			}
			if tt.want != "" {
				// Parse refuses the report as a whole, with the same words.
				if _, perr := parseWith(t, f, "ip\n192.0.2.1\n"); perr == nil || !strings.Contains(perr.Error(), tt.want) {
					t.Errorf("Parse = %v, want it to contain %q", perr, tt.want)
				}
			}
		})
	}
}

func TestCheckNamesEveryProblem(t *testing.T) {
	f := &feed.Feed{Name: "f", CSV: feed.CSV{Delimiter: "ab", Columns: map[string]string{"ip": "source.ipp"}}}
	err := Check(f)
	for _, want := range []string{"csv.delimiter", `csv.columns["ip"]`, "classification.type"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v, want it to name %s", err, want)
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	f := &feed.Feed{Name: "f", Classification: feed.Classification{Type: "scanner"},
		CSV: feed.CSV{Header: true, Comment: "#", Columns: map[string]string{"ip": "source.ip", "7": "extra.seventh", "port": "source.port"}}}
	_, err := parseWith(t, f, "# comment\naddress,port\n192.0.2.1,80\n")
	if err == nil {
		t.Fatal("Parse accepted a header without the mapped columns")
	}
	for _, want := range []string{`line 2: `, `csv.columns["ip"]: the report's header has no such column (it has "address", "port")`, `csv.columns["7"]: the header has only 2 columns`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	_, err = parseWith(t, f, "ip,ip,port\n")
	if err == nil || !strings.Contains(err.Error(), `csv.columns["ip"]: the header names two columns so (1 and 2)`) {
		t.Errorf("ambiguous header: %v", err)
	}
	_, err = parseWith(t, f, "ip,\"port\n")
	if err == nil || !strings.Contains(err.Error(), "line 1: the header row cannot be read: a quoted field is not closed") {
		t.Errorf("broken header: %v", err)
	}
	// An empty report (or comments only) has no rows and is no error.
	for _, input := range []string{"", "# nothing today\n", "\n\n"} {
		c, err := parseWith(t, f, input)
		if err != nil || len(c.events)+len(c.rejects) != 0 {
			t.Errorf("%q: %v %v %v", input, err, c.events, c.rejects)
		}
	}
}

func TestBadFeedDefaults(t *testing.T) {
	f := &feed.Feed{Name: "f", Classification: feed.Classification{Type: "scanner"}, Constant: map[string]string{"source.port": "http"},
		CSV: feed.CSV{Columns: map[string]string{"1": "source.ip"}}}
	if _, err := parseWith(t, f, "192.0.2.1\n"); err == nil || !strings.Contains(err.Error(), "source.port") {
		t.Errorf("Parse with a bad constant = %v, want an error naming source.port", err)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		delim rune
		in    string
		want  []string
	}{
		{',', `a,b,c`, []string{"a", "b", "c"}},
		{',', `a,,`, []string{"a", "", ""}},
		{',', `,`, []string{"", ""}},
		{',', `"a,b",c`, []string{"a,b", "c"}},
		{',', `"a""b"`, []string{`a"b`}},
		{',', `""`, []string{""}},
		{',', `a"b,c`, []string{`a"b`, "c"}},
		{',', `"a"b,c"`, []string{`a"b,c`}},
		{',', `  "a" ,b`, []string{"a", "b"}},
		{',', `x, "y, z"`, []string{"x", "y, z"}},
		{'\t', "a\tb c\t", []string{"a", "b c", ""}},
		{'¦', "a¦b¦", []string{"a", "b", ""}},
		{';', `é;"ü;ö"`, []string{"é", "ü;ö"}},
	}
	for _, tt := range tests {
		r := &reader{delim: tt.delim, rec: []byte(tt.in)}
		if !r.split() {
			t.Errorf("split(%q) says a quote is open", tt.in)
			continue
		}
		if fmt.Sprintf("%q", r.fields) != fmt.Sprintf("%q", tt.want) {
			t.Errorf("split(%q) = %q, want %q", tt.in, r.fields, tt.want)
		}
	}
	for _, open := range []string{`"a`, `a,"b`, `"a""`, `"a" "b`, `"a" x,b`} {
		r := &reader{delim: ',', rec: []byte(open)}
		if r.split() {
			t.Errorf("split(%q) = %q, want an open quote", open, r.fields)
		}
	}
}

func TestLongLine(t *testing.T) {
	f := &feed.Feed{Name: "f", Classification: feed.Classification{Type: "scanner"},
		CSV: feed.CSV{Columns: map[string]string{"1": "source.ip", "2": "extra.x"}}}
	input := "192.0.2.1,ok\n192.0.2.2," + strings.Repeat("x", maxRecordLen) + "\n192.0.2.3,ok\n"
	c := mustParse(t, f, input)
	if fmt.Sprint(c.lines) != "[1 3]" || len(c.rejects) != 1 || !strings.HasPrefix(c.rejects[0], "line 2: line is longer than") {
		t.Errorf("events at %v, rejects %v", c.lines, c.rejects)
	}
	// A quoted field open across an overlong line.
	input = "192.0.2.1,\"open\n" + strings.Repeat("x", maxRecordLen+1) + "\n192.0.2.3,ok\n"
	c = mustParse(t, f, input)
	if fmt.Sprint(c.lines) != "[3]" || len(c.rejects) != 2 {
		t.Errorf("events at %v, rejects %v", c.lines, c.rejects)
	}
}

func lines(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return strings.Join(l, "\n") + "\n"
}

// golden compares got with the file at path; an absent file means "".
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if got == "" {
			os.Remove(path)
			return
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// reread checks that an emitted event is valid JSON that reads back to the
// same event.
func reread(t testing.TB, ev string) {
	t.Helper()
	if !json.Valid([]byte(ev)) {
		t.Fatalf("event is not valid JSON: %s", ev)
	}
	var back event.Event
	if err := back.UnmarshalJSON([]byte(ev)); err != nil {
		t.Fatalf("event does not read back: %v\n%s", err, ev)
	}
	if again := string(back.AppendJSON(nil)); again != ev {
		t.Fatalf("event changes on re-reading:\n%s\n%s", ev, again)
	}
}

func FuzzParse(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/*/input.csv")
	for _, p := range inputs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false, uint8(','))
	}
	f.Add([]byte("a;b\n\"x\n"), true, uint8(';'))
	f.Fuzz(func(t *testing.T, b []byte, header bool, delim uint8) {
		cols := map[string]string{"1": "source.ip", "2": "time.source", "3": "extra.x", "4": "classification.type", "5": "source.url"}
		if header {
			cols = map[string]string{"ip": "source.ip", "2": "source.port", "url": "source.url"}
		}
		fd := &feed.Feed{Name: "fuzz", Classification: feed.Classification{Type: "scanner"},
			CSV: feed.CSV{Delimiter: string(rune(delim)), Comment: "#", Header: header, TimeFormat: "02/01/2006", Columns: cols}}
		if Check(fd) != nil {
			return
		}
		c := &collector{}
		in := parse.Input{R: bytes.NewReader(b), Feed: fd, Now: now}
		if err := New().Parse(context.Background(), in, c); err != nil {
			if header && strings.Contains(err.Error(), "csv.columns") {
				return // the fuzzed header lacks the columns
			}
			t.Fatalf("Parse: %v", err)
		}
		for _, ev := range c.events {
			reread(t, ev)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	input, err := os.ReadFile("testdata/abusech-feodo/input.csv")
	if err != nil {
		b.Fatal(err)
	}
	_, rows, _ := bytes.Cut(input, []byte("\"malware\"\n"))
	rows, _, _ = bytes.Cut(rows, []byte("# END"))
	var all bytes.Buffer
	all.WriteString(`"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n")
	for range 1000 {
		all.Write(rows)
	}
	data := all.Bytes()
	f := readFeed(b, "testdata/abusech-feodo/feed.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		in := parse.Input{R: bytes.NewReader(data), Feed: f, Now: now}
		if err := New().Parse(context.Background(), in, discard{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*bytes.Count(rows, []byte("\n"))), "rows/op")
}

type discard struct{}

func (discard) Event(*event.Event, int) error   { return nil }
func (discard) Reject(int, []byte, error) error { return nil }
