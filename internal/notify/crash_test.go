package notify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/mail/mailpittest"
	"github.com/tocsin/tocsin/internal/mail/smtp"
	"github.com/tocsin/tocsin/internal/store"
)

// crashingSender is a fake mail server that takes the run down: the
// first message it is given is delivered through next (when there is
// one) and then the run's context is cancelled, as a stop or a crash
// would; every other message waits for the cancellation and is not
// delivered.
type crashingSender struct {
	next   mail.Sender // nil: the first message is not delivered either
	cancel context.CancelFunc

	once  sync.Once
	calls atomic.Int32
}

func (s *crashingSender) Send(ctx context.Context, env mail.Envelope, msg []byte) error {
	s.calls.Add(1)
	var err error
	first := false
	s.once.Do(func() {
		first = true
		if s.next != nil {
			err = s.next.Send(ctx, env, msg)
		}
		s.cancel()
	})
	if first && s.next != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// countingLog is the notification log, counting the calls that render
// and queue new notifications.
type countingLog struct {
	store.NotifyLog
	allocs, queues atomic.Int32
}

func (l *countingLog) AllocateIdents(ctx context.Context, day time.Time, n int) (int64, error) {
	l.allocs.Add(1)
	return l.NotifyLog.AllocateIdents(ctx, day, n)
}

func (l *countingLog) QueueNotifications(ctx context.Context, ns []*store.Notification, mem []store.Remembered) error {
	l.queues.Add(1)
	return l.NotifyLog.QueueNotifications(ctx, ns, mem)
}

// crashDirectory is three organisations with an event or two each.
func crashDirectory(t *testing.T, s db) *directory {
	var d directory
	d.add(constituency.Org{ID: "isp"}, "abuse@isp.example")
	d.add(constituency.Org{ID: "host", Languages: []string{"sv"}}, "abuse@host.example")
	d.add(constituency.Org{ID: "uni", Languages: []string{"pt"}}, "cert@uni.example")
	report(t, s, "r", t0.Add(-time.Hour), infected("isp", "192.0.2.1", 1), infected("isp", "192.0.2.2", 2),
		vulnerable("host", "198.51.100.1", 3), infected("uni", "203.0.113.1", 4))
	return &d
}

// TestCrashAfterQueue: a run stopped after its messages were rendered and
// queued, before they were sent, leaves them queued; the next run, in a
// new process, sends each of them once, as they were queued (same
// Message-ID, same bytes), and renders nothing.
func TestCrashAfterQueue(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
		s := open(t)
		d := crashDirectory(t, s)
		cfg := parseConfig(t, "")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		crash := &crashingSender{cancel: cancel}
		if _, err := newNotifier(t, cfg, s, d, crash).Run(ctx, Options{Now: t0}); !isCanceled(err) {
			t.Fatalf("the run that crashed returned %v, want context.Canceled", err)
		}
		queued := logged(t, s)
		if len(queued) != 3 || crash.calls.Load() == 0 {
			t.Fatalf("the log holds %d notifications (%d sends tried), want 3", len(queued), crash.calls.Load())
		}
		for _, q := range queued {
			if q.Status != store.NotifyQueued || q.Attempts != 0 || len(q.Message) == 0 {
				t.Errorf("%s: %s after %d attempts with %d bytes, want queued, untried, with its message", q.Ident, q.Status, q.Attempts, len(q.Message))
			}
		}

		// The restart: a new store handle and a new notifier.
		s2 := open(t)
		l := &countingLog{NotifyLog: s2}
		snd := newFakeSender(t, nil)
		n := newNotifier(t, cfg, s2, d, snd)
		n.Log = l
		sum := runAt(t, n, t0.Add(time.Hour))
		if sum.Sent != 3 || sum.Messages != 0 || sum.Suppressed != 4 {
			t.Errorf("the run after the restart: %+v, want the 3 queued sent, nothing built, the 4 events remembered", sum)
		}
		if l.allocs.Load() != 0 || l.queues.Load() != 0 {
			t.Errorf("the run after the restart allocated IDs %d times and queued %d times, want nothing rendered", l.allocs.Load(), l.queues.Load())
		}
		after := logged(t, s2)
		files := outboxFiles(t, snd.outbox.Dir)
		if len(after) != 3 || len(files) != 3 {
			t.Fatalf("%d notifications, %d messages in the outbox; want 3 of each", len(after), len(files))
		}
		for i, q := range queued {
			a := after[i]
			if a.Ident != q.Ident || a.Status != store.NotifySent || a.Attempts != 1 || snd.tries(q.Ident) != 1 {
				t.Errorf("%s: now %s %s after %d attempts, tried %d times; want it sent on the first try", q.Ident, a.Ident, a.Status, a.Attempts, snd.tries(q.Ident))
			}
			if !bytes.Equal(files[q.Ident], q.Message) || messageID(t, files[q.Ident]) != q.MessageID {
				t.Errorf("%s: the message sent is not the one queued (Message-ID %s, want %s)", q.Ident, messageID(t, files[q.Ident]), q.MessageID)
			}
		}
		if sum := runAt(t, n, t0.Add(2*time.Hour)); sum.Sent+sum.Messages != 0 {
			t.Errorf("the run after: %+v, want nothing", sum)
		}
	})
}

// TestCrashMailpit: the run is stopped just after a real mail server
// (mailpit) accepted its first message. The next run, after a restart,
// sends the rest: the server holds each notification exactly once, as it
// was queued.
func TestCrashMailpit(t *testing.T) {
	srv := mailpittest.Start(t)
	openDB := backends[0].new(t) // SQLite
	s := openDB(t)
	d := crashDirectory(t, s)
	cfg := parseConfig(t, "")
	newClient := func() *smtp.Client {
		c, err := smtp.New(smtp.Config{Addr: srv.SMTPAddr, TLS: smtp.TLSNone})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crash := &crashingSender{next: newClient(), cancel: cancel}
	if _, err := newNotifier(t, cfg, s, d, crash).Run(ctx, Options{Now: t0}); !isCanceled(err) {
		t.Fatalf("the run that crashed returned %v, want context.Canceled", err)
	}
	if got := srv.Count(t); got != 1 {
		t.Fatalf("mailpit received %d messages before the crash, want 1", got)
	}

	s2 := openDB(t)
	sum := runAt(t, newNotifier(t, cfg, s2, d, newClient()), t0.Add(time.Hour))
	ns := logged(t, s2)
	if len(ns) != 3 || sum.Sent != 2 || sum.Messages != 0 {
		t.Errorf("after the restart: %+v and %d notifications, want the 2 left sent", sum, len(ns))
	}
	msgs := srv.Messages(t)
	if len(msgs) != len(ns) {
		t.Errorf("mailpit received %d messages, want %d: one per notification", len(msgs), len(ns))
	}
	byID := map[string][]string{}
	for _, m := range msgs {
		byID["<"+m.MessageID+">"] = append(byID["<"+m.MessageID+">"], m.ID)
	}
	for _, n := range ns {
		got := byID[n.MessageID]
		if len(got) != 1 || n.Status != store.NotifySent {
			t.Errorf("%s (%s): received %d times, status %s; want once, sent", n.Ident, n.MessageID, len(got), n.Status)
			continue
		}
		if raw := srv.Raw(t, got[0]); !bytes.HasSuffix(raw, n.Message) {
			t.Errorf("%s: mailpit holds %d bytes that do not end with the %d queued", n.Ident, len(raw), len(n.Message))
		}
	}
}

// dyingLog is the notification log of a process that dies while it
// sends: a run claims each notification, and every write after that
// fails.
type dyingLog struct {
	store.NotifyLog
	mu      sync.Mutex
	claimed map[int64]bool
}

func (l *dyingLog) UpdateNotification(ctx context.Context, n *store.Notification, from string) error {
	errs, err := l.UpdateNotifications(ctx, []*store.Notification{n}, []string{from})
	if err != nil {
		return err
	}
	return errs[0]
}

func (l *dyingLog) UpdateNotifications(ctx context.Context, ns []*store.Notification, from []string) ([]error, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range ns {
		if l.claimed[n.ID] {
			return nil, errors.New("the database went away")
		}
	}
	for _, n := range ns {
		l.claimed[n.ID] = true
	}
	return l.NotifyLog.UpdateNotifications(ctx, ns, from)
}

// TestDiedWhileSending: a run that dies after claiming its notifications
// leaves them to the next run once the claim has run out, not before.
func TestDiedWhileSending(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
		s := open(t)
		d := crashDirectory(t, s)
		cfg := parseConfig(t, "")
		n := newNotifier(t, cfg, s, d, newFakeSender(t, nil))
		n.Log = &dyingLog{NotifyLog: s, claimed: map[int64]bool{}}
		if _, err := n.Run(context.Background(), Options{Now: t0}); err == nil || !strings.Contains(err.Error(), "went away") {
			t.Fatalf("the run that died returned %v", err)
		}
		for _, nt := range logged(t, s) {
			if nt.Attempts != 0 || nt.NextAttempt.Before(t0.Add(claimFor)) {
				t.Errorf("%s: %s after %d attempts, next attempt %s: want it claimed until %s", nt.Ident, nt.Status, nt.Attempts, nt.NextAttempt, t0.Add(claimFor))
			}
		}

		snd := newFakeSender(t, nil)
		n = newNotifier(t, cfg, open(t), d, snd)
		if sum := runAt(t, n, t0.Add(claimFor-time.Minute)); sum.Sent+sum.Messages != 0 || len(snd.attempts) != 0 {
			t.Errorf("a run while the claims hold: %+v, %d sends; want none", sum, len(snd.attempts))
		}
		if sum := runAt(t, n, t0.Add(claimFor+time.Minute)); sum.Sent != 3 || sum.Messages != 0 {
			t.Errorf("a run after the claims ran out: %+v, want the 3 sent", sum)
		}
		for _, nt := range logged(t, s) {
			if nt.Status != store.NotifySent || nt.Attempts != 1 || snd.tries(nt.Ident) != 1 {
				t.Errorf("%s: %s after %d attempts, tried %d times; want sent once", nt.Ident, nt.Status, nt.Attempts, snd.tries(nt.Ident))
			}
		}
	})
}

// messageID returns the Message-ID field of msg.
func messageID(t *testing.T, msg []byte) string {
	t.Helper()
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("read the header: %v", err)
	}
	return strings.TrimSpace(h.Get("Message-Id"))
}
