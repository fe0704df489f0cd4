package shadowserver

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/tocsin/tocsin/internal/event"
)

// embeddedSchema is Shadowserver's intelmq.json as shipped with this
// binary; see schema/README.md for where it comes from.
//
//go:embed schema/intelmq.json
var embeddedSchema []byte

// Schema is a parsed copy of Shadowserver's IntelMQ mapping file: for every
// report type, which column becomes which IntelMQ field, through which
// conversion, and which constant fields its events carry. A Schema is
// immutable and safe for concurrent use.
type Schema struct {
	created string
	reports []*Report          // sorted by Type
	byName  map[string]*Report // file_name, JSON key and feed_name
}

// Report is one report type of a Schema.
type Report struct {
	// Type is the report's file_name in the schema ("scan_ssl",
	// "event4_sinkhole_http"): what Shadowserver's file names carry and
	// what --report takes.
	Type string
	// Key is the report's name as the schema's JSON key; it differs from
	// Type for some event reports ("event_sinkhole" for
	// "event4_sinkhole").
	Key string
	// FeedName is Shadowserver's name for the feed ("Accessible-SSL"); it
	// becomes feed.code.
	FeedName string
	// URL documents the report.
	URL string

	mappings  []mapping
	constants []constant
	// err says why the report cannot be parsed although the file as a
	// whole loaded (an unknown conversion function, a constant that is not
	// a valid value); nil when it can.
	err error
}

// mapping is one [intelmq key, column, conversion, whole row] entry.
type mapping struct {
	required bool
	key      string // the IntelMQ key as the schema writes it; "" for false
	column   string
	conv     conv
	target   target
	// field is the name Set takes: an IntelMQ field or "extra.NAME".
	field string
	// extraKey is NAME for an extra target.
	extraKey string
}

type target uint8

const (
	targetField  target = iota // a harmonisation field
	targetExtra                // extra.NAME
	targetIgnore               // false: the column is read and dropped
)

type constant struct {
	name, value string
	set         setter
}

// Created returns the schema's _meta.date_created, or "" when it has none.
func (s *Schema) Created() string { return s.created }

// Types lists the report types, sorted.
func (s *Schema) Types() []string {
	out := make([]string, len(s.reports))
	for i, r := range s.reports {
		out[i] = r.Type
	}
	return out
}

// Report returns the report type called name: its file_name (what file
// names carry), its JSON key, or its feed_name ("Accessible-SSL", as
// IntelMQ's feedname parameter takes it). It returns nil when there is none.
func (s *Schema) Report(name string) *Report {
	if r := s.byName[name]; r != nil {
		return r
	}
	return s.byName[strings.ToLower(name)]
}

// Check reports the problems of report types that loaded but cannot be
// parsed, joined; nil when every report type can be parsed.
func (s *Schema) Check() error {
	var errs []error
	for _, r := range s.reports {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("report type %s: %w", r.Type, r.err))
		}
	}
	return errors.Join(errs...)
}

// Err says why the report type cannot be parsed, or nil when it can.
func (r *Report) Err() error { return r.err }

var embedded = sync.OnceValue(func() *Schema {
	s, err := LoadSchema(bytes.NewReader(embeddedSchema))
	if err != nil {
		panic("shadowserver: embedded schema: " + err.Error())
	}
	return s
})

// Embedded returns the schema compiled into the binary.
func Embedded() *Schema { return embedded() }

// LoadSchema reads a Shadowserver intelmq.json. A file that is not JSON, or
// whose structure is not the schema's, is an error naming the report and
// entry. A report type that uses a conversion function this package does
// not know, or a constant field that is not a valid value, still loads: it
// is refused when a report of that type is parsed (Check lists them), so
// that a newer file keeps every other report type working.
func LoadSchema(r io.Reader) (*Schema, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(r)
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("shadowserver schema: not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("shadowserver schema: data after the JSON object")
	}
	s := &Schema{byName: make(map[string]*Report, 3*len(top))}
	if raw, ok := top["_meta"]; ok {
		var meta struct {
			DateCreated string `json:"date_created"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("shadowserver schema: _meta: %w", err)
		}
		s.created = meta.DateCreated
	}
	for key, raw := range top {
		if key == "_meta" {
			continue
		}
		rep, err := loadReport(key, raw)
		if err != nil {
			return nil, fmt.Errorf("shadowserver schema: report %q: %w", key, err)
		}
		s.reports = append(s.reports, rep)
	}
	if len(s.reports) == 0 {
		return nil, errors.New("shadowserver schema: no report types")
	}
	sort.Slice(s.reports, func(i, j int) bool { return s.reports[i].Type < s.reports[j].Type })
	// A report is found by file_name first, then by JSON key, then by
	// feed name; the first claim on a name wins.
	for _, pass := range []func(*Report) string{
		func(r *Report) string { return r.Type },
		func(r *Report) string { return r.Key },
		func(r *Report) string { return r.FeedName },
	} {
		for _, rep := range s.reports {
			for _, n := range []string{pass(rep), strings.ToLower(pass(rep))} {
				if _, dup := s.byName[n]; !dup && n != "" {
					s.byName[n] = rep
				}
			}
		}
	}
	return s, nil
}

type rawReport struct {
	FeedName       *string           `json:"feed_name"`
	FileName       *string           `json:"file_name"`
	URL            string            `json:"url"`
	RequiredFields []json.RawMessage `json:"required_fields"`
	OptionalFields []json.RawMessage `json:"optional_fields"`
	ConstantFields map[string]any    `json:"constant_fields"`
}

func loadReport(key string, raw json.RawMessage) (*Report, error) {
	var rr rawReport
	if err := json.Unmarshal(raw, &rr); err != nil {
		return nil, err
	}
	if rr.FileName == nil || *rr.FileName == "" {
		return nil, errors.New("no file_name")
	}
	if rr.FeedName == nil || *rr.FeedName == "" {
		return nil, errors.New("no feed_name")
	}
	rep := &Report{Type: *rr.FileName, Key: key, FeedName: *rr.FeedName, URL: rr.URL}
	var problems []error
	for _, group := range []struct {
		name     string
		items    []json.RawMessage
		required bool
	}{{"required_fields", rr.RequiredFields, true}, {"optional_fields", rr.OptionalFields, false}} {
		for i, item := range group.items {
			m, err := loadMapping(item, group.required)
			if err != nil {
				if errors.Is(err, errUnknownConv) {
					problems = append(problems, fmt.Errorf("%s[%d]: %w", group.name, i, err))
					continue
				}
				return nil, fmt.Errorf("%s[%d]: %w", group.name, i, err)
			}
			rep.mappings = append(rep.mappings, m)
		}
	}
	names := make([]string, 0, len(rr.ConstantFields))
	for name := range rr.ConstantFields {
		names = append(names, name)
	}
	sort.Strings(names)
	var scratch event.Event
	for _, name := range names {
		var v string
		switch x := rr.ConstantFields[name].(type) {
		case string:
			v = x
		case float64, bool:
			v = fmt.Sprint(x)
		case nil:
			continue
		default:
			return nil, fmt.Errorf("constant_fields[%q]: want a string, number or boolean, got %T", name, x)
		}
		if err := scratch.Set(name, v); err != nil {
			problems = append(problems, fmt.Errorf("constant_fields: %w", err))
			continue
		}
		rep.constants = append(rep.constants, constant{name, v, setterFor(name)})
	}
	if scratch.Classification.Type != "" || scratch.Classification.Taxonomy != "" {
		if err := scratch.Classification.Validate(); err != nil {
			problems = append(problems, fmt.Errorf("constant_fields: %w", err))
		}
	}
	rep.err = errors.Join(problems...)
	return rep, nil
}

var errUnknownConv = errors.New("unknown conversion function")

// loadMapping reads ["intelmq key" or false, "column", "conversion"?, whole row?].
func loadMapping(raw json.RawMessage, required bool) (mapping, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return mapping{}, fmt.Errorf("want a list [key, column, conversion, whole row]: %w", err)
	}
	if len(parts) < 2 || len(parts) > 4 {
		return mapping{}, fmt.Errorf("want 2 to 4 elements [key, column, conversion, whole row], got %d", len(parts))
	}
	m := mapping{required: required}
	var key any
	if err := json.Unmarshal(parts[0], &key); err != nil {
		return mapping{}, err
	}
	switch k := key.(type) {
	case string:
		m.key = k
	case bool:
		if k {
			return mapping{}, errors.New("key is true; want an IntelMQ field name or false")
		}
	case nil:
	default:
		return mapping{}, fmt.Errorf("key: want an IntelMQ field name or false, got %s", parts[0])
	}
	if err := json.Unmarshal(parts[1], &m.column); err != nil || m.column == "" {
		return mapping{}, fmt.Errorf("column: want a column name, got %s", parts[1])
	}
	if len(parts) > 2 {
		var name *string
		if err := json.Unmarshal(parts[2], &name); err != nil {
			return mapping{}, fmt.Errorf("conversion: want a function name, got %s", parts[2])
		}
		if name != nil && *name != "" {
			c, ok := convByName[*name]
			if !ok {
				return mapping{}, fmt.Errorf("%w %q for column %q", errUnknownConv, *name, m.column)
			}
			m.conv = c
		}
	}
	if len(parts) > 3 {
		var whole *bool
		if err := json.Unmarshal(parts[3], &whole); err != nil {
			return mapping{}, fmt.Errorf("whole row: want true or false, got %s", parts[3])
		}
		// Which functions read the whole row is fixed by the function, so
		// the flag only has to agree with it.
		if whole != nil && *whole != convs[m.conv].wholeRow {
			return mapping{}, fmt.Errorf("conversion %s for column %q: whole-row flag is %v, the function takes %s",
				convs[m.conv].name, m.column, *whole, map[bool]string{true: "the whole row", false: "one value"}[convs[m.conv].wholeRow])
		}
	} else if convs[m.conv].wholeRow {
		return mapping{}, fmt.Errorf("conversion %s for column %q needs the whole row, but the entry lacks the flag true", convs[m.conv].name, m.column)
	}
	switch {
	case m.key == "":
		m.target = targetIgnore
	case m.key == "extra.":
		m.target, m.extraKey, m.field = targetExtra, m.column, "extra."+m.column
	case strings.HasPrefix(m.key, "extra."):
		m.target, m.extraKey, m.field = targetExtra, m.key[len("extra."):], m.key
	case event.Lookup(m.key) != nil:
		m.target, m.field = targetField, m.key
	default:
		// IntelMQ keeps a value whose key its harmonisation lacks in extra
		// under the key itself.
		m.target, m.extraKey, m.field = targetExtra, m.key, "extra."+m.key
	}
	return m, nil
}

// ReportType tells a Shadowserver report's type from its file name, in
// Shadowserver's dated form ("2024-07-04-dns_openresolver-123-sample-asn.csv"
// gives "dns_openresolver") or plain ("scan_ssl.csv"), as IntelMQ does: an
// optional YYYY-MM-DD- prefix, then the first run of word characters up to
// a '-' or ".csv". It returns "" when the name has no such form.
func ReportType(name string) string {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	base, _ = strings.CutSuffix(base, ".csv")
	if len(base) > 11 && isDate(base[:10]) && base[10] == '-' {
		base = base[11:]
	}
	typ, _, _ := strings.Cut(base, "-")
	// Every '-'-separated part must be a non-empty run of word characters.
	for part := range strings.SplitSeq(base, "-") {
		if part == "" {
			return ""
		}
		for i := 0; i < len(part); i++ {
			if c := part[i]; !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80) {
				return ""
			}
		}
	}
	return typ
}

func isDate(s string) bool {
	for i := 0; i < len(s); i++ {
		switch i {
		case 4, 7:
			if s[i] != '-' {
				return false
			}
		default:
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
	}
	return true
}
