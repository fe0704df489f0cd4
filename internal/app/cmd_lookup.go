package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich"
	"github.com/tocsin/tocsin/internal/enrich/securitytxt"
	"github.com/tocsin/tocsin/internal/event"
)

func cmdLookup(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "lookup", "TARGET... (or - to read targets from standard input, one per line)",
		"Tells what tocsin knows of an IP address, a CIDR, an AS number (AS64500) or a domain:\n"+
			"origin AS, AS name, announced prefix, country, owner organisation and contacts, with their source.\n"+
			"For a CIDR the owner is the holder of the most specific asset covering the whole range (AS and\n"+
			"country are those of its first address), and owners_inside lists the assets inside it with their\n"+
			"holders, at most 100 (truncated is then true).\n"+
			"Contacts come in order: registered (manual), RIPE abuse-c (ripe), security.txt, abuse@ the domain\n"+
			"(rfc2142). security.txt contacts are read from the cache that --security-txt and\n"+
			"'tocsin constituents refresh-security-txt' fill.")
	asJSON := fs.Bool("json", false, `one JSON object per target: {"target", "asn", "as_name", "network", "cc", "org", "contacts"}, and for a CIDR "owners_inside" and "truncated"`)
	secTxt := fs.Bool("security-txt", false, "fetch https://DOMAIN/.well-known/security.txt (RFC 9116) of the target's domain and its owner's domains\nwhen not cached or stale, and keep it in the cache")
	targets, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(targets) == 0 {
		fs.Usage()
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin lookup: %v\n", err)
		return exitFail
	}
	defer a.Close()
	x, err := a.enricher(ctx, false)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin lookup: %v\n", err)
		return exitFail
	}
	// Lookups need nothing more from the store: give its memory back
	// before the merged table takes its own.
	a.Store.Close()
	a.Store = nil
	// Targets from standard input may be millions: the merged table pays.
	if slices.Contains(targets, "-") {
		if err := a.mergeIPv4(x); err != nil {
			fmt.Fprintf(env.Stderr, "tocsin lookup: %v\n", err)
			return exitFail
		}
	}
	w := bufio.NewWriterSize(env.Stdout, 256<<10)
	defer w.Flush()
	l := &lookuper{x: x, json: *asJSON, ctx: ctx}
	if *secTxt {
		if x.SecurityTxt == nil {
			fmt.Fprintf(env.Stderr, "tocsin lookup: the security.txt cache cannot be read; remove %s\n", securityTxtPath(a.DataDir))
			return exitFail
		}
		l.fetch = (&securitytxt.Fetcher{Client: env.HTTPClient}).Fetch
		l.log = func(format string, args ...any) { fmt.Fprintf(env.Stderr, "tocsin lookup: "+format+"\n", args...) }
		defer func() {
			if err := x.SecurityTxt.Save(); err != nil {
				fmt.Fprintf(env.Stderr, "tocsin lookup: %v\n", err)
			}
		}()
	}
	bad := 0
	for _, t := range targets {
		if t != "-" {
			if err := l.one(w, t); err != nil {
				fmt.Fprintf(env.Stderr, "tocsin lookup: %v\n", err)
				bad++
			}
			continue
		}
		sc := bufio.NewScanner(env.Stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		line := 0
		for sc.Scan() {
			line++
			s := strings.TrimSpace(sc.Text())
			if s == "" || s[0] == '#' {
				continue
			}
			if err := l.one(w, s); err != nil {
				fmt.Fprintf(env.Stderr, "tocsin lookup: standard input line %d: %v\n", line, err)
				bad++
			}
			if ctx.Err() != nil {
				return exitFail
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(env.Stderr, "tocsin lookup: standard input: %v\n", err)
			return exitFail
		}
	}
	if bad > 0 {
		return exitFail
	}
	return exitOK
}

type lookuper struct {
	x    *enrich.Enricher
	json bool
	buf  []byte
	ctx  context.Context
	// fetch, when set, fetches security.txt files into x.SecurityTxt.
	fetch securitytxt.FetchFunc
	log   func(format string, args ...any)
}

// answer is what lookup knows of one target.
type answer struct {
	target   string
	asn      uint32
	asName   string
	network  netip.Prefix
	cc       string
	domain   string
	org      *constituency.Org
	contacts []constituency.Contact

	cidr      bool // a CIDR target: inside and truncated are shown
	inside    []insideOwner
	truncated bool
}

// insideOwner is an asset inside a CIDR target.
type insideOwner struct {
	org     *constituency.Org
	network netip.Prefix
}

// maxInside is how many assets inside a CIDR lookup lists.
const maxInside = 100

func (l *lookuper) one(w io.Writer, target string) error {
	ans := answer{target: target}
	switch {
	case isASN(target):
		n, _ := event.ParseASN(target)
		ans.asn = n
		if l.x.ASN != nil {
			ans.asName = l.x.ASN.Name(n)
		}
		l.owner(&ans, &event.Endpoint{ASN: n}, "")
	case strings.Contains(target, "/"):
		p, err := netip.ParsePrefix(target)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR", target)
		}
		p = p.Masked()
		l.prefix(&ans, p)
	default:
		if a, err := event.ParseIP(target); err == nil {
			l.ip(&ans, a)
			break
		}
		name, err := event.NormFQDN(target)
		if err != nil {
			return fmt.Errorf("%q is not an IP address, a CIDR, an AS number or a domain", target)
		}
		ans.domain = name
		if l.x.PSL != nil {
			if reg, err := l.x.PSL.RegistrableDomain(name); err == nil {
				ans.domain = reg
			}
		}
		if l.fetch != nil {
			fetchSecurityTxt(l.ctx, l.x.SecurityTxt, l.fetch, []string{ans.domain}, l.log)
		}
		l.owner(&ans, &event.Endpoint{}, name)
		// The target's own domain, after its owner's: its security.txt
		// and, last, abuse@ (RFC 2142).
		if sec := l.x.SecurityTxt; sec != nil {
			if e, ok := sec.Get(ans.domain); ok && e.Usable(time.Now()) {
				for _, email := range e.Contacts {
					ans.contacts = append(ans.contacts, constituency.Contact{Email: email, Role: "security", Source: constituency.SourceSecurityTxt})
				}
			}
		}
		if c := index.RFC2142(ans.domain); c.Email != "" {
			ans.contacts = append(ans.contacts, c)
		}
		ans.contacts = chain(ans.contacts)
	}
	l.buf = l.write(l.buf[:0], &ans)
	_, err := w.Write(l.buf)
	return err
}

func (l *lookuper) ip(ans *answer, a netip.Addr) {
	e := l.routing(ans, a)
	l.owner(ans, &e.Source, "")
}

// routing fills in the AS, announced prefix and country of a.
func (l *lookuper) routing(ans *answer, a netip.Addr) *event.Event {
	var e event.Event
	e.Source.IP = a
	l.x.Event(&e)
	ans.asn, ans.asName, ans.network, ans.cc = e.Source.ASN, e.Source.ASName, e.Source.Network, e.Source.Geolocation.CC
	return &e
}

// prefix answers for a CIDR: the routing data of its first address, the
// owner of the whole range and the owners of the assets inside it.
func (l *lookuper) prefix(ans *answer, p netip.Prefix) {
	ans.cidr = true
	l.routing(ans, p.Addr())
	if !ans.network.IsValid() || ans.network.Bits() > p.Bits() {
		ans.network = p
	}
	ix := l.x.Owners
	if ix == nil {
		return
	}
	if org, _, ok := ix.OwnerOfPrefix(p); ok {
		l.ownerContacts(ans, org, "")
	}
	for org, q := range ix.NetworksInside(p) {
		if len(ans.inside) == maxInside {
			ans.truncated = true
			break
		}
		ans.inside = append(ans.inside, insideOwner{ix.Org(org), q})
	}
}

// owner fills in the organisation and its contact chain.
func (l *lookuper) owner(ans *answer, p *event.Endpoint, host string) {
	org, domain, ok := l.x.OwnerAndDomain(p, host)
	if !ok {
		return
	}
	l.ownerContacts(ans, org, domain)
}

func (l *lookuper) ownerContacts(ans *answer, org index.OrgRef, domain string) {
	if l.fetch != nil {
		ds := l.x.Owners.Domains(org)
		if domain != "" {
			ds = append([]string{domain}, ds...)
		}
		fetchSecurityTxt(l.ctx, l.x.SecurityTxt, l.fetch, ds, l.log)
	}
	ans.org = l.x.Owners.Org(org)
	ans.contacts = append(ans.contacts, l.x.Contacts(org, domain)...)
}

// chain puts contacts in the order of the contact chain (by source,
// stably) and keeps each address once.
func chain(cs []constituency.Contact) []constituency.Contact {
	rank := func(s constituency.Source) int {
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
	slices.SortStableFunc(cs, func(a, b constituency.Contact) int { return rank(a.Source) - rank(b.Source) })
	out := cs[:0]
	for _, c := range cs {
		if !slices.ContainsFunc(out, func(o constituency.Contact) bool { return strings.EqualFold(o.Email, c.Email) }) {
			out = append(out, c)
		}
	}
	return out
}

func isASN(s string) bool {
	if len(s) < 3 || !strings.EqualFold(s[:2], "AS") {
		return false
	}
	_, err := strconv.ParseUint(s[2:], 10, 32)
	return err == nil
}

func (l *lookuper) write(dst []byte, a *answer) []byte {
	if !l.json {
		dst = append(dst, a.target...)
		dst = append(dst, '\t')
		if a.asn != 0 {
			dst = append(dst, "AS"...)
			dst = strconv.AppendUint(dst, uint64(a.asn), 10)
		}
		dst = append(dst, '\t')
		dst = append(dst, a.asName...)
		dst = append(dst, '\t')
		if a.network.IsValid() {
			dst = a.network.AppendTo(dst)
		}
		dst = append(dst, '\t')
		dst = append(dst, a.cc...)
		dst = append(dst, '\t')
		if a.org != nil {
			dst = append(dst, a.org.Name...)
		}
		for i, c := range a.contacts {
			if i == 0 {
				dst = append(dst, '\t')
			} else {
				dst = append(dst, ',')
			}
			dst = append(dst, c.Email...)
			dst = append(dst, " ("...)
			dst = append(dst, c.Source...)
			dst = append(dst, ')')
		}
		if a.cidr && len(a.inside) > 0 {
			if len(a.contacts) == 0 {
				dst = append(dst, '\t')
			}
			dst = append(dst, "\tinside: "...)
			for i, in := range a.inside {
				if i > 0 {
					dst = append(dst, ", "...)
				}
				dst = in.network.AppendTo(dst)
				dst = append(dst, ' ')
				dst = append(dst, in.org.Name...)
			}
			if a.truncated {
				dst = append(dst, ", ..."...)
			}
		}
		return append(dst, '\n')
	}
	dst = append(dst, `{"target":`...)
	dst = event.AppendJSONString(dst, a.target)
	dst = append(dst, `,"asn":`...)
	if a.asn != 0 {
		dst = strconv.AppendUint(dst, uint64(a.asn), 10)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"as_name":`...)
	dst = appendNullableString(dst, a.asName)
	dst = append(dst, `,"network":`...)
	if a.network.IsValid() {
		dst = append(dst, '"')
		dst = a.network.AppendTo(dst)
		dst = append(dst, '"')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"cc":`...)
	dst = appendNullableString(dst, a.cc)
	if a.domain != "" {
		dst = append(dst, `,"domain":`...)
		dst = event.AppendJSONString(dst, a.domain)
	}
	dst = append(dst, `,"org":`...)
	dst = appendOrg(dst, a.org)
	dst = append(dst, `,"contacts":[`...)
	for i, c := range a.contacts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"email":`...)
		dst = event.AppendJSONString(dst, c.Email)
		dst = append(dst, `,"source":`...)
		dst = event.AppendJSONString(dst, string(c.Source))
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if a.cidr {
		dst = append(dst, `,"owners_inside":[`...)
		for i, in := range a.inside {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"org":`...)
			dst = appendOrg(dst, in.org)
			dst = append(dst, `,"network":"`...)
			dst = in.network.AppendTo(dst)
			dst = append(dst, `"}`...)
		}
		dst = append(dst, `],"truncated":`...)
		dst = strconv.AppendBool(dst, a.truncated)
	}
	return append(dst, "}\n"...)
}

func appendOrg(dst []byte, o *constituency.Org) []byte {
	if o == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"id":`...)
	dst = event.AppendJSONString(dst, o.ID)
	dst = append(dst, `,"name":`...)
	dst = event.AppendJSONString(dst, o.Name)
	return append(dst, '}')
}

func appendNullableString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return event.AppendJSONString(dst, s)
}
