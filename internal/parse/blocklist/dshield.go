package blocklist

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// DShieldBlock returns the parser of DShield's recommended block list
// (https://feeds.dshield.org/block.txt): the top attacking /24 networks of
// the last three days, tab-separated as start, end, netblock (the prefix
// length), attacks, network name, country, abuse e-mail.
//
// As IntelMQ's parser does, start/netblock is source.network, attacks
// extra.attacks, the name extra.network_name, the country
// source.geolocation.cc and the e-mail source.abuse_contact; time.source
// is the list's "updated:" time.
func DShieldBlock() parse.Parser { return parse.Func(parseDShield) }

func parseDShield(ctx context.Context, in parse.Input, out parse.Output) error {
	s := textreport.NewSession(ctx, &in, out, "DShield block list")
	var updated time.Time
	for s.Next() {
		line := strings.TrimRight(s.Text(), " \t")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == '#' {
			if t, ok := dshieldUpdated(line); ok {
				updated = t
			}
			if strings.Contains(line, "DShield") {
				s.Confirm()
			}
			continue
		}
		if strings.HasPrefix(line, "Start\t") {
			s.Confirm()
			continue
		}
		if err := s.Begin(); err != nil {
			return err
		}
		s.Event.TimeSource = updated
		if err := s.Finish(fillDShield(&s.Event, strings.Split(line, "\t"))); err != nil {
			return err
		}
	}
	return s.Err()
}

func fillDShield(e *event.Event, f []string) error {
	textreport.DefaultClass(e, "other", "blacklist")
	if len(f) < 3 {
		return fmt.Errorf("want start, end and netblock separated by tabs, got %d values", len(f))
	}
	start, bits := strings.TrimSpace(f[0]), strings.TrimSpace(f[2])
	if _, err := event.ParseIP(start); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if !textreport.IsDigits(bits) {
		return fmt.Errorf("netblock: %q is not a prefix length", bits)
	}
	if err := e.Set("source.network", start+"/"+bits); err != nil {
		return fmt.Errorf("start/netblock: %w", err)
	}
	if _, err := event.ParseIP(strings.TrimSpace(f[1])); err != nil {
		return fmt.Errorf("end: %w", err)
	}
	// DShield writes "-" for a value it does not know.
	get := func(i int) string {
		if i < len(f) {
			if v := strings.TrimSpace(f[i]); v != "-" {
				return v
			}
		}
		return ""
	}
	if v := get(3); v != "" {
		if !textreport.IsDigits(v) {
			return fmt.Errorf("attacks: %q is not a number", v)
		}
		if err := textreport.SetInt(e, "attacks", "attacks", v); err != nil {
			return err
		}
	}
	if err := textreport.SetExtra(e, "network_name", "name", get(4)); err != nil {
		return err
	}
	if err := e.Set("source.geolocation.cc", get(5)); err != nil {
		return fmt.Errorf("country: %w", err)
	}
	if err := e.Set("source.abuse_contact", get(6)); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return nil
}

// dshieldUpdated reads "#    updated: Tue Dec 15 15:33:38 2015 UTC".
func dshieldUpdated(line string) (time.Time, bool) {
	v, ok := strings.CutPrefix(textreport.CommentBody(line), "updated:")
	if !ok {
		return time.Time{}, false
	}
	v = strings.TrimSpace(v)
	if t, err := time.Parse("Mon Jan _2 15:04:05 2006 MST", v); err == nil {
		return t.UTC(), true
	}
	t, err := event.ParseTime(v)
	return t, err == nil
}
