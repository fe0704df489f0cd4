package shadowserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
)

// ErrHeader is returned, wrapped, when a report's header cannot be read
// with the schema: a required column is missing or a column is named twice.
var ErrHeader = errors.New("report header does not fit the schema")

// parser reads Shadowserver CSV reports with one schema.
type parser struct{ schema *Schema }

// New returns the Shadowserver parser using s; nil means the embedded
// schema. The parser is safe for concurrent use. Parse reads in.R to its
// end or to the first error and does not close it; it returns an error for
// an unknown report type, a header that does not fit the schema, a read
// error or an error from out, and rejects bad rows through out.
func New(s *Schema) parse.Parser {
	if s == nil {
		s = Embedded()
	}
	return &parser{schema: s}
}

// Parse implements parse.Parser.
func (p *parser) Parse(ctx context.Context, in parse.Input, out parse.Output) error {
	rep, err := p.report(&in)
	if err != nil {
		return err
	}
	cr := newCSVReader(in.R)
	if err := cr.next(); err != nil {
		if err == io.EOF {
			return fmt.Errorf("shadowserver %s report %s: empty, no header line", rep.Type, in.Name)
		}
		return fmt.Errorf("shadowserver %s report %s: %w", rep.Type, in.Name, err)
	}
	pl, err := compile(rep, cr.fields)
	if err != nil {
		return fmt.Errorf("shadowserver %s report %s: %w", rep.Type, in.Name, err)
	}
	st := &rowState{plan: pl, in: &in, pending: make([]bool, len(pl.header))}
	// The feed's defaults are the same for every row: a bad one is the
	// configuration's fault, said once, not a reason to reject every row.
	if err := parse.Begin(&st.e, &in); err != nil {
		return fmt.Errorf("shadowserver report %s: feed %s: %w", in.Name, in.Feed.Name, err)
	}
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		err := cr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("shadowserver %s report %s: %w", rep.Type, in.Name, err)
		}
		if reason := st.row(cr.fields, cr.raw); reason != nil {
			if err := out.Reject(cr.line, cr.raw, reason); err != nil {
				return err
			}
			continue
		}
		if err := out.Event(&st.e, cr.line); err != nil {
			return err
		}
	}
}

// report finds the report type: the one the user named wins over the one
// the file name carries.
func (p *parser) report(in *parse.Input) (*Report, error) {
	name, from := in.Report, "--report"
	if name == "" {
		name, from = ReportType(in.Name), "the file name"
	}
	var rep *Report
	if name != "" {
		rep = p.schema.Report(name)
	}
	if rep == nil {
		what := fmt.Sprintf("%s names report type %q, which the schema (of %s) does not have", from, name, p.schema.Created())
		if name == "" {
			what = fmt.Sprintf("cannot tell the report type from the file name %q (Shadowserver names files like 2024-07-04-scan_ssl-sample-asn.csv)", in.Name)
		}
		return nil, fmt.Errorf("shadowserver: %w: %s; name it with --report TYPE, where TYPE is one of the schema's %d types such as scan_ssl or event4_sinkhole_http",
			parse.ErrUnknownReport, what, len(p.schema.reports))
	}
	if rep.err != nil {
		return nil, fmt.Errorf("shadowserver report type %s cannot be parsed with this schema: %w", rep.Type, rep.err)
	}
	return rep, nil
}

// plan is a report type's mapping compiled for one header: every step
// knows its column's index, so a row is read without looking anything up.
type plan struct {
	rep    *Report
	header []string
	steps  []step
	// unmapped are the columns no mapping reads: a non-empty value goes
	// to extra under the column's name.
	unmapped []int
	// mapped are the columns some step reads; one whose last step left it
	// unused (a value the field refused) goes to extra as well.
	mapped []int
	// extraName is "extra.<column>" for every column.
	extraName []string
	// whole is the index of each column the whole-row conversions read,
	// or -1.
	whole [numWholeCols]int
}

type step struct {
	*mapping
	col int
	set setter // for targetField
}

func compile(rep *Report, header []string) (*plan, error) {
	pl := &plan{rep: rep, header: make([]string, len(header)), extraName: make([]string, len(header))}
	index := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		if h == "" {
			// A column without a name (a trailing comma) keeps its
			// values under its position.
			h = fmt.Sprintf("column%d", i+1)
		}
		if !utf8.ValidString(h) {
			h = strings.ToValidUTF8(h, "\uFFFD")
		}
		if _, dup := index[h]; dup {
			return nil, fmt.Errorf("%w: column %q is named twice", ErrHeader, h)
		}
		index[h] = i
		pl.header[i] = h
		pl.extraName[i] = "extra." + h
	}
	for i, name := range wholeColNames {
		pl.whole[i] = -1
		if c, ok := index[name]; ok {
			pl.whole[i] = c
		}
	}
	// A report written before Shadowserver added a required column (the
	// malware_url and sandbox_url samples predate "port") is still read,
	// without that field, as long as it has the timestamp and at least one
	// other required column: a file of another format has neither.
	var missing []string
	present := 0
	for i := range rep.mappings {
		m := &rep.mappings[i]
		if !m.required {
			continue
		}
		if _, ok := index[m.column]; ok {
			present++
		} else {
			missing = append(missing, fmt.Sprintf("%q (for %s)", m.column, m.key))
		}
	}
	_, hasTime := index["timestamp"]
	if len(missing) > 0 && (!hasTime || present < 2) {
		return nil, fmt.Errorf("%w: required column %s is missing; the header has %s. The report's format is not the one the schema (of %s) describes: name the right type with --report, or use a schema file that fits it",
			ErrHeader, strings.Join(missing, ", "), strings.Join(pl.header, ","), rep.Type)
	}
	used := make([]bool, len(header))
	for i := range rep.mappings {
		m := &rep.mappings[i]
		c, ok := index[m.column]
		if !ok {
			continue // IntelMQ logs this and goes on
		}
		st := step{mapping: m, col: c}
		if m.target == targetField {
			st.set = setterFor(m.field)
		}
		pl.steps = append(pl.steps, st)
		used[c] = true
	}
	for c, u := range used {
		if u {
			pl.mapped = append(pl.mapped, c)
		} else {
			pl.unmapped = append(pl.unmapped, c)
		}
	}
	return pl, nil
}

// rowState turns rows of one report into events, reusing one Event.
type rowState struct {
	*plan
	in      *parse.Input
	e       event.Event
	fields  []string
	pending []bool // per column: its value still has to go to extra
	buf     []byte
	// validUTF8 says the current row is valid UTF-8.
	validUTF8 bool
}

// setExtra stores the text v under extra.key; field is "extra."+key.
func (st *rowState) setExtra(key, field, v string) error {
	if st.validUTF8 && len(v) <= event.MaxFieldLen {
		st.e.SetExtra(key, v)
		return nil
	}
	return st.e.Set(field, v) // replaces bad UTF-8, refuses a long value
}

// cell implements rowView.
func (st *rowState) cell(c wholeCol) (string, bool) {
	i := st.whole[c]
	if i < 0 {
		return "", false
	}
	return st.fields[i], true
}

// row fills st.e from one record. A non-nil result is why the record is
// rejected.
func (st *rowState) row(fields []string, raw []byte) error {
	if len(fields) > len(st.header) {
		return fmt.Errorf("the row has %d fields, the header has %d", len(fields), len(st.header))
	}
	// A short row lacks its last cells, as when Shadowserver adds a column
	// and old rows are not given it: IntelMQ reads them as empty, so does
	// this.
	for len(fields) < len(st.header) {
		fields = append(fields, "")
	}
	st.fields = fields
	// Every field of a row that is valid UTF-8 is too: fields are split at
	// ASCII characters.
	st.validUTF8 = utf8.Valid(raw)
	e := &st.e
	if err := parse.Begin(e, st.in); err != nil {
		return err
	}
	for i := range st.steps {
		s := &st.steps[i]
		cell := fields[s.col]
		var v val
		switch s.conv {
		case convNone, convAddUTC:
			v = val{kind: valStr, s: cell}
		case convToNone:
			if cell != "" && cell != "0" && cell != "unknown" {
				v = val{kind: valStr, s: cell}
			}
		default:
			var err error
			if v, err = s.conv.apply(cell, st, &st.buf); err != nil {
				return fmt.Errorf("column %s %s: %s: %v", s.column, quote(cell), convs[s.conv].name, err)
			}
		}
		consumed := true
		switch {
		case v.kind == valNone:
			// IntelMQ leaves a required column whose conversion gave
			// nothing among the columns that go to extra.
			consumed = !s.required
		case s.target == targetIgnore:
		case s.target == targetExtra:
			if v.kind != valStr {
				e.SetExtra(s.extraKey, v.any())
			} else if v.s != "" {
				if err := st.setExtra(s.extraKey, s.field, v.s); err != nil {
					return fmt.Errorf("column %s %s: %v", s.column, quote(cell), err)
				}
			}
		default:
			// IntelMQ ignores these values for every field.
			if v.s == "" || v.s == "-" || v.s == "N/A" {
				break
			}
			if err := s.set(e, v.s); err != nil {
				if s.required {
					return fmt.Errorf("column %s %s: %v", s.column, quote(cell), err)
				}
				// An optional value the field refuses stays in extra
				// under its column's name.
				consumed = false
			}
		}
		st.pending[s.col] = !consumed
	}
	for _, c := range st.rep.constants {
		if err := c.set(e, c.value); err != nil {
			return err
		}
	}
	for _, c := range st.unmapped {
		if v := fields[c]; v != "" {
			if err := st.setExtra(st.header[c], st.extraName[c], v); err != nil {
				return fmt.Errorf("column %s %s: %v", st.header[c], quote(v), err)
			}
		}
	}
	for _, c := range st.mapped {
		if v := fields[c]; st.pending[c] && v != "" {
			if err := st.setExtra(st.header[c], st.extraName[c], v); err != nil {
				return fmt.Errorf("column %s %s: %v", st.header[c], quote(v), err)
			}
		}
	}
	e.Feed.Code = st.rep.FeedName
	// The record's bytes in the reader's buffer, which stay put until the
	// next row is read: as long as Output.Event may use e. Capped, so that
	// an append by the receiver copies.
	e.Raw = raw[:len(raw):len(raw)]
	return e.Validate()
}

// quote quotes a cell for a message, shortened when long.
func quote(s string) string {
	const max = 120
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// setter stores a text value in one harmonisation field.
type setter func(e *event.Event, s string) error
