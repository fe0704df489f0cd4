package textreport

import (
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"2024-04-08 10:54:07", time.Date(2024, 4, 8, 10, 54, 7, 0, time.UTC), true},
		{"2023-02-29", time.Time{}, false},
		{"2024-13-01", time.Time{}, false},
		{"soon", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err == nil) != tt.ok || tt.ok && !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestURLHost(t *testing.T) {
	for u, want := range map[string]string{
		"http://example.com/a":             "example.com",
		"https://user:pw@Example.com:8080": "Example.com",
		"http://[2001:db8::1]:80/x":        "2001:db8::1",
		"http://[2001:db8::1":              "",
		"http://192.0.2.1?x#y":             "192.0.2.1",
		"example.com/a":                    "",
	} {
		if got := URLHost(u); got != want {
			t.Errorf("URLHost(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestCheckDomain(t *testing.T) {
	for _, ok := range []string{"example.com", "a_b.example.", "xn--bcher-kva.example", "bücher.example", "1.example"} {
		if err := CheckDomain(ok); err != nil {
			t.Errorf("CheckDomain(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "a..b", "192.0.2.1", "a b.example", "a/b"} {
		if CheckDomain(bad) == nil {
			t.Errorf("CheckDomain(%q) = nil", bad)
		}
	}
}

func TestSetHost(t *testing.T) {
	for h, want := range map[string]string{
		"192.0.2.1":   `"source.ip":"192.0.2.1"`,
		"2001:db8::1": `"source.ip":"2001:db8::1"`,
		"Example.COM": `"source.fqdn":"example.com"`,
		"1.2.3":       `{}`,
		"":            `{}`,
	} {
		var e event.Event
		SetHost(&e, h)
		got := string(e.AppendJSON(nil))
		if got != want && got != "{"+want+"}" {
			t.Errorf("SetHost(%q): %s, want %s", h, got, want)
		}
	}
}
