package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/store"
)

// The notification log's tables are notifications, notify_memory,
// notify_idents and contact_flags (migration 5).
//
// A notification's events are one column, the IDs packed as varint deltas
// (packIDs), read and written with the notification: a row per event
// would make QueueNotifications of 10k notifications carrying 1M events
// write 1M index entries, for a relation nothing queries by event.
//
// Writes run in transactions that take SQLite's write lock at BEGIN
// (_txlock=immediate), so the ID allocation of QueueNotifications
// (max(id)+1) and AllocateIdents are safe across connections and processes.

var _ store.NotifyLog = (*Store)(nil)

// nanos and fromNanos store times as store.Nanos says.
func nanos(t time.Time) int64     { return store.Nanos(t) }
func fromNanos(n int64) time.Time { return store.FromNanos(n) }

// packIDs encodes ids as the varint (zigzag) differences of each from the
// one before: one or two bytes an ID for ascending IDs close together,
// and any order comes back as it was.
func packIDs(ids []int64) []byte {
	b := make([]byte, 0, 2*len(ids))
	var prev int64
	for _, id := range ids {
		b = binary.AppendVarint(b, id-prev)
		prev = id
	}
	return b
}

// unpackIDs decodes packIDs; nil for none.
func unpackIDs(b []byte) ([]int64, error) {
	if len(b) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(b)/2)
	var prev int64
	for len(b) > 0 {
		d, n := binary.Varint(b)
		if n <= 0 {
			return nil, errors.New("stored event IDs are corrupt")
		}
		prev += d
		ids = append(ids, prev)
		b = b[n:]
	}
	return ids, nil
}

// identDay is the key of day in notify_idents.
func identDay(day time.Time) string { return day.UTC().Format("2006-01-02") }

// AllocateIdents implements store.NotifyLog.
func (s *Store) AllocateIdents(ctx context.Context, day time.Time, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("allocate %d notification idents: need at least one", n)
	}
	var next int64
	err := s.writeTx(ctx, "allocate notification idents", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO notify_idents (day, next) VALUES (?, 1 + ?)
			ON CONFLICT (day) DO UPDATE SET next = notify_idents.next + excluded.next - 1 RETURNING next`,
			identDay(day), n).Scan(&next)
	})
	if err != nil {
		return 0, err
	}
	return next - int64(n), nil
}

// notifyRowsPerInsert and memRowsPerInsert are how many rows one INSERT
// carries (17 and 4 columns: far below SQLite's bound-parameter limit).
const (
	notifyRowsPerInsert = 32
	memRowsPerInsert    = 128
)

const notifyInsertCols = `id, ident, kind, org, recipient, contact, route, subject, message_id, status, attempts, created_at, updated_at, next_attempt, last_error, events, message`

func rowsSQL(prefix string, cols, rows int, suffix string) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return prefix + strings.TrimSuffix(strings.Repeat(one+",", rows), ",") + suffix
}

func notifyInsertSQL(rows int) string {
	return rowsSQL(`INSERT INTO notifications (`+notifyInsertCols+`) VALUES `, 17, rows, "")
}

func memInsertSQL(rows int) string {
	return rowsSQL(`INSERT INTO notify_memory (recipient, key, at, notification) VALUES `, 4, rows,
		` ON CONFLICT (recipient, key) DO UPDATE SET at = excluded.at, notification = excluded.notification`)
}

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
	ids := make([]int64, len(ns))
	err := s.writeTx(ctx, what, func(tx *sql.Tx) error {
		var next int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM notifications`).Scan(&next); err != nil {
			return fmt.Errorf("%s: allocate IDs: %w", what, err)
		}
		for i := range ids {
			ids[i] = next + int64(i)
		}
		if err := insertNotifications(ctx, tx, ns, ids); err != nil {
			return fmt.Errorf("%s: %w", what, err)
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
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

func insertNotifications(ctx context.Context, tx *sql.Tx, ns []*store.Notification, ids []int64) error {
	var many *sql.Stmt
	args := make([]any, 0, 17*notifyRowsPerInsert)
	for start := 0; start < len(ns); start += notifyRowsPerInsert {
		m := min(len(ns)-start, notifyRowsPerInsert)
		args = args[:0]
		for i := start; i < start+m; i++ {
			n := ns[i]
			args = append(args, ids[i], n.Ident, n.Kind, n.Org, n.Recipient, n.Contact, n.Route, n.Subject, n.MessageID,
				n.Status, n.Attempts, nanos(n.CreatedAt), nanos(n.UpdatedAt), nanos(n.NextAttempt), n.LastError, packIDs(n.Events), []byte{})
		}
		var err error
		if m == notifyRowsPerInsert {
			if many == nil {
				if many, err = tx.PrepareContext(ctx, notifyInsertSQL(m)); err != nil {
					return err
				}
				defer many.Close()
			}
			_, err = many.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, notifyInsertSQL(m), args...)
		}
		if err != nil {
			return fmt.Errorf("notification %s (Message-ID %s) or one of the %d after it: %w", ns[start].Ident, ns[start].MessageID, m-1, err)
		}
	}
	// The messages in their own table (see the migration).
	ins, err := tx.PrepareContext(ctx, `INSERT INTO notification_messages (id, message) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for i, n := range ns {
		msg := n.Message
		if msg == nil {
			msg = []byte{}
		}
		if _, err := ins.ExecContext(ctx, ids[i], msg); err != nil {
			return fmt.Errorf("the message of notification %s: %w", n.Ident, err)
		}
	}
	return nil
}

func insertMemory(ctx context.Context, tx *sql.Tx, rows []store.Remembered) error {
	var many *sql.Stmt
	args := make([]any, 0, 4*memRowsPerInsert)
	for start := 0; start < len(rows); start += memRowsPerInsert {
		m := min(len(rows)-start, memRowsPerInsert)
		args = args[:0]
		for i := start; i < start+m; i++ {
			r := &rows[i]
			args = append(args, r.Recipient, int64(r.Key), nanos(r.At), r.Notification)
		}
		var err error
		if m == memRowsPerInsert {
			if many == nil {
				if many, err = tx.PrepareContext(ctx, memInsertSQL(m)); err != nil {
					return err
				}
				defer many.Close()
			}
			_, err = many.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, memInsertSQL(m), args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Memory implements store.NotifyLog.
func (s *Store) Memory(ctx context.Context, since time.Time) iter.Seq2[store.Remembered, error] {
	q := `SELECT recipient, key, at, notification FROM notify_memory`
	var args []any
	if !since.IsZero() {
		q += ` WHERE at >= ?`
		args = append(args, nanos(since))
	}
	return func(yield func(store.Remembered, error) bool) {
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			yield(store.Remembered{}, fmt.Errorf("query notification memory: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var r store.Remembered
			var key, at int64
			if err := rows.Scan(&r.Recipient, &key, &at, &r.Notification); err != nil {
				yield(store.Remembered{}, fmt.Errorf("query notification memory: %w", err))
				return
			}
			r.Key, r.At = uint64(key), fromNanos(at)
			if !yield(r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(store.Remembered{}, fmt.Errorf("query notification memory: %w", err))
		}
	}
}

const notifyCols = `id, ident, kind, org, recipient, contact, route, subject, message_id, status, attempts, created_at, updated_at, next_attempt, last_error, events`

// scanNotification reads notifyCols, and message when withMessage, into n.
func scanNotification(rows *sql.Rows, n *store.Notification, withMessage bool) error {
	var created, updated, next int64
	var events []byte
	dest := []any{&n.ID, &n.Ident, &n.Kind, &n.Org, &n.Recipient, &n.Contact, &n.Route, &n.Subject, &n.MessageID,
		&n.Status, &n.Attempts, &created, &updated, &next, &n.LastError, &events}
	if withMessage {
		dest = append(dest, &n.Message)
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	n.CreatedAt, n.UpdatedAt, n.NextAttempt = fromNanos(created), fromNanos(updated), fromNanos(next)
	var err error
	if n.Events, err = unpackIDs(events); err != nil {
		return fmt.Errorf("notification %d: %w", n.ID, err)
	}
	return nil
}

func scanWithMessage(rows *sql.Rows, n *store.Notification) error {
	return scanNotification(rows, n, true)
}

// DueNotifications implements store.NotifyLog. It yields them by
// NextAttempt, then ID.
func (s *Store) DueNotifications(ctx context.Context, now time.Time) iter.Seq2[*store.Notification, error] {
	// One range of the (status, next_attempt) index per status, merged.
	return query(ctx, s.db, "due notifications", `SELECT `+notifyCols+`, COALESCE((SELECT m.message FROM notification_messages m WHERE m.id = notifications.id), message) FROM notifications
		WHERE status IN (?, ?) AND next_attempt <= ? ORDER BY next_attempt, id`,
		[]any{store.NotifyQueued, store.NotifyDeferred, nanos(now)}, scanWithMessage)
}

// UpdateNotification implements store.NotifyLog.
func (s *Store) UpdateNotification(ctx context.Context, n *store.Notification, from string) error {
	errs, err := s.UpdateNotifications(ctx, []*store.Notification{n}, []string{from})
	if err != nil {
		return err
	}
	return errs[0]
}

// UpdateNotifications implements store.NotifyLog.
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
	err := s.writeTx(ctx, "update notifications", func(tx *sql.Tx) error {
		clear(errs)
		up, err := tx.PrepareContext(ctx, `UPDATE notifications SET status = ?, attempts = ?, next_attempt = ?, last_error = ?, updated_at = ?
			WHERE id = ? AND status = ?`)
		if err != nil {
			return err
		}
		defer up.Close()
		for i, n := range ns {
			what := "update notification " + strconv.FormatInt(n.ID, 10)
			res, err := up.ExecContext(ctx, n.Status, n.Attempts, nanos(n.NextAttempt), n.LastError, nanos(n.UpdatedAt), n.ID, from[i])
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if k, err := res.RowsAffected(); err != nil {
				return err
			} else if k == 1 {
				continue
			}
			var status string
			err = tx.QueryRowContext(ctx, `SELECT status FROM notifications WHERE id = ?`, n.ID).Scan(&status)
			switch {
			case errors.Is(err, sql.ErrNoRows):
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
	var where []string
	var args []any
	if f.Org != "" {
		where, args = append(where, "org = ?"), append(args, f.Org)
	}
	if f.Recipient != "" {
		where, args = append(where, "recipient = ?"), append(args, f.Recipient)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, nanos(f.Since))
	}
	q := `SELECT ` + notifyCols + ` FROM notifications`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return query(ctx, s.db, "notifications", q, args,
		func(rows *sql.Rows, n *store.Notification) error { return scanNotification(rows, n, false) })
}

// Notification implements store.NotifyLog.
func (s *Store) Notification(ctx context.Context, key string) (*store.Notification, error) {
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		id = 0 // no notification has ID 0
	}
	for n, err := range query(ctx, s.db, "notification "+key, `SELECT `+notifyCols+`, COALESCE((SELECT m.message FROM notification_messages m WHERE m.id = notifications.id), message) FROM notifications
		WHERE id = ? OR ident = ? OR message_id = ? ORDER BY id LIMIT 1`, []any{id, key, key}, scanWithMessage) {
		return n, err
	}
	return nil, fmt.Errorf("notification %s: %w", key, store.ErrNotFound)
}

// SetContactFlag implements store.NotifyLog.
func (s *Store) SetContactFlag(ctx context.Context, f store.ContactFlag) error {
	if err := store.CheckFlag(&f); err != nil {
		return err
	}
	what := "flag contact " + f.Email
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO contact_flags (email, flag, detail, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (email) DO UPDATE SET flag = excluded.flag, detail = excluded.detail, at = excluded.at`,
			f.Email, f.Flag, f.Detail, nanos(f.At))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// ClearContactFlag implements store.NotifyLog.
func (s *Store) ClearContactFlag(ctx context.Context, email string) error {
	what := "clear the flag of contact " + email
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_flags WHERE email = ?`, email); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// ContactFlags implements store.NotifyLog.
func (s *Store) ContactFlags(ctx context.Context) iter.Seq2[store.ContactFlag, error] {
	return func(yield func(store.ContactFlag, error) bool) {
		for f, err := range query(ctx, s.db, "contact flags", `SELECT email, flag, detail, at FROM contact_flags ORDER BY email`, nil,
			func(rows *sql.Rows, f *store.ContactFlag) error {
				var at int64
				if err := rows.Scan(&f.Email, &f.Flag, &f.Detail, &at); err != nil {
					return err
				}
				f.At = fromNanos(at)
				return nil
			}) {
			if err != nil {
				yield(store.ContactFlag{}, err)
				return
			}
			if !yield(*f, nil) {
				return
			}
		}
	}
}
