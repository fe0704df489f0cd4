package ripe

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/constituency"
)

// importer holds what the first pass learns and what the second has given
// out. Its memory grows with the organisations and abuse mailboxes of the
// dump and the organisations given out, not with the resources: a resource
// is resolved from the Reader's buffer and given out at once, and the hot
// path allocates little more than each Asset's name.
type importer struct {
	opts      Options
	out       Output
	countries map[string]bool

	orgs      map[string]*orgRec  // organisation handle (upper case)
	mailboxes map[string][]string // role/person/irt/POC handle → addresses; empty: none usable
	made      map[string]*madeOrg // organisations made for resources without one, by ID
	codes     map[string]string   // country codes, interned
	deferred  []resource          // aut-nums waiting to know their organisation's networks
	counts    map[string]*classCounts

	sum  *Summary
	file string // the input being read

	// Reused for every resource.
	prefixes   []netip.Prefix
	abuseC     [][]byte
	irts       [][]byte
	idBuf      []byte
	countryBuf []string
}

// orgRec is an organisation: read in the first pass, or only referred to.
type orgRec struct {
	id            string // "ripe:" + handle
	name, country string
	abuseC        []string // handles
	mailboxes     []string // the organisation's own abuse-mailbox (older objects)
	found         bool     // an organisation object was read
	given         bool     // given to Output
	sent          []string // addresses given as its contacts
	hasNetwork    bool     // holds a network given to Output
}

// madeOrg is an organisation made for resources without one.
type madeOrg struct {
	id   string
	sent []string
}

// object handles one object read in a pass.
func (im *importer) object(o *Object) error {
	class := o.NameBytes(0)
	cc := im.classCountBytes(class)
	cc.read++
	switch {
	case contactClasses[string(class)]:
		im.contactObject(o)
	case resourceClasses[string(class)]:
		r, ok := im.extract(o)
		if !ok {
			cc.rejected++
			return nil
		}
		return im.resource(&r)
	default:
		cc.ignored++
		if !otherClasses[string(class)] {
			im.problem(Problem{File: im.file, Line: o.Line(), Class: string(class), Key: o.Key(),
				Reason: fmt.Sprintf("unknown object class %q: an empty line inside an object, or a class this importer does not know", class), Skipped: true})
		}
	}
	return nil
}

func (im *importer) p(o *Object, line int, reason string, skipped bool) {
	im.problem(Problem{File: im.file, Line: line, Class: o.Class(), Key: o.Key(), Reason: reason, Skipped: skipped})
}

// contactObject records an organisation or a holder of abuse mailboxes.
func (im *importer) contactObject(o *Object) {
	class := string(o.NameBytes(0))
	switch class {
	case "organisation", "orgid":
		key := handle(o.ValueBytes(0))
		if key == "" {
			im.p(o, o.Line(), "no organisation handle", true)
			return
		}
		rec := im.orgs[key]
		if rec == nil {
			rec = &orgRec{id: "ripe:" + key}
			im.orgs[key] = rec
		} else if rec.found {
			im.p(o, o.Line(), "a second organisation with this handle: the first one is kept", true)
			return
		}
		rec.found = true
		for i := 1; i < o.Len(); i++ {
			v := o.ValueBytes(i)
			switch string(o.NameBytes(i)) {
			case "org-name", "orgname":
				if rec.name == "" {
					rec.name = text(v)
				}
			case "country":
				if rec.country == "" && len(v) > 0 {
					if c, ok := im.country(v); ok {
						rec.country = c
					} else {
						im.p(o, o.AttrLine(i), fmt.Sprintf("country %q is not a two-letter code", v), false)
					}
				}
			case "abuse-c", "orgabusehandle":
				for _, h := range handles(nil, v) {
					rec.abuseC = append(rec.abuseC, string(h))
				}
			case "abuse-mailbox":
				rec.mailboxes = append(rec.mailboxes, im.mailbox(o, i)...)
			}
		}
	case "role", "person", "irt", "pochandle":
		var key string
		var addrs []string
		seen := false
		if class == "irt" || class == "pochandle" {
			key = handle(o.ValueBytes(0))
		}
		for i := 1; i < o.Len(); i++ {
			switch string(o.NameBytes(i)) {
			case "nic-hdl":
				if key == "" {
					key = handle(o.ValueBytes(i))
				}
			case "abuse-mailbox":
				seen = true
				addrs = append(addrs, im.mailbox(o, i)...)
			case "mailbox":
				if class == "pochandle" {
					seen = true
					addrs = append(addrs, im.mailbox(o, i)...)
				}
			}
		}
		if !seen {
			return // most persons and roles: nothing to remember
		}
		if key == "" {
			im.p(o, o.Line(), "abuse-mailbox on an object without nic-hdl: nothing can refer to it", true)
			return
		}
		if _, dup := im.mailboxes[key]; dup {
			im.p(o, o.Line(), fmt.Sprintf("a second object with the handle %s: the first one is kept", key), true)
			return
		}
		if len(addrs) == 0 {
			addrs = []string{} // known, but nothing usable
		}
		im.mailboxes[key] = addrs
	}
}

// mailbox parses the i-th attribute of o as abuse mailboxes and reports
// what is not an address.
func (im *importer) mailbox(o *Object, i int) []string {
	addrs, bad := ParseMailboxes(string(o.ValueBytes(i)))
	for _, b := range bad {
		im.p(o, o.AttrLine(i), fmt.Sprintf("%s %q: %s", o.NameBytes(i), b.Text, b.Reason), false)
	}
	if len(addrs) == 0 && len(bad) == 0 {
		im.p(o, o.AttrLine(i), fmt.Sprintf("%s is empty", o.NameBytes(i)), false)
	}
	return addrs
}

// resource is what the importer needs of an inetnum, inet6num or aut-num
// (or ARIN net or AS number). Its byte slices point into the Reader's
// buffer, upper-cased in place where they are handles: keep reports a
// copy.
type resource struct {
	line      int
	file      string
	class     string         // a constant
	objKey    []byte         // the object's key
	key       []byte         // its network or AS number
	prefixes  []netip.Prefix // nil for an AS number
	asn       uint32
	countries []string // interned
	org       []byte   // handle of org:, or ID of LACNIC's ownerid:
	inlineOrg bool     // org is LACNIC's ownerid: there is no object for it
	owner     []byte   // LACNIC's owner:
	name      []byte   // netname or as-name
	mnt       []byte   // first mnt-by
	abuseC    [][]byte
	irt       [][]byte
}

// keep returns a copy of r that does not point into buffers.
func (r *resource) keep() resource {
	c := *r
	c.objKey, c.key, c.org, c.owner, c.name, c.mnt = bytes.Clone(r.objKey), bytes.Clone(r.key), bytes.Clone(r.org), bytes.Clone(r.owner), bytes.Clone(r.name), bytes.Clone(r.mnt)
	c.prefixes = slices.Clone(r.prefixes)
	c.countries = slices.Clone(r.countries)
	c.abuseC, c.irt = nil, nil
	for _, h := range r.abuseC {
		c.abuseC = append(c.abuseC, bytes.Clone(h))
	}
	for _, h := range r.irt {
		c.irt = append(c.irt, bytes.Clone(h))
	}
	return c
}

var classNames = map[string]string{
	"inetnum": "inetnum", "inet6num": "inet6num", "aut-num": "aut-num",
	"nethandle": "nethandle", "v6nethandle": "v6nethandle", "ashandle": "ashandle",
}

// extract reads a resource object, or reports why it cannot be imported.
func (im *importer) extract(o *Object) (resource, bool) {
	r := resource{line: o.Line(), file: im.file, class: classNames[string(o.NameBytes(0))], objKey: o.ValueBytes(0)}
	isASN := r.class == "aut-num" || r.class == "ashandle"
	switch r.class {
	case "inetnum", "inet6num", "aut-num":
		r.key = o.ValueBytes(0)
	}
	r.countries = im.countryBuf[:0]
	im.abuseC, im.irts = im.abuseC[:0], im.irts[:0]
	keys := 0
	for i := 1; i < o.Len(); i++ {
		name, v := o.NameBytes(i), o.ValueBytes(i)
		switch string(name) {
		case r.class:
			keys++
		case "netrange", "asnumber":
			if r.key == nil {
				r.key = v
			}
		case "country":
			if len(v) == 0 {
				continue
			}
			if c, ok := im.country(v); ok {
				r.countries = append(r.countries, c)
			} else {
				im.p(o, o.AttrLine(i), fmt.Sprintf("country %q is not a two-letter code", v), false)
			}
		case "org", "orgid":
			if r.org == nil {
				r.org = upper(bytes.TrimSpace(v))
			}
		case "ownerid":
			if r.org == nil {
				r.org, r.inlineOrg = upper(bytes.TrimSpace(v)), true
			}
		case "owner":
			if r.owner == nil {
				r.owner = v
			}
		case "netname", "as-name", "asname":
			if r.name == nil {
				r.name = v
			}
		case "mnt-by":
			if r.mnt == nil {
				r.mnt, _, _ = bytes.Cut(upper(v), []byte(","))
				r.mnt = bytes.TrimSpace(r.mnt)
			}
		case "abuse-c":
			im.abuseC = handles(im.abuseC, v)
		case "mnt-irt":
			im.irts = handles(im.irts, v)
		}
	}
	r.abuseC, r.irt = im.abuseC, im.irts
	im.countryBuf = r.countries[:0]
	if keys > 0 {
		im.p(o, o.Line(), fmt.Sprintf("%d more %s attributes: two objects without an empty line between them?", keys, r.class), true)
		return r, false
	}
	if r.key == nil {
		im.p(o, o.Line(), "no NetRange or ASNumber", true)
		return r, false
	}
	var err error
	if isASN {
		r.asn, err = parseASNKey(string(r.key))
	} else {
		im.prefixes, err = appendNetwork(im.prefixes[:0], r.key)
		r.prefixes = im.prefixes
	}
	if err != nil {
		im.p(o, o.Line(), err.Error(), true)
		return r, false
	}
	return r, true
}

// appendNetwork appends the prefixes of a network key.
func appendNetwork(dst []netip.Prefix, key []byte) ([]netip.Prefix, error) {
	// The common case, "a.b.c.d - e.f.g.h", without allocating.
	if a, b, ok := bytes.Cut(key, []byte("-")); ok && bytes.IndexByte(key, ':') < 0 {
		first, err1 := parseIPv4(bytes.TrimSpace(a))
		last, err2 := parseIPv4(bytes.TrimSpace(b))
		if err1 == nil && err2 == nil {
			return AppendRangePrefixes(dst, first, last)
		}
	}
	ps, err := ParseNetwork(string(key))
	return append(dst, ps...), err
}

// parseASNKey parses an aut-num key or ARIN's ASNumber, which may be a
// range of one ("1 - 1").
func parseASNKey(s string) (uint32, error) {
	asn, err := ParseASN(s)
	if err == nil {
		return asn, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, err
	}
	x, errA := ParseASN(a)
	y, errB := ParseASN(b)
	switch {
	case errA != nil || errB != nil:
		return 0, err
	case x != y:
		return 0, fmt.Errorf("AS number range %q: only single AS numbers are imported", s)
	}
	return x, nil
}

// resource imports one resource, or defers an aut-num whose country is not
// known yet.
func (im *importer) resource(r *resource) error {
	var rec *orgRec
	if r.org != nil && !r.inlineOrg {
		rec = im.orgs[string(r.org)]
	}
	if im.countries != nil {
		in, known := im.inCountry(r, rec)
		if !known && r.prefixes == nil && rec != nil {
			im.deferred = append(im.deferred, r.keep()) // an aut-num
			return nil
		}
		if !in {
			im.classCount(r.class).outOfCountry++
			return nil
		}
	}
	return im.give(r, rec)
}

// inCountry says whether r is of the wanted countries, and whether that is
// known (not for an aut-num whose organisation has no country).
func (im *importer) inCountry(r *resource, rec *orgRec) (in, known bool) {
	cs := r.countries
	if len(cs) == 0 && rec != nil && rec.country != "" {
		cs = []string{rec.country}
	}
	for _, c := range cs {
		if im.countries[c] {
			return true, true
		}
	}
	return false, len(cs) > 0
}

// flushDeferred decides the aut-nums whose organisation has no country:
// kept when the organisation holds a network of the wanted countries.
func (im *importer) flushDeferred() error {
	for i := range im.deferred {
		r := &im.deferred[i]
		rec := im.orgs[string(r.org)]
		if !rec.hasNetwork {
			im.classCount(r.class).outOfCountry++
			continue
		}
		if err := im.give(r, rec); err != nil {
			return err
		}
	}
	im.deferred = nil
	return nil
}

// give hands a resource's organisation (once), assets and contacts to the
// Output.
func (im *importer) give(r *resource, rec *orgRec) error {
	var (
		orgID string
		sent  *[]string // the addresses given for the organisation
	)
	switch {
	case r.org != nil && !r.inlineOrg:
		if rec == nil {
			h := string(r.org)
			rec = &orgRec{id: "ripe:" + h}
			im.orgs[h] = rec
		}
		orgID, sent = rec.id, &rec.sent
		if !rec.given {
			if !rec.found {
				im.resourceProblem(r, fmt.Sprintf("org %s: no such organisation in the dump; imported under its handle", r.org), false)
			}
			rec.given = true
			if err := im.giveOrg(constituency.Org{ID: orgID, Name: or(rec.name, rec.id[len("ripe:"):]), Country: or(rec.country, first(r.countries))}); err != nil {
				return err
			}
			for _, h := range rec.abuseC {
				if err := im.giveContacts(r, orgID, sent, h, "organisation's "); err != nil {
					return err
				}
			}
			if len(rec.abuseC) == 0 {
				for _, a := range rec.mailboxes {
					if err := im.giveContact(orgID, sent, a); err != nil {
						return err
					}
				}
			}
		}
	case r.org == nil && im.opts.SkipWithoutOrg:
		im.resourceProblem(r, "no org: skipped as asked", true)
		im.classCount(r.class).rejected++
		return nil
	default:
		// LACNIC's ownerid, or an organisation made from the resource.
		id := append(im.idBuf[:0], "ripe:"...)
		var name []byte
		switch {
		case r.org != nil:
			id, name = append(id, r.org...), or(r.owner, r.org)
		case r.name != nil:
			if r.class == "aut-num" || r.class == "ashandle" {
				id = append(id, "as-name:"...)
			} else {
				id = append(id, "netname:"...)
			}
			n := len(id)
			id = append(id, r.name...)
			upper(id[n:])
			id = append(id, ':')
			id, name = append(id, r.mnt...), or(r.owner, r.name)
			if r.mnt == nil {
				id = id[:len(id)-1]
			}
		case r.owner != nil:
			id, name = append(append(id, "owner:"...), strings.ToUpper(text(r.owner))...), r.owner
		case r.mnt != nil:
			id, name = append(append(id, "mnt-by:"...), r.mnt...), r.mnt
		default:
			im.resourceProblem(r, "no org, netname, owner or mnt-by to make an organisation from", true)
			im.classCount(r.class).rejected++
			return nil
		}
		if !utf8.Valid(id) {
			id = append(id[:0], text(id)...) // Latin-1
		}
		im.idBuf = id
		m := im.made[string(id)]
		if m == nil {
			m = &madeOrg{id: string(id)}
			im.made[m.id] = m
			if r.org == nil {
				im.sum.OrgsMade++
			}
			if err := im.giveOrg(constituency.Org{ID: m.id, Name: text(name), Country: first(r.countries)}); err != nil {
				return err
			}
		}
		orgID, sent = m.id, &m.sent
	}
	im.classCount(r.class).imported++
	name := assetName(r.class, r.objKey)
	if r.prefixes != nil {
		if rec != nil {
			rec.hasNetwork = true
		}
		for _, p := range r.prefixes {
			if err := im.giveAsset(constituency.Asset{Org: orgID, Kind: constituency.AssetNetwork, Prefix: p, Name: name, Source: constituency.SourceRIPE, Confirmed: true}); err != nil {
				return err
			}
		}
	} else {
		if err := im.giveAsset(constituency.Asset{Org: orgID, Kind: constituency.AssetASN, ASN: r.asn, Name: name, Source: constituency.SourceRIPE, Confirmed: true}); err != nil {
			return err
		}
	}
	// The resource's own abuse-c; else, when its organisation has none, its
	// mnt-irt.
	for _, h := range r.abuseC {
		if err := im.giveContacts(r, orgID, sent, string(h), ""); err != nil {
			return err
		}
	}
	if len(r.abuseC) == 0 && (rec == nil || len(rec.abuseC) == 0 && len(rec.mailboxes) == 0) {
		for _, h := range r.irt {
			if err := im.giveContacts(r, orgID, sent, string(h), "mnt-irt: "); err != nil {
				return err
			}
		}
	}
	return nil
}

// assetName is "<class> <key>", the key's white space made single.
func assetName(class string, key []byte) string {
	var b strings.Builder
	b.Grow(len(class) + 1 + len(key))
	b.WriteString(class)
	space := true
	for _, c := range key {
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (im *importer) resourceProblem(r *resource, reason string, skipped bool) {
	im.problem(Problem{File: r.file, Line: r.line, Class: r.class, Key: string(r.objKey), Reason: reason, Skipped: skipped})
}

// giveContacts gives the abuse mailboxes of handle h as contacts of orgID,
// those not in sent yet. A problem with h is reported for r, its reason
// after what.
func (im *importer) giveContacts(r *resource, orgID string, sent *[]string, h string, what string) error {
	addrs, ok := im.mailboxes[h]
	switch {
	case !ok:
		im.resourceProblem(r, fmt.Sprintf("%sabuse-c %s: no role, person or irt with this handle and an abuse-mailbox in the dump", what, h), false)
	case len(addrs) == 0:
		im.resourceProblem(r, fmt.Sprintf("%sabuse-c %s: its abuse-mailbox holds no usable address", what, h), false)
	}
	for _, a := range addrs {
		if err := im.giveContact(orgID, sent, a); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) giveOrg(o constituency.Org) error {
	o.Source = constituency.SourceRIPE
	im.sum.Orgs++
	return im.out.Org(o)
}

func (im *importer) giveAsset(a constituency.Asset) error {
	im.sum.Assets++
	return im.out.Asset(a)
}

func (im *importer) giveContact(orgID string, sent *[]string, addr string) error {
	if slices.Contains(*sent, addr) {
		return nil
	}
	*sent = append(*sent, addr)
	im.sum.Contacts++
	return im.out.Contact(constituency.Contact{Org: orgID, Email: addr, Role: "abuse", Source: constituency.SourceRIPE})
}

// handle returns an RPSL handle in upper case.
func handle(v []byte) string {
	return strings.ToUpper(string(bytes.TrimSpace(v)))
}

// handles appends the handles of a value that may list several
// ("AR1-RIPE, AR2-RIPE"), upper-cased in place.
func handles(hs [][]byte, v []byte) [][]byte {
	for len(v) > 0 {
		i := bytes.IndexAny(v, ", \t")
		if i < 0 {
			i = len(v)
		}
		if i > 0 {
			hs = append(hs, upper(v[:i]))
		}
		v = v[min(i+1, len(v)):]
	}
	return hs
}

// upper upper-cases b (ASCII) in place and returns it.
func upper(b []byte) []byte {
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return b
}

// country returns a country attribute's code in upper case, interned.
func (im *importer) country(v []byte) (string, bool) {
	if len(v) != 2 || !isLetter(v[0]) || !isLetter(v[1]) {
		return "", false
	}
	v = upper(v)
	if c, ok := im.codes[string(v)]; ok {
		return c, true
	}
	c := string(v)
	im.codes[c] = c
	return c, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// text returns a value as UTF-8: LACNIC's and some older dumps are in
// Latin-1.
func text(v []byte) string {
	if utf8.Valid(v) {
		return string(v)
	}
	r := make([]rune, len(v))
	for i, c := range v {
		r[i] = rune(c)
	}
	return string(r)
}

func or[T string | []byte](a, b T) T {
	if len(a) > 0 {
		return a
	}
	return b
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
