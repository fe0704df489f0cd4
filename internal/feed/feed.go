// Package feed describes where events come from: a feed has a name, a
// format (which parser reads it), a provider and the defaults its events
// get. tocsin knows the built-in feeds below without configuration; the
// config file adds more (plain lists and generic CSV need one, since only
// the operator knows what a list means).
package feed

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Classification is what a feed's events are, when the data does not say.
type Classification struct {
	Taxonomy   string `yaml:"taxonomy"`
	Type       string `yaml:"type"`
	Identifier string `yaml:"identifier"`
}

// CSV configures the generic CSV parser (format "csv").
type CSV struct {
	// Delimiter is one character; "," when empty, "\t" may be written as "tab".
	Delimiter string `yaml:"delimiter"`
	// Comment starts a line to skip, e.g. "#". Empty: no comments.
	Comment string `yaml:"comment"`
	// Header says the first (non-comment) row names the columns.
	Header bool `yaml:"header"`
	// SkipLines skips that many lines before anything else.
	SkipLines int `yaml:"skip_lines"`
	// Columns maps a column (its header name, or its 1-based number) to an
	// IntelMQ field name, or to "extra.NAME". Columns not named are ignored.
	Columns map[string]string `yaml:"columns"`
	// TimeFormat is a Go time layout for time columns that no built-in
	// layout reads; optional.
	TimeFormat string `yaml:"time_format"`
}

// Dedup says which events of a feed are the same event.
type Dedup struct {
	// Fields are the IntelMQ fields whose values identify an event within
	// one window, in addition to the feed name and classification type.
	Fields []string `yaml:"fields"`
	// Window is the length of one deduplication window; events are the
	// same only within one window (aligned to UTC midnight for whole days).
	Window time.Duration `yaml:"window"`
}

// Feed is one source of events.
type Feed struct {
	Name           string         `yaml:"name"`
	Format         string         `yaml:"format"`
	Provider       string         `yaml:"provider"`
	Documentation  string         `yaml:"documentation"`
	Accuracy       *float64       `yaml:"accuracy"`
	TLP            string         `yaml:"tlp"`
	Classification Classification `yaml:"classification"`
	// Field is what each line of a plain list is (format "list"):
	// source.ip, source.network, source.fqdn, source.url or source.asn;
	// empty detects it per line.
	Field string `yaml:"field"`
	// Constant fields are set on every event of the feed.
	Constant map[string]string `yaml:"constant"`
	CSV      CSV               `yaml:"csv"`
	Dedup    Dedup             `yaml:"dedup"`
}

// DefaultDedupFields identify an event when a feed names none: the same
// classification of the same thing, seen the same day, is one event.
var DefaultDedupFields = []string{
	"classification.identifier",
	"source.ip", "source.port", "source.network", "source.asn", "source.fqdn", "source.url", "source.account",
	"destination.ip", "destination.port", "destination.fqdn", "destination.url",
	"malware.name", "malware.hash.sha256", "product.vulnerabilities",
}

// DefaultWindow is one day.
const DefaultWindow = 24 * time.Hour

// DedupFields returns the fields that identify an event of f.
func (f *Feed) DedupFields() []string {
	if len(f.Dedup.Fields) > 0 {
		return f.Dedup.Fields
	}
	return DefaultDedupFields
}

// Window returns the deduplication window of f.
func (f *Feed) Window() time.Duration {
	if f.Dedup.Window > 0 {
		return f.Dedup.Window
	}
	return DefaultWindow
}

// Formats lists the parser formats; a feed's Format must be one of them.
var Formats = []string{
	"shadowserver", "feodo", "sslbl", "urlhaus", "threatfox", "spamhaus-drop",
	"openphish", "phishtank", "blocklistde", "dshield-block", "cowrie", "intelmq",
	"csv", "list",
}

// Builtin returns the feeds tocsin knows without configuration, by name.
func Builtin() map[string]*Feed {
	m := map[string]*Feed{}
	add := func(f Feed) { m[f.Name] = &f }
	add(Feed{Name: "shadowserver", Format: "shadowserver", Provider: "Shadowserver",
		Documentation: "https://www.shadowserver.org/what-we-do/network-reporting/"})
	add(Feed{Name: "abusech-feodo", Format: "feodo", Provider: "abuse.ch",
		Documentation:  "https://feodotracker.abuse.ch/blocklist/",
		Classification: Classification{Taxonomy: "malicious-code", Type: "c2-server"}})
	add(Feed{Name: "abusech-sslbl", Format: "sslbl", Provider: "abuse.ch",
		Documentation:  "https://sslbl.abuse.ch/blacklist/",
		Classification: Classification{Taxonomy: "malicious-code", Type: "c2-server"}})
	add(Feed{Name: "abusech-urlhaus", Format: "urlhaus", Provider: "abuse.ch",
		Documentation:  "https://urlhaus.abuse.ch/api/",
		Classification: Classification{Taxonomy: "malicious-code", Type: "malware-distribution"}})
	add(Feed{Name: "abusech-threatfox", Format: "threatfox", Provider: "abuse.ch",
		Documentation:  "https://threatfox.abuse.ch/export/",
		Classification: Classification{Taxonomy: "malicious-code", Type: "c2-server"}})
	add(Feed{Name: "spamhaus-drop", Format: "spamhaus-drop", Provider: "Spamhaus",
		Documentation:  "https://www.spamhaus.org/blocklists/do-not-route-or-peer/",
		Classification: Classification{Taxonomy: "other", Type: "blacklist", Identifier: "spamhaus-drop"}})
	add(Feed{Name: "openphish", Format: "openphish", Provider: "OpenPhish",
		Documentation:  "https://openphish.com/",
		Classification: Classification{Taxonomy: "fraud", Type: "phishing"}})
	add(Feed{Name: "phishtank", Format: "phishtank", Provider: "PhishTank",
		Documentation:  "https://phishtank.org/developer_info.php",
		Classification: Classification{Taxonomy: "fraud", Type: "phishing"}})
	add(Feed{Name: "blocklistde", Format: "blocklistde", Provider: "blocklist.de",
		Documentation:  "https://www.blocklist.de/en/export.html",
		Classification: Classification{Taxonomy: "other", Type: "blacklist"}})
	add(Feed{Name: "dshield-block", Format: "dshield-block", Provider: "DShield",
		Documentation:  "https://www.dshield.org/reports.html",
		Classification: Classification{Taxonomy: "other", Type: "blacklist", Identifier: "dshield-block"}})
	add(Feed{Name: "cowrie", Format: "cowrie", Provider: "Cowrie honeypot",
		Documentation:  "https://docs.cowrie.org/en/latest/OUTPUT.html",
		Classification: Classification{Taxonomy: "intrusion-attempts", Type: "brute-force", Identifier: "ssh-telnet-honeypot"}})
	add(Feed{Name: "intelmq", Format: "intelmq", Provider: "IntelMQ"})
	return m
}

// Set is the feeds a run knows: the built-in ones, overridden or extended
// by the config file's.
type Set struct{ byName map[string]*Feed }

// NewSet returns the built-in feeds plus configured ones. A configured feed
// with a built-in name replaces it.
func NewSet(configured []Feed) *Set {
	s := &Set{byName: Builtin()}
	for i := range configured {
		f := configured[i]
		s.byName[f.Name] = &f
	}
	return s
}

// Get returns the feed called name.
func (s *Set) Get(name string) (*Feed, error) {
	f := s.byName[name]
	if f == nil {
		return nil, fmt.Errorf("unknown feed %q: known feeds are %v; add it under feeds: in the config file", name, s.Names())
	}
	return f, nil
}

// Names lists the known feed names, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ValidFormat reports whether format names a parser.
func ValidFormat(format string) bool { return slices.Contains(Formats, format) }
