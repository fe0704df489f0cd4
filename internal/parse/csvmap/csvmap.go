// Package csvmap reads CSV reports whose meaning the operator gives in the
// feed's configuration (format "csv"): which column is which IntelMQ field.
//
//	feeds:
//	  - name: partner-scanners
//	    format: csv
//	    classification: {taxonomy: information-gathering, type: scanner}
//	    csv:
//	      delimiter: ","        # one character; "tab" for a tab
//	      comment: "#"          # lines starting so are skipped
//	      header: true          # the first row names the columns
//	      skip_lines: 0         # lines skipped before anything else
//	      time_format: "02/01/2006 15:04"
//	      columns:
//	        ip: source.ip       # a header name ...
//	        "3": time.source    # ... or a 1-based column number
//	        note: extra.note    # anything else goes to extra
//
// The configuration is checked before the first row (Check): an unknown
// field, a duplicate target, a column number without a header, a missing
// classification are errors that name the configuration key. A header name
// that the report lacks is an error of the whole report. A row with a value
// its field does not accept is rejected naming the column, the field and
// the value; the rest goes on.
//
// The CSV dialect is RFC 4180 read leniently: quoted fields may hold the
// delimiter, doubled quotes and line breaks; a quote inside an unquoted
// field is kept as text; spaces before an opening quote are ignored; CRLF
// or LF ends a line. Lines that are blank, or whose first non-space text is
// the comment prefix, are skipped wherever they are (IntelMQ's samples
// indent comments). Every value is trimmed of surrounding spaces, and an
// empty value leaves its field absent.
package csvmap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// Limits of one record.
const (
	maxRecordLen = 1 << 20 // bytes, across the lines of a quoted field
)

type parser struct{}

// New returns the generic CSV parser.
func New() parse.Parser { return parser{} }

// column is one entry of csv.columns, resolved.
type column struct {
	key    string // the configuration key, as written
	number int    // 1-based column number, once known
	field  string // the IntelMQ field, or "extra.NAME"
	time   bool   // a time field: csv.time_format applies
}

// plan is a feed's CSV configuration, checked.
type plan struct {
	feed       string
	delim      rune
	comment    string
	header     bool
	skip       int
	timeFormat string
	columns    []column // sorted by key, for stable messages
	typeColumn bool     // a column maps to classification.type
	taxColumn  bool     // a column maps to classification.taxonomy
}

// Check reports whether f's CSV configuration can be used: its errors name
// the configuration key (csv.delimiter, csv.columns["ip"], ...). Parse
// calls it first; tocsin check-config may call it too.
func Check(f *feed.Feed) error {
	_, err := compile(f)
	return err
}

func compile(f *feed.Feed) (*plan, error) {
	c := &f.CSV
	p := &plan{feed: f.Name, comment: c.Comment, header: c.Header, skip: c.SkipLines, timeFormat: c.TimeFormat}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("feed %q: "+format, append([]any{f.Name}, args...)...))
	}

	switch c.Delimiter {
	case "", ",":
		p.delim = ','
	case "tab", "\t", `\t`:
		p.delim = '\t'
	default:
		r, size := utf8.DecodeRuneInString(c.Delimiter)
		switch {
		case size != len(c.Delimiter) || r == utf8.RuneError:
			bad("csv.delimiter: %q is not one character (write \"tab\" for a tab)", c.Delimiter)
		case r == '"' || r == '\n' || r == '\r':
			bad("csv.delimiter: %q cannot separate fields", c.Delimiter)
		default:
			p.delim = r
		}
	}
	if strings.TrimSpace(c.Comment) != c.Comment || strings.ContainsAny(c.Comment, "\r\n") {
		bad("csv.comment: %q starts or ends with white space; write the prefix alone, e.g. \"#\"", c.Comment)
	}
	if c.SkipLines < 0 {
		bad("csv.skip_lines: %d is negative", c.SkipLines)
	}
	if c.TimeFormat != "" {
		// A layout writes another time differently from itself.
		ref := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		s := ref.Format(c.TimeFormat)
		if _, err := time.Parse(c.TimeFormat, s); err != nil || s == c.TimeFormat {
			bad("csv.time_format: %q is not a Go time layout (write the reference time 2006-01-02 15:04:05 in the feed's form, e.g. \"02/01/2006 15:04\")", c.TimeFormat)
		}
	}

	if len(c.Columns) == 0 {
		bad("csv.columns: no column is mapped; map at least one, e.g. ip: source.ip")
	}
	keys := make([]string, 0, len(c.Columns))
	for k := range c.Columns {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	target := map[string]string{} // field -> key
	for _, k := range keys {
		name := strings.TrimSpace(c.Columns[k])
		col := column{key: k, field: name}
		if n, err := strconv.Atoi(strings.TrimSpace(k)); err == nil {
			if n < 1 {
				bad("csv.columns[%q]: columns are numbered from 1", k)
				continue
			}
			col.number = n
		} else if strings.TrimSpace(k) == "" {
			bad("csv.columns[%q]: a column is named by its header name or its number", k)
			continue
		} else if !c.Header {
			bad("csv.columns[%q]: without csv.header: true a column is named by its number, 1 for the first", k)
			continue
		}
		if x, ok := strings.CutPrefix(name, "extra."); ok {
			if x == "" {
				bad("csv.columns[%q]: %q names no extra field; write extra.NAME", k, name)
				continue
			}
		} else if f := event.Lookup(name); f == nil {
			bad("csv.columns[%q]: %q is not a field of the IntelMQ harmonisation%s (use extra.NAME for anything else)", k, name, suggest(name))
			continue
		} else {
			col.time = f.Kind == event.KindTime
		}
		if other, dup := target[name]; dup {
			bad("csv.columns[%q] and csv.columns[%q] both map to %s", other, k, name)
			continue
		}
		target[name] = k
		p.typeColumn = p.typeColumn || name == "classification.type"
		p.taxColumn = p.taxColumn || name == "classification.taxonomy"
		p.columns = append(p.columns, col)
	}

	cl := event.Classification(f.Classification)
	switch {
	case cl.Type == "" && !p.typeColumn:
		bad("classification.type: not set, and no csv.columns entry maps a column to classification.type; say what the rows are, e.g. classification: {type: scanner}")
	case cl.Type != "":
		if err := cl.Validate(); err != nil {
			bad("classification: %v", err)
		}
	case cl.Taxonomy != "":
		if _, ok := event.Taxonomies[cl.Taxonomy]; !ok {
			bad("classification.taxonomy: %q is not a taxonomy", cl.Taxonomy)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !p.header {
		p.sortColumns()
	}
	return p, nil
}

// sortColumns puts the columns in the report's order, for rows' messages.
func (p *plan) sortColumns() {
	slices.SortStableFunc(p.columns, func(a, b column) int { return a.number - b.number })
}

// suggest returns ` (did you mean "x"?)` for the field nearest to name.
func suggest(name string) string {
	best, bestD := "", 4
	for _, f := range event.Fields {
		if d := distance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// resolve finds the header columns the configuration names.
func (p *plan) resolve(header []string) error {
	var errs []error
	for i := range p.columns {
		col := &p.columns[i]
		key := strings.TrimSpace(col.key)
		n := 0
		for j, h := range header {
			if h == key {
				if n != 0 {
					errs = append(errs, fmt.Errorf("feed %q: csv.columns[%q]: the header names two columns so (%d and %d)", p.feed, col.key, n, j+1))
				}
				n = j + 1
			}
		}
		if n == 0 {
			for j, h := range header {
				if strings.EqualFold(h, key) {
					n = j + 1
					break
				}
			}
		}
		switch {
		case n != 0:
			col.number = n
		case col.number != 0:
			if col.number > len(header) {
				errs = append(errs, fmt.Errorf("feed %q: csv.columns[%q]: the header has only %d columns", p.feed, col.key, len(header)))
			}
		default:
			errs = append(errs, fmt.Errorf("feed %q: csv.columns[%q]: the report's header has no such column (it has %s)", p.feed, col.key, listHeader(header)))
		}
	}
	return errors.Join(errs...)
}

func listHeader(h []string) string {
	q := make([]string, len(h))
	for i, s := range h {
		q[i] = strconv.Quote(s)
	}
	if len(q) > 40 {
		q = append(q[:40], "...")
	}
	return strings.Join(q, ", ")
}

// Parse reads in with the column mapping of in.Feed.CSV.
func (parser) Parse(ctx context.Context, in parse.Input, out parse.Output) error {
	p, err := compile(in.Feed)
	if err != nil {
		return fmt.Errorf("parse csv: %w", err)
	}
	var e event.Event
	if err := parse.Begin(&e, &in); err != nil {
		return fmt.Errorf("parse csv: feed %q: %w", in.Feed.Name, err)
	}
	rd := newReader(in.R, p.delim, p.comment, p.skip)
	var rawBuf []byte
	for records := 0; ; records++ {
		if records%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		raw, fields, line, err := rd.next()
		if err == io.EOF {
			return nil
		}
		var re *recordError
		if errors.As(err, &re) && p.header {
			return fmt.Errorf("parse csv: line %d: the header row cannot be read: %w", line, re)
		}
		if errors.As(err, &re) {
			if err := out.Reject(line, raw, re); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("parse csv: line %d: %w", line, err)
		}
		if p.header {
			p.header = false
			header := make([]string, len(fields))
			for i, h := range fields {
				header[i] = strings.TrimSpace(h)
			}
			if err := p.resolve(header); err != nil {
				return fmt.Errorf("parse csv: line %d: %w", line, err)
			}
			p.sortColumns()
			continue
		}
		if err := parse.Begin(&e, &in); err != nil {
			return fmt.Errorf("parse csv: feed %q: %w", in.Feed.Name, err)
		}
		if err := p.row(&e, fields); err != nil {
			if err := out.Reject(line, raw, err); err != nil {
				return err
			}
			continue
		}
		rawBuf = append(rawBuf[:0], raw...)
		e.Raw = rawBuf
		if err := e.Validate(); err != nil {
			if err := out.Reject(line, raw, err); err != nil {
				return err
			}
			continue
		}
		if err := out.Event(&e, line); err != nil {
			return err
		}
	}
}

// row sets the mapped fields of one record on e.
func (p *plan) row(e *event.Event, fields []string) error {
	for i := range p.columns {
		col := &p.columns[i]
		if col.number > len(fields) {
			return fmt.Errorf("the row has %d columns; %s → %s is missing", len(fields), col.name(), col.field)
		}
		v := strings.TrimSpace(fields[col.number-1])
		if v == "" {
			continue
		}
		if col.time && p.timeFormat != "" {
			if t, err := time.Parse(p.timeFormat, v); err == nil {
				v = t.UTC().Format(time.RFC3339Nano)
			}
		}
		if err := e.Set(col.field, v); err != nil {
			msg, _ := strings.CutPrefix(err.Error(), col.field+": ")
			if col.time && p.timeFormat != "" {
				msg += fmt.Sprintf(", nor in csv.time_format %q", p.timeFormat)
			}
			if !strings.Contains(msg, strconv.Quote(v)) {
				msg = fmt.Sprintf("value %s: %s", quoteCut(v), msg)
			}
			return fmt.Errorf("%s → %s: %s", col.name(), col.field, msg)
		}
	}
	if p.typeColumn && !p.taxColumn && e.Classification.Type != "" {
		// The row's own type decides the taxonomy, not the feed's.
		e.Classification.Taxonomy = ""
	}
	return nil
}

// name describes the column for messages: `column 3 ("ip")`.
func (c *column) name() string {
	if strings.TrimSpace(c.key) != strconv.Itoa(c.number) {
		return fmt.Sprintf("column %d (%q)", c.number, c.key)
	}
	return fmt.Sprintf("column %d", c.number)
}

func quoteCut(s string) string {
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// recordError is a record the reader could not split; the parse goes on.
type recordError struct{ msg string }

func (e *recordError) Error() string { return e.msg }

// maxRecordLines bounds the lines one quoted field may span. A quote that is
// not closed within them is taken for a stray one: its line is rejected and
// the lines after it are read again as records of their own, so one broken
// row does not swallow the rest of the report.
const maxRecordLines = 64

// reader splits a report into records of fields, skipping blank and comment
// lines and counting physical lines.
type reader struct {
	sc      *textreport.Scanner
	delim   rune
	comment string
	skip    int
	line    int           // number of the last physical line read
	pending []pendingLine // lines to read again, in order
	rec     []byte        // the record's lines, joined by \n
	starts  []int         // where each line of rec starts
	unq     []byte        // the record's field values, unquoted
	ends    []int         // end of each field in unq
	fields  []string
}

type pendingLine struct {
	b    []byte
	n    int
	long bool
}

func newReader(r io.Reader, delim rune, comment string, skip int) *reader {
	return &reader{sc: textreport.NewScanner(r, maxRecordLen), delim: delim, comment: comment, skip: skip}
}

// physical appends the next line, without its line end, to dst. Of a line
// longer than the record limit only a prefix is appended, with long set.
func (r *reader) physical(dst []byte) (out []byte, long bool, err error) {
	if len(r.pending) > 0 {
		pl := r.pending[0]
		r.pending = r.pending[1:]
		r.line = pl.n
		return append(dst, pl.b...), pl.long, nil
	}
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			return dst, false, err
		}
		return dst, false, io.EOF
	}
	r.line++
	return append(dst, r.sc.Bytes()...), r.sc.TooLong() != nil, nil
}

// next returns the next record: its raw lines, its fields (valid until the
// next call) and the line it starts on. A record that cannot be split comes
// back with a *recordError.
func (r *reader) next() (raw []byte, fields []string, line int, err error) {
	for {
		rec, long, err := r.physical(r.rec[:0])
		r.rec = rec
		if err != nil {
			return nil, nil, r.line + 1, err
		}
		if r.skip > 0 {
			r.skip--
			continue
		}
		line = r.line
		if long {
			return cut(r.rec), nil, line, &recordError{fmt.Sprintf("line is longer than %d bytes", maxRecordLen)}
		}
		trimmed := bytes.TrimLeft(r.rec, " \t")
		if len(trimmed) == 0 || r.comment != "" && bytes.HasPrefix(trimmed, []byte(r.comment)) {
			continue
		}
		r.starts = append(r.starts[:0], 0)
		for !r.split() {
			// A quoted field goes on on the next line, or was a stray quote.
			if len(r.starts) >= maxRecordLines {
				return r.giveUp(line, false, fmt.Sprintf("a quoted field is not closed within %d lines", maxRecordLines))
			}
			r.starts = append(r.starts, len(r.rec)+1)
			rec, long, err := r.physical(append(r.rec, '\n'))
			switch {
			case err == io.EOF:
				r.starts = r.starts[:len(r.starts)-1]
				return r.giveUp(line, false, "a quoted field is not closed at the end of the report")
			case err != nil:
				return nil, nil, r.line + 1, err
			}
			r.rec = rec
			if long || len(r.rec) > maxRecordLen {
				return r.giveUp(line, long, fmt.Sprintf("a quoted field is not closed within %d bytes", maxRecordLen))
			}
		}
		return r.rec, r.fields, line, nil
	}
}

// giveUp rejects the first line of the record being read and queues its
// other lines to be read again; the last one came back cut when long.
func (r *reader) giveUp(line int, long bool, msg string) ([]byte, []string, int, error) {
	var again []pendingLine
	for k := 1; k < len(r.starts); k++ {
		end := len(r.rec)
		if k+1 < len(r.starts) {
			end = r.starts[k+1] - 1
		}
		again = append(again, pendingLine{b: slices.Clone(r.rec[r.starts[k]:end]), n: line + k, long: long && k == len(r.starts)-1})
	}
	r.pending = append(again, r.pending...)
	first := len(r.rec)
	if len(r.starts) > 1 {
		first = r.starts[1] - 1
	}
	return cut(r.rec[:first]), nil, line, &recordError{msg}
}

func cut(b []byte) []byte { return b[:min(len(b), 256)] }

// split cuts r.rec into fields; false means a quoted field is still open at
// the end of the record.
func (r *reader) split() bool {
	r.unq = r.unq[:0]
	r.ends = r.ends[:0]
	s := r.rec
	var d [utf8.UTFMax]byte
	delim := d[:utf8.EncodeRune(d[:], r.delim)]
	isDelim := func(i int) bool {
		return i+len(delim) <= len(s) && string(s[i:i+len(delim)]) == string(delim)
	}
	i := 0
	for {
		// Spaces before an opening quote do not count.
		j := i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j < len(s) && s[j] == '"' {
			i = j + 1
			closed := false
			for i < len(s) {
				c := s[i]
				if c != '"' {
					r.unq = append(r.unq, c)
					i++
					continue
				}
				k := i + 1 // spaces after a closing quote do not count either
				for k < len(s) && s[k] == ' ' {
					k++
				}
				switch {
				case i+1 < len(s) && s[i+1] == '"': // "" is one quote
					r.unq = append(r.unq, '"')
					i += 2
				case k == len(s) || isDelim(k): // the closing quote
					i = k
					closed = true
				default: // a stray quote: text (lazy quotes)
					r.unq = append(r.unq, '"')
					i++
					continue
				}
				if closed {
					break
				}
			}
			if !closed {
				return false
			}
			// After the closing quote: the delimiter or the end.
		} else {
			for i < len(s) && !isDelim(i) {
				r.unq = append(r.unq, s[i])
				i++
			}
		}
		r.ends = append(r.ends, len(r.unq))
		if i >= len(s) {
			break
		}
		i += len(delim) // the delimiter
		if i == len(s) {
			r.ends = append(r.ends, len(r.unq)) // a final empty field
			break
		}
	}
	all := string(r.unq)
	r.fields = r.fields[:0]
	start := 0
	for _, end := range r.ends {
		r.fields = append(r.fields, all[start:end])
		start = end
	}
	return true
}
