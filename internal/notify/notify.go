// Package notify tells organisations about the events on their assets: the
// CERT-SE "ANTS" service. One run is Alertmanager's pipeline in batch form:
//
//	events ─▶ route ─▶ mute ─▶ dedup (memory) ─▶ group per recipient and
//	route ─▶ digest due? budget? ─▶ render ─▶ sign ─▶ queue (log) ─▶ send ─▶ log
//
// The notification log (store.NotifyLog) is the only memory: a message is
// queued, with its rendered bytes and the memory entries of its events, in
// one transaction before anything is sent, so a crash never loses a
// notification and never renders one twice; the same message (same
// Message-ID) is sent after a restart. Events wait (they are not marked)
// while their digest is not due or their recipient's budget is spent.
//
// # Runs that overlap
//
// Two runs may share a log (two processes, or a run that outlasts the
// interval between runs). Each notification is delivered once, whichever
// run delivers it: a run claims a notification in the log before sending
// it, and records what the server answered even when it is stopped
// meanwhile. Planning is serialised by a lease in the store
// (store.Leaser, LeaseName): a run that finds another one planning fails
// at once with store.ErrLeaseHeld and changes nothing; a run that dies
// holding the lease blocks others until it expires (LeaseTTL after its
// last renewal). Dry runs take no lease.
package notify

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"iter"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/notify/render"
	"github.com/tocsin/tocsin/internal/stats"
	"github.com/tocsin/tocsin/internal/store"
)

// Directory is what the notifier knows of the constituency.
type Directory interface {
	// OrgIDs lists every organisation that may own events.
	OrgIDs() []string
	// Org returns an organisation, or nil when it is not registered.
	Org(id string) *constituency.Org
	// Contacts returns the contact chain of an organisation, best first
	// (manual > ripe > security.txt > rfc2142).
	Contacts(id string) []constituency.Contact
}

// Events is where the events come from (a store.Store).
type Events interface {
	Events(ctx context.Context, f store.Filter) iter.Seq2[*store.Event, error]
}

// Signer signs, and for recipients with a key encrypts, a message.
type Signer interface {
	Sign(m *mail.Message) ([]byte, error)
	SignEncrypt(m *mail.Message, to ...*mail.PublicKey) ([]byte, error)
}

// Notifier builds and sends notifications. Its fields are set by the
// caller; Run uses them read-only.
type Notifier struct {
	Config   config.Notify
	Routes   *Route
	Mutes    []*Mute
	Events   Events
	Log      store.NotifyLog
	Dir      Directory
	Renderer *render.Renderer
	Signer   Signer // nil sends unsigned messages (tests of the plain path only)
	Sender   mail.Sender
	Logger   *slog.Logger
	// Workers is how many messages are sent at once; default 4.
	Workers int
	// MaxEvents caps the events of one message (default DefaultMaxEvents):
	// a larger group goes out as several messages at once.
	MaxEvents int
	// BatchSize is how many notifications are queued per transaction;
	// default 64. The rendered messages of a batch are held at once: memory is about BatchSize times the largest message.
	BatchSize int
}

// Options of one run.
type Options struct {
	Now    time.Time
	DryRun bool // plan and render, store and send nothing
	// Plan, when set, receives every message the run builds (also in a
	// dry run), after it is queued.
	Plan func(*store.Notification)
}

// Summary counts what a run did, as `notify run --json` prints it.
type Summary struct {
	Messages   int `json:"messages"`   // notifications built
	Events     int `json:"events"`     // events in them
	Recipients int `json:"recipients"` // distinct recipients
	Muted      int `json:"muted"`      // events muted (mutes, opt-outs, muting routes)
	Deferred   int `json:"deferred"`   // events waiting for a digest or budget
	Suppressed int `json:"suppressed"` // events already notified within their re-notify interval
	Unowned    int `json:"no_contact"` // events whose owner has no usable contact
	Sent       int `json:"sent"`       // messages delivered this run
	Retrying   int `json:"retrying"`   // messages deferred after a temporary failure
	Failed     int `json:"failed"`     // messages that failed for good
}

// memKey is one memory entry's key: a recipient and an event identity.
type memKey struct {
	rcpt string
	key  uint64
}

// run is the state of one Run.
type run struct {
	n         *Notifier
	opt       Options
	now       time.Time
	started   time.Time // on the clock, for how long the run has taken
	workers   int
	batchSize int
	maxEvents int
	log       *slog.Logger
	mem       map[memKey]time.Time
	sentDay   map[string]int // messages per recipient today
	rcpts     map[string]bool
	batch     []*pending
	bases     map[int64]*event.Base
	built     int              // notifications planned
	planned   map[string]tally // what planning counted of each organisation that got a notification

	// inflight is the batch being processed while planning goes on.
	inflight chan error

	// mu guards what the batch in flight and its sending workers write
	// (the summary's delivery counts, flags, rerouted) and planning reads.
	mu       sync.Mutex
	sum      Summary
	flags    map[string]store.ContactFlag
	rerouted map[string]bool // organisations whose recipient was refused in this pass
}

// tally is what planning counts of an organisation's events.
type tally struct{ muted, deferred, suppressed, unowned int }

func (r *run) tally() tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	return tally{r.sum.Muted, r.sum.Deferred, r.sum.Suppressed, r.sum.Unowned}
}

// pending is a notification planned and not yet queued: its group of
// events, the log entry and the memory entries it will write.
type pending struct {
	org   *constituency.Org
	orgID string
	g     *group
	n     *store.Notification
	mem   []store.Remembered
	// monthly, when set, makes this the organisation's monthly report
	// (g then holds only the contact).
	monthly *stats.Monthly
}

// Run builds the notifications that are due at opt.Now, queues them and
// delivers everything due, including what earlier runs left queued or
// deferred. A permanent failure to a recipient flags it as bouncing, and
// its events go to the next contact of the chain in the same run.
func (n *Notifier) Run(ctx context.Context, opt Options) (Summary, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if l, ok := n.Log.(store.Leaser); ok && !opt.DryRun {
		release, err := holdLease(ctx, l)
		if err != nil {
			return Summary{}, fmt.Errorf("another notify run is in progress: %w", err)
		}
		defer release()
	}
	r := &run{n: n, opt: opt, now: opt.Now.UTC(), started: time.Now(), workers: n.Workers, batchSize: n.BatchSize, log: n.Logger,
		rcpts: map[string]bool{}, bases: map[int64]*event.Base{}, planned: map[string]tally{}, rerouted: map[string]bool{}}
	if r.workers <= 0 {
		r.workers = 4
	}
	if r.maxEvents = n.MaxEvents; r.maxEvents <= 0 {
		r.maxEvents = DefaultMaxEvents
	}
	if r.batchSize <= 0 {
		r.batchSize = 64
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if err := r.load(ctx); err != nil {
		return r.sum, err
	}
	if !opt.DryRun {
		// What earlier runs left: send it first, so a recipient that now
		// bounces is known before new messages are built.
		if err := r.deliver(ctx); err != nil {
			return r.sum, err
		}
	}
	// A refused recipient moves its organisation's events to the next
	// contact: plan those organisations again (each pass flags at least
	// one recipient, and chains are short).
	orgs := n.Dir.OrgIDs()
	for pass := 0; pass < 4 && len(orgs) > 0; pass++ {
		clear(r.rerouted)
		if err := r.plan(ctx, orgs, pass == 0); err != nil {
			r.wait() // a batch in flight finishes (its messages are queued) before Run returns
			return r.sum, err
		}
		if opt.DryRun {
			break
		}
		if err := r.deliver(ctx); err != nil {
			return r.sum, err
		}
		orgs = slices.Sorted(maps.Keys(r.rerouted))
	}
	r.sum.Recipients = len(r.rcpts)
	return r.sum, nil
}

func (r *run) load(ctx context.Context) error {
	r.mem = map[memKey]time.Time{}
	for m, err := range r.n.Log.Memory(ctx, r.now.Add(-r.n.Routes.MaxRenotify())) {
		if err != nil {
			return fmt.Errorf("read the notification memory: %w", err)
		}
		k := memKey{m.Recipient, m.Key}
		if m.At.After(r.mem[k]) {
			r.mem[k] = m.At
		}
	}
	r.sentDay = map[string]int{}
	day := r.now.Truncate(24 * time.Hour)
	for nt, err := range r.n.Log.Notifications(ctx, store.NotifyFilter{Since: day}) {
		if err != nil {
			return fmt.Errorf("read today's notifications: %w", err)
		}
		if nt.Kind == KindEvents {
			r.sentDay[nt.Recipient]++
		}
	}
	return r.loadFlags(ctx)
}

func (r *run) loadFlags(ctx context.Context) error {
	r.flags = map[string]store.ContactFlag{}
	for f, err := range r.n.Log.ContactFlags(ctx) {
		if err != nil {
			return fmt.Errorf("read contact flags: %w", err)
		}
		r.flags[strings.ToLower(f.Email)] = f
	}
	return nil
}

// DefaultMaxEvents caps the events of one message; a larger group is
// sent as several.
const DefaultMaxEvents = 5000

// The run lease: its name, and how long it lasts without renewal (a run
// renews it every LeaseTTL/4).
const (
	LeaseName = "notify run"
	LeaseTTL  = 10 * time.Minute
)

// holdLease takes the run lease and renews it until release is called.
func holdLease(ctx context.Context, l store.Leaser) (release func(), err error) {
	host, _ := os.Hostname()
	var b [6]byte
	rand.Read(b[:])
	holder := fmt.Sprintf("%s pid %d %x", host, os.Getpid(), b)
	if err := l.AcquireLease(ctx, LeaseName, holder, time.Now(), time.Now().Add(LeaseTTL)); err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(LeaseTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				// A failed renewal is retried at the next tick; the lease
				// lasts LeaseTTL.
				l.AcquireLease(rctx, LeaseName, holder, time.Now(), time.Now().Add(LeaseTTL))
			}
		}
	}()
	return func() {
		stop()
		<-done
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		l.ReleaseLease(rctx, LeaseName, holder)
	}, nil
}

// Kinds of notification.
const (
	KindEvents  = "events"
	KindMonthly = "monthly"
)

// group is the events of one organisation for one recipient on one route.
type group struct {
	route   *Route
	contact constituency.Contact
	items   []render.Item
	keys    []uint64
	// more marks the second and later messages of a group split by
	// MaxEventsPerMessage: they go out with the first, whatever the
	// digest and budget say.
	more bool
}

// plan walks the organisations, groups their events and builds the
// messages that are due. An organisation planned again (after its
// recipient was refused) is counted in the Summary as this pass found it.
//
// A store that reads every organisation's events in one pass
// (store.OrgEvents) is read so on the first pass, which covers the whole
// constituency; a query per organisation reads the table a random page
// per event, and slower still while the run's own writes empty the page
// cache.
func (r *run) plan(ctx context.Context, orgs []string, first bool) error {
	since := r.now.Add(-r.n.Config.Lookback)
	if oe, ok := r.n.Events.(store.OrgEvents); ok && first {
		if err := r.planAll(ctx, oe, orgs, since); err != nil {
			return err
		}
	} else {
		for _, id := range orgs {
			if err := r.planOrg(ctx, id, r.n.Events.Events(ctx, store.Filter{Org: id, Since: since})); err != nil {
				return err
			}
		}
	}
	if err := r.flush(ctx); err != nil {
		return err
	}
	return r.wait()
}

// planAll plans orgs from one pass over the events of every organisation,
// ordered by organisation. Events of organisations not in orgs are
// skipped, as a query per organisation would never read them.
func (r *run) planAll(ctx context.Context, oe store.OrgEvents, orgs []string, since time.Time) error {
	err := eachOrg(oe.EventsByOrg(ctx, since), orgs, func(id string, events iter.Seq2[*store.Event, error]) error {
		return r.planOrg(ctx, id, events)
	})
	if err != nil {
		return fmt.Errorf("read the events of every organisation: %w", err)
	}
	return nil
}

// eachOrg calls f for each of orgs, in sorted order, with its events out
// of all, which yields events ordered by Event.Org. Events of
// organisations not in orgs are skipped. f must not keep events.
func eachOrg(all iter.Seq2[*store.Event, error], orgs []string, f func(id string, events iter.Seq2[*store.Event, error]) error) error {
	next, stop := iter.Pull2(all)
	defer stop()
	ev, err, ok := next()
	for _, id := range slices.Sorted(slices.Values(orgs)) {
		for ok && err == nil && ev.Org < id {
			ev, err, ok = next()
		}
		if err != nil {
			return err
		}
		events := func(yield func(*store.Event, error) bool) {
			for ok && err == nil && ev.Org == id {
				if !yield(ev, nil) {
					return
				}
				ev, err, ok = next()
			}
			if err != nil {
				yield(nil, err)
			}
		}
		if ferr := f(id, events); ferr != nil {
			return ferr
		}
		// What f did not read of its organisation is skipped by the next
		// round's loop.
	}
	return nil
}

// planOrg groups the events of organisation id and builds its messages
// that are due.
func (r *run) planOrg(ctx context.Context, id string, events iter.Seq2[*store.Event, error]) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	before, built := r.tally(), r.built
	org := r.n.Dir.Org(id)
	groups := map[string]*group{}
	var order []string
	for se, err := range events {
		if err != nil {
			return fmt.Errorf("read the events of %s: %w", id, err)
		}
		ev, err := r.decode(se)
		if err != nil {
			r.log.Warn("skip an event that does not decode", "event", se.ID, "err", err)
			continue
		}
		s := Subject{Event: ev, Org: org}
		if org != nil && org.Notify.OptOut || r.muted(s) {
			r.sum.Muted++
			continue
		}
		contact, ok := r.contact(id)
		if !ok {
			r.sum.Unowned++
			continue
		}
		for _, rt := range r.n.Routes.Match(s) {
			if rt.Mute {
				r.sum.Muted++
				continue
			}
			key := Identity(rt.Name, se)
			if last, ok := r.mem[memKey{contact.Email, key}]; ok && r.now.Sub(last) < rt.RenotifyFor(ev) {
				r.sum.Suppressed++
				continue
			}
			gk := rt.Name
			g := groups[gk]
			if g == nil {
				g = &group{route: rt, contact: contact}
				groups[gk] = g
				order = append(order, gk)
			}
			g.items = append(g.items, render.Item{ID: se.ID, Event: ev, Count: se.Count, FirstSeen: se.FirstSeen, LastSeen: se.LastSeen})
			g.keys = append(g.keys, key)
			if len(g.items) >= r.maxEvents {
				// A message stays readable and under the size limits:
				// the rest of the group goes in the next one.
				b0 := r.built
				if err := r.build(ctx, org, id, g); err != nil {
					return err
				}
				// The rest goes out with it, or waits with it.
				groups[gk] = &group{route: rt, contact: contact, more: r.built > b0}
			}
		}
	}
	for _, gk := range order {
		if len(groups[gk].items) == 0 {
			continue // the last part of a split group was empty
		}
		if err := r.build(ctx, org, id, groups[gk]); err != nil {
			return err
		}
	}
	if org != nil && org.Notify.Monthly && !org.Notify.OptOut {
		if err := r.monthly(ctx, org, id); err != nil {
			return err
		}
	}
	now := r.tally()
	prev, again := r.planned[id]
	if again {
		r.sum.Muted -= prev.muted
		r.sum.Deferred -= prev.deferred
		r.sum.Suppressed -= prev.suppressed
		r.sum.Unowned -= prev.unowned
	}
	if again || r.built > built {
		r.planned[id] = tally{now.muted - before.muted, now.deferred - before.deferred, now.suppressed - before.suppressed, now.unowned - before.unowned}
	}
	return nil
}

func (r *run) muted(s Subject) bool {
	for _, m := range r.n.Mutes {
		if m.Matches(s, r.now) {
			return true
		}
	}
	return false
}

// contact returns the first contact of the chain that is not bouncing.
func (r *run) contact(org string) (constituency.Contact, bool) {
	for _, c := range r.n.Dir.Contacts(org) {
		if c.Email == "" {
			continue
		}
		r.mu.Lock()
		f, ok := r.flags[strings.ToLower(c.Email)]
		r.mu.Unlock()
		if ok && f.Flag == store.ContactBouncing {
			continue
		}
		return c, true
	}
	return constituency.Contact{}, false
}

func (r *run) decode(se *store.Event) (*event.Event, error) {
	var base *event.Base
	if se.Base != nil {
		base = r.bases[se.ReportID]
		if base == nil {
			var err error
			if base, err = event.ParseBase(se.Base); err != nil {
				return nil, err
			}
			if len(r.bases) > 1024 {
				clear(r.bases)
			}
			r.bases[se.ReportID] = base
		}
	}
	ev := new(event.Event)
	if err := ev.UnmarshalBinaryDelta(se.Doc, base); err != nil {
		return nil, err
	}
	return ev, nil
}

// Identity is an event's identity on a route, the same in every
// deduplication window: the memory key of "this event was notified".
func Identity(route string, e *store.Event) uint64 {
	h := fnv.New64a()
	h.Write([]byte(route))
	h.Write([]byte{0})
	h.Write([]byte(e.Feed))
	h.Write([]byte{0})
	h.Write([]byte(e.Type))
	var b [8]byte
	for i := range b {
		b[i] = byte(e.Key >> (8 * i))
	}
	h.Write(b[:])
	return h.Sum64()
}

// groupKey is the memory key of "this route's digest was sent".
func groupKey(route string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("digest\x00"))
	h.Write([]byte(route))
	return h.Sum64()
}

// build renders one group into a notification, if its digest is due and
// its recipient's budget allows.
func (r *run) build(ctx context.Context, org *constituency.Org, orgID string, g *group) error {
	rcpt := g.contact.Email
	loc := r.location(org)
	last := r.mem[memKey{rcpt, groupKey(g.route.Name)}]
	if !g.more && !g.route.Digest.Due(last, r.now, loc) {
		r.sum.Deferred += len(g.items)
		return nil
	}
	if b := r.n.Config.Budget; !g.more && b > 0 && r.sentDay[rcpt] >= b {
		r.sum.Deferred += len(g.items)
		return nil
	}
	r.sentDay[rcpt]++
	slices.SortFunc(g.items, func(a, b render.Item) int { return int(a.ID - b.ID) })
	nt := &store.Notification{
		Kind: KindEvents, Org: orgID, Recipient: rcpt, Contact: string(g.contact.Source),
		Route: g.route.Name, Status: store.NotifyQueued, CreatedAt: r.now, UpdatedAt: r.now, NextAttempt: r.now,
	}
	for _, it := range g.items {
		nt.Events = append(nt.Events, it.ID)
	}
	slices.Sort(nt.Events)
	p := &pending{org: org, orgID: orgID, g: g, n: nt}
	for _, k := range g.keys {
		p.mem = append(p.mem, store.Remembered{Recipient: rcpt, Key: k, At: r.now})
	}
	p.mem = append(p.mem, store.Remembered{Recipient: rcpt, Key: groupKey(g.route.Name), At: r.now})
	for _, m := range p.mem {
		r.mem[memKey{m.Recipient, m.Key}] = m.At
	}
	r.batch = append(r.batch, p)
	r.built++
	if len(r.batch) >= r.batchSize {
		return r.flush(ctx)
	}
	return nil
}

func (r *run) location(org *constituency.Org) *time.Location {
	if org != nil && org.Notify.TimeZone != "" {
		if l, err := time.LoadLocation(org.Notify.TimeZone); err == nil {
			return l
		}
	}
	if l, err := time.LoadLocation(r.n.Config.TimeZone); err == nil {
		return l
	}
	return time.UTC
}
