package domain

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Samples from RFC 3492 section 7.1 and from the Public Suffix List's
// test vectors.
var punycodeSamples = []struct{ unicode, puny string }{
	{"ليهمابتكلموشعربي؟", "egbpdaj6bu4bxfgehfvwxn"},                      // (A) Arabic (Egyptian)
	{"他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"},                            // (B) Chinese (simplified)
	{"почемужеонинеговорятпорусски", "b1abfaaepdrnnbgefbadotcwatmq2g4l"}, // (I) Russian
	{"3年B組金八先生", "3B-ww4c5e180e575a65lsy2b"},                             // (L)
	{"そのスピードで", "d9juau41awczczp"},                                       // (R)
	{"食狮", "85x722f"},
	{"公司", "55qx5d"},
	{"中国", "fiqs8s"},
	{"münchen", "mnchen-3ya"},
}

func TestPunycode(t *testing.T) {
	for _, s := range punycodeSamples {
		enc, err := punyEncode(s.unicode)
		if err != nil || enc != s.puny {
			t.Errorf("punyEncode(%q) = %q, %v; want %q", s.unicode, enc, err, s.puny)
		}
		dec, err := punyDecode(s.puny)
		if err != nil || dec != s.unicode {
			t.Errorf("punyDecode(%q) = %q, %v; want %q", s.puny, dec, err, s.unicode)
		}
	}
	for _, bad := range []string{"99999999999", "a-b-!", "zzzzzzzzzzzzzzzzzzzzzzzzzzz", "-9"} {
		if dec, err := punyDecode(bad); !errors.Is(err, ErrPunycode) {
			t.Errorf("punyDecode(%q) = %q, %v; want ErrPunycode", bad, dec, err)
		}
	}
}

func TestToASCIIAndToUnicode(t *testing.T) {
	tests := []struct{ in, ascii, unicode string }{
		{"München.DE.", "xn--mnchen-3ya.de", "münchen.de"},
		{"www.食狮.公司.cn", "www.xn--85x722f.xn--55qx5d.cn", "www.食狮.公司.cn"},
		{"XN--FIQS8S", "xn--fiqs8s", "中国"},
		{"example.com", "example.com", "example.com"},
		{"食狮。中国", "xn--85x722f.xn--fiqs8s", "食狮.中国"},
	}
	for _, tt := range tests {
		if got, err := ToASCII(tt.in); err != nil || got != tt.ascii {
			t.Errorf("ToASCII(%q) = %q, %v; want %q", tt.in, got, err, tt.ascii)
		}
		if got, err := ToUnicode(tt.in); err != nil || got != tt.unicode {
			t.Errorf("ToUnicode(%q) = %q, %v; want %q", tt.in, got, err, tt.unicode)
		}
	}
	for _, bad := range []string{"", "a..b", "exa mple.com", strings.Repeat("a", 64) + ".com"} {
		if got, err := ToASCII(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ToASCII(%q) = %q, %v; want ErrInvalid", bad, got, err)
		}
	}
	for _, bad := range []string{"xn--abc-.com", "xn--ab!.com", "xn--9999999999.com"} {
		if got, err := ToUnicode(bad); err == nil {
			t.Errorf("ToUnicode(%q) = %q, want an error", bad, got)
		}
	}
}

func FuzzPunycode(f *testing.F) {
	for _, s := range punycodeSamples {
		f.Add(s.unicode)
	}
	f.Add("a")
	f.Fuzz(func(t *testing.T, label string) {
		if !utf8.ValidString(label) || isASCII(label) {
			return
		}
		enc, err := punyEncode(label)
		if err != nil {
			return
		}
		if !isASCII(enc) {
			t.Fatalf("punyEncode(%q) = %q, not ASCII", label, enc)
		}
		dec, err := punyDecode(enc)
		if err != nil || dec != label {
			t.Fatalf("punyDecode(punyEncode(%q) = %q) = %q, %v", label, enc, dec, err)
		}
	})
}

func FuzzRegistrableDomain(f *testing.F) {
	for _, s := range benchNames {
		f.Add(s)
	}
	for _, s := range []string{"", ".", "com", "192.0.2.1", "食狮。中国", "kommune.våler.xn--stfold-9xa.no", "xn--85x722f.XN--FIQS8S.", "a..b", "\xff"} {
		f.Add(s)
	}
	l := Embedded()
	f.Fuzz(func(t *testing.T, in string) {
		reg, err := l.RegistrableDomain(in)
		suffix, _ := l.PublicSuffix(in)
		norm, ok := normalize(in)
		if err != nil {
			if reg != "" {
				t.Fatalf("RegistrableDomain(%q) = %q with error %v", in, reg, err)
			}
			if errors.Is(err, ErrPublicSuffix) && suffix != norm {
				t.Fatalf("%q: ErrPublicSuffix but suffix %q", in, suffix)
			}
			return
		}
		if !ok || !strings.HasSuffix(norm, reg) || (len(norm) > len(reg) && norm[len(norm)-len(reg)-1] != '.') {
			t.Fatalf("RegistrableDomain(%q) = %q: not a label-aligned suffix of %q", in, reg, norm)
		}
		if !strings.HasSuffix(reg, "."+suffix) {
			t.Fatalf("RegistrableDomain(%q) = %q, PublicSuffix = %q", in, reg, suffix)
		}
		if again, err := l.RegistrableDomain(reg); err != nil || again != reg {
			t.Fatalf("RegistrableDomain(%q) = %q, %v: not a fixed point", reg, again, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("com\n*.ck\n!www.ck\n// ===BEGIN PRIVATE DOMAINS===\nblogspot.com\n")
	f.Add("公司.cn\nxn--fiqs8s\n")
	f.Fuzz(func(t *testing.T, list string) {
		l, err := Parse(strings.NewReader(list))
		if err != nil {
			return
		}
		for _, name := range []string{"a.b.c.d", "www.ck", "x.公司.cn"} {
			l.PublicSuffix(name)
			l.RegistrableDomain(name)
		}
		for line := range strings.Lines(list) {
			l.RegistrableDomain(strings.TrimSpace(line))
		}
	})
}
