package notify

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/store"
)

const day = 24 * time.Hour

// TestNeverTwice: an event is notified once, and again only when it is
// seen again after its re-notify interval: a week for an infected system,
// a month for a vulnerable one.
func TestNeverTwice(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
		s := open(t)
		var d directory
		d.add(constituency.Org{ID: "isp", Name: "Example ISP"}, "abuse@isp.example")
		evs := []spec{infected("isp", "192.0.2.1", 1), vulnerable("isp", "192.0.2.2", 2)}
		ids := report(t, s, "day 0", t0.Add(-time.Hour), evs...)
		inf, vuln := ids[:1], ids[1:]
		snd := newFakeSender(t, nil)
		n := newNotifier(t, parseConfig(t, ""), s, &d, snd)

		steps := []struct {
			name       string
			at         time.Time
			reseen     bool // both events reported again an hour before
			want       []int64
			suppressed int
		}{
			{"first run", t0, false, ids, 0},
			{"again at the same time", t0, false, nil, 2},
			{"a day later", t0.Add(day), false, nil, 2},
			{"8 days later, both seen again: the infected system is told again", t0.Add(8 * day), true, inf, 1},
			{"9 days later", t0.Add(9 * day), false, nil, 2},
			{"29 days later, seen again: the infected system again, 21 days after", t0.Add(29 * day), true, inf, 1},
			{"31 days later, seen again: the vulnerable system at last", t0.Add(31 * day), true, vuln, 1},
		}
		messages := 0
		for _, st := range steps {
			if st.reseen {
				if again := report(t, s, st.name, st.at.Add(-time.Hour), evs...); !slices.Equal(again, ids) {
					t.Fatalf("%s: events reported again are %v, want the same events %v", st.name, again, ids)
				}
			}
			sum := runAt(t, n, st.at)
			wantMsgs := 0
			if len(st.want) > 0 {
				wantMsgs = 1
			}
			if sum.Messages != wantMsgs || sum.Sent != wantMsgs || sum.Events != len(st.want) || sum.Suppressed != st.suppressed {
				t.Fatalf("%s: %+v, want %d message with %d events, %d suppressed", st.name, sum, wantMsgs, len(st.want), st.suppressed)
			}
			messages += wantMsgs
			ns := logged(t, s)
			if len(ns) != messages {
				t.Fatalf("%s: the log holds %d notifications, want %d", st.name, len(ns), messages)
			}
			if wantMsgs == 1 {
				if last := ns[len(ns)-1]; !slices.Equal(last.Events, st.want) || last.Status != store.NotifySent {
					t.Errorf("%s: notification %s carries events %v (%s), want %v sent", st.name, last.Ident, last.Events, last.Status, st.want)
				}
			}
		}
		if files := outboxFiles(t, snd.outbox.Dir); len(files) != messages {
			t.Errorf("the outbox holds %d messages, want %d", len(files), messages)
		}
	})
}

// TestRetries: a temporary failure defers the notification to now plus
// the backoff; a run before then does not try it, one after does; when
// the attempts run out it fails, and nothing is flagged.
func TestRetries(t *testing.T) {
	tests := []struct {
		name         string
		failures     int // temporary failures before the server accepts it
		wantStatus   string
		wantAttempts int
	}{
		{"one temporary failure, then sent", 1, store.NotifySent, 2},
		{"two temporary failures, then sent", 2, store.NotifySent, 3},
		{"temporary failures until the attempts run out", 3, store.NotifyFailed, 3},
		{"more temporary failures than attempts", 10, store.NotifyFailed, 3},
	}
	const yaml = "  retry: {attempts: 3, backoff: 10m, max_backoff: 1h}\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
				s := open(t)
				var d directory
				d.add(constituency.Org{ID: "isp"}, "abuse@isp.example")
				report(t, s, "r", t0.Add(-time.Hour), infected("isp", "192.0.2.1", 1))
				tried := 0
				snd := newFakeSender(t, func(mail.Envelope) error {
					tried++ // one worker at a time: the run sends one message
					if tried <= tt.failures {
						return &mail.SendError{Code: 451, Temporary: true, Err: errors.New("4.7.1 try again later")}
					}
					return nil
				})
				cfg := parseConfig(t, yaml)
				n := newNotifier(t, cfg, s, &d, snd)

				sum := runAt(t, n, t0)
				nt := logged(t, s)[0]
				if sum.Messages != 1 || sum.Retrying != 1 || sum.Sent != 0 {
					t.Fatalf("first run: %+v, want 1 message retrying", sum)
				}
				if nt.Status != store.NotifyDeferred || nt.Attempts != 1 || !nt.NextAttempt.Equal(t0.Add(10*time.Minute)) || !strings.Contains(nt.LastError, "451") {
					t.Fatalf("after a temporary failure: %s, %d attempts, next %s, error %q; want deferred to %s with the error",
						nt.Status, nt.Attempts, nt.NextAttempt, nt.LastError, t0.Add(10*time.Minute))
				}
				for nt.Status == store.NotifyDeferred {
					before := snd.tries(nt.Ident)
					if sum := runAt(t, n, nt.NextAttempt.Add(-time.Minute)); sum.Sent+sum.Retrying+sum.Failed+sum.Messages != 0 || snd.tries(nt.Ident) != before {
						t.Fatalf("a run a minute before the next attempt (%s) tried it: %+v", nt.NextAttempt, sum)
					}
					now := nt.NextAttempt
					runAt(t, n, now)
					if snd.tries(nt.Ident) != before+1 {
						t.Fatalf("the run at the next attempt (%s) tried it %d times, want once", now, snd.tries(nt.Ident)-before)
					}
					next, err := s.Notification(context.Background(), nt.Ident)
					if err != nil {
						t.Fatal(err)
					}
					if next.Status == store.NotifyDeferred {
						if want := now.Add(Backoff(cfg.Retry, next.Attempts)); !next.NextAttempt.Equal(want) {
							t.Errorf("after attempt %d: next attempt %s, want %s", next.Attempts, next.NextAttempt, want)
						}
					}
					nt = next
				}
				if nt.Status != tt.wantStatus || nt.Attempts != tt.wantAttempts {
					t.Errorf("in the end: %s after %d attempts, want %s after %d", nt.Status, nt.Attempts, tt.wantStatus, tt.wantAttempts)
				}
				if sum := runAt(t, n, t0.Add(day)); sum.Messages+sum.Sent+sum.Retrying+sum.Failed != 0 {
					t.Errorf("a day later: %+v, want nothing built or tried", sum)
				}
				if got := snd.tries(nt.Ident); got != tt.wantAttempts {
					t.Errorf("tried %d times, want %d", got, tt.wantAttempts)
				}
				_, inOutbox := outboxFiles(t, snd.outbox.Dir)[nt.Ident]
				if inOutbox != (tt.wantStatus == store.NotifySent) {
					t.Errorf("in the outbox: %v, status %s", inOutbox, tt.wantStatus)
				}
				if f := flags(t, s); len(f) != 0 {
					t.Errorf("temporary failures flagged %v", f)
				}
			})
		})
	}
}

// TestPermanentFailure: a recipient that the server refuses is flagged as
// bouncing and its events go to the next contact of the organisation in
// the same run; a message refused for another reason flags nobody.
func TestPermanentFailure(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantFlag bool
		want     Summary
	}{
		{"the recipient is refused", &mail.SendError{Code: 550, Recipient: "gone@isp.example", Err: errors.New("5.1.1 user unknown")}, true,
			Summary{Messages: 3, Events: 5, Recipients: 3, Muted: 1, Sent: 2, Failed: 1}},
		{"the message is refused", &mail.SendError{Code: 554, Err: errors.New("5.6.0 content rejected")}, false,
			Summary{Messages: 2, Events: 3, Recipients: 2, Muted: 1, Sent: 1, Failed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
				s := open(t)
				var d directory
				d.add(constituency.Org{ID: "isp"}, "gone@isp.example", "noc@isp.example")
				d.add(constituency.Org{ID: "other"}, "abuse@other.example")
				d.add(constituency.Org{ID: "quiet", Notify: constituency.Prefs{OptOut: true}}, "abuse@quiet.example")
				ids := report(t, s, "r", t0.Add(-time.Hour), infected("isp", "192.0.2.1", 1), infected("isp", "192.0.2.2", 2),
					infected("other", "198.51.100.1", 3), infected("quiet", "203.0.113.1", 4))
				snd := newFakeSender(t, func(env mail.Envelope) error {
					if env.To[0] == "gone@isp.example" {
						return tt.err
					}
					return nil
				})
				n := newNotifier(t, parseConfig(t, ""), s, &d, snd)

				if sum := runAt(t, n, t0); sum != tt.want {
					t.Errorf("run: %+v\nwant %+v", sum, tt.want)
				}
				got := map[string]*store.Notification{}
				for _, nt := range logged(t, s) {
					got[nt.Recipient] = nt
				}
				gone := got["gone@isp.example"]
				if gone == nil || gone.Status != store.NotifyFailed || !slices.Equal(gone.Events, ids[:2]) || !strings.Contains(gone.LastError, tt.err.Error()) {
					t.Fatalf("to gone@: %+v, want failed with events %v and the error", gone, ids[:2])
				}
				noc := got["noc@isp.example"]
				f := flags(t, s)
				if tt.wantFlag {
					if f["gone@isp.example"] != store.ContactBouncing || len(f) != 1 {
						t.Errorf("flags %v, want gone@ bouncing", f)
					}
					if noc == nil || noc.Status != store.NotifySent || !slices.Equal(noc.Events, ids[:2]) {
						t.Errorf("to noc@: %+v, want the events of gone@ sent", noc)
					}
				} else {
					if len(f) != 0 {
						t.Errorf("flags %v, want none", f)
					}
					if noc != nil {
						t.Errorf("the next contact got %s: only a refused recipient moves the events", noc.Ident)
					}
				}
				if sum := runAt(t, n, t0.Add(time.Hour)); sum.Messages+sum.Sent+sum.Failed != 0 || sum.Muted != 1 {
					t.Errorf("an hour later: %+v, want nothing built or sent", sum)
				}
			})
		})
	}
}

// TestBudget: with a budget of one message a day, the second route's
// events wait for the next day.
func TestBudget(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
		s := open(t)
		var d directory
		d.add(constituency.Org{ID: "isp"}, "abuse@isp.example")
		d.add(constituency.Org{ID: "other"}, "abuse@other.example")
		ids := report(t, s, "r", t0.Add(-time.Hour), infected("isp", "192.0.2.1", 1), vulnerable("isp", "192.0.2.2", 2), vulnerable("other", "198.51.100.1", 3))
		cfg := parseConfig(t, `  budget: 1
  routes:
    - {name: infected, match: {type: infected-system}}
    - {name: vulnerable, match: {type: vulnerable-system}}
`)
		n := newNotifier(t, cfg, s, &d, newFakeSender(t, nil))
		steps := []struct {
			name                      string
			at                        time.Time
			messages, deferred, suppr int
			wantRoute                 string // of the new message to isp
			wantEvents                []int64
		}{
			{"first run: one message to isp, the other org unaffected", t0, 2, 1, 0, "infected", ids[:1]},
			{"later the same day: the budget is spent", t0.Add(3 * time.Hour), 0, 1, 2, "", nil},
			{"the next day", t0.Add(day), 1, 0, 2, "vulnerable", ids[1:2]},
		}
		for _, st := range steps {
			sum := runAt(t, n, st.at)
			if sum.Messages != st.messages || sum.Sent != st.messages || sum.Deferred != st.deferred || sum.Suppressed != st.suppr {
				t.Fatalf("%s: %+v, want %d messages, %d deferred, %d suppressed", st.name, sum, st.messages, st.deferred, st.suppr)
			}
			if st.wantRoute == "" {
				continue
			}
			var newest *store.Notification
			for _, nt := range logged(t, s) {
				if nt.Org == "isp" {
					newest = nt
				}
			}
			if newest.Route != st.wantRoute || !slices.Equal(newest.Events, st.wantEvents) || !newest.CreatedAt.Equal(st.at) {
				t.Errorf("%s: newest to isp is %s on route %s with %v, want route %s with %v", st.name, newest.Ident, newest.Route, newest.Events, st.wantRoute, st.wantEvents)
			}
		}
	})
}

// TestDigest: a daily digest at 08:00 in Stockholm (UTC+1 in January),
// whether the zone is the CSIRT's or the organisation's.
func TestDigest(t *testing.T) {
	zones := []struct{ name, csirt, org string }{
		{"the CSIRT's time zone", "Europe/Stockholm", ""},
		{"the organisation's time zone", "UTC", "Europe/Stockholm"},
	}
	at := func(dayOffset, h, m int) time.Time {
		return time.Date(t0.Year(), t0.Month(), t0.Day()+dayOffset, h, m, 0, 0, time.UTC)
	}
	for _, z := range zones {
		t.Run(z.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
				s := open(t)
				var d directory
				d.add(constituency.Org{ID: "isp", Notify: constituency.Prefs{TimeZone: z.org}}, "abuse@isp.example")
				first := report(t, s, "morning", at(0, 5, 0), infected("isp", "192.0.2.1", 1))
				cfg := parseConfig(t, "  time_zone: "+z.csirt+"\n  routes:\n    - {name: morning, digest: daily@08:00}\n")
				n := newNotifier(t, cfg, s, &d, newFakeSender(t, nil))

				steps := []struct {
					name                 string
					now                  time.Time
					add                  *spec // reported an hour before now
					deferred, suppressed int
					want                 []int64 // events of the digest sent; nil: none
				}{
					{"07:00 in Stockholm: not yet", at(0, 6, 0), nil, 1, 0, nil},
					{"08:30 in Stockholm: the digest", at(0, 7, 30), nil, 0, 0, first},
					{"13:00 in Stockholm, a new event: it waits for tomorrow", at(0, 12, 0), &spec{"isp", "sinkhole", "infected-system", "192.0.2.2", 2}, 1, 1, nil},
					{"23:30 in Stockholm: still waiting", at(0, 22, 30), nil, 1, 1, nil},
					{"08:30 in Stockholm the next day: the waiting event", at(1, 7, 30), nil, 0, 1, []int64{first[0] + 1}},
				}
				for _, st := range steps {
					if st.add != nil {
						ids := report(t, s, st.name, st.now.Add(-time.Hour), *st.add)
						if ids[0] != first[0]+1 {
							t.Fatalf("the new event has ID %d, want %d", ids[0], first[0]+1)
						}
					}
					sum := runAt(t, n, st.now)
					wantMsgs := 0
					if st.want != nil {
						wantMsgs = 1
					}
					if sum.Messages != wantMsgs || sum.Sent != wantMsgs || sum.Deferred != st.deferred || sum.Suppressed != st.suppressed {
						t.Fatalf("%s: %+v, want %d message, %d deferred, %d suppressed", st.name, sum, wantMsgs, st.deferred, st.suppressed)
					}
					if st.want != nil {
						ns := logged(t, s)
						if last := ns[len(ns)-1]; !slices.Equal(last.Events, st.want) {
							t.Errorf("%s: the digest carries %v, want %v", st.name, last.Events, st.want)
						}
					}
				}
			})
		})
	}
}

// TestRunMutes: opted-out organisations, mutes in force and muting routes
// are counted as muted and never sent; a mute that has ended mutes
// nothing.
func TestRunMutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
		s := open(t)
		var d directory
		d.add(constituency.Org{ID: "quiet", Notify: constituency.Prefs{OptOut: true}}, "abuse@quiet.example")
		d.add(constituency.Org{ID: "busy"}, "abuse@busy.example")
		ids := report(t, s, "r", t0.Add(-time.Hour),
			infected("quiet", "203.0.113.1", 1),
			infected("busy", "192.0.2.1", 2),                    // under maintenance until 2027
			infected("busy", "198.51.100.1", 3),                 // its maintenance ended in 2025
			spec{"busy", "spamtrap", "spam", "198.51.100.2", 4}, // a muting route
		)
		cfg := parseConfig(t, `  mutes:
    - {match: {network: 192.0.2.0/24}, until: "2027-01-01", reason: maintenance}
    - {match: {network: 198.51.100.0/24, type: infected-system}, until: "2025-12-31", reason: over}
  routes:
    - {name: no-spam, match: {type: spam}, mute: true}
`)
		snd := newFakeSender(t, nil)
		n := newNotifier(t, cfg, s, &d, snd)
		for _, now := range []time.Time{t0, t0.Add(day)} {
			sum := runAt(t, n, now)
			if sum.Muted != 3 {
				t.Errorf("at %s: %d muted, want 3: %+v", now, sum.Muted, sum)
			}
		}
		ns := logged(t, s)
		if len(ns) != 1 || ns[0].Recipient != "abuse@busy.example" || !slices.Equal(ns[0].Events, ids[2:3]) {
			t.Fatalf("notifications %v, want one to busy with event %d", ns, ids[2])
		}
		if files := outboxFiles(t, snd.outbox.Dir); len(files) != 1 {
			t.Errorf("the outbox holds %d messages, want 1", len(files))
		}
	})
}

// TestDryRun: a dry run shows the messages a run would send and leaves no
// trace: no notification, no memory, nothing sent. The run that follows
// sends exactly what it showed.
func TestDryRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
		s := open(t)
		var d directory
		d.add(constituency.Org{ID: "isp"}, "abuse@isp.example")
		d.add(constituency.Org{ID: "other", Languages: []string{"sv"}}, "abuse@other.example")
		report(t, s, "r", t0.Add(-time.Hour), infected("isp", "192.0.2.1", 1), vulnerable("other", "198.51.100.1", 2))
		snd := newFakeSender(t, nil)
		n := newNotifier(t, parseConfig(t, ""), s, &d, snd)
		ctx := context.Background()

		var planned []*store.Notification
		sum, err := n.Run(ctx, Options{Now: t0, DryRun: true, Plan: func(nt *store.Notification) { planned = append(planned, nt) }})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Messages != 2 || sum.Events != 2 || sum.Sent != 0 || len(planned) != 2 {
			t.Fatalf("dry run: %+v and %d planned, want 2 messages planned, none sent", sum, len(planned))
		}
		for _, p := range planned {
			if p.Ident == "" || p.MessageID == "" || len(p.Message) == 0 || p.Subject == "" {
				t.Errorf("planned %+v: want an ID, a Message-ID, a subject and the message", p)
			}
		}
		if ns := logged(t, s); len(ns) != 0 {
			t.Errorf("the dry run logged %d notifications", len(ns))
		}
		for m, err := range s.Memory(ctx, time.Time{}) {
			t.Errorf("the dry run remembered %+v (%v)", m, err)
		}
		if files := outboxFiles(t, snd.outbox.Dir); len(files) != 0 || len(snd.attempts) != 0 {
			t.Errorf("the dry run sent %d messages", len(snd.attempts))
		}

		if sum := runAt(t, n, t0); sum.Messages != 2 || sum.Sent != 2 {
			t.Fatalf("the run after the dry run: %+v, want the 2 messages sent", sum)
		}
		sent := outboxFiles(t, snd.outbox.Dir)
		for _, p := range planned {
			if !bytes.Equal(sent[p.Ident], p.Message) {
				t.Errorf("%s: the message sent differs from the one the dry run showed", p.Ident)
			}
		}
	})
}
