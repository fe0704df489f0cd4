// Package sqlite is the embedded store: one SQLite file in WAL mode, written
// through the pure-Go driver modernc.org/sqlite, so tocsin stays one static
// binary.
//
// Ingest keeps the hot path appending. Events get their IDs from the Tx (it
// holds SQLite's write lock from Begin, so max(id)+1 is safe), go in with
// multi-row INSERTs, and the only secondary index, on the partition number,
// is appended to in order because a report's rows share a few partitions.
// Deduplication is a map per partition (a row of parts: feed, type,
// window), loaded once with one index range scan and kept across reports; there is no unique index on the key, which would make every
// insert a random B-tree write (DESIGN.md measures that at a fifth of the
// append rate).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tocsin/tocsin/internal/store"
)

// Store is a store.Store on one SQLite file.
type Store struct {
	db      *sql.DB
	cache   partCache
	bases   baseCache     // reports' bases, read once: a committed report's base never changes
	kick    chan struct{} // a commit happened: checkpoint
	stop    context.CancelFunc
	stopped chan struct{}
}

// baseCache keeps reports' bases by report ID. Readers share the slices
// and must not modify them (store.Event.Base is read-only).
type baseCache struct {
	mu sync.Mutex
	m  map[int64][]byte
}

// maxBases bounds the cache; it is emptied when full.
const maxBases = 8192

func (c *baseCache) get(report int64, read func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.m[report]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := read()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxBases {
		c.m = make(map[int64][]byte)
	}
	c.m[report] = b
	c.mu.Unlock()
	return b, nil
}

// partCache keeps the dedup maps of the partitions this process touched,
// across reports, so that many reports of one partition (Shadowserver sends
// one file per ASN) do not each load it again. It is valid only for the
// database generation it was built at: every commit bumps the generation,
// so a commit by any other connection or process invalidates it.
type partCache struct {
	mu    sync.Mutex
	gen   int64
	parts map[store.Part]*partState
}

// partState is one partition as a Tx sees it: its row in parts and the
// dedup map of its events' keys.
type partState struct {
	id   int64
	keys map[uint64]int64 // key -> event ID
}

// maxCachedKeys bounds the cache (about 40 bytes a key).
const maxCachedKeys = 2_000_000

// take hands the cache to a Tx that saw generation gen; a stale cache is
// dropped. The Tx owns the maps until it gives them back.
func (c *partCache) take(gen int64) map[store.Part]*partState {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := c.parts
	c.parts = nil
	if parts == nil || c.gen != gen {
		return map[store.Part]*partState{}
	}
	return parts
}

// give returns a committed Tx's maps, valid at generation gen.
func (c *partCache) give(gen int64, parts map[store.Part]*partState) {
	n := 0
	for _, p := range parts {
		n += len(p.keys)
	}
	if n > maxCachedKeys {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parts == nil || gen > c.gen {
		c.gen, c.parts = gen, parts
	}
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path and brings its
// schema up to date.
func Open(path string) (*Store, error) {
	q := url.Values{}
	// mmap_size: reads come from a memory map of the file (up to SQLite's
	// limit, ~2 GiB), not copied into each connection's page cache. A
	// connection empties its cache whenever another has written: the
	// notifier reads each organisation's events (pages all over the
	// table) while it queues messages, and with the map its reads no longer
	// start from nothing at each organisation (notify run 1.55x faster).
	// The mapped pages are the kernel's page cache, shared and reclaimable.
	// cache_size: with the map, a connection's own cache holds the pages it
	// changes and those read from the WAL; 16 MiB each is as fast as 64 here
	// (ingest and notify run, same run) and keeps a notify run's eight
	// connections' caches from holding ~400 MB more.
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(60000)", "foreign_keys(1)", "cache_size(-16384)", "temp_store(MEMORY)", "wal_autocheckpoint(0)", "mmap_size(2147418112)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	s := &Store{db: db, kick: make(chan struct{}, 1), stopped: make(chan struct{})}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go s.checkpointer(ctx)
	return s, nil
}

// checkpointer copies committed pages from the WAL into the database file
// in the background, after commits, so that the commit of one report does
// not wait for it and the next report is parsed meanwhile. Connections run
// with wal_autocheckpoint(0); Close checkpoints what is left.
func (s *Store) checkpointer(ctx context.Context) {
	defer close(s.stopped)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
			// PASSIVE never blocks writers or readers; what it cannot copy
			// now waits for the next commit.
			s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// migrations are applied in order, each once; never edit one that has
// shipped, append a new one.
var migrations = []string{
	`CREATE TABLE reports (
		id          INTEGER PRIMARY KEY,
		sha256      TEXT NOT NULL UNIQUE,
		name        TEXT NOT NULL,
		feed        TEXT NOT NULL,
		type        TEXT NOT NULL,
		size        INTEGER NOT NULL,
		received_at INTEGER NOT NULL,
		events      INTEGER NOT NULL DEFAULT 0,
		duplicates  INTEGER NOT NULL DEFAULT 0,
		quarantined INTEGER NOT NULL DEFAULT 0,
		base        BLOB
	);
	CREATE TABLE parts (
		id     INTEGER PRIMARY KEY,
		feed   TEXT NOT NULL,
		type   TEXT NOT NULL,
		bucket INTEGER NOT NULL,
		UNIQUE (feed, type, bucket)
	);
	CREATE TABLE events (
		id         INTEGER PRIMARY KEY,
		part       INTEGER NOT NULL REFERENCES parts(id),
		dkey       INTEGER NOT NULL,
		src_ip     TEXT NOT NULL,
		count      INTEGER NOT NULL,
		first_seen INTEGER NOT NULL,
		last_seen  INTEGER NOT NULL,
		report_id  INTEGER NOT NULL REFERENCES reports(id),
		line       INTEGER NOT NULL,
		doc        BLOB NOT NULL
	);
	CREATE INDEX events_part ON events (part);
	CREATE TABLE generation (n INTEGER NOT NULL);
	INSERT INTO generation (n) VALUES (0);
	CREATE TABLE quarantine (
		id        INTEGER PRIMARY KEY,
		report_id INTEGER NOT NULL REFERENCES reports(id),
		file      TEXT NOT NULL,
		feed      TEXT NOT NULL,
		line      INTEGER NOT NULL,
		reason    TEXT NOT NULL,
		raw       BLOB NOT NULL,
		at        INTEGER NOT NULL
	);`,
	// The constituency registry (registry.go). Keys as store.Registry
	// says; n is the row's ID for imports. A network is family 4 or 6, its
	// address (4 or 16 bytes) and length, and, for people, its CIDR text;
	// the other kinds have family 0, an empty addr, bits 0. last_verified
	// is Unix microseconds, NULL when never.
	`CREATE TABLE orgs (
		n         INTEGER PRIMARY KEY,
		id        TEXT NOT NULL UNIQUE,
		name      TEXT NOT NULL,
		sector    TEXT NOT NULL,
		country   TEXT NOT NULL,
		languages TEXT NOT NULL,
		source    TEXT NOT NULL
	);
	CREATE INDEX orgs_source ON orgs (source);
	CREATE TABLE assets (
		n         INTEGER PRIMARY KEY,
		org       TEXT NOT NULL,
		kind      TEXT NOT NULL,
		family    INTEGER NOT NULL,
		addr      BLOB NOT NULL,
		bits      INTEGER NOT NULL,
		prefix    TEXT NOT NULL,
		asn       INTEGER NOT NULL,
		domain    TEXT NOT NULL,
		name      TEXT NOT NULL,
		source    TEXT NOT NULL,
		confirmed INTEGER NOT NULL,
		UNIQUE (org, kind, family, addr, bits, asn, domain, source)
	);
	CREATE INDEX assets_source ON assets (source);
	CREATE TABLE contacts (
		n             INTEGER PRIMARY KEY,
		org           TEXT NOT NULL,
		email         TEXT NOT NULL,
		role          TEXT NOT NULL,
		pgp_key       TEXT NOT NULL,
		source        TEXT NOT NULL,
		last_verified INTEGER,
		UNIQUE (org, email, source)
	);
	CREATE INDEX contacts_source ON contacts (source);`,
	// The owner of each event, set at ingest; only owned events are
	// indexed, so unowned ones cost nothing.
	`ALTER TABLE events ADD COLUMN org TEXT NOT NULL DEFAULT '';
	CREATE INDEX events_org ON events (org, id) WHERE org <> '';`,
	// Organisations' notification preferences (constituency.Prefs).
	`ALTER TABLE orgs ADD COLUMN notify_opt_out INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE orgs ADD COLUMN notify_time_zone TEXT NOT NULL DEFAULT '';
	ALTER TABLE orgs ADD COLUMN notify_format TEXT NOT NULL DEFAULT '';
	ALTER TABLE orgs ADD COLUMN notify_monthly INTEGER NOT NULL DEFAULT 0;`,
	// The notification log (notify.go). Times are Unix nanoseconds, 0 for
	// the zero time; events is the IDs of the events reported, packed
	// (packIDs); key is the uint64 memory key's bit pattern.
	`CREATE TABLE notifications (
		id           INTEGER PRIMARY KEY,
		ident        TEXT NOT NULL UNIQUE,
		kind         TEXT NOT NULL,
		org          TEXT NOT NULL,
		recipient    TEXT NOT NULL,
		contact      TEXT NOT NULL,
		route        TEXT NOT NULL,
		subject      TEXT NOT NULL,
		message_id   TEXT NOT NULL UNIQUE,
		status       TEXT NOT NULL,
		attempts     INTEGER NOT NULL,
		created_at   INTEGER NOT NULL,
		updated_at   INTEGER NOT NULL,
		next_attempt INTEGER NOT NULL,
		last_error   TEXT NOT NULL,
		events       BLOB NOT NULL,
		message      BLOB NOT NULL
	);
	CREATE INDEX notifications_due ON notifications (status, next_attempt);
	CREATE INDEX notifications_created ON notifications (created_at);
	CREATE INDEX notifications_org ON notifications (org, created_at) WHERE org <> '';
	CREATE INDEX notifications_recipient ON notifications (recipient, created_at);
	CREATE TABLE notify_memory (
		recipient    TEXT NOT NULL,
		key          INTEGER NOT NULL,
		at           INTEGER NOT NULL,
		notification INTEGER NOT NULL,
		PRIMARY KEY (recipient, key)
	) WITHOUT ROWID;
	CREATE INDEX notify_memory_at ON notify_memory (at);
	CREATE TABLE notify_idents (
		day  TEXT PRIMARY KEY,
		next INTEGER NOT NULL
	);
	CREATE TABLE contact_flags (
		email  TEXT PRIMARY KEY,
		flag   TEXT NOT NULL,
		detail TEXT NOT NULL,
		at     INTEGER NOT NULL
	);`,
	// Named leases between processes (store.Leaser).
	`CREATE TABLE leases (
		name   TEXT PRIMARY KEY,
		holder TEXT NOT NULL,
		until  INTEGER NOT NULL
	);`,
	// Messages beside their notifications: a status update then rewrites
	// a small row, not the message's overflow pages (notifications.message
	// stays, empty).
	`CREATE TABLE notification_messages (
		id      INTEGER PRIMARY KEY,
		message BLOB NOT NULL
	);
	INSERT INTO notification_messages (id, message) SELECT id, message FROM notifications;
	UPDATE notifications SET message = x'';`,
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this tocsin knows (%d): upgrade tocsin", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, i+1); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Close closes the database.
func (s *Store) Close() error {
	s.stop()
	<-s.stopped
	// Leave a small WAL behind: copy everything and truncate it.
	s.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return s.db.Close()
}

// rowsPerInsert is how many events one INSERT statement carries: enough to
// amortise the statement, few enough to stay far below SQLite's limit on
// bound parameters.
const rowsPerInsert = 64

const eventCols = 11

var insertPrefix = `INSERT INTO events (id, part, dkey, src_ip, count, first_seen, last_seen, report_id, line, doc, org) VALUES `

func insertSQL(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", eventCols), ",") + ")"
	return insertPrefix + strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

var insertManySQL = insertSQL(rowsPerInsert)

// Begin implements store.Store.
func (s *Store) Begin(ctx context.Context, r store.Report) (store.Tx, error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin report %s: %w", r.Name, err)
	}
	t := &tx{s: s, sqlTx: sqlTx}
	if err := t.begin(ctx, r); err != nil {
		sqlTx.Rollback()
		return nil, err
	}
	return t, nil
}

type tx struct {
	s        *Store
	gen      int64
	sqlTx    *sql.Tx
	reportID int64
	nextID   int64
	parts    map[store.Part]*partState
	totals   store.Totals
	insMany  *sql.Stmt
	updMany  *sql.Stmt
	args     []any
	pending  []pendingRow
	updates  map[int64]*seen
	done     bool
}

type pendingRow struct {
	rec  *store.Record
	id   int64
	part int64
	seen
}

type seen struct {
	count       int64
	first, last int64
}

func (s *seen) add(t int64) {
	s.count++
	s.first = min(s.first, t)
	s.last = max(s.last, t)
}

func (t *tx) begin(ctx context.Context, r store.Report) error {
	var one int
	err := t.sqlTx.QueryRowContext(ctx, `SELECT 1 FROM reports WHERE sha256 = ?`, r.SHA256).Scan(&one)
	if err == nil {
		return store.ErrKnownReport
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("look up report %s: %w", r.Name, err)
	}
	res, err := t.sqlTx.ExecContext(ctx, `INSERT INTO reports (sha256, name, feed, type, size, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.SHA256, r.Name, r.Feed, r.Type, r.Size, r.ReceivedAt.Unix())
	if err != nil {
		return fmt.Errorf("store report %s: %w", r.Name, err)
	}
	if t.reportID, err = res.LastInsertId(); err != nil {
		return err
	}
	if err := t.sqlTx.QueryRowContext(ctx, `SELECT n FROM generation`).Scan(&t.gen); err != nil {
		return fmt.Errorf("read generation: %w", err)
	}
	t.parts = t.s.cache.take(t.gen)
	if err := t.sqlTx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM events`).Scan(&t.nextID); err != nil {
		return fmt.Errorf("allocate event IDs: %w", err)
	}
	t.insMany, err = t.sqlTx.PrepareContext(ctx, insertManySQL)
	return err
}

// part returns a partition's state, creating its row or loading its keys
// on first use.
func (t *tx) part(ctx context.Context, p store.Part) (*partState, error) {
	if st, ok := t.parts[p]; ok {
		return st, nil
	}
	st := &partState{keys: map[uint64]int64{}}
	err := t.sqlTx.QueryRowContext(ctx, `SELECT id FROM parts WHERE feed = ? AND type = ? AND bucket = ?`, p.Feed, p.Type, p.Bucket).Scan(&st.id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := t.sqlTx.ExecContext(ctx, `INSERT INTO parts (feed, type, bucket) VALUES (?, ?, ?)`, p.Feed, p.Type, p.Bucket)
		if err != nil {
			return nil, fmt.Errorf("create partition %s/%s/%d: %w", p.Feed, p.Type, p.Bucket, err)
		}
		if st.id, err = res.LastInsertId(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("look up partition %s/%s/%d: %w", p.Feed, p.Type, p.Bucket, err)
	default:
		rows, err := t.sqlTx.QueryContext(ctx, `SELECT id, dkey FROM events WHERE part = ?`, st.id)
		if err != nil {
			return nil, fmt.Errorf("load partition %s/%s/%d: %w", p.Feed, p.Type, p.Bucket, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, k int64
			if err := rows.Scan(&id, &k); err != nil {
				return nil, err
			}
			st.keys[uint64(k)] = id
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	t.parts[p] = st
	return st, nil
}

// Add implements store.Tx.
func (t *tx) Add(ctx context.Context, recs []store.Record) (store.Added, error) {
	var a store.Added
	if t.done {
		return a, errors.New("add to a finished report")
	}
	t.pending = t.pending[:0]
	if t.updates == nil {
		t.updates = map[int64]*seen{}
	}
	clear(t.updates)
	firstNew := t.nextID
	for i := range recs {
		r := &recs[i]
		pt, err := t.part(ctx, r.Part)
		if err != nil {
			return a, err
		}
		if id, ok := pt.keys[r.Key]; ok {
			a.Duplicates++
			if id >= firstNew {
				t.pending[id-firstNew].add(r.Time)
			} else if u := t.updates[id]; u != nil {
				u.add(r.Time)
			} else {
				t.updates[id] = &seen{count: 1, first: r.Time, last: r.Time}
			}
			continue
		}
		id := t.nextID
		t.nextID++
		pt.keys[r.Key] = id
		t.pending = append(t.pending, pendingRow{rec: r, id: id, part: pt.id, seen: seen{count: 1, first: r.Time, last: r.Time}})
		a.Events++
	}
	if err := t.insert(ctx); err != nil {
		return a, err
	}
	if err := t.update(ctx); err != nil {
		return a, err
	}
	t.totals.Events += int64(a.Events)
	t.totals.Duplicates += int64(a.Duplicates)
	return a, nil
}

func (t *tx) insert(ctx context.Context) error {
	rows := t.pending
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		t.args = t.args[:0]
		for i := range rows[:n] {
			p := &rows[i]
			r := p.rec
			t.args = append(t.args, p.id, p.part, int64(r.Key), r.SourceIP, p.count, p.first, p.last, t.reportID, r.Line, r.Doc, r.Org)
		}
		var err error
		if n == rowsPerInsert {
			_, err = t.insMany.ExecContext(ctx, t.args...)
		} else {
			_, err = t.sqlTx.ExecContext(ctx, insertSQL(n), t.args...)
		}
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// rowsPerUpdate is how many duplicate counts one UPDATE applies.
const rowsPerUpdate = 128

func updateSQL(rows int) string {
	return `WITH u(id, n, f, l) AS (VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?),", rows), ",") + `)
	UPDATE events SET count = events.count + u.n, first_seen = min(events.first_seen, u.f), last_seen = max(events.last_seen, u.l)
	FROM u WHERE events.id = u.id`
}

var updateManySQL = updateSQL(rowsPerUpdate)

// update applies the duplicates of one Add to the stored events, many rows
// per statement.
func (t *tx) update(ctx context.Context) error {
	if len(t.updates) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(t.updates))
	for id := range t.updates {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for len(ids) > 0 {
		n := min(len(ids), rowsPerUpdate)
		t.args = t.args[:0]
		for _, id := range ids[:n] {
			u := t.updates[id]
			t.args = append(t.args, id, u.count, u.first, u.last)
		}
		var err error
		if n == rowsPerUpdate {
			if t.updMany == nil {
				if t.updMany, err = t.sqlTx.PrepareContext(ctx, updateManySQL); err != nil {
					return err
				}
			}
			_, err = t.updMany.ExecContext(ctx, t.args...)
		} else {
			_, err = t.sqlTx.ExecContext(ctx, updateSQL(n), t.args...)
		}
		if err != nil {
			return fmt.Errorf("count duplicate events: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// SetBase implements store.Tx.
func (t *tx) SetBase(ctx context.Context, base []byte) error {
	if t.done {
		return errors.New("set the base of a finished report")
	}
	if _, err := t.sqlTx.ExecContext(ctx, `UPDATE reports SET base = ? WHERE id = ?`, base, t.reportID); err != nil {
		return fmt.Errorf("store report base: %w", err)
	}
	return nil
}

// Quarantine implements store.Tx.
func (t *tx) Quarantine(ctx context.Context, q []store.Quarantined) error {
	if t.done {
		return errors.New("quarantine in a finished report")
	}
	st, err := t.sqlTx.PrepareContext(ctx, `INSERT INTO quarantine (report_id, file, feed, line, reason, raw, at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range q {
		r := &q[i]
		raw := r.Raw
		if raw == nil {
			raw = []byte{}
		}
		if _, err := st.ExecContext(ctx, t.reportID, r.File, r.Feed, r.Line, r.Reason, raw, r.At.Unix()); err != nil {
			return fmt.Errorf("quarantine %s line %d: %w", r.File, r.Line, err)
		}
	}
	t.totals.Quarantined += int64(len(q))
	return nil
}

// Commit implements store.Tx.
func (t *tx) Commit(ctx context.Context) (store.Totals, error) {
	if t.done {
		return t.totals, errors.New("commit of a finished report")
	}
	t.done = true
	if _, err := t.sqlTx.ExecContext(ctx, `UPDATE reports SET events = ?, duplicates = ?, quarantined = ? WHERE id = ?`,
		t.totals.Events, t.totals.Duplicates, t.totals.Quarantined, t.reportID); err != nil {
		t.sqlTx.Rollback()
		return t.totals, err
	}
	if _, err := t.sqlTx.ExecContext(ctx, `UPDATE generation SET n = n + 1`); err != nil {
		t.sqlTx.Rollback()
		return t.totals, err
	}
	if err := t.sqlTx.Commit(); err != nil {
		return t.totals, fmt.Errorf("commit report: %w", err)
	}
	// The write lock held since Begin means the generation is now gen+1.
	t.s.cache.give(t.gen+1, t.parts)
	select {
	case t.s.kick <- struct{}{}:
	default:
	}
	return t.totals, nil
}

// Rollback implements store.Tx.
func (t *tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	return t.sqlTx.Rollback()
}

// Events implements store.Store.
// yieldEvents yields the events of rows, which select (e.org, if withOrg)
// e.id, p.feed, p.type, e.dkey, e.count, e.first_seen, e.last_seen,
// e.report_id, e.line, e.doc; it closes rows.
func (s *Store) yieldEvents(ctx context.Context, rows *sql.Rows, withOrg bool, yield func(*store.Event, error) bool) {
	defer rows.Close()
	for rows.Next() {
		var e store.Event
		var first, last, key int64
		dst := []any{&e.ID, &e.Feed, &e.Type, &key, &e.Count, &first, &last, &e.ReportID, &e.Line, &e.Doc}
		if withOrg {
			dst = append([]any{&e.Org}, dst...)
		}
		if err := rows.Scan(dst...); err != nil {
			yield(nil, err)
			return
		}
		if err := s.fill(ctx, &e, key, first, last); err != nil {
			yield(nil, err)
			return
		}
		if !yield(&e, nil) {
			return
		}
	}
	if err := rows.Err(); err != nil {
		yield(nil, err)
	}
}

// fill completes an event read from a row of events: its report's base
// (read once per report), its key and its times.
func (s *Store) fill(ctx context.Context, e *store.Event, key, first, last int64) error {
	base, err := s.bases.get(e.ReportID, func() ([]byte, error) {
		var b []byte
		err := s.db.QueryRowContext(ctx, `SELECT base FROM reports WHERE id = ?`, e.ReportID).Scan(&b)
		return b, err
	})
	if err != nil {
		return fmt.Errorf("read the base of report %d: %w", e.ReportID, err)
	}
	e.Base, e.Key = base, uint64(key)
	e.FirstSeen, e.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
	return nil
}

var _ store.OrgEvents = (*Store)(nil)

// EventsByOrg implements store.OrgEvents: one scan of the table in the
// order it is stored, sorted by owner in SQLite's sorter, which spills to
// temporary files past its share of the page cache (the connection's
// temp_store is FILE for the query), so memory stays bounded. One
// statement is one snapshot: the writes of the notifier meanwhile neither
// show nor make it reread pages.
func (s *Store) EventsByOrg(ctx context.Context, since time.Time) iter.Seq2[*store.Event, error] {
	return func(yield func(*store.Event, error) bool) {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			yield(nil, fmt.Errorf("query events by organisation: %w", err))
			return
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
			yield(nil, fmt.Errorf("query events by organisation: %w", err))
			return
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`)
		// NOT INDEXED: the partial index on (org, id) gives the order
		// without a sort, at the price of a random read per event.
		rows, err := conn.QueryContext(ctx, `SELECT e.org, e.id, p.feed, p.type, e.dkey, e.count, e.first_seen, e.last_seen, e.report_id, e.line, e.doc
			FROM events e NOT INDEXED JOIN parts p ON p.id = e.part
			WHERE e.org <> '' AND e.last_seen >= ? ORDER BY e.org, e.id`, since.Unix())
		if err != nil {
			yield(nil, fmt.Errorf("query events by organisation: %w", err))
			return
		}
		s.yieldEvents(ctx, rows, true, yield)
	}
}

func (s *Store) Events(ctx context.Context, f store.Filter) iter.Seq2[*store.Event, error] {
	var where []string
	var args []any
	if f.Feed != "" {
		where, args = append(where, "p.feed = ?"), append(args, f.Feed)
	}
	if f.Type != "" {
		where, args = append(where, "p.type = ?"), append(args, f.Type)
	}
	if f.IP != "" {
		where, args = append(where, "e.src_ip = ?"), append(args, f.IP)
	}
	if f.Org != "" {
		// "org <> ''" lets SQLite use the partial index events_org: a bound
		// parameter alone does not prove the row is in it.
		where, args = append(where, "e.org = ? AND e.org <> ''"), append(args, f.Org)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "e.last_seen >= ?"), append(args, f.Since.Unix())
	}
	if f.AfterID > 0 {
		where, args = append(where, "e.id > ?"), append(args, f.AfterID)
	}
	// A report's base is read once per report, not with every row: it is
	// the same for all of the report's events and often larger than them.
	q := `SELECT e.id, p.feed, p.type, e.dkey, e.count, e.first_seen, e.last_seen, e.report_id, e.line, e.doc
		FROM events e JOIN parts p ON p.id = e.part`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY e.id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return func(yield func(*store.Event, error) bool) {
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			yield(nil, fmt.Errorf("query events: %w", err))
			return
		}
		s.yieldEvents(ctx, rows, false, yield)
	}
}

// Quarantined implements store.Store.
func (s *Store) Quarantined(ctx context.Context, f store.QuarantineFilter) iter.Seq2[*store.Quarantined, error] {
	q := `SELECT id, report_id, file, feed, line, reason, raw, at FROM quarantine`
	var args []any
	if f.Feed != "" {
		q += " WHERE feed = ?"
		args = append(args, f.Feed)
	}
	q += " ORDER BY id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return func(yield func(*store.Quarantined, error) bool) {
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			yield(nil, fmt.Errorf("query quarantine: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var r store.Quarantined
			var at int64
			if err := rows.Scan(&r.ID, &r.ReportID, &r.File, &r.Feed, &r.Line, &r.Reason, &r.Raw, &at); err != nil {
				yield(nil, err)
				return
			}
			r.At = time.Unix(at, 0).UTC()
			if !yield(&r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// Reports implements store.Store.
func (s *Store) Reports(ctx context.Context) iter.Seq2[*store.Report, error] {
	return func(yield func(*store.Report, error) bool) {
		rows, err := s.db.QueryContext(ctx, `SELECT id, sha256, name, feed, type, size, received_at, events, duplicates, quarantined FROM reports ORDER BY id`)
		if err != nil {
			yield(nil, fmt.Errorf("query reports: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var r store.Report
			var at int64
			if err := rows.Scan(&r.ID, &r.SHA256, &r.Name, &r.Feed, &r.Type, &r.Size, &at, &r.Totals.Events, &r.Totals.Duplicates, &r.Totals.Quarantined); err != nil {
				yield(nil, err)
				return
			}
			r.ReceivedAt = time.Unix(at, 0).UTC()
			if !yield(&r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, err)
		}
	}
}
