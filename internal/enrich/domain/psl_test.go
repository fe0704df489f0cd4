package domain

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shared is ../shared/data seen from this package's directory.
var shared = filepath.Join("..", "..", "..", "..", "shared", "data")

func sharedFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(shared, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("needs %s from ../shared/data (absent in a fresh clone): %v", name, err)
	}
	return p
}

var vectorLine = regexp.MustCompile(`^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);$`)

// TestOfficialVectors runs the list's own test vectors
// (tests/test_psl.txt of the publicsuffix/list repository) against the
// embedded list and against the copy in ../shared/data.
func TestOfficialVectors(t *testing.T) {
	f, err := os.Open(sharedFile(t, "dns/publicsuffix/test_psl.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type vector struct {
		line          int
		input, expect string
		null          bool // expect null
	}
	var vectors []vector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		m := vectorLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("test_psl.txt line %d: not understood: %s", n, line)
		}
		v := vector{line: n, input: strings.Trim(m[1], "'"), expect: strings.Trim(m[2], "'"), null: m[2] == "null"}
		if m[1] == "null" {
			v.input = ""
		}
		vectors = append(vectors, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 70 {
		t.Fatalf("only %d vectors read", len(vectors))
	}

	sharedList, err := os.Open(sharedFile(t, "dns/publicsuffix/public_suffix_list.dat"))
	if err != nil {
		t.Fatal(err)
	}
	defer sharedList.Close()
	parsed, err := Parse(sharedList)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*List{"embedded": Embedded(), "shared": parsed} {
		for _, v := range vectors {
			got, err := l.RegistrableDomain(v.input)
			switch {
			case v.null && err == nil:
				t.Errorf("%s: line %d: RegistrableDomain(%q) = %q, want an error", name, v.line, v.input, got)
			case !v.null && err != nil:
				t.Errorf("%s: line %d: RegistrableDomain(%q): %v, want %q", name, v.line, v.input, err, v.expect)
			case !v.null && got != v.expect:
				t.Errorf("%s: line %d: RegistrableDomain(%q) = %q, want %q", name, v.line, v.input, got, v.expect)
			}
		}
	}
	t.Logf("%d vectors", len(vectors))
}

func TestPublicSuffix(t *testing.T) {
	l := Embedded()
	tests := []struct {
		in, suffix string
		icann      bool
	}{
		{"com", "com", true},
		{"www.example.com", "com", true},
		{"WWW.Example.COM.", "com", true},
		{"example.co.uk", "co.uk", true},
		{"foo.blogspot.com", "blogspot.com", false},                          // PRIVATE section
		{"example.example", "example", false},                                // unlisted TLD: the default rule "*"
		{"a.b.c.kobe.jp", "c.kobe.jp", true},                                 // wildcard *.kobe.jp
		{"www.city.kobe.jp", "kobe.jp", true},                                // exception !city.kobe.jp
		{"b.test.ck", "test.ck", true},                                       // *.ck
		{"www.ck", "ck", true},                                               // !www.ck
		{"食狮.公司.cn", "公司.cn", true},                                          // Unicode rule, Unicode input
		{"食狮.xn--55qx5d.cn", "xn--55qx5d.cn", true},                          // Unicode rule, ASCII input
		{"www.xn--85x722f.公司.cn", "公司.cn", true},                             // mixed forms
		{"kommune.våler.xn--stfold-9xa.no", "våler.xn--stfold-9xa.no", true}, // mixed forms in one rule
		{"kommune.xn--vler-qoa.østfold.no", "xn--vler-qoa.østfold.no", true}, // the other way round
		{"ÖBB.AT", "at", true},                                               // Unicode upper case
		{"example。com", "com", true},                                         // ideographic full stop
		{"", "", false},
		{".com", "", false},
		{"a..com", "", false},
		{"192.0.2.1", "", false},
		{"exa mple.com", "", false},
	}
	for _, tt := range tests {
		suffix, icann := l.PublicSuffix(tt.in)
		if suffix != tt.suffix || icann != tt.icann {
			t.Errorf("PublicSuffix(%q) = %q, %v; want %q, %v", tt.in, suffix, icann, tt.suffix, tt.icann)
		}
	}
}

func TestRegistrableDomain(t *testing.T) {
	l := Embedded()
	tests := []struct {
		in, want string
		err      error
	}{
		{"www.example.com", "example.com", nil},
		{"Mail.Example.CO.UK.", "example.co.uk", nil},
		{"foo.bar.blogspot.com", "bar.blogspot.com", nil},
		{"www.gov.ee", "www.gov.ee", nil}, // gov.ee is a public suffix (ICANN)
		{"München.de", "münchen.de", nil},
		{"www.xn--mnchen-3ya.de", "xn--mnchen-3ya.de", nil},
		{"under_score.example.se", "example.se", nil},
		{"com", "", ErrPublicSuffix},
		{"co.uk", "", ErrPublicSuffix},
		{"example", "", ErrPublicSuffix},
		{"city.kobe.jp.", "city.kobe.jp", nil},
		{"", "", ErrInvalid},
		{".", "", ErrInvalid},
		{"..", "", ErrInvalid},
		{"example.com..", "", ErrInvalid},
		{"a..example.com", "", ErrInvalid},
		{"http://example.com", "", ErrInvalid},
		{"exa*mple.com", "", ErrInvalid},
		{"\xff.com", "", ErrInvalid},
		{"1.2.3", "", ErrInvalid},
		{"192.0.2.1", "", ErrIPAddress},
		{"2001:db8::1", "", ErrIPAddress},
		{"[2001:db8::1]", "", ErrIPAddress},
	}
	for _, tt := range tests {
		got, err := l.RegistrableDomain(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("RegistrableDomain(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParse(t *testing.T) {
	const list = `// a comment
// ===BEGIN ICANN DOMAINS===
se
*.ck   trailing text is ignored
!www.ck
xn--fiqs8s
公司.cn
// ===END ICANN DOMAINS===
// ===BEGIN PRIVATE DOMAINS===
Blogg.SE
// ===END PRIVATE DOMAINS===
outside.example
`
	l, err := Parse(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	if rules, icann := l.Len(); rules != 7 || icann != 5 {
		t.Errorf("Len() = %d, %d; want 7, 5", rules, icann)
	}
	for in, want := range map[string]struct {
		suffix string
		icann  bool
	}{
		"a.blogg.se":          {"blogg.se", false},
		"a.se":                {"se", true},
		"a.b.c.ck":            {"c.ck", true},
		"www.ck":              {"ck", true},
		"a.中国":                {"中国", true},
		"a.xn--55qx5d.cn":     {"xn--55qx5d.cn", true}, // the Unicode rule 公司.cn
		"x.outside.example":   {"outside.example", false},
		"x.nothing.there.com": {"com", false}, // "com" is not a rule here: the default rule
		"a.cn":                {"cn", false},
	} {
		suffix, icann := l.PublicSuffix(in)
		if suffix != want.suffix || icann != want.icann {
			t.Errorf("PublicSuffix(%q) = %q, %v; want %q, %v", in, suffix, icann, want.suffix, want.icann)
		}
	}

	for _, bad := range []string{"!com", "*.*.com", "a.*.com", ".com", "a..com", "foo/bar", "*", "!*.com", "xn--zz-.com"} {
		_, err := Parse(strings.NewReader("com\n" + bad + "\n"))
		if !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("Parse(%q) error = %v, want ErrRule on line 2", bad, err)
		}
	}
}

func TestEmbedded(t *testing.T) {
	rules, icann := Embedded().Len()
	if rules < 9000 || icann < 6000 || icann >= rules {
		t.Errorf("embedded list: %d rules, %d ICANN", rules, icann)
	}
}

func TestNoAllocation(t *testing.T) {
	l := Embedded()
	for _, in := range []string{"www.example.co.uk", "a.b.c.kobe.jp", "www.食狮.公司.cn", "foo.bar.blogspot.com"} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := l.RegistrableDomain(in); err != nil {
				t.Fatal(err)
			}
			l.PublicSuffix(in)
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocations per lookup", in, allocs)
		}
	}
}

var benchNames = []string{
	"www.example.com", "example.co.uk", "mail.google.com", "a.b.c.kobe.jp", "foo.blogspot.com",
	"www.riigikogu.ee", "sub.domain.example.nu", "host-1-2-3-4.dyn.example.net", "www.食狮.公司.cn",
	"s3.eu-west-1.amazonaws.com", "x.y.z.github.io", "unlisted.example",
}

func BenchmarkRegistrableDomain(b *testing.B) {
	l := Embedded()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := l.RegistrableDomain(benchNames[i%len(benchNames)]); err != nil && !errors.Is(err, ErrPublicSuffix) {
			b.Fatal(err)
		}
	}
}

func BenchmarkPublicSuffix(b *testing.B) {
	l := Embedded()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.PublicSuffix(benchNames[i%len(benchNames)])
	}
}

// BenchmarkRegistrableDomainZone looks up every registered .ee domain
// with a "www." in front.
func BenchmarkRegistrableDomainZone(b *testing.B) {
	data, err := os.ReadFile(sharedFile(b, "dns/cctld-domain-lists/ee_domains.2026-08-22.txt"))
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for name := range strings.FieldsSeq(string(data)) {
		names = append(names, "www."+name)
	}
	l := Embedded()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l.RegistrableDomain(names[i%len(names)])
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(strings.NewReader(string(embeddedList))); err != nil {
			b.Fatal(err)
		}
	}
}
