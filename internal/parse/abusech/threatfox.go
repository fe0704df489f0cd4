package abusech

import (
	"context"
	"fmt"
	"strings"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// ThreatFox columns.
const (
	tfFirstSeen = iota
	tfID
	tfValue
	tfType
	tfThreatType
	tfMalware
	tfAlias
	tfPrintable
	tfLastSeen
	tfConfidence
	tfCompromised
	tfReference
	tfTags
	tfAnonymous
	tfReporter
	tfColumns
)

var threatfoxAliases = map[string]int{
	"firstseenutc": tfFirstSeen, "firstseen": tfFirstSeen, "iocid": tfID, "id": tfID,
	"iocvalue": tfValue, "ioc": tfValue, "ioctype": tfType, "threattype": tfThreatType,
	"fkmalware": tfMalware, "malware": tfMalware, "malwarealias": tfAlias,
	"malwareprintable": tfPrintable, "lastseenutc": tfLastSeen, "lastseen": tfLastSeen,
	"confidencelevel": tfConfidence, "iscompromised": tfCompromised, "reference": tfReference, "tags": tfTags,
	"anonymous": tfAnonymous, "reporter": tfReporter,
}

// threatfoxLayouts are the column orders of headerless CSV rows, by
// their number of values: is_compromised came in 2025.
var threatfoxLayouts = map[int]textreport.Layout{
	14: textreport.NewLayout(tfColumns, tfFirstSeen, tfID, tfValue, tfType, tfThreatType, tfMalware,
		tfAlias, tfPrintable, tfLastSeen, tfConfidence, tfReference, tfTags, tfAnonymous, tfReporter),
	15: textreport.NewLayout(tfColumns, tfFirstSeen, tfID, tfValue, tfType, tfThreatType, tfMalware,
		tfAlias, tfPrintable, tfLastSeen, tfConfidence, tfCompromised, tfReference, tfTags, tfAnonymous, tfReporter),
}

// threatTypes maps ThreatFox's threat_type to a classification.
var threatTypes = map[string][2]string{
	"botnet_cc":        {"malicious-code", "c2-server"},
	"payload_delivery": {"malicious-code", "malware-distribution"},
	"payload":          {"malicious-code", "malware-distribution"},
	// Card skimming indicators are the hosts that serve the skimmer
	// script to shoppers' browsers and receive what it steals.
	"cc_skimming": {"malicious-code", "malware-distribution"},
}

// ThreatFox returns the parser of ThreatFox's IOC exports: the CSV export
// (https://threatfox.abuse.ch/export/csv/full/ and /recent/: first_seen_utc,
// ioc_id, ioc_value, ioc_type, threat_type, fk_malware, malware_alias,
// malware_printable, last_seen_utc, confidence_level, is_compromised (since
// 2025), reference, tags, anonymous, reporter) and the plain lists (one IP, ip:port, domain, URL
// or hosts-file line per line).
//
// threat_type classifies the event: botnet_cc is malicious-code/c2-server;
// payload_delivery, payload and cc_skimming are
// malicious-code/malware-distribution; other types keep the feed's
// classification. The family is malware.name and classification.identifier
// in Malpedia's spelling without the platform ("cobalt_strike" of
// "win.cobalt_strike"). An ip:port IOC is source.ip and source.port, a domain
// source.fqdn, a URL source.url (and its host). A file-hash IOC names no
// host, address or URL, which every event needs, so its row is rejected
// with that reason.
func ThreatFox() parse.Parser { return parse.Func(parseThreatFox) }

func parseThreatFox(ctx context.Context, in parse.Input, out parse.Output) error {
	s := textreport.NewSession(ctx, &in, out, "ThreatFox export")
	var header textreport.Layout
	for s.Next() {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		if line[0] == '#' {
			if f, err := s.SplitCSV(textreport.CommentBody(line)); err == nil {
				if l, ok := textreport.HeaderLayout(f, tfColumns, threatfoxAliases); ok && l.Has(tfValue) && l.Has(tfType) {
					header = l
					s.Confirm()
				}
			}
			continue
		}
		if berr := s.Begin(); berr != nil {
			return berr
		}
		var err error
		if header != nil || line[0] == '"' {
			var row []string
			row, err = s.SplitCSV(line)
			if err == nil {
				l := header
				if l == nil {
					l = threatfoxLayouts[len(row)]
				}
				if l == nil {
					err = fmt.Errorf("want the 14 or 15 values of ThreatFox's CSV export, got %d", len(row))
				} else {
					err = fillThreatFox(&s.Event, l, row)
				}
			}
		} else {
			err = fillIOC(&s.Event, line)
		}
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
}

func fillThreatFox(e *event.Event, l textreport.Layout, row []string) error {
	textreport.DefaultClass(e, "malicious-code", "c2-server")
	value, typ := get(l, row, tfValue), get(l, row, tfType)
	if value == "" {
		return fmt.Errorf("ioc_value is empty")
	}
	switch {
	case typ == "ip:port":
		if err := setIPPort(e, value); err != nil {
			return fmt.Errorf("ioc_value: %w", err)
		}
	case typ == "domain":
		if err := textreport.CheckDomain(value); err != nil {
			return fmt.Errorf("ioc_value: %q is not a domain name: %w", value, err)
		}
		if err := e.Set("source.fqdn", value); err != nil {
			return fmt.Errorf("ioc_value: %w", err)
		}
	case typ == "url":
		if err := textreport.SetURL(e, "ioc_value", value); err != nil {
			return err
		}
	case strings.HasSuffix(typ, "_hash"):
		return fmt.Errorf("ioc_type %q: a file hash names no host, address or URL, which every event needs", typ)
	default:
		return fmt.Errorf("ioc_type %q is not one of ip:port, domain, url", typ)
	}
	if tt := get(l, row, tfThreatType); tt != "" {
		if c, ok := threatTypes[tt]; ok {
			textreport.SetClass(e, c[0], c[1])
		}
		if err := textreport.SetExtra(e, "threat_type", "threat_type", tt); err != nil {
			return err
		}
	}
	if v := get(l, row, tfFirstSeen); v != "" {
		t, err := textreport.ParseTime(v)
		if err != nil {
			return fmt.Errorf("first_seen_utc: %w", err)
		}
		e.TimeSource = t
	}
	if err := textreport.SetTimeExtra(e, "last_seen", "last_seen_utc", get(l, row, tfLastSeen)); err != nil {
		return err
	}
	if m := get(l, row, tfMalware); m != "" && m != "unknown" {
		// Malpedia's "win.cobalt_strike" names the family for machines;
		// malware_printable ("Cobalt Strike") is for people.
		if err := textreport.SetExtra(e, "malpedia", "fk_malware", m); err != nil {
			return err
		}
		family := m
		if i := strings.IndexByte(m, '.'); i >= 0 && i+1 < len(m) {
			family = m[i+1:]
		}
		if err := setMalware(e, "fk_malware", family); err != nil {
			return err
		}
		if err := textreport.SetExtra(e, "malware_printable", "malware_printable", get(l, row, tfPrintable)); err != nil {
			return err
		}
	}
	if err := textreport.SetExtra(e, "malware_alias", "malware_alias", get(l, row, tfAlias)); err != nil {
		return err
	}
	if v := get(l, row, tfConfidence); v != "" {
		if err := textreport.SetInt(e, "confidence_level", "confidence_level", v); err != nil {
			return err
		}
	}
	if err := textreport.SetExtra(e, "reference", "reference", get(l, row, tfReference)); err != nil {
		return err
	}
	if err := textreport.SetExtra(e, "tags", "tags", get(l, row, tfTags)); err != nil {
		return err
	}
	if err := textreport.SetBool(e, "anonymous", "anonymous", get(l, row, tfAnonymous)); err != nil {
		return err
	}
	if err := textreport.SetBool(e, "is_compromised", "is_compromised", get(l, row, tfCompromised)); err != nil {
		return err
	}
	if err := textreport.SetExtra(e, "reporter", "reporter", get(l, row, tfReporter)); err != nil {
		return err
	}
	if v := get(l, row, tfID); v != "" {
		return textreport.SetInt(e, "ioc_id", "ioc_id", v)
	}
	return nil
}

// fillIOC reads one line of a plain ThreatFox list: an address, an
// ip:port, a URL, a domain or a hosts-file line ("127.0.0.1 example.com").
func fillIOC(e *event.Event, line string) error {
	textreport.DefaultClass(e, "malicious-code", "c2-server")
	if strings.Contains(line, "://") {
		return textreport.SetURL(e, "url", line)
	}
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		// A hosts-file line: "0.0.0.0 example.com".
		if _, err := event.ParseIP(line[:i]); err == nil {
			return setFQDN(e, strings.TrimSpace(line[i+1:]))
		}
	}
	if strings.IndexByte(line, ':') >= 0 {
		return setIPPort(e, line)
	}
	if a, err := event.ParseIP(line); err == nil {
		e.Source.IP = a
		return nil
	}
	return setFQDN(e, line)
}

func setFQDN(e *event.Event, s string) error {
	if err := textreport.CheckDomain(s); err != nil {
		return fmt.Errorf("ioc: %q is not an address, ip:port, URL or domain: %w", s, err)
	}
	return e.Set("source.fqdn", s)
}

// setIPPort reads "192.0.2.1:443", "[2001:db8::1]:443" or a bare address.
func setIPPort(e *event.Event, s string) error {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]")
		if i < 0 {
			return fmt.Errorf("%q is not ip:port", s)
		}
		host = s[1:i]
		if rest := s[i+1:]; rest != "" {
			if rest[0] != ':' {
				return fmt.Errorf("%q is not ip:port", s)
			}
			port = rest[1:]
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.IndexByte(s, ':') == i {
		host, port = s[:i], s[i+1:]
	}
	a, err := event.ParseIP(host)
	if err != nil {
		return err
	}
	e.Source.IP = a
	if port != "" {
		if err := e.Set("source.port", port); err != nil {
			return err
		}
	}
	return nil
}
