package csvmap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/parsetest"
)

var harness = parsetest.Harness{Now: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}

func parseWith(t testing.TB, f *feed.Feed, input string) (*parsetest.Collector, error) {
	t.Helper()
	return harness.Parse(t, New(), parse.Input{R: strings.NewReader(input), Name: "report.csv", Feed: f}, true)
}

func mustParse(t testing.TB, f *feed.Feed, input string) *parsetest.Collector {
	t.Helper()
	c, err := parseWith(t, f, input)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestGolden(t *testing.T) {
	parsetest.GoldenDirs(t, "testdata/*/input.csv", func(t *testing.T, dir string, input []byte) *parsetest.Collector {
		return mustParse(t, parsetest.ReadFeed(t, filepath.Join(dir, "feed.json")), string(input))
	})
}

func TestFeodoLines(t *testing.T) {
	input, err := os.ReadFile("testdata/abusech-feodo/input.csv")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, parsetest.ReadFeed(t, "testdata/abusech-feodo/feed.json"), string(input))
	if len(c.Events) != 28 || len(c.Rejects) != 0 {
		t.Fatalf("%d events, rejects %v; the file says 28 entries", len(c.Events), c.Rejects)
	}
	if c.Lines[0] != 10 || c.Lines[27] != 37 {
		t.Errorf("first and last event at lines %d and %d, want 10 and 37", c.Lines[0], c.Lines[27])
	}
}

func TestRowReasons(t *testing.T) {
	input, err := os.ReadFile("testdata/bad-rows/input.csv")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, parsetest.ReadFeed(t, "testdata/bad-rows/feed.json"), string(input))
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
	if len(c.Rejects) != len(want) {
		t.Fatalf("rejects:\n%s\nwant %d", strings.Join(c.Rejects, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(c.Rejects[i], w) {
			t.Errorf("reject\n%s\nwant it to start\n%s", c.Rejects[i], w)
		}
	}
	if c.Raws[0] != "192.0.2.300,80,2026-03-08 10:00:00,PT," {
		t.Errorf("raw of a rejected row = %q", c.Raws[0])
	}
	// The stray quote on line 11 costs that row only.
	if fmt.Sprint(c.Lines) != "[2 12 13]" {
		t.Errorf("events at lines %v, want [2 12 13]", c.Lines)
	}
}

func TestQuoting(t *testing.T) {
	input, err := os.ReadFile("testdata/header-quoting/input.csv")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, parsetest.ReadFeed(t, "testdata/header-quoting/feed.json"), string(input))
	if len(c.Events) != 3 || len(c.Rejects) != 1 {
		t.Fatalf("events %v\nrejects %v", c.Events, c.Rejects)
	}
	var m []map[string]any
	for _, ev := range c.Events {
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
	if fmt.Sprint(c.Lines) != "[2 3 4]" || !strings.HasPrefix(c.Rejects[0], "line 8: classification.type is missing") {
		t.Errorf("lines %v, rejects %v", c.Lines, c.Rejects)
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
		if err != nil || len(c.Events)+len(c.Rejects) != 0 {
			t.Errorf("%q: %v %v %v", input, err, c.Events, c.Rejects)
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
	if fmt.Sprint(c.Lines) != "[1 3]" || len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0], "line 2: line is longer than") {
		t.Errorf("events at %v, rejects %v", c.Lines, c.Rejects)
	}
	// A quoted field open across an overlong line.
	input = "192.0.2.1,\"open\n" + strings.Repeat("x", maxRecordLen+1) + "\n192.0.2.3,ok\n"
	c = mustParse(t, f, input)
	if fmt.Sprint(c.Lines) != "[3]" || len(c.Rejects) != 2 {
		t.Errorf("events at %v, rejects %v", c.Lines, c.Rejects)
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
	f.Add([]byte(`"0`), true, uint8('#')) // a header that cannot be read
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
		// The Collector checks every event.
		if _, err := harness.Parse(t, New(), parse.Input{R: bytes.NewReader(b), Feed: fd}, true); err != nil {
			if header && (strings.Contains(err.Error(), "csv.columns") || strings.Contains(err.Error(), "the header row cannot be read")) {
				return // the fuzzed header lacks the columns, or is broken
			}
			t.Fatalf("Parse: %v", err)
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
	f := parsetest.ReadFeed(b, "testdata/abusech-feodo/feed.json")
	parsetest.Bench(b, New(), parse.Input{Feed: f, Now: harness.Now}, all.Bytes())
	b.ReportMetric(float64(1000*bytes.Count(rows, []byte("\n"))), "rows/op")
}
