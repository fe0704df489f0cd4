package render

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

// Sections are the kinds of explanatory text a notification has, one
// template per language each, in the order a message shows them: the most
// urgent first (a host that is compromised now), then what could be abused,
// then what was only seen knocking. "default" takes every type the others
// do not.
var Sections = []string{
	"infected-system",
	"compromised",
	"c2-server",
	"malware-distribution",
	"phishing",
	"vulnerable-system",
	"ddos-amplifier",
	"brute-force",
	"scanner",
	"spam",
	"default",
}

// amplifiers are the classification identifiers of Shadowserver's scans
// for UDP services that answer a small query with a large reply. The
// schema classifies them vulnerable-system (and IntelMQ's harmonisation
// has ddos-amplifier for the same thing); their remedy is not a patch but
// closing the service to the internet, so they get their own section.
var amplifiers = map[string]bool{
	"dns-open-resolver":                     true,
	"ntp-monitor":                           true,
	"ntp-version":                           true,
	"open-chargen":                          true,
	"open-qotd":                             true,
	"open-ssdp":                             true,
	"open-snmp":                             true,
	"open-memcached":                        true,
	"open-portmapper":                       true,
	"open-mdns":                             true,
	"open-netbios-nameservice":              true,
	"open-tftp":                             true,
	"open-xdmcp":                            true,
	"open-ws-discovery":                     true,
	"open-ddos-middlebox":                   true,
	"open-loop-dos":                         true,
	"open-dvr-dhcpdiscover":                 true,
	"open-db2-discovery-service":            true,
	"open-slp":                              true,
	"open-natpmp":                           true,
	"accessible-coap":                       true,
	"accessible-ard":                        true,
	"accessible-ubiquiti-discovery-service": true,
	"accessible-msrdpeudp":                  true,
}

// sectionOf returns the section an event is explained in: by its
// classification type, except that a vulnerable service that amplifies
// (by its identifier, or because the feed measured an amplification
// factor) goes to ddos-amplifier.
func sectionOf(e *event.Event) string {
	t := e.Classification.Type
	switch t {
	case "infected-system", "c2-server", "phishing", "brute-force", "scanner", "spam", "ddos-amplifier":
		return t
	case "malware-distribution", "malware-configuration":
		return "malware-distribution"
	}
	switch event.TaxonomyOf(t) {
	case "intrusions":
		return "compromised"
	case "vulnerable":
		if amplifies(e) {
			return "ddos-amplifier"
		}
		return "vulnerable-system"
	}
	if e.Classification.Identifier == "compromised-account" {
		return "compromised"
	}
	return "default"
}

func amplifies(e *event.Event) bool {
	if amplifiers[e.Classification.Identifier] {
		// open-ldap is TCP and UDP; only CLDAP (UDP) amplifies.
		return e.Protocol.Transport != "tcp"
	}
	if e.Classification.Identifier == "open-ldap" && e.Protocol.Transport == "udp" {
		return true
	}
	_, a := e.Extra["amplification"]
	_, m := e.Extra["min_amplification"]
	return a || m
}

// Feed is a feed behind a section's events, as the templates show it.
type Feed struct {
	Name     string // feed.name, e.g. "shadowserver"
	Provider string // feed.provider, e.g. "Shadowserver"
	Code     string // feed.code: the report type, e.g. "DNS-Open-Resolvers"
	URL      string // where the feed documents its data; "" when unknown
}

// feedDocs are documentation pages for built-in feeds whose events carry
// none (events from an older store, or an IntelMQ import).
var feedDocs = map[string]string{
	"shadowserver":      "https://www.shadowserver.org/what-we-do/network-reporting/",
	"abusech-feodo":     "https://feodotracker.abuse.ch/",
	"abusech-sslbl":     "https://sslbl.abuse.ch/",
	"abusech-urlhaus":   "https://urlhaus.abuse.ch/",
	"abusech-threatfox": "https://threatfox.abuse.ch/",
}

// feedKey is what feedOf reads of an event.
type feedKey struct{ name, provider, code, doc string }

// feedOf returns the feed of e with its documentation link: the event's
// feed.documentation when it is an http or https URL, else the built-in
// page for the feed's name. Shadowserver documents each report type on
// its own page, which the report code (feed.code) names; the link goes to
// the overview, and the template names the report.
func feedOf(e *event.Event) Feed {
	f := Feed{
		Name:     oneLine(e.Feed.Name, maxValue),
		Provider: oneLine(e.Feed.Provider, maxValue),
		Code:     oneLine(e.Feed.Code, maxValue),
	}
	if f.Provider == "" {
		f.Provider = f.Name
	}
	doc := e.Feed.Documentation
	if !webURL(doc) {
		doc = feedDocs[e.Feed.Name]
		if doc == "" && strings.HasPrefix(e.Feed.Name, "abusech") {
			doc = "https://abuse.ch/"
		}
	}
	f.URL = oneLine(doc, maxName)
	return f
}

// webURL reports whether s is an absolute http or https URL that fits on a
// line.
func webURL(s string) bool {
	if s == "" || len(s) > maxName || oneLine(s, 0) != s || strings.ContainsRune(s, ' ') {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Row is one event as the text lists it. Every value is on one line,
// cleaned of control characters and cut to a readable length.
type Row struct {
	Time      string // when the feed saw it (time.source), else the last time tocsin did, in UTC
	What      string // what it is about: ip:port/transport, the URL or the host name
	Host      string // the host name when What is an address
	ASN       string // "AS64496", or ""
	Detail    string // malware, identifier, product, CVEs
	Count     int64  // how many times it was seen (at least 1)
	FirstSeen string // first time tocsin saw it
	LastSeen  string // last time tocsin saw it
	// Line is the row as the shipped templates list it, "What (Host)
	// ASN, Time: Detail", each part only when it is not empty; Repeats
	// is Count when it is more than 1, else 0. A template that lists
	// {{.Line}}{{with .Repeats}} (seen {{.}} times){{end}} runs a
	// fraction of the actions that composing the parts takes.
	Line    string
	Repeats int64
}

const rowTime = "2006-01-02 15:04 UTC"

// formatRowTime is t.UTC().Format(rowTime), without the layout
// machinery for the years 0 to 9999.
func formatRowTime(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format(rowTime)
	}
	hour, min, _ := t.Clock()
	b := [...]byte{byte('0' + year/1000), byte('0' + year/100%10), byte('0' + year/10%10), byte('0' + year%10), '-',
		byte('0' + month/10), byte('0' + month%10), '-', byte('0' + day/10), byte('0' + day%10), ' ',
		byte('0' + hour/10), byte('0' + hour%10), ':', byte('0' + min/10), byte('0' + min%10), ' ', 'U', 'T', 'C'}
	return string(b[:])
}

func rowOf(it *Item, section string) Row {
	e := it.Event
	r := Row{Count: max(it.Count, 1)}
	switch {
	case !e.TimeSource.IsZero():
		r.Time = formatRowTime(e.TimeSource)
	case !it.LastSeen.IsZero():
		r.Time = formatRowTime(it.LastSeen)
	}
	if !it.FirstSeen.IsZero() {
		r.FirstSeen = formatRowTime(it.FirstSeen)
	}
	if !it.LastSeen.IsZero() {
		r.LastSeen = formatRowTime(it.LastSeen)
	}
	p := &e.Source
	if !p.IP.IsValid() && p.URL == "" && p.FQDN == "" && !p.Network.IsValid() {
		p = &e.Destination
	}
	urlFirst := section == "phishing" || section == "malware-distribution" || section == "compromised"
	switch {
	case urlFirst && p.URL != "":
		r.What = p.URL
		if p.IP.IsValid() {
			r.Host = p.IP.String()
		}
	case p.IP.IsValid():
		r.What = p.IP.String()
		if p.IP.Is6() && p.Port.Set {
			r.What = "[" + r.What + "]"
		}
		if p.Port.Set {
			r.What += ":" + strconv.Itoa(int(p.Port.V))
		}
		if t := e.Protocol.Transport; t != "" && p.Port.Set {
			r.What += "/" + t
		}
		r.Host = p.ReverseDNS
		if r.Host == "" {
			r.Host = p.FQDN
		}
	case p.URL != "":
		r.What = p.URL
	case p.FQDN != "":
		r.What = p.FQDN
	case p.Network.IsValid():
		r.What = p.Network.String()
	case p.ASN != 0:
		r.What = "AS" + strconv.FormatUint(uint64(p.ASN), 10)
	case p.Account != "":
		r.What = p.Account
	}
	r.What = oneLine(r.What, maxWhat)
	r.Host = oneLine(r.Host, maxValue)
	if p.ASN != 0 {
		r.ASN = "AS" + strconv.FormatUint(uint64(p.ASN), 10)
	}
	var d []string
	add := func(s string) {
		if s = oneLine(s, maxValue); s != "" && !slices.Contains(d, s) {
			d = append(d, s)
		}
	}
	add(e.Malware.Name)
	add(e.Classification.Identifier)
	if e.Product.Name != "" || e.Product.Version != "" {
		add(strings.TrimSpace(e.Product.Name + " " + e.Product.Version))
	}
	add(strings.ReplaceAll(e.Product.Vulnerabilities, ",", ", "))
	r.Detail = oneLine(strings.Join(d, ", "), maxName)
	if r.Count > 1 {
		r.Repeats = r.Count
	}
	b := make([]byte, 0, len(r.What)+len(r.Host)+len(r.ASN)+len(r.Time)+len(r.Detail)+8)
	b = append(b, r.What...)
	if r.Host != "" {
		b = append(append(append(b, " ("...), r.Host...), ')')
	}
	if r.ASN != "" {
		b = append(append(b, ' '), r.ASN...)
	}
	if r.Time != "" {
		b = append(append(b, ", "...), r.Time...)
	}
	if r.Detail != "" {
		b = append(append(b, ": "...), r.Detail...)
	}
	r.Line = string(b)
	return r
}
