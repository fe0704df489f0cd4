package abusech

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
)

// ErrFormat is returned when a report is not in the format its feed names:
// its first record could not be read and nothing in it (a header, an
// earlier good row) showed it to be of that format.
var ErrFormat = errors.New("report is not in the feed's format")

// maxLine bounds one line; a longer line is rejected, not read.
const maxLine = 1 << 20

// scanner reads a report line by line. Lines end in "\n" or "\r\n"; a
// leading UTF-8 byte order mark is dropped.
type scanner struct {
	r       *bufio.Reader
	line    []byte // the current line, without its end
	n       int    // the current line's 1-based number
	tooLong bool   // the current line was longer than maxLine and is cut
	long    []byte
	err     error
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: bufio.NewReaderSize(r, 64<<10)}
}

func (s *scanner) next() bool {
	if s.err != nil {
		return false
	}
	s.n++
	s.tooLong = false
	b, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = s.r.ReadSlice('\n')
			if len(s.long)+len(b) <= maxLine {
				s.long = append(s.long, b...)
			} else {
				s.tooLong = true
			}
		}
		b = s.long
	}
	if err != nil {
		s.err = err
		if err != io.EOF || len(b) == 0 {
			return false
		}
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	if s.n == 1 && len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		b = b[3:]
	}
	s.line = b
	return true
}

// Err returns the read error that ended the scan, if any.
func (s *scanner) Err() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

// session is the state of one Parse: the input, the output, the line
// scanner and the one Event every record reuses.
type session struct {
	ctx  context.Context
	in   *parse.Input
	out  parse.Output
	sc   *scanner
	e    event.Event
	what string // the format's name, for messages
	// confirmed is set once the report has shown it is of the format: a
	// header was recognised or a record was read. Until then a bad
	// record is a whole-report error (ErrFormat), since a report of
	// another kind would otherwise become one reject per line.
	confirmed bool
	fields    []string
}

func newSession(ctx context.Context, in *parse.Input, out parse.Output, what string) *session {
	return &session{ctx: ctx, in: in, out: out, sc: newScanner(in.R), what: what}
}

// next moves to the next line; it stops at the end of the report, on a
// read error and when ctx is done (see err).
func (s *session) next() bool {
	if s.sc.n&1023 == 1023 && s.ctx.Err() != nil {
		return false
	}
	return s.sc.next()
}

// err returns why next stopped, nil at the end of the report.
func (s *session) err() error {
	if err := s.sc.Err(); err != nil {
		return fmt.Errorf("read %s: line %d: %w", s.what, s.sc.n, err)
	}
	return s.ctx.Err()
}

// begin resets the event for a new record with the feed's defaults.
func (s *session) begin() error {
	if err := parse.Begin(&s.e, s.in); err != nil {
		return fmt.Errorf("feed %q: %w", s.in.Feed.Name, err)
	}
	return nil
}

// emit validates the current event and hands it on; an invalid event is
// rejected.
func (s *session) emit() error {
	s.e.Raw = append(s.e.Raw[:0], s.sc.line...)
	if err := s.e.Validate(); err != nil {
		return s.reject(err)
	}
	s.confirmed = true
	return s.out.Event(&s.e, s.sc.n)
}

// reject quarantines the current line with reason, or, while the report
// has not shown it is of the format, ends the parse with ErrFormat.
func (s *session) reject(reason error) error {
	if !s.confirmed {
		return fmt.Errorf("%w: not a %s: line %d: %v", ErrFormat, s.what, s.sc.n, reason)
	}
	return s.out.Reject(s.sc.n, s.sc.line, reason)
}

// tooLong rejects the current line if it was cut; it reports whether it did.
func (s *session) tooLong() (bool, error) {
	if !s.sc.tooLong {
		return false, nil
	}
	return true, s.reject(fmt.Errorf("line is longer than %d bytes", maxLine))
}

var errQuote = errors.New("a quoted value has no closing quote")

// splitCSV splits one line of comma-separated values into dst, reusing
// its storage. A quoted value may hold commas and doubled quotes; blanks
// around values are dropped (ThreatFox writes `"a", "b"`). The fields
// share line's memory unless they held doubled quotes.
func splitCSV(dst []string, line string) ([]string, error) {
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
					return dst, errQuote
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

// layout maps a format's columns (its own small integer constants) to
// their positions in a row; -1 is a column the report does not have.
type layout []int

// newLayout returns a layout of n columns placed as in order.
func newLayout(n int, order ...int) layout {
	l := make(layout, n)
	for i := range l {
		l[i] = -1
	}
	for pos, c := range order {
		l[c] = pos
	}
	return l
}

// headerLayout reads a header row: every value must name a column known
// by aliases (see normName), and there must be two or more.
func headerLayout(fields []string, n int, aliases map[string]int) (layout, bool) {
	if len(fields) < 2 {
		return nil, false
	}
	l := make(layout, n)
	for i := range l {
		l[i] = -1
	}
	for pos, f := range fields {
		c, ok := aliases[normName(f)]
		if !ok {
			return nil, false
		}
		if l[c] < 0 {
			l[c] = pos
		}
	}
	return l, true
}

// normName reduces a column name to lower-case letters and digits:
// "Dateadded (UTC)" and "date_added_utc" are both "dateaddedutc".
func normName(s string) string {
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

// get returns column c of row, or "" when the report has no such column.
// abuse.ch writes "None" for an empty value; that is "" too.
func (l layout) get(row []string, c int) string {
	i := l[c]
	if i < 0 || i >= len(row) {
		return ""
	}
	v := row[i]
	if v == "None" {
		return ""
	}
	return v
}

// has reports whether the report has column c.
func (l layout) has(c int) bool { return l[c] >= 0 }

// commentBody returns a '#' comment line without its '#'s and blanks.
func commentBody(line string) string {
	return strings.TrimSpace(strings.TrimLeft(line, "#"))
}

// parseTime reads a date and time of an abuse.ch export: "2006-01-02
// 15:04:05" (UTC) and "2006-01-02" quickly, anything event.ParseTime
// reads otherwise.
func parseTime(s string) (time.Time, error) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' && isDigits(s[:4]) && isDigits(s[5:7]) && isDigits(s[8:]) {
		y, _ := strconv.Atoi(s[:4])
		m, _ := strconv.Atoi(s[5:7])
		d, _ := strconv.Atoi(s[8:])
		if m >= 1 && m <= 12 && d >= 1 && d <= 31 {
			t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
			if t.Day() == d {
				return t, nil
			}
		}
	}
	return event.ParseTime(s)
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// setBool stores a truth value ("0"/"1", "True"/"False") under extra.key.
func setBool(e *event.Event, key, column, v string) error {
	if v == "" {
		return nil
	}
	b, err := event.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	e.SetExtra(key, b)
	return nil
}

// setExtra stores the text v, when there is one, under extra.key; the
// error (a value too long to keep) names the column.
func setExtra(e *event.Event, key, column, v string) error {
	if v == "" {
		return nil
	}
	if err := e.Set("extra."+key, v); err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	return nil
}

// setInt stores v under extra.key as a number when it is one, else as text.
func setInt(e *event.Event, key, column, v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		e.SetExtra(key, n)
		return nil
	}
	return setExtra(e, key, column, v)
}

// setTimeExtra stores a time column under extra.key in the event's time
// form; a bad time is an error naming the column.
func setTimeExtra(e *event.Event, key, column, v string) error {
	if v == "" {
		return nil
	}
	t, err := parseTime(v)
	if err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	e.SetExtra(key, event.FormatTime(t))
	return nil
}

// setURL stores u as source.url and its host as source.ip or
// source.fqdn, so that the event can be matched to the host's owner.
func setURL(e *event.Event, column, u string) error {
	if err := e.Set("source.url", u); err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	setHost(e, urlHost(e.Source.URL))
	return nil
}

// setHost sets source.ip or source.fqdn from a host name or address; a
// host that is neither is left out (the URL still says it).
func setHost(e *event.Event, h string) {
	if h == "" {
		return
	}
	if c := h[len(h)-1]; c >= '0' && c <= '9' || strings.IndexByte(h, ':') >= 0 {
		if a, err := event.ParseIP(h); err == nil {
			e.Source.IP = a
			return
		}
	}
	if checkDomain(h) != nil {
		return
	}
	if f, err := event.NormFQDN(h); err == nil {
		e.Source.FQDN = f
	}
}

// urlHost returns the host of an absolute URL, without user, port and
// IPv6 brackets, or "".
func urlHost(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	h := u[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			return h[1:j]
		}
		return ""
	}
	if j := strings.LastIndexByte(h, ':'); j >= 0 {
		h = h[:j]
	}
	return h
}

// defaultClass sets the classification IntelMQ gives this kind of data
// when the feed's configuration names none.
func defaultClass(e *event.Event, taxonomy, typ string) {
	if e.Classification.Type == "" {
		e.Classification.Taxonomy = taxonomy
		e.Classification.Type = typ
	}
}

// setClass sets a classification the data itself states, overriding the
// feed's.
func setClass(e *event.Event, taxonomy, typ string) {
	e.Classification.Taxonomy = taxonomy
	e.Classification.Type = typ
}

// checkDomain reports whether s can be a domain name: labels of letters,
// digits, '-' and '_' (or non-ASCII, for IDNs) between dots, the last of
// them not a number. event.NormFQDN is more lenient; this is for lines
// whose kind is guessed.
func checkDomain(s string) error {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return errors.New("a domain name has 1 to 253 characters")
	}
	label, digits := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return errors.New("a domain name has no empty labels")
			}
			label, digits = 0, true
			continue
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_', c >= 0x80:
			digits = false
		default:
			return fmt.Errorf("%q cannot be in a domain name", c)
		}
		label++
	}
	if label == 0 {
		return errors.New("a domain name has no empty labels")
	}
	if digits {
		return errors.New("the last label of a domain name is not a number")
	}
	return nil
}
