// Package enrich adds what tocsin knows to an event: the origin AS, its name
// and announced prefix (enrich/asn), the country (enrich/geo) and, for host
// names and URLs, the public suffix and registrable domain (enrich/domain).
//
// Data given by the feed is kept: where a lookup disagrees with it, the
// lookup's answer goes to extra (source.asn_lookup, source.network_lookup,
// source.cc_lookup) so that an analyst sees both.
package enrich

import (
	"net/netip"
	"net/url"
	"strings"

	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/domain"
	"github.com/tocsin/tocsin/internal/enrich/geo"
	"github.com/tocsin/tocsin/internal/event"
)

// Enricher holds the reference data. Every field may be nil: that lookup is
// then skipped. An Enricher is safe for concurrent use.
type Enricher struct {
	ASN    *asn.Table
	Geo    *geo.DB
	PSL    *domain.List
	Owners *index.Index
}

// Enabled reports whether e has any data to enrich with.
func (x *Enricher) Enabled() bool {
	return x != nil && (x.ASN != nil || x.Geo != nil || x.PSL != nil || x.Owners != nil)
}

// keys are the extra keys of one endpoint, built once: concatenating them
// per event would allocate.
type keys struct {
	asnLookup, networkLookup, ccLookup, registeredDomain, org string
}

func keysFor(prefix string) keys {
	return keys{prefix + "asn_lookup", prefix + "network_lookup", prefix + "cc_lookup", prefix + "registered_domain", prefix + "org"}
}

var sourceKeys, destinationKeys = keysFor("source."), keysFor("destination.")

// Event enriches the source and the destination of e.
func (x *Enricher) Event(e *event.Event) {
	x.endpoint(e, &e.Source, &sourceKeys)
	x.endpoint(e, &e.Destination, &destinationKeys)
}

func (x *Enricher) endpoint(e *event.Event, p *event.Endpoint, k *keys) {
	if p.IP.IsValid() {
		x.ip(e, p, k)
	}
	host := p.FQDN
	if host == "" && p.URL != "" {
		host = urlHost(p.URL)
	}
	if x.Owners != nil {
		x.owner(e, p, k, host)
	}
	if x.PSL != nil {
		if host != "" {
			if suffix, _ := x.PSL.PublicSuffix(host); suffix != "" && p.DomainSuffix == "" {
				p.DomainSuffix = suffix
			}
			if reg, err := x.PSL.RegistrableDomain(host); err == nil {
				e.SetExtra(k.registeredDomain, reg)
			}
		}
	}
}

func (x *Enricher) ip(e *event.Event, p *event.Endpoint, k *keys) {
	// Private, loopback, link-local and other non-global addresses are in
	// no routing table and in no country (some geo files say otherwise).
	if !p.IP.Unmap().IsGlobalUnicast() || p.IP.Unmap().IsPrivate() {
		return
	}
	if x.ASN != nil {
		if r, ok := x.ASN.Lookup(p.IP); ok {
			switch {
			case p.ASN == 0:
				p.ASN = r.ASN
			case p.ASN != r.ASN:
				e.SetExtra(k.asnLookup, int64(r.ASN))
			}
			if p.ASName == "" && p.ASN == r.ASN {
				p.ASName = r.Name
			}
			switch {
			case !p.Network.IsValid():
				p.Network = r.Prefix
			case p.Network != r.Prefix:
				e.SetExtra(k.networkLookup, r.Prefix.String())
			}
		}
	}
	if x.Geo != nil {
		if cc, ok, err := x.Geo.Country(p.IP); err == nil && ok {
			switch {
			case p.Geolocation.CC == "":
				p.Geolocation.CC = cc
			case p.Geolocation.CC != cc:
				e.SetExtra(k.ccLookup, cc)
			}
		}
	}
}

// Owner finds the organisation an endpoint belongs to: by address (longest
// prefix), else by AS number, else by domain. ok is false when it belongs
// to no known organisation.
func (x *Enricher) Owner(p *event.Endpoint, host string) (org index.OrgRef, ok bool) {
	if x.Owners == nil {
		return 0, false
	}
	if p.IP.IsValid() {
		if org, _, ok = x.Owners.OwnerOfIP(p.IP); ok {
			return org, true
		}
	}
	if p.ASN != 0 {
		if org, ok = x.Owners.OwnerOfASN(p.ASN); ok {
			return org, true
		}
	}
	if host != "" {
		if org, _, ok = x.Owners.OwnerOfDomain(host); ok {
			return org, true
		}
	}
	return 0, false
}

// owner records the endpoint's organisation (extra.source.org) and its best
// contact (source.abuse_contact, IntelMQ's field), unless the feed named a
// contact already.
func (x *Enricher) owner(e *event.Event, p *event.Endpoint, k *keys, host string) {
	org, ok := x.Owner(p, host)
	if !ok {
		return
	}
	e.SetExtra(k.org, x.Owners.Org(org).ID)
	if p.AbuseContact == "" {
		if cs := x.Owners.Contacts(org); len(cs) > 0 {
			p.AbuseContact = cs[0].Email
		}
	}
}

// urlHost returns the host of an absolute URL, "" when it has none or it
// is an IP address.
func urlHost(s string) string {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	u, err := url.Parse("http://" + rest)
	if err != nil {
		return ""
	}
	h := u.Hostname()
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	return h
}
