package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/store"
)

// TestConcurrentRuns: two notifiers, as two processes would (each with
// its own handle on the same database), run at the same time. What the
// package doc promises: the run lease lets one plan and turns the other
// away with store.ErrLeaseHeld; every event is notified exactly once and
// every notification delivered exactly once.
func TestConcurrentRuns(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
		s := open(t)
		var d directory
		var evs []spec
		for i := range 12 {
			org := fmt.Sprintf("org%02d", i)
			d.add(constituency.Org{ID: org}, "abuse@"+org+".example")
			evs = append(evs, infected(org, fmt.Sprintf("192.0.2.%d", i+1), uint64(2*i+1)),
				vulnerable(org, fmt.Sprintf("198.51.100.%d", i+1), uint64(2*i+2)))
		}
		ids := report(t, s, "r", t0.Add(-time.Hour), evs...)
		cfg := parseConfig(t, "")
		snds := []*fakeSender{newFakeSender(t, nil), newFakeSender(t, nil)}
		var ns []*Notifier
		for _, snd := range snds {
			n := newNotifier(t, cfg, open(t), &d, snd)
			n.BatchSize = 4 // several transactions each, so that the runs interleave
			ns = append(ns, n)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, len(ns))
		for i, n := range ns {
			wg.Go(func() {
				<-start
				_, errs[i] = n.Run(context.Background(), Options{Now: t0})
			})
		}
		close(start)
		wg.Wait()
		held := 0
		for i, err := range errs {
			switch {
			case errors.Is(err, store.ErrLeaseHeld):
				held++
			case err != nil:
				t.Fatalf("run %d: %v", i, err)
			}
		}
		if held > 1 {
			t.Fatal("both runs were turned away")
		}

		logs := logged(t, s)
		for _, n := range logs {
			tries := snds[0].tries(n.Ident) + snds[1].tries(n.Ident)
			if n.Status != store.NotifySent || tries != 1 {
				t.Errorf("%s: %s, delivered %d times; want sent once", n.Ident, n.Status, tries)
			}
		}
		got := notified(logs)
		for _, id := range ids {
			if len(got[id]) != 1 {
				t.Errorf("event %d notified %d times, want once", id, len(got[id]))
			}
		}
		// A run after both finds the lease free.
		if _, err := ns[0].Run(context.Background(), Options{Now: t0.Add(time.Minute)}); err != nil {
			t.Errorf("a later run: %v", err)
		}
	})
}
