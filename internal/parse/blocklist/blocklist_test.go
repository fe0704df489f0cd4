package blocklist

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

func TestGolden(t *testing.T) {
	const bp = "blocklistproject/"
	runGolden(t, []goldenCase{
		{"blocklistde-imap", "intelmq/parsers@d624988/blocklistde/imap.txt", BlocklistDE(), "blocklistde", 6, 0},
		{"blocklistde-ssh", "testdata/ssh.txt", BlocklistDE(), "blocklistde", 3, 1},
		{"dshield-block-2015", "intelmq/parsers@d624988/dshield/block.txt", DShieldBlock(), "dshield-block", 2, 0},
		{"dshield-block", "testdata/block.txt", DShieldBlock(), "dshield-block", 2, 3},
		{"list-mixed", "testdata/mixed.txt", List(), "test-list", 14, 5},
		{"list-zeusips", "abusech/zeusips.txt", List(), "test-list", 1, 0},
		{"list-feododomains", "abusech/feododomains.txt", List(), "test-list", 1, 0},
		{"", bp + "abuse.ip", List(), "test-list", 19926, 0},
		{"", bp + "malware.ip", List(), "test-list", 20907, 0},
		{"", bp + "crypto-nl.txt", List(), "test-list", 1272, 0},
		{"", bp + "phishing-nl.txt", List(), "test-phishing-domains", 190215, 0},
		{"", bp + "ransomware-nl.txt", List(), "test-list", 1904, 0},
		{"", bp + "scam-nl.txt", List(), "test-list", 8527, 0},
		{"", "urlhaus-derived/urlhaus-filter-domains-online.txt", List(), "test-list", 2853, 0},
		{"", "urlhaus-derived/urlhaus-filter-online.txt", List(), "test-list", 6363, 0},
		{"", "threatfox/threatfox_ioc_ips.2026-08-22.txt", List(), "test-list", 19863, 0},
	})
}

func TestNew(t *testing.T) {
	for _, f := range Formats {
		if p, ok := New(f); !ok || p == nil {
			t.Errorf("New(%q) = %v, %v", f, p, ok)
		}
	}
	if _, ok := New("openphish"); ok {
		t.Error(`New("openphish") claims a format of another package`)
	}
}

func TestListConfig(t *testing.T) {
	noClass := &feed.Feed{Name: "my-list", Format: "list"}
	err := List().Parse(context.Background(), parse.Input{R: strings.NewReader("192.0.2.1\n"), Feed: noClass, Now: testNow}, &collector{t: t})
	if !errors.Is(err, ErrNoClassification) || !strings.Contains(err.Error(), "my-list") || !strings.Contains(err.Error(), "set classification") {
		t.Errorf("list without classification: err = %v", err)
	}
	badField := &feed.Feed{Name: "my-list", Format: "list", Field: "source.port",
		Classification: feed.Classification{Type: "blacklist"}}
	err = List().Parse(context.Background(), parse.Input{R: strings.NewReader("443\n"), Feed: badField, Now: testNow}, &collector{t: t})
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
		c := &collector{t: t, keep: true}
		if err := List().Parse(context.Background(), parse.Input{R: strings.NewReader(tt.input), Feed: f, Now: testNow}, c); err != nil {
			t.Errorf("%s: %v", tt.field, err)
			continue
		}
		if c.events != 1 || !strings.Contains(c.json.String(), tt.want) {
			t.Errorf("%s: %d events %s, want %s", tt.field, c.events, c.json.String(), tt.want)
		}
		if r := c.rejected.String(); c.rejects != 1 || !strings.HasPrefix(r, "line 2: ") || !strings.Contains(r, tt.reject) || !strings.Contains(r, tt.field) {
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
	c, err := runParser(t, BlocklistDE(), "blocklistde", "export.txt", []byte("192.0.2.1\n"), true)
	if err != nil || !strings.Contains(c.json.String(), `"classification.taxonomy":"other","classification.type":"blacklist"`) ||
		strings.Contains(c.json.String(), "classification.identifier") {
		t.Errorf("unknown list: %v %s", err, c.json.String())
	}
	c, err = runParser(t, BlocklistDE(), "blocklistde", "bots.txt", []byte("192.0.2.1\n"), true)
	if err != nil || !strings.Contains(c.json.String(), `"classification.identifier":"bots","classification.taxonomy":"abusive-content","classification.type":"spam"`) {
		t.Errorf("bots.txt: %v %s", err, c.json.String())
	}
}

func TestNotTheFormat(t *testing.T) {
	html := "<!DOCTYPE html>\n<html><body>Too many requests</body></html>\n"
	for _, tt := range []struct {
		p    parse.Parser
		feed string
	}{{BlocklistDE(), "blocklistde"}, {DShieldBlock(), "dshield-block"}, {List(), "test-list"}} {
		c, err := runParser(t, tt.p, tt.feed, "x", []byte(html), false)
		if !errors.Is(err, ErrFormat) || c.events+c.rejects != 0 {
			t.Errorf("%s: err = %v, %d events, %d rejects; want ErrFormat alone", tt.feed, err, c.events, c.rejects)
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
	c, err := runParser(t, List(), "test-list", "x", b.Bytes(), true)
	if err != nil || c.events != 101 || c.rejects != 1 || !strings.HasPrefix(c.rejected.String(), "line 102: line is longer") {
		t.Errorf("err %v, %d events, %d rejects %q", err, c.events, c.rejects, c.rejected.String())
	}
}
