package render

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

func TestCSVColumns(t *testing.T) {
	items := []Item{
		{Event: build(t, "classification.type", "scanner", "source.ip", "192.0.2.1", "source.port", "23", "extra.b", "1"), Count: 4,
			FirstSeen: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		{Event: build(t, "classification.type", "scanner", "source.fqdn", "x.example", "extra.a", "2")},
	}
	want := []string{"source.ip", "source.port", "source.fqdn", "classification.taxonomy", "classification.type", "extra.a", "extra.b", "count", "first_seen", "last_seen"}
	if got := DefaultColumns(items); !slices.Equal(got, want) {
		t.Fatalf("DefaultColumns = %q\nwant %q", got, want)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, items, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], want) ||
		!slices.Equal(rows[1], []string{"192.0.2.1", "23", "", "information-gathering", "scanner", "", "1", "4", "2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00"}) ||
		!slices.Equal(rows[2], []string{"", "", "x.example", "information-gathering", "scanner", "2", "", "1", "", ""}) {
		t.Errorf("rows %q", rows)
	}
	b.Reset()
	if err := WriteCSV(&b, items, []string{"source.ip", "count"}); err != nil || b.String() != "source.ip,count\n192.0.2.1,4\n,1\n" {
		t.Errorf("explicit columns: %q, %v", b.String(), err)
	}
	if err := WriteCSV(&b, items, []string{"source.ipp"}); err == nil || !strings.Contains(err.Error(), `"source.ipp"`) {
		t.Errorf("unknown column: %v", err)
	}
}

// TestCSVInjection: quoting of commas, quotes and line breaks, and the
// OWASP prefix for cells a spreadsheet would run.
func TestCSVInjection(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(1+1)", "'@SUM(1+1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"＝1+1", "'＝1+1"},
		{"-12.5", "-12.5"},
		{"+46", "+46"},
		{"-", "'-"},
		{"a,b \"quoted\"\nnext line", "a,b \"quoted\"\nnext line"},
		{"plain", "plain"},
	}
	var items []Item
	for _, tt := range tests {
		items = append(items, Item{Event: build(t, "classification.type", "spam", "source.ip", "192.0.2.1", "extra.cell", tt.in)})
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, items, []string{"extra.cell"}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		if got := rows[i+1][0]; got != tt.want {
			t.Errorf("cell %q written as %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestJSONRoundTrip: every line of WriteJSON reads back with
// event.UnmarshalJSON to the event, raw aside.
func TestJSONRoundTrip(t *testing.T) {
	d := digest(t)
	var b bytes.Buffer
	if err := WriteJSON(&b, d.Items); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var e event.Event
		if err := e.UnmarshalJSON(sc.Bytes()); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		want := *d.Items[n].Event
		want.Raw = nil
		if got, w := string(e.AppendJSON(nil)), string(want.AppendJSON(nil)); got != w {
			t.Errorf("line %d:\n got %s\nwant %s", n+1, got, w)
		}
		if strings.Contains(sc.Text(), `"raw"`) {
			t.Errorf("line %d has raw", n+1)
		}
		n++
	}
	if n != len(d.Items) {
		t.Errorf("%d lines for %d events", n, len(d.Items))
	}
	// Inline JSON: bidi controls as escapes, the same string when read.
	e := build(t, "classification.type", "spam", "source.ip", "192.0.2.1", "extra.x", "a\u202eb")
	b.Reset()
	if err := writeJSON(&b, []Item{{Event: e}}, true); err != nil {
		t.Fatal(err)
	}
	var back event.Event
	if strings.ContainsRune(b.String(), '\u202e') || back.UnmarshalJSON(b.Bytes()) != nil || back.Extra["x"] != "a\u202eb" {
		t.Errorf("inline JSON %q", b.String())
	}
}

// checkXARF checks r against what the X-ARF schema release 3
// (github.com/abusix/xarf, schemas/3) requires: xarf_shared.schema.json's
// XarfBase (Version "3", Disclosure, ReporterInfo with ReporterOrg of 3
// characters or more, ReporterOrgDomain a host name, ReporterOrgEmail an
// address, and no other ReporterInfo keys than the schema lists),
// ReportBase (ReportClass in Content, Activity, Vulnerability; ReportType),
// Date (a date-time), IpBasedReport (SourceIp) or IpAndUrlBasedReport
// (SourceIp or SourceUrl), ports and ASN in range, and the type's own
// schema: its class, Phishing's SourceUrl, OpenService's ServiceName,
// TransportProtocol tcp or udp, Custom values strings or integers, and
// every Sample with ContentType and Payload.
func checkXARF(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	fail := func(f string, args ...any) { t.Helper(); t.Errorf("x-arf: "+f+"\n%s", append(args, b)...) }
	if r["Version"] != "3" {
		fail("Version = %v", r["Version"])
	}
	if r["Disclosure"] != true {
		fail("Disclosure = %v", r["Disclosure"])
	}
	ri, _ := r["ReporterInfo"].(map[string]any)
	allowed := []string{"ReporterType", "ReporterOrg", "ReporterOrgDomain", "ReporterOrgEmail", "ReporterOrgAddress", "ReporterContactEmail", "ReporterContactName", "ReporterContactPhone"}
	for k := range ri {
		if !slices.Contains(allowed, k) {
			fail("ReporterInfo has %q, which the schema does not allow", k)
		}
	}
	if s, _ := ri["ReporterOrg"].(string); len([]rune(s)) < 3 {
		fail("ReporterOrg %q", s)
	}
	if s, _ := ri["ReporterOrgDomain"].(string); !regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`).MatchString(s) {
		fail("ReporterOrgDomain %q", s)
	}
	for _, k := range []string{"ReporterOrgEmail", "ReporterContactEmail"} {
		if s, ok := ri[k].(string); (ok || k == "ReporterOrgEmail") && !isEmail(s) {
			fail("%s %q", k, s)
		}
	}
	rep, _ := r["Report"].(map[string]any)
	class, _ := rep["ReportClass"].(string)
	typ, _ := rep["ReportType"].(string)
	classes := map[string]string{"Botnet": "Content", "Malware": "Content", "Phishing": "Content", "OpenService": "Vulnerability",
		"LoginAttack": "Activity", "PortScan": "Activity", "Spam": "Activity", "DOS": "Activity", "Exploit": "Activity"}
	if classes[typ] == "" || classes[typ] != class {
		fail("ReportClass %q / ReportType %q", class, typ)
	}
	for _, k := range []string{"Date", "FirstSeen"} {
		if s, ok := rep[k].(string); (ok || k == "Date") && !isDateTime(s) {
			fail("%s %q", k, s)
		}
	}
	ipOnly := class == "Activity"
	ip, hasIP := rep["SourceIp"].(string)
	u, hasURL := rep["SourceUrl"].(string)
	if hasIP {
		if a, err := netip.ParseAddr(ip); err != nil || a.Zone() != "" || a.Is4In6() {
			fail("SourceIp %q", ip)
		}
	}
	if hasURL && !webURL(u) {
		fail("SourceUrl %q", u)
	}
	if ipOnly && !hasIP || !hasIP && !hasURL || typ == "Phishing" && !hasURL {
		fail("the source is missing")
	}
	for _, k := range []string{"SourcePort", "DestinationPort"} {
		if p, ok := rep[k].(float64); ok && (p < 0 || p > 65535 || p != float64(int(p))) {
			fail("%s %v", k, p)
		}
	}
	if a, ok := rep["ASN"].(float64); ok && (a < 1 || a > 4199999999) {
		fail("ASN %v", a)
	}
	if s, ok := rep["TransportProtocol"].(string); ok && s != "tcp" && s != "udp" {
		fail("TransportProtocol %q", s)
	}
	if s, _ := rep["ServiceName"].(string); typ == "OpenService" && s == "" {
		fail("OpenService without ServiceName")
	}
	if c, ok := rep["Custom"].(map[string]any); ok {
		for k, v := range c {
			if _, ok := v.(string); !ok {
				fail("Custom %s is %T", k, v)
			}
		}
	}
	if ss, ok := rep["Samples"].([]any); ok {
		if len(ss) == 0 {
			fail("Samples is empty (minItems 1)")
		}
		for _, s := range ss {
			m, _ := s.(map[string]any)
			if _, ok := m["ContentType"].(string); !ok {
				fail("a sample without ContentType")
			}
			if _, ok := m["Payload"].(string); !ok {
				fail("a sample without Payload")
			}
		}
	}
	return rep
}

func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func isDateTime(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

func TestXARF(t *testing.T) {
	d := digest(t)
	var got []string
	for _, it := range d.Items {
		b, err := XARF(it, d)
		if errors.Is(err, ErrNoXARFType) {
			got = append(got, it.Event.Classification.Type+"=none")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rep := checkXARF(t, b)
		got = append(got, it.Event.Classification.Type+"="+rep["ReportClass"].(string)+"/"+rep["ReportType"].(string))
		if rep["ReporterCaseID"] != d.Ident {
			t.Errorf("ReporterCaseID %v", rep["ReporterCaseID"])
		}
	}
	want := []string{
		"infected-system=Content/Botnet", "infected-system=Content/Botnet", "system-compromise=none",
		"malware-distribution=Content/Malware", "vulnerable-system=Vulnerability/OpenService",
		"vulnerable-system=Vulnerability/OpenService", "vulnerable-system=Vulnerability/OpenService",
		"vulnerable-system=Vulnerability/OpenService", "brute-force=Activity/LoginAttack",
		"phishing=Content/Phishing", "c2-server=Content/Botnet", "blacklist=none",
	}
	if !slices.Equal(got, want) {
		t.Errorf("kinds\n got %q\nwant %q", got, want)
	}

	// A close look at one: the open resolver.
	b, err := XARF(d.Items[5], d)
	if err != nil {
		t.Fatal(err)
	}
	rep := checkXARF(t, b)
	if rep["SourceIp"] != "198.51.100.179" || rep["SourcePort"] != 53.0 || rep["ASN"] != 25255.0 || rep["ServiceName"] != "dns" ||
		rep["TransportProtocol"] != "udp" || rep["Date"] != "2026-11-22T19:30:00Z" || rep["FirstSeen"] != "2026-11-22T14:30:00Z" {
		t.Errorf("open resolver report: %s", b)
	}

	// Other types the schema has.
	for _, tt := range []struct{ kv []string }{
		{[]string{"classification.type", "ddos", "source.ip", "2001:db8::1", "destination.ip", "192.0.2.9", "destination.port", "80"}},
		{[]string{"classification.type", "exploit", "source.ip", "192.0.2.5", "protocol.transport", "tcp"}},
		{[]string{"classification.type", "scanner", "source.ip", "::ffff:192.0.2.6"}},
		{[]string{"classification.type", "spam", "source.ip", "192.0.2.7"}},
	} {
		checkXARF(t, mustXARF(t, Item{Event: build(t, tt.kv...)}, d))
	}

	// What a type requires and the event lacks: no report.
	for _, kv := range [][]string{
		{"classification.type", "phishing", "source.ip", "192.0.2.1"},
		{"classification.type", "scanner", "source.url", "http://x.example/"},
		{"classification.type", "vulnerable-system", "source.ip", "192.0.2.1"},
	} {
		if _, err := XARF(Item{Event: build(t, kv...)}, d); !errors.Is(err, ErrNoXARFType) {
			t.Errorf("%q: err = %v, want ErrNoXARFType", kv, err)
		}
	}

	// The reporter must be complete.
	for _, s := range []Sender{{Name: "CE", Email: "cert@example.org"}, {Name: "CERT", Email: ""}, {Name: "CERT", Email: "CERT <cert@example.org>"}} {
		bad := *d
		bad.Sender = s
		if _, err := XARF(d.Items[0], &bad); err == nil || errors.Is(err, ErrNoXARFType) {
			t.Errorf("sender %+v: err = %v", s, err)
		}
	}
}

func mustXARF(t *testing.T, it Item, d *Data) []byte {
	t.Helper()
	b, err := XARF(it, d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRenderXARF: one report per event that has a type, the rest in CSV.
func TestRenderXARF(t *testing.T) {
	r := mustNew(t, "")
	d := digest(t)
	d.Format = FormatXARF
	out, err := r.Render(d, []string{"sv"})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, a := range out.Attachments {
		if strings.HasSuffix(a.Name, ".xarf.json") {
			n++
			checkXARF(t, a.Data)
			continue
		}
		rows, err := csv.NewReader(bytes.NewReader(a.Data)).ReadAll()
		if err != nil || len(rows) != 2 { // a header and the event X-ARF has no type for
			t.Errorf("%s: %d rows, %v", a.Name, len(rows), err)
		}
	}
	if n != 10 || !strings.Contains(out.Text, "X-ARF") {
		t.Errorf("%d X-ARF reports\n%s", n, out.Text)
	}
}

// TestCSVPerKind: the CSV attachments hold one kind of report each, every
// event once, and only columns that some of the file's events have.
func TestCSVPerKind(t *testing.T) {
	r := mustNew(t, "")
	d := digest(t)
	d.Format = FormatCSV
	out, err := r.Render(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, a := range out.Attachments {
		recs, err := csv.NewReader(bytes.NewReader(a.Data)).ReadAll()
		if err != nil || len(recs) < 2 {
			t.Fatalf("%s: %d records, %v", a.Name, len(recs), err)
		}
		head := recs[0]
		kinds := map[string]bool{}
		for _, rec := range recs[1:] {
			rows++
			var kind []string
			for i, c := range head {
				if c == "feed.name" || c == "feed.code" {
					kind = append(kind, rec[i])
				}
			}
			kinds[strings.Join(kind, "/")] = true
		}
		if len(kinds) != 1 {
			t.Errorf("%s holds %d kinds of report: %v", a.Name, len(kinds), kinds)
		}
		for i, c := range head {
			empty := true
			for _, rec := range recs[1:] {
				empty = empty && rec[i] == ""
			}
			if empty {
				t.Errorf("%s: column %s is empty on every line", a.Name, c)
			}
		}
	}
	if rows != len(d.Items) {
		t.Errorf("%d rows in the CSV files, want %d events", rows, len(d.Items))
	}
}

func TestFileSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Sinkhole-Events-HTTP IPv4": "sinkhole-events-http-ipv4",
		"../../etc/passwd":          "etc-passwd",
		"  Scan_SSL  ":              "scan-ssl",
		"Ünïcode":                   "n-code",
		"":                          "",
		strings.Repeat("a", 80):     strings.Repeat("a", 48),
	} {
		if got := fileSlug(in); got != want {
			t.Errorf("fileSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCSVFilesCapped: a digest of more kinds of report than MaxCSVFiles
// sends the largest kinds in their own files, the rest in one.
func TestCSVFilesCapped(t *testing.T) {
	var items []Item
	for k := range MaxCSVFiles + 5 {
		for j := range k + 1 { // kind k has k+1 events
			e := &event.Event{}
			e.Feed.Name, e.Feed.Code = "shadowserver", fmt.Sprintf("Kind-%02d", k)
			e.Classification.Type = "vulnerable-system"
			items = append(items, Item{ID: int64(len(items) + 1), Event: e, Count: int64(j + 1)})
		}
	}
	as, err := csvAttachments("TOCSIN-20261124-000001", items)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != MaxCSVFiles {
		t.Fatalf("%d files, want %d", len(as), MaxCSVFiles)
	}
	last := as[len(as)-1]
	if last.Name != "TOCSIN-20261124-000001-other-reports.csv" {
		t.Errorf("last file %s", last.Name)
	}
	// The six smallest kinds (1..6 events) share it: 21 rows.
	recs, err := csv.NewReader(bytes.NewReader(last.Data)).ReadAll()
	if err != nil || len(recs) != 1+21 {
		t.Errorf("%s: %d records, %v", last.Name, len(recs), err)
	}
	if as[0].Name != "TOCSIN-20261124-000001-kind-06.csv" {
		t.Errorf("first file %s, want kind-06 (kinds 00..05 share the last)", as[0].Name)
	}
}
