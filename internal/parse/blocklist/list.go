package blocklist

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// listFields are the fields a list entry can be.
var listFields = []string{
	"source.ip", "source.network", "source.fqdn", "source.url", "source.asn",
	"destination.ip", "destination.network", "destination.fqdn", "destination.url", "destination.asn",
}

// List returns the parser of plain lists: one IP address, CIDR network,
// domain, URL or AS number per line. The feed's Field says which field
// every entry is; when it is empty each line's kind is told from its form:
// a URL has "://", an AS number is "AS64500", a network has a '/', an
// address parses as one ("192.0.2.1:8080" is an address and a port), and
// anything else must be a domain name. A URL also gives its host as
// source.fqdn or source.ip.
//
// Lines starting with '#', ';' or '!' are comments, as is the text after
// " #" or " ;" on a line. A hosts-file line ("0.0.0.0 example.com") is its
// name; an Adblock rule "||example.com^" or "||example.com/path^$all" is
// its domain or URL, and an exception rule ("@@...") is skipped.
//
// A list says nothing about what its entries are, so the feed must name a
// classification; without one Parse returns ErrNoClassification before
// reading anything.
func List() parse.Parser { return parse.Func(parseList) }

func parseList(ctx context.Context, in parse.Input, out parse.Output) error {
	f := in.Feed
	if f.Classification.Type == "" {
		return fmt.Errorf("feed %q: %w: a plain list does not say what its entries are; set classification (taxonomy and type, e.g. other/blacklist) in the feed's config", f.Name, ErrNoClassification)
	}
	field := f.Field
	if field != "" && !slices.Contains(listFields, field) {
		return fmt.Errorf("feed %q: field %q: %w; use one of %s, or none to tell each line's kind from its form", f.Name, field, ErrField, strings.Join(listFields, ", "))
	}
	s := textreport.NewSession(ctx, &in, out, "list of indicators")
	for s.Next() {
		v, ok := listValue(s.Text())
		if !ok {
			continue
		}
		if err := s.Begin(); err != nil {
			return err
		}
		var err error
		if field != "" {
			err = setAs(&s.Event, field, v)
		} else {
			err = setGuess(&s.Event, v)
		}
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
}

// listValue returns the entry of a list line, and false for a line that
// holds none (blank, comment, Adblock exception).
func listValue(line string) (string, bool) {
	line = strings.TrimSpace(line)
	if line == "" {
		return "", false
	}
	switch line[0] {
	case '#', ';', '!':
		return "", false
	case '@':
		if strings.HasPrefix(line, "@@") {
			return "", false
		}
	case '|':
		if rest, ok := strings.CutPrefix(line, "||"); ok {
			if i := strings.IndexAny(rest, "^$"); i >= 0 {
				rest = rest[:i]
			}
			return rest, rest != ""
		}
	}
	// A trailing comment: "192.0.2.1 # scanner", "192.0.2.0/24 ; SBL1".
	if i := strings.IndexAny(line, "#;"); i > 0 && (line[i-1] == ' ' || line[i-1] == '\t') {
		line = strings.TrimRight(line[:i], " \t")
	}
	// A hosts-file line: "0.0.0.0 example.com".
	if i := strings.IndexAny(line, " \t"); i > 0 {
		if _, err := event.ParseIP(line[:i]); err == nil {
			if name := strings.TrimSpace(line[i+1:]); name != "" {
				return name, true
			}
		}
	}
	return line, true
}

// setAs stores v as the feed's field.
func setAs(e *event.Event, field, v string) error {
	if strings.HasSuffix(field, ".fqdn") {
		if err := textreport.CheckDomain(v); err != nil {
			return fmt.Errorf("%s: %q is not a domain name: %w", field, v, err)
		}
	}
	if err := e.Set(field, v); err != nil {
		return err
	}
	if field == "source.url" {
		textreport.SetHost(e, textreport.URLHost(e.Source.URL))
	}
	if strings.HasSuffix(field, ".asn") && e.Source.ASN == 0 && e.Destination.ASN == 0 {
		return fmt.Errorf("%s: %q is not an AS number an AS can have", field, v)
	}
	return nil
}

// setGuess stores v as the field its form says it is.
func setGuess(e *event.Event, v string) error {
	switch {
	case hasScheme(v):
		if strings.ContainsAny(v, " \t") {
			return fmt.Errorf("source.url: %q is not a URL", v)
		}
		return textreport.SetURL(e, "entry", v)
	case len(v) > 2 && (v[0] == 'A' || v[0] == 'a') && (v[1] == 'S' || v[1] == 's') && textreport.IsDigits(v[2:]):
		return setAs(e, "source.asn", v)
	case strings.IndexByte(v, '/') >= 0:
		if p, err := event.ParseNetwork(v); err == nil {
			e.Source.Network = p
			return nil
		}
		// "example.com/path": a URL without its scheme.
		host, _, _ := strings.Cut(v, "/")
		if _, err := event.ParseIP(host); err != nil && textreport.CheckDomain(host) != nil {
			return fmt.Errorf("%q is neither a network in CIDR form nor a URL", v)
		}
		if strings.ContainsAny(v, " \t") {
			return fmt.Errorf("source.url: %q is not a URL", v)
		}
		// event.NormURL would add the scheme too, but not to a URL
		// that has "://" later on ("web.archive.org/web/1/http://...").
		return textreport.SetURL(e, "entry", "http://"+v)
	}
	if c := v[len(v)-1]; c >= '0' && c <= '9' || strings.IndexByte(v, ':') >= 0 {
		if a, err := event.ParseIP(v); err == nil {
			e.Source.IP = a
			return nil
		}
		if host, port, ok := strings.Cut(v, ":"); ok && strings.IndexByte(port, ':') < 0 {
			if a, err := event.ParseIP(host); err == nil {
				e.Source.IP = a
				return e.Set("source.port", port)
			}
		}
	}
	if err := textreport.CheckDomain(v); err != nil {
		return fmt.Errorf("%q is not an IP address, network, AS number, URL or domain name: %w", v, err)
	}
	return e.Set("source.fqdn", v)
}

// hasScheme reports whether v starts with a URL scheme and "://".
func hasScheme(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.HasPrefix(v[i:], "://")
		default:
			return false
		}
	}
	return false
}
