// Package index is the in-memory owner index: for an IP address, an AS
// number or a domain name it answers which organisation of the
// constituency owns it, and whom to tell. Every event and every
// `tocsin lookup` goes through it. The IP lookup does not allocate; with
// a million assets loaded it takes about 25 ns for addresses that come in
// order and 100-130 ns for random ones, mostly waiting for memory
// (README.md has the figures).
//
// An Index is built once from the registry (a Builder takes organisations,
// assets and contacts one at a time, so a caller can stream them from a
// store) and is then read-only: safe for any number of goroutines. To
// pick up changes, build a new Index and swap it in (an atomic.Pointer).
//
// Which asset wins:
//
//   - Only confirmed assets count; unconfirmed ones never receive events.
//   - IP addresses: the longest matching prefix, over IPv4 and IPv6.
//     IPv4-mapped IPv6 addresses (::ffff:192.0.2.1) and prefixes
//     (::ffff:192.0.2.0/120) are IPv4. IPv6 prefixes shorter than /96, such
//     as ::/0, do not cover IPv4 addresses.
//   - Domains: the longest registered suffix on label boundaries;
//     example.se covers www.example.se but not badexample.se.
//   - At equal prefix (or the same AS number or domain) a manual asset wins
//     over an imported one (constituency.Source order: manual, ripe, then
//     anything else), and between two of the same source the organisation
//     with the lowest ID (byte-wise string order) wins, so the result never
//     depends on the order assets were added.
package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tocsin/tocsin/internal/constituency"
)

// OrgRef names an organisation inside one Index: its position in the
// Index's organisations, sorted by ID. It is only meaningful for the Index
// that returned it. NoOrg is returned when nothing matched.
type OrgRef int32

// NoOrg is the OrgRef of no organisation.
const NoOrg OrgRef = -1

// maxOrgs is how many organisations an Index holds: an IP range entry packs
// the organisation and the prefix length into 32 bits.
const maxOrgs = 1<<24 - 2

// Errors returned by the Builder. They are wrapped with the offending value.
var (
	ErrInvalidOrg   = errors.New("invalid organisation")
	ErrInvalidAsset = errors.New("invalid asset")
	ErrDuplicateOrg = errors.New("organisation added twice")
	ErrUnknownOrg   = errors.New("unknown organisation")
	ErrTooManyOrgs  = errors.New("too many organisations")
	ErrBuilt        = errors.New("builder already built")
)

// Index is the read-only owner index. The zero value is an empty index.
type Index struct {
	orgs    []constituency.Org
	byID    map[string]OrgRef
	v4      table4
	v6      table6
	asn     map[uint32]OrgRef
	domains map[string]OrgRef

	contacts     []constituency.Contact // grouped by organisation, best first
	contactStart []int32                // contacts of org i: [contactStart[i], contactStart[i+1])

	// The domains each organisation won, grouped by organisation, and
	// abuse@ of each (RFC 2142); the domain is the address's tail.
	orgDomains  []string
	orgAbuse    []string
	domainStart []int32

	// The network assets that won their prefix, by start then length,
	// for questions about whole prefixes (prefix.go).
	nets4 []asset4
	nets6 []asset6

	stats Stats
}

// Stats describes what went into an Index.
type Stats struct {
	Orgs        int
	Networks    int // confirmed network assets added (IPv4 + IPv6)
	ASNs        int // confirmed AS number assets added
	Domains     int // confirmed domain assets added
	Unconfirmed int // assets skipped because they are not confirmed
	Superseded  int // assets that lost to another on the same prefix, AS number or domain
	Contacts    int // contacts kept after deduplication
	Duplicate   int // contacts dropped: same address as a better or earlier one
	NoAddress   int // contacts skipped: no address
	IPv4Ranges  int // entries of the flattened IPv4 range table
	IPv6Ranges  int // entries of the flattened IPv6 range table
}

// Stats returns counts of what the Index was built from.
func (ix *Index) Stats() Stats { return ix.stats }

// NumOrgs returns the number of organisations; valid OrgRefs are 0 to
// NumOrgs()-1.
func (ix *Index) NumOrgs() int { return len(ix.orgs) }

// Org returns the organisation r names, or nil if r is not valid. The
// result points into the Index and must not be modified.
func (ix *Index) Org(r OrgRef) *constituency.Org {
	if r < 0 || int(r) >= len(ix.orgs) {
		return nil
	}
	return &ix.orgs[r]
}

// OrgByID returns the OrgRef of the organisation with ID id.
func (ix *Index) OrgByID(id string) (OrgRef, bool) {
	r, ok := ix.byID[id]
	if !ok {
		return NoOrg, false
	}
	return r, true
}

// OwnerOfASN returns the organisation holding AS number asn.
func (ix *Index) OwnerOfASN(asn uint32) (OrgRef, bool) {
	r, ok := ix.asn[asn]
	if !ok {
		return NoOrg, false
	}
	return r, true
}

// OwnerOfDomain returns the organisation holding the longest registered
// suffix of name on label boundaries, and that suffix in normalised form
// (see NormalizeDomain). It does not allocate when name is already
// normalised (but for a final dot).
func (ix *Index) OwnerOfDomain(name string) (org OrgRef, domain string, ok bool) {
	if len(ix.domains) == 0 {
		return NoOrg, "", false
	}
	n, ok := normalizeLookup(name)
	if !ok {
		return NoOrg, "", false
	}
	for s := n; ; {
		if r, ok := ix.domains[s]; ok {
			return r, s, true
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return NoOrg, "", false
		}
		s = s[i+1:]
	}
}

// Contacts returns the contacts of org in order of preference: registered
// mailbox (manual), RIPE abuse-c (ripe), security.txt, RFC 2142, then any
// other source; within one source, in the order they were added. Each
// address appears once, with its best source (addresses are compared
// without regard to case). The slice belongs to the Index: do not modify
// it (appending to it copies). It is empty if org has no contact; add
// RFC2142(domain) as the last resort when the domain is known.
func (ix *Index) Contacts(org OrgRef) []constituency.Contact {
	if org < 0 || int(org) >= len(ix.orgs) {
		return nil
	}
	lo, hi := ix.contactStart[org], ix.contactStart[org+1]
	return ix.contacts[lo:hi:hi]
}

// Domains returns the domains org holds, those it won (see the package
// doc), in normalised form, parents before their subdomains then in byte
// order. The slice belongs to the Index: do not modify it.
func (ix *Index) Domains(org OrgRef) []string {
	if org < 0 || int(org) >= len(ix.orgs) {
		return nil
	}
	lo, hi := ix.domainStart[org], ix.domainStart[org+1]
	return ix.orgDomains[lo:hi:hi]
}

// AbuseAddrs returns abuse@ of each of Domains(org), in the same order:
// the RFC 2142 mailboxes, kept so that the last resort of the contact
// chain costs no allocation. The slice belongs to the Index.
func (ix *Index) AbuseAddrs(org OrgRef) []string {
	if org < 0 || int(org) >= len(ix.orgs) {
		return nil
	}
	lo, hi := ix.domainStart[org], ix.domainStart[org+1]
	return ix.orgAbuse[lo:hi:hi]
}

// abusePrefix makes the RFC 2142 address of a domain.
const abusePrefix = "abuse@"

// buildDomains makes the domain map and groups the domains by
// organisation, from the winners keyed by abusePrefix+domain.
func (ix *Index) buildDomains(abuse map[string]OrgRef) {
	type od struct {
		org      OrgRef
		d, abuse string // d is abuse's tail
	}
	all := make([]od, 0, len(abuse))
	ix.domains = make(map[string]OrgRef, len(abuse))
	for a, org := range abuse {
		d := a[len(abusePrefix):]
		ix.domains[d] = org
		all = append(all, od{org, d, a})
	}
	slices.SortFunc(all, func(x, y od) int {
		if x.org != y.org {
			return int(x.org - y.org)
		}
		if n, m := strings.Count(x.d, "."), strings.Count(y.d, "."); n != m {
			return n - m
		}
		return strings.Compare(x.d, y.d)
	})
	ix.domainStart = make([]int32, len(ix.orgs)+1)
	ix.orgDomains = make([]string, len(all))
	ix.orgAbuse = make([]string, len(all))
	j := 0
	for org := range ix.orgs {
		ix.domainStart[org] = int32(j)
		for ; j < len(all) && all[j].org == OrgRef(org); j++ {
			ix.orgDomains[j], ix.orgAbuse[j] = all[j].d, all[j].abuse
		}
	}
	ix.domainStart[len(ix.orgs)] = int32(j)
}

// RFC2142 returns abuse@domain (RFC 2142 section 4) as a contact with
// source rfc2142, the last resort when no better contact is known. domain
// should be the registrable domain (example.se, not www.example.se); it is
// normalised with NormalizeDomain. Email is empty if domain is not a valid
// name. Org is left empty for the caller to fill.
func RFC2142(domain string) constituency.Contact {
	c := constituency.Contact{Role: "abuse", Source: constituency.SourceRFC2142}
	if d, err := NormalizeDomain(domain); err == nil {
		c.Email = "abuse@" + d
	}
	return c
}

// sourceRank orders sources for assets and contacts: lower is better.
func sourceRank(s constituency.Source) uint8 {
	switch s {
	case constituency.SourceManual:
		return 0
	case constituency.SourceRIPE:
		return 1
	case constituency.SourceSecurityTxt:
		return 2
	case constituency.SourceRFC2142:
		return 3
	}
	return 4
}

// Builder collects organisations, assets and contacts for an Index. Add
// them in any order (an asset may name an organisation added later), then
// call Build once. A Builder is not safe for concurrent use.
type Builder struct {
	orgs    []constituency.Org // by provisional ref (order of first mention)
	defined []bool             // orgs[i] was added, not only referenced
	byID    map[string]int32

	nets     []netItem
	asns     []keyItem[uint32]
	domains  []keyItem[string]
	contacts []contactItem

	stats Stats
	built bool
}

// netItem is a network asset: start address as 128 bits (IPv4 in the low
// 32 bits of lo) and prefix length.
type netItem struct {
	hi, lo uint64
	org    int32
	bits   uint8
	rank   uint8
	v6     bool
}

type keyItem[K comparable] struct {
	key  K
	org  int32
	rank uint8
}

type contactItem struct {
	org  int32
	rank uint8
	c    constituency.Contact
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{byID: make(map[string]int32)}
}

// ref returns the provisional ref of organisation id, creating a
// placeholder if the organisation has not been seen.
func (b *Builder) ref(id string) int32 {
	if r, ok := b.byID[id]; ok {
		return r
	}
	r := int32(len(b.orgs))
	b.byID[id] = r
	b.orgs = append(b.orgs, constituency.Org{ID: id})
	b.defined = append(b.defined, false)
	return r
}

// AddOrg adds an organisation. Its ID must be unique.
func (b *Builder) AddOrg(o constituency.Org) error {
	if b.built {
		return ErrBuilt
	}
	if o.ID == "" {
		return fmt.Errorf("%w %q: empty ID", ErrInvalidOrg, o.Name)
	}
	r := b.ref(o.ID)
	if b.defined[r] {
		return fmt.Errorf("%w: %s", ErrDuplicateOrg, o.ID)
	}
	b.orgs[r], b.defined[r] = o, true
	return nil
}

// AddAsset adds an asset. Unconfirmed assets are counted and skipped. An
// asset whose prefix, AS number or domain is not valid is an error wrapping
// ErrInvalidAsset; the Builder is unchanged and the caller may go on.
func (b *Builder) AddAsset(a constituency.Asset) error {
	if b.built {
		return ErrBuilt
	}
	if !a.Confirmed {
		b.stats.Unconfirmed++
		return nil
	}
	if a.Org == "" {
		return fmt.Errorf("%w: %s asset %q has no organisation", ErrInvalidAsset, a.Kind, a.Name)
	}
	rank := sourceRank(a.Source)
	switch a.Kind {
	case constituency.AssetNetwork:
		it, ok := netItemOf(a.Prefix)
		if !ok {
			return fmt.Errorf("%w: network %q of %s: not a valid prefix", ErrInvalidAsset, a.Prefix, a.Org)
		}
		it.org, it.rank = b.ref(a.Org), rank
		b.nets = append(b.nets, it)
		b.stats.Networks++
	case constituency.AssetASN:
		if a.ASN == 0 {
			return fmt.Errorf("%w: AS number 0 of %s", ErrInvalidAsset, a.Org)
		}
		b.asns = append(b.asns, keyItem[uint32]{a.ASN, b.ref(a.Org), rank})
		b.stats.ASNs++
	case constituency.AssetDomain:
		d, err := NormalizeDomain(a.Domain)
		if err != nil {
			return fmt.Errorf("%w: domain of %s: %w", ErrInvalidAsset, a.Org, err)
		}
		// The key is abuse@domain: the Index keeps the RFC 2142 address
		// of every domain, and the domain as its tail, in one string.
		b.domains = append(b.domains, keyItem[string]{abusePrefix + d, b.ref(a.Org), rank})
		b.stats.Domains++
	default:
		return fmt.Errorf("%w: unknown kind %q (asset %q of %s)", ErrInvalidAsset, a.Kind, a.Name, a.Org)
	}
	return nil
}

// AddContact adds a contact. A contact without an address is skipped.
func (b *Builder) AddContact(c constituency.Contact) error {
	if b.built {
		return ErrBuilt
	}
	if c.Org == "" {
		return fmt.Errorf("%w: contact %q has no organisation", ErrUnknownOrg, c.Email)
	}
	if strings.TrimSpace(c.Email) == "" {
		b.stats.NoAddress++
		return nil
	}
	b.contacts = append(b.contacts, contactItem{b.ref(c.Org), sourceRank(c.Source), c})
	return nil
}

// Build returns the Index. It fails, wrapping ErrUnknownOrg, if an asset or
// contact names an organisation that was never added. The Builder cannot
// be used afterwards.
func (b *Builder) Build() (*Index, error) {
	if b.built {
		return nil, ErrBuilt
	}
	b.built = true

	// Number organisations in ID order, so that "lowest ID wins" is
	// "lowest ref wins" and refs do not depend on the order of adding.
	n := len(b.orgs)
	if n > maxOrgs {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyOrgs, n, maxOrgs)
	}
	var missing []string
	for i, d := range b.defined {
		if !d {
			missing = append(missing, b.orgs[i].ID)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		more := ""
		if len(missing) > 3 {
			more = fmt.Sprintf(" and %d more", len(missing)-3)
			missing = missing[:3]
		}
		return nil, fmt.Errorf("%w: assets or contacts name %s%s", ErrUnknownOrg, strings.Join(missing, ", "), more)
	}
	order := make([]int32, n) // new ref -> provisional ref
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(b.orgs[x].ID, b.orgs[y].ID) })
	remap := make([]int32, n) // provisional -> new
	ix := &Index{
		orgs: make([]constituency.Org, n),
		byID: make(map[string]OrgRef, n),
	}
	for newRef, old := range order {
		remap[old] = int32(newRef)
		ix.orgs[newRef] = b.orgs[old]
		ix.byID[b.orgs[old].ID] = OrgRef(newRef)
	}
	b.orgs, b.defined, b.byID = nil, nil, nil

	ix.stats = b.stats
	ix.stats.Orgs = n

	// IP ranges: IPv4 items sort before IPv6 ones.
	for i := range b.nets {
		b.nets[i].org = remap[b.nets[i].org]
	}
	slices.SortFunc(b.nets, compareNet)
	split := slices.IndexFunc(b.nets, func(it netItem) bool { return it.v6 })
	if split < 0 {
		split = len(b.nets)
	}
	var sup int
	ix.v4, sup = buildTable4(b.nets[:split])
	ix.stats.Superseded += sup
	ix.v6, sup = buildTable6(b.nets[split:])
	ix.stats.Superseded += sup
	ix.nets4, ix.nets6 = assetTables(b.nets[:split], b.nets[split:])
	b.nets = nil
	ix.stats.IPv4Ranges = len(ix.v4.spans)
	ix.stats.IPv6Ranges = len(ix.v6.spans)

	// AS numbers and domains: one winner per key.
	ix.asn, sup = winners(b.asns, remap)
	ix.stats.Superseded += sup
	abuse, sup := winners(b.domains, remap)
	ix.stats.Superseded += sup
	ix.buildDomains(abuse)
	b.asns, b.domains = nil, nil

	ix.buildContacts(b.contacts, remap)
	b.contacts = nil
	return ix, nil
}

// Build is a shortcut for a Builder fed from slices. It stops at the first
// invalid asset or duplicate organisation.
func Build(orgs []constituency.Org, assets []constituency.Asset, contacts []constituency.Contact) (*Index, error) {
	b := NewBuilder()
	for _, o := range orgs {
		if err := b.AddOrg(o); err != nil {
			return nil, err
		}
	}
	for _, a := range assets {
		if err := b.AddAsset(a); err != nil {
			return nil, err
		}
	}
	for _, c := range contacts {
		if err := b.AddContact(c); err != nil {
			return nil, err
		}
	}
	return b.Build()
}

// winners keeps the best item of each key: lowest rank, then lowest org.
// It returns the number of items that lost.
func winners[K comparable](items []keyItem[K], remap []int32) (map[K]OrgRef, int) {
	type win struct {
		org  int32
		rank uint8
	}
	best := make(map[K]win, len(items))
	for _, it := range items {
		w := win{remap[it.org], it.rank}
		cur, ok := best[it.key]
		if !ok || w.rank < cur.rank || (w.rank == cur.rank && w.org < cur.org) {
			best[it.key] = w
		}
	}
	m := make(map[K]OrgRef, len(best))
	for k, w := range best {
		m[k] = OrgRef(w.org)
	}
	return m, len(items) - len(best)
}

func (ix *Index) buildContacts(items []contactItem, remap []int32) {
	for i := range items {
		items[i].org = remap[items[i].org]
	}
	slices.SortStableFunc(items, func(x, y contactItem) int {
		if x.org != y.org {
			return int(x.org - y.org)
		}
		return int(x.rank) - int(y.rank)
	})
	ix.contactStart = make([]int32, len(ix.orgs)+1)
	ix.contacts = make([]constituency.Contact, 0, len(items))
	seen := make(map[string]struct{})
	j := 0
	for org := range ix.orgs {
		ix.contactStart[org] = int32(len(ix.contacts))
		clear(seen)
		for ; j < len(items) && items[j].org == int32(org); j++ {
			c := items[j].c
			c.Org = ix.orgs[org].ID
			key := strings.ToLower(strings.TrimSpace(c.Email))
			if _, dup := seen[key]; dup {
				ix.stats.Duplicate++
				continue
			}
			seen[key] = struct{}{}
			ix.contacts = append(ix.contacts, c)
		}
	}
	ix.contactStart[len(ix.orgs)] = int32(len(ix.contacts))
	ix.contacts = slices.Clip(ix.contacts)
	ix.stats.Contacts = len(ix.contacts)
}

// netItemOf converts a prefix to a netItem, IPv4-mapped prefixes to IPv4.
func netItemOf(p netip.Prefix) (netItem, bool) {
	if !p.IsValid() {
		return netItem{}, false
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	p, err := a.WithZone("").Prefix(bits)
	if err != nil {
		return netItem{}, false
	}
	a = p.Addr()
	if a.Is4() {
		b := a.As4()
		return netItem{lo: uint64(binary.BigEndian.Uint32(b[:])), bits: uint8(bits)}, true
	}
	b := a.As16()
	return netItem{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), bits: uint8(bits), v6: true}, true
}

// compareNet orders network items: IPv4 before IPv6, then by start, then
// shorter prefix first, then the winner of a tie first.
func compareNet(x, y netItem) int {
	switch {
	case x.v6 != y.v6:
		if x.v6 {
			return 1
		}
		return -1
	case x.hi != y.hi:
		return cmp64(x.hi, y.hi)
	case x.lo != y.lo:
		return cmp64(x.lo, y.lo)
	case x.bits != y.bits:
		return int(x.bits) - int(y.bits)
	case x.rank != y.rank:
		return int(x.rank) - int(y.rank)
	}
	return int(x.org - y.org)
}

func cmp64(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}
