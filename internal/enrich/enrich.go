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
	"sync"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/domain"
	"github.com/tocsin/tocsin/internal/enrich/geo"
	"github.com/tocsin/tocsin/internal/enrich/iptable"
	"github.com/tocsin/tocsin/internal/enrich/securitytxt"
	"github.com/tocsin/tocsin/internal/event"
)

// Enricher holds the reference data. Every field may be nil: that lookup is
// then skipped. An Enricher is safe for concurrent use.
type Enricher struct {
	ASN    *asn.Table
	Geo    *geo.DB
	PSL    *domain.List
	Owners *index.Index
	// IPv4 answers the owner, the AS and the country of an IPv4 address
	// in one lookup, as Owners, ASN and Geo would one by one, when it was
	// built from them (iptable.New(Owners, ASN, Geo)); nil, or a table
	// built from other sources, is not used.
	IPv4 *iptable.Table
	// SecurityTxt is what was fetched before of the security.txt of the
	// owners' domains. It is only read: enriching never fetches.
	SecurityTxt *securitytxt.Saved
	// Now tells the time a security.txt's Expires is compared with; nil
	// means time.Now.
	Now func() time.Time

	idsOnce sync.Once
	ids     []any // the organisations' IDs as extra values: boxed once, not per event
}

// orgID returns the ID of org as an extra value without allocating.
func (x *Enricher) orgID(org index.OrgRef) any {
	x.idsOnce.Do(func() {
		x.ids = make([]any, x.Owners.NumOrgs())
		for i := range x.ids {
			x.ids[i] = x.Owners.Org(index.OrgRef(i)).ID
		}
	})
	return x.ids[org]
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
	x.endpoint(e, &e.Source, &sourceKeys, prelooked{}, ccHit{})
	x.endpoint(e, &e.Destination, &destinationKeys, prelooked{}, ccHit{})
}

// merged returns x.IPv4 when it answers for x's sources, else nil.
func (x *Enricher) merged() *iptable.Table {
	if x.IPv4.Of(x.Owners, x.ASN, x.Geo) {
		return x.IPv4
	}
	return nil
}

// batchSize is how many events Events looks up side by side.
const batchSize = 64

// Events enriches each event as Event does. The owners of the events'
// source addresses are looked up together (index.OwnersOfIPs), which for
// addresses in random order costs much less per event than one at a
// time: a pipeline should pass whole batches. It does not allocate.
func (x *Enricher) Events(es []*event.Event) {
	if t := x.merged(); t != nil {
		x.eventsMerged(t, es)
		return
	}
	var (
		addrs  [batchSize]netip.Addr
		owners [batchSize]index.Hit
		ases   [batchSize]asn.Hit
	)
	for len(es) > 0 {
		n := min(len(es), batchSize)
		for i, e := range es[:n] {
			addrs[i] = e.Source.IP
		}
		pre := prelooked{}
		if x.Owners != nil {
			x.Owners.OwnersOfIPs(addrs[:n], owners[:n])
		}
		if x.ASN != nil {
			x.ASN.LookupAll(addrs[:n], ases[:n])
		}
		for i, e := range es[:n] {
			if x.Owners != nil {
				pre.owner = &owners[i]
			}
			if x.ASN != nil {
				pre.asn = &ases[i]
			}
			x.endpoint(e, &e.Source, &sourceKeys, pre, ccHit{})
			x.endpoint(e, &e.Destination, &destinationKeys, prelooked{}, ccHit{})
		}
		es = es[n:]
	}
}

// eventsMerged is Events with the merged table: the source addresses of
// a batch are looked up in it together (iptable.LookupAll).
func (x *Enricher) eventsMerged(t *iptable.Table, es []*event.Event) {
	var (
		addrs   [batchSize]netip.Addr
		answers [batchSize]iptable.Answer
		owners  [batchSize]index.Hit
		ases    [batchSize]asn.Hit
	)
	for len(es) > 0 {
		n := min(len(es), batchSize)
		for i, e := range es[:n] {
			addrs[i] = e.Source.IP
		}
		t.LookupAll(addrs[:n], answers[:n])
		for i, e := range es[:n] {
			var (
				pre prelooked
				cc  ccHit
			)
			if a := addrs[i]; a.Is4() || a.Is4In6() {
				pre, cc = x.fromAnswer(t, &answers[i], &owners[i], &ases[i])
			}
			x.endpoint(e, &e.Source, &sourceKeys, pre, cc)
			x.endpoint(e, &e.Destination, &destinationKeys, prelooked{}, ccHit{})
		}
		es = es[n:]
	}
}

// fromAnswer returns what ans, from the merged table t, tells of an
// address, keeping its owner and AS in owner and as.
func (x *Enricher) fromAnswer(t *iptable.Table, ans *iptable.Answer, owner *index.Hit, as *asn.Hit) (prelooked, ccHit) {
	*owner, *as = ans.Owner(), ans.AS()
	var cc ccHit
	if t.Countries() {
		cc.cc, cc.ok = ans.Country()
		cc.looked = true
	}
	return prelooked{owner: owner, asn: as}, cc
}

// prelooked holds what Events looked up already of an endpoint's
// address; a nil field was not.
type prelooked struct {
	owner *index.Hit
	asn   *asn.Hit
}

// ccHit is geo.DB.Country's answer, if looked up. It is apart from
// prelooked: escape analysis does not tell a struct's fields apart, and a
// country code, which goes into an event, would take the hits with it to
// the heap.
type ccHit struct {
	cc     string
	ok     bool
	looked bool
}

// endpoint enriches one endpoint, with what was looked up already of its
// address.
func (x *Enricher) endpoint(e *event.Event, p *event.Endpoint, k *keys, pre prelooked, cc ccHit) {
	var (
		owner index.Hit
		as    asn.Hit
	)
	if t := x.merged(); t != nil && pre == (prelooked{}) {
		if ans, ok := t.Lookup(p.IP); ok {
			pre, cc = x.fromAnswer(t, &ans, &owner, &as)
		}
	}
	if p.IP.IsValid() {
		x.ip(e, p, k, pre.asn, cc)
	}
	host := p.FQDN
	if host == "" && p.URL != "" {
		host = urlHost(p.URL)
	}
	if x.Owners != nil {
		x.owner(e, p, k, host, pre.owner)
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

func (x *Enricher) ip(e *event.Event, p *event.Endpoint, k *keys, pre *asn.Hit, preCC ccHit) {
	// Private, loopback, link-local and other non-global addresses are in
	// no routing table and in no country (some geo files say otherwise).
	if !p.IP.Unmap().IsGlobalUnicast() || p.IP.Unmap().IsPrivate() {
		return
	}
	if x.ASN != nil {
		var h asn.Hit
		if pre != nil {
			h = *pre
		} else {
			h.Result, h.OK = x.ASN.Lookup(p.IP)
		}
		if r, ok := h.Result, h.OK; ok {
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
		var (
			cc  string
			ok  bool
			err error
		)
		if preCC.looked {
			cc, ok = preCC.cc, preCC.ok
		} else {
			cc, ok, err = x.Geo.Country(p.IP)
		}
		if err == nil && ok {
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
	org, _, ok = x.OwnerAndDomain(p, host)
	return org, ok
}

// OwnerAndDomain is Owner that also returns the organisation's domain
// asset host is under, when the endpoint was found by its domain ("" when
// by address or AS number).
func (x *Enricher) OwnerAndDomain(p *event.Endpoint, host string) (org index.OrgRef, domain string, ok bool) {
	if x.Owners == nil {
		return index.NoOrg, "", false
	}
	if p.IP.IsValid() {
		if org, ok = x.ownerOfIP(p.IP); ok {
			return org, "", true
		}
	}
	if p.ASN != 0 {
		if org, ok = x.Owners.OwnerOfASN(p.ASN); ok {
			return org, "", true
		}
	}
	if host != "" {
		if org, domain, ok = x.Owners.OwnerOfDomain(host); ok {
			return org, domain, true
		}
	}
	return index.NoOrg, "", false
}

// ownerOfIP is Owners.OwnerOfIP's organisation, from the merged table
// for IPv4.
func (x *Enricher) ownerOfIP(a netip.Addr) (index.OrgRef, bool) {
	if t := x.merged(); t != nil {
		if ans, ok := t.Lookup(a); ok {
			return ans.Org()
		}
	}
	org, _, ok := x.Owners.OwnerOfIP(a)
	return org, ok
}

// owner records the endpoint's organisation (extra.source.org) and its best
// contact (source.abuse_contact, IntelMQ's field), unless the feed named a
// contact already.
func (x *Enricher) owner(e *event.Event, p *event.Endpoint, k *keys, host string, byIP *index.Hit) {
	var (
		org    index.OrgRef
		domain string
		ok     bool
	)
	if byIP != nil && byIP.OK {
		org, ok = byIP.Org, true
	} else {
		q := p
		if byIP != nil {
			// Not found by address: by AS number or domain.
			q = &event.Endpoint{ASN: p.ASN}
		}
		org, domain, ok = x.OwnerAndDomain(q, host)
	}
	if !ok {
		return
	}
	e.SetExtra(k.org, x.orgID(org))
	if p.AbuseContact == "" {
		p.AbuseContact = x.Contact(org, domain)
	}
}

// The contact chain of an organisation, best first:
//
//  1. its registered mailboxes (manual), then the RIPE abuse-c (ripe),
//     then contacts registered with source security.txt;
//  2. the first e-mail address of the security.txt of its domains, as
//     fetched before (SecurityTxt; a file past its Expires is not used);
//  3. abuse@ each of its domains (RFC 2142, the last resort);
//  4. registered contacts of any other source.
//
// The domains are the organisation's own domain assets (index.Domains),
// never a domain taken from the event: an event's host name says where
// something was seen, not who answers for it, and a security.txt found
// there could send a report to whoever put the host up. When the owner
// was found by a domain, that domain comes first.

// Contact returns the best contact of org (see the chain above), "" when
// it has none. domain, when not "", is the domain asset of org the event
// was found by. It does not allocate.
func (x *Enricher) Contact(org index.OrgRef, domain string) string {
	cs := x.Owners.Contacts(org)
	if len(cs) > 0 && early(cs[0].Source) {
		return cs[0].Email
	}
	domains, abuse := x.Owners.Domains(org), x.Owners.AbuseAddrs(org)
	if x.SecurityTxt != nil && len(domains) > 0 {
		now := x.now()
		if domain != "" {
			if c, ok := x.SecurityTxt.Contact(domain, now); ok {
				return c
			}
		}
		for _, d := range domains {
			if c, ok := x.SecurityTxt.Contact(d, now); ok {
				return c
			}
		}
	}
	if len(cs) > 0 && cs[0].Source == constituency.SourceRFC2142 {
		return cs[0].Email
	}
	for i, d := range domains {
		if d == domain {
			return abuse[i]
		}
	}
	if len(abuse) > 0 {
		return abuse[0]
	}
	if len(cs) > 0 {
		return cs[0].Email
	}
	return ""
}

// Contacts returns the whole contact chain of org (see above), each
// address once with its best source; domain is as for Contact. The
// result is the caller's.
func (x *Enricher) Contacts(org index.OrgRef, domain string) []constituency.Contact {
	var out []constituency.Contact
	add := func(c constituency.Contact) {
		for _, have := range out {
			if strings.EqualFold(have.Email, c.Email) {
				return
			}
		}
		out = append(out, c)
	}
	cs := x.Owners.Contacts(org)
	id := x.Owners.Org(org).ID
	for _, c := range cs {
		if early(c.Source) {
			add(c)
		}
	}
	domains := x.Owners.Domains(org)
	if domain != "" {
		domains = append([]string{domain}, domains...)
	}
	if x.SecurityTxt != nil {
		now := x.now()
		for _, d := range domains {
			if e, ok := x.SecurityTxt.Get(d); ok && e.Usable(now) {
				for _, email := range e.Contacts {
					add(constituency.Contact{Org: id, Email: email, Role: "security", Source: constituency.SourceSecurityTxt})
				}
			}
		}
	}
	for _, c := range cs {
		if c.Source == constituency.SourceRFC2142 {
			add(c)
		}
	}
	for _, d := range domains {
		c := index.RFC2142(d)
		c.Org = id
		add(c)
	}
	for _, c := range cs {
		if !early(c.Source) && c.Source != constituency.SourceRFC2142 {
			add(c)
		}
	}
	return out
}

// early reports the sources that come before security.txt files fetched
// by tocsin.
func early(s constituency.Source) bool {
	return s == constituency.SourceManual || s == constituency.SourceRIPE || s == constituency.SourceSecurityTxt
}

func (x *Enricher) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
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
