package notify

import (
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/event"
)

func mustEvent(t *testing.T, kv ...string) *event.Event {
	t.Helper()
	e := new(event.Event)
	for i := 0; i < len(kv); i += 2 {
		if err := e.Set(kv[i], kv[i+1]); err != nil {
			t.Fatalf("set %s: %v", kv[i], err)
		}
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	return e
}

func routesOf(t *testing.T, src string) *Route {
	t.Helper()
	c, err := config.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return NewTree(c.Notify.Routes)
}

func names(rs []*Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestRouteMatch(t *testing.T) {
	tree := routesOf(t, `
notify:
  routes:
    - name: botnet
      match: {type: infected-system}
      digest: daily@08:00
      routes:
        - name: botnet-energy
          match: {sector: energy}
          format: xarf
    - name: vuln
      match: {taxonomy: vulnerable}
      continue: true
      renotify: 14d
    - name: vuln-se
      match: {taxonomy: vulnerable, country: SE}
    - name: quiet
      match: {feed: noisy}
      mute: true
`)
	bot := mustEvent(t, "classification.type", "infected-system", "source.ip", "192.0.2.1", "feed.name", "shadowserver")
	vuln := mustEvent(t, "classification.type", "vulnerable-system", "source.ip", "192.0.2.1", "feed.name", "shadowserver")
	spam := mustEvent(t, "classification.type", "spam", "source.ip", "192.0.2.1", "feed.name", "noisy")
	other := mustEvent(t, "classification.type", "spam", "source.ip", "192.0.2.1", "feed.name", "x")
	energy := &constituency.Org{ID: "manual:e", Sector: "Energy", Country: "SE"}
	plain := &constituency.Org{ID: "manual:p", Country: "NO"}
	for _, tt := range []struct {
		ev   *event.Event
		org  *constituency.Org
		want []string
	}{
		{bot, plain, []string{"botnet"}},
		{bot, energy, []string{"botnet-energy"}},
		{bot, nil, []string{"botnet"}},
		{vuln, plain, []string{"vuln"}},             // continue, vuln-se does not match NO
		{vuln, energy, []string{"vuln", "vuln-se"}}, // continue reaches vuln-se
		{spam, plain, []string{"quiet"}},
		{other, plain, []string{"default"}},
	} {
		got := names(tree.Match(Subject{Event: tt.ev, Org: tt.org}))
		if len(got) != len(tt.want) {
			t.Errorf("%s/%v: routes %v, want %v", tt.ev.Classification.Type, tt.org, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s/%v: routes %v, want %v", tt.ev.Classification.Type, tt.org, got, tt.want)
			}
		}
	}
	// Inheritance: the child keeps the parent's digest, sets its format.
	r := tree.Match(Subject{Event: bot, Org: energy})[0]
	if r.Format != "xarf" || r.Digest.String() != "daily@08:00" {
		t.Errorf("botnet-energy: format %q digest %s", r.Format, r.Digest)
	}
	if q := tree.Match(Subject{Event: spam, Org: plain})[0]; !q.Mute {
		t.Error("quiet route does not mute")
	}
	// Re-notify defaults by taxonomy, overridden per route.
	if d := tree.Match(Subject{Event: bot})[0].RenotifyFor(bot); d != RenotifyCompromised {
		t.Errorf("botnet renotify %v", d)
	}
	if d := tree.Match(Subject{Event: vuln, Org: plain})[0].RenotifyFor(vuln); d != 14*24*time.Hour {
		t.Errorf("vuln renotify %v", d)
	}
	if d := tree.Match(Subject{Event: vuln, Org: energy})[1].RenotifyFor(vuln); d != RenotifyVulnerable {
		t.Errorf("vuln-se renotify %v", d)
	}
}

func TestMutes(t *testing.T) {
	c, err := config.Parse("t.yaml", []byte(`
notify:
  mutes:
    - match: {type: ddos-amplifier, asn: AS64500}
      until: 2027-01-01
    - match: {network: 198.51.100.0/24}
      from: 2026-12-24
      until: 2026-12-27T00:00:00Z
    - match: {domain: example.se}
    - match: {org: "manual:optout"}
`))
	if err != nil {
		t.Fatal(err)
	}
	ms := CompileMutes(c.Notify.Mutes)
	amp := mustEvent(t, "classification.type", "ddos-amplifier", "source.ip", "192.0.2.1", "source.asn", "64500")
	ampOther := mustEvent(t, "classification.type", "ddos-amplifier", "source.ip", "192.0.2.1", "source.asn", "64501")
	net := mustEvent(t, "classification.type", "infected-system", "source.ip", "198.51.100.7")
	dom := mustEvent(t, "classification.type", "phishing", "source.url", "http://www.shop.example.se/login")
	domOther := mustEvent(t, "classification.type", "phishing", "source.url", "http://example.se.evil.test/")
	nov := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	xmas := time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC)
	later := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	muted := func(e *event.Event, org *constituency.Org, now time.Time) bool {
		for _, m := range ms {
			if m.Matches(Subject{Event: e, Org: org}, now) {
				return true
			}
		}
		return false
	}
	for _, tt := range []struct {
		name string
		ev   *event.Event
		org  *constituency.Org
		now  time.Time
		want bool
	}{
		{"amplifier in AS64500 before until", amp, nil, nov, true},
		{"amplifier in AS64500 after until", amp, nil, later, false},
		{"amplifier elsewhere", ampOther, nil, nov, false},
		{"network outside the window", net, nil, nov, false},
		{"network inside the window", net, nil, xmas, true},
		{"subdomain of a muted domain", dom, nil, later, true},
		{"a look-alike of it", domOther, nil, later, false},
		{"opted-out org", ampOther, &constituency.Org{ID: "manual:optout"}, later, true},
		{"other org", ampOther, &constituency.Org{ID: "manual:x"}, later, false},
	} {
		if got := muted(tt.ev, tt.org, tt.now); got != tt.want {
			t.Errorf("%s: muted %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDigestDue(t *testing.T) {
	sthlm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tt := range []struct {
		digest, last, now string
		want              bool
	}{
		{"immediate", "2026-11-24T10:00:00Z", "2026-11-24T10:00:01Z", true},
		{"hourly", "2026-11-24T10:00:00Z", "2026-11-24T10:30:00Z", false},
		{"hourly", "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z", true},
		{"hourly", "", "2026-11-24T11:00:00Z", true},
		{"daily", "2026-11-24T10:00:00Z", "2026-11-25T09:58:00Z", true}, // within slack
		{"daily", "2026-11-24T10:00:00Z", "2026-11-25T09:00:00Z", false},
		// 08:00 in Stockholm is 07:00 UTC in November.
		{"daily@08:00", "", "2026-11-24T06:59:00Z", false},
		{"daily@08:00", "", "2026-11-24T07:00:00Z", true},
		{"daily@08:00", "2026-11-24T07:00:10Z", "2026-11-24T15:00:00Z", false},
		{"daily@08:00", "2026-11-24T07:00:10Z", "2026-11-25T07:00:00Z", true},
		{"daily@08:00", "2026-11-23T07:00:10Z", "2026-11-24T06:00:00Z", false},
		// Mondays: 2026-11-23 is a Monday.
		{"weekly@08:00", "", "2026-11-23T07:00:00Z", true},
		{"weekly@08:00", "", "2026-11-24T07:00:00Z", false}, // the first one waits for a Monday
		{"weekly@08:00", "2026-11-23T07:00:00Z", "2026-11-29T20:00:00Z", false},
		{"weekly@08:00", "2026-11-23T07:00:00Z", "2026-11-30T07:00:00Z", true},
	} {
		d, err := ParseDigest(tt.digest)
		if err != nil {
			t.Fatal(err)
		}
		var last time.Time
		if tt.last != "" {
			last = at(tt.last)
		}
		if got := d.Due(last, at(tt.now), sthlm); got != tt.want {
			t.Errorf("%s last %s now %s: due %v, want %v", tt.digest, tt.last, tt.now, got, tt.want)
		}
	}
	for _, bad := range []string{"monthly", "hourly@08:00", "daily@8", "daily@24:00"} {
		if _, err := ParseDigest(bad); err == nil {
			t.Errorf("ParseDigest(%q) accepted", bad)
		}
	}
}

func TestBackoff(t *testing.T) {
	r := config.Retry{Attempts: 8, Backoff: 5 * time.Minute, MaxBackoff: time.Hour}
	for attempts, want := range map[int]time.Duration{1: 5 * time.Minute, 2: 10 * time.Minute, 3: 20 * time.Minute, 4: 40 * time.Minute, 5: time.Hour, 9: time.Hour} {
		if got := Backoff(r, attempts); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}
