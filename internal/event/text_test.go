package event

import (
	"strings"
	"testing"
)

// TestAppendText checks AppendText against GetString for every field, set
// and unset.
func TestAppendText(t *testing.T) {
	sample := map[Kind]string{
		KindString: "a, \"b\"\nü", KindLower: "Mirai", KindUpper: "arin", KindCC: "se",
		KindFQDN: "Host.Example.", KindURL: "example.org/a?b=c", KindIP: "::ffff:192.0.2.1",
		KindNetwork: "2001:db8::/32", KindInt: "443", KindFloat: "33.25", KindBool: "no",
		KindTime: "2022-01-10 00:01:42.123456", KindBase64: "aGVsbG8=", KindTLP: "clear",
		KindTaxonomy: "vulnerable", KindType: "vulnerable-system",
	}
	zero := map[Kind]string{KindInt: "0", KindFloat: "0", KindBool: "false", KindTime: "2026-01-01T00:00:00Z"}
	for _, f := range Fields {
		if sample[f.Kind] == "" {
			t.Fatalf("%s: no sample value for kind %d", f.Name, f.Kind)
		}
		for _, v := range []string{"", sample[f.Kind], zero[f.Kind]} {
			var e Event
			if err := e.Set(f.Name, v); err != nil {
				if f.Name == "source.asn" || f.Name == "destination.asn" {
					continue // AS0 is no AS number
				}
				t.Fatalf("%s = %q: %v", f.Name, v, err)
			}
			_, set := e.Get(f.Name)
			got, ok := f.AppendText(&e, []byte("prefix:"))
			if ok != set || string(got) != "prefix:"+e.GetString(f.Name) {
				t.Errorf("%s = %q: AppendText gives %q, %v; GetString %q, set %v", f.Name, v, got, ok, e.GetString(f.Name), set)
			}
			if !ok && !strings.HasSuffix(string(got), ":") {
				t.Errorf("%s unset: AppendText appended %q", f.Name, got)
			}
		}
	}
}

func BenchmarkAppendText(b *testing.B) {
	var e Event
	for k, v := range map[string]string{"source.ip": "192.0.2.1", "source.port": "443", "time.source": "2022-01-10 00:01:42",
		"source.fqdn": "host.example", "source.geolocation.latitude": "59.3"} {
		if err := e.Set(k, v); err != nil {
			b.Fatal(err)
		}
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, f := range Fields {
			buf, _ = f.AppendText(&e, buf)
		}
	}
}
