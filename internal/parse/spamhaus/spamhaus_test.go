package spamhaus

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
)

func TestGolden(t *testing.T) {
	const dir = "intelmq/parsers@d624988/spamhaus/"
	runGolden(t, []goldenCase{
		{"drop", dir + "drop.txt", DROP(), "spamhaus-drop", 2, 0},
		{"drop-lasso", dir + "drop.lasso", DROP(), "spamhaus-drop", 10, 0},
		{"asndrop", dir + "asndrop.txt", DROP(), "spamhaus-drop", 2, 0},
		{"drop-v4-json", "testdata/drop_v4.json", DROP(), "spamhaus-drop", 3, 3},
		{"asndrop-json", "testdata/asndrop.json", DROP(), "spamhaus-drop", 3, 2},
	})
}

func TestNew(t *testing.T) {
	if p, ok := New("spamhaus-drop"); !ok || p == nil {
		t.Errorf(`New("spamhaus-drop") = %v, %v`, p, ok)
	}
	if _, ok := New("feodo"); ok {
		t.Error(`New("feodo") claims a format of another package`)
	}
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
			c, err := runParser(t, DROP(), "spamhaus-drop", "x", []byte(tt.input), true)
			if err != nil {
				t.Fatal(err)
			}
			got := c.rejected.String()
			if c.rejects != 1 || c.events != 1 || !strings.HasPrefix(got, "line 4: ") {
				t.Fatalf("%d events, %d rejects %q; want 1 event and a reject at line 4", c.events, c.rejects, got)
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
		c, err := runParser(t, DROP(), "spamhaus-drop", "x", []byte(in), false)
		if !errors.Is(err, ErrFormat) || c.events+c.rejects != 0 {
			t.Errorf("%q: err = %v, %d events, %d rejects; want ErrFormat alone", in, err, c.events, c.rejects)
		}
	}
}

// TestClassificationDefault checks that a feed without a classification
// gets IntelMQ's, and that the built-in feed's wins over it.
func TestClassificationDefault(t *testing.T) {
	c, err := runParser(t, DROP(), "spamhaus-drop", "x", []byte("192.0.2.0/24 ; SBL1\n"), true)
	if err != nil || !strings.Contains(c.json.String(), `"classification.type":"blacklist"`) {
		t.Errorf("built-in feed: err %v, %s", err, c.json.String())
	}
	own := &feed.Feed{Name: "my-drop", Format: "spamhaus-drop"}
	c = &collector{t: t, keep: true}
	in := parse.Input{R: bytes.NewReader([]byte("192.0.2.0/24 ; SBL1\n")), Feed: own, Now: testNow}
	if err := DROP().Parse(context.Background(), in, c); err != nil || !strings.Contains(c.json.String(), `"classification.taxonomy":"abusive-content","classification.type":"spam"`) {
		t.Errorf("feed without classification: err %v, %s", err, c.json.String())
	}
}
