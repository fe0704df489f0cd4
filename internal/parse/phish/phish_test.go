package phish

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/parsetest"
)

var harness = parsetest.Harness{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

func TestGolden(t *testing.T) {
	harness.Golden(t, []parsetest.Case{
		{Name: "openphish-intelmq", Sample: "intelmq/parsers@d624988/openphish/feed.txt", Parser: OpenPhish(), Feed: "openphish", Events: 2},
		{Name: "phishtank", Sample: "testdata/phishtank.csv", Parser: PhishTank(), Feed: "phishtank", Events: 3, Rejects: 3},
		// 14 URLs have a '%' that starts no escape ("/xx..%A"), which
		// event.NormURL (net/url) refuses.
		{Sample: "phishtank/phishtank_verified_online.2021-03-14.csv", Parser: PhishTank(), Feed: "phishtank", Events: 11330},
	})
}

func TestNew(t *testing.T) {
	parsetest.CheckNew(t, New, Formats, "list")
}

func TestRejects(t *testing.T) {
	const head = "phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n"
	tests := []struct {
		name   string
		parser parse.Parser
		feed   string
		input  string
		reason []string
	}{
		{"openphish space", OpenPhish(), "openphish", "http://a.example/\nhttp://b.example/x y\n", []string{"url", "x y"}},
		{"openphish no host", OpenPhish(), "openphish", "http://a.example/\nhttp:///path\n", []string{"url", "http:///path"}},
		{"phishtank url", PhishTank(), "phishtank", head + "1,http://a.example/,,,,,,\n2,http://a b/,,,,,,\n", []string{"url", "a b"}},
		{"phishtank online", PhishTank(), "phishtank", head + "1,http://a.example/,,,,,,\n2,http://b.example/,,,,,unknown,\n", []string{"online", "unknown"}},
		{"phishtank time", PhishTank(), "phishtank", head + "1,http://a.example/,,,,,,\n2,http://b.example/,,2021-02-30T00:00:00Z,,,,\n", []string{"submission_time", "2021-02-30"}},
		{"phishtank detail", PhishTank(), "phishtank", head + "1,http://a.example/,,,,,,\n2,http://b.example/,not a url,,,,,\n", []string{"phish_detail_url", "not a url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := harness.Run(t, tt.parser, tt.feed, "x", []byte(tt.input), true)
			if err != nil {
				t.Fatal(err)
			}
			got := c.Rejected()
			if c.NEvents != 1 || len(c.Rejects) != 1 || !strings.HasPrefix(got, "line 2: ") && !strings.HasPrefix(got, "line 3: ") {
				t.Fatalf("%d events, %d rejects %q", c.NEvents, len(c.Rejects), got)
			}
			for _, s := range tt.reason {
				if !strings.Contains(got, s) {
					t.Errorf("reason %q does not name %q", got, s)
				}
			}
		})
	}
}

func TestNotTheFormat(t *testing.T) {
	html := "<!DOCTYPE html>\n<html><body>Access denied</body></html>\n"
	for _, f := range Formats {
		p, _ := New(f)
		c, err := harness.Run(t, p, f, "x", []byte(html), false)
		if !errors.Is(err, ErrFormat) || c.NEvents+len(c.Rejects) != 0 {
			t.Errorf("%s: err = %v, %d events, %d rejects; want ErrFormat alone", f, err, c.NEvents, len(c.Rejects))
		}
	}
}
