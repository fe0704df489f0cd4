package render

import (
	"strings"
	"testing"
)

// TestRenderMonthly: the monthly report in every shipped language, with
// its ID and date in the subject, the month in the language, the counts,
// and the attachment named.
func TestRenderMonthly(t *testing.T) {
	r := mustNew(t, "")
	month := map[string]string{"en": "November 2026", "sv": "november 2026", "pt": "novembro de 2026", "vi": "tháng 11/2026"}
	for _, lang := range shipped {
		t.Run(lang, func(t *testing.T) {
			m := sampleMonthly()
			m.OrgName = "Energi AB\r\nBcc: victim@example.org"
			out, err := r.RenderMonthly(m, []string{lang})
			if err != nil {
				t.Fatal(err)
			}
			if out.Lang != lang {
				t.Errorf("Lang = %q", out.Lang)
			}
			for _, want := range []string{m.Ident, "2026-12-01", month[lang], "Energi AB Bcc: victim@example.org"} {
				if !strings.Contains(out.Subject, want) {
					t.Errorf("subject %q lacks %q", out.Subject, want)
				}
			}
			if strings.ContainsAny(out.Subject, "\r\n") {
				t.Errorf("subject %q spans lines", out.Subject)
			}
			for _, want := range []string{m.Ident, "2026-12-01 06:00 UTC", month[lang], m.Attachment, ": 2\n", ": 1\n", "andromeda", "openresolver", "Example CSIRT", "cert@example.org"} {
				if !strings.Contains(out.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, out.Text)
				}
			}
		})
	}
	// A language without templates gets English.
	out, err := r.RenderMonthly(sampleMonthly(), []string{"de"})
	if err != nil || out.Lang != "en" || !strings.HasPrefix(out.Subject, "[TOCSIN-20261201-000001] Monthly report for Example, November 2026") {
		t.Errorf("de: %v %+v", err, out)
	}
	// Many kinds: the text lists MaxMonthlyKinds and counts the rest.
	m := sampleMonthly()
	for i := range MaxMonthlyKinds + 3 {
		m.Kinds = append(m.Kinds, MonthlyKind{Kind: "vulnerable", What: strings.Repeat("x", i+1), Count: 1})
	}
	out, err = r.RenderMonthly(m, nil)
	if err != nil || !strings.Contains(out.Text, "and 6 more kinds in the attachment") {
		t.Errorf("%v\n%s", err, out.Text)
	}
	if _, err := r.RenderMonthly(&Monthly{Ident: "bad id"}, nil); err == nil {
		t.Error("a bad ID renders")
	}
}
