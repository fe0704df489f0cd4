package notify

// The harness of the run tests: a real store (SQLite, and PostgreSQL when
// it runs here), events stored as ingest stores them, a constituency held
// in memory, the embedded templates, a real signing key and the outbox,
// with a fake sender around it where a test needs failures.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/notify/render"
	"github.com/tocsin/tocsin/internal/store"
	"github.com/tocsin/tocsin/internal/store/postgres"
	"github.com/tocsin/tocsin/internal/store/sqlite"
)

// t0 is the day the tests start on: a Tuesday in winter, when Stockholm is
// UTC+1. The signing key is older.
var (
	t0      = time.Date(2026, 1, 13, 6, 0, 0, 0, time.UTC)
	keyTime = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
)

// db is what the notifier needs of a store.
type db interface {
	store.Store
	store.NotifyLog
}

// backend opens a fresh database; its open func opens another handle on
// the same database (a restart, or a second process), closed when the
// test ends.
type backend struct {
	name string
	new  func(t *testing.T) (open func(t *testing.T) db)
}

var backends = []backend{
	{"sqlite", func(t *testing.T) func(t *testing.T) db {
		path := filepath.Join(t.TempDir(), "t.db")
		return func(t *testing.T) db {
			s, err := sqlite.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}},
	{"postgres", func(t *testing.T) func(t *testing.T) db {
		u := newSchema(t)
		return func(t *testing.T) db {
			s, err := postgres.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}},
}

// eachBackend runs f against every store.
func eachBackend(t *testing.T, f func(t *testing.T, open func(t *testing.T) db)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.new(t)) })
	}
}

// newSchema creates an empty PostgreSQL schema for one test, as the
// postgres package's tests do, and returns a connection string that uses
// it. Without a server it skips the test, or fails it when CI is set.
func newSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TOCSIN_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL is not reachable (%v): start it with `pg_ctlcluster --skip-systemctl-redirect 15 main start` or set TOCSIN_TEST_POSTGRES", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer c.Close(context.Background())
	name := strings.ToLower("tocsin_test_notify_" + rand.Text()[:12])
	if _, err := c.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TOCSIN_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// directory is a constituency held in memory.
type directory struct {
	orgs     []*constituency.Org
	contacts map[string][]constituency.Contact
}

func (d *directory) OrgIDs() []string {
	var ids []string
	for _, o := range d.orgs {
		ids = append(ids, o.ID)
	}
	return ids
}

func (d *directory) Org(id string) *constituency.Org {
	for _, o := range d.orgs {
		if o.ID == id {
			return o
		}
	}
	return nil
}

func (d *directory) Contacts(id string) []constituency.Contact { return d.contacts[id] }

// add registers an organisation with its contact chain, best first.
func (d *directory) add(o constituency.Org, emails ...string) {
	d.orgs = append(d.orgs, &o)
	if d.contacts == nil {
		d.contacts = map[string][]constituency.Contact{}
	}
	for _, e := range emails {
		d.contacts[o.ID] = append(d.contacts[o.ID], constituency.Contact{Org: o.ID, Email: e, Source: constituency.Source("manual")})
	}
}

// spec is an event to store: its owner, feed, type, source IP and key.
type spec struct {
	org, feed, typ, ip string
	key                uint64
}

// infected and vulnerable are the two kinds of event the tests use most:
// a compromised system (re-notified after 7 days) and a vulnerable one
// (after 30).
func infected(org, ip string, key uint64) spec {
	return spec{org: org, feed: "sinkhole", typ: "infected-system", ip: ip, key: key}
}

func vulnerable(org, ip string, key uint64) spec {
	return spec{org: org, feed: "scan-ssl", typ: "vulnerable-system", ip: ip, key: key}
}

// bucket is the deduplication window every test event falls in, so that
// an event reported again is the same event, seen again.
var bucket = t0.Add(-30 * 24 * time.Hour).Unix()

// report stores one report of events seen at at, as ingest would, and
// returns the IDs of the events, in the order of evs.
func report(t *testing.T, s db, name string, at time.Time, evs ...spec) []int64 {
	t.Helper()
	ctx := context.Background()
	sum := sha256.Sum256([]byte(name))
	tx, err := s.Begin(ctx, store.Report{SHA256: hex.EncodeToString(sum[:]), Name: name, Feed: "test", Size: 1, ReceivedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var recs []store.Record
	var base *event.Base
	for i, sp := range evs {
		e := new(event.Event)
		for _, kv := range [][2]string{{"feed.name", sp.feed}, {"classification.type", sp.typ}, {"source.ip", sp.ip},
			{"time.source", at.Format(time.RFC3339)}} {
			if err := e.Set(kv[0], kv[1]); err != nil {
				t.Fatalf("set %s: %v", kv[0], err)
			}
		}
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		if base == nil {
			// Events are encoded against their report's base, as ingest
			// does (a nil base is not allowed).
			base = event.NewBase(e)
			if err := tx.SetBase(ctx, base.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		recs = append(recs, store.Record{
			Part: store.Part{Feed: sp.feed, Type: sp.typ, Bucket: bucket}, Key: sp.key, Time: at.Unix(),
			SourceIP: sp.ip, Org: sp.org, Line: i + 1, Doc: e.AppendBinaryDelta(nil, base),
		})
	}
	if _, err := tx.Add(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, sp := range evs {
		for e, err := range s.Events(ctx, store.Filter{Feed: sp.feed, Type: sp.typ, IP: sp.ip}) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Key == sp.key {
				ids = append(ids, e.ID)
			}
		}
	}
	if len(ids) != len(evs) {
		t.Fatalf("report %s: found %d of its %d events", name, len(ids), len(evs))
	}
	return ids
}

var (
	signerOnce sync.Once
	signer     *mail.Signer
	signerErr  error
)

// testSigner is a real OpenPGP key, made once, dated before every run.
func testSigner(t *testing.T) *mail.Signer {
	t.Helper()
	signerOnce.Do(func() {
		priv, _, err := mail.GenerateKey("CERT-XX", "cert@cert.example", keyTime)
		if err != nil {
			signerErr = err
			return
		}
		signer, signerErr = mail.LoadSigner(bytes.NewReader(priv), nil)
	})
	if signerErr != nil {
		t.Fatal(signerErr)
	}
	return signer
}

// parseConfig reads the notify section of a config, defaults included.
func parseConfig(t *testing.T, yaml string) config.Notify {
	t.Helper()
	c, err := config.Parse("t.yaml", []byte("notify:\n  sender: {name: CERT-XX, email: cert@cert.example}\n"+yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c.Notify
}

// newNotifier wires a notifier as the app does, to the store s, the
// directory d and the sender snd.
func newNotifier(t *testing.T, cfg config.Notify, s db, d Directory, snd mail.Sender) *Notifier {
	t.Helper()
	rd, err := render.New("")
	if err != nil {
		t.Fatal(err)
	}
	return &Notifier{
		Config: cfg, Routes: NewTree(cfg.Routes), Mutes: CompileMutes(cfg.Mutes),
		Events: s, Log: s, Dir: d, Renderer: rd, Signer: testSigner(t), Sender: snd, Workers: 2,
	}
}

// runAt runs n at now and fails the test on an error.
func runAt(t *testing.T, n *Notifier, now time.Time) Summary {
	t.Helper()
	sum, err := n.Run(context.Background(), Options{Now: now})
	if err != nil {
		t.Fatalf("run at %s: %v", now.Format(time.RFC3339), err)
	}
	return sum
}

// fakeSender is a fake mail server in front of a real outbox: it fails
// the messages fail says to fail (nil: deliver into the outbox), and
// counts every attempt by notification ID.
type fakeSender struct {
	outbox mail.Outbox
	fail   func(env mail.Envelope) error

	mu       sync.Mutex
	attempts map[string]int
}

func newFakeSender(t *testing.T, fail func(env mail.Envelope) error) *fakeSender {
	return &fakeSender{outbox: mail.Outbox{Dir: t.TempDir()}, fail: fail, attempts: map[string]int{}}
}

func (f *fakeSender) Send(ctx context.Context, env mail.Envelope, msg []byte) error {
	f.mu.Lock()
	f.attempts[env.Ident]++
	f.mu.Unlock()
	if f.fail != nil {
		if err := f.fail(env); err != nil {
			return err
		}
	}
	return f.outbox.Send(ctx, env, msg)
}

// tries is how many times the notification ident was tried.
func (f *fakeSender) tries(ident string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[ident]
}

// outboxFiles returns the messages in the outbox by file name.
func outboxFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".eml")] = b
	}
	return out
}

// logged returns every notification of the log, Message included, oldest
// first.
func logged(t *testing.T, l store.NotifyLog) []*store.Notification {
	t.Helper()
	ctx := context.Background()
	var out []*store.Notification
	for n, err := range l.Notifications(ctx, store.NotifyFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		full, err := l.Notification(ctx, n.Ident)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, full)
	}
	slices.Reverse(out)
	return out
}

// notified returns, for each event ID, the recipients of the
// notifications that carried it, in the order the log holds them.
func notified(ns []*store.Notification) map[int64][]string {
	out := map[int64][]string{}
	for _, n := range ns {
		for _, id := range n.Events {
			out[id] = append(out[id], n.Recipient)
		}
	}
	return out
}

// flags returns the flagged mailboxes with their flag.
func flags(t *testing.T, l store.NotifyLog) map[string]string {
	t.Helper()
	out := map[string]string{}
	for f, err := range l.ContactFlags(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out[f.Email] = f.Flag
	}
	return out
}

// isCanceled reports whether err is the end of a cancelled run.
func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }
