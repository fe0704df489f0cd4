// Package storetest is the conformance suite every store.Store must pass.
// Each implementation's test calls Run with a function that opens a fresh,
// empty store.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/store"
)

// Open returns a fresh, empty store. Run closes it.
type Open func(t *testing.T) store.Store

// Run runs the conformance suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"KnownReport", testKnownReport},
		{"RollbackLeavesNothing", testRollback},
		{"DedupWithinReport", testDedupWithin},
		{"DedupAcrossReports", testDedupAcross},
		{"PartitionsAreSeparate", testPartitions},
		{"Quarantine", testQuarantine},
		{"Filters", testFilters},
		{"LargeReport", testLarge},
		{"ConcurrentIngest", testConcurrent},
		{"Reports", testReports},
		{"ReportBase", testReportBase},
		{"EventsByOrg", testEventsByOrg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tt.fn(t, s)
		})
	}
}

var base = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).Unix()

func report(name string) store.Report {
	sum := sha256.Sum256([]byte(name))
	return store.Report{SHA256: hex.EncodeToString(sum[:]), Name: name, Feed: "test", Type: "t", Size: 123,
		ReceivedAt: time.Unix(base+3600, 0).UTC()}
}

func rec(feed, typ string, key uint64, t int64, ip string) store.Record {
	return store.Record{
		Part: store.Part{Feed: feed, Type: typ, Bucket: t - t%86400},
		Key:  key, Time: t, SourceIP: ip, Line: int(key),
		Doc: []byte(fmt.Sprintf(`{"feed.name":%q,"classification.type":%q,"source.ip":%q,"extra.key":%d,"extra.note":"ü \u0000 <>"}`, feed, typ, ip, key)),
	}
}

func ingest(t *testing.T, s store.Store, r store.Report, recs []store.Record, q []store.Quarantined) store.Totals {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx, r)
	if err != nil {
		t.Fatalf("Begin(%s): %v", r.Name, err)
	}
	defer tx.Rollback()
	if len(recs) > 0 {
		if _, err := tx.Add(ctx, recs); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if len(q) > 0 {
		if err := tx.Quarantine(ctx, q); err != nil {
			t.Fatalf("Quarantine: %v", err)
		}
	}
	tot, err := tx.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return tot
}

func events(t *testing.T, s store.Store, f store.Filter) []*store.Event {
	t.Helper()
	var out []*store.Event
	for e, err := range s.Events(context.Background(), f) {
		if err != nil {
			t.Fatalf("Events(%+v): %v", f, err)
		}
		out = append(out, e)
	}
	return out
}

func testRoundTrip(t *testing.T, s store.Store) {
	// The second key has the top bit set: stored as a signed 64-bit
	// integer, it must come back unchanged.
	recs := []store.Record{rec("f", "scanner", 1, base+10, "192.0.2.1"), rec("f", "scanner", 1<<63|2, base+20, "2001:db8::1")}
	recs[1].Line = 2
	tot := ingest(t, s, report("a"), recs, nil)
	if tot != (store.Totals{Events: 2}) {
		t.Errorf("totals %+v, want 2 events", tot)
	}
	got := events(t, s, store.Filter{})
	if len(got) != 2 {
		t.Fatalf("%d events, want 2", len(got))
	}
	for i, e := range got {
		if string(e.Doc) != string(recs[i].Doc) {
			t.Errorf("event %d doc %s, want %s", i, e.Doc, recs[i].Doc)
		}
		if e.Count != 1 || e.FirstSeen.Unix() != recs[i].Time || e.LastSeen.Unix() != recs[i].Time {
			t.Errorf("event %d count/seen = %d %v %v", i, e.Count, e.FirstSeen, e.LastSeen)
		}
		if e.Feed != "f" || e.Type != "scanner" || e.Key != recs[i].Key || e.Line != recs[i].Line || e.ReportID == 0 {
			t.Errorf("event %d = %+v", i, e)
		}
		if i > 0 && e.ID <= got[i-1].ID {
			t.Errorf("IDs not ascending: %d after %d", e.ID, got[i-1].ID)
		}
	}
}

func testKnownReport(t *testing.T, s store.Store) {
	ingest(t, s, report("a"), []store.Record{rec("f", "scanner", 1, base, "192.0.2.1")}, nil)
	_, err := s.Begin(context.Background(), report("a"))
	if !errors.Is(err, store.ErrKnownReport) {
		t.Fatalf("second Begin of the same report: %v, want ErrKnownReport", err)
	}
	if n := len(events(t, s, store.Filter{})); n != 1 {
		t.Errorf("%d events after refused report, want 1", n)
	}
}

func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	ingest(t, s, report("keep"), []store.Record{rec("f", "scanner", 1, base, "192.0.2.1")}, nil)
	tx, err := s.Begin(ctx, report("b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Add(ctx, []store.Record{rec("f", "scanner", 1, base+5, "192.0.2.1"), rec("f", "scanner", 2, base, "192.0.2.2")}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Quarantine(ctx, []store.Quarantined{{File: "b", Line: 3, Reason: "bad"}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	got := events(t, s, store.Filter{})
	if len(got) != 1 || got[0].Count != 1 || got[0].LastSeen.Unix() != base {
		t.Fatalf("after rollback: %+v, want the one earlier event untouched", got)
	}
	for q, err := range s.Quarantined(ctx, store.QuarantineFilter{}) {
		t.Fatalf("quarantine after rollback: %+v %v", q, err)
	}
	// The rolled-back report may be ingested again.
	tot := ingest(t, s, report("b"), []store.Record{rec("f", "scanner", 2, base, "192.0.2.2")}, nil)
	if tot.Events != 1 {
		t.Errorf("re-ingest after rollback: %+v", tot)
	}
}

func testDedupWithin(t *testing.T, s store.Store) {
	ctx := context.Background()
	tx, err := s.Begin(ctx, report("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	a1, err := tx.Add(ctx, []store.Record{rec("f", "scanner", 7, base+50, "192.0.2.7"), rec("f", "scanner", 7, base+10, "192.0.2.7"), rec("f", "scanner", 8, base, "192.0.2.8")})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := tx.Add(ctx, []store.Record{rec("f", "scanner", 7, base+90, "192.0.2.7")})
	if err != nil {
		t.Fatal(err)
	}
	if a1 != (store.Added{Events: 2, Duplicates: 1}) || a2 != (store.Added{Duplicates: 1}) {
		t.Errorf("Added %+v then %+v", a1, a2)
	}
	tot, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tot != (store.Totals{Events: 2, Duplicates: 2}) {
		t.Errorf("totals %+v", tot)
	}
	got := events(t, s, store.Filter{IP: "192.0.2.7"})
	if len(got) != 1 || got[0].Count != 3 || got[0].FirstSeen.Unix() != base+10 || got[0].LastSeen.Unix() != base+90 {
		t.Fatalf("deduplicated event = %+v, want count 3, seen base+10..base+90", got)
	}
}

func testDedupAcross(t *testing.T, s store.Store) {
	ingest(t, s, report("a"), []store.Record{rec("f", "scanner", 1, base+100, "192.0.2.1"), rec("f", "scanner", 2, base, "192.0.2.2")}, nil)
	// An overlapping report: one old event, one new.
	tot := ingest(t, s, report("b"), []store.Record{rec("f", "scanner", 1, base+5, "192.0.2.1"), rec("f", "scanner", 3, base, "192.0.2.3")}, nil)
	if tot != (store.Totals{Events: 1, Duplicates: 1}) {
		t.Errorf("overlapping report totals %+v, want 1 new, 1 duplicate", tot)
	}
	got := events(t, s, store.Filter{})
	if len(got) != 3 {
		t.Fatalf("%d events, want 3", len(got))
	}
	if got[0].Count != 2 || got[0].FirstSeen.Unix() != base+5 || got[0].LastSeen.Unix() != base+100 {
		t.Errorf("re-seen event %+v", got[0])
	}
	if string(got[0].Doc) != string(rec("f", "scanner", 1, 0, "192.0.2.1").Doc) {
		t.Errorf("a duplicate changed the stored document: %s", got[0].Doc)
	}
}

func testPartitions(t *testing.T, s store.Store) {
	recs := []store.Record{
		rec("f", "scanner", 1, base, "192.0.2.1"),
		rec("g", "scanner", 1, base, "192.0.2.1"),       // other feed
		rec("f", "brute-force", 1, base, "192.0.2.1"),   // other type
		rec("f", "scanner", 1, base+86400, "192.0.2.1"), // next day
	}
	tot := ingest(t, s, report("a"), recs, nil)
	if tot.Events != 4 || tot.Duplicates != 0 {
		t.Errorf("totals %+v, want 4 distinct events", tot)
	}
}

func testQuarantine(t *testing.T, s store.Store) {
	ctx := context.Background()
	q := []store.Quarantined{
		{File: "scan_x.csv", Feed: "shadowserver", Line: 3, Reason: "source.ip: \"x\" is not an IP address", Raw: []byte("x,y\x00,\"z"), At: time.Unix(base, 0).UTC()},
		{File: "scan_x.csv", Feed: "shadowserver", Line: 9, Reason: "too few columns", Raw: []byte("a"), At: time.Unix(base, 0).UTC()},
	}
	tot := ingest(t, s, report("a"), []store.Record{rec("f", "scanner", 1, base, "192.0.2.1")}, q)
	if tot.Quarantined != 2 || tot.Events != 1 {
		t.Errorf("totals %+v", tot)
	}
	var got []*store.Quarantined
	for r, err := range s.Quarantined(ctx, store.QuarantineFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 2 {
		t.Fatalf("%d quarantined, want 2", len(got))
	}
	for i := range got {
		w := q[i]
		g := got[i]
		if g.File != w.File || g.Feed != w.Feed || g.Line != w.Line || g.Reason != w.Reason || string(g.Raw) != string(w.Raw) || !g.At.Equal(w.At) || g.ReportID == 0 {
			t.Errorf("quarantined %d = %+v, want %+v", i, g, w)
		}
	}
	n := 0
	for _, err := range s.Quarantined(ctx, store.QuarantineFilter{Feed: "other"}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 0 {
		t.Errorf("feed filter let %d through", n)
	}
}

func testFilters(t *testing.T, s store.Store) {
	recs := []store.Record{
		rec("f", "scanner", 1, base, "192.0.2.1"),
		rec("f", "brute-force", 2, base+86400, "192.0.2.2"),
		rec("g", "scanner", 3, base+2*86400, "192.0.2.1"),
		rec("g", "phishing", 4, base+3*86400, ""),
	}
	recs[0].Org, recs[3].Org = "manual:example", "manual:example"
	ingest(t, s, report("a"), recs, nil)
	count := func(f store.Filter) int { return len(events(t, s, f)) }
	cases := []struct {
		f    store.Filter
		want int
	}{
		{store.Filter{}, 4},
		{store.Filter{Feed: "f"}, 2},
		{store.Filter{Type: "scanner"}, 2},
		{store.Filter{Feed: "g", Type: "scanner"}, 1},
		{store.Filter{IP: "192.0.2.1"}, 2},
		{store.Filter{IP: "192.0.2.9"}, 0},
		{store.Filter{Since: time.Unix(base+86400, 0)}, 3},
		{store.Filter{Limit: 3}, 3},
		{store.Filter{Org: "manual:example"}, 2},
		{store.Filter{Org: "manual:example", Type: "phishing"}, 1},
		{store.Filter{Org: "manual:other"}, 0},
	}
	for _, c := range cases {
		if got := count(c.f); got != c.want {
			t.Errorf("Events(%+v) = %d, want %d", c.f, got, c.want)
		}
	}
	all := events(t, s, store.Filter{})
	if n := count(store.Filter{AfterID: all[1].ID}); n != 2 {
		t.Errorf("AfterID: %d, want 2", n)
	}
}

// testEventsByOrg: the events of every owner in one pass, ordered by
// owner and ID, the same events (with their bases) as a query per owner.
func testEventsByOrg(t *testing.T, s store.Store) {
	oe, ok := s.(store.OrgEvents)
	if !ok {
		t.Skip("the store has no EventsByOrg")
	}
	orgs := []string{"manual:b", "manual:a", "", "manual:c", "manual:a"}
	for r := range 3 {
		var recs []store.Record
		for i := range 40 {
			x := rec("f", "scanner", uint64(r*100+i), base+int64(i)*3600, "192.0.2."+strconv.Itoa(i))
			x.Org = orgs[(r+i)%len(orgs)]
			recs = append(recs, x)
		}
		rep := report("by-org-" + strconv.Itoa(r))
		tx, err := s.Begin(context.Background(), rep)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.SetBase(context.Background(), []byte("base of "+rep.Name)); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Add(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	since := time.Unix(base+10*3600, 0)
	var got []*store.Event
	for e, err := range oe.EventsByOrg(context.Background(), since) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	var want []*store.Event
	for _, org := range []string{"manual:a", "manual:b", "manual:c"} {
		for _, e := range events(t, s, store.Filter{Org: org, Since: since}) {
			e.Org = org
			want = append(want, e)
		}
	}
	if len(got) != len(want) || len(want) != 3*30*4/5 {
		t.Fatalf("%d events by organisation, %d by queries per organisation, want %d", len(got), len(want), 3*30*4/5)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Org != w.Org || g.ID != w.ID || g.Key != w.Key || g.Count != w.Count || !g.LastSeen.Equal(w.LastSeen) ||
			!bytes.Equal(g.Doc, w.Doc) || !bytes.Equal(g.Base, w.Base) || len(g.Base) == 0 {
			t.Fatalf("event %d: %+v, want %+v", i, g, w)
		}
	}
	// Stopping early is fine, and leaves the store usable.
	for range oe.EventsByOrg(context.Background(), time.Time{}) {
		break
	}
	if n := len(events(t, s, store.Filter{Org: "manual:a"})); n != 48 {
		t.Errorf("after an early stop: %d events of manual:a, want 48", n)
	}
}

func testLarge(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 30000
	tx, err := s.Begin(ctx, report("large"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var added store.Added
	batch := make([]store.Record, 0, 1000)
	for i := range n {
		// every tenth record repeats an earlier key
		k := uint64(i)
		if i%10 == 9 {
			k = uint64(i - 5)
		}
		batch = append(batch, rec("big", "scanner", k, base+int64(i%86400), "198.51.100."+strconv.Itoa(i%256)))
		if len(batch) == cap(batch) {
			a, err := tx.Add(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			added.Events += a.Events
			added.Duplicates += a.Duplicates
			batch = batch[:0]
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if added.Events != n-n/10 || added.Duplicates != n/10 {
		t.Errorf("added %+v, want %d events and %d duplicates", added, n-n/10, n/10)
	}
	got := events(t, s, store.Filter{})
	if len(got) != n-n/10 {
		t.Fatalf("%d events stored", len(got))
	}
	var total int64
	for _, e := range got {
		total += e.Count
	}
	if total != n {
		t.Errorf("counts add up to %d, want %d", total, n)
	}
}

// testConcurrent ingests overlapping reports from several goroutines: every
// key must end up stored once, with all sightings counted.
func testConcurrent(t *testing.T, s store.Store) {
	const workers, per = 4, 500
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			tx, err := s.Begin(ctx, report("worker"+strconv.Itoa(w)))
			if err != nil {
				errs <- err
				return
			}
			defer tx.Rollback()
			recs := make([]store.Record, 0, per)
			for i := range per {
				recs = append(recs, rec("c", "scanner", uint64(i+w*per/2), base, "192.0.2.1"))
			}
			if _, err := tx.Add(ctx, recs); err != nil {
				errs <- err
				return
			}
			if _, err := tx.Commit(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := events(t, s, store.Filter{})
	wantDistinct := per + (workers-1)*per/2
	if len(got) != wantDistinct {
		t.Errorf("%d distinct events, want %d", len(got), wantDistinct)
	}
	var total int64
	for _, e := range got {
		total += e.Count
	}
	if total != workers*per {
		t.Errorf("counts add up to %d, want %d", total, workers*per)
	}
}

func testReports(t *testing.T, s store.Store) {
	ingest(t, s, report("a"), []store.Record{rec("f", "scanner", 1, base, "192.0.2.1")}, []store.Quarantined{{File: "a", Line: 2, Reason: "x"}})
	ingest(t, s, report("b"), []store.Record{rec("f", "scanner", 1, base, "192.0.2.1")}, nil)
	var got []*store.Report
	for r, err := range s.Reports(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 2 {
		t.Fatalf("%d reports, want 2", len(got))
	}
	want := report("a")
	g := got[0]
	if g.SHA256 != want.SHA256 || g.Name != "a" || g.Feed != "test" || g.Type != "t" || g.Size != 123 || !g.ReceivedAt.Equal(want.ReceivedAt) || g.ID == 0 {
		t.Errorf("report = %+v, want %+v", g, want)
	}
	if g.Totals != (store.Totals{Events: 1, Quarantined: 1}) || got[1].Totals != (store.Totals{Duplicates: 1}) {
		t.Errorf("totals %+v and %+v", g.Totals, got[1].Totals)
	}
}

func testReportBase(t *testing.T, s store.Store) {
	ctx := context.Background()
	ingest(t, s, report("plain"), []store.Record{rec("f", "scanner", 1, base, "192.0.2.1")}, nil)
	tx, err := s.Begin(ctx, report("based"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	b := []byte{2, 0, 255, 'x'}
	if err := tx.SetBase(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Add(ctx, []store.Record{rec("f", "scanner", 2, base, "192.0.2.2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := events(t, s, store.Filter{})
	if len(got) != 2 || got[0].Base != nil || string(got[1].Base) != string(b) {
		t.Errorf("bases: %q and %q, want none and %q", got[0].Base, got[1].Base, b)
	}
}
