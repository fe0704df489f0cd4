package config

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tocsin/tocsin/internal/event"
)

// Notify configures the notifier: who the CSIRT is, how messages are
// signed and delivered, and the routing tree that decides which events go
// out how often.
type Notify struct {
	// Sender is the CSIRT as recipients see it. Email is the From address
	// and where bounces return; required before anything is sent (the
	// default, cert@example.invalid, only suits the demo and dry runs).
	Sender Sender `yaml:"sender" json:"sender"`
	// IdentPrefix starts every notification ID: PREFIX-YYYYMMDD-NNNNNN.
	// Upper case letters and digits; default TOCSIN.
	IdentPrefix string `yaml:"ident_prefix" json:"ident_prefix"`
	// SigningKey is the CSIRT's armored OpenPGP private key file; every
	// message is signed with it (PGP/MIME). Default
	// DATA_DIR/notify/signing-key.asc, which `tocsin notify keygen`
	// creates. Relative paths as for data_dir.
	SigningKey string `yaml:"signing_key" json:"signing_key"`
	// SigningKeyPassphrase unlocks SigningKey when it is protected.
	// $TOCSIN_SIGNING_KEY_PASSPHRASE, when set, replaces it.
	SigningKeyPassphrase Secret `yaml:"signing_key_passphrase" json:"signing_key_passphrase"`
	// Templates is a folder of template files replacing the embedded ones
	// of the same name (e.g. en/infected-system.tmpl). Default none.
	Templates string `yaml:"templates" json:"templates"`
	// SMTP is the mail server. With no address, messages are written as
	// .eml files into Outbox instead.
	SMTP SMTP `yaml:"smtp" json:"smtp"`
	// IMAP is the CSIRT's mailbox that bounces and auto-replies come back
	// to, read by `tocsin notify bounces`. Without an address, that
	// command reads the maildirs or mbox files it is given.
	IMAP IMAP `yaml:"imap" json:"imap"`
	// Outbox is the folder messages are written to when no SMTP server is
	// set. Default DATA_DIR/outbox.
	Outbox string `yaml:"outbox" json:"outbox"`
	// TimeZone is the CSIRT's IANA time zone, for digests sent at an hour
	// to organisations that name none. Default UTC.
	TimeZone string `yaml:"time_zone" json:"time_zone"`
	// Budget caps the messages one recipient gets per day, across all
	// routes; what waits goes in the next digest. Default 10; 0 = no cap.
	Budget int `yaml:"budget" json:"budget"`
	// Lookback is how far back notify run looks for events not yet
	// notified (by last seen). Default 7d.
	Lookback time.Duration `yaml:"lookback" json:"lookback"`
	// Retry governs delivery attempts after temporary failures.
	Retry Retry `yaml:"retry" json:"retry"`
	// Routes is the routing tree: for each event the first route that
	// matches (depth first) decides, unless it says continue. Events that
	// match no route use the defaults (template by type, CSV attachment,
	// immediate, re-notify after 7 days for compromised systems and 30
	// days for vulnerable ones).
	Routes []Route `yaml:"routes" json:"routes"`
	// Mutes suppress notifications: conditional inhibitions, maintenance
	// windows and opt-outs.
	Mutes []Mute `yaml:"mutes" json:"mutes"`
}

// Sender is the CSIRT as recipients see it.
type Sender struct {
	Name  string `yaml:"name" json:"name"`
	Email string `yaml:"email" json:"email"`
	// URL is the CSIRT's web site, named in every message.
	URL   string `yaml:"url" json:"url"`
	Phone string `yaml:"phone" json:"phone"`
}

// SMTP is the outgoing mail server.
type SMTP struct {
	// Addr is host:port; empty writes messages to the outbox.
	Addr string `yaml:"addr" json:"addr"`
	// TLS is starttls (default: required), opportunistic, tls (implicit,
	// port 465) or none (only for a server on loopback).
	TLS      string `yaml:"tls" json:"tls"`
	Username string `yaml:"username" json:"username"`
	// Password: $TOCSIN_SMTP_PASSWORD, when set, replaces it.
	Password Secret `yaml:"password" json:"password"`
	// Connections is how many connections deliver at once. Default 4.
	Connections int `yaml:"connections" json:"connections"`
	// CAFile is a PEM file of the certificate authorities that sign the
	// server's certificate, for a relay with an internal CA; default the
	// system's. Relative paths as for data_dir.
	CAFile string `yaml:"ca_file" json:"ca_file"`
}

// IMAP is a mailbox to read.
type IMAP struct {
	// Addr is host:port, e.g. imap.cert.example:993.
	Addr string `yaml:"addr" json:"addr"`
	// Security is tls (default, port 993), starttls (port 143) or none
	// (only for a server on loopback).
	Security string `yaml:"security" json:"security"`
	Username string `yaml:"username" json:"username"`
	// Password: $TOCSIN_IMAP_PASSWORD, when set, replaces it.
	Password Secret `yaml:"password" json:"password"`
	// Folder is read; default INBOX.
	Folder string `yaml:"folder" json:"folder"`
}

// Retry governs delivery attempts.
type Retry struct {
	// Attempts is how many times a message is tried before it fails.
	// Default 8.
	Attempts int `yaml:"attempts" json:"attempts"`
	// Backoff is the wait after the first temporary failure; it doubles
	// after each, up to MaxBackoff. Defaults 5m and 6h.
	Backoff    time.Duration `yaml:"backoff" json:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff" json:"max_backoff"`
}

// Route is a node of the routing tree.
type Route struct {
	// Name identifies the route in the log; unique. Default "route-N".
	Name  string `yaml:"name" json:"name"`
	Match Match  `yaml:"match" json:"match"`
	// Template names the template set, e.g. "infected-system"; default
	// the event's classification type.
	Template string `yaml:"template" json:"template"`
	// Format: csv (attachment, default), inline-csv, json, inline-json or
	// xarf. An organisation's own preference wins.
	Format string `yaml:"format" json:"format"`
	// Digest: immediate (default), hourly, daily, weekly, or daily@HH:MM
	// / weekly@HH:MM for a digest at that hour in the recipient's time
	// zone.
	Digest string `yaml:"digest" json:"digest"`
	// Renotify is how long the same event is not notified again to the
	// same recipient. Default 7d for compromised systems, 30d for
	// vulnerable ones.
	Renotify time.Duration `yaml:"renotify" json:"renotify"`
	// Continue goes on matching the routes after this one.
	Continue bool `yaml:"continue" json:"continue"`
	// Mute drops the events this route matches (nothing is sent).
	Mute bool `yaml:"mute" json:"mute"`
	// Routes are tried, in order, for the events this route matches;
	// the first that matches decides, else this route does.
	Routes []Route `yaml:"routes" json:"routes"`
}

// Match selects events; every key given must match (a list matches any of
// its values). An empty Match matches everything.
type Match struct {
	Taxonomy   List `yaml:"taxonomy" json:"taxonomy,omitempty"`
	Type       List `yaml:"type" json:"type,omitempty"`
	Identifier List `yaml:"identifier" json:"identifier,omitempty"`
	Feed       List `yaml:"feed" json:"feed,omitempty"`
	Org        List `yaml:"org" json:"org,omitempty"`
	Sector     List `yaml:"sector" json:"sector,omitempty"`
	Country    List `yaml:"country" json:"country,omitempty"`
	TLP        List `yaml:"tlp" json:"tlp,omitempty"`
}

// Mute suppresses the notifications of the events it matches while it is
// in force (From to Until; either may be empty). An empty Until is for
// ever: an opt-out.
type Mute struct {
	Match MuteMatch `yaml:"match" json:"match"`
	// From and Until are RFC 3339 times or YYYY-MM-DD dates (UTC).
	From   string `yaml:"from" json:"from"`
	Until  string `yaml:"until" json:"until"`
	Reason string `yaml:"reason" json:"reason"`
}

// MuteMatch is a Match that can also name assets.
type MuteMatch struct {
	Match   `yaml:",inline"`
	ASN     List `yaml:"asn" json:"asn,omitempty"`         // AS64500 or 64500
	Network List `yaml:"network" json:"network,omitempty"` // CIDRs holding source.ip
	Domain  List `yaml:"domain" json:"domain,omitempty"`   // covers subdomains
}

// List is a list of strings that may be written as one string.
type List []string

// UnmarshalYAML reads a scalar or a sequence of scalars.
func (l *List) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = List{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(List, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want a string, got a %s", c.Line, kindName(c.Kind))
			}
			out = append(out, c.Value)
		}
		*l = out
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// Notify defaults.
const (
	DefaultIdentPrefix  = "TOCSIN"
	DefaultSenderEmail  = "cert@example.invalid"
	DefaultBudget       = 10
	DefaultLookback     = 7 * 24 * time.Hour
	DefaultAttempts     = 8
	DefaultBackoff      = 5 * time.Minute
	DefaultMaxBackoff   = 6 * time.Hour
	DefaultConnections  = 4
	EnvSMTPPassword     = "TOCSIN_SMTP_PASSWORD"
	EnvIMAPPassword     = "TOCSIN_IMAP_PASSWORD"
	EnvSigningPassphase = "TOCSIN_SIGNING_KEY_PASSPHRASE"
)

func defaultNotify() Notify {
	return Notify{
		Sender:      Sender{Name: "CSIRT", Email: DefaultSenderEmail},
		IdentPrefix: DefaultIdentPrefix,
		TimeZone:    "UTC",
		Budget:      DefaultBudget,
		Lookback:    DefaultLookback,
		Retry:       Retry{Attempts: DefaultAttempts, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff},
		SMTP:        SMTP{TLS: "starttls", Connections: DefaultConnections},
		IMAP:        IMAP{Security: "tls", Folder: "INBOX"},
	}
}

var (
	formats    = []string{"csv", "inline-csv", "json", "inline-json", "xarf"}
	smtpTLS    = []string{"starttls", "opportunistic", "tls", "none"}
	identRE    = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,15}$`)
	digestRE   = regexp.MustCompile(`^(immediate|hourly|daily|weekly)(@([01][0-9]|2[0-3]):[0-5][0-9])?$`)
	timeLayout = []string{time.RFC3339, "2006-01-02"}
)

// ParseMuteTime reads a mute's from or until: RFC 3339 or a UTC date.
func ParseMuteTime(s string) (time.Time, error) {
	for _, l := range timeLayout {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time; use 2027-01-01 or 2027-01-01T08:00:00Z", s)
}

func (v *validator) notify() {
	n := &v.c.Notify
	if _, err := mail.ParseAddress(n.Sender.Email); err != nil || strings.ContainsAny(n.Sender.Email, "<> \r\n") {
		v.errorf("notify.sender.email", "%q is not an e-mail address; write it bare, like cert@cert.example", n.Sender.Email)
	}
	for _, k := range []struct{ key, val string }{{"name", n.Sender.Name}, {"url", n.Sender.URL}, {"phone", n.Sender.Phone}} {
		if strings.ContainsAny(k.val, "\r\n\x00") {
			v.errorf("notify.sender."+k.key, "must be one line")
		}
	}
	if n.Sender.URL != "" {
		if msg := checkHTTPURL(n.Sender.URL); msg != "" {
			v.errorf("notify.sender.url", "%s", msg)
		}
	}
	if !identRE.MatchString(n.IdentPrefix) {
		v.errorf("notify.ident_prefix", "%q: use 1 to 16 upper case letters and digits, starting with a letter (default %s)", n.IdentPrefix, DefaultIdentPrefix)
	}
	if _, err := time.LoadLocation(n.TimeZone); err != nil {
		v.errorf("notify.time_zone", "%q is not an IANA time zone such as Europe/Stockholm", n.TimeZone)
	}
	if n.Budget < 0 {
		v.errorf("notify.budget", "%d: use 0 (no cap) or more", n.Budget)
	}
	if n.Lookback <= 0 {
		v.errorf("notify.lookback", "must be positive, e.g. 7d")
	}
	if n.Retry.Attempts < 1 || n.Retry.Attempts > 100 {
		v.errorf("notify.retry.attempts", "%d: use 1 to 100 (default %d)", n.Retry.Attempts, DefaultAttempts)
	}
	if n.Retry.Backoff <= 0 || n.Retry.MaxBackoff < n.Retry.Backoff {
		v.errorf("notify.retry", "backoff must be positive and max_backoff at least backoff")
	}
	if !slices.Contains(smtpTLS, n.SMTP.TLS) {
		v.errorf("notify.smtp.tls", "%q: use one of %s%s", n.SMTP.TLS, strings.Join(smtpTLS, ", "), didYouMean(n.SMTP.TLS, smtpTLS))
	}
	if n.SMTP.Connections < 1 || n.SMTP.Connections > 64 {
		v.errorf("notify.smtp.connections", "%d: use 1 to 64 (default %d)", n.SMTP.Connections, DefaultConnections)
	}
	if !slices.Contains([]string{"tls", "starttls", "none"}, n.IMAP.Security) {
		v.errorf("notify.imap.security", "%q: use tls, starttls or none", n.IMAP.Security)
	}
	if n.IMAP.Addr != "" && !strings.Contains(n.IMAP.Addr, ":") {
		v.errorf("notify.imap.addr", "%q: write host:port, e.g. imap.cert.example:993", n.IMAP.Addr)
	}
	if n.SMTP.Addr != "" && !strings.Contains(n.SMTP.Addr, ":") {
		v.errorf("notify.smtp.addr", "%q: write host:port, e.g. mail.cert.example:587", n.SMTP.Addr)
	}
	names := map[string]string{}
	var routes func(rs []Route, path string)
	routes = func(rs []Route, path string) {
		for i := range rs {
			r := &rs[i]
			p := fmt.Sprintf("%s[%d]", path, i)
			if r.Name == "" {
				r.Name = fmt.Sprintf("route-%d", len(names)+1)
			}
			if prev, ok := names[r.Name]; ok {
				v.errorf(p+".name", "%q is also the name of %s; route names must be unique", r.Name, prev)
			}
			names[r.Name] = p
			v.match(&r.Match, p+".match")
			if r.Format != "" && !slices.Contains(formats, r.Format) {
				v.errorf(p+".format", "%q: use one of %s%s", r.Format, strings.Join(formats, ", "), didYouMean(r.Format, formats))
			}
			if r.Digest != "" && !digestRE.MatchString(r.Digest) {
				v.errorf(p+".digest", "%q: use immediate, hourly, daily or weekly, optionally with @HH:MM (e.g. daily@08:00)", r.Digest)
			}
			if r.Renotify < 0 {
				v.errorf(p+".renotify", "must not be negative")
			}
			if strings.ContainsAny(r.Template, "/\\.") {
				v.errorf(p+".template", "%q: name a template set such as infected-system, not a path", r.Template)
			}
			routes(r.Routes, p+".routes")
		}
	}
	routes(n.Routes, "notify.routes")
	for i := range n.Mutes {
		m := &n.Mutes[i]
		p := fmt.Sprintf("notify.mutes[%d]", i)
		v.match(&m.Match.Match, p+".match")
		for j, a := range m.Match.ASN {
			if _, err := event.ParseASN(strings.TrimPrefix(strings.ToUpper(a), "AS")); err != nil {
				v.errorf(fmt.Sprintf("%s.match.asn[%d]", p, j), "%q is not an AS number", a)
			}
		}
		for j, s := range m.Match.Network {
			if _, err := event.ParseNetwork(s); err != nil {
				v.errorf(fmt.Sprintf("%s.match.network[%d]", p, j), "%q is not a CIDR such as 192.0.2.0/24", s)
			}
		}
		var from, until time.Time
		var err error
		if m.From != "" {
			if from, err = ParseMuteTime(m.From); err != nil {
				v.errorf(p+".from", "%v", err)
			}
		}
		if m.Until != "" {
			if until, err = ParseMuteTime(m.Until); err != nil {
				v.errorf(p+".until", "%v", err)
			}
		}
		if !from.IsZero() && !until.IsZero() && !until.After(from) {
			v.errorf(p+".until", "is not after %s.from", p)
		}
	}
}

func (v *validator) match(m *Match, path string) {
	for j, t := range m.Type {
		if event.TaxonomyOf(t) == "" {
			v.errorf(fmt.Sprintf("%s.type[%d]", path, j), "%q is not a classification type", t)
		}
	}
	for j, t := range m.TLP {
		if _, err := event.NormTLP(t); err != nil {
			v.errorf(fmt.Sprintf("%s.tlp[%d]", path, j), "%q is not a TLP level (clear, green, amber, amber+strict, red)", t)
		}
	}
}
