package render

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Monthly is an organisation's monthly report, as RenderMonthly takes it
// (package stats builds it; the rows travel as a CSV attachment).
type Monthly struct {
	Ident   string    // the notification's ID
	Date    time.Time // when it is sent
	Month   time.Time // any instant of the month reported on
	OrgName string
	Sender  Sender
	// Infected, Vulnerable and Other count the report's rows of each
	// kind; Kinds counts them by kind and what (malware family, kind of
	// vulnerability), most first.
	Infected, Vulnerable, Other int
	Kinds                       []MonthlyKind
	Attachment                  string // the CSV file's name
}

// MonthlyKind is a count of rows of one kind ("infected", "vulnerable" or
// "other") and what.
type MonthlyKind struct {
	Kind, What string
	Count      int
}

// MonthlyView is what monthly.tmpl sees. Its strings are on one line and
// cleaned of control characters.
type MonthlyView struct {
	Ident, Date, DateTime string
	// Year and MonthNumber (1-12) are the month reported on; YearMonth is
	// "2026-10".
	Year, MonthNumber           int
	YearMonth                   string
	OrgName                     string
	Sender                      Sender
	Infected, Vulnerable, Other int
	Total                       int
	Kinds                       []MonthlyKind // at most MaxMonthlyKinds
	MoreKinds                   int           // kinds not in Kinds
	Attachment                  string
}

// MaxMonthlyKinds is how many kinds the text of a monthly report lists.
const MaxMonthlyKinds = 30

// RenderMonthly renders a monthly report's subject and text in the first
// language of langs that has templates (see Match). The template,
// monthly.tmpl, holds the text and a {{define "subject"}}.
func (r *Renderer) RenderMonthly(m *Monthly, langs []string) (*Rendered, error) {
	return r.renderMonthly(m, r.Match(langs))
}

func (r *Renderer) renderMonthly(m *Monthly, lang string) (*Rendered, error) {
	if !identRE.MatchString(m.Ident) {
		return nil, fmt.Errorf("monthly report ID %q: want 1 to 64 letters, digits, '.', '_' or '-'", oneLine(m.Ident, maxValue))
	}
	if m.Date.IsZero() || m.Month.IsZero() {
		return nil, fmt.Errorf("monthly report %s: no date or month", m.Ident)
	}
	ls := r.langs[lang]
	if ls == nil {
		ls, lang = r.langs["en"], "en"
	}
	v := &MonthlyView{
		Ident: m.Ident, Date: m.Date.UTC().Format("2006-01-02"), DateTime: m.Date.UTC().Format("2006-01-02 15:04 UTC"),
		Year: m.Month.Year(), MonthNumber: int(m.Month.Month()), YearMonth: m.Month.Format("2006-01"),
		OrgName:  oneLine(m.OrgName, maxName),
		Sender:   Sender{Name: oneLine(m.Sender.Name, maxName), Email: oneLine(m.Sender.Email, maxName), URL: oneLine(m.Sender.URL, maxName), Phone: oneLine(m.Sender.Phone, maxName)},
		Infected: m.Infected, Vulnerable: m.Vulnerable, Other: m.Other, Total: m.Infected + m.Vulnerable + m.Other,
		Attachment: oneLine(m.Attachment, maxName),
	}
	kinds := slices.Clone(m.Kinds)
	slices.SortStableFunc(kinds, func(a, b MonthlyKind) int { return cmp.Compare(b.Count, a.Count) })
	if len(kinds) > MaxMonthlyKinds {
		v.MoreKinds = len(kinds) - MaxMonthlyKinds
		kinds = kinds[:MaxMonthlyKinds]
	}
	for i := range kinds {
		kinds[i].Kind, kinds[i].What = oneLine(kinds[i].Kind, maxValue), oneLine(kinds[i].What, maxValue)
	}
	v.Kinds = kinds
	var text, subject bytes.Buffer
	if err := ls.monthly.Execute(&text, v); err != nil {
		return nil, fmt.Errorf("monthly report %s: %w", m.Ident, err)
	}
	if err := ls.monthly.ExecuteTemplate(&subject, "subject", v); err != nil {
		return nil, fmt.Errorf("monthly report %s: subject: %w", m.Ident, err)
	}
	return &Rendered{Lang: lang, Subject: oneLine(subject.String(), 250), Text: tidy(text.String())}, nil
}

// sampleMonthly is a monthly report on which New tries every language's
// monthly.tmpl.
func sampleMonthly() *Monthly {
	return &Monthly{
		Ident: "TOCSIN-20261201-000001", Date: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), Month: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		OrgName: "Example", Sender: Sender{Name: "Example CSIRT", Email: "cert@example.org", URL: "https://cert.example.org/", Phone: "+1 555 0100"},
		Infected: 2, Vulnerable: 1, Other: 1, Attachment: "TOCSIN-20261201-000001-2026-11.csv",
		Kinds: []MonthlyKind{{"infected", "andromeda", 2}, {"vulnerable", "openresolver", 1}, {"other", "blacklisted-ip", 1}},
	}
}
