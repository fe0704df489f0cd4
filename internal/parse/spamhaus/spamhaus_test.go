package spamhaus

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/parsetest"
)

var harness = parsetest.Harness{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

func TestGolden(t *testing.T) {
	const dir = "intelmq/parsers@d624988/spamhaus/"
	harness.Golden(t, []parsetest.Case{
		{Name: "drop", Sample: dir + "drop.txt", Parser: DROP(), Feed: "spamhaus-drop", Events: 2},
		{Name: "drop-lasso", Sample: dir + "drop.lasso", Parser: DROP(), Feed: "spamhaus-drop", Events: 10},
		{Name: "asndrop", Sample: dir + "asndrop.txt", Parser: DROP(), Feed: "spamhaus-drop", Events: 2},
		{Name: "drop-v4-json", Sample: "testdata/drop_v4.json", Parser: DROP(), Feed: "spamhaus-drop", Events: 3, Rejects: 3},
		{Name: "asndrop-json", Sample: "testdata/asndrop.json", Parser: DROP(), Feed: "spamhaus-drop", Events: 3, Rejects: 2},
	})
}

func TestNew(t *testing.T) {
	parsetest.CheckNew(t, New, Formats, "feodo")
}

func TestRejects(t *testing.T) {
	const head = "; Spamhaus DROP List 2015/09/14 - (c) 2015 The Spamhaus Project\n; Last-Modified: Mon, 14 Sep 2015 04:39:22 GMT\n"
	tests := []struct {
		name, input string
		reason      []string
	}{
		{"bad cidr", head + "1.4.0.0/17 ; SBL1\n1.4.0.0/40 ; SBL2\n", []string{"source.network", "1.4.0.0/40"}},
		{"not a cidr", head + "1.4.0.0/17 ; SBL1\nhello ; SBL2\n", []string{"source.network", "hello"}},
		{"bad asn", head + "AS260 ; AE | X\nAS99999999999 ; US | Y\n", []string{"source.asn", "AS99999999999"}},
		{"as0", head + "AS260 ; AE | X\nAS0 ; US | Y\n", []string{"source.asn", "AS0"}},
		{"bad cc", head + "AS260 ; AE | X\nAS261 ; USA | Y\n", []string{"source.geolocation.cc", "USA"}},
		{"bad json", head + "{\"cidr\":\"192.0.2.0/24\"}\n{\"cidr\":1}\n", []string{"JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := harness.Run(t, DROP(), "spamhaus-drop", "x", []byte(tt.input), true)
			if err != nil {
				t.Fatal(err)
			}
			got := c.Rejected()
			if len(c.Rejects) != 1 || c.NEvents != 1 || !strings.HasPrefix(got, "line 4: ") {
				t.Fatalf("%d events, %d rejects %q; want 1 event and a reject at line 4", c.NEvents, len(c.Rejects), got)
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
	for _, in := range []string{"<!DOCTYPE html>\n<html></html>\n", "first_seen_utc,dst_ip\n"} {
		c, err := harness.Run(t, DROP(), "spamhaus-drop", "x", []byte(in), false)
		if !errors.Is(err, ErrFormat) || c.NEvents+len(c.Rejects) != 0 {
			t.Errorf("%q: err = %v, %d events, %d rejects; want ErrFormat alone", in, err, c.NEvents, len(c.Rejects))
		}
	}
}

// TestClassificationDefault checks that a feed without a classification
// gets IntelMQ's, and that the built-in feed's wins over it.
func TestClassificationDefault(t *testing.T) {
	c, err := harness.Run(t, DROP(), "spamhaus-drop", "x", []byte("192.0.2.0/24 ; SBL1\n"), true)
	if err != nil || !strings.Contains(c.JSON(), `"classification.type":"blacklist"`) {
		t.Errorf("built-in feed: err %v, %s", err, c.JSON())
	}
	own := &feed.Feed{Name: "my-drop", Format: "spamhaus-drop"}
	c, err = harness.Parse(t, DROP(), parse.Input{R: strings.NewReader("192.0.2.0/24 ; SBL1\n"), Feed: own}, true)
	if err != nil || !strings.Contains(c.JSON(), `"classification.taxonomy":"abusive-content","classification.type":"spam"`) {
		t.Errorf("feed without classification: err %v, %s", err, c.JSON())
	}
}
