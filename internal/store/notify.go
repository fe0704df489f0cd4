package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// The notification log: the notifier's durable memory (as Alertmanager's
// nflog is). It keeps every notification with the message as sent, the
// events it reported, its delivery state, and, per recipient, when each
// event identity was last notified, so that the same event is not notified
// twice to the same recipient within its re-notify interval — also across
// restarts and processes.
//
// The delivery state machine:
//
//	queued ──send ok──▶ sent ──DSN──▶ bounced
//	   │  ╲
//	   │   ╲temporary failure──▶ deferred ──(NextAttempt)──▶ send again
//	   ╰──permanent failure / too many attempts──▶ failed
//
// A notification is queued with its rendered message (Message-ID included)
// in the same transaction that writes its memory entries, so a crash after
// rendering loses nothing and a crash after queueing sends the same message
// (same Message-ID) later; it is never rendered twice.

// Notification statuses.
const (
	NotifyQueued   = "queued"   // rendered and stored, not yet accepted by a mail server
	NotifySent     = "sent"     // accepted by the mail server (or written to the outbox)
	NotifyDeferred = "deferred" // a temporary failure; tried again at NextAttempt
	NotifyFailed   = "failed"   // a permanent failure, or too many attempts
	NotifyBounced  = "bounced"  // sent, then a delivery status notification said it failed
)

// ErrNotifyState is returned by UpdateNotification when the notification
// is not in the status the update expects (another process moved it).
var ErrNotifyState = errors.New("notification is not in the expected state")

// Notification is one message to one recipient.
type Notification struct {
	ID int64 // assigned by QueueNotifications
	// Ident is the ID quoted to the recipient, "TOCSIN-20261124-000123":
	// the UTC day and a per-day sequence from AllocateIdents.
	Ident     string
	Kind      string // "events", "monthly", "confirm"
	Org       string // the organisation's ID; "" when none
	Recipient string // e-mail address
	Contact   string // the recipient's provenance: manual, ripe, security.txt, rfc2142
	Route     string // name of the routing rule that chose it
	Subject   string
	MessageID string // with angle brackets
	Status    string
	Attempts  int
	CreatedAt time.Time
	UpdatedAt time.Time
	// NextAttempt is when a queued or deferred notification is due.
	NextAttempt time.Time
	LastError   string
	Events      []int64 // IDs of the events reported, ascending
	// Message is the message as sent (RFC 5322, signed). Lists leave it
	// nil; Notification and DueNotifications fill it in.
	Message []byte
}

// Remembered says that the event identity Key was notified to Recipient
// at At by notification Notification.
type Remembered struct {
	Recipient    string
	Key          uint64 // the event's identity across windows: its Feed, Type and Key, hashed by the notifier
	At           time.Time
	Notification int64
}

// NotifyFilter selects notifications. Zero fields match everything.
type NotifyFilter struct {
	Org       string
	Recipient string
	Status    string
	Since     time.Time // created at or after
	Limit     int
}

// ContactFlag marks a mailbox after what came back from it.
type ContactFlag struct {
	Email  string
	Flag   string // ContactBouncing or ContactAutoReply
	Detail string // the status or subject that set it
	At     time.Time
}

// Contact flags.
const (
	// ContactBouncing: mail to it failed permanently; the notifier falls
	// back to the next contact in the chain.
	ContactBouncing = "bouncing"
	// ContactAutoReply: it answered with an auto-reply; functional
	// mailboxes must not, so the analysts are told (it still gets mail).
	ContactAutoReply = "auto-reply"
)

// NotifyLog is the notification log. Implementations pass
// storetest.RunNotifyLog. Its methods are safe for concurrent use, also
// by several processes sharing one database.
type NotifyLog interface {
	// AllocateIdents reserves n consecutive sequence numbers of day (its
	// UTC date) and returns the first; the numbers start at 1 each day and
	// are never handed out twice, even to concurrent callers. Numbers
	// reserved and not used leave gaps.
	AllocateIdents(ctx context.Context, day time.Time, n int) (first int64, err error)
	// QueueNotifications stores ns (Status must be queued) and mem in one
	// transaction, filling in each ID. A memory entry replaces the one
	// with its (Recipient, Key); its Notification may be 0 to mean the
	// notification of ns with the same Recipient (the first one).
	QueueNotifications(ctx context.Context, ns []*Notification, mem []Remembered) error
	// Memory yields the memory entries with At at or after since.
	Memory(ctx context.Context, since time.Time) iter.Seq2[Remembered, error]
	// DueNotifications yields the queued and deferred notifications whose
	// NextAttempt is at or before now, oldest first, Message included.
	DueNotifications(ctx context.Context, now time.Time) iter.Seq2[*Notification, error]
	// UpdateNotification records a delivery attempt or a bounce: it sets
	// the status, attempts, next attempt and last error of notification
	// n.ID if its status is still from (else ErrNotifyState; ErrNotFound
	// when there is no such notification). UpdatedAt is set to n.UpdatedAt.
	UpdateNotification(ctx context.Context, n *Notification, from string) error
	// UpdateNotifications is UpdateNotification for ns[i] from from[i],
	// all in one transaction: errs[i] is what UpdateNotification would
	// have returned for it (nil, ErrNotifyState or ErrNotFound); err is a
	// failure of the whole batch, which then changed nothing.
	UpdateNotifications(ctx context.Context, ns []*Notification, from []string) (errs []error, err error)
	// Notifications yields the notifications matching f, newest first,
	// without Message.
	Notifications(ctx context.Context, f NotifyFilter) iter.Seq2[*Notification, error]
	// Notification returns one notification, Message included, by its ID
	// (as text), its Ident or its Message-ID; ErrNotFound when none.
	Notification(ctx context.Context, key string) (*Notification, error)
	// SetContactFlag records a flag on a mailbox, replacing its flag.
	SetContactFlag(ctx context.Context, f ContactFlag) error
	// ClearContactFlag removes the flag of a mailbox (not an error when it
	// has none).
	ClearContactFlag(ctx context.Context, email string) error
	// ContactFlags yields every flagged mailbox, by e-mail address.
	ContactFlags(ctx context.Context) iter.Seq2[ContactFlag, error]
}

// FormatIdent returns the notification ID quoted to recipients.
func FormatIdent(prefix string, day time.Time, seq int64) string {
	return fmt.Sprintf("%s-%s-%06d", prefix, day.UTC().Format("20060102"), seq)
}

// ErrLeaseHeld is returned by AcquireLease when another holder's lease on
// the name has not expired.
var ErrLeaseHeld = errors.New("held by another process")

// Leaser hands out named leases: a mutual exclusion between processes
// sharing one database that a crashed holder cannot keep for ever (its
// lease expires). The notifier holds one while it plans, so that two
// overlapping `notify run`s do not both notify the same events.
type Leaser interface {
	// AcquireLease takes the lease name for holder until until, if it is
	// free, expired at now, or already holder's (which renews it). It
	// returns ErrLeaseHeld, with the current holder and expiry in the
	// message, otherwise.
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) error
	// ReleaseLease gives the lease up if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// The rest of this file is for implementations of NotifyLog: the checks
// and the memory rows both stores share.

// CheckQueued returns an error when a notification cannot be queued.
func CheckQueued(n *Notification) error {
	switch {
	case n.Status != NotifyQueued:
		return fmt.Errorf("notification %s to %s has status %q: only %q is queued", n.Ident, n.Recipient, n.Status, NotifyQueued)
	case n.Ident == "" || n.MessageID == "" || n.Recipient == "":
		return fmt.Errorf("notification %q to %q (Message-ID %q): ident, recipient and Message-ID are required", n.Ident, n.Recipient, n.MessageID)
	}
	return nil
}

// MemoryRows returns mem with each Notification 0 resolved to the ID of
// the first of ns to its recipient (ids[i] is ns[i]'s), sorted by
// (recipient, key) as the table is, and only the last entry of each key
// kept: the one that replaces the others.
func MemoryRows(ns []*Notification, ids []int64, mem []Remembered) ([]Remembered, error) {
	first := map[string]int64{}
	for i := len(ns) - 1; i >= 0; i-- {
		first[ns[i].Recipient] = ids[i]
	}
	type seqRow struct {
		Remembered
		seq int
	}
	rows := make([]seqRow, len(mem))
	for i := range rows {
		rows[i] = seqRow{mem[i], i}
		m := &rows[i].Remembered
		if m.Recipient == "" {
			return nil, fmt.Errorf("memory entry of key %d: no recipient", m.Key)
		}
		if m.Notification == 0 {
			id, ok := first[m.Recipient]
			if !ok {
				return nil, fmt.Errorf("memory entry of %s, key %d: notification 0 means one to %s, and none is queued", m.Recipient, m.Key, m.Recipient)
			}
			m.Notification = id
		}
	}
	// The notifier's entries usually come sorted: then this is one pass.
	order := func(a, b seqRow) int {
		return cmp.Or(strings.Compare(a.Recipient, b.Recipient), cmp.Compare(int64(a.Key), int64(b.Key)), cmp.Compare(a.seq, b.seq))
	}
	if !slices.IsSortedFunc(rows, order) {
		slices.SortFunc(rows, order)
	}
	out := make([]Remembered, 0, len(rows))
	for i := range rows {
		if i+1 < len(rows) && rows[i+1].Recipient == rows[i].Recipient && rows[i+1].Key == rows[i].Key {
			continue
		}
		out = append(out, rows[i].Remembered)
	}
	return out, nil
}

// CheckStatus returns an error when status is not a notification status.
func CheckStatus(status string) error {
	switch status {
	case NotifyQueued, NotifySent, NotifyDeferred, NotifyFailed, NotifyBounced:
		return nil
	}
	return fmt.Errorf("unknown status %q", status)
}

// CheckFlag returns an error when f cannot be stored.
func CheckFlag(f *ContactFlag) error {
	if f.Email == "" {
		return errors.New("flag a contact: no e-mail address")
	}
	switch f.Flag {
	case ContactBouncing, ContactAutoReply:
		return nil
	}
	return fmt.Errorf("flag contact %s: unknown flag %q (use %s or %s)", f.Email, f.Flag, ContactBouncing, ContactAutoReply)
}

// Nanos is t as both stores keep the notification log's times: Unix
// nanoseconds, 0 for the zero time (so years 1678 to 2262).
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromNanos is the time Nanos stored as n, in UTC.
func FromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
