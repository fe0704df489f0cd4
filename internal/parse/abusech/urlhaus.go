package abusech

import (
	"context"
	"fmt"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
)

// URLhaus columns.
const (
	uhID = iota
	uhDateAdded
	uhURL
	uhStatus
	uhLastOnline
	uhThreat
	uhTags
	uhLink
	uhReporter
	uhHost
	uhIP
	uhASN
	uhCountry
	uhColumns
)

var urlhausAliases = map[string]int{
	"id": uhID, "dateadded": uhDateAdded, "dateaddedutc": uhDateAdded,
	"url": uhURL, "urlstatus": uhStatus, "status": uhStatus,
	"lastonline": uhLastOnline, "threat": uhThreat, "tags": uhTags,
	"urlhauslink": uhLink, "reporter": uhReporter, "host": uhHost,
	"ipaddress": uhIP, "asnumber": uhASN, "country": uhCountry,
}

// urlhausLayout is the column order of a headerless row.
func urlhausLayout(row []string) (layout, error) {
	switch len(row) {
	case 1: // https://urlhaus.abuse.ch/downloads/text/
		return newLayout(uhColumns, uhURL), nil
	case 9: // the CSV dump since 2021
		return newLayout(uhColumns, uhID, uhDateAdded, uhURL, uhStatus, uhLastOnline, uhThreat, uhTags, uhLink, uhReporter), nil
	case 8:
		if isDigits(row[0]) { // the CSV dump before last_online
			return newLayout(uhColumns, uhID, uhDateAdded, uhURL, uhStatus, uhThreat, uhTags, uhLink, uhReporter), nil
		}
		// the country, ASN and TLD feeds
		return newLayout(uhColumns, uhDateAdded, uhURL, uhStatus, uhThreat, uhHost, uhIP, uhASN, uhCountry), nil
	}
	return nil, fmt.Errorf("want the 9 values of URLhaus's CSV (id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter), got %d", len(row))
}

// URLhaus returns the parser of URLhaus's CSV exports: the database dump
// (https://urlhaus.abuse.ch/downloads/csv/: id, dateadded, url,
// url_status, last_online, threat, tags, urlhaus_link, reporter), the
// older dump without last_online, the country, ASN and TLD feeds
// (Dateadded, URL, URL_status, Threat, Host, IPaddress, ASnumber, Country)
// and the plain URL list.
//
// The URL is source.url and its host source.fqdn or source.ip;
// url_status is status; threat "malware_download" classifies the event as
// malicious-code/malware-distribution (as IntelMQ's URLhaus feed does) and
// is kept as extra.threat; urlhaus_link is event_description.url.
func URLhaus() parse.Parser { return parse.Func(parseURLhaus) }

func parseURLhaus(ctx context.Context, in parse.Input, out parse.Output) error {
	s := newSession(ctx, &in, out, "URLhaus CSV")
	var header layout
	for s.next() {
		if cut, err := s.tooLong(); cut {
			if err != nil {
				return err
			}
			continue
		}
		line := string(s.sc.line)
		if line == "" {
			continue
		}
		if line[0] == '#' {
			if f, err := splitCSV(s.fields, commentBody(line)); err == nil {
				s.fields = f
				if l, ok := headerLayout(f, uhColumns, urlhausAliases); ok && l.has(uhURL) {
					header, s.confirmed = l, true
				}
			}
			continue
		}
		row, err := splitCSV(s.fields, line)
		s.fields = row
		if err == nil && header == nil && len(row) > 1 && !startsWithDigit(row[0]) {
			if l, ok := headerLayout(row, uhColumns, urlhausAliases); ok && l.has(uhURL) {
				header, s.confirmed = l, true
				continue
			}
		}
		if berr := s.begin(); berr != nil {
			return berr
		}
		if err == nil {
			l := header
			if l == nil {
				l, err = urlhausLayout(row)
			}
			if err == nil {
				err = fillURLhaus(&s.e, l, row)
			}
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

func fillURLhaus(e *event.Event, l layout, row []string) error {
	defaultClass(e, "malicious-code", "malware-distribution")
	u := l.get(row, uhURL)
	if u == "" {
		return fmt.Errorf("url is empty")
	}
	if err := e.Set("source.url", u); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if h := l.get(row, uhHost); h != "" {
		setHost(e, h)
	} else {
		setHost(e, urlHost(e.Source.URL))
	}
	if v := l.get(row, uhIP); v != "" {
		a, err := event.ParseIP(v)
		if err != nil {
			return fmt.Errorf("ipaddress: %w", err)
		}
		e.Source.IP = a
	}
	if err := e.Set("source.asn", l.get(row, uhASN)); err != nil {
		return fmt.Errorf("asnumber: %w", err)
	}
	if err := e.Set("source.geolocation.cc", l.get(row, uhCountry)); err != nil {
		return fmt.Errorf("country: %w", err)
	}
	if v := l.get(row, uhDateAdded); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return fmt.Errorf("dateadded: %w", err)
		}
		e.TimeSource = t
	}
	if err := e.Set("status", l.get(row, uhStatus)); err != nil {
		return fmt.Errorf("url_status: %w", err)
	}
	if err := setTimeExtra(e, "last_online", "last_online", l.get(row, uhLastOnline)); err != nil {
		return err
	}
	if v := l.get(row, uhThreat); v != "" {
		if v == "malware_download" {
			setClass(e, "malicious-code", "malware-distribution")
		}
		if err := setExtra(e, "threat", "threat", v); err != nil {
			return err
		}
	}
	if err := setExtra(e, "tags", "tags", l.get(row, uhTags)); err != nil {
		return err
	}
	if v := l.get(row, uhLink); v != "" {
		if err := e.Set("event_description.url", v); err != nil {
			return fmt.Errorf("urlhaus_link: %w", err)
		}
	}
	if err := setExtra(e, "reporter", "reporter", l.get(row, uhReporter)); err != nil {
		return err
	}
	return setInt(e, "urlhaus_id", "id", l.get(row, uhID))
}
