// Package constituency is who owns what: organisations, the assets they
// hold (IP ranges, AS numbers, domains) and the contacts to tell about
// them, with where each fact came from. Manual entries always win over
// imported ones.
package constituency

import (
	"net/netip"
	"time"
)

// Source says where a fact came from. The order of the constants is the
// order of preference of contacts: a registered mailbox first, abuse@ of
// the domain last.
type Source string

// Sources of organisations, assets and contacts.
const (
	SourceManual      Source = "manual"
	SourceRIPE        Source = "ripe" // or another RIR's database in RPSL
	SourceSecurityTxt Source = "security.txt"
	SourceRFC2142     Source = "rfc2142"
)

// Org is an organisation of the constituency.
type Org struct {
	ID        string // stable: "manual:<slug>" or "ripe:ORG-EXAMPLE1-RIPE"
	Name      string
	Sector    string
	Country   string   // ISO 3166-1 alpha-2
	Languages []string // preferred languages, BCP 47 (e.g. "sv", "en")
	Source    Source
	Notify    Prefs // how it wants to be notified
}

// Prefs are an organisation's notification preferences. The zero value is
// the default: notified, in the CSIRT's time zone, events as CSV.
type Prefs struct {
	OptOut   bool   // no automatic notifications
	TimeZone string // IANA name, for digests at a given hour; "" is the CSIRT's
	Format   string // "", "csv", "json" or "xarf": how events are attached; "" is the route's
	Monthly  bool   // the monthly report by mail on the first day of the month
}

// AssetKind is what an asset is.
type AssetKind string

// Asset kinds.
const (
	AssetNetwork AssetKind = "network" // an IPv4 or IPv6 prefix or range
	AssetASN     AssetKind = "asn"
	AssetDomain  AssetKind = "domain" // covers its subdomains
)

// Asset is something an organisation holds.
type Asset struct {
	Org    string // Org.ID
	Kind   AssetKind
	Prefix netip.Prefix // AssetNetwork; a range that is not one prefix becomes several assets
	ASN    uint32       // AssetASN
	Domain string       // AssetDomain, lower case, no final dot
	// Name is the RIR object's key or a note ("inetnum 192.0.2.0 - 192.0.2.255").
	Name      string
	Source    Source
	Confirmed bool // ownership proven (manual entries and RIR data are)
}

// Contact is a mailbox to tell about an organisation's assets.
type Contact struct {
	Org          string // Org.ID
	Email        string
	Role         string // "abuse", "security", "noc", ...
	PGPKey       string // armored public key, optional
	Source       Source
	LastVerified time.Time
}
