package abusech

import (
	"context"
	"fmt"
	"strings"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// SSLBL returns the parser of SSLBL's botnet C2 IP blacklist,
// https://sslbl.abuse.ch/blacklist/sslipblacklist.csv. Rows are either
// "Firstseen,DstIP,DstPort" (the current export) or "DstIP,DstPort" with
// a listing reason such as "Dridex C&C" (exports up to 2017), whose
// family becomes malware.name and whose text event_description.text.
func SSLBL() parse.Parser { return parse.Func(parseSSLBL) }

func parseSSLBL(ctx context.Context, in parse.Input, out parse.Output) error {
	s := textreport.NewSession(ctx, &in, out, "SSLBL IP blacklist")
	for s.Next() {
		line := s.Text()
		if line == "" {
			continue
		}
		if line[0] == '#' {
			if b := strings.ToLower(textreport.CommentBody(line)); strings.HasPrefix(b, "dstip,") || strings.HasPrefix(b, "firstseen,") {
				s.Confirm()
			}
			continue
		}
		if err := s.Begin(); err != nil {
			return err
		}
		row, err := s.SplitCSV(line)
		if err == nil {
			err = fillSSLBL(&s.Event, row)
		}
		if err := s.Finish(err); err != nil {
			return err
		}
	}
	return s.Err()
}

func fillSSLBL(e *event.Event, row []string) error {
	textreport.DefaultClass(e, "malicious-code", "c2-server")
	if len(row) < 2 {
		return fmt.Errorf("want DstIP,DstPort or Firstseen,DstIP,DstPort, got %d values", len(row))
	}
	if len(row[0]) >= 10 && row[0][4] == '-' {
		t, err := textreport.ParseTime(row[0])
		if err != nil {
			return fmt.Errorf("column Firstseen: %w", err)
		}
		e.TimeSource = t
		row = row[1:]
	}
	a, err := event.ParseIP(row[0])
	if err != nil {
		return fmt.Errorf("column DstIP: %w", err)
	}
	e.Source.IP = a
	if len(row) > 1 {
		if err := e.Set("source.port", row[1]); err != nil {
			return fmt.Errorf("column DstPort: %w", err)
		}
	}
	if len(row) > 2 && row[2] != "" {
		reason := row[2]
		if err := e.Set("event_description.text", reason); err != nil {
			return fmt.Errorf("reason: %w", err)
		}
		family := strings.TrimSpace(strings.TrimSuffix(reason, "C&C"))
		if err := setMalware(e, "reason", family); err != nil {
			return err
		}
	}
	return nil
}
