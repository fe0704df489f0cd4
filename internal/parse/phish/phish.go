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
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// ErrFormat is returned when a report is not in the format its feed names
// (see textreport.ErrFormat).
var ErrFormat = textreport.ErrFormat

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
	s := textreport.NewSession(ctx, &in, out, "OpenPhish URL list")
	for s.Next() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := s.Begin(); err != nil {
			return err
		}
		textreport.DefaultClass(&s.Event, "fraud", "phishing")
		var err error
		if strings.ContainsAny(line, " \t<>\"") {
			err = fmt.Errorf("url: %q is not a URL", line)
		} else {
			err = textreport.SetURL(&s.Event, "url", line)
		}
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
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

var phishtankLayout = textreport.NewLayout(ptColumns, ptID, ptURL, ptDetail, ptSubmitted, ptVerified, ptVerifiedAt, ptOnline, ptTarget)

// PhishTank returns the parser of PhishTank's CSV dump
// (https://data.phishtank.com/data/online-valid.csv). The header names
// the columns; without one the columns are taken in the documented order.
// phish_id is extra.phish_id, verified extra.verified,
// verification_time extra.verification_time, and online ("yes"/"no") is
// status "online" or "offline".
func PhishTank() parse.Parser { return parse.Func(parsePhishTank) }

func parsePhishTank(ctx context.Context, in parse.Input, out parse.Output) error {
	s := textreport.NewSession(ctx, &in, out, "PhishTank CSV")
	var header textreport.Layout
	for s.Next() {
		line := s.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		row, err := s.SplitCSV(line)
		if err == nil && header == nil && !textreport.IsDigits(row[0]) {
			if l, ok := textreport.HeaderLayout(row, ptColumns, phishtankAliases); ok && l.Has(ptURL) {
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
				l = phishtankLayout
				if len(row) != ptColumns {
					err = fmt.Errorf("want the %d values of PhishTank's CSV (phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target), got %d", ptColumns, len(row))
				}
			}
			if err == nil {
				err = fillPhishTank(&s.Event, l, row)
			}
		}
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
}

func fillPhishTank(e *event.Event, l textreport.Layout, row []string) error {
	textreport.DefaultClass(e, "fraud", "phishing")
	u := l.Get(row, ptURL)
	if u == "" {
		return fmt.Errorf("url is empty")
	}
	if err := textreport.SetURL(e, "url", u); err != nil {
		return err
	}
	if err := textreport.SetInt(e, "phish_id", "phish_id", l.Get(row, ptID)); err != nil {
		return err
	}
	if err := e.Set("event_description.url", l.Get(row, ptDetail)); err != nil {
		return fmt.Errorf("phish_detail_url: %w", err)
	}
	if v := l.Get(row, ptSubmitted); v != "" {
		t, err := textreport.ParseTime(v)
		if err != nil {
			return fmt.Errorf("submission_time: %w", err)
		}
		e.TimeSource = t
	}
	if v := l.Get(row, ptVerified); v != "" {
		b, err := event.ParseBool(v)
		if err != nil {
			return fmt.Errorf("verified: %w", err)
		}
		e.SetExtra("verified", b)
	}
	if err := textreport.SetTimeExtra(e, "verification_time", "verification_time", l.Get(row, ptVerifiedAt)); err != nil {
		return err
	}
	if v := l.Get(row, ptOnline); v != "" {
		b, err := event.ParseBool(v)
		if err != nil {
			return fmt.Errorf("online: %w", err)
		}
		e.Status = "offline"
		if b {
			e.Status = "online"
		}
	}
	if err := e.Set("event_description.target", l.Get(row, ptTarget)); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	return nil
}
