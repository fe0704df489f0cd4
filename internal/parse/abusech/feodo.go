package abusech

import (
	"context"
	"fmt"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// Feodo Tracker columns.
const (
	feodoFirstSeen = iota
	feodoIP
	feodoPort
	feodoStatus
	feodoLastOnline
	feodoMalware
	feodoColumns
)

var feodoAliases = map[string]int{
	"firstseenutc": feodoFirstSeen, "firstseen": feodoFirstSeen,
	"dstip": feodoIP, "ipaddress": feodoIP, "ip": feodoIP,
	"dstport": feodoPort, "port": feodoPort,
	"c2status": feodoStatus, "status": feodoStatus,
	"lastonline": feodoLastOnline,
	"malware":    feodoMalware, "family": feodoMalware,
}

// feodoLayout is the column order of a headerless row of n values: the
// current export (2021 on) has six, the 2019 one five, older ones four;
// the plain ipblocklist.txt has only the address.
func feodoLayout(n int) textreport.Layout {
	switch n {
	case 1:
		return textreport.NewLayout(feodoColumns, feodoIP)
	case 4:
		return textreport.NewLayout(feodoColumns, feodoFirstSeen, feodoIP, feodoPort, feodoMalware)
	case 5:
		return textreport.NewLayout(feodoColumns, feodoFirstSeen, feodoIP, feodoPort, feodoLastOnline, feodoMalware)
	}
	return textreport.NewLayout(feodoColumns, feodoFirstSeen, feodoIP, feodoPort, feodoStatus, feodoLastOnline, feodoMalware)
}

// Feodo returns the parser of Feodo Tracker's botnet C2 IP blocklist, the
// CSV at https://feodotracker.abuse.ch/downloads/ipblocklist.csv
// (first_seen_utc, dst_ip, dst_port, c2_status, last_online, malware),
// its older column sets and the plain ipblocklist.txt.
//
// As IntelMQ does, time.source is the last_online date (at 00:00 UTC)
// when there is one, else first_seen_utc; both are also kept as
// extra.first_seen and extra.last_online.
func Feodo() parse.Parser { return parse.Func(parseFeodo) }

func parseFeodo(ctx context.Context, in parse.Input, out parse.Output) error {
	s := textreport.NewSession(ctx, &in, out, "Feodo Tracker IP blocklist")
	var header textreport.Layout
	for s.Next() {
		line := s.Text()
		if line == "" {
			continue
		}
		if line[0] == '#' {
			if f, err := s.SplitCSV(textreport.CommentBody(line)); err == nil {
				if l, ok := textreport.HeaderLayout(f, feodoColumns, feodoAliases); ok {
					header = l
					s.Confirm()
				}
			}
			continue
		}
		row, err := s.SplitCSV(line)
		if err == nil && len(row) > 0 && !startsWithDigit(row[0]) {
			if l, ok := textreport.HeaderLayout(row, feodoColumns, feodoAliases); ok {
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
				l = feodoLayout(len(row))
			}
			err = fillFeodo(&s.Event, l, row)
		}
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
}

func fillFeodo(e *event.Event, l textreport.Layout, row []string) error {
	textreport.DefaultClass(e, "malicious-code", "c2-server")
	ip := get(l, row, feodoIP)
	if ip == "" {
		return fmt.Errorf("dst_ip is empty")
	}
	a, err := event.ParseIP(ip)
	if err != nil {
		return fmt.Errorf("dst_ip: %w", err)
	}
	e.Source.IP = a
	if err := e.Set("source.port", get(l, row, feodoPort)); err != nil {
		return fmt.Errorf("dst_port: %w", err)
	}
	if v := get(l, row, feodoFirstSeen); v != "" {
		t, err := textreport.ParseTime(v)
		if err != nil {
			return fmt.Errorf("first_seen_utc: %w", err)
		}
		e.TimeSource = t
		e.SetExtra("first_seen", event.FormatTime(t))
	}
	if v := get(l, row, feodoLastOnline); v != "" {
		t, err := textreport.ParseTime(v)
		if err != nil {
			return fmt.Errorf("last_online: %w", err)
		}
		e.TimeSource = t
		e.SetExtra("last_online", event.FormatTime(t))
	}
	if err := e.Set("status", get(l, row, feodoStatus)); err != nil {
		return fmt.Errorf("c2_status: %w", err)
	}
	return setMalware(e, "malware", get(l, row, feodoMalware))
}

// setMalware stores a malware family as malware.name and, since the family
// is what these feeds classify by, as classification.identifier.
func setMalware(e *event.Event, column, name string) error {
	if name == "" {
		return nil
	}
	if err := e.Set("malware.name", name); err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	e.Classification.Identifier = e.Malware.Name
	return nil
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }
