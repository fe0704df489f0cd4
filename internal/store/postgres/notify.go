package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tocsin/tocsin/internal/store"
)

// The notification log's tables are notifications, notify_memory,
// notify_idents and contact_flags (migration 5).
//
// A notification's events are one bigint[] column, read and written with
// the notification: a row per event would make QueueNotifications of 10k
// notifications carrying 1M events write 1M index entries, for a relation
// nothing queries by event (an array can still be searched with ANY or
// indexed with GIN when something does).
//
// QueueNotifications draws the IDs from notifications_id_seq and copies
// the notifications in with COPY; memory entries, sorted by the primary
// key, go in with one INSERT ... FROM unnest(...) ON CONFLICT DO UPDATE,
// or, beyond memBatch of them, with COPY into a temporary table and one
// INSERT from it. Iterators read pages by a keyset, as the
// others of the store: a consumer holds no connection between pages.
//
// Subject, last error and a flag's detail come from outside (a mail
// server's answer); invalid UTF-8 and NULs in them are stored as U+FFFD.

var _ store.NotifyLog = (*Store)(nil)

// nanos and fromNanos store times as store.Nanos says.
func nanos(t time.Time) int64     { return store.Nanos(t) }
func fromNanos(n int64) time.Time { return store.FromNanos(n) }

// AllocateIdents implements store.NotifyLog.
func (s *Store) AllocateIdents(ctx context.Context, day time.Time, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("allocate %d notification idents: need at least one", n)
	}
	var next int64
	err := s.writeTx(ctx, "allocate notification idents", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO notify_idents (day, next) VALUES ($1, 1 + $2::bigint)
			ON CONFLICT (day) DO UPDATE SET next = notify_idents.next + $2::bigint RETURNING next`,
			day.UTC().Format("2006-01-02"), n).Scan(&next)
	})
	if err != nil {
		return 0, fmt.Errorf("allocate notification idents: %w", err)
	}
	return next - int64(n), nil
}

var notifyCopyCols = []string{"id", "ident", "kind", "org", "recipient", "contact", "route", "subject", "message_id",
	"status", "attempts", "created_at", "updated_at", "next_attempt", "last_error", "events", "message"}

// memBatch is how many memory entries one INSERT from arrays carries;
// more go through COPY.
const memBatch = 10000

// QueueNotifications implements store.NotifyLog.
func (s *Store) QueueNotifications(ctx context.Context, ns []*store.Notification, mem []store.Remembered) error {
	for _, n := range ns {
		if err := store.CheckQueued(n); err != nil {
			return fmt.Errorf("queue notifications: %w", err)
		}
	}
	if len(ns) == 0 && len(mem) == 0 {
		return nil
	}
	const what = "queue notifications"
	ids := make([]int64, 0, len(ns))
	err := s.writeTx(ctx, what, func(tx pgx.Tx) error {
		if len(ns) > 0 {
			rows, err := tx.Query(ctx, `SELECT nextval('notifications_id_seq') FROM generate_series(1, $1)`, len(ns))
			if err != nil {
				return fmt.Errorf("%s: allocate IDs: %w", what, err)
			}
			var id int64
			if _, err := pgx.ForEachRow(rows, []any{&id}, func() error {
				ids = append(ids, id)
				return nil
			}); err != nil {
				return fmt.Errorf("%s: allocate IDs: %w", what, err)
			}
			if len(ids) != len(ns) {
				return fmt.Errorf("%s: allocate IDs: got %d, want %d", what, len(ids), len(ns))
			}
			slices.Sort(ids)
			row := make([]any, len(notifyCopyCols))
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"notifications"}, notifyCopyCols, pgx.CopyFromSlice(len(ns), func(i int) ([]any, error) {
				n := ns[i]
				events, msg := n.Events, n.Message
				if events == nil {
					events = []int64{}
				}
				if msg == nil {
					msg = []byte{}
				}
				row[0], row[1], row[2], row[3], row[4], row[5] = ids[i], n.Ident, n.Kind, n.Org, n.Recipient, n.Contact
				row[6], row[7], row[8], row[9], row[10], row[11] = n.Route, cleanText(n.Subject), n.MessageID, n.Status, int64(n.Attempts), nanos(n.CreatedAt)
				row[12], row[13], row[14], row[15], row[16] = nanos(n.UpdatedAt), nanos(n.NextAttempt), cleanText(n.LastError), events, msg
				return row, nil
			}))
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		rows, err := store.MemoryRows(ns, ids, mem)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := insertMemory(ctx, tx, rows); err != nil {
			return fmt.Errorf("%s: remember: %w", what, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, n := range ns {
		n.ID = ids[i]
	}
	return nil
}

func insertMemory(ctx context.Context, tx pgx.Tx, rows []store.Remembered) error {
	if len(rows) > memBatch {
		return copyMemory(ctx, tx, rows)
	}
	n := min(len(rows), memBatch)
	recipients, keys, ats, notes := make([]string, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	for start := 0; start < len(rows); start += memBatch {
		recipients, keys, ats, notes = recipients[:0], keys[:0], ats[:0], notes[:0]
		for i := start; i < min(len(rows), start+memBatch); i++ {
			r := &rows[i]
			recipients, keys = append(recipients, r.Recipient), append(keys, int64(r.Key))
			ats, notes = append(ats, nanos(r.At)), append(notes, r.Notification)
		}
		_, err := tx.Exec(ctx, `INSERT INTO notify_memory (recipient, key, at, notification)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
			ON CONFLICT (recipient, key) DO UPDATE SET at = excluded.at, notification = excluded.notification`,
			recipients, keys, ats, notes)
		if err != nil {
			return err
		}
	}
	return nil
}

// copyMemory writes many memory entries: COPY into a temporary table,
// then one INSERT in the primary key's order (rows are sorted by it).
func copyMemory(ctx context.Context, tx pgx.Tx, rows []store.Remembered) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE notify_memory_in (recipient text COLLATE "C", key bigint, at bigint,
		notification bigint) ON COMMIT DROP`); err != nil {
		return err
	}
	v := make([]any, 4)
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"notify_memory_in"}, []string{"recipient", "key", "at", "notification"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			v[0], v[1], v[2], v[3] = r.Recipient, int64(r.Key), nanos(r.At), r.Notification
			return v, nil
		}))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO notify_memory (recipient, key, at, notification)
		SELECT recipient, key, at, notification FROM notify_memory_in
		ON CONFLICT (recipient, key) DO UPDATE SET at = excluded.at, notification = excluded.notification`); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DROP TABLE notify_memory_in`)
	return err
}

// pages yields the rows of a keyset query, page by page: query(after, n)
// returns the SQL and arguments for at most n rows after the row whose
// sort key is after (nil: from the start); scan reads one row and returns
// its sort key. limit > 0 stops after that many rows.
func pages[T any](ctx context.Context, s *Store, what string, size, limit int,
	query func(after []any, n int) (string, []any), scan func(pgx.Rows) (T, []any, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var page []T
		var after []any
		left := limit
		for {
			n := size
			if limit > 0 {
				n = min(n, left)
			}
			q, args := query(after, n)
			page = page[:0]
			err := s.read(ctx, q, args, func(rows pgx.Rows) error {
				v, k, err := scan(rows)
				if err != nil {
					return err
				}
				page, after = append(page, v), k
				return nil
			})
			if err != nil {
				yield(zero, fmt.Errorf("query %s: %w", what, err))
				return
			}
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
			}
			if len(page) < n {
				return
			}
			if limit > 0 {
				if left -= len(page); left == 0 {
					return
				}
			}
		}
	}
}

// memoryPage is how many memory entries a query of Memory reads.
const memoryPage = 10000

// Memory implements store.NotifyLog. It yields them by At.
func (s *Store) Memory(ctx context.Context, since time.Time) iter.Seq2[store.Remembered, error] {
	query := func(after []any, n int) (string, []any) {
		var w where
		if !since.IsZero() {
			w.add("at", ">=", nanos(since))
		}
		if after != nil {
			w.args = append(w.args, after...)
			k := len(w.args)
			w.conds = append(w.conds, fmt.Sprintf("(at, recipient, key) > ($%d, $%d, $%d)", k-2, k-1, k))
		}
		q := `SELECT recipient, key, at, notification FROM notify_memory`
		if len(w.conds) > 0 {
			q += " WHERE " + strings.Join(w.conds, " AND ")
		}
		w.args = append(w.args, n)
		return q + fmt.Sprintf(" ORDER BY at, recipient, key LIMIT $%d", len(w.args)), w.args
	}
	scan := func(rows pgx.Rows) (store.Remembered, []any, error) {
		var r store.Remembered
		var key, at int64
		if err := rows.Scan(&r.Recipient, &key, &at, &r.Notification); err != nil {
			return r, nil, err
		}
		r.Key, r.At = uint64(key), fromNanos(at)
		return r, []any{at, r.Recipient, key}, nil
	}
	return pages(ctx, s, "notification memory", memoryPage, 0, query, scan)
}

const notifyCols = `id, ident, kind, org, recipient, contact, route, subject, message_id, status, attempts, created_at, updated_at, next_attempt, last_error, events`

// notifyRow is where a row of notifyCols (and message) is scanned.
type notifyRow struct {
	n                      store.Notification
	attempts               int64
	created, updated, next int64
}

func (r *notifyRow) dest(withMessage bool) []any {
	n := &r.n
	d := []any{&n.ID, &n.Ident, &n.Kind, &n.Org, &n.Recipient, &n.Contact, &n.Route, &n.Subject, &n.MessageID,
		&n.Status, &r.attempts, &r.created, &r.updated, &r.next, &n.LastError, &n.Events}
	if withMessage {
		d = append(d, &n.Message)
	}
	return d
}

func scanNotification(rows pgx.Rows, withMessage bool) (*store.Notification, error) {
	var r notifyRow
	if err := rows.Scan(r.dest(withMessage)...); err != nil {
		return nil, err
	}
	n := &r.n
	n.Attempts = int(r.attempts)
	n.CreatedAt, n.UpdatedAt, n.NextAttempt = fromNanos(r.created), fromNanos(r.updated), fromNanos(r.next)
	if len(n.Events) == 0 {
		n.Events = nil
	}
	return n, nil
}

// duePage is how many due notifications a query reads: they carry their
// messages.
const duePage = 100

// DueNotifications implements store.NotifyLog. It yields them by
// NextAttempt, then ID.
func (s *Store) DueNotifications(ctx context.Context, now time.Time) iter.Seq2[*store.Notification, error] {
	query := func(after []any, n int) (string, []any) {
		args := []any{store.NotifyQueued, store.NotifyDeferred, nanos(now)}
		q := `SELECT ` + notifyCols + `, message FROM notifications WHERE status IN ($1, $2) AND next_attempt <= $3`
		if after != nil {
			args = append(args, after...)
			q += ` AND (next_attempt, id) > ($4, $5)`
		}
		args = append(args, n)
		return q + fmt.Sprintf(" ORDER BY next_attempt, id LIMIT $%d", len(args)), args
	}
	scan := func(rows pgx.Rows) (*store.Notification, []any, error) {
		n, err := scanNotification(rows, true)
		if err != nil {
			return nil, nil, err
		}
		return n, []any{nanos(n.NextAttempt), n.ID}, nil
	}
	return pages(ctx, s, "due notifications", duePage, 0, query, scan)
}

// UpdateNotification implements store.NotifyLog.
func (s *Store) UpdateNotification(ctx context.Context, n *store.Notification, from string) error {
	errs, err := s.UpdateNotifications(ctx, []*store.Notification{n}, []string{from})
	if err != nil {
		return err
	}
	return errs[0]
}

// UpdateNotifications implements store.NotifyLog: the updates go in one
// batch (one round trip), then the rows that did not change are looked at.
func (s *Store) UpdateNotifications(ctx context.Context, ns []*store.Notification, from []string) ([]error, error) {
	if len(ns) != len(from) {
		return nil, fmt.Errorf("update notifications: %d notifications, %d statuses", len(ns), len(from))
	}
	for _, n := range ns {
		if err := store.CheckStatus(n.Status); err != nil {
			return nil, fmt.Errorf("update notification %d: %w", n.ID, err)
		}
	}
	errs := make([]error, len(ns))
	err := s.writeTx(ctx, "update notifications", func(tx pgx.Tx) error {
		clear(errs)
		var b pgx.Batch
		for i, n := range ns {
			b.Queue(`UPDATE notifications SET status = $1, attempts = $2, next_attempt = $3, last_error = $4, updated_at = $5
				WHERE id = $6 AND status = $7`, n.Status, int64(n.Attempts), nanos(n.NextAttempt), cleanText(n.LastError), nanos(n.UpdatedAt), n.ID, cleanText(from[i]))
		}
		br := tx.SendBatch(ctx, &b)
		missed := []int{}
		for i := range ns {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return fmt.Errorf("update notification %d: %w", ns[i].ID, err)
			}
			if tag.RowsAffected() != 1 {
				missed = append(missed, i)
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		for _, i := range missed {
			what := "update notification " + strconv.FormatInt(ns[i].ID, 10)
			var status string
			err := tx.QueryRow(ctx, `SELECT status FROM notifications WHERE id = $1`, ns[i].ID).Scan(&status)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				errs[i] = fmt.Errorf("%s: %w", what, store.ErrNotFound)
			case err != nil:
				return fmt.Errorf("%s: %w", what, err)
			default:
				errs[i] = fmt.Errorf("%s: it is %s, not %s: %w", what, status, from[i], store.ErrNotifyState)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// Notifications implements store.NotifyLog.
func (s *Store) Notifications(ctx context.Context, f store.NotifyFilter) iter.Seq2[*store.Notification, error] {
	query := func(after []any, n int) (string, []any) {
		var w where
		if f.Org != "" {
			w.add("org", "=", cleanText(f.Org))
		}
		if f.Recipient != "" {
			w.add("recipient", "=", cleanText(f.Recipient))
		}
		if f.Status != "" {
			w.add("status", "=", cleanText(f.Status))
		}
		if !f.Since.IsZero() {
			w.add("created_at", ">=", nanos(f.Since))
		}
		if after != nil {
			w.args = append(w.args, after...)
			k := len(w.args)
			w.conds = append(w.conds, fmt.Sprintf("(created_at, id) < ($%d, $%d)", k-1, k))
		}
		q := `SELECT ` + notifyCols + ` FROM notifications`
		if len(w.conds) > 0 {
			q += " WHERE " + strings.Join(w.conds, " AND ")
		}
		w.args = append(w.args, n)
		return q + fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT $%d", len(w.args)), w.args
	}
	scan := func(rows pgx.Rows) (*store.Notification, []any, error) {
		n, err := scanNotification(rows, false)
		if err != nil {
			return nil, nil, err
		}
		return n, []any{nanos(n.CreatedAt), n.ID}, nil
	}
	return pages(ctx, s, "notifications", pageSize, f.Limit, query, scan)
}

// Notification implements store.NotifyLog.
func (s *Store) Notification(ctx context.Context, key string) (*store.Notification, error) {
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		id = 0 // no notification has ID 0
	}
	var n *store.Notification
	err = s.read(ctx, `SELECT `+notifyCols+`, message FROM notifications WHERE id = $1 OR ident = $2 OR message_id = $2 ORDER BY id LIMIT 1`,
		[]any{id, cleanText(key)}, func(rows pgx.Rows) error {
			var err error
			n, err = scanNotification(rows, true)
			return err
		})
	switch {
	case err != nil:
		return nil, fmt.Errorf("notification %s: %w", key, err)
	case n == nil:
		return nil, fmt.Errorf("notification %s: %w", key, store.ErrNotFound)
	}
	return n, nil
}

// SetContactFlag implements store.NotifyLog.
func (s *Store) SetContactFlag(ctx context.Context, f store.ContactFlag) error {
	if err := store.CheckFlag(&f); err != nil {
		return err
	}
	what := "flag contact " + f.Email
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO contact_flags (email, flag, detail, at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (email) DO UPDATE SET flag = excluded.flag, detail = excluded.detail, at = excluded.at`,
			f.Email, f.Flag, cleanText(f.Detail), nanos(f.At))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// ClearContactFlag implements store.NotifyLog.
func (s *Store) ClearContactFlag(ctx context.Context, email string) error {
	what := "clear the flag of contact " + email
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM contact_flags WHERE email = $1`, cleanText(email)); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// ContactFlags implements store.NotifyLog.
func (s *Store) ContactFlags(ctx context.Context) iter.Seq2[store.ContactFlag, error] {
	query := func(after []any, n int) (string, []any) {
		if after == nil {
			return `SELECT email, flag, detail, at FROM contact_flags ORDER BY email LIMIT $1`, []any{n}
		}
		return `SELECT email, flag, detail, at FROM contact_flags WHERE email > $1 ORDER BY email LIMIT $2`, []any{after[0], n}
	}
	scan := func(rows pgx.Rows) (store.ContactFlag, []any, error) {
		var f store.ContactFlag
		var at int64
		if err := rows.Scan(&f.Email, &f.Flag, &f.Detail, &at); err != nil {
			return f, nil, err
		}
		f.At = fromNanos(at)
		return f, []any{f.Email}, nil
	}
	return pages(ctx, s, "contact flags", pageSize, 0, query, scan)
}
