package abusech

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/parsetest"
)

var harness = parsetest.Harness{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

func TestGolden(t *testing.T) {
	harness.Golden(t, []parsetest.Case{
		{Name: "feodo-2024-03-26", Sample: "abusech/feodotracker_ipblocklist.2024-03-26.csv", Parser: Feodo(), Feed: "abusech-feodo", Events: 27},
		{Name: "feodo-2024-04-04", Sample: "abusech/feodotracker_ipblocklist.2024-04-04.csv", Parser: Feodo(), Feed: "abusech-feodo", Events: 28},
		{Name: "feodo-2021", Sample: "abusech/feodoips.txt", Parser: Feodo(), Feed: "abusech-feodo", Events: 2},
		{Name: "sslbl-2015", Sample: "abusech/sslbl_sslipblacklist.2015-10-15.csv", Parser: SSLBL(), Feed: "abusech-sslbl", Events: 83},
		{Name: "sslbl-2024", Sample: "testdata/sslbl_2024.csv", Parser: SSLBL(), Feed: "abusech-sslbl", Events: 2, Rejects: 2},
		{Name: "urlhaus-tld-2019", Sample: "abusech/urlhaus.txt", Parser: URLhaus(), Feed: "abusech-urlhaus", Events: 2},
		{Name: "urlhaus-dump", Sample: "testdata/urlhaus_dump.csv", Parser: URLhaus(), Feed: "abusech-urlhaus", Events: 4, Rejects: 3},
		{Name: "threatfox-full", Sample: "testdata/threatfox_full.csv", Parser: ThreatFox(), Feed: "abusech-threatfox", Events: 6, Rejects: 3},
		{Name: "threatfox-plain", Sample: "testdata/threatfox_plain.txt", Parser: ThreatFox(), Feed: "abusech-threatfox", Events: 6, Rejects: 2},
		{Sample: "threatfox/threatfox_ioc_ips.2026-08-22.txt", Parser: ThreatFox(), Feed: "abusech-threatfox", Events: 19863},
	})
}

func TestNew(t *testing.T) {
	parsetest.CheckNew(t, New, Formats, "shadowserver")
}

// TestRejects checks that bad rows are rejected with a reason that names
// the column and the value, and that the parse goes on.
func TestRejects(t *testing.T) {
	const feodoHeader = "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
	tests := []struct {
		name   string
		parser parse.Parser
		feed   string
		input  string
		line   int
		reason []string // substrings of the reason
	}{
		{"feodo bad ip", Feodo(), "abusech-feodo", feodoHeader + `"2024-01-01 00:00:00","192.0.2.256","443","online","2024-01-02","Dridex"` + "\n", 2, []string{"dst_ip", "192.0.2.256"}},
		{"feodo bad port", Feodo(), "abusech-feodo", feodoHeader + `"2024-01-01 00:00:00","192.0.2.1","4433333","online","2024-01-02","Dridex"` + "\n", 2, []string{"dst_port", "4433333"}},
		{"feodo bad date", Feodo(), "abusech-feodo", feodoHeader + `"2024-13-01 00:00:00","192.0.2.1","443","online","2024-01-02","Dridex"` + "\n", 2, []string{"first_seen_utc", "2024-13-01"}},
		{"feodo bad last_online", Feodo(), "abusech-feodo", feodoHeader + `"2024-01-01 00:00:00","192.0.2.1","443","online","soon","Dridex"` + "\n", 2, []string{"last_online", "soon"}},
		{"feodo quote", Feodo(), "abusech-feodo", feodoHeader + `"2024-01-01 00:00:00","192.0.2.1` + "\n", 2, []string{"quote"}},
		{"sslbl bad port", SSLBL(), "abusech-sslbl", "# DstIP,DstPort\n192.0.2.1,x,Dridex C&C\n", 2, []string{"DstPort", `"x"`}},
		{"urlhaus bad url", URLhaus(), "abusech-urlhaus", "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\"1\",\"2024-01-01 00:00:00\",\"http://a b/\",\"online\",\"\",\"malware_download\",\"\",\"\",\"x\"\n", 2, []string{"url", "a b"}},
		{"urlhaus bad cc", URLhaus(), "abusech-urlhaus", "# Dateadded (UTC),URL,URL_status,Threat,Host,IPaddress,ASnumber,Country\n2019-02-13 00:34:42,http://example.ch/,offline,malware_download,example.ch,192.0.2.1,29083,DEU\n", 2, []string{"country", "DEU"}},
		{"urlhaus bad asn", URLhaus(), "abusech-urlhaus", "# Dateadded (UTC),URL,URL_status,Threat,Host,IPaddress,ASnumber,Country\n2019-02-13 00:34:42,http://example.ch/,offline,malware_download,example.ch,192.0.2.1,AS-X,DE\n", 2, []string{"asnumber", "AS-X"}},
		{"threatfox hash", ThreatFox(), "abusech-threatfox", "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\"\n\"2024-01-01 00:00:00\", \"1\", \"d41d8cd98f00b204e9800998ecf8427e\", \"md5_hash\", \"payload\"\n", 2, []string{"ioc_type", "md5_hash"}},
		{"threatfox bad ip:port", ThreatFox(), "abusech-threatfox", "192.0.2.1\n192.0.2.1:port\n", 2, []string{"port", `"port"`}},
		{"threatfox bad domain", ThreatFox(), "abusech-threatfox", "192.0.2.1\nexample..com\n", 2, []string{"ioc", "example..com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := harness.Run(t, tt.parser, tt.feed, "test", []byte(tt.input), true)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(c.Rejects) != 1 {
				t.Fatalf("%d rejects, want 1 (%d events)", len(c.Rejects), c.NEvents)
			}
			got := c.Rejected()
			if !strings.HasPrefix(got, "line ") || !strings.Contains(got, "line "+strconv.Itoa(tt.line)+":") {
				t.Errorf("reject %q is not at line %d", got, tt.line)
			}
			for _, s := range tt.reason {
				if !strings.Contains(got, s) {
					t.Errorf("reason %q does not name %q", got, s)
				}
			}
		})
	}
}

// TestNotTheFormat checks that a report of another kind is one error, not a
// reject per line.
func TestNotTheFormat(t *testing.T) {
	html := "<!DOCTYPE html>\n<html><body>Rate limit exceeded</body></html>\n"
	for _, f := range Formats {
		p, _ := New(f)
		feedName := map[string]string{"feodo": "abusech-feodo", "sslbl": "abusech-sslbl", "urlhaus": "abusech-urlhaus", "threatfox": "abusech-threatfox"}[f]
		c, err := harness.Run(t, p, feedName, "x", []byte(html), false)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", f, err)
		}
		if c.NEvents+len(c.Rejects) != 0 {
			t.Errorf("%s: %d events, %d rejects from an HTML page", f, c.NEvents, len(c.Rejects))
		}
	}
}

// TestPlainForms checks the one-value-per-line exports: Feodo Tracker's
// ipblocklist.txt and URLhaus's text export.
func TestPlainForms(t *testing.T) {
	tests := []struct {
		parser      parse.Parser
		feed, input string
		want        []string
	}{
		{Feodo(), "abusech-feodo", "# Feodo Tracker Botnet C2 IP Blocklist\n#\n192.0.2.1\n198.51.100.2\n", []string{`"source.ip":"192.0.2.1"`, `"source.ip":"198.51.100.2"`}},
		{URLhaus(), "abusech-urlhaus", "# URLhaus\nhttp://192.0.2.1/x.sh\nhttps://dl.example.com/a.exe\n", []string{`"source.ip":"192.0.2.1","source.url":"http://192.0.2.1/x.sh"`, `"source.fqdn":"dl.example.com","source.url":"https://dl.example.com/a.exe"`}},
	}
	for _, tt := range tests {
		c, err := harness.Run(t, tt.parser, tt.feed, "x", []byte(tt.input), true)
		if err != nil || len(c.Rejects) != 0 || c.NEvents != len(tt.want) {
			t.Errorf("%s: err %v, %d events, %d rejects %s", tt.feed, err, c.NEvents, len(c.Rejects), c.Rejected())
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(c.JSON(), w) {
				t.Errorf("%s: output lacks %s:\n%s", tt.feed, w, c.JSON())
			}
		}
	}
}
