package ingest

import (
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/store"
	"github.com/tocsin/tocsin/internal/store/sqlite"
)

// lineParser is a small real parser for these tests: "ip,type" rows after a
// header line.
var lineParser = parse.Func(func(ctx context.Context, in parse.Input, out parse.Output) error {
	sc := bufio.NewScanner(in.R)
	var e event.Event
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			if sc.Text() != "ip,type" {
				return errors.New("not an ip,type report")
			}
			continue
		}
		if err := parse.Begin(&e, &in); err != nil {
			return err
		}
		ip, typ, _ := strings.Cut(sc.Text(), ",")
		e.TimeSource = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		err := errors.Join(e.Set("source.ip", ip), e.Set("classification.type", typ))
		if err != nil {
			if err := out.Reject(line, sc.Bytes(), err); err != nil {
				return err
			}
			continue
		}
		if err := out.Event(&e, line); err != nil {
			return err
		}
	}
	return sc.Err()
})

func newIngester(t *testing.T) (*Ingester, store.Store) {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(filepath.Join(dir, "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	feeds := feed.NewSet([]feed.Feed{{Name: "lines", Format: "lines"}})
	return &Ingester{Store: s, Feeds: feeds, Parsers: map[string]parse.Parser{"lines": lineParser}, RawDir: filepath.Join(dir, "raw"),
		Now: func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }}, s
}

func countEvents(t *testing.T, s store.Store) (n int, total int64) {
	t.Helper()
	for e, err := range s.Events(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		total += e.Count
	}
	return n, total
}

func TestIngestCompressedAndIdempotent(t *testing.T) {
	dir := t.TempDir()
	plainPath := filepath.Join("testdata", "simple.csv")
	data, err := os.ReadFile(plainPath)
	if err != nil {
		t.Fatal(err)
	}
	gzPath := filepath.Join(dir, "simple.csv.gz")
	f, _ := os.Create(gzPath)
	zw := gzip.NewWriter(f)
	zw.Write(data)
	zw.Close()
	f.Close()

	in, s := newIngester(t)
	ctx := context.Background()
	opts := Options{Feed: "lines"}
	r, err := in.File(ctx, plainPath, opts)
	if err != nil {
		t.Fatal(err)
	}
	// 4 rows: two distinct events, one duplicate, one quarantined.
	if r != (Result{Reports: 1, Events: 2, Duplicates: 1, Quarantined: 1}) {
		t.Errorf("first ingest %+v", r)
	}
	// The same content, compressed two ways, is the same report.
	for _, p := range []string{gzPath, filepath.Join("testdata", "simple.csv.bz2"), plainPath} {
		r, err := in.File(ctx, p, opts)
		if err != nil {
			t.Fatal(err)
		}
		if r != (Result{Known: 1}) {
			t.Errorf("re-ingest of %s: %+v, want known", p, r)
		}
	}
	if n, total := countEvents(t, s); n != 2 || total != 3 {
		t.Errorf("%d events with %d sightings, want 2 and 3", n, total)
	}
	var q []*store.Quarantined
	for r, err := range s.Quarantined(ctx, store.QuarantineFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		q = append(q, r)
	}
	if len(q) != 1 || q[0].Line != 4 || q[0].File != "simple.csv" || string(q[0].Raw) != "not-an-ip,scanner" || !strings.Contains(q[0].Reason, "source.ip") {
		t.Errorf("quarantine = %+v", q)
	}
	// The raw report is kept once, under its content hash.
	raws, _ := filepath.Glob(filepath.Join(in.RawDir, "*", "*"))
	if len(raws) != 1 {
		t.Errorf("raw store holds %v, want one file", raws)
	}
	if tmp, _ := filepath.Glob(filepath.Join(in.RawDir, ".incoming-*")); len(tmp) != 0 {
		t.Errorf("temporary raw files left: %v", tmp)
	}
}

func TestIngestZipMembers(t *testing.T) {
	dir := t.TempDir()
	zpath := filepath.Join(dir, "reports.zip")
	f, _ := os.Create(zpath)
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{
		"a.csv": "ip,type\n198.51.100.1,scanner\n",
		"b.csv": "ip,type\n198.51.100.2,brute-force\n198.51.100.3,brute-force\n",
		"c.csv": "garbage\n",
	} {
		w, _ := zw.Create("sub/" + name)
		w.Write([]byte(body))
	}
	zw.Close()
	f.Close()
	in, s := newIngester(t)
	r, err := in.File(context.Background(), zpath, Options{Feed: "lines"})
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "reports.zip:c.csv") {
		t.Errorf("error %v, want one naming reports.zip:c.csv", err)
	}
	if r.Reports != 2 || r.Events != 3 {
		t.Errorf("result %+v, want 2 reports, 3 events", r)
	}
	if n, _ := countEvents(t, s); n != 3 {
		t.Errorf("%d events stored", n)
	}
}

func TestBadFileTouchesNothing(t *testing.T) {
	in, s := newIngester(t)
	ctx := context.Background()
	if _, err := in.File(ctx, filepath.Join("testdata", "simple.csv"), Options{Feed: "lines"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("this is not the format\n192.0.2.9,scanner\n"), 0o644)
	truncated := filepath.Join(dir, "cut.csv.gz")
	var buf strings.Builder
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Repeat("ip,type\n192.0.2.77,scanner\n", 1000)))
	zw.Close()
	os.WriteFile(truncated, []byte(buf.String()[:buf.Len()/2]), 0o644)

	paths := []string{bad, filepath.Join(dir, "missing.csv"), truncated}
	r, err := in.Files(ctx, paths, Options{Feed: "lines"})
	if err == nil {
		t.Fatal("no error for unreadable files")
	}
	for _, p := range paths {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %s", err, p)
		}
	}
	if r.Reports != 0 || r.Events != 0 {
		t.Errorf("result %+v, want nothing stored", r)
	}
	if n, total := countEvents(t, s); n != 2 || total != 3 {
		t.Errorf("stored events changed: %d events, %d sightings", n, total)
	}
	// A failed report may be ingested once fixed: nothing of it was kept.
	os.WriteFile(bad, []byte("ip,type\n192.0.2.9,scanner\n"), 0o644)
	if r, err := in.File(ctx, bad, Options{Feed: "lines"}); err != nil || r.Events != 1 {
		t.Errorf("fixed file: %+v %v", r, err)
	}
}

func TestUnknownFeed(t *testing.T) {
	in, _ := newIngester(t)
	_, err := in.File(context.Background(), filepath.Join("testdata", "simple.csv"), Options{})
	if err == nil || !strings.Contains(err.Error(), "--feed") {
		t.Errorf("error %v, want advice to use --feed", err)
	}
	_, err = in.File(context.Background(), filepath.Join("testdata", "simple.csv"), Options{Feed: "nope"})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error %v, want it to name the feed", err)
	}
}

func TestLargeReportDedupKeys(t *testing.T) {
	in, s := newIngester(t)
	path := filepath.Join(t.TempDir(), "big.csv")
	var b strings.Builder
	b.WriteString("ip,type\n")
	const n = 20000
	for i := range n {
		// each address twice, far apart: the second is in a later batch
		j := i % (n / 2)
		b.WriteString("10." + itoa(j/65536) + "." + itoa(j/256%256) + "." + itoa(j%256) + ",scanner\n")
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	r, err := in.File(context.Background(), path, Options{Feed: "lines"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != n/2 || r.Duplicates != n/2 {
		t.Errorf("result %+v, want %d events and %d duplicates", r, n/2, n/2)
	}
	if got, total := countEvents(t, s); got != n/2 || total != n {
		t.Errorf("stored %d events, %d sightings", got, total)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
