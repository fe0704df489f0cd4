// Package stats aggregates events into reports: the monthly report of one
// organisation (every infected IP and every vulnerable service it had in a
// month).
package stats

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/store"
)

// Events is where the events come from (a store.Store).
type Events interface {
	Events(ctx context.Context, f store.Filter) iter.Seq2[*store.Event, error]
}

// Row is one line of the monthly report: an infected IP (Kind "infected")
// or a vulnerable service (Kind "vulnerable") or anything else seen on the
// organisation's assets (Kind "other"), with when it was seen that month.
type Row struct {
	Kind       string
	Type       string // classification.type
	IP         string
	Port       string
	What       string // malware family, or the identifier of the vulnerability / service
	Feed       string
	FirstSeen  time.Time
	LastSeen   time.Time
	Count      int64 // reports of it that month
	Days       int   // distinct days it was seen (one event per day and feed)
	Identifier string
}

// Monthly is one organisation's month.
type Monthly struct {
	Org   string
	Month time.Time // first instant of the month, UTC
	Rows  []Row     // infected first, then vulnerable, then other; by IP within each
}

// Count returns how many rows are of kind.
func (m *Monthly) Count(kind string) int {
	n := 0
	for _, r := range m.Rows {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

// BuildMonthly reads the events of org last seen in the month that holds
// month (UTC) and aggregates them: one row per infected IP and malware,
// one per vulnerable IP, port and kind of vulnerability.
func BuildMonthly(ctx context.Context, evs Events, org string, month time.Time) (*Monthly, error) {
	start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	m := &Monthly{Org: org, Month: start}
	rows := map[string]*Row{}
	bases := map[int64]*event.Base{}
	for se, err := range evs.Events(ctx, store.Filter{Org: org, Since: start}) {
		if err != nil {
			return nil, err
		}
		if !se.FirstSeen.Before(end) {
			continue
		}
		var base *event.Base
		if se.Base != nil {
			if base = bases[se.ReportID]; base == nil {
				if base, err = event.ParseBase(se.Base); err != nil {
					return nil, fmt.Errorf("event %d: %w", se.ID, err)
				}
				bases[se.ReportID] = base
			}
		}
		var e event.Event
		if err := e.UnmarshalBinaryDelta(se.Doc, base); err != nil {
			return nil, fmt.Errorf("event %d: %w", se.ID, err)
		}
		r := rowOf(&e)
		k := strings.Join([]string{r.Kind, r.Type, r.IP, r.Port, r.What}, "\x00")
		have := rows[k]
		if have == nil {
			r.FirstSeen, r.LastSeen = se.FirstSeen, se.LastSeen
			have = &r
			rows[k] = have
		}
		have.FirstSeen = minTime(have.FirstSeen, se.FirstSeen)
		have.LastSeen = maxTime(have.LastSeen, se.LastSeen)
		have.Count += se.Count
		have.Days++
	}
	for _, r := range rows {
		m.Rows = append(m.Rows, *r)
	}
	rank := map[string]int{"infected": 0, "vulnerable": 1, "other": 2}
	slices.SortFunc(m.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(rank[a.Kind], rank[b.Kind]), cmp.Compare(a.IP, b.IP), cmp.Compare(a.Port, b.Port), cmp.Compare(a.What, b.What), cmp.Compare(a.Type, b.Type))
	})
	return m, nil
}

func rowOf(e *event.Event) Row {
	r := Row{Type: e.Classification.Type, Feed: e.Feed.Name, Identifier: e.Classification.Identifier}
	if e.Source.IP.IsValid() {
		r.IP = e.Source.IP.String()
	} else if e.Source.FQDN != "" {
		r.IP = e.Source.FQDN
	} else {
		r.IP = e.Source.URL
	}
	if e.Source.Port.Set {
		r.Port = strconv.Itoa(int(e.Source.Port.V))
	}
	switch {
	case e.Classification.Type == "infected-system" || e.Classification.Taxonomy == "malicious-code":
		r.Kind, r.What = "infected", cmp.Or(e.Malware.Name, e.Classification.Identifier)
	case e.Classification.Taxonomy == "vulnerable":
		r.Kind, r.What = "vulnerable", cmp.Or(e.Classification.Identifier, e.Protocol.Application)
		if e.Product.Vulnerabilities != "" {
			r.What += " " + e.Product.Vulnerabilities
		}
	default:
		r.Kind, r.What = "other", e.Classification.Identifier
	}
	return r
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// CSVHeader is the monthly report's CSV header.
var CSVHeader = []string{"kind", "classification.type", "source.ip", "source.port", "what", "feed.name", "first_seen", "last_seen", "count", "days"}

// WriteCSV writes the rows as CSV. Cells that a spreadsheet would run as
// a formula are prefixed with an apostrophe.
func (m *Monthly) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	for _, r := range m.Rows {
		cw.Write([]string{r.Kind, r.Type, safeCell(r.IP), r.Port, safeCell(r.What), r.Feed,
			r.FirstSeen.UTC().Format(time.RFC3339), r.LastSeen.UTC().Format(time.RFC3339),
			strconv.FormatInt(r.Count, 10), strconv.Itoa(r.Days)})
	}
	cw.Flush()
	return cw.Error()
}

func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Summary is a few lines of text: what the month held.
func (m *Monthly) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Monthly report for %s, %s\n\n", m.Org, m.Month.Format("January 2006"))
	inf, vul, oth := m.Count("infected"), m.Count("vulnerable"), m.Count("other")
	fmt.Fprintf(&b, "Infected systems (IP and malware): %d\n", inf)
	fmt.Fprintf(&b, "Vulnerable services (IP, port and kind): %d\n", vul)
	fmt.Fprintf(&b, "Other observations: %d\n", oth)
	types := map[string]int{}
	for _, r := range m.Rows {
		types[r.Kind+" / "+r.What]++
	}
	if len(types) > 0 {
		b.WriteString("\nBy kind:\n")
		ks := make([]string, 0, len(types))
		for k := range types {
			ks = append(ks, k)
		}
		slices.SortFunc(ks, func(a, b string) int { return cmp.Or(-cmp.Compare(types[a], types[b]), cmp.Compare(a, b)) })
		for _, k := range ks {
			fmt.Fprintf(&b, "  %5d  %s\n", types[k], k)
		}
	}
	return b.String()
}
