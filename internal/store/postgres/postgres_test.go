package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tocsin/tocsin/internal/store"
	"github.com/tocsin/tocsin/internal/store/storetest"
)

const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testURL is the server the tests use: TOCSIN_TEST_POSTGRES, else the local
// one DESIGN.md describes.
func testURL() string {
	if u := os.Getenv("TOCSIN_TEST_POSTGRES"); u != "" {
		return u
	}
	return defaultTestURL
}

// newSchema creates an empty schema for one test, dropped when it ends, and
// returns a connection string whose search_path is that schema. Without a
// server it skips the test, or fails it when CI is set.
func newSchema(tb testing.TB) string {
	tb.Helper()
	base := testURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		where := "TOCSIN_TEST_POSTGRES"
		if cfg, perr := pgx.ParseConfig(base); perr == nil {
			where = fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
		}
		msg := fmt.Sprintf("PostgreSQL at %s is not reachable: %v\n"+
			"start it with `pg_ctlcluster --skip-systemctl-redirect 15 main start`, or point TOCSIN_TEST_POSTGRES at another server", where, err)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	defer c.Close(context.Background())
	name := "tocsin_test_" + rand.Text()[:16]
	name = strings.ToLower(name)
	if _, err := c.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("create schema %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return withParam(tb, base, "search_path", name)
}

// withParam adds key=value to the connection string base, a URL or a
// keyword/value string.
func withParam(tb testing.TB, base, key, value string) string {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatalf("TOCSIN_TEST_POSTGRES: %v", err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " " + key + "=" + value
}

func open(tb testing.TB, url string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, newSchema(t))
	})
}

func report(name string) store.Report {
	sum := sha256.Sum256([]byte(name))
	return store.Report{SHA256: hex.EncodeToString(sum[:]), Name: name, Feed: "test", Size: 1, ReceivedAt: time.Unix(1_800_000_000, 0)}
}

const day = 86400

func rec(feed string, bucket int64, key uint64) store.Record {
	return store.Record{Part: store.Part{Feed: feed, Type: "scanner", Bucket: bucket}, Key: key, Time: bucket + 1,
		SourceIP: "192.0.2.1", Line: int(key), Doc: []byte(fmt.Sprintf(`{"extra.key":%d}`, key))}
}

func migrationsApplied(t *testing.T, url string) int {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newSchema(t)
	s := open(t, u)
	tx, err := s.Begin(ctx, report("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Add(ctx, []store.Record{rec("f", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, u) // migrations must not run twice
	defer s.Close()
	if n := migrationsApplied(t, u); n != len(migrations) {
		t.Errorf("%d migrations recorded, want %d", n, len(migrations))
	}
	n := 0
	for _, err := range s.Events(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d events after reopening, want 1", n)
	}
}

func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	const procs = 6
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i := range procs {
		wg.Go(func() {
			s, err := Open(context.Background(), u)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := migrationsApplied(t, u); n != len(migrations) {
		t.Errorf("%d migrations recorded, want %d", n, len(migrations))
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	if _, err := Open(context.Background(), withParam(t, testURL(), "search_path", "tocsin_no_such_schema")); err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Errorf("Open with a missing schema: %v, want an error naming search_path", err)
	}
	if _, err := Open(context.Background(), withParam(t, u, "pool_max_conns", "x")); err == nil || !strings.Contains(err.Error(), "pool_max_conns") {
		t.Errorf("Open with a bad pool_max_conns: %v", err)
	}
	s, err := Open(context.Background(), withParam(t, u, "pool_max_conns", "1"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	c, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), `INSERT INTO schema_migrations (version) VALUES (999)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), u); err == nil || !strings.Contains(err.Error(), "upgrade tocsin") {
		t.Errorf("Open of a newer schema: %v, want a request to upgrade", err)
	}
}

// A Begin of a report being stored by another Tx waits for it: refused when
// it commits, let through when it rolls back.
func TestConcurrentBeginSameReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	for _, commit := range []bool{true, false} {
		r := report(fmt.Sprint("r", commit))
		first, err := s.Begin(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			tx, err := s.Begin(ctx, r)
			if err == nil {
				tx.Rollback()
			}
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("second Begin returned %v while the first is open", err)
		case <-time.After(200 * time.Millisecond):
		}
		if commit {
			if _, err := first.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-done; !errors.Is(err, store.ErrKnownReport) {
				t.Errorf("second Begin after the first committed: %v, want ErrKnownReport", err)
			}
		} else {
			first.Rollback()
			if err := <-done; err != nil {
				t.Errorf("second Begin after the first rolled back: %v", err)
			}
		}
	}
}

// A Tx adding to a partition another Tx holds waits for it, then counts the
// other's events as duplicates. The records come in the opposite order of
// the first Tx's: locks are taken sorted, so this cannot deadlock.
func TestPartitionLockWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	tx1, err := s.Begin(ctx, report("1"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback()
	if _, err := tx1.Add(ctx, []store.Record{rec("a", 0, 1), rec("b", day, 1)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan store.Added, 1)
	go func() {
		tx2, err := s.Begin(ctx, report("2"))
		if err != nil {
			t.Error(err)
			done <- store.Added{}
			return
		}
		defer tx2.Rollback()
		a, err := tx2.Add(ctx, []store.Record{rec("b", day, 1), rec("a", 0, 1), rec("a", 0, 2)})
		if err != nil {
			t.Error(err)
		}
		if _, err := tx2.Commit(ctx); err != nil {
			t.Error(err)
		}
		done <- a
	}()
	select {
	case a := <-done:
		t.Fatalf("second Add returned %+v while the first Tx holds its partitions", a)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if a := <-done; a != (store.Added{Events: 1, Duplicates: 2}) {
		t.Errorf("second Add = %+v, want 1 event and 2 duplicates", a)
	}
}

// Two Txs taking partitions in opposite orders over several Adds deadlock;
// PostgreSQL breaks it, one Add fails with an error that says what to do,
// and the other report goes through.
func TestDeadlockIsReported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	tx1, err := s.Begin(ctx, report("1"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback()
	tx2, err := s.Begin(ctx, report("2"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx2.Rollback()
	if _, err := tx1.Add(ctx, []store.Record{rec("a", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx2.Add(ctx, []store.Record{rec("b", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	finish := func(tx store.Tx, r store.Record) {
		_, err := tx.Add(ctx, []store.Record{r})
		if err == nil {
			_, err = tx.Commit(ctx)
		} else {
			tx.Rollback() // lets the other go on
		}
		errs <- err
	}
	go finish(tx1, rec("b", 0, 2))
	go finish(tx2, rec("a", 0, 2))
	var failed []error
	for range 2 {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0].Error(), "ingest it again") {
		t.Fatalf("errors %v, want one deadlock error saying to ingest again", failed)
	}
}

// Two Stores on one database stand for two processes: overlapping reports
// ingested through both at once, each spanning the same partitions in a
// different order, store every key once with every sighting counted.
func TestTwoStores(t *testing.T) {
	t.Parallel()
	u := newSchema(t)
	stores := []*Store{open(t, u), open(t, u)}
	for _, s := range stores {
		defer s.Close()
	}
	const workers, per = 6, 300
	parts := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			ctx := context.Background()
			s := stores[w%2]
			tx, err := s.Begin(ctx, report(fmt.Sprint("w", w)))
			if err != nil {
				errs <- err
				return
			}
			defer tx.Rollback()
			var recs []store.Record
			for j := range parts {
				feed := parts[(j+w)%len(parts)] // each worker in another order
				for i := range per {
					recs = append(recs, rec(feed, int64(i%2)*day, uint64(i+w*per/2)))
				}
			}
			if _, err := tx.Add(ctx, recs); err != nil {
				errs <- err
				return
			}
			if _, err := tx.Commit(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var distinct, total int64
	for e, err := range stores[0].Events(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		distinct++
		total += e.Count
	}
	if want := int64(len(parts) * (per + (workers-1)*per/2)); distinct != want {
		t.Errorf("%d distinct events, want %d", distinct, want)
	}
	if want := int64(len(parts) * workers * per); total != want {
		t.Errorf("counts add up to %d, want %d", total, want)
	}
}

func TestTextIsCleaned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	r := report("a")
	r.Name = "bad\xffname\x00.csv"
	tx, err := s.Begin(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	q := store.Quarantined{File: r.Name, Line: 1, Reason: "field \"\xfe\" is \x00 wrong", Raw: []byte("\xfe\x00")}
	if err := tx.Quarantine(ctx, []store.Quarantined{q}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for got, err := range s.Quarantined(ctx, store.QuarantineFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if got.File != "bad\uFFFDname\uFFFD.csv" || got.Reason != "field \"\uFFFD\" is \uFFFD wrong" || string(got.Raw) != string(q.Raw) {
			t.Errorf("quarantined file %q reason %q raw %q", got.File, got.Reason, got.Raw)
		}
	}
	for got, err := range s.Reports(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "bad\uFFFDname\uFFFD.csv" {
			t.Errorf("report name %q", got.Name)
		}
	}
}

// Iterators read in pages; limits, AfterID and stopping early must work
// across page boundaries, and a sequence may be ranged over again.
func TestPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	const n = 2*pageSize + 10
	recs := make([]store.Record, n)
	q := make([]store.Quarantined, n)
	for i := range recs {
		recs[i] = rec("f", 0, uint64(i))
		q[i] = store.Quarantined{File: "x", Feed: "f", Line: i}
	}
	tx, err := s.Begin(ctx, report("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Add(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := tx.Quarantine(ctx, q); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	collect := func(seq func(func(*store.Event, error) bool), stop int) []int64 {
		var ids []int64
		for e, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
			if len(ids) == stop {
				break
			}
		}
		return ids
	}
	all := collect(s.Events(ctx, store.Filter{}), 0)
	if len(all) != n {
		t.Fatalf("%d events, want %d", len(all), n)
	}
	for i := 1; i < n; i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("IDs not ascending at %d: %d after %d", i, all[i], all[i-1])
		}
	}
	cases := []struct {
		f    store.Filter
		want int
	}{
		{store.Filter{Limit: pageSize + 1}, pageSize + 1},
		{store.Filter{Limit: pageSize}, pageSize},
		{store.Filter{AfterID: all[5]}, n - 6},
		{store.Filter{AfterID: all[5], Limit: 2 * pageSize}, 2 * pageSize},
		{store.Filter{AfterID: all[n-1]}, 0},
	}
	for _, c := range cases {
		if got := len(collect(s.Events(ctx, c.f), 0)); got != c.want {
			t.Errorf("Events(%+v): %d, want %d", c.f, got, c.want)
		}
	}
	seq := s.Events(ctx, store.Filter{})
	if got := collect(seq, pageSize+3); len(got) != pageSize+3 {
		t.Errorf("stopping early: %d", len(got))
	}
	if got := collect(seq, 0); len(got) != n {
		t.Errorf("ranging over the same sequence again: %d, want %d", len(got), n)
	}
	m := 0
	for r, err := range s.Quarantined(ctx, store.QuarantineFilter{Feed: "f", Limit: pageSize + 5}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Line != m {
			t.Fatalf("quarantined row %d has line %d", m, r.Line)
		}
		m++
	}
	if m != pageSize+5 {
		t.Errorf("%d quarantined rows, want %d", m, pageSize+5)
	}
}

// BenchmarkIngest stores reports of 100,000 records in Adds of 1,000, as
// an ingest of a large Shadowserver report does: "new" with every record a
// new event, "reseen" with every record a sighting of an event stored by
// the report before (whose ingest is not timed). On the 2-core machine of
// DESIGN.md with PostgreSQL 15 on loopback: about 185,000 records/s new and
// 128,000 reseen (the SQLite store: 186,000 new).
func BenchmarkIngest(b *testing.B) {
	const n, batch = 100_000, 1000
	doc := []byte(`{"feed.name":"shadowserver","classification.taxonomy":"vulnerable","classification.type":"vulnerable-system","classification.identifier":"open-ssl","source.ip":"198.51.100.17","source.port":443,"source.asn":64500,"source.geolocation.cc":"PT","time.source":"2026-11-24T01:02:03Z","extra.tag":"ssl-freak","extra.naics":541511}`)
	recs := make([]store.Record, n)
	const base = 1_795_478_400 // 2026-11-24
	for i := range recs {
		recs[i] = store.Record{Part: store.Part{Feed: "shadowserver", Type: "vulnerable-system"}, Key: uint64(i) * 0x9e3779b97f4a7c15,
			Time: base + int64(i%86400), SourceIP: fmt.Sprintf("198.51.%d.%d", i/256%256, i%256), Line: i + 2, Doc: doc}
	}
	ingest := func(b *testing.B, s *Store, name string, bucket int64) {
		ctx := context.Background()
		tx, err := s.Begin(ctx, report(name))
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback()
		for i := range recs {
			recs[i].Part.Bucket = bucket
		}
		for i := 0; i < n; i += batch {
			if _, err := tx.Add(ctx, recs[i:i+batch]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("new", func(b *testing.B) {
		s := open(b, newSchema(b))
		defer s.Close()
		i := 0
		for b.Loop() {
			i++
			ingest(b, s, fmt.Sprint("new", i), base+int64(i)*day)
		}
		b.ReportMetric(float64(n*i)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("reseen", func(b *testing.B) {
		s := open(b, newSchema(b))
		defer s.Close()
		i := 0
		for b.Loop() {
			i++
			b.StopTimer()
			ingest(b, s, fmt.Sprint("first", i), base+int64(i)*day)
			b.StartTimer()
			ingest(b, s, fmt.Sprint("again", i), base+int64(i)*day)
		}
		b.ReportMetric(float64(n*i)/b.Elapsed().Seconds(), "records/s")
	})
}

func TestNotifyLog(t *testing.T) {
	t.Parallel()
	storetest.RunNotifyLog(t, func(t *testing.T) func() storetest.NotifyLogStore {
		url := newSchema(t)
		return func() storetest.NotifyLogStore { return open(t, url) }
	})
}

// TestNotifyQueueSize queues TOCSIN_NOTIFY_SIZE notifications of 100
// events each, with a memory entry per event, and logs the time it took;
// skipped when the variable is unset.
func TestNotifyQueueSize(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("TOCSIN_NOTIFY_SIZE"))
	if err != nil {
		t.Skip("set TOCSIN_NOTIFY_SIZE to the number of notifications to queue")
	}
	s := open(t, newSchema(t))
	defer s.Close()
	storetest.NotifyQueueSize(t, s, n, 100)
}
