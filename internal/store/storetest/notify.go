package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/store"
)

// NotifyLogStore is a store with a notification log, as RunNotifyLog
// tests it.
type NotifyLogStore interface {
	store.NotifyLog
	Close() error
}

// NewNotifyLog makes a fresh, empty database for one test and returns the
// function that opens it. Each call opens the same database again, also
// while stores it opened earlier are open (as other processes would).
// The suite closes every store it opens.
type NewNotifyLog func(t *testing.T) (open func() NotifyLogStore)

// RunNotifyLog runs the conformance suite of store.NotifyLog.
func RunNotifyLog(t *testing.T, newLog NewNotifyLog) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() NotifyLogStore)
	}{
		{"QueueRoundTrip", testQueueRoundTrip},
		{"Idents", testIdents},
		{"ConcurrentIdents", testConcurrentIdents},
		{"Memory", testMemory},
		{"Due", testDue},
		{"StateMachine", testStateMachine},
		{"Notifications", testNotifications},
		{"Lookup", testLookup},
		{"ContactFlags", testContactFlags},
		{"Durable", testNotifyDurable},
		{"QueueIsAtomic", testQueueAtomic},
		{"LargeQueue", testLargeQueue},
		{"Leases", testLeases},
		{"BatchUpdate", testBatchUpdate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newLog(t))
		})
	}
}

// openLog opens a store and closes it when t ends.
func openLog(t *testing.T, open func() NotifyLogStore) NotifyLogStore {
	t.Helper()
	s := open()
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	day0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	// t0 has nanoseconds and another zone: it must come back equal, in UTC.
	t0 = time.Date(2026, 11, 24, 10, 30, 15, 123456789, time.FixedZone("CET", 3600))
)

// notification returns a queued notification numbered i: its ident,
// Message-ID and times follow from i.
func notification(i int, org, recipient string) *store.Notification {
	at := t0.Add(time.Duration(i) * time.Minute)
	msg := fmt.Appendf(nil, "Message-ID: <n%d@tocsin.test>\r\nSubject: events %d\r\n\r\nbinary \x00\xff\xfe body %d\r\n", i, i, i)
	return &store.Notification{
		Ident:       store.FormatIdent("TOCSIN", day0, int64(i)),
		Kind:        "events",
		Org:         org,
		Recipient:   recipient,
		Contact:     "manual",
		Route:       "default",
		Subject:     "[TOCSIN-" + strconv.Itoa(i) + "] Events in your network – ü",
		MessageID:   "<n" + strconv.Itoa(i) + "@tocsin.test>",
		Status:      store.NotifyQueued,
		CreatedAt:   at,
		UpdatedAt:   at,
		NextAttempt: at,
		Events:      []int64{int64(i), int64(i) + 1, int64(i) + 1000, 1 << 40},
		Message:     msg,
	}
}

func queue(t *testing.T, s store.NotifyLog, ns []*store.Notification, mem []store.Remembered) {
	t.Helper()
	if err := s.QueueNotifications(context.Background(), ns, mem); err != nil {
		t.Fatalf("QueueNotifications: %v", err)
	}
}

// sameNotification reports how got differs from want ("" when not):
// times compared as instants and required in UTC, Message only when
// withMessage (else it must be nil).
func sameNotification(got, want *store.Notification, withMessage bool) string {
	g, w := *got, *want
	for _, p := range []struct {
		name   string
		gt, wt time.Time
	}{{"CreatedAt", g.CreatedAt, w.CreatedAt}, {"UpdatedAt", g.UpdatedAt, w.UpdatedAt}, {"NextAttempt", g.NextAttempt, w.NextAttempt}} {
		if !p.gt.Equal(p.wt) || p.gt.IsZero() != p.wt.IsZero() {
			return fmt.Sprintf("%s %v, want %v", p.name, p.gt, p.wt)
		}
		if !p.gt.IsZero() && p.gt.Location() != time.UTC {
			return fmt.Sprintf("%s %v is not in UTC", p.name, p.gt)
		}
	}
	g.CreatedAt, g.UpdatedAt, g.NextAttempt = w.CreatedAt, w.UpdatedAt, w.NextAttempt
	if withMessage {
		if string(g.Message) != string(w.Message) {
			return fmt.Sprintf("Message %q, want %q", g.Message, w.Message)
		}
	} else if g.Message != nil {
		return fmt.Sprintf("Message %q in a list, want nil", g.Message)
	}
	g.Message, w.Message = nil, nil
	if len(g.Events) == 0 && len(w.Events) == 0 {
		g.Events, w.Events = nil, nil
	}
	if !slices.Equal(g.Events, w.Events) {
		return fmt.Sprintf("Events %v, want %v", g.Events, w.Events)
	}
	g.Events, w.Events = nil, nil
	if !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("\ngot  %+v\nwant %+v", g, w)
	}
	return ""
}

func lookup(t *testing.T, s store.NotifyLog, key string) *store.Notification {
	t.Helper()
	n, err := s.Notification(context.Background(), key)
	if err != nil {
		t.Fatalf("Notification(%s): %v", key, err)
	}
	return n
}

func testQueueRoundTrip(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ns := []*store.Notification{notification(1, "manual:acme", "cert@acme.example"), notification(2, "", "abuse@b.example"), notification(3, "ripe:ORG-C", "noc@c.example")}
	ns[1].UpdatedAt, ns[1].NextAttempt, ns[1].Events = time.Time{}, time.Time{}, nil // zero times stay zero
	ns[2].Events = []int64{5, 3, 9, 1}                                               // order kept as given
	ns[2].Kind, ns[2].Contact, ns[2].Route = "monthly", "security.txt", "ripe-orgs"
	want := make([]store.Notification, len(ns))
	for i, n := range ns {
		want[i] = *n
	}
	queue(t, s, ns, nil)
	ids := map[int64]bool{}
	for i, n := range ns {
		if n.ID <= 0 || ids[n.ID] {
			t.Fatalf("notification %d got ID %d (IDs so far %v)", i, n.ID, ids)
		}
		ids[n.ID] = true
		want[i].ID = n.ID
		if d := sameNotification(lookup(t, s, strconv.FormatInt(n.ID, 10)), &want[i], true); d != "" {
			t.Errorf("notification %d: %s", i, d)
		}
	}
	var due []*store.Notification
	for n, err := range s.DueNotifications(context.Background(), t0.Add(time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		due = append(due, n)
	}
	if len(due) != 3 {
		t.Fatalf("%d due, want 3", len(due))
	}
	// The one with a zero NextAttempt is due first.
	for i, w := range []int{1, 0, 2} {
		if d := sameNotification(due[i], &want[w], true); d != "" {
			t.Errorf("due %d: %s", i, d)
		}
	}
	// An empty batch does nothing.
	if err := s.QueueNotifications(context.Background(), nil, nil); err != nil {
		t.Errorf("QueueNotifications of nothing: %v", err)
	}
}

func testIdents(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ctx := context.Background()
	next := day0.Add(24 * time.Hour)
	steps := []struct {
		day  time.Time
		n    int
		want int64
	}{
		{day0, 1, 1},
		{day0.Add(23 * time.Hour), 5, 2}, // the same UTC day
		{next, 3, 1},                     // a new day starts at 1
		{day0.In(time.FixedZone("EST", -5*3600)), 1, 7}, // 2026-11-23 19:00 there, the 24th in UTC
		{next.Add(-time.Nanosecond), 2, 8},
		{next.In(time.FixedZone("JST", 9*3600)), 10, 4},
	}
	var idents []string
	for _, st := range steps {
		got, err := s.AllocateIdents(ctx, st.day, st.n)
		if err != nil {
			t.Fatalf("AllocateIdents(%v, %d): %v", st.day, st.n, err)
		}
		if got != st.want {
			t.Errorf("AllocateIdents(%v, %d) = %d, want %d", st.day, st.n, got, st.want)
		}
		if st.day.UTC().Day() == day0.Day() {
			for k := range int64(st.n) {
				idents = append(idents, store.FormatIdent("TOCSIN", st.day, got+k))
			}
		}
	}
	if !slices.IsSorted(idents) || len(idents) != 9 {
		t.Errorf("idents of a day in order of allocation are not sorted: %v", idents)
	}
	for _, n := range []int{0, -1} {
		if _, err := s.AllocateIdents(ctx, day0, n); err == nil {
			t.Errorf("AllocateIdents(%d) succeeded", n)
		}
	}
	if got := store.FormatIdent("TOCSIN", t0, 123); got != "TOCSIN-20261124-000123" {
		t.Errorf("FormatIdent = %q", got)
	}
	if got := store.FormatIdent("X", time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)), 1234567); got != "X-20251231-1234567" {
		t.Errorf("FormatIdent of a time in another zone = %q, want the UTC day", got)
	}
}

// testConcurrentIdents: goroutines on several stores (connections, as
// processes would) allocate ranges of one day; none overlaps another.
func testConcurrentIdents(t *testing.T, open func() NotifyLogStore) {
	const stores, workers, per = 4, 8, 50
	ss := make([]NotifyLogStore, stores)
	for i := range ss {
		ss[i] = openLog(t, open)
	}
	type span struct{ first, n int64 }
	var (
		mu    sync.Mutex
		spans []span
		wg    sync.WaitGroup
	)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			s := ss[w%stores]
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range per {
				n := 1 + r.IntN(20)
				first, err := s.AllocateIdents(context.Background(), day0, n)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				spans = append(spans, span{first, int64(n)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.SortFunc(spans, func(a, b span) int { return int(a.first - b.first) })
	if spans[0].first < 1 {
		t.Errorf("first ident %d, want at least 1", spans[0].first)
	}
	for i := 1; i < len(spans); i++ {
		if p := spans[i-1]; p.first+p.n > spans[i].first {
			t.Fatalf("ranges overlap: %d+%d and %d+%d", p.first, p.n, spans[i].first, spans[i].n)
		}
	}
}

func memory(t *testing.T, s store.NotifyLog, since time.Time) map[string]store.Remembered {
	t.Helper()
	m := map[string]store.Remembered{}
	for r, err := range s.Memory(context.Background(), since) {
		if err != nil {
			t.Fatalf("Memory: %v", err)
		}
		k := r.Recipient + " " + strconv.FormatUint(r.Key, 10)
		if _, ok := m[k]; ok {
			t.Fatalf("Memory yields %s twice", k)
		}
		if r.At.Location() != time.UTC {
			t.Errorf("memory At %v is not UTC", r.At)
		}
		m[k] = r
	}
	return m
}

func checkMemory(t *testing.T, s store.NotifyLog, since time.Time, want []store.Remembered) {
	t.Helper()
	got := memory(t, s, since)
	if len(got) != len(want) {
		t.Errorf("Memory(%v): %d entries, want %d: %v", since, len(got), len(want), got)
	}
	for _, w := range want {
		k := w.Recipient + " " + strconv.FormatUint(w.Key, 10)
		g, ok := got[k]
		if !ok || !g.At.Equal(w.At) || g.Notification != w.Notification {
			t.Errorf("Memory(%v)[%s] = %+v, want %+v", since, k, g, w)
		}
	}
}

func testMemory(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	const a, b = "cert@a.example", "abuse@b.example"
	const big = 1<<63 | 12345 // keys are uint64: the top bit must survive
	ns := []*store.Notification{notification(1, "", a), notification(2, "", b), notification(3, "", a)}
	t1 := t0.Add(time.Hour)
	queue(t, s, ns, []store.Remembered{
		{Recipient: a, Key: 1, At: t0},   // Notification 0: the first to a
		{Recipient: a, Key: big, At: t0}, // likewise
		{Recipient: b, Key: 1, At: t0},   // the same key, another recipient
		{Recipient: b, Key: 2, At: t0},   // replaced later in the batch
		{Recipient: b, Key: 2, At: t1},   // the last entry of a key wins
		{Recipient: a, Key: 3, At: t0},   // the first to a, not ns[2]
	})
	want := []store.Remembered{
		{Recipient: a, Key: 1, At: t0, Notification: ns[0].ID},
		{Recipient: a, Key: big, At: t0, Notification: ns[0].ID},
		{Recipient: b, Key: 1, At: t0, Notification: ns[1].ID},
		{Recipient: b, Key: 2, At: t1, Notification: ns[1].ID},
		{Recipient: a, Key: 3, At: t0, Notification: ns[0].ID},
	}
	checkMemory(t, s, time.Time{}, want)

	// A later batch replaces entries by (recipient, key); explicit
	// notification IDs are kept.
	t2 := t0.Add(2 * time.Hour)
	n4 := notification(4, "", b)
	queue(t, s, []*store.Notification{n4}, []store.Remembered{
		{Recipient: a, Key: big, At: t2, Notification: ns[2].ID},
		{Recipient: b, Key: 1, At: t2},
	})
	want[1] = store.Remembered{Recipient: a, Key: big, At: t2, Notification: ns[2].ID}
	want[2] = store.Remembered{Recipient: b, Key: 1, At: t2, Notification: n4.ID}
	checkMemory(t, s, time.Time{}, want)
	// Memory without notifications.
	queue(t, s, nil, []store.Remembered{{Recipient: b, Key: 7, At: t2, Notification: n4.ID}})
	want = append(want, store.Remembered{Recipient: b, Key: 7, At: t2, Notification: n4.ID})
	checkMemory(t, s, time.Time{}, want)

	// since: at or after.
	checkMemory(t, s, t1, []store.Remembered{want[1], want[2], want[3], want[5]})
	checkMemory(t, s, t2, []store.Remembered{want[1], want[2], want[5]})
	checkMemory(t, s, t2.Add(time.Nanosecond), nil)

	// Notification 0 without a notification to the recipient is an error.
	err := s.QueueNotifications(context.Background(), []*store.Notification{notification(5, "", a)},
		[]store.Remembered{{Recipient: "other@x.example", Key: 9, At: t2}})
	if err == nil {
		t.Error("memory entry with notification 0 and no notification to its recipient was queued")
	}
	if _, err := s.Notification(context.Background(), notification(5, "", a).Ident); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed batch left its notification: %v", err)
	}
	checkMemory(t, s, time.Time{}, want)
}

func due(t *testing.T, s store.NotifyLog, now time.Time) []int64 {
	t.Helper()
	var ids []int64
	for n, err := range s.DueNotifications(context.Background(), now) {
		if err != nil {
			t.Fatalf("DueNotifications: %v", err)
		}
		if n.Message == nil {
			t.Errorf("due notification %d without its message", n.ID)
		}
		ids = append(ids, n.ID)
	}
	return ids
}

func update(t *testing.T, s store.NotifyLog, n *store.Notification, from string) {
	t.Helper()
	if err := s.UpdateNotification(context.Background(), n, from); err != nil {
		t.Fatalf("UpdateNotification(%d, %s→%s): %v", n.ID, from, n.Status, err)
	}
}

func testDue(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ns := make([]*store.Notification, 6)
	for i := range ns {
		ns[i] = notification(i+1, "", "x@x.example")
	}
	// NextAttempt out of creation order.
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	ns[0].NextAttempt = at(30)
	ns[1].NextAttempt = at(10)
	ns[2].NextAttempt = at(20)
	ns[3].NextAttempt = at(5)  // deferred below, to at(15)
	ns[4].NextAttempt = at(1)  // sent below: never due again
	ns[5].NextAttempt = at(60) // not due yet
	queue(t, s, ns, nil)
	d := *ns[3]
	d.Status, d.Attempts, d.NextAttempt, d.LastError, d.UpdatedAt = store.NotifyDeferred, 1, at(15), "451 4.7.1 greylisted", at(6)
	update(t, s, &d, store.NotifyQueued)
	sent := *ns[4]
	sent.Status, sent.Attempts = store.NotifySent, 1
	update(t, s, &sent, store.NotifyQueued)

	cases := []struct {
		now  time.Time
		want []int64
	}{
		{at(0), nil},
		{at(10), []int64{ns[1].ID}},
		{at(15), []int64{ns[1].ID, ns[3].ID}}, // at or before now
		{at(30), []int64{ns[1].ID, ns[3].ID, ns[2].ID, ns[0].ID}},
		{at(90), []int64{ns[1].ID, ns[3].ID, ns[2].ID, ns[0].ID, ns[5].ID}},
	}
	for _, c := range cases {
		if got := due(t, s, c.now); !slices.Equal(got, c.want) {
			t.Errorf("DueNotifications(%v) = %v, want %v", c.now, got, c.want)
		}
	}
	got := lookup(t, s, strconv.FormatInt(d.ID, 10))
	if dd := sameNotification(got, &d, true); dd != "" {
		t.Errorf("deferred notification: %s", dd)
	}
	// Many due notifications, each with its message.
	var more []*store.Notification
	for i := range 250 {
		n := notification(100+i, "", "y@y.example")
		n.NextAttempt = at(100 + i%7)
		more = append(more, n)
	}
	queue(t, s, more, nil)
	var prev *store.Notification
	count := 0
	for n, err := range s.DueNotifications(context.Background(), at(200)) {
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && (n.NextAttempt.Before(prev.NextAttempt) || n.NextAttempt.Equal(prev.NextAttempt) && n.ID <= prev.ID) {
			t.Fatalf("due %d (%v) after %d (%v): not by NextAttempt, then ID", n.ID, n.NextAttempt, prev.ID, prev.NextAttempt)
		}
		prev = n
		count++
	}
	if count != 5+250 {
		t.Errorf("%d due, want %d", count, 5+250)
	}
}

func testStateMachine(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ctx := context.Background()
	n := notification(1, "manual:acme", "cert@acme.example")
	queue(t, s, []*store.Notification{n}, nil)
	want := *n

	sent := *n
	sent.Status, sent.Attempts, sent.UpdatedAt, sent.NextAttempt, sent.LastError = store.NotifySent, 1, t0.Add(time.Hour), time.Time{}, ""
	// Fields other than the state are not the update's: a changed
	// subject is ignored.
	sent.Subject = "changed"
	update(t, s, &sent, store.NotifyQueued)
	want.Status, want.Attempts, want.UpdatedAt, want.NextAttempt = sent.Status, 1, sent.UpdatedAt, time.Time{}
	if d := sameNotification(lookup(t, s, n.Ident), &want, true); d != "" {
		t.Errorf("after send: %s", d)
	}

	// Another process already sent it.
	again := sent
	again.Attempts = 2
	if err := s.UpdateNotification(ctx, &again, store.NotifyQueued); !errors.Is(err, store.ErrNotifyState) {
		t.Errorf("update from queued of a sent notification: %v, want ErrNotifyState", err)
	}
	if d := sameNotification(lookup(t, s, n.Ident), &want, true); d != "" {
		t.Errorf("a refused update changed it: %s", d)
	}
	missing := sent
	missing.ID = n.ID + 1000
	if err := s.UpdateNotification(ctx, &missing, store.NotifyQueued); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing notification: %v, want ErrNotFound", err)
	}
	bad := sent
	bad.Status = "lost"
	if err := s.UpdateNotification(ctx, &bad, store.NotifySent); err == nil {
		t.Error("update to an unknown status succeeded")
	}

	bounced := sent
	bounced.Status, bounced.LastError, bounced.UpdatedAt = store.NotifyBounced, "5.1.1 user unknown \xff", t0.Add(2*time.Hour)
	update(t, s, &bounced, store.NotifySent)
	got := lookup(t, s, n.MessageID)
	if got.Status != store.NotifyBounced || got.LastError == "" || !got.UpdatedAt.Equal(bounced.UpdatedAt) {
		t.Errorf("after bounce: %+v", got)
	}

	// queued → deferred → failed.
	m := notification(2, "", "x@x.example")
	queue(t, s, []*store.Notification{m}, nil)
	for i, st := range []struct{ from, to string }{{store.NotifyQueued, store.NotifyDeferred}, {store.NotifyDeferred, store.NotifyDeferred}, {store.NotifyDeferred, store.NotifyFailed}} {
		u := *m
		u.Status, u.Attempts, u.LastError = st.to, i+1, "attempt "+strconv.Itoa(i+1)
		update(t, s, &u, st.from)
	}
	got = lookup(t, s, m.Ident)
	if got.Status != store.NotifyFailed || got.Attempts != 3 || got.LastError != "attempt 3" {
		t.Errorf("after failing: %+v", got)
	}
}

func list(t *testing.T, s store.NotifyLog, f store.NotifyFilter) []int64 {
	t.Helper()
	var ids []int64
	for n, err := range s.Notifications(context.Background(), f) {
		if err != nil {
			t.Fatalf("Notifications(%+v): %v", f, err)
		}
		if n.Message != nil {
			t.Errorf("Notifications(%+v) gives notification %d with its message", f, n.ID)
		}
		if len(n.Events) == 0 {
			t.Errorf("Notifications(%+v) gives notification %d without its events", f, n.ID)
		}
		ids = append(ids, n.ID)
	}
	return ids
}

func testNotifications(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ns := []*store.Notification{
		notification(1, "manual:a", "x@a.example"),
		notification(2, "manual:b", "y@b.example"),
		notification(3, "manual:a", "z@a.example"),
		notification(4, "", "x@a.example"),
		notification(5, "manual:a", "x@a.example"),
	}
	// Created out of ID order; 2 and 3 at the same time (then by ID).
	ns[2].CreatedAt = ns[1].CreatedAt
	ns[4].CreatedAt = t0.Add(-time.Hour)
	queue(t, s, ns[:3], nil)
	queue(t, s, ns[3:], nil)
	sent := *ns[0]
	sent.Status = store.NotifySent
	update(t, s, &sent, store.NotifyQueued)
	id := func(is ...int) []int64 {
		var out []int64
		for _, i := range is {
			out = append(out, ns[i].ID)
		}
		return out
	}
	cases := []struct {
		f    store.NotifyFilter
		want []int64
	}{
		{store.NotifyFilter{}, id(3, 2, 1, 0, 4)},
		{store.NotifyFilter{Limit: 2}, id(3, 2)},
		{store.NotifyFilter{Org: "manual:a"}, id(2, 0, 4)},
		{store.NotifyFilter{Recipient: "x@a.example"}, id(3, 0, 4)},
		{store.NotifyFilter{Org: "manual:a", Recipient: "x@a.example"}, id(0, 4)},
		{store.NotifyFilter{Status: store.NotifySent}, id(0)},
		{store.NotifyFilter{Status: store.NotifyQueued, Limit: 3}, id(3, 2, 1)},
		{store.NotifyFilter{Since: ns[1].CreatedAt}, id(3, 2, 1)},
		{store.NotifyFilter{Since: ns[1].CreatedAt.Add(time.Nanosecond)}, id(3)},
		{store.NotifyFilter{Org: "manual:none"}, nil},
	}
	for _, c := range cases {
		if got := list(t, s, c.f); !slices.Equal(got, c.want) {
			t.Errorf("Notifications(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	for n, err := range s.Notifications(context.Background(), store.NotifyFilter{Org: "manual:b"}) {
		if err != nil {
			t.Fatal(err)
		}
		if d := sameNotification(n, ns[1], false); d != "" {
			t.Errorf("listed notification: %s", d)
		}
	}
	// More than a page, newest first.
	var more []*store.Notification
	for i := range 2500 {
		n := notification(100+i, "manual:c", "c@c.example")
		n.CreatedAt = t0.Add(time.Duration(i%100) * time.Second)
		more = append(more, n)
	}
	queue(t, s, more, nil)
	got := list(t, s, store.NotifyFilter{Org: "manual:c"})
	if len(got) != len(more) {
		t.Fatalf("%d listed, want %d", len(got), len(more))
	}
	byID := map[int64]*store.Notification{}
	for _, n := range more {
		byID[n.ID] = n
	}
	for i := 1; i < len(got); i++ {
		a, b := byID[got[i-1]], byID[got[i]]
		if a.CreatedAt.Before(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID {
			t.Fatalf("listed %d (%v) before %d (%v): not newest first", a.ID, a.CreatedAt, b.ID, b.CreatedAt)
		}
	}
	if got := list(t, s, store.NotifyFilter{Org: "manual:c", Limit: 1500}); len(got) != 1500 {
		t.Errorf("Limit 1500 gave %d", len(got))
	}
}

func testLookup(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ns := []*store.Notification{notification(1, "", "x@x.example"), notification(2, "", "y@y.example")}
	queue(t, s, ns, nil)
	for _, n := range ns {
		for _, key := range []string{strconv.FormatInt(n.ID, 10), n.Ident, n.MessageID} {
			got, err := s.Notification(context.Background(), key)
			if err != nil {
				t.Errorf("Notification(%s): %v", key, err)
				continue
			}
			if d := sameNotification(got, n, true); d != "" {
				t.Errorf("Notification(%s): %s", key, d)
			}
		}
	}
	for _, key := range []string{"0", "-1", strconv.FormatInt(ns[1].ID+1, 10), "TOCSIN-20261124-000009", "<none@tocsin.test>", "", "n1@tocsin.test"} {
		if n, err := s.Notification(context.Background(), key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Notification(%q) = %+v, %v; want ErrNotFound", key, n, err)
		}
	}
}

func flags(t *testing.T, s store.NotifyLog) []store.ContactFlag {
	t.Helper()
	var out []store.ContactFlag
	for f, err := range s.ContactFlags(context.Background()) {
		if err != nil {
			t.Fatalf("ContactFlags: %v", err)
		}
		if f.At.Location() != time.UTC {
			t.Errorf("flag of %s at %v, not in UTC", f.Email, f.At)
		}
		f.At = f.At.In(time.UTC)
		out = append(out, f)
	}
	return out
}

func checkFlags(t *testing.T, s store.NotifyLog, want []store.ContactFlag) {
	t.Helper()
	got := flags(t, s)
	if len(got) != len(want) {
		t.Errorf("flags %+v, want %+v", got, want)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Email != w.Email || g.Flag != w.Flag || g.Detail != w.Detail || !g.At.Equal(w.At) {
			t.Errorf("flag %d = %+v, want %+v", i, g, w)
		}
	}
}

func testContactFlags(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ctx := context.Background()
	set := func(f store.ContactFlag) {
		t.Helper()
		if err := s.SetContactFlag(ctx, f); err != nil {
			t.Fatalf("SetContactFlag(%+v): %v", f, err)
		}
	}
	b := store.ContactFlag{Email: "noc@b.example", Flag: store.ContactBouncing, Detail: "5.1.1 user unknown", At: t0}
	a := store.ContactFlag{Email: "abuse@a.example", Flag: store.ContactAutoReply, Detail: "Subject: Out of office", At: t0.Add(time.Hour)}
	set(b)
	set(a)
	checkFlags(t, s, []store.ContactFlag{a, b})
	// Replaced.
	b2 := store.ContactFlag{Email: b.Email, Flag: store.ContactAutoReply, Detail: "Auto-Submitted: auto-replied", At: t0.Add(2 * time.Hour)}
	set(b2)
	checkFlags(t, s, []store.ContactFlag{a, b2})
	if err := s.ClearContactFlag(ctx, a.Email); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearContactFlag(ctx, "never@flagged.example"); err != nil {
		t.Errorf("ClearContactFlag of an unflagged mailbox: %v", err)
	}
	checkFlags(t, s, []store.ContactFlag{b2})
	for _, f := range []store.ContactFlag{{Email: "x@x.example", Flag: "spam"}, {Flag: store.ContactBouncing}} {
		if err := s.SetContactFlag(ctx, f); err == nil {
			t.Errorf("SetContactFlag(%+v) succeeded", f)
		}
	}
	checkFlags(t, s, []store.ContactFlag{b2})
}

// testNotifyDurable: what was stored is there after the store is closed
// and opened again.
func testNotifyDurable(t *testing.T, open func() NotifyLogStore) {
	ctx := context.Background()
	s := open()
	first, err := s.AllocateIdents(ctx, day0, 3)
	if err != nil {
		t.Fatal(err)
	}
	ns := []*store.Notification{notification(1, "manual:a", "x@a.example"), notification(2, "", "y@b.example")}
	queue(t, s, ns, []store.Remembered{{Recipient: "x@a.example", Key: 1 << 63, At: t0}})
	sent := *ns[1]
	sent.Status, sent.Attempts, sent.UpdatedAt = store.NotifySent, 1, t0.Add(time.Minute)
	update(t, s, &sent, store.NotifyQueued)
	flag := store.ContactFlag{Email: "x@a.example", Flag: store.ContactBouncing, Detail: "5.2.2", At: t0}
	if err := s.SetContactFlag(ctx, flag); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openLog(t, open)
	if d := sameNotification(lookup(t, s, ns[0].Ident), ns[0], true); d != "" {
		t.Errorf("after reopening: %s", d)
	}
	if d := sameNotification(lookup(t, s, ns[1].MessageID), &sent, true); d != "" {
		t.Errorf("after reopening: %s", d)
	}
	checkMemory(t, s, time.Time{}, []store.Remembered{{Recipient: "x@a.example", Key: 1 << 63, At: t0, Notification: ns[0].ID}})
	checkFlags(t, s, []store.ContactFlag{flag})
	next, err := s.AllocateIdents(ctx, day0, 1)
	if err != nil || next != first+3 {
		t.Errorf("AllocateIdents after reopening = %d, %v; want %d", next, err, first+3)
	}
	// IDs go on from those stored.
	n := notification(3, "", "z@c.example")
	queue(t, s, []*store.Notification{n}, nil)
	if n.ID <= ns[1].ID {
		t.Errorf("ID %d after reopening, not above %d", n.ID, ns[1].ID)
	}
}

// testQueueAtomic: a batch that fails leaves nothing behind, neither
// notifications nor memory.
func testQueueAtomic(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ctx := context.Background()
	kept := notification(1, "", "x@x.example")
	queue(t, s, []*store.Notification{kept}, []store.Remembered{{Recipient: "x@x.example", Key: 1, At: t0}})
	wantMem := []store.Remembered{{Recipient: "x@x.example", Key: 1, At: t0, Notification: kept.ID}}

	batch := func(third func(n *store.Notification)) []*store.Notification {
		ns := []*store.Notification{notification(10, "", "a@a.example"), notification(11, "", "b@b.example"), notification(12, "", "c@c.example")}
		third(ns[2])
		return ns
	}
	cases := []struct {
		name string
		ns   []*store.Notification
	}{
		{"ident stored before", batch(func(n *store.Notification) { n.Ident = kept.Ident })},
		{"Message-ID stored before", batch(func(n *store.Notification) { n.MessageID = kept.MessageID })},
		{"ident twice in the batch", batch(func(n *store.Notification) { n.Ident = notification(10, "", "").Ident })},
		{"Message-ID twice in the batch", batch(func(n *store.Notification) { n.MessageID = notification(11, "", "").MessageID })},
		{"status not queued", batch(func(n *store.Notification) { n.Status = store.NotifySent })},
		{"no Message-ID", batch(func(n *store.Notification) { n.MessageID = "" })},
	}
	for _, c := range cases {
		mem := []store.Remembered{
			{Recipient: "a@a.example", Key: 5, At: t0},
			{Recipient: "x@x.example", Key: 1, At: t0.Add(time.Hour), Notification: kept.ID}, // would replace
		}
		err := s.QueueNotifications(ctx, c.ns, mem)
		if err == nil {
			t.Errorf("%s: queued", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		for _, n := range c.ns[:2] {
			if got, err := s.Notification(ctx, n.Ident); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: notification %s left behind: %+v, %v", c.name, n.Ident, got, err)
			}
		}
		if got := list(t, s, store.NotifyFilter{}); !slices.Equal(got, []int64{kept.ID}) {
			t.Errorf("%s: stored %v, want only %d", c.name, got, kept.ID)
		}
		checkMemory(t, s, time.Time{}, wantMem)
	}
	// The store is still usable, and the batch goes in once fixed.
	ns := batch(func(*store.Notification) {})
	queue(t, s, ns, []store.Remembered{{Recipient: "c@c.example", Key: 5, At: t0}})
	if d := sameNotification(lookup(t, s, ns[2].Ident), ns[2], true); d != "" {
		t.Error(d)
	}
}

// testLargeQueue queues a batch of the size of a busy day: every
// notification, event and memory entry comes back.
func testLargeQueue(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ns, mem := largeBatch(0, 500, 100)
	queue(t, s, ns, mem)
	checkLargeBatch(t, s, ns, mem)
}

// largeBatch returns n notifications of perN events each, to n/10
// recipients, and a memory entry per event.
func largeBatch(from, n, perN int) ([]*store.Notification, []store.Remembered) {
	ns := make([]*store.Notification, n)
	mem := make([]store.Remembered, 0, n*perN)
	msg := make([]byte, 4096)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	for i := range ns {
		k := from + i
		r := "r" + strconv.Itoa(k%max(1, n/10)) + "@x.example"
		nt := &store.Notification{
			Ident: store.FormatIdent("TOCSIN", day0, int64(k+1)), Kind: "events", Org: "manual:o" + strconv.Itoa(k%50),
			Recipient: r, Contact: "manual", Route: "default", Subject: "Events", MessageID: "<" + strconv.Itoa(k) + "@big.test>",
			Status: store.NotifyQueued, CreatedAt: t0, UpdatedAt: t0, NextAttempt: t0, Message: msg,
			Events: make([]int64, perN),
		}
		for j := range perN {
			id := int64(k*perN + j + 1)
			nt.Events[j] = id
			mem = append(mem, store.Remembered{Recipient: r, Key: uint64(id) * 0x9E3779B97F4A7C15, At: t0})
		}
		ns[i] = nt
	}
	return ns, mem
}

func checkLargeBatch(t *testing.T, s store.NotifyLog, ns []*store.Notification, mem []store.Remembered) {
	t.Helper()
	byID := map[int64]*store.Notification{}
	for _, n := range ns {
		byID[n.ID] = n
	}
	count := 0
	for n, err := range s.DueNotifications(context.Background(), t0) {
		if err != nil {
			t.Fatal(err)
		}
		w := byID[n.ID]
		if w == nil {
			t.Fatalf("due notification %d was not queued", n.ID)
		}
		if d := sameNotification(n, w, true); d != "" {
			t.Fatalf("notification %d: %s", n.ID, d)
		}
		count++
	}
	if count != len(ns) {
		t.Errorf("%d due, want %d", count, len(ns))
	}
	got := 0
	for _, err := range s.Memory(context.Background(), time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != len(mem) {
		t.Errorf("%d memory entries, want %d", got, len(mem))
	}
}

// NotifyQueueSize queues n notifications of perN events each and a
// memory entry per event, in one call, and logs how long that and reading
// them back took.
func NotifyQueueSize(t *testing.T, s store.NotifyLog, n, perN int) {
	ns, mem := largeBatch(0, n, perN)
	start := time.Now()
	queue(t, s, ns, mem)
	t.Logf("QueueNotifications: %d notifications, %d events, %d memory entries: %v", n, n*perN, len(mem), time.Since(start))
	start = time.Now()
	count := 0
	for _, err := range s.Memory(context.Background(), time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	t.Logf("Memory: %d entries: %v", count, time.Since(start))
	start = time.Now()
	count = 0
	for _, err := range s.DueNotifications(context.Background(), t0) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	t.Logf("DueNotifications: %d: %v", count, time.Since(start))
	// A second day's batch, into a log that holds the first.
	ns, mem = largeBatch(n, n, perN)
	start = time.Now()
	queue(t, s, ns, mem)
	t.Logf("QueueNotifications again: %v", time.Since(start))
}

// testLeases: a lease excludes other holders until it expires or is
// released, also across two store handles; its holder renews it.
func testLeases(t *testing.T, open func() NotifyLogStore) {
	a, b := openLog(t, open), openLog(t, open)
	la, ok := a.(store.Leaser)
	if !ok {
		t.Fatal("the store is not a store.Leaser")
	}
	lb := b.(store.Leaser)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	if err := la.AcquireLease(ctx, "notify", "a", t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	err := lb.AcquireLease(ctx, "notify", "b", t0.Add(time.Minute), t0.Add(time.Hour))
	if !errors.Is(err, store.ErrLeaseHeld) || !strings.Contains(err.Error(), "a, until 2026-11-24T09:00:00Z") {
		t.Fatalf("second holder: %v, want ErrLeaseHeld naming a and the expiry", err)
	}
	if err := lb.AcquireLease(ctx, "other", "b", t0, t0.Add(time.Hour)); err != nil {
		t.Errorf("another name: %v", err)
	}
	if err := la.AcquireLease(ctx, "notify", "a", t0.Add(30*time.Minute), t0.Add(2*time.Hour)); err != nil {
		t.Errorf("renewal: %v", err)
	}
	if err := lb.AcquireLease(ctx, "notify", "b", t0.Add(90*time.Minute), t0.Add(3*time.Hour)); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("before the renewed expiry: %v", err)
	}
	if err := lb.AcquireLease(ctx, "notify", "b", t0.Add(2*time.Hour), t0.Add(3*time.Hour)); err != nil {
		t.Errorf("after expiry: %v", err)
	}
	if err := la.ReleaseLease(ctx, "notify", "a"); err != nil { // not a's any more: nothing happens
		t.Fatal(err)
	}
	if err := la.AcquireLease(ctx, "notify", "a", t0.Add(2*time.Hour), t0.Add(3*time.Hour)); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("a released b's lease: %v", err)
	}
	if err := lb.ReleaseLease(ctx, "notify", "b"); err != nil {
		t.Fatal(err)
	}
	if err := la.AcquireLease(ctx, "notify", "a", t0.Add(2*time.Hour), t0.Add(3*time.Hour)); err != nil {
		t.Errorf("after release: %v", err)
	}
}

// testBatchUpdate: UpdateNotifications applies each update that finds its
// expected status, reports the others one by one, and is one transaction.
func testBatchUpdate(t *testing.T, open func() NotifyLogStore) {
	s := openLog(t, open)
	ctx := context.Background()
	a, b := notification(1, "manual:acme", "cert@acme.example"), notification(2, "manual:beta", "cert@beta.example")
	queue(t, s, []*store.Notification{a, b}, nil)
	sa, sb, missing := *a, *b, *a
	sa.Status, sa.Attempts = store.NotifySent, 1
	sb.Status, sb.Attempts = store.NotifySent, 1
	missing.ID = a.ID + b.ID + 1000
	errs, err := s.UpdateNotifications(ctx, []*store.Notification{&sa, &sb, &missing}, []string{store.NotifyQueued, store.NotifyDeferred, store.NotifyQueued})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 3 || errs[0] != nil || !errors.Is(errs[1], store.ErrNotifyState) || !errors.Is(errs[2], store.ErrNotFound) {
		t.Fatalf("errs = %v, want nil, ErrNotifyState, ErrNotFound", errs)
	}
	if got := lookup(t, s, a.Ident); got.Status != store.NotifySent || got.Attempts != 1 {
		t.Errorf("a: %s after %d attempts, want sent after 1", got.Status, got.Attempts)
	}
	if got := lookup(t, s, b.Ident); got.Status != store.NotifyQueued {
		t.Errorf("b: %s, want still queued", got.Status)
	}
	bad := sb
	bad.Status = "lost"
	if _, err := s.UpdateNotifications(ctx, []*store.Notification{&sb, &bad}, []string{store.NotifyQueued, store.NotifyQueued}); err == nil {
		t.Error("an unknown status was accepted")
	}
	if got := lookup(t, s, b.Ident); got.Status != store.NotifyQueued {
		t.Errorf("a refused batch changed b: %s", got.Status)
	}
}
