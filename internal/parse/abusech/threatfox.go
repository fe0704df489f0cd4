package abusech

import (
	"context"
	"fmt"
	"strings"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
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
var threatfoxLayouts = map[int]layout{
	14: newLayout(tfColumns, tfFirstSeen, tfID, tfValue, tfType, tfThreatType, tfMalware,
		tfAlias, tfPrintable, tfLastSeen, tfConfidence, tfReference, tfTags, tfAnonymous, tfReporter),
	15: newLayout(tfColumns, tfFirstSeen, tfID, tfValue, tfType, tfThreatType, tfMalware,
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
	s := newSession(ctx, &in, out, "ThreatFox export")
	var header layout
	for s.next() {
		if cut, err := s.tooLong(); cut {
			if err != nil {
				return err
			}
			continue
		}
		line := strings.TrimSpace(string(s.sc.line))
		if line == "" {
			continue
		}
		if line[0] == '#' {
			if f, err := splitCSV(s.fields, commentBody(line)); err == nil {
				s.fields = f
				if l, ok := headerLayout(f, tfColumns, threatfoxAliases); ok && l.has(tfValue) && l.has(tfType) {
					header, s.confirmed = l, true
				}
			}
			continue
		}
		if berr := s.begin(); berr != nil {
			return berr
		}
		var err error
		if header != nil || line[0] == '"' {
			var row []string
			row, err = splitCSV(s.fields, line)
			s.fields = row
			if err == nil {
				l := header
				if l == nil {
					l = threatfoxLayouts[len(row)]
				}
				if l == nil {
					err = fmt.Errorf("want the 14 or 15 values of ThreatFox's CSV export, got %d", len(row))
				} else {
					err = fillThreatFox(&s.e, l, row)
				}
			}
		} else {
			err = fillIOC(&s.e, line)
		}
		if err != nil {
			err = s.reject(err)
		} else {
			err = s.emit()
		}
		if err != nil {
			return err
		}
	}
	return s.err()
}

func fillThreatFox(e *event.Event, l layout, row []string) error {
	defaultClass(e, "malicious-code", "c2-server")
	value, typ := l.get(row, tfValue), l.get(row, tfType)
	if value == "" {
		return fmt.Errorf("ioc_value is empty")
	}
	switch {
	case typ == "ip:port":
		if err := setIPPort(e, value); err != nil {
			return fmt.Errorf("ioc_value: %w", err)
		}
	case typ == "domain":
		if err := checkDomain(value); err != nil {
			return fmt.Errorf("ioc_value: %q is not a domain name: %w", value, err)
		}
		if err := e.Set("source.fqdn", value); err != nil {
			return fmt.Errorf("ioc_value: %w", err)
		}
	case typ == "url":
		if err := setURL(e, "ioc_value", value); err != nil {
			return err
		}
	case strings.HasSuffix(typ, "_hash"):
		return fmt.Errorf("ioc_type %q: a file hash names no host, address or URL, which every event needs", typ)
	default:
		return fmt.Errorf("ioc_type %q is not one of ip:port, domain, url", typ)
	}
	if tt := l.get(row, tfThreatType); tt != "" {
		if c, ok := threatTypes[tt]; ok {
			setClass(e, c[0], c[1])
		}
		if err := setExtra(e, "threat_type", "threat_type", tt); err != nil {
			return err
		}
	}
	if v := l.get(row, tfFirstSeen); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return fmt.Errorf("first_seen_utc: %w", err)
		}
		e.TimeSource = t
	}
	if err := setTimeExtra(e, "last_seen", "last_seen_utc", l.get(row, tfLastSeen)); err != nil {
		return err
	}
	if m := l.get(row, tfMalware); m != "" && m != "unknown" {
		// Malpedia's "win.cobalt_strike" names the family for machines;
		// malware_printable ("Cobalt Strike") is for people.
		if err := setExtra(e, "malpedia", "fk_malware", m); err != nil {
			return err
		}
		family := m
		if i := strings.IndexByte(m, '.'); i >= 0 && i+1 < len(m) {
			family = m[i+1:]
		}
		if err := setMalware(e, "fk_malware", family); err != nil {
			return err
		}
		if err := setExtra(e, "malware_printable", "malware_printable", l.get(row, tfPrintable)); err != nil {
			return err
		}
	}
	if err := setExtra(e, "malware_alias", "malware_alias", l.get(row, tfAlias)); err != nil {
		return err
	}
	if v := l.get(row, tfConfidence); v != "" {
		if err := setInt(e, "confidence_level", "confidence_level", v); err != nil {
			return err
		}
	}
	if err := setExtra(e, "reference", "reference", l.get(row, tfReference)); err != nil {
		return err
	}
	if err := setExtra(e, "tags", "tags", l.get(row, tfTags)); err != nil {
		return err
	}
	if err := setBool(e, "anonymous", "anonymous", l.get(row, tfAnonymous)); err != nil {
		return err
	}
	if err := setBool(e, "is_compromised", "is_compromised", l.get(row, tfCompromised)); err != nil {
		return err
	}
	if err := setExtra(e, "reporter", "reporter", l.get(row, tfReporter)); err != nil {
		return err
	}
	if v := l.get(row, tfID); v != "" {
		return setInt(e, "ioc_id", "ioc_id", v)
	}
	return nil
}

// fillIOC reads one line of a plain ThreatFox list: an address, an
// ip:port, a URL, a domain or a hosts-file line ("127.0.0.1 example.com").
func fillIOC(e *event.Event, line string) error {
	defaultClass(e, "malicious-code", "c2-server")
	if strings.Contains(line, "://") {
		return setURL(e, "url", line)
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
	if err := checkDomain(s); err != nil {
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
