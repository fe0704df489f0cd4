package render

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/event"
)

// The columns WriteCSV adds after the event's fields, from the Item.
const (
	ColCount     = "count"
	ColFirstSeen = "first_seen"
	ColLastSeen  = "last_seen"
)

// csvColumns are the event fields a default CSV may have, in order; a
// column is written when at least one event has the field set. Every
// extra.* field present follows them, sorted, then count, first_seen and
// last_seen.
var csvColumns = []string{
	"time.source",
	"source.ip", "source.port", "source.asn", "source.as_name", "source.network",
	"source.fqdn", "source.reverse_dns", "source.url", "source.geolocation.cc",
	"destination.ip", "destination.port", "destination.fqdn", "destination.url",
	"classification.taxonomy", "classification.type", "classification.identifier",
	"malware.name", "malware.hash.sha256",
	"protocol.transport", "protocol.application",
	"product.vendor", "product.name", "product.version", "product.vulnerabilities",
	"severity", "event_description.text", "feed.name", "feed.code", "tlp",
}

// DefaultColumns returns the columns WriteCSV writes when given none: the
// fields of csvColumns that some item sets, the extra.* fields present,
// and count, first_seen, last_seen.
func DefaultColumns(items []Item) []string {
	var cols []string
	for _, c := range csvColumns {
		for i := range items {
			if _, ok := items[i].Event.Get(c); ok {
				cols = append(cols, c)
				break
			}
		}
	}
	var extra []string
	for i := range items {
		for k := range items[i].Event.Extra {
			if k != "" && !slices.Contains(extra, "extra."+k) {
				extra = append(extra, "extra."+k)
			}
		}
	}
	slices.Sort(extra)
	cols = append(cols, extra...)
	return append(cols, ColCount, ColFirstSeen, ColLastSeen)
}

// WriteCSV writes items as CSV (RFC 4180, LF line ends) with a header of
// IntelMQ field names; columns nil means DefaultColumns. A column may be
// any IntelMQ field, "extra.NAME", or count, first_seen or last_seen
// (the Item's; times in UTC, in the form of
// time.source). An unset field is an empty cell;
// extra values that are not strings are written as JSON.
//
// Cells are defused against CSV injection (OWASP): a cell beginning with
// '=', '+', '-', '@', TAB or CR is written with a leading "'", so that a
// spreadsheet shows it as text instead of running it as a formula. Plain
// numbers ("-12.5") are left alone: they cannot be formulas. The header is
// treated the same way (extra field names come from the feed).
func WriteCSV(w io.Writer, items []Item, columns []string) error {
	return writeCSV(w, items, columns, false)
}

// writeCSV is WriteCSV; oneLineCells also puts every cell on one line,
// for CSV shown inside the text of a mail.
func writeCSV(w io.Writer, items []Item, columns []string, oneLineCells bool) error {
	for i := range items {
		if items[i].Event == nil {
			return fmt.Errorf("csv: item %d (id %d) has no event", i, items[i].ID)
		}
	}
	if columns == nil {
		columns = DefaultColumns(items)
	}
	for _, c := range columns {
		switch {
		case c == ColCount || c == ColFirstSeen || c == ColLastSeen:
		case strings.HasPrefix(c, "extra.") && len(c) > len("extra."):
		case event.Lookup(c) != nil:
		default:
			return fmt.Errorf("csv: column %q is not an IntelMQ field, extra.NAME, %s, %s or %s", c, ColCount, ColFirstSeen, ColLastSeen)
		}
	}
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	row := make([]string, len(columns))
	for i, c := range columns {
		row[i] = defuse(c)
	}
	if err := cw.Write(row); err != nil {
		return err
	}
	for i := range items {
		it := &items[i]
		for j, c := range columns {
			var s string
			switch c {
			case ColCount:
				s = strconv.FormatInt(max(it.Count, 1), 10)
			case ColFirstSeen:
				s = csvTime(it.FirstSeen)
			case ColLastSeen:
				s = csvTime(it.LastSeen)
			default:
				s = it.Event.GetString(c)
			}
			if oneLineCells {
				s = oneLine(s, 0)
			}
			row[j] = defuse(s)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return event.FormatTime(t)
}

// defuse prefixes s with "'" when a spreadsheet would take it for a
// formula (see WriteCSV).
func defuse(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if isSignedNumber(s) {
			return s
		}
		return "'" + s
	}
	if r, _ := utf8.DecodeRuneInString(s); r == '＝' || r == '＋' || r == '－' || r == '＠' {
		// Full-width forms, which some spreadsheets fold to ASCII.
		return "'" + s
	}
	return s
}

// isSignedNumber reports whether s is a plain decimal number: a sign, digits, at
// most one '.', nothing else.
func isSignedNumber(s string) bool {
	s = s[1:]
	if s == "" {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return s != "."
}
