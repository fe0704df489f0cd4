package abusech

import (
	"context"
	"fmt"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
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
func feodoLayout(n int) layout {
	switch n {
	case 1:
		return newLayout(feodoColumns, feodoIP)
	case 4:
		return newLayout(feodoColumns, feodoFirstSeen, feodoIP, feodoPort, feodoMalware)
	case 5:
		return newLayout(feodoColumns, feodoFirstSeen, feodoIP, feodoPort, feodoLastOnline, feodoMalware)
	}
	return newLayout(feodoColumns, feodoFirstSeen, feodoIP, feodoPort, feodoStatus, feodoLastOnline, feodoMalware)
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
	s := newSession(ctx, &in, out, "Feodo Tracker IP blocklist")
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
				if l, ok := headerLayout(f, feodoColumns, feodoAliases); ok {
					header, s.confirmed = l, true
				}
			}
			continue
		}
		row, err := splitCSV(s.fields, line)
		s.fields = row
		if err == nil && len(row) > 0 && !startsWithDigit(row[0]) {
			if l, ok := headerLayout(row, feodoColumns, feodoAliases); ok {
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
				l = feodoLayout(len(row))
			}
			err = fillFeodo(&s.e, l, row)
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

func fillFeodo(e *event.Event, l layout, row []string) error {
	defaultClass(e, "malicious-code", "c2-server")
	ip := l.get(row, feodoIP)
	if ip == "" {
		return fmt.Errorf("dst_ip is empty")
	}
	a, err := event.ParseIP(ip)
	if err != nil {
		return fmt.Errorf("dst_ip: %w", err)
	}
	e.Source.IP = a
	if err := e.Set("source.port", l.get(row, feodoPort)); err != nil {
		return fmt.Errorf("dst_port: %w", err)
	}
	if v := l.get(row, feodoFirstSeen); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return fmt.Errorf("first_seen_utc: %w", err)
		}
		e.TimeSource = t
		e.SetExtra("first_seen", event.FormatTime(t))
	}
	if v := l.get(row, feodoLastOnline); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return fmt.Errorf("last_online: %w", err)
		}
		e.TimeSource = t
		e.SetExtra("last_online", event.FormatTime(t))
	}
	if err := e.Set("status", l.get(row, feodoStatus)); err != nil {
		return fmt.Errorf("c2_status: %w", err)
	}
	return setMalware(e, "malware", l.get(row, feodoMalware))
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
