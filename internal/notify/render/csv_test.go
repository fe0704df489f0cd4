package render

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

// csvReference is what WriteCSV must write, built the plain way: every
// cell by name with Event.GetString, defused, and written by
// encoding/csv. The writer proper is faster; TestCSVReference and
// FuzzCSV hold it to this.
func csvReference(t testing.TB, items []Item, columns []string, flat bool) string {
	t.Helper()
	if columns == nil {
		for _, c := range csvColumns {
			if slices.ContainsFunc(items, func(it Item) bool { _, ok := it.Event.Get(c); return ok }) {
				columns = append(columns, c)
			}
		}
		var extra []string
		for _, it := range items {
			for k := range it.Event.Extra {
				if k != "" && !slices.Contains(extra, "extra."+k) {
					extra = append(extra, "extra."+k)
				}
			}
		}
		slices.Sort(extra)
		columns = append(append(columns, extra...), ColCount, ColFirstSeen, ColLastSeen)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	row := make([]string, len(columns))
	for i, c := range columns {
		row[i] = defuse(c)
	}
	w.Write(row)
	for _, it := range items {
		for j, c := range columns {
			var s string
			switch c {
			case ColCount:
				s = strconv.FormatInt(max(it.Count, 1), 10)
			case ColFirstSeen, ColLastSeen:
				tm := it.FirstSeen
				if c == ColLastSeen {
					tm = it.LastSeen
				}
				if !tm.IsZero() {
					s = event.FormatTime(tm)
				}
			default:
				s = it.Event.GetString(c)
			}
			if flat {
				s = oneLine(s, 0)
			}
			row[j] = defuse(s)
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func defuse(s string) string {
	if needsDefuse(s) {
		return "'" + s
	}
	return s
}

// awkward are cell texts at the edges of quoting, defusing and cleaning.
var awkward = []string{
	"", "plain", " lead", "trail ", "\u00a0nbsp", "\u3000ideographic", "\u0085next", "\u2028sep", `\.`, `\.x`, `\`,
	"a,b", `"`, `say "hi"`, "a\r\nb", "\r", "\n", "a\rb", "=1+1", "@x", "+1", "-1", "+", "-", "-.", "-1.5", "-1.5.5", "+46 8",
	"\t=1", "\v", "＝1", "＋", "－1", "＠", "\xef\xbc", "\xff\xfe", "bidi\u202eevil", "日本語", "x  y", strings.Repeat("é,", 300),
}

func TestCSVReference(t *testing.T) {
	var odd []Item
	for i, s := range awkward {
		e := build(t, "classification.type", "spam", "source.ip", "192.0.2.1", "extra.cell", s)
		e.SetExtra(s, "a key from the feed") // "" too, which is no column
		if s != "" {
			if err := e.Set("event_description.text", s); err != nil {
				t.Fatal(err)
			}
		}
		e.SetExtra("null", nil)
		e.SetExtra("n", int64(-i))
		e.SetExtra("f", float64(i)+0.25)
		e.SetExtra("b", i%2 == 0)
		e.SetExtra("nested", map[string]any{"<a>": []any{int64(i), "&", nil}})
		odd = append(odd, Item{ID: int64(i), Event: e, Count: int64(i % 3), LastSeen: testDate.Add(time.Duration(i) * 1500 * time.Microsecond)})
	}
	sets := map[string][]Item{"awkward": odd, "digest": digest(t).Items}
	if _, err := os.Stat(samplesDir); err == nil {
		sets["mixed"] = mixedDigest(t, 300, 0).Items
	}
	var many []Item // more than csvFlush bytes
	for len(many) < 2000 {
		many = append(many, sets["digest"]...)
	}
	sets["many"] = many
	columns := map[string][]string{
		"default": nil,
		"none":    {},
		"some":    {"extra.cell", "count", "source.ip", "extra.cell", "time.observation", "extra.absent", "last_seen", "extra.null"},
		"odd fields": {"raw", "source.geolocation.latitude", "source.tor_node", "rtir_id", "time.source", "source.network",
			"destination.port", "feed.accuracy", "extra.nested", "extra.f", "extra.b", "extra.n", "first_seen"},
	}
	for sn, items := range sets {
		for cn, cols := range columns {
			for _, flat := range []bool{false, true} {
				want := csvReference(t, items, cols, flat)
				got, err := appendCSV(nil, nil, items, cols, flat)
				if err != nil {
					t.Fatal(err)
				}
				diffCSV(t, sn+"/"+cn+"/flat="+strconv.FormatBool(flat), string(got), want)
				if !flat {
					var b bytes.Buffer
					if err := WriteCSV(&b, items, cols); err != nil {
						t.Fatal(err)
					}
					diffCSV(t, sn+"/"+cn+"/WriteCSV", b.String(), want)
				}
			}
		}
	}
}

func diffCSV(t *testing.T, name, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	gl, wl := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Errorf("%s: line %d differs:\ngot  %q\nwant %q", name, i+1, gl[i], wl[i])
			return
		}
	}
	t.Errorf("%s: %d lines, want %d", name, len(gl), len(wl))
}

func FuzzCSV(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		e := &event.Event{}
		e.SetExtra("a", a)
		e.SetExtra(b, a)
		if err := e.Set("event_description.text", b); err != nil {
			return // too long
		}
		items := []Item{{Event: e}, {Event: &event.Event{}}}
		for _, flat := range []bool{false, true} {
			got, err := appendCSV(nil, nil, items, nil, flat)
			if err != nil {
				t.Fatal(err)
			}
			if want := csvReference(t, items, nil, flat); string(got) != want {
				t.Fatalf("flat=%v:\ngot  %q\nwant %q", flat, got, want)
			}
		}
	})
}

func TestAppendTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	for _, tm := range []time.Time{
		time.Time{},
		time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, cet),
		time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
	} {
		want := ""
		if !tm.IsZero() {
			want = event.FormatTime(tm)
		}
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v) = %q, want %q", tm, got, want)
		}
		if got, want := formatRowTime(tm), tm.UTC().Format(rowTime); got != want {
			t.Errorf("formatRowTime(%v) = %q, want %q", tm, got, want)
		}
	}
}

// TestRenderConcurrent renders digests of several sizes, formats and
// languages at once, as the notifier does, and wants what rendering them
// one at a time gives: the pooled buffers and CSV writers are not
// shared.
func TestRenderConcurrent(t *testing.T) {
	r := mustNew(t, "")
	var jobs []*Data
	for _, f := range []string{FormatCSV, FormatInlineCSV, FormatJSON} {
		d := *digest(t)
		d.Format = f
		jobs = append(jobs, &d)
	}
	if _, err := os.Stat(samplesDir); err == nil {
		jobs = append(jobs, mixedDigest(t, 100, 10), mixedDigest(t, 150, 0))
	}
	langs := []string{"en", "sv", "pt", "vi"}
	want := make([]*Rendered, len(jobs))
	for i, d := range jobs {
		out, err := r.Render(d, []string{langs[i%len(langs)]})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = out
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(jobs))
	for g := range 8 {
		wg.Go(func() {
			for n := range 5 {
				i := (g + n) % len(jobs)
				out, err := r.Render(jobs[i], []string{langs[i%len(langs)]})
				switch {
				case err != nil:
					errs <- err.Error()
				case out.Text != want[i].Text || len(out.Attachments) != len(want[i].Attachments):
					errs <- "job " + strconv.Itoa(i) + ": text differs"
				default:
					for a := range out.Attachments {
						if !bytes.Equal(out.Attachments[a].Data, want[i].Attachments[a].Data) {
							errs <- "job " + strconv.Itoa(i) + ": attachment differs"
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteCSVError(t *testing.T) {
	if err := WriteCSV(errWriter{}, digest(t).Items, nil); err == nil || err.Error() != "disk full" {
		t.Errorf("WriteCSV to a failing writer: %v", err)
	}
}
