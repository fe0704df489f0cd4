package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// shipped are the languages tocsin must ship.
var shipped = []string{"en", "sv", "pt", "vi"}

func TestGolden(t *testing.T) {
	r := mustNew(t, "")
	d := digest(t)
	for _, lang := range shipped {
		t.Run(lang, func(t *testing.T) {
			out, err := r.Render(d, []string{lang})
			if err != nil {
				t.Fatal(err)
			}
			if out.Lang != lang {
				t.Fatalf("Lang = %q, want %q", out.Lang, lang)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "Subject: %s\n\n%s", out.Subject, out.Text)
			for _, a := range out.Attachments {
				fmt.Fprintf(&b, "\n--- attachment %s (%s), %d bytes\n", a.Name, a.ContentType, len(a.Data))
				if lang == "en" {
					b.Write(a.Data)
				}
			}
			golden(t, filepath.Join("testdata", "golden", lang+".txt"), b.String())
		})
	}
}

// TestTemplatesComplete walks the compiled-in templates: every shipped
// language has every template, every section template its summary, and
// no file is there that tocsin does not know.
func TestTemplatesComplete(t *testing.T) {
	have := map[string][]string{}
	err := fs.WalkDir(embedded, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		lang, name := path.Base(path.Dir(p)), strings.TrimSuffix(path.Base(p), ".tmpl")
		if !slices.Contains(templateNames, name) || path.Ext(p) != ".tmpl" {
			t.Errorf("%s: not a template name tocsin knows", p)
		}
		have[lang] = append(have[lang], name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range shipped {
		for _, n := range templateNames {
			if !slices.Contains(have[lang], n) {
				t.Errorf("templates/%s/%s.tmpl is missing", lang, n)
			}
		}
	}
	r := mustNew(t, "")
	if got := r.Languages(); !slices.Equal(got, []string{"en", "pt", "sv", "vi"}) {
		t.Errorf("Languages() = %v", got)
	}
	for lang, ls := range r.langs {
		for _, s := range Sections {
			if ls.sections[s] == nil || ls.sections[s].Lookup("summary") == nil {
				t.Errorf("%s/%s: no template or no summary", lang, s)
			}
		}
	}
}

// TestEverySection renders a notification of each section alone in each
// language: the heading is the summary, and the text is the section's.
func TestEverySection(t *testing.T) {
	r := mustNew(t, "")
	d := sample()
	for _, lang := range shipped {
		for i, s := range Sections {
			one := *d
			one.Items = d.Items[i : i+1]
			if got := sectionOf(one.Items[0].Event); got != s {
				t.Fatalf("sample item %d is in section %s, want %s", i, got, s)
			}
			out, err := r.Render(&one, []string{lang})
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, s, err)
			}
			if !strings.Contains(out.Subject, "1") || !strings.Contains(out.Subject, one.Ident) || !strings.Contains(out.Subject, "2026-01-01") {
				t.Errorf("%s/%s: subject %q lacks the count, the ID or the date", lang, s, out.Subject)
			}
			if !strings.Contains(out.Text, "TOCSIN-20260101-000001") || strings.Count(out.Text, "\n\n\n") > 0 {
				t.Errorf("%s/%s: text:\n%s", lang, s, out.Text)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	r := mustNew(t, "")
	tests := []struct {
		langs []string
		want  string
	}{
		{nil, "en"},
		{[]string{"pt-BR"}, "pt"},
		{[]string{"sv-SE", "en"}, "sv"},
		{[]string{"SV"}, "sv"},
		{[]string{"vi_VN"}, "vi"},
		{[]string{"de-DE", "fr", "pt-PT"}, "pt"},
		{[]string{"de", "fr"}, "en"},
		{[]string{"", "  vi  "}, "vi"},
		{[]string{"zh-Hant-TW"}, "en"},
	}
	for _, tt := range tests {
		if got := r.Match(tt.langs); got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.langs, got, tt.want)
		}
	}
	out, err := r.Render(sample(), []string{"pt-BR"})
	if err != nil || out.Lang != "pt" {
		t.Fatalf("Render(pt-BR) = %v, %v", out, err)
	}
}

func TestOverride(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "en", "phishing.tmpl"), `{{define "summary"}}{{.Count}} fake pages{{end}}OVERRIDDEN phishing text for {{.Count}}.`)
	// A language of its own: every file, here copied from English.
	for _, n := range templateNames {
		b, err := embedded.ReadFile("templates/en/" + n + ".tmpl")
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "de-CH", n+".tmpl"), string(b))
	}
	r := mustNew(t, dir)
	out, err := r.Render(digest(t), []string{"en"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Text, "OVERRIDDEN phishing text for 1.") || !strings.Contains(out.Text, "== 1 fake pages ==") {
		t.Errorf("the override is not used:\n%s\n%s", out.Subject, out.Text)
	}
	if !strings.Contains(out.Text, "What we saw: systems in your network connected") {
		t.Errorf("the other English templates are gone:\n%s", out.Text)
	}
	sv, err := r.Render(digest(t), []string{"sv"})
	if err != nil || strings.Contains(sv.Text, "OVERRIDDEN") {
		t.Errorf("the English override reached Swedish: %v", err)
	}
	if got := r.Match([]string{"de-ch"}); got != "de-ch" {
		t.Errorf("Match(de-ch) = %q with an override language", got)
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"parse error names file and line",
			map[string]string{"en/spam.tmpl": "{{define \"summary\"}}x{{end}}\nline two\n{{.Count}} {{end}}\n"},
			[]string{filepath.Join("en", "spam.tmpl") + ":3:"}},
		{"unknown function",
			map[string]string{"sv/frame.tmpl": "Hej\n{{nosuch .Ident}}\n"},
			[]string{filepath.Join("sv", "frame.tmpl") + ":2:", "nosuch"}},
		{"unknown field fails on the sample",
			map[string]string{"en/subject.tmpl": "[{{.Ident}}] {{.NoSuchField}}"},
			[]string{filepath.Join("en", "subject.tmpl") + ":1:", "NoSuchField"}},
		{"section without summary",
			map[string]string{"pt/scanner.tmpl": "texto"},
			[]string{filepath.Join("pt", "scanner.tmpl"), "summary"}},
		{"unknown template name",
			map[string]string{"en/phising.tmpl": "x"},
			[]string{filepath.Join("en", "phising.tmpl"), "not a template"}},
		{"incomplete new language",
			map[string]string{"fi/frame.tmpl": "x"},
			[]string{`"fi"`, "subject.tmpl", "phishing.tmpl"}},
		{"file where a language directory belongs",
			map[string]string{"frame.tmpl": "x"},
			[]string{"frame.tmpl", "language tag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tt.files {
				write(t, filepath.Join(dir, name), text)
			}
			_, err := New(dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := New(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("an absent override directory is no error")
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFeedDataIsData puts template code, header lines and bidirectional
// overrides into every text field a feed controls.
func TestFeedDataIsData(t *testing.T) {
	evil := "{{.Sender}}\r\nBcc: victim@example.org\r\n\r\n{{template \"x\"}}\u202egnp.exe\x00\x1b[31m"
	e := build(t, "feed.name", evil, "feed.provider", evil, "feed.code", evil, "feed.documentation", "javascript:alert(1)",
		"classification.type", "infected-system", "classification.identifier", evil, "malware.name", evil,
		"source.ip", "192.0.2.1", "source.reverse_dns", "evil.example", "product.name", evil, "extra.note", evil)
	d := &Data{Ident: "TOCSIN-20261124-000124", Date: testDate, OrgName: "Org\r\nBcc: x@example.org", Sender: testSender,
		Items: []Item{{ID: 1, Event: e}}}
	dir := t.TempDir()
	// An operator's subject that shows the organisation's name, which
	// comes from registry data.
	write(t, filepath.Join(dir, "en", "subject.tmpl"), "[{{.Ident}}] {{.OrgName}}: {{.Summary}}\n{{range .Sections}}{{.Malware}}{{end}}")
	r := mustNew(t, dir)
	for _, format := range Formats {
		d.Format = format
		if format == FormatXARF {
			continue // X-ARF has no Botnet without a reporter; tested in xarf_test.go
		}
		out, err := r.Render(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(out.Subject, "\r\n\x00\x1b\u202e") {
			t.Errorf("%s: subject %q holds a control character", format, out.Subject)
		}
		if strings.ContainsAny(out.Text, "\r\x00\x1b\u202e") {
			t.Errorf("%s: text holds a control character:\n%q", format, out.Text)
		}
		for _, line := range strings.Split(out.Text, "\n") {
			if strings.HasPrefix(line, "Bcc:") {
				t.Errorf("%s: feed data started a line: %q", format, line)
			}
		}
		if strings.Contains(out.Text, testSender.Email+"}") || !strings.Contains(out.Text, "{{.Sender}}") {
			t.Errorf("%s: template code in feed data was not printed as text:\n%s", format, out.Text)
		}
		if !strings.HasPrefix(format, "inline-") && strings.Contains(out.Text, "javascript:") {
			t.Errorf("%s: a non-web documentation link was shown", format)
		}
	}
}

func TestRefused(t *testing.T) {
	r := mustNew(t, "")
	ok := sample()
	tests := []struct {
		name string
		edit func(d *Data)
		want error
		msg  string
	}{
		{"no items", func(d *Data) { d.Items = nil }, ErrNoItems, ""},
		{"ident with CRLF", func(d *Data) { d.Ident = "TOCSIN-1\r\nBcc: x" }, nil, "notification ID"},
		{"ident too long", func(d *Data) { d.Ident = strings.Repeat("A", 65) }, nil, "notification ID"},
		{"no date", func(d *Data) { d.Date = time.Time{} }, nil, "no date"},
		{"nil event", func(d *Data) { d.Items = append(d.Items, Item{ID: 77}) }, nil, "id 77"},
		{"unknown format", func(d *Data) { d.Format = "pdf" }, nil, `format "pdf"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := *ok
			d.Items = slices.Clone(ok.Items)
			tt.edit(&d)
			_, err := r.Render(&d, nil)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestLimits: at most MaxListed events in the text, long values cut, and
// the rest counted.
func TestLimits(t *testing.T) {
	r := mustNew(t, "")
	long := "http://phish.example/" + strings.Repeat("a", 500)
	d := &Data{Ident: "TOCSIN-20261124-000125", Date: testDate, Sender: testSender}
	for i := range 120 {
		e := build(t, "feed.name", "openphish", "classification.type", "phishing",
			"source.url", fmt.Sprintf("%s%d", long, i), "source.ip", fmt.Sprintf("192.0.2.%d", i))
		d.Items = append(d.Items, Item{ID: int64(i), Event: e})
	}
	out, err := r.Render(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.Text, "\n- http://phish.example/"); n != MaxListed {
		t.Errorf("%d events listed, want %d", n, MaxListed)
	}
	if !strings.Contains(out.Text, "and 70 more in the attachment") {
		t.Errorf("the rest is not counted:\n%s", out.Text)
	}
	for _, line := range strings.Split(out.Text, "\n") {
		if len([]rune(line)) > 300 {
			t.Errorf("line of %d characters: %.80s…", len([]rune(line)), line)
		}
	}
	if !strings.Contains(out.Text, "aaaa…") {
		t.Error("a long URL is not cut with …")
	}
	if got := strings.Count(string(out.Attachments[0].Data), "\n"); got != 121 {
		t.Errorf("the CSV has %d lines, want 121: the attachment has every event, whole", got)
	}
}

// digestCSVs are the CSV files of digest(t): one per kind of report,
// sorted.
var digestCSVs = []string{
	"TOCSIN-20261124-000123-abusech-feodo.csv", "TOCSIN-20261124-000123-compromised-website.csv",
	"TOCSIN-20261124-000123-dns-open-resolvers.csv", "TOCSIN-20261124-000123-honeypot-brute-force-events.csv",
	"TOCSIN-20261124-000123-malware-url.csv", "TOCSIN-20261124-000123-ntp-version.csv",
	"TOCSIN-20261124-000123-openphish.csv", "TOCSIN-20261124-000123-sinkhole-events-http-ipv4.csv",
	"TOCSIN-20261124-000123-spamhaus-drop.csv", "TOCSIN-20261124-000123-vulnerable-http.csv",
}

func TestFormats(t *testing.T) {
	r := mustNew(t, "")
	d := digest(t)
	tests := []struct {
		format   string
		names    []string // attachment names, "*" for any number of X-ARF files
		inText   string
		noInText string
	}{
		{"", digestCSVs, "Attached: TOCSIN-20261124-000123-abusech-feodo.csv, ", ""},
		{FormatCSV, digestCSVs, "There is one CSV file per kind of report", ""},
		{FormatJSON, []string{"TOCSIN-20261124-000123.jsonl"}, "Attached: TOCSIN-20261124-000123.jsonl", ""},
		{FormatInlineCSV, nil, "time.source,source.ip,", "Attached:"},
		{FormatInlineJSON, nil, `{"classification.identifier":"dns-open-resolver"`, "Attached:"},
		{FormatXARF, []string{"*", "TOCSIN-20261124-000123-compromised-website.csv", "TOCSIN-20261124-000123-spamhaus-drop.csv"}, "X-ARF", ""},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			d.Format = tt.format
			out, err := r.Render(d, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range out.Attachments {
				if strings.HasSuffix(a.Name, ".xarf.json") {
					if len(names) == 0 || names[len(names)-1] != "*" {
						names = append(names, "*")
					}
					continue
				}
				names = append(names, a.Name)
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("attachments %v, want %v", names, tt.names)
			}
			if !strings.Contains(out.Text, tt.inText) || tt.noInText != "" && strings.Contains(out.Text, tt.noInText) {
				t.Errorf("text:\n%s", out.Text)
			}
		})
	}
	// Too many events for inline: an attachment instead, and a list.
	big := &Data{Ident: "TOCSIN-20261124-000126", Date: testDate, Sender: testSender, Format: FormatInlineJSON}
	for i := range MaxInline + 1 {
		big.Items = append(big.Items, Item{ID: int64(i), Event: build(t, "classification.type", "scanner", "source.ip", fmt.Sprintf("10.0.%d.%d", i/256, i%256))})
	}
	out, err := r.Render(big, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Attachments) != 1 || out.Attachments[0].Name != big.Ident+".jsonl" || !strings.Contains(out.Text, "more in the attachment") {
		t.Errorf("inline over MaxInline: %d attachments\n%s", len(out.Attachments), out.Text)
	}
}

func TestTooLarge(t *testing.T) {
	r := mustNew(t, "")
	d := &Data{Ident: "TOCSIN-20261124-000127", Date: testDate, Sender: testSender}
	blob := strings.Repeat("x", 60<<10)
	for i := range MaxAttachments/len(blob) + 2 {
		d.Items = append(d.Items, Item{ID: int64(i), Event: build(t, "classification.type", "scanner", "source.ip", "192.0.2.1", "extra.blob", blob)})
	}
	if _, err := r.Render(d, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestSectionOf(t *testing.T) {
	evs := shadowserverEvents(t)
	var got []string
	for _, e := range evs {
		got = append(got, e.Feed.Code+"="+sectionOf(e))
	}
	want := []string{
		"Sinkhole-Events-HTTP IPv4=infected-system", "Sinkhole-Events-HTTP IPv4=infected-system",
		"Compromised-Website=compromised", "Malware-URL=malware-distribution", "Vulnerable-HTTP=vulnerable-system",
		"DNS-Open-Resolvers=ddos-amplifier", "DNS-Open-Resolvers=ddos-amplifier", "NTP-Version=ddos-amplifier",
		"Honeypot-Brute-Force-Events=brute-force",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sections\n got %q\nwant %q", got, want)
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 0, "plain"},
		{"a\r\nb", 0, "a b"},
		{"  a \t\t b  ", 0, "a b"},
		{"x\u202eevil\u2066y\u200f", 0, "xevily"},
		{"a\u2028b\u0085c\x7fd", 0, "a b c d"},
		{"bad\xffutf8", 0, "bad\ufffdutf8"},
		{"abcdefghij", 5, "abcd…"},
		{"abcde", 5, "abcde"},
		{"åäöüé日本語", 4, "åäö…"},
		{"abc   defgh", 5, "abc…"},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in, tt.max); got != tt.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	r := mustNew(b, "")
	d := digest(b)
	for len(d.Items) < 20 {
		d.Items = append(d.Items, d.Items[len(d.Items)%12])
	}
	d.Items = d.Items[:20]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(d, []string{"en"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSection: a routing rule's template puts every event in one
// section; an unknown one is an error that lists the sections.
func TestSection(t *testing.T) {
	r := mustNew(t, "")
	d := digest(t)
	d.Section = "phishing"
	out, err := r.Render(d, []string{"en"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d ", len(d.Items)); !strings.Contains(out.Subject, want) || strings.Contains(out.Text, "What we saw: systems in your network connected") {
		t.Errorf("with section phishing:\n%s\n%s", out.Subject, out.Text)
	}
	d.Section = "no-such"
	if _, err := r.Render(d, []string{"en"}); err == nil || !strings.Contains(err.Error(), "infected-system") {
		t.Errorf("unknown section: %v", err)
	}
}
