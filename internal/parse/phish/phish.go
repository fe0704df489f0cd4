// Package phish reads phishing URL feeds: OpenPhish's public feed
// (format "openphish": one URL per line) and PhishTank's CSV dump
// ("phishtank": phish_id, url, phish_detail_url, submission_time,
// verified, verification_time, online, target).
//
// The phishing URL is source.url and its host source.fqdn or source.ip,
// so the event can be matched to the host's owner. As in IntelMQ's
// parsers, PhishTank's detail page is event_description.url, its target
// brand event_description.target and its submission time time.source.
// The classification is the feed's; a feed with none gets IntelMQ's,
// fraud/phishing.
package phish

import (
	"context"
	"fmt"
	"strings"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
)

// New returns the parser for format, and whether this package has one.
func New(format string) (parse.Parser, bool) {
	switch format {
	case "openphish":
		return OpenPhish(), true
	case "phishtank":
		return PhishTank(), true
	}
	return nil, false
}

// Formats lists the formats New knows.
var Formats = []string{"openphish", "phishtank"}

// OpenPhish returns the parser of OpenPhish's feed.txt: one URL per line.
// Blank lines and lines starting with '#' are skipped.
func OpenPhish() parse.Parser { return parse.Func(parseOpenPhish) }

func parseOpenPhish(ctx context.Context, in parse.Input, out parse.Output) error {
	s := newSession(ctx, &in, out, "OpenPhish URL list")
	for s.next() {
		if cut, err := s.tooLong(); cut {
			if err != nil {
				return err
			}
			continue
		}
		line := strings.TrimSpace(string(s.sc.line))
		if line == "" || line[0] == '#' {
			continue
		}
		if err := s.begin(); err != nil {
			return err
		}
		defaultClass(&s.e, "fraud", "phishing")
		var err error
		if strings.IndexAny(line, " \t<>\"") >= 0 {
			err = fmt.Errorf("url: %q is not a URL", line)
		} else {
			err = setURL(&s.e, "url", line)
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

// PhishTank columns.
const (
	ptID = iota
	ptURL
	ptDetail
	ptSubmitted
	ptVerified
	ptVerifiedAt
	ptOnline
	ptTarget
	ptColumns
)

var phishtankAliases = map[string]int{
	"phishid": ptID, "url": ptURL, "phishdetailurl": ptDetail, "submissiontime": ptSubmitted,
	"verified": ptVerified, "verificationtime": ptVerifiedAt, "online": ptOnline, "target": ptTarget,
}

var phishtankLayout = newLayout(ptColumns, ptID, ptURL, ptDetail, ptSubmitted, ptVerified, ptVerifiedAt, ptOnline, ptTarget)

// PhishTank returns the parser of PhishTank's CSV dump
// (https://data.phishtank.com/data/online-valid.csv). The header names
// the columns; without one the columns are taken in the documented order.
// phish_id is extra.phish_id, verified extra.verified,
// verification_time extra.verification_time, and online ("yes"/"no") is
// status "online" or "offline".
func PhishTank() parse.Parser { return parse.Func(parsePhishTank) }

func parsePhishTank(ctx context.Context, in parse.Input, out parse.Output) error {
	s := newSession(ctx, &in, out, "PhishTank CSV")
	var header layout
	for s.next() {
		if cut, err := s.tooLong(); cut {
			if err != nil {
				return err
			}
			continue
		}
		line := string(s.sc.line)
		if strings.TrimSpace(line) == "" {
			continue
		}
		row, err := splitCSV(s.fields, line)
		s.fields = row
		if err == nil && header == nil && !isDigits(row[0]) {
			if l, ok := headerLayout(row, ptColumns, phishtankAliases); ok && l[ptURL] >= 0 {
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
				l = phishtankLayout
				if len(row) != ptColumns {
					err = fmt.Errorf("want the %d values of PhishTank's CSV (phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target), got %d", ptColumns, len(row))
				}
			}
			if err == nil {
				err = fillPhishTank(&s.e, l, row)
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

func fillPhishTank(e *event.Event, l layout, row []string) error {
	defaultClass(e, "fraud", "phishing")
	u := l.get(row, ptURL)
	if u == "" {
		return fmt.Errorf("url is empty")
	}
	if err := setURL(e, "url", u); err != nil {
		return err
	}
	if err := setInt(e, "phish_id", "phish_id", l.get(row, ptID)); err != nil {
		return err
	}
	if err := e.Set("event_description.url", l.get(row, ptDetail)); err != nil {
		return fmt.Errorf("phish_detail_url: %w", err)
	}
	if v := l.get(row, ptSubmitted); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return fmt.Errorf("submission_time: %w", err)
		}
		e.TimeSource = t
	}
	if v := l.get(row, ptVerified); v != "" {
		b, err := event.ParseBool(v)
		if err != nil {
			return fmt.Errorf("verified: %w", err)
		}
		e.SetExtra("verified", b)
	}
	if err := setTimeExtra(e, "verification_time", "verification_time", l.get(row, ptVerifiedAt)); err != nil {
		return err
	}
	if v := l.get(row, ptOnline); v != "" {
		b, err := event.ParseBool(v)
		if err != nil {
			return fmt.Errorf("online: %w", err)
		}
		e.Status = "offline"
		if b {
			e.Status = "online"
		}
	}
	if err := e.Set("event_description.target", l.get(row, ptTarget)); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	return nil
}
