package notify

import (
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
)

// TestSplit: a group larger than MaxEvents goes out as several messages
// at once, every event in exactly one, also when the digest is hourly
// (the later parts do not wait for the next hour), and an exact multiple
// leaves no empty message.
func TestSplit(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(*testing.T) db) {
		s := open(t)
		var d directory
		d.add(constituency.Org{ID: "isp"}, "abuse@isp.example")
		var specs []spec
		for i := range 7 {
			specs = append(specs, infected("isp", "192.0.2."+string(rune('1'+i)), uint64(i+1)))
		}
		report(t, s, "r", t0.Add(-time.Hour), specs...)
		cfg := parseConfig(t, "  routes:\n    - {name: infected, match: {type: infected-system}, digest: hourly}\n")
		n := newNotifier(t, cfg, s, &d, newFakeSender(t, nil))
		n.MaxEvents = 3
		sum := runAt(t, n, t0)
		if sum.Messages != 3 || sum.Events != 7 || sum.Deferred != 0 {
			t.Fatalf("7 events by 3: %+v, want 3 messages with all 7 events", sum)
		}
		seen := map[int64]int{}
		for _, nt := range logged(t, s) {
			if len(nt.Events) > 3 {
				t.Errorf("%s holds %d events", nt.Ident, len(nt.Events))
			}
			for _, e := range nt.Events {
				seen[e]++
			}
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("event %d in %d messages", id, c)
			}
		}
		if len(seen) != 7 {
			t.Errorf("%d events notified, want 7", len(seen))
		}
		n.MaxEvents = 7
		if sum := runAt(t, n, t0.Add(2*time.Hour)); sum.Messages != 0 || sum.Failed != 0 {
			t.Errorf("second run: %+v", sum)
		}
	})
}
