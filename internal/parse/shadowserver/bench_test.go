package shadowserver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tocsin/tocsin/internal/event"
)

// benchReport is one sample report with its rows repeated.
type benchReport struct {
	name string
	data []byte
	rows int
}

// benchReports builds about total rows from IntelMQ's samples, an equal
// share for every report type the schema reads, each sample's rows
// repeated under its header.
func benchReports(b *testing.B, total int) []benchReport {
	b.Helper()
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.csv"))
	if len(files) == 0 {
		b.Skipf("Shadowserver samples not found: %s is missing (they live in ../shared/data beside the repository)", samplesDir)
	}
	sort.Strings(files)
	var reps []benchReport
	for _, f := range files {
		base := filepath.Base(f)
		if _, bad := expectedFailures[base]; bad {
			continue
		}
		if _, bad := expectedRejects[base]; bad {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		reps = append(reps, benchReport{name: base, data: data})
	}
	share := total / len(reps)
	for i := range reps {
		r := &reps[i]
		header, body, _ := bytes.Cut(r.data, []byte("\n"))
		body = bytes.TrimRight(body, "\n")
		n := bytes.Count(body, []byte("\n")) + 1
		var buf bytes.Buffer
		buf.Write(header)
		buf.WriteByte('\n')
		for r.rows = 0; r.rows < share; r.rows += n {
			buf.Write(body)
			buf.WriteByte('\n')
		}
		r.data = buf.Bytes()
	}
	return reps
}

// discard is a parse.Output that counts and drops.
type discard struct{ events, rejects int }

func (d *discard) Event(*event.Event, int) error { d.events++; return nil }
func (d *discard) Reject(int, []byte, error) error {
	d.rejects++
	return nil
}

// BenchmarkParse parses about 100,000 rows of a mix of every sample report
// per iteration; rows/s is the figure that matters.
func BenchmarkParse(b *testing.B) {
	reps := benchReports(b, 100_000)
	p := New(nil)
	rows, size := 0, 0
	for _, r := range reps {
		rows += r.rows
		size += len(r.data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		var d discard
		for _, r := range reps {
			if err := p.Parse(context.Background(), input(r.name, "", r.data), &d); err != nil {
				b.Fatal(err)
			}
		}
		if d.events != rows || d.rejects != 0 {
			b.Fatalf("%d events and %d rejects, want %d events", d.events, d.rejects, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
	b.ReportMetric(float64(rows), "rows/op")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		// Rows per second of CPU time (garbage collection included), which
		// a busy machine does not distort the way it distorts rows/s.
		b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
	}
}

// BenchmarkCSVReader reads the same rows as BenchmarkParse and does
// nothing else: the reader's share of a row's cost.
func BenchmarkCSVReader(b *testing.B) {
	reps := benchReports(b, 100_000)
	rows, size := 0, 0
	for _, r := range reps {
		rows += r.rows + 1
		size += len(r.data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		n := 0
		for _, r := range reps {
			cr := newCSVReader(bytes.NewReader(r.data))
			for cr.next() == nil {
				n++
			}
		}
		if n != rows {
			b.Fatalf("%d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(rows), "cpu-ns/row")
	}
}
