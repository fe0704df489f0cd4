package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSetValidates(t *testing.T) {
	tests := []struct {
		field, value string
		ok           bool
		want         string
	}{
		{"source.ip", "192.0.2.1", true, "192.0.2.1"},
		{"source.ip", "::ffff:192.0.2.1", true, "192.0.2.1"},
		{"source.ip", "2001:db8::1", true, "2001:db8::1"},
		{"source.ip", "192.0.2.256", false, ""},
		{"source.ip", "fe80::1%eth0", false, ""},
		{"source.port", "0", true, "0"},
		{"source.port", "65535", true, "65535"},
		{"source.port", "65536", false, ""},
		{"source.port", "-1", false, ""},
		{"source.port", "443.0", true, "443"},
		{"source.asn", "AS64500", true, "64500"},
		{"source.asn", "4294967296", false, ""},
		{"source.network", "192.0.2.7/24", true, "192.0.2.0/24"},
		{"source.network", "192.0.2.0/33", false, ""},
		{"source.fqdn", "WWW.Example.COM.", true, "www.example.com"},
		{"source.fqdn", "bad host", false, ""},
		{"source.fqdn", "192.0.2.1", false, ""},
		{"source.url", "example.com/x", true, "http://example.com/x"},
		{"source.url", "http://", false, ""},
		{"source.geolocation.cc", "se", true, "SE"},
		{"source.geolocation.cc", "SWE", false, ""},
		{"time.source", "2022-01-10 00:01:42", true, "2022-01-10T00:01:42+00:00"},
		{"time.source", "2022-01-10T02:01:42+02:00", true, "2022-01-10T00:01:42+00:00"},
		{"time.source", "2022-02-31 00:00:00", false, ""},
		{"time.source", "yesterday", false, ""},
		{"classification.type", "Infected-System", true, "infected-system"},
		{"classification.type", "pwned", false, ""},
		{"classification.taxonomy", "nonsense", false, ""},
		{"tlp", "clear", true, "WHITE"},
		{"tlp", "amber+strict", true, "AMBER+STRICT"},
		{"tlp", "purple", false, ""},
		{"source.tor_node", "Y", true, "true"},
		{"feed.accuracy", "101", false, ""},
		{"nonsense.field", "x", false, ""},
		{"extra.anything", "x", true, "x"},
	}
	for _, tt := range tests {
		var e Event
		err := e.Set(tt.field, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("Set(%q, %q) error = %v, want ok=%v", tt.field, tt.value, err, tt.ok)
			continue
		}
		if tt.ok {
			if got := e.GetString(tt.field); got != tt.want {
				t.Errorf("Set(%q, %q) stored %q, want %q", tt.field, tt.value, got, tt.want)
			}
		} else if !strings.Contains(err.Error(), tt.field) {
			t.Errorf("Set(%q, %q) error %q does not name the field", tt.field, tt.value, err)
		}
	}
}

func TestValidateClassification(t *testing.T) {
	var e Event
	e.Source.IP, _ = ParseIP("192.0.2.1")
	e.Classification.Type = "phishing"
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	if e.Classification.Taxonomy != "fraud" {
		t.Errorf("taxonomy filled as %q, want fraud", e.Classification.Taxonomy)
	}
	e.Classification.Taxonomy = "vulnerable"
	if err := e.Validate(); err == nil {
		t.Error("phishing under vulnerable validated")
	}
	var empty Event
	empty.Classification.Type = "scanner"
	if err := empty.Validate(); err != ErrNoSubject {
		t.Errorf("event without subject: %v, want ErrNoSubject", err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var e Event
	for k, v := range map[string]string{
		"feed.name": "shadowserver", "time.source": "2022-01-10 00:01:42",
		"classification.type": "vulnerable-system", "classification.identifier": "ssl-freak",
		"source.ip": "2001:db8::5", "source.port": "443", "source.asn": "64500",
		"source.geolocation.latitude": "0", "extra.tag": "ssl,vpn <b>", "raw": "aGVsbG8=",
		"source.reverse_dns": "Host.Example.", "event_description.text": "line1\nline2 \"q\" \x01",
	} {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	e.SetExtra("naics", int64(517311))
	e.SetExtra("nested", map[string]any{"a": []any{int64(1), "b"}})
	b := e.AppendJSON(nil)
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var back Event
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatalf("UnmarshalJSON: %v\n%s", err, b)
	}
	if b2 := back.AppendJSON(nil); string(b2) != string(b) {
		t.Errorf("round trip differs:\n%s\n%s", b, b2)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["source.port"] != float64(443) || m["source.geolocation.latitude"] != float64(0) || m["extra.tag"] != "ssl,vpn <b>" {
		t.Errorf("unexpected JSON: %s", b)
	}
	if back.TimeSource != time.Date(2022, 1, 10, 0, 1, 42, 0, time.UTC) {
		t.Errorf("time.source = %v", back.TimeSource)
	}
}

func TestUnmarshalHierarchical(t *testing.T) {
	var e Event
	err := e.UnmarshalJSON([]byte(`{"__type":"Event","source":{"ip":"192.0.2.1","port":22},"classification":{"type":"brute-force"},"extra":{"os":"linux"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Source.IP.String() != "192.0.2.1" || e.Source.Port.V != 22 || e.Classification.Type != "brute-force" || e.Extra["os"] != "linux" {
		t.Errorf("got %s", e.AppendJSON(nil))
	}
	if err := e.UnmarshalJSON([]byte(`{"source.ip":"x","source.port":99999,"bogus":1}`)); err == nil {
		t.Error("bad values accepted")
	} else {
		for _, want := range []string{"source.ip", "source.port", "bogus"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
	}
}

func FuzzUnmarshalJSON(f *testing.F) {
	f.Add([]byte(`{"source.ip":"192.0.2.1","extra.x":[1,2,{"a":null}],"time.source":"2020-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"source":{"ip":"::1"},"raw":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Event
		if e.UnmarshalJSON(b) != nil {
			return
		}
		out := e.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("AppendJSON wrote invalid JSON %q from %q", out, b)
		}
		var back Event
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("own output %s does not read back: %v", out, err)
		}
		if string(back.AppendJSON(nil)) != string(out) {
			t.Fatalf("round trip differs: %s", out)
		}
	})
}

func TestBinaryRoundTrip(t *testing.T) {
	var e Event
	for k, v := range map[string]string{
		"feed.name": "shadowserver", "time.source": "2022-01-10 00:01:42.123456", "time.observation": "1969-12-31T23:59:59Z",
		"classification.type": "vulnerable-system", "source.ip": "2001:db8::5", "source.port": "0",
		"source.asn": "64500", "source.network": "10.1.0.0/16", "destination.ip": "192.0.2.1",
		"source.geolocation.latitude": "-33.5", "source.tor_node": "false", "raw": "aGVsbG8=", "rtir_id": "7",
		"source.reverse_dns": "host.example", "event_description.text": "ü\n\"",
	} {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	e.SetExtra("naics", int64(-517311))
	e.SetExtra("tag", "ssl,vpn")
	e.SetExtra("not a known key", 1.5)
	e.SetExtra("flag", true)
	e.SetExtra("nothing", nil)
	e.SetExtra("nested", map[string]any{"a": []any{int64(1), "b"}})
	b := e.AppendBinary(nil)
	var back Event
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if got, want := string(back.AppendJSON(nil)), string(e.AppendJSON(nil)); got != want {
		t.Errorf("binary round trip differs:\n%s\n%s", got, want)
	}
	if len(b) >= len(e.AppendJSON(nil)) {
		t.Errorf("binary %d bytes is not smaller than JSON %d", len(b), len(e.AppendJSON(nil)))
	}
	// Every truncation either fails or, when it ends between entries, is a
	// shorter event that still writes valid JSON; none panics.
	if err := back.UnmarshalBinary(b[:0]); err == nil {
		t.Error("empty input accepted")
	}
	for i := 1; i < len(b); i++ {
		if err := back.UnmarshalBinary(b[:i]); err == nil && !json.Valid(back.AppendJSON(nil)) {
			t.Errorf("truncation at %d gives invalid JSON", i)
		}
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	var e Event
	e.Set("source.ip", "192.0.2.1")
	e.Set("time.source", "2022-01-10 00:01:42")
	e.SetExtra("x", "y")
	f.Add(e.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Event
		if e.UnmarshalBinary(b) != nil {
			return
		}
		var back Event
		if err := back.UnmarshalBinary(e.AppendBinary(nil)); err != nil {
			t.Fatalf("own encoding does not read back: %v", err)
		}
		if string(back.AppendJSON(nil)) != string(e.AppendJSON(nil)) {
			t.Fatal("round trip differs")
		}
	})
}

func TestNormURL(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/x":                         "http://example.com/x",
		"web.archive.org/web/2020/https://x.io": "http://web.archive.org/web/2020/https://x.io",
		"https://evil.example/login%A":          "https://evil.example/login%A",
		"hxxp://evil.example/":                  "hxxp://evil.example/",
		"https://x.example/o/goo (2).html":      "https://x.example/o/goo (2).html",
	} {
		if got, err := NormURL(in); err != nil || got != want {
			t.Errorf("NormURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"http://", "http:// spaced.example/", "http://exa mple/", "://x", "http://x.example/\nX-Injected: 1"} {
		if got, err := NormURL(bad); err == nil {
			t.Errorf("NormURL(%q) = %q, want an error", bad, got)
		}
	}
	if _, err := NormFQDN("0.."); err == nil {
		t.Error(`NormFQDN("0..") accepted`)
	}
}

func TestBinaryDelta(t *testing.T) {
	mk := func(kv map[string]string, extra map[string]any) *Event {
		var e Event
		for k, v := range kv {
			if err := e.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range extra {
			e.SetExtra(k, v)
		}
		return &e
	}
	common := map[string]string{"feed.name": "shadowserver", "feed.provider": "Shadowserver", "time.observation": "2026-11-24T12:00:00Z",
		"classification.type": "vulnerable-system", "classification.identifier": "open-ssl", "source.port": "443", "tlp": "amber"}
	base := NewBase(mk(common, map[string]any{"tag": "ssl", "naics": int64(1), "unusual key": "x"}))
	cases := []*Event{
		mk(common, map[string]any{"tag": "ssl", "naics": int64(1), "unusual key": "x"}),   // same as base
		mk(map[string]string{"feed.name": "shadowserver", "source.ip": "192.0.2.9"}, nil), // lacks most of the base
		mk(map[string]string{"feed.name": "other", "source.port": "0", "source.ip": "::1"}, map[string]any{"tag": "vpn", "new": true}),
	}
	for i, e := range cases {
		d := e.AppendBinaryDelta(nil, base)
		var back Event
		if err := back.UnmarshalBinaryDelta(d, base); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got, want := string(back.AppendJSON(nil)), string(e.AppendJSON(nil)); got != want {
			t.Errorf("case %d differs:\n got %s\nwant %s", i, got, want)
		}
		if i == 0 && len(d) != 1 {
			t.Errorf("an event equal to its base takes %d bytes, want 1", len(d))
		}
	}
	// A plain encoding reads without a base.
	var back Event
	if err := back.UnmarshalBinaryDelta(cases[2].AppendBinary(nil), nil); err != nil {
		t.Fatal(err)
	}
	if err := back.UnmarshalBinaryDelta(cases[2].AppendBinaryDelta(nil, base), nil); err == nil {
		t.Error("delta without base accepted")
	}
	// The base survives its stored form.
	b2, err := ParseBase(base.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := back.UnmarshalBinaryDelta(cases[1].AppendBinaryDelta(nil, base), b2); err != nil || string(back.AppendJSON(nil)) != string(cases[1].AppendJSON(nil)) {
		t.Errorf("with re-read base: %v", err)
	}
}

func FuzzBinaryDelta(f *testing.F) {
	f.Add([]byte(`{"source.ip":"192.0.2.1","feed.name":"a","extra.x":1}`), []byte(`{"source.ip":"192.0.2.2","feed.name":"a","extra.y":"z"}`))
	f.Add([]byte(`{"source.port":0,"extra.k":[1,"a"]}`), []byte(`{"tlp":"RED"}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var base, e Event
		if base.UnmarshalJSON(a) != nil || e.UnmarshalJSON(b) != nil {
			return
		}
		bs := NewBase(&base)
		var back Event
		if err := back.UnmarshalBinaryDelta(e.AppendBinaryDelta(nil, bs), bs); err != nil {
			t.Fatal(err)
		}
		if got, want := string(back.AppendJSON(nil)), string(e.AppendJSON(nil)); got != want {
			t.Fatalf("delta round trip differs:\n got %s\nwant %s", got, want)
		}
	})
}
