package notify

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/event"
)

// Default re-notify intervals: a compromised system is told again after a
// week if it is still seen, a vulnerable one after a month.
const (
	RenotifyCompromised = 7 * 24 * time.Hour
	RenotifyVulnerable  = 30 * 24 * time.Hour
)

// Route is a resolved node of the routing tree: what it matches and how its
// events are sent. Unset settings are inherited from the parent, as in
// Alertmanager.
type Route struct {
	Name     string
	Template string // "" = the event's classification type
	Format   string
	Digest   Digest
	Renotify time.Duration // 0 = by taxonomy (RenotifyFor)
	Continue bool
	Mute     bool

	match  config.Match
	routes []*Route
}

// defaultRoute catches what no configured route matches.
const defaultRoute = "default"

// NewTree resolves the configured routes under a root that sends
// everything with the defaults.
func NewTree(rs []config.Route) *Route {
	root := &Route{Name: defaultRoute, Format: "csv", Digest: Digest{Every: 0}}
	root.routes = children(rs, root)
	return root
}

func children(rs []config.Route, parent *Route) []*Route {
	out := make([]*Route, 0, len(rs))
	for _, c := range rs {
		r := &Route{
			Name: c.Name, Template: c.Template, Format: c.Format,
			Renotify: c.Renotify, Continue: c.Continue, Mute: c.Mute || parent.Mute,
			match: c.Match, Digest: parent.Digest,
		}
		if r.Template == "" {
			r.Template = parent.Template
		}
		if r.Format == "" {
			r.Format = parent.Format
		}
		if r.Renotify == 0 {
			r.Renotify = parent.Renotify
		}
		if c.Digest != "" {
			r.Digest, _ = ParseDigest(c.Digest) // checked by config
		}
		r.routes = children(c.Routes, r)
		out = append(out, r)
	}
	return out
}

// Subject is what routes and mutes match on: an event and its owner.
type Subject struct {
	Event *event.Event
	Org   *constituency.Org // nil when the owner is not in the registry
}

// Match returns the routes ev goes to: the deepest matching route of the
// first matching branch, and of later branches while routes say continue.
// The root matches everything, so the result is never empty.
func (r *Route) Match(s Subject) []*Route {
	var out []*Route
	for _, c := range r.routes {
		if !matches(&c.match, s) {
			continue
		}
		out = append(out, c.Match(s)...)
		if !c.Continue {
			return out
		}
	}
	if len(out) == 0 {
		out = append(out, r)
	}
	return out
}

// RenotifyFor returns how long the same event is not notified again on r.
func (r *Route) RenotifyFor(ev *event.Event) time.Duration {
	if r.Renotify > 0 {
		return r.Renotify
	}
	return DefaultRenotify(ev.Classification.Taxonomy)
}

// DefaultRenotify is the re-notify interval of a taxonomy: 30 days for
// vulnerable systems (they change slowly), 7 days for everything else
// (compromised systems, phishing, malware, which must stop quickly).
func DefaultRenotify(taxonomy string) time.Duration {
	if taxonomy == "vulnerable" || taxonomy == "information-gathering" {
		return RenotifyVulnerable
	}
	return RenotifyCompromised
}

// Templates lists the templates the tree's routes name, each with the
// first route that names it.
func (r *Route) Templates() map[string]string {
	out := map[string]string{}
	var walk func(*Route)
	walk = func(x *Route) {
		if x.Template != "" {
			if _, ok := out[x.Template]; !ok {
				out[x.Template] = x.Name
			}
		}
		for _, c := range x.routes {
			walk(c)
		}
	}
	walk(r)
	return out
}

// MaxRenotify is the longest re-notify interval of the tree, which is how
// far back the notification memory must reach.
func (r *Route) MaxRenotify() time.Duration {
	m := max(r.Renotify, RenotifyVulnerable, RenotifyCompromised)
	for _, c := range r.routes {
		m = max(m, c.MaxRenotify())
	}
	return m
}

func matches(m *config.Match, s Subject) bool {
	e := s.Event
	c := &e.Classification
	if !anyFold(m.Taxonomy, c.Taxonomy) || !anyFold(m.Type, c.Type) || !anyFold(m.Identifier, c.Identifier) ||
		!anyFold(m.Feed, e.Feed.Name) || !anyFold(m.TLP, tlpName(e.TLP)) {
		return false
	}
	if len(m.Org)+len(m.Sector)+len(m.Country) > 0 {
		if s.Org == nil {
			return false
		}
		if !anyExact(m.Org, s.Org.ID) || !anyFold(m.Sector, s.Org.Sector) || !anyFold(m.Country, s.Org.Country) {
			return false
		}
	}
	return true
}

// tlpName is the TLP of an event as configs name it. An event without one
// counts as amber, the cautious default for data whose feed does not say.
func tlpName(t string) string {
	if t == "" {
		return "amber"
	}
	if t == "WHITE" {
		return "clear"
	}
	return strings.ToLower(t)
}

func anyFold(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
}

func anyExact(list []string, v string) bool {
	return len(list) == 0 || slices.Contains(list, v)
}

// Mute is a compiled config.Mute.
type Mute struct {
	Index       int
	Reason      string
	From, Until time.Time // zero: unbounded
	match       config.Match
	asns        []uint32
	networks    []netip.Prefix
	domains     []string
}

// CompileMutes turns the configured mutes into matchers. The config was
// validated, so every value parses.
func CompileMutes(ms []config.Mute) []*Mute {
	out := make([]*Mute, 0, len(ms))
	for i, m := range ms {
		c := &Mute{Index: i, Reason: m.Reason, match: m.Match.Match}
		if m.From != "" {
			c.From, _ = config.ParseMuteTime(m.From)
		}
		if m.Until != "" {
			c.Until, _ = config.ParseMuteTime(m.Until)
		}
		for _, a := range m.Match.ASN {
			if n, err := event.ParseASN(strings.TrimPrefix(strings.ToUpper(a), "AS")); err == nil {
				c.asns = append(c.asns, n)
			}
		}
		for _, n := range m.Match.Network {
			if p, err := event.ParseNetwork(n); err == nil {
				c.networks = append(c.networks, p.Masked())
			}
		}
		for _, d := range m.Match.Domain {
			c.domains = append(c.domains, strings.TrimSuffix(strings.ToLower(d), "."))
		}
		out = append(out, c)
	}
	return out
}

// Matches reports whether m mutes s at now.
func (m *Mute) Matches(s Subject, now time.Time) bool {
	if !m.From.IsZero() && now.Before(m.From) || !m.Until.IsZero() && !now.Before(m.Until) {
		return false
	}
	if !matches(&m.match, s) {
		return false
	}
	e := s.Event
	if len(m.asns) > 0 && !slices.Contains(m.asns, e.Source.ASN) {
		return false
	}
	if len(m.networks) > 0 && !slices.ContainsFunc(m.networks, func(p netip.Prefix) bool {
		return e.Source.IP.IsValid() && p.Contains(e.Source.IP.Unmap())
	}) {
		return false
	}
	if len(m.domains) > 0 && !slices.ContainsFunc(m.domains, func(d string) bool {
		return underDomain(e.Source.FQDN, d) || underDomain(hostOf(e.Source.URL), d) || underDomain(e.Source.DomainSuffix, d)
	}) {
		return false
	}
	return true
}

func underDomain(name, d string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	return name != "" && (name == d || strings.HasSuffix(name, "."+d))
}

func hostOf(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		host = h
	}
	return host
}
