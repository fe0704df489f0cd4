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
	"github.com/tocsin/tocsin/internal/enrich"
	"github.com/tocsin/tocsin/internal/enrich/securitytxt"
	"github.com/tocsin/tocsin/internal/event"
)

func cmdLookup(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "lookup", "TARGET... (or - to read targets from standard input, one per line)",
		"Tells what tocsin knows of an IP address, a CIDR, an AS number (AS64500) or a domain:\n"+
			"origin AS, AS name, announced prefix, country, owner organisation and contacts, with their source.")
	asJSON := fs.Bool("json", false, `one JSON object per target: {"target", "asn", "as_name", "network", "cc", "org", "contacts"}`)
	secTxt := fs.Bool("security-txt", false, "for domains, fetch https://DOMAIN/.well-known/security.txt (RFC 9116) and add its contacts (cached for the run)")
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
	x, err := a.enricher(ctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin lookup: %v\n", err)
		return exitFail
	}
	w := bufio.NewWriterSize(env.Stdout, 256<<10)
	defer w.Flush()
	l := &lookuper{x: x, json: *asJSON, ctx: ctx}
	if *secTxt {
		f := &securitytxt.Fetcher{Client: env.HTTPClient}
		l.sec = securitytxt.NewCache(f.Fetch, time.Hour, 10*time.Minute, nil)
		l.log = func(format string, args ...any) { fmt.Fprintf(env.Stderr, "tocsin lookup: "+format+"\n", args...) }
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
	sec  *securitytxt.Cache // nil: security.txt is not fetched
	log  func(format string, args ...any)
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
}

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
		l.ip(&ans, p.Masked().Addr())
		if !ans.network.IsValid() || ans.network.Bits() > p.Bits() {
			ans.network = p.Masked()
		}
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
		l.owner(&ans, &event.Endpoint{}, name)
		if l.sec != nil {
			// A file may be used only when Get returns no error.
			if f, err := l.sec.Get(l.ctx, ans.domain); err == nil {
				for _, email := range f.Emails() {
					if !slices.ContainsFunc(ans.contacts, func(c constituency.Contact) bool { return c.Email == email }) {
						ans.contacts = append(ans.contacts, constituency.Contact{Email: email, Role: "security", Source: constituency.SourceSecurityTxt})
					}
				}
			} else if l.log != nil {
				l.log("security.txt of %s: %v", ans.domain, err)
			}
		}
		// RFC 2142: abuse@ of the domain, the last resort.
		last := constituency.Contact{Email: "abuse@" + ans.domain, Role: "abuse", Source: constituency.SourceRFC2142}
		if !slices.ContainsFunc(ans.contacts, func(c constituency.Contact) bool { return c.Email == last.Email }) {
			ans.contacts = append(ans.contacts, last)
		}
	}
	l.buf = l.write(l.buf[:0], &ans)
	_, err := w.Write(l.buf)
	return err
}

func (l *lookuper) ip(ans *answer, a netip.Addr) {
	var e event.Event
	e.Source.IP = a
	l.x.Event(&e)
	ans.asn, ans.asName, ans.network, ans.cc = e.Source.ASN, e.Source.ASName, e.Source.Network, e.Source.Geolocation.CC
	l.owner(ans, &e.Source, "")
}

// owner fills in the organisation and its contact chain.
func (l *lookuper) owner(ans *answer, p *event.Endpoint, host string) {
	org, ok := l.x.Owner(p, host)
	if !ok {
		return
	}
	ans.org = l.x.Owners.Org(org)
	ans.contacts = append(ans.contacts, l.x.Owners.Contacts(org)...)
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
	if a.org != nil {
		dst = append(dst, `{"id":`...)
		dst = event.AppendJSONString(dst, a.org.ID)
		dst = append(dst, `,"name":`...)
		dst = event.AppendJSONString(dst, a.org.Name)
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
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
	return append(dst, "]}\n"...)
}

func appendNullableString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return event.AppendJSONString(dst, s)
}
