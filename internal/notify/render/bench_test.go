package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/shadowserver"
)

// samplesDir holds IntelMQ's Shadowserver test files, one per report
// type, in ../shared/data next to the repository.
var samplesDir = filepath.Join("..", "..", "..", "..", "shared", "data", "feeds", "intelmq", "parsers@d624988", "shadowserver", "testdata")

// collect is a parse.Output that keeps a copy of every event and skips
// rejected rows.
type collect struct{ events []*event.Event }

func (c *collect) Event(e *event.Event, line int) error {
	var x event.Event
	if err := x.UnmarshalJSON(e.AppendJSON(nil)); err != nil {
		return err
	}
	c.events = append(c.events, &x)
	return nil
}

func (c *collect) Reject(int, []byte, error) error { return nil }

// mixedDigest is a notification of n Shadowserver events taken in turn
// from the first kinds of report (of those IntelMQ has a sample of, in
// the order of their names) or from all when kinds is 0: the first makes
// a digest of about 150 columns, the second of about 450, as the notifier
// makes for an organisation that many feeds report on.
func mixedDigest(tb testing.TB, n, kinds int) *Data {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.csv"))
	if err != nil || len(files) == 0 {
		tb.Skipf("needs the Shadowserver samples at %s (../shared/data next to the repository)", samplesDir)
	}
	slices.Sort(files)
	p := shadowserver.New(shadowserver.Embedded())
	f := feed.Builtin()["shadowserver"]
	var reports [][]*event.Event
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out := &collect{}
		in := parse.Input{R: bytes.NewReader(b), Name: filepath.Base(name), Feed: f, Now: testDate.Add(-time.Hour)}
		if err := p.Parse(context.Background(), in, out); err != nil || len(out.events) == 0 {
			continue // a report type the schema does not know
		}
		reports = append(reports, out.events)
	}
	if kinds > 0 && kinds < len(reports) {
		// Every so many, for a mix of scans, sinkholes and honeypots.
		var some [][]*event.Event
		for i := range kinds {
			some = append(some, reports[i*len(reports)/kinds])
		}
		reports = some
	}
	d := &Data{Ident: "TOCSIN-20261124-000123", Date: testDate, OrgID: "org-42", OrgName: "Example AB",
		Recipient: "abuse@example.se", Sender: testSender}
	for i := 0; len(d.Items) < n; i++ {
		r := reports[i%len(reports)]
		e := r[(i/len(reports))%len(r)]
		first := testDate.Add(-time.Duration(48+i) * time.Hour)
		d.Items = append(d.Items, Item{ID: int64(1000 + i), Event: e, Count: int64(1 + i%3), FirstSeen: first, LastSeen: first.Add(time.Duration(i) * time.Hour)})
	}
	return d
}

// digestKinds are the mixes of the benchmarks: 10 kinds of report
// (about 150 columns) and every kind (about 450).
var digestKinds = []struct {
	name  string
	kinds int
}{{"kinds=10", 10}, {"kinds=all", 0}}

// BenchmarkRenderMixed renders a digest of 100 Shadowserver events with a
// CSV attachment: the notifier's usual message.
func BenchmarkRenderMixed(b *testing.B) {
	r := mustNew(b, "")
	for _, k := range digestKinds {
		b.Run(k.name, func(b *testing.B) {
			d := mixedDigest(b, 100, k.kinds)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Render(d, []string{"en"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCSV writes the CSV attachment of the mixed digests.
func BenchmarkCSV(b *testing.B) {
	for _, k := range digestKinds {
		b.Run(k.name, func(b *testing.B) {
			d := mixedDigest(b, 100, k.kinds)
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := WriteCSV(&buf, d.Items, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(d.Items)), "ns/row")
			b.ReportMetric(float64(len(DefaultColumns(d.Items))), "columns")
		})
	}
}
