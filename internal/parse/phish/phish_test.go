package phish

import (
	"errors"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/parse"
)

func TestGolden(t *testing.T) {
	runGolden(t, []goldenCase{
		{"openphish-intelmq", "intelmq/parsers@d624988/openphish/feed.txt", OpenPhish(), "openphish", 2, 0},
		{"phishtank", "testdata/phishtank.csv", PhishTank(), "phishtank", 3, 3},
		// 14 URLs have a '%' that starts no escape ("/xx..%A"), which
		// event.NormURL (net/url) refuses.
		{"", "phishtank/phishtank_verified_online.2021-03-14.csv", PhishTank(), "phishtank", 11330, 0},
	})
}

func TestNew(t *testing.T) {
	for _, f := range Formats {
		if p, ok := New(f); !ok || p == nil {
			t.Errorf("New(%q) = %v, %v", f, p, ok)
		}
	}
	if _, ok := New("list"); ok {
		t.Error(`New("list") claims a format of another package`)
	}
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
			c, err := runParser(t, tt.parser, tt.feed, "x", []byte(tt.input), true)
			if err != nil {
				t.Fatal(err)
			}
			got := c.rejected.String()
			if c.events != 1 || c.rejects != 1 || !strings.HasPrefix(got, "line 2: ") && !strings.HasPrefix(got, "line 3: ") {
				t.Fatalf("%d events, %d rejects %q", c.events, c.rejects, got)
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
		c, err := runParser(t, p, f, "x", []byte(html), false)
		if !errors.Is(err, ErrFormat) || c.events+c.rejects != 0 {
			t.Errorf("%s: err = %v, %d events, %d rejects; want ErrFormat alone", f, err, c.events, c.rejects)
		}
	}
}
