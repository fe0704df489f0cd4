package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// wantErr is one problem a bad file must be reported with.
type wantErr struct {
	line int
	key  string
	msg  string // a substring of the message
}

// feedDoc returns a config with one feed whose keys are body, indented
// under "- " (the feed starts on line 2).
func feedDoc(body string) string {
	lines := strings.Split(strings.TrimSpace(body), "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = "  - " + lines[i]
		} else {
			lines[i] = "    " + lines[i]
		}
	}
	return "feeds:\n" + strings.Join(lines, "\n") + "\n"
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		// Syntax and shape.
		{"syntax", "log:\n  level: info\n   format: text\n", []wantErr{{3, "", "YAML syntax"}}},
		{"tab indent", "log:\n\tlevel: info\n", []wantErr{{2, "", "YAML syntax"}}},
		{"two documents", "data_dir: a\n---\ndata_dir: b\n", []wantErr{{2, "", "second YAML document"}}},
		{"top is a list", "- a\n- b\n", []wantErr{{1, "", "want a mapping of keys at the top"}}},
		{"top is a scalar", "hello\n", []wantErr{{1, "", "got a string \"hello\""}}},

		// Unknown keys, anywhere, with suggestions.
		{"unknown top key", "data_dri: /x\n", []wantErr{{1, "data_dri", `unknown key; did you mean "data_dir"?`}}},
		{"unknown key no suggestion", "log:\n  colour: red\n", []wantErr{{2, "log.colour", "the keys here are level, format"}}},
		{"unknown nested key", "ingest:\n  batchsize: 10\n", []wantErr{{2, "ingest.batchsize", `did you mean "batch_size"?`}}},
		{"unknown feed key", feedDoc("name: x\nformat: list\nclassification: {type: scanner}\nprovidr: me"),
			[]wantErr{{5, "feeds[0].providr", `did you mean "provider"?`}}},
		{"key one level too high", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv: {columns: {1: source.ip}}\ndelimiter: ';'"),
			[]wantErr{{6, "feeds[0].delimiter", `did you mean "csv.delimiter" (it belongs under csv:)?`}}},
		{"unknown csv key", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  columns: {1: source.ip}\n  headers: true"),
			[]wantErr{{7, "feeds[0].csv.headers", `did you mean "header"?`}}},
		{"unknown classification key", feedDoc("name: x\nformat: list\nclassification:\n  type: scanner\n  identifer: y"),
			[]wantErr{{6, "feeds[0].classification.identifer", `did you mean "identifier"?`}}},
		{"unknown dedup key", feedDoc("name: x\nformat: cowrie\ndedup: {windows: 1h}"),
			[]wantErr{{4, "feeds[0].dedup.windows", `did you mean "window"?`}}},
		{"unknown shadowserver key", "shadowserver:\n  schema: x\n", []wantErr{{2, "shadowserver.schema", "unknown key"}}},
		{"repeated key", "log:\n  level: info\n  level: debug\n", []wantErr{{3, "log.level", "repeated key (first set on line 2)"}}},
		{"key not a scalar", "? [a, b]\n: c\n", []wantErr{{1, "", "a key must be a plain name"}}},

		// Types.
		{"bool as string", "ingest:\n  store_raw: yes\n", []wantErr{{2, "ingest.store_raw", `want true or false, got a string "yes"`}}},
		{"int as string", "ingest:\n  batch_size: lots\n", []wantErr{{2, "ingest.batch_size", `want an integer, got a string "lots"`}}},
		{"int as float", "ingest:\n  batch_size: 1.5\n", []wantErr{{2, "ingest.batch_size", "want an integer, got a number 1.5"}}},
		{"int overflow", "ingest:\n  batch_size: 99999999999999999999999\n", []wantErr{{2, "ingest.batch_size", "want an integer"}}},
		{"string as mapping", "data_dir: {a: b}\n", []wantErr{{1, "data_dir", "want a string, got a mapping"}}},
		{"struct as scalar", "log: loud\n", []wantErr{{1, "log", "want a mapping with the keys level, format"}}},
		{"list as mapping", "feeds: {name: x}\n", []wantErr{{1, "feeds", "want a list"}}},
		{"map as list", feedDoc("name: x\nformat: cowrie\nconstant: [a, b]"), []wantErr{{4, "feeds[0].constant", "want a mapping"}}},
		{"float as string", feedDoc("name: x\nformat: cowrie\naccuracy: high"), []wantErr{{4, "feeds[0].accuracy", `want a number, got a string "high"`}}},
		{"float nan", feedDoc("name: x\nformat: cowrie\naccuracy: .nan"), []wantErr{{4, "feeds[0].accuracy", "want a number"}}},
		{"duration bad", feedDoc("name: x\nformat: cowrie\ndedup: {window: 3600}"), []wantErr{{4, "feeds[0].dedup.window", "want a duration such as"}}},
		{"duration list", feedDoc("name: x\nformat: cowrie\ndedup: {window: [1h]}"), []wantErr{{4, "feeds[0].dedup.window", "want a duration such as"}}},
		{"header as string", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv: {header: 'true', columns: {1: source.ip}}"),
			[]wantErr{{5, "feeds[0].csv.header", `want true or false, got a string "true"`}}},
		{"bad value no more complaints", feedDoc("name: x\nformat: [csv]"), []wantErr{{3, "feeds[0].format", "want a string, got a list"}}},

		// Top-level values.
		{"log level", "log:\n  level: verbose\n", []wantErr{{2, "log.level", `"verbose" is not a level; use one of debug, info, warn, error`}}},
		{"log level typo", "log:\n  level: warning\n", []wantErr{{2, "log.level", `did you mean "warn"?`}}},
		{"log format", "log:\n  format: jsn\n", []wantErr{{2, "log.format", `did you mean "json"?`}}},
		{"batch size zero", "ingest:\n  batch_size: 0\n", []wantErr{{2, "ingest.batch_size", "0 is out of range"}}},
		{"batch size huge", "ingest:\n  batch_size: 2000000\n", []wantErr{{2, "ingest.batch_size", "2000000 is out of range"}}},
		{"database empty", "database: ''\n", []wantErr{{1, "database", "empty; use sqlite"}}},
		{"database scheme", "database: mysql://root:hunter2@db/tocsin\n", []wantErr{{1, "database", `the URL scheme "mysql" is not supported`}}},
		{"database bad postgres url", "database: 'postgres://u:p%zz@h/db'\n", []wantErr{{1, "database", "not a valid PostgreSQL URL"}}},
		{"schema url", "shadowserver:\n  schema_url: ftp://x/y\n", []wantErr{{2, "shadowserver.schema_url", "not an http:// or https:// URL"}}},
		{"schema url empty", "shadowserver:\n  schema_url: ''\n", []wantErr{{2, "shadowserver.schema_url", "empty"}}},

		// Feed names.
		{"feed name missing", feedDoc("format: cowrie"), []wantErr{{2, "feeds[0].name", "missing"}}},
		{"feed null", "feeds:\n  -\n", []wantErr{{2, "feeds[0].name", "missing"}, {2, "feeds[0].format", "missing"}}},
		{"feed name upper", feedDoc("name: MyFeed\nformat: cowrie"), []wantErr{{2, "feeds[0].name", `"MyFeed" is not a valid feed name`}}},
		{"feed name space", feedDoc("name: my feed\nformat: cowrie"), []wantErr{{2, "feeds[0].name", "lower case letters, digits"}}},
		{"feed name long", feedDoc("name: " + strings.Repeat("a", 101) + "\nformat: cowrie"), []wantErr{{2, "feeds[0].name", "101 characters long"}}},
		{"feed name twice", "feeds:\n  - {name: a, format: cowrie}\n  - {name: a, format: cowrie}\n",
			[]wantErr{{3, "feeds[1].name", `feed "a" is already defined by feeds[0] (line 2)`}}},

		// Formats and classification.
		{"format missing", feedDoc("name: x"), []wantErr{{2, "feeds[0].format", "missing; say which parser reads the feed"}}},
		{"format unknown", feedDoc("name: x\nformat: cvs"), []wantErr{{3, "feeds[0].format", `unknown format "cvs"`}}},
		{"format typo", feedDoc("name: x\nformat: cvs"), []wantErr{{3, "feeds[0].format", `did you mean "csv"?`}}},
		{"type unknown", feedDoc("name: x\nformat: list\nclassification: {type: phising}"),
			[]wantErr{{4, "feeds[0].classification.type", `"phising" is not a classification type of the IntelMQ taxonomy; did you mean "phishing"?`}}},
		{"taxonomy unknown", feedDoc("name: x\nformat: list\nclassification: {taxonomy: malware, type: c2-server}"),
			[]wantErr{{4, "feeds[0].classification.taxonomy", `"malware" is not a taxonomy`}}},
		{"taxonomy and type disagree", feedDoc("name: x\nformat: list\nclassification:\n  taxonomy: fraud\n  type: c2-server"),
			[]wantErr{{6, "feeds[0].classification.type", `type "c2-server" belongs to taxonomy "malicious-code", not to classification.taxonomy "fraud" (line 5)`}}},
		{"taxonomy without type", feedDoc("name: x\nformat: cowrie\nclassification: {taxonomy: fraud}"),
			[]wantErr{{4, "feeds[0].classification.taxonomy", "set without classification.type"}}},
		{"list without type", feedDoc("name: x\nformat: list"),
			[]wantErr{{2, "feeds[0].classification.type", "format list needs the feed's classification.type"}}},
		{"list field", feedDoc("name: x\nformat: list\nclassification: {type: scanner}\nfield: source.port"),
			[]wantErr{{5, "feeds[0].field", `"source.port" cannot be the field of a list`}}},
		{"field on a csv feed", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\nfield: source.ip\ncsv: {columns: {1: source.ip}}"),
			[]wantErr{{5, "feeds[0].field", `set, but format is "csv"; field applies only to format list`}}},
		{"csv on a list feed", feedDoc("name: x\nformat: list\nclassification: {type: scanner}\ncsv: {delimiter: ';'}"),
			[]wantErr{{5, "feeds[0].csv", `set, but format is "list"; csv settings apply only to format csv`}}},
		{"accuracy range", feedDoc("name: x\nformat: cowrie\naccuracy: 101"), []wantErr{{4, "feeds[0].accuracy", "101 is out of range"}}},
		{"accuracy negative", feedDoc("name: x\nformat: cowrie\naccuracy: -1"), []wantErr{{4, "feeds[0].accuracy", "-1 is out of range"}}},
		{"tlp", feedDoc("name: x\nformat: cowrie\ntlp: purple"), []wantErr{{4, "feeds[0].tlp", `"purple" is not a TLP level`}}},

		// CSV.
		{"csv without type", feedDoc("name: x\nformat: csv\ncsv: {columns: {1: source.ip}}"),
			[]wantErr{{2, "feeds[0].classification.type", "no csv.columns entry maps a column to classification.type"}}},
		{"csv without columns", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}"),
			[]wantErr{{2, "feeds[0].csv.columns", "missing; map at least one column"}}},
		{"csv column field", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  columns:\n    1: source.ipp"),
			[]wantErr{{7, "feeds[0].csv.columns.1", `"source.ipp" is not a field of the IntelMQ harmonisation; use extra.source.ipp for anything else; did you mean "source.ip"?`}}},
		{"csv column empty field", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  columns:\n    1: extra."),
			[]wantErr{{7, "feeds[0].csv.columns.1", `"extra." needs a name after the dot`}}},
		{"csv column by header without header", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  columns:\n    Source IP: source.ip"),
			[]wantErr{{7, `feeds[0].csv.columns["Source IP"]`, "names a column by its header, but csv.header is false"}}},
		{"csv column zero", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  columns:\n    0: source.ip"),
			[]wantErr{{7, "feeds[0].csv.columns.0", "column numbers start at 1"}}},
		{"csv two columns one field", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  header: true\n  columns:\n    ip: source.ip\n    addr: source.ip"),
			[]wantErr{{9, "feeds[0].csv.columns.addr", `maps to source.ip, as column "ip" does (line 8)`}}},
		{"csv delimiter", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  delimiter: ';;'\n  columns: {1: source.ip}"),
			[]wantErr{{6, "feeds[0].csv.delimiter", `";;" is not one character`}}},
		{"csv delimiter quote", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  delimiter: '\"'\n  columns: {1: source.ip}"),
			[]wantErr{{6, "feeds[0].csv.delimiter", "is not one character (other than a quote"}}},
		{"csv comment is delimiter", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  delimiter: ';'\n  comment: ';'\n  columns: {1: source.ip}"),
			[]wantErr{{7, "feeds[0].csv.comment", `";" is also csv.delimiter (line 6)`}}},
		{"csv comment long", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  comment: '//'\n  columns: {1: source.ip}"),
			[]wantErr{{6, "feeds[0].csv.comment", `"//" is not one character`}}},
		{"csv skip lines", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  skip_lines: -1\n  columns: {1: source.ip}"),
			[]wantErr{{6, "feeds[0].csv.skip_lines", "-1 is negative"}}},
		{"csv time format", feedDoc("name: x\nformat: csv\nclassification: {type: scanner}\ncsv:\n  time_format: dd/mm/yyyy\n  columns: {1: source.ip}"),
			[]wantErr{{6, "feeds[0].csv.time_format", "has no date or time element"}}},

		// Dedup.
		{"dedup field", feedDoc("name: x\nformat: cowrie\ndedup:\n  fields: [source.ip, src_ip]"),
			[]wantErr{{5, "feeds[0].dedup.fields[1]", `"src_ip" is not a field`}}},
		{"dedup field twice", feedDoc("name: x\nformat: cowrie\ndedup:\n  fields:\n    - source.ip\n    - source.ip"),
			[]wantErr{{7, "feeds[0].dedup.fields[1]", "source.ip is listed twice (also dedup.fields[0])"}}},
		{"dedup window short", feedDoc("name: x\nformat: cowrie\ndedup:\n  window: 30s"),
			[]wantErr{{5, "feeds[0].dedup.window", "30s is too short; use at least 1m (default 24h)"}}},
		{"dedup window zero", feedDoc("name: x\nformat: cowrie\ndedup:\n  window: 0"),
			[]wantErr{{5, "feeds[0].dedup.window", "0s is too short"}}},
		{"dedup window negative", feedDoc("name: x\nformat: cowrie\ndedup:\n  window: -1h"),
			[]wantErr{{5, "feeds[0].dedup.window", "-1h is too short"}}},

		// Constant fields.
		{"constant field name", feedDoc("name: x\nformat: cowrie\nconstant:\n  malware: x"),
			[]wantErr{{5, "feeds[0].constant.malware", `"malware" is not a field`}}},
		{"constant value", feedDoc("name: x\nformat: cowrie\nconstant:\n  source.port: 70000"),
			[]wantErr{{5, "feeds[0].constant.source.port", "70000"}}},
		{"constant ip", feedDoc("name: x\nformat: cowrie\nconstant:\n  destination.ip: 10.0.0.256"),
			[]wantErr{{5, "feeds[0].constant.destination.ip", "not an IP address"}}},
		{"constant empty", feedDoc("name: x\nformat: cowrie\nconstant:\n  malware.name: ''"),
			[]wantErr{{5, "feeds[0].constant.malware.name", "empty value"}}},
		{"constant dedicated key", feedDoc("name: x\nformat: cowrie\nconstant:\n  classification.type: scanner"),
			[]wantErr{{5, "feeds[0].constant.classification.type", "use classification.type: instead"}}},
		{"constant tlp", feedDoc("name: x\nformat: cowrie\nconstant:\n  tlp: red"),
			[]wantErr{{5, "feeds[0].constant.tlp", "the feed's own key tlp"}}},

		// Several problems at once, in line order.
		{"all at once", "data_dri: x\nlog:\n  level: loud\nfeeds:\n  - name: A\n    format: cvs\n  - name: b\n    format: list\n",
			[]wantErr{
				{1, "data_dri", "unknown key"},
				{3, "log.level", "not a level"},
				{5, "feeds[0].name", "not a valid feed name"},
				{6, "feeds[0].format", "unknown format"},
				{7, "feeds[1].classification.type", "missing"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("test.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a Config with an error")
			}
			checkErrors(t, err, "test.yaml", tt.want)
		})
	}
}

// checkErrors asserts that err holds exactly the problems want, in order,
// each an *Error printed as "FILE:LINE: key: message".
func checkErrors(t *testing.T, err error, file string, want []wantErr) {
	t.Helper()
	var got []*Error
	for _, e := range unwrapAll(err) {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %q is not an *Error", e)
		}
		got = append(got, ce)
	}
	if len(got) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		prefix := fmt.Sprintf("%s:%d: ", file, w.line)
		if w.key != "" {
			prefix += w.key + ": "
		}
		if g.File != file || g.Line != w.line || g.Key != w.key || !strings.Contains(g.Msg, w.msg) || !strings.HasPrefix(g.Error(), prefix) {
			t.Errorf("error %d:\n got  %s\n want %s...%s...", i, g, prefix, w.msg)
		}
	}
	// The joined error prints one problem per line.
	if n := strings.Count(err.Error(), "\n") + 1; n != len(got) {
		t.Errorf("joined error has %d lines for %d errors", n, len(got))
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
