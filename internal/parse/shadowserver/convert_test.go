package shadowserver

import (
	"sort"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

// fakeRow is a rowView over a map.
type fakeRow map[string]string

func (r fakeRow) cell(c wholeCol) (string, bool) {
	v, ok := r[wholeColNames[c]]
	return v, ok
}

func TestConversions(t *testing.T) {
	none := val{}
	tests := []struct {
		conv conv
		in   string
		row  fakeRow
		want val
		err  bool
	}{
		{conv: convValidateIP, in: "192.0.2.1", want: str("192.0.2.1")},
		{conv: convValidateIP, in: "2001:db8::1", want: str("2001:db8::1")},
		{conv: convValidateIP, in: "0.0.0.0", want: none},
		{conv: convValidateIP, in: "192.0.2.0/24", want: none},
		{conv: convValidateIP, in: "example.com", want: none},
		{conv: convValidateIP, in: "", want: none},
		{conv: convValidateNetwork, in: "192.0.2.0/24", want: str("192.0.2.0/24")},
		{conv: convValidateNetwork, in: "192.0.2.1", want: none},
		{conv: convValidateNetwork, in: "192.0.2.0/33", want: none},
		{conv: convToNone, in: "0", want: none},
		{conv: convToNone, in: "unknown", want: none},
		{conv: convToNone, in: "Unknown", want: str("Unknown")},
		{conv: convInt, in: "42", want: val{kind: valInt, s: "42", i: 42}},
		{conv: convInt, in: " -7 ", want: val{kind: valInt, s: " -7 ", i: -7}},
		{conv: convInt, in: "", want: none},
		{conv: convInt, in: "4.0", err: true},
		{conv: convInvalidateZero, in: "0", want: none},
		{conv: convInvalidateZero, in: "00", want: none},
		{conv: convInvalidateZero, in: "64500", want: val{kind: valInt, s: "64500", i: 64500}},
		{conv: convInvalidateZero, in: "n/a", err: true},
		{conv: convFloat, in: "1.5", want: val{kind: valFloat, s: "1.5", f: 1.5}},
		{conv: convFloat, in: "nan", err: true},
		{conv: convFloat, in: "", want: none},
		{conv: convBool, in: "Enabled", want: val{kind: valBool, s: "true", b: true}},
		{conv: convBool, in: "N", want: val{kind: valBool, s: "false"}},
		{conv: convBool, in: "maybe", want: none},
		{conv: convDate, in: "Wed, 10 Feb 2010 00:00:01 GMT", want: str("2010-02-10T00:00:01+00:00")},
		{conv: convDate, in: "2021-03-28 00:20:22", want: str("2021-03-28T00:20:22+00:00")},
		{conv: convDateUTC, in: "2021-03-28T02:20:22+02:00", want: str("2021-03-28T00:20:22+00:00")},
		{conv: convDate, in: "soon", want: none},
		{conv: convFQDN, in: "Example.COM", want: str("Example.COM")},
		{conv: convFQDN, in: "192.0.2.1", want: none},
		{conv: convFQDN, in: "", want: none},
		{conv: convCVEFromTag, in: "affected-software;cve-2024-56789;ssl;CVE-2023-12345;cve-2024-56789", want: str("cve-2023-12345,cve-2024-56789")},
		{conv: convCVEFromTag, in: "exchange;cve-2021-26855", want: str("cve-2021-26855")},
		{conv: convCVEFromTag, in: "cve-2021;cve-x-1;cve--1;cve-1-;xcve-2021-1", want: none},
		{conv: convCVEFromTag, in: "", want: none},
		{conv: convHTTPHostURL, in: "/x", row: fakeRow{"http_host": "example.com", "http_url": "GET /a/b?c=d HTTP/1.1", "application": "https"}, want: str("https://example.com/a/b?c=d")},
		{conv: convHTTPHostURL, in: "/x", row: fakeRow{"cc_dns": "cc.example", "http_host": "example.com", "url": "/p q"}, want: str("http://cc.example/p")},
		{conv: convHTTPHostURL, in: "/x", row: fakeRow{"http_host": "example.com", "url": "nopath", "application": "ftp"}, want: str("http://example.com")},
		{conv: convHTTPHostURL, in: "/x", row: fakeRow{"http_host": "", "url": "/x"}, want: str("/x")},
		{conv: convHTTPHostURL, in: "", row: fakeRow{"url": ""}, want: str("")},
		{conv: convCategoryOrDetail, in: "spam", row: fakeRow{"detail": "d"}, want: str("spam")},
		{conv: convCategoryOrDetail, in: "", row: fakeRow{"detail": "d"}, want: str("d")},
		{conv: convCategoryOrDetail, in: "", row: fakeRow{}, want: none},
		{conv: convBase64, in: "aGVsbG8=", want: str("aGVsbG8=")},
		{conv: convBase64, in: "hello world", want: str("aGVsbG8gd29ybGQ=")},
		{conv: convBase64, in: "abcd\nabcd", want: str("YWJjZAphYmNk")},
		{conv: convBase64, in: "", want: none},
		{conv: convExchangeTaxonomy, in: "exchange;webshell", want: str("intrusions")},
		{conv: convExchangeType, in: "exchange;webshell", want: str("system-compromise")},
		{conv: convExchangeIdentifier, in: "exchange;webshell", want: str("exchange-server-webshell")},
		{conv: convExchangeTaxonomy, in: "exchange;cve-2021-26855", want: str("vulnerable")},
		{conv: convExchangeType, in: "exchange;cve-2021-26855", want: str("vulnerable-system")},
		{conv: convExchangeIdentifier, in: "exchange", want: str("vulnerable-exchange-server")},
	}
	var buf []byte
	for _, tt := range tests {
		row := tt.row
		if row == nil {
			row = fakeRow{}
		}
		got, err := tt.conv.apply(tt.in, row, &buf)
		if (err != nil) != tt.err {
			t.Errorf("%s(%q) error = %v, want error %v", convs[tt.conv].name, tt.in, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s(%q) = %+v, want %+v", convs[tt.conv].name, tt.in, got, tt.want)
		}
	}
}

// Every conversion function the embedded schema uses exists here, and
// every one here is one IntelMQ has.
func TestConversionNames(t *testing.T) {
	if len(convByName) != len(convs)-1 {
		t.Errorf("%d names for %d conversions", len(convByName), len(convs)-1)
	}
	used := map[conv]bool{}
	for _, typ := range Embedded().Types() {
		for _, m := range Embedded().Report(typ).mappings {
			used[m.conv] = true
		}
	}
	for c := range convs {
		if !used[conv(c)] {
			t.Logf("conversion %s is not used by the embedded schema", convs[c].name)
		}
	}
}

func TestParseHTTPDate(t *testing.T) {
	for _, s := range []string{
		"Wed, 10 Feb 2010 00:00:01 GMT", "Thu, 29 Feb 2024 23:59:59 GMT", "Sun, 31 Dec 1999 12:00:00 GMT",
		"Thu, 30 Feb 2024 00:00:00 GMT", "Thur, 19 Apr 2018 13:32:41 GMT", "Xyz, 10 Feb 2010 00:00:01 GMT",
		"onT, 10 Feb 2010 00:00:01 GMT", "Wed, 10 eFb 2010 00:00:01 GMT", "Wed, 10 Feb 2010 24:00:01 GMT",
		"Wed, 10 Feb 2010 00:00:01 UTC", "Wed, 1 Feb 2010 00:00:01 GMT", "Wed, 10 FEB 2010 00:00:01 GMT",
	} {
		checkHTTPDate(t, s)
	}
}

func checkHTTPDate(t *testing.T, s string) {
	got, ok := parseHTTPDate(s)
	want, err := event.ParseTime(s)
	if ok && (err != nil || !got.Equal(want) || got.Location() != time.UTC) {
		t.Errorf("parseHTTPDate(%q) = %v, event.ParseTime = %v, %v", s, got, want, err)
	}
}

func FuzzParseHTTPDate(f *testing.F) {
	f.Add("Wed, 10 Feb 2010 00:00:01 GMT")
	f.Fuzz(func(t *testing.T, s string) { checkHTTPDate(t, s) })
}

// fastInputs are values that exercise the fast setters' fast and slow
// paths.
var fastInputs = []string{
	"", " ", "0", "443", "65535", "65536", "-1", "443.0", " 80", "0080", "4294967295", "4294967296", "AS64500",
	"192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "fe80::1%eth0", "192.0.2.256",
	"2024-07-04 01:02:03", "2024-07-04T01:02:03+02:00", "2024-02-30 00:00:00", "1700000000",
	"tcp", "TCP", " tcp", "tcp ", "Tcp", "se", "SE", "S", "SWE", "s1", "ÄÖ",
	"example.com", "Example.COM.", "bad host", "a..b", "x/y", "héllo", "h\xffllo",
	"infected-system", "Infected-System", "vulnerable", "malicious-code", "pwned",
}

// TestFastSettersAgree checks that every fast setter stores what Event.Set
// stores, and fails where it fails.
func TestFastSettersAgree(t *testing.T) {
	names := make([]string, 0, len(fastSetters))
	for n := range fastSetters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f := event.Lookup(name)
		if f == nil {
			t.Errorf("%s is not a field", name)
			continue
		}
		if f.Kind != fastSetters[name].kind {
			t.Errorf("%s: the registry says kind %d, the fast setter is for kind %d; it falls back to Event.Set until updated", name, f.Kind, fastSetters[name].kind)
		}
		for _, s := range fastInputs {
			compareSetters(t, name, s)
		}
	}
}

func compareSetters(t *testing.T, name, s string) {
	t.Helper()
	var fast, slow event.Event
	ferr := setterFor(name)(&fast, s)
	serr := slow.Set(name, s)
	if (ferr == nil) != (serr == nil) || ferr != nil && ferr.Error() != serr.Error() {
		t.Errorf("%s %q: fast setter error %v, Event.Set error %v", name, s, ferr, serr)
	}
	fv, fok := fast.Get(name)
	sv, sok := slow.Get(name)
	if fok != sok || fv != sv {
		t.Errorf("%s %q: fast setter stores %#v (%v), Event.Set %#v (%v)", name, s, fv, fok, sv, sok)
	}
}

func FuzzFastSetters(f *testing.F) {
	names := make([]string, 0, len(fastSetters))
	for n := range fastSetters {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, s := range fastInputs {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, i uint8, s string) {
		compareSetters(t, names[int(i)%len(names)], s)
	})
}
