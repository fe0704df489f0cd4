package textreport

import (
	"errors"
	"fmt"
	"strings"
)

// ErrQuote is SplitCSV's error for a quoted value without its closing
// quote.
var ErrQuote = errors.New("a quoted value has no closing quote")

// SplitCSV splits one line of comma-separated values into dst, reusing
// its storage. A quoted value may hold commas and doubled quotes; blanks
// around values are dropped (ThreatFox writes `"a", "b"`). The fields
// share line's memory unless they held doubled quotes.
func SplitCSV(dst []string, line string) ([]string, error) {
	dst = dst[:0]
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i < len(line) && line[i] == '"' {
			start := i + 1
			j := start
			escaped := false
			for {
				k := strings.IndexByte(line[j:], '"')
				if k < 0 {
					return dst, ErrQuote
				}
				j += k
				if j+1 < len(line) && line[j+1] == '"' {
					escaped = true
					j += 2
					continue
				}
				break
			}
			f := line[start:j]
			if escaped {
				f = strings.ReplaceAll(f, `""`, `"`)
			}
			dst = append(dst, f)
			j++
			for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
				j++
			}
			if j == len(line) {
				return dst, nil
			}
			if line[j] != ',' {
				return dst, fmt.Errorf("column %d: text after a closing quote", len(dst))
			}
			i = j + 1
			continue
		}
		k := strings.IndexByte(line[i:], ',')
		if k < 0 {
			return append(dst, strings.TrimRight(line[i:], " \t")), nil
		}
		dst = append(dst, strings.TrimRight(line[i:i+k], " \t"))
		i += k + 1
	}
}

// Layout maps a format's columns (its own small integer constants, from 0)
// to their positions in a row; -1 is a column the report does not have.
type Layout []int

// NewLayout returns a Layout of n columns placed as in order.
func NewLayout(n int, order ...int) Layout {
	l := make(Layout, n)
	for i := range l {
		l[i] = -1
	}
	for pos, c := range order {
		l[c] = pos
	}
	return l
}

// HeaderLayout reads a header row of a format of n columns: every value
// must name a column known by aliases (keyed by NormName), and there must
// be two or more. Where two values name one column, the first counts.
func HeaderLayout(fields []string, n int, aliases map[string]int) (Layout, bool) {
	if len(fields) < 2 {
		return nil, false
	}
	l := make(Layout, n)
	for i := range l {
		l[i] = -1
	}
	for pos, f := range fields {
		c, ok := aliases[NormName(f)]
		if !ok {
			return nil, false
		}
		if l[c] < 0 {
			l[c] = pos
		}
	}
	return l, true
}

// NormName reduces a column name to lower-case letters and digits:
// "Dateadded (UTC)" and "date_added_utc" are both "dateaddedutc".
func NormName(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	return string(b)
}

// Get returns column c of row, or "" when the report has no such column
// or the row is too short to hold it.
func (l Layout) Get(row []string, c int) string {
	i := l[c]
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}

// Has reports whether the report has column c.
func (l Layout) Has(c int) bool { return l[c] >= 0 }
