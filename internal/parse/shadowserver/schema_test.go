package shadowserver

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/parse"
)

func TestEmbeddedSchema(t *testing.T) {
	s := Embedded()
	if got := s.Created(); got != "2026-03-24T15:31:20Z" {
		t.Errorf("Created() = %q, want the date in schema/README.md", got)
	}
	if n := len(s.Types()); n != 170 {
		t.Errorf("%d report types, want 170", n)
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	if !slices.IsSorted(s.Types()) {
		t.Errorf("Types() not sorted")
	}
	for _, tt := range []struct{ name, want string }{
		{"scan_ssl", "scan_ssl"},
		{"event4_sinkhole_http", "event4_sinkhole_http"},
		{"event_sinkhole_http", "event4_sinkhole_http"}, // the JSON key
		{"Accessible-SMB", "scan_smb"},                  // the feed name
		{"accessible-smb", "scan_smb"},
		{"SCAN_SSL", "scan_ssl"},
		{"nonsense", ""},
		{"", ""},
	} {
		r := s.Report(tt.name)
		got := ""
		if r != nil {
			got = r.Type
		}
		if got != tt.want {
			t.Errorf("Report(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	r := s.Report("scan_ssl")
	if r.FeedName != "Accessible-SSL" || !strings.HasPrefix(r.URL, "https://") || r.Err() != nil {
		t.Errorf("scan_ssl = %+v", r)
	}
}

// TestEmbeddedIsShared checks the embedded copy against the one in
// ../shared/data, when that is there: a newer shared copy is a reminder to
// update the embedded one.
func TestEmbeddedIsShared(t *testing.T) {
	path := filepath.Join(sharedData, "feeds/shadowserver_report_schema/intelmq.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s is missing: %v", path, err)
	}
	s, err := LoadSchema(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Created() != Embedded().Created() || !bytes.Equal(data, embeddedSchema) {
		t.Errorf("%s (of %s) differs from schema/intelmq.json (of %s): copy it and update schema/README.md",
			path, s.Created(), Embedded().Created())
	}
}

const miniSchema = `{
 "_meta": {"date_created": "2030-01-01T00:00:00Z"},
 "scan_x": {
  "feed_name": "Accessible-X", "file_name": "scan_x", "url": "https://example.org/x",
  "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"], ["source.ip", "ip", "validate_ip"], ["source.port", "port", "convert_int"]],
  "optional_fields": [
   ["protocol.transport", "protocol"],
   ["source.reverse_dns", "hostname"],
   ["source.asn", "asn", "invalidate_zero"],
   ["source.geolocation.cc", "geo"],
   ["extra.", "tag", "validate_to_none"],
   ["product.vulnerabilities", "tag", "extract_cve_from_tag"],
   ["extra.answer", "size", "convert_int"],
   ["extra.", "up", "convert_bool"],
   [false, "secret"],
   ["extra.", "seen", "convert_date"]
  ],
  "constant_fields": {"classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system", "classification.identifier": "open-x", "protocol.application": "x"}
 }
}`

func TestLoadSchema(t *testing.T) {
	s, err := LoadSchema(strings.NewReader(miniSchema))
	if err != nil {
		t.Fatal(err)
	}
	if s.Created() != "2030-01-01T00:00:00Z" || !slices.Equal(s.Types(), []string{"scan_x"}) {
		t.Errorf("Created %q, Types %v", s.Created(), s.Types())
	}
	r := s.Report("scan_x")
	if len(r.mappings) != 13 || len(r.constants) != 4 {
		t.Errorf("%d mappings, %d constants", len(r.mappings), len(r.constants))
	}
	if m := r.mappings[11]; m.target != targetIgnore || m.column != "secret" {
		t.Errorf("false mapping = %+v", m)
	}
	if m := r.mappings[9]; m.target != targetExtra || m.extraKey != "answer" {
		t.Errorf("extra.answer mapping = %+v", m)
	}
}

func TestLoadSchemaBroken(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"not JSON", `{"scan_x": `, "not a JSON object"},
		{"a list", `[1, 2]`, "not a JSON object"},
		{"trailing data", `{"a": {"feed_name": "A", "file_name": "a"}} {}`, "data after the JSON object"},
		{"empty", `{}`, "no report types"},
		{"only meta", `{"_meta": {"date_created": "x"}}`, "no report types"},
		{"report not an object", `{"scan_x": 3}`, `report "scan_x"`},
		{"no file_name", `{"scan_x": {"feed_name": "X"}}`, `report "scan_x": no file_name`},
		{"no feed_name", `{"scan_x": {"file_name": "scan_x"}}`, `report "scan_x": no feed_name`},
		{"field not a list", `{"scan_x": {"feed_name": "X", "file_name": "scan_x", "required_fields": ["ip"]}}`, `required_fields[0]: want a list`},
		{"field too short", `{"scan_x": {"feed_name": "X", "file_name": "scan_x", "optional_fields": [["source.ip"]]}}`, `optional_fields[0]: want 2 to 4 elements`},
		{"column not a string", `{"scan_x": {"feed_name": "X", "file_name": "scan_x", "optional_fields": [["source.ip", 3]]}}`, `column: want a column name`},
		{"key true", `{"scan_x": {"feed_name": "X", "file_name": "scan_x", "optional_fields": [[true, "ip"]]}}`, `key is true`},
		{"whole-row flag wrong", `{"scan_x": {"feed_name": "X", "file_name": "scan_x", "optional_fields": [["source.ip", "ip", "validate_ip", true]]}}`, `whole-row flag is true`},
		{"whole-row flag missing", `{"scan_x": {"feed_name": "X", "file_name": "scan_x", "optional_fields": [["source.url", "url", "convert_http_host_and_url"]]}}`, `needs the whole row`},
		{"constant of a list", `{"scan_x": {"feed_name": "X", "file_name": "scan_x", "constant_fields": {"tlp": [1]}}}`, `constant_fields["tlp"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSchema(strings.NewReader(tt.schema))
			if err == nil {
				t.Fatalf("LoadSchema succeeded with %d types, want an error containing %q", len(s.Types()), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "shadowserver schema: ") {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// A report type the program cannot parse (a newer conversion function, an
// invalid constant) loads, so that the others keep working, and is refused
// when used.
func TestLoadSchemaUnusableReport(t *testing.T) {
	schema := `{
 "scan_new": {"feed_name": "New", "file_name": "scan_new",
  "required_fields": [["source.ip", "ip", "validate_quantum"]]},
 "scan_bad": {"feed_name": "Bad", "file_name": "scan_bad",
  "required_fields": [["source.ip", "ip"]], "constant_fields": {"classification.type": "pwned"}},
 "scan_odd": {"feed_name": "Odd", "file_name": "scan_odd",
  "required_fields": [["source.ip", "ip"]], "constant_fields": {"classification.taxonomy": "fraud", "classification.type": "scanner"}},
 "scan_ok": {"feed_name": "OK", "file_name": "scan_ok", "required_fields": [["source.ip", "ip"]],
  "constant_fields": {"classification.type": "scanner"}}
}`
	s, err := LoadSchema(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check()
	for _, want := range []string{`scan_new: required_fields[0]: unknown conversion function "validate_quantum"`, `scan_bad: constant_fields: classification.type: "pwned"`, `scan_odd: constant_fields: classification.type "scanner" does not belong to taxonomy "fraud"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "scan_ok") {
		t.Errorf("Check() blames scan_ok: %v", err)
	}
	var rec recorder
	err = New(s).Parse(t.Context(), input("scan_new.csv", "", []byte("ip\n192.0.2.1\n")), &rec)
	if err == nil || !strings.Contains(err.Error(), "validate_quantum") || errors.Is(err, parse.ErrUnknownReport) {
		t.Errorf("Parse scan_new: %v", err)
	}
	if err := New(s).Parse(t.Context(), input("scan_ok.csv", "", []byte("ip\n192.0.2.1\n")), &rec); err != nil || len(rec.events) != 1 {
		t.Errorf("Parse scan_ok: %v, %d events", err, len(rec.events))
	}
}

func TestReportType(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"2024-07-04-dns_openresolver-123-sample-asn.csv", "dns_openresolver"},
		{"2015-01-01-dns_openresolver-sample-asn.csv", "dns_openresolver"},
		{"2020-04-03-scan_ics-sample-asn-delayed.csv", "scan_ics"},
		{"2019-01-01-scan_http-country-geo.csv", "scan_http"},
		{"scan_ssl.csv", "scan_ssl"},
		{"event4_sinkhole_http.csv", "event4_sinkhole_http"},
		{"/var/spool/tocsin/2024-07-04-scan_ssl-de.csv", "scan_ssl"},
		{`C:\reports\2024-07-04-scan_ssl-de.csv`, "scan_ssl"},
		{"scan_ssl", "scan_ssl"},
		{"2024-07-04-scan_ssl", "scan_ssl"},
		{"2024-07-04.csv", "2024"}, // IntelMQ's pattern reads the date as the type
		{"scan ssl.csv", ""},
		{"scan_ssl--x.csv", ""},
		{"-scan_ssl.csv", ""},
		{".csv", ""},
		{"", ""},
	} {
		if got := ReportType(tt.name); got != tt.want {
			t.Errorf("ReportType(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestUnknownReport(t *testing.T) {
	for _, tt := range []struct{ name, report, want string }{
		{"report.txt", "", `cannot tell the report type from the file name "report.txt"`},
		{"2024-07-04-scan_teapot-x.csv", "", `the file name names report type "scan_teapot"`},
		{"scan_ssl.csv", "scan_teapot", `--report names report type "scan_teapot"`},
	} {
		_, err := run(t, tt.name, tt.report, []byte("timestamp,ip,port\n"))
		if !errors.Is(err, parse.ErrUnknownReport) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--report TYPE") {
			t.Errorf("Parse(%q, --report %q) = %v, want ErrUnknownReport saying %q and how to name it", tt.name, tt.report, err, tt.want)
		}
	}
	// --report wins over the file name.
	rec, err := run(t, "2024-07-04-scan_teapot-x.csv", "scan_ssl", []byte("timestamp,ip,port\n2024-07-04 01:02:03,192.0.2.1,443\n"))
	if err != nil || len(rec.events) != 1 || rec.events[0].Classification.Identifier != "open-ssl" {
		t.Errorf("--report scan_ssl: %v, %+v", err, rec.events)
	}
}
