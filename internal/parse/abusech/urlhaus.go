package abusech

import (
	"context"
	"fmt"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
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
func urlhausLayout(row []string) (textreport.Layout, error) {
	switch len(row) {
	case 1: // https://urlhaus.abuse.ch/downloads/text/
		return textreport.NewLayout(uhColumns, uhURL), nil
	case 9: // the CSV dump since 2021
		return textreport.NewLayout(uhColumns, uhID, uhDateAdded, uhURL, uhStatus, uhLastOnline, uhThreat, uhTags, uhLink, uhReporter), nil
	case 8:
		if textreport.IsDigits(row[0]) { // the CSV dump before last_online
			return textreport.NewLayout(uhColumns, uhID, uhDateAdded, uhURL, uhStatus, uhThreat, uhTags, uhLink, uhReporter), nil
		}
		// the country, ASN and TLD feeds
		return textreport.NewLayout(uhColumns, uhDateAdded, uhURL, uhStatus, uhThreat, uhHost, uhIP, uhASN, uhCountry), nil
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
	s := textreport.NewSession(ctx, &in, out, "URLhaus CSV")
	var header textreport.Layout
	for s.Next() {
		line := s.Text()
		if line == "" {
			continue
		}
		if line[0] == '#' {
			if f, err := s.SplitCSV(textreport.CommentBody(line)); err == nil {
				if l, ok := textreport.HeaderLayout(f, uhColumns, urlhausAliases); ok && l.Has(uhURL) {
					header = l
					s.Confirm()
				}
			}
			continue
		}
		row, err := s.SplitCSV(line)
		if err == nil && header == nil && len(row) > 1 && !startsWithDigit(row[0]) {
			if l, ok := textreport.HeaderLayout(row, uhColumns, urlhausAliases); ok && l.Has(uhURL) {
				header = l
				s.Confirm()
				continue
			}
		}
		if berr := s.Begin(); berr != nil {
			return berr
		}
		if err == nil {
			l := header
			if l == nil {
				l, err = urlhausLayout(row)
			}
			if err == nil {
				err = fillURLhaus(&s.Event, l, row)
			}
		}
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
}

func fillURLhaus(e *event.Event, l textreport.Layout, row []string) error {
	textreport.DefaultClass(e, "malicious-code", "malware-distribution")
	u := get(l, row, uhURL)
	if u == "" {
		return fmt.Errorf("url is empty")
	}
	if err := e.Set("source.url", u); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if h := get(l, row, uhHost); h != "" {
		textreport.SetHost(e, h)
	} else {
		textreport.SetHost(e, textreport.URLHost(e.Source.URL))
	}
	if v := get(l, row, uhIP); v != "" {
		a, err := event.ParseIP(v)
		if err != nil {
			return fmt.Errorf("ipaddress: %w", err)
		}
		e.Source.IP = a
	}
	if err := e.Set("source.asn", get(l, row, uhASN)); err != nil {
		return fmt.Errorf("asnumber: %w", err)
	}
	if err := e.Set("source.geolocation.cc", get(l, row, uhCountry)); err != nil {
		return fmt.Errorf("country: %w", err)
	}
	if v := get(l, row, uhDateAdded); v != "" {
		t, err := textreport.ParseTime(v)
		if err != nil {
			return fmt.Errorf("dateadded: %w", err)
		}
		e.TimeSource = t
	}
	if err := e.Set("status", get(l, row, uhStatus)); err != nil {
		return fmt.Errorf("url_status: %w", err)
	}
	if err := textreport.SetTimeExtra(e, "last_online", "last_online", get(l, row, uhLastOnline)); err != nil {
		return err
	}
	if v := get(l, row, uhThreat); v != "" {
		if v == "malware_download" {
			textreport.SetClass(e, "malicious-code", "malware-distribution")
		}
		if err := textreport.SetExtra(e, "threat", "threat", v); err != nil {
			return err
		}
	}
	if err := textreport.SetExtra(e, "tags", "tags", get(l, row, uhTags)); err != nil {
		return err
	}
	if v := get(l, row, uhLink); v != "" {
		if err := e.Set("event_description.url", v); err != nil {
			return fmt.Errorf("urlhaus_link: %w", err)
		}
	}
	if err := textreport.SetExtra(e, "reporter", "reporter", get(l, row, uhReporter)); err != nil {
		return err
	}
	return textreport.SetInt(e, "urlhaus_id", "id", get(l, row, uhID))
}
