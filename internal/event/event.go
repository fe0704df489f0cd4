// Package event defines the Event every parser produces and every later
// stage consumes, with IntelMQ's harmonisation field names on the outside.
//
// Inside the program an Event is a typed struct: addresses are netip.Addr,
// times are UTC time.Time, numbers are numbers. Fields are read and written
// by their IntelMQ names through the registry in fields.go, which also
// validates and normalises every value (an IP is an IP, a port is 0-65535, a
// time is UTC, a URL parses, a classification is in the taxonomy). Extra is
// the only open map. The package does no I/O.
package event

import (
	"errors"
	"net/netip"
	"time"
)

// Opt is a value that may be absent, for fields where the zero value is
// meaningful data (port 0, latitude 0).
type Opt[T any] struct {
	V   T
	Set bool
}

// Some returns a present Opt.
func Some[T any](v T) Opt[T] { return Opt[T]{V: v, Set: true} }

// Geolocation is where an address is, as a feed or a geo database says.
type Geolocation struct {
	CC        string // ISO 3166-1 alpha-2, upper case
	Country   string
	Region    string
	State     string
	City      string
	Latitude  Opt[float64]
	Longitude Opt[float64]
	CymruCC   string
	GeoIPCC   string
}

// Endpoint is the source or the destination of an event.
type Endpoint struct {
	IP            netip.Addr
	Port          Opt[uint16]
	ASN           uint32 // 0 means unknown: AS0 is never an origin
	ASName        string
	Network       netip.Prefix
	Allocated     time.Time
	Registry      string
	FQDN          string
	ReverseDNS    string
	URL           string
	URLPath       string
	DomainSuffix  string
	Account       string
	AbuseContact  string
	LocalHostname string
	LocalIP       netip.Addr
	TorNode       Opt[bool]
	Geolocation   Geolocation
}

// Feed names where an event came from.
type Feed struct {
	Name          string
	Provider      string
	Code          string
	Accuracy      Opt[float64] // 0-100
	URL           string
	Documentation string
}

// Malware names the malicious software an event is about.
type Malware struct {
	Name    string // lower case
	Version string
	MD5     string
	SHA1    string
	SHA256  string
}

// Protocol is the transport and application protocol of an event.
type Protocol struct {
	Transport   string
	Application string
}

// Product is the vulnerable or observed product, as Shadowserver's scans
// report it.
type Product struct {
	Name            string
	FullName        string
	Vendor          string
	Version         string
	Vulnerabilities string // comma-separated CVE identifiers
}

// Description is free text about an event.
type Description struct {
	Text   string
	URL    string
	Target string
}

// Event is one normalised observation. The zero Event is empty and ready to
// use; Reset returns an Event to that state while keeping its Extra map's
// storage, so a parser may reuse one Event for every row.
type Event struct {
	Feed             Feed
	TimeSource       time.Time // UTC; zero when the feed gives none
	TimeObservation  time.Time // UTC
	Classification   Classification
	Source           Endpoint
	Destination      Endpoint
	Malware          Malware
	Protocol         Protocol
	Product          Product
	EventDescription Description
	Severity         string
	Status           string
	Comment          string
	ScreenshotURL    string
	EventHash        string
	MISPEventUUID    string
	MISPAttrUUID     string
	RTIRID           Opt[int64]
	TLP              string // WHITE (alias CLEAR), GREEN, AMBER, AMBER+STRICT, RED
	// Extra holds everything the harmonisation has no field for, keyed
	// without the "extra." prefix. Values are JSON values: string, bool,
	// int64, float64, nil, or nested []any / map[string]any.
	Extra map[string]any
	// Raw is the original line or record the event was parsed from.
	Raw []byte
}

// Reset empties e for reuse, keeping the Extra map's and Raw's storage.
func (e *Event) Reset() {
	extra, raw := e.Extra, e.Raw
	clear(extra)
	*e = Event{Extra: extra, Raw: raw[:0]}
}

// SetExtra stores v under extra.<key>.
func (e *Event) SetExtra(key string, v any) {
	if e.Extra == nil {
		e.Extra = make(map[string]any, 8)
	}
	e.Extra[key] = v
}

// Errors returned by Validate.
var (
	ErrNoClassification = errors.New("classification.type is missing")
	ErrNoSubject        = errors.New("the event names nothing: no source or destination (ip, fqdn, url, network, asn, account, country), no malware and no extra data")
)

// Validate checks what no single field can check on its own: the
// classification is in the taxonomy (filling in a missing taxonomy from the
// type) and the event is about something. Field values were already checked
// when they were set.
func (e *Event) Validate() error {
	if err := e.Classification.Validate(); err != nil {
		return err
	}
	if !e.Source.hasSubject() && !e.Destination.hasSubject() && e.Malware == (Malware{}) && len(e.Extra) == 0 {
		return ErrNoSubject
	}
	return nil
}

// hasSubject reports whether the endpoint names anything. A sandbox's DNS
// query (a malware hash) or a ransomware victim (a name and a country) is
// about something too, hence the wider test in Validate.
func (p *Endpoint) hasSubject() bool {
	return p.IP.IsValid() || p.FQDN != "" || p.URL != "" || p.Network.IsValid() || p.ASN != 0 || p.Account != "" || p.Geolocation.CC != ""
}
