package blocklist

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/parsetest"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

var harness = parsetest.Harness{
	Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	// Feeds a configuration would add, for the formats no built-in feed
	// uses.
	Feeds: map[string]*feed.Feed{
		"test-list": {Name: "test-list", Format: "list", Provider: "test",
			Classification: feed.Classification{Taxonomy: "other", Type: "blacklist", Identifier: "test-list"}},
		"test-phishing-domains": {Name: "test-phishing-domains", Format: "list", Provider: "test", Field: "source.fqdn",
			Classification: feed.Classification{Taxonomy: "fraud", Type: "phishing"}},
	},
}

func TestGolden(t *testing.T) {
	const bp = "blocklistproject/"
	harness.Golden(t, []parsetest.Case{
		{Name: "blocklistde-imap", Sample: "intelmq/parsers@d624988/blocklistde/imap.txt", Parser: BlocklistDE(), Feed: "blocklistde", Events: 6},
		{Name: "blocklistde-ssh", Sample: "testdata/ssh.txt", Parser: BlocklistDE(), Feed: "blocklistde", Events: 3, Rejects: 1},
		{Name: "dshield-block-2015", Sample: "intelmq/parsers@d624988/dshield/block.txt", Parser: DShieldBlock(), Feed: "dshield-block", Events: 2},
		{Name: "dshield-block", Sample: "testdata/block.txt", Parser: DShieldBlock(), Feed: "dshield-block", Events: 2, Rejects: 3},
		{Name: "list-mixed", Sample: "testdata/mixed.txt", Parser: List(), Feed: "test-list", Events: 14, Rejects: 5},
		{Name: "list-zeusips", Sample: "abusech/zeusips.txt", Parser: List(), Feed: "test-list", Events: 1},
		{Name: "list-feododomains", Sample: "abusech/feododomains.txt", Parser: List(), Feed: "test-list", Events: 1},
		{Sample: bp + "abuse.ip", Parser: List(), Feed: "test-list", Events: 19926},
		{Sample: bp + "malware.ip", Parser: List(), Feed: "test-list", Events: 20907},
		{Sample: bp + "crypto-nl.txt", Parser: List(), Feed: "test-list", Events: 1272},
		{Sample: bp + "phishing-nl.txt", Parser: List(), Feed: "test-phishing-domains", Events: 190215},
		{Sample: bp + "ransomware-nl.txt", Parser: List(), Feed: "test-list", Events: 1904},
		{Sample: bp + "scam-nl.txt", Parser: List(), Feed: "test-list", Events: 8527},
		{Sample: "urlhaus-derived/urlhaus-filter-domains-online.txt", Parser: List(), Feed: "test-list", Events: 2853},
		{Sample: "urlhaus-derived/urlhaus-filter-online.txt", Parser: List(), Feed: "test-list", Events: 6363},
		{Sample: "threatfox/threatfox_ioc_ips.2026-08-22.txt", Parser: List(), Feed: "test-list", Events: 19863},
	})
}

func TestNew(t *testing.T) {
	parsetest.CheckNew(t, New, Formats, "openphish")
}

func TestListConfig(t *testing.T) {
	noClass := &feed.Feed{Name: "my-list", Format: "list"}
	_, err := harness.Parse(t, List(), parse.Input{R: strings.NewReader("192.0.2.1\n"), Feed: noClass}, false)
	if !errors.Is(err, ErrNoClassification) || !strings.Contains(err.Error(), "my-list") || !strings.Contains(err.Error(), "set classification") {
		t.Errorf("list without classification: err = %v", err)
	}
	badField := &feed.Feed{Name: "my-list", Format: "list", Field: "source.port",
		Classification: feed.Classification{Type: "blacklist"}}
	_, err = harness.Parse(t, List(), parse.Input{R: strings.NewReader("443\n"), Feed: badField}, false)
	if !errors.Is(err, ErrField) || !strings.Contains(err.Error(), "source.port") {
		t.Errorf("list with field source.port: err = %v", err)
	}
}

// TestListField checks that the feed's field decides what an entry is.
func TestListField(t *testing.T) {
	tests := []struct {
		field, input, want, reject string
	}{
		{"source.fqdn", "example.com\n192.0.2.1\n", `"source.fqdn":"example.com"`, "192.0.2.1"},
		{"source.ip", "192.0.2.1\nexample.com\n", `"source.ip":"192.0.2.1"`, "example.com"},
		{"source.network", "192.0.2.0/24\n192.0.2.0/99\n", `"source.network":"192.0.2.0/24"`, "192.0.2.0/99"},
		{"source.url", "example.com/x\nhttp://a b/\n", `"source.url":"http://example.com/x"`, "a b"},
		{"source.asn", "AS64500\nAS0\n", `"source.asn":64500`, "AS0"},
		{"destination.ip", "192.0.2.9\nx\n", `"destination.ip":"192.0.2.9"`, `"x"`},
	}
	for _, tt := range tests {
		f := &feed.Feed{Name: "my-list", Format: "list", Field: tt.field, Classification: feed.Classification{Type: "blacklist"}}
		c, err := harness.Parse(t, List(), parse.Input{R: strings.NewReader(tt.input), Feed: f}, true)
		if err != nil {
			t.Errorf("%s: %v", tt.field, err)
			continue
		}
		if c.NEvents != 1 || !strings.Contains(c.JSON(), tt.want) {
			t.Errorf("%s: %d events %s, want %s", tt.field, c.NEvents, c.JSON(), tt.want)
		}
		if r := c.Rejected(); len(c.Rejects) != 1 || !strings.HasPrefix(r, "line 2: ") || !strings.Contains(r, tt.reject) || !strings.Contains(r, tt.field) {
			t.Errorf("%s: rejects %q, want one at line 2 naming %s and %s", tt.field, r, tt.field, tt.reject)
		}
	}
}

func TestBlocklistDEName(t *testing.T) {
	tests := []struct{ name, report, want string }{
		{"ssh.txt", "", "ssh"},
		{"/var/spool/tocsin/lists/bruteforcelogin.txt", "", "bruteforcelogin"},
		{"blocklistde-mail.txt", "", "mail"},
		{"2026-01-01.txt", "apache", "apache"},
		{"export.txt", "", ""},
	}
	for _, tt := range tests {
		in := parse.Input{Name: tt.name, Report: tt.report}
		if got := deListName(&in); got != tt.want {
			t.Errorf("deListName(%q, %q) = %q, want %q", tt.name, tt.report, got, tt.want)
		}
	}
	// A list of unknown name keeps the feed's classification.
	c, err := harness.Run(t, BlocklistDE(), "blocklistde", "export.txt", []byte("192.0.2.1\n"), true)
	if err != nil || !strings.Contains(c.JSON(), `"classification.taxonomy":"other","classification.type":"blacklist"`) ||
		strings.Contains(c.JSON(), "classification.identifier") {
		t.Errorf("unknown list: %v %s", err, c.JSON())
	}
	c, err = harness.Run(t, BlocklistDE(), "blocklistde", "bots.txt", []byte("192.0.2.1\n"), true)
	if err != nil || !strings.Contains(c.JSON(), `"classification.identifier":"bots","classification.taxonomy":"abusive-content","classification.type":"spam"`) {
		t.Errorf("bots.txt: %v %s", err, c.JSON())
	}
}

func TestNotTheFormat(t *testing.T) {
	html := "<!DOCTYPE html>\n<html><body>Too many requests</body></html>\n"
	for _, tt := range []struct {
		p    parse.Parser
		feed string
	}{{BlocklistDE(), "blocklistde"}, {DShieldBlock(), "dshield-block"}, {List(), "test-list"}} {
		c, err := harness.Run(t, tt.p, tt.feed, "x", []byte(html), false)
		if !errors.Is(err, ErrFormat) || c.NEvents+len(c.Rejects) != 0 {
			t.Errorf("%s: err = %v, %d events, %d rejects; want ErrFormat alone", tt.feed, err, c.NEvents, len(c.Rejects))
		}
	}
}

func TestListBigCRLF(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\xef\xbb\xbf# list\r\n")
	for range 100 {
		b.WriteString("192.0.2.1\r\n")
	}
	b.WriteString(strings.Repeat("a", textreport.MaxLine+10) + "\r\n192.0.2.2")
	c, err := harness.Run(t, List(), "test-list", "x", b.Bytes(), true)
	if err != nil || c.NEvents != 101 || len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejected(), "line 102: line is longer") {
		t.Errorf("err %v, %d events, %d rejects %q", err, c.NEvents, len(c.Rejects), c.Rejected())
	}
}
