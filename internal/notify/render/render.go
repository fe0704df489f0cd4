// Package render turns one notification — its ID, its date, its recipient
// and its events — into the subject and text of a mail and its
// attachments, in the recipient's language.
//
// # Templates
//
// The texts are text/template files, one per language and kind of event:
// templates/<lang>/<section>.tmpl for each name in Sections, plus
// frame.tmpl (the whole body: greeting, ID and date, the sections, the
// list of events or the pointer to the attachment, the signature) and
// subject.tmpl. English (en), Swedish (sv), Portuguese (pt) and
// Vietnamese (vi) are compiled in. A directory given to New overrides
// them file by file with the same layout, and may add a language, which
// must then have every file. A section file also defines
// {{define "summary"}}: the count phrase ("12 infected systems") that the
// subject and the section heading use. The frame and subject templates see
// a View, a section template its Section; the doc comments of those types
// are the reference for template authors.
//
// # Feed data is data
//
// Event values reach the templates only as data, never as template text,
// so "{{.Sender}}" in a feed's field prints as those characters. Every
// value shown in the text passes through a single-line cleaner first:
// control characters (CR, LF and the rest of C0 and C1) become spaces,
// bidirectional overrides are dropped, and long values are cut with "…".
// The subject is cleaned again as a whole, so it never holds CR or LF
// whatever a template does. At most MaxListed events are listed in the
// text; the attachment has all of them.
package render

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

//go:embed templates
var embedded embed.FS

// Item is one stored event as the notifier has it.
type Item struct {
	ID        int64
	Event     *event.Event
	Count     int64 // how many times the event was seen; 0 counts as 1
	FirstSeen time.Time
	LastSeen  time.Time
}

// Sender is the CSIRT that sends the notification.
type Sender struct {
	Name, Email, URL, Phone string
}

// Data is one notification to render.
type Data struct {
	// Ident is the notification's ID, e.g. TOCSIN-20261124-000123: 1 to 64
	// letters, digits, '.', '_' or '-', starting with a letter or digit. It
	// names the attachments too.
	Ident string
	// Date is when the notification was made; it must be set.
	Date time.Time
	// OrgID and OrgName name the organisation the events belong to;
	// Recipient is the address the message goes to.
	OrgID, OrgName, Recipient string
	Sender                    Sender
	// Items are the events, of one or several classification types: the
	// text has one section per kind present (see Sections), in that order,
	// and each section lists its events in the order given.
	Items []Item
	// Format is how the events travel: "csv" (an attachment; the default
	// when empty), "json" (an attachment of IntelMQ JSON lines),
	// "inline-csv" or "inline-json" (in the text), or "xarf" (an X-ARF
	// report per event, see XARF).
	Format string
	// Section, when set, is the section every event is explained by (a
	// routing rule's template, e.g. "infected-system"), whatever its own
	// classification; it must be one of Sections.
	Section string
}

// The formats of Data.Format.
const (
	FormatCSV        = "csv"
	FormatJSON       = "json"
	FormatInlineCSV  = "inline-csv"
	FormatInlineJSON = "inline-json"
	FormatXARF       = "xarf"
)

// Formats lists the valid values of Data.Format.
var Formats = []string{FormatCSV, FormatJSON, FormatInlineCSV, FormatInlineJSON, FormatXARF}

// Rendered is a rendered notification. Subject is one line without CR or
// LF; Text ends in a newline and uses LF line ends (the mail encoder
// turns them into CRLF).
type Rendered struct {
	Lang, Subject, Text string
	Attachments         []Attachment
}

// Attachment is a file that goes with the notification.
type Attachment struct {
	Name        string // e.g. "TOCSIN-20261124-000123-scan-http.csv"
	ContentType string // e.g. "text/csv; charset=utf-8"
	Data        []byte
}

// Limits of one notification.
const (
	// MaxListed is how many events the text lists; the others are
	// counted ("and 12 more in the attachment").
	MaxListed = 50
	// MaxInline is how many events an inline format puts in the text.
	// With more, the events go to an attachment instead (CSV for
	// inline-csv, JSON lines for inline-json) and the text lists the
	// first MaxListed.
	MaxInline = 200
	// MaxXARF is how many X-ARF reports one message carries; the events
	// beyond, and those of types X-ARF has no report type for, go to a CSV
	// attachment.
	MaxXARF = 100
	// MaxCSVFiles is how many CSV files (one per kind of report) a
	// message carries at most.
	MaxCSVFiles = 20
	// MaxAttachments is the total size of the attachments of one message.
	MaxAttachments = 8 << 20
)

// Errors of Render.
var (
	ErrNoItems  = errors.New("the notification has no events")
	ErrTooLarge = errors.New("the notification's attachments are too large")
)

var identRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Renderer renders notifications with one set of templates. It is safe
// for concurrent use.
type Renderer struct {
	langs map[string]*langSet
	pool  sync.Pool // *bytes.Buffer
}

type langSet struct {
	frame, subject, monthly *template.Template
	sections                map[string]*template.Template
}

// templateNames are the files every language has, without ".tmpl".
var templateNames = append(slices.Clone(Sections), "frame", "subject", "monthly")

var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})*$`)

// New loads the compiled-in templates and, when overrideDir is not "",
// the files under it (overrideDir/<lang>/<name>.tmpl), which replace the
// compiled-in file of the same name. A language the override adds must
// have every file. An unknown file name, a parse error or a template that
// fails on a sample notification is an error that names the file (and
// the line, where there is one). New renders nothing else at start.
func New(overrideDir string) (*Renderer, error) {
	type source struct{ path, text string }
	srcs := map[string]map[string]source{} // lang → name → source
	err := fs.WalkDir(embedded, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		lang := path.Base(path.Dir(p))
		if srcs[lang] == nil {
			srcs[lang] = map[string]source{}
		}
		srcs[lang][strings.TrimSuffix(path.Base(p), ".tmpl")] = source{p, string(b)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded templates: %w", err)
	}
	if overrideDir != "" {
		dirs, err := os.ReadDir(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("notification templates: %w", err)
		}
		for _, d := range dirs {
			p := filepath.Join(overrideDir, d.Name())
			if strings.HasPrefix(d.Name(), ".") {
				continue
			}
			lang := strings.ReplaceAll(strings.ToLower(d.Name()), "_", "-")
			if !d.IsDir() || !langRE.MatchString(lang) {
				return nil, fmt.Errorf("notification templates: %s: want a directory named by a language tag (en, sv, pt-br ...) holding <name>.tmpl files", p)
			}
			files, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("notification templates: %w", err)
			}
			for _, f := range files {
				fp := filepath.Join(p, f.Name())
				if strings.HasPrefix(f.Name(), ".") {
					continue
				}
				name, ok := strings.CutSuffix(f.Name(), ".tmpl")
				if !ok || !slices.Contains(templateNames, name) || f.IsDir() {
					return nil, fmt.Errorf("notification templates: %s: not a template tocsin knows; the names are %s, each with .tmpl", fp, strings.Join(templateNames, ", "))
				}
				b, err := os.ReadFile(fp)
				if err != nil {
					return nil, fmt.Errorf("notification templates: %w", err)
				}
				if srcs[lang] == nil {
					srcs[lang] = map[string]source{}
				}
				srcs[lang][name] = source{fp, string(b)}
			}
		}
	}
	r := &Renderer{langs: map[string]*langSet{}}
	for lang, files := range srcs {
		var missing []string
		for _, n := range templateNames {
			if _, ok := files[n]; !ok {
				missing = append(missing, n+".tmpl")
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("notification templates: language %q lacks %s (copy them from the English ones)", lang, strings.Join(missing, ", "))
		}
		ls := &langSet{sections: map[string]*template.Template{}}
		for _, n := range templateNames {
			s := files[n]
			t, err := template.New(s.path).Funcs(funcs).Option("missingkey=error").Parse(s.text)
			if err != nil {
				return nil, fmt.Errorf("notification templates: %w", err)
			}
			switch n {
			case "frame":
				ls.frame = t
			case "subject":
				ls.subject = t
			case "monthly":
				if t.Lookup("subject") == nil {
					return nil, fmt.Errorf("notification templates: %s: no {{define \"subject\"}} (the monthly report's subject)", s.path)
				}
				ls.monthly = t
			default:
				if t.Lookup("summary") == nil {
					return nil, fmt.Errorf("notification templates: %s: no {{define \"summary\"}} (the count phrase of the subject, e.g. \"12 infected systems\")", s.path)
				}
				ls.sections[n] = t
			}
		}
		r.langs[lang] = ls
	}
	if r.langs["en"] == nil {
		return nil, errors.New("notification templates: no English templates")
	}
	for lang := range r.langs {
		if _, err := r.render(sample(), lang); err != nil {
			return nil, fmt.Errorf("notification templates (%s) fail on a sample notification: %w", lang, err)
		}
		if _, err := r.renderMonthly(sampleMonthly(), lang); err != nil {
			return nil, fmt.Errorf("notification templates (%s) fail on a sample monthly report: %w", lang, err)
		}
	}
	return r, nil
}

// funcs are the functions templates may call besides the built-in ones.
var funcs = template.FuncMap{
	"join": strings.Join,
	// pick returns the i-th (from 1) of its arguments: {{pick .MonthNumber "January" "February" ...}}.
	"pick": func(i int, xs ...string) string {
		if i < 1 || i > len(xs) {
			return ""
		}
		return xs[i-1]
	},
	"upper": strings.ToUpper,
	// plural returns one when n is 1, else other.
	"plural": func(n int, one, other string) string {
		if n == 1 {
			return one
		}
		return other
	},
}

// Languages returns the languages the renderer has templates for, sorted.
func (r *Renderer) Languages() []string {
	l := make([]string, 0, len(r.langs))
	for k := range r.langs {
		l = append(l, k)
	}
	slices.Sort(l)
	return l
}

// Match returns the first of langs (BCP 47 tags, in order of preference)
// that the renderer has templates for, trying each tag and then its
// shorter prefixes ("pt-BR", then "pt"), case-insensitively; "en" when
// none matches.
func (r *Renderer) Match(langs []string) string {
	for _, l := range langs {
		l = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(l)), "_", "-")
		for l != "" {
			if r.langs[l] != nil {
				return l
			}
			i := strings.LastIndexByte(l, '-')
			if i < 0 {
				break
			}
			l = l[:i]
		}
	}
	return "en"
}

// Render renders d in the first language of langs that has templates (see
// Match). It fails on a notification without events, an invalid Ident, a
// zero Date, an unknown Format, an item without an event, and attachments
// over MaxAttachments (ErrTooLarge: split the notification).
func (r *Renderer) Render(d *Data, langs []string) (*Rendered, error) {
	return r.render(d, r.Match(langs))
}

// View is what frame.tmpl and subject.tmpl see. Every string is on one
// line and cleaned of control characters, except Inline and the
// sections' Text.
type View struct {
	Ident     string // the notification's ID
	Date      string // its date, 2026-11-24
	DateTime  string // its date and time, 2026-11-24 10:00 UTC
	OrgName   string
	Recipient string
	Sender    Sender
	// Sections has one entry per kind of event present, in the order of
	// Sections.
	Sections []Section
	// Summary is the sections' summaries joined by ", ": "12 infected
	// systems, 3 vulnerable services".
	Summary string
	// Head is the summaries of the first two sections, for a subject of
	// a readable length; Others is how many events the other sections
	// hold (0 with two sections or fewer).
	Head   string
	Others int
	Total  int // events in the notification
	Listed int // events listed in the text (the sections' Rows)
	More   int // events not listed in the text
	// Attachments names the attached files.
	Attachments []string
	// Inline is the events as CSV or JSON lines for an inline format, ""
	// otherwise; InlineFormat is then "CSV" or "JSON".
	Inline       string
	InlineFormat string
	// XARF is how many X-ARF reports are attached, CSVFiles how many CSV
	// files (one per kind of report).
	XARF, CSVFiles int
}

// Section is what a section template sees, and what frame.tmpl sees of
// each section.
type Section struct {
	Name  string   // the section, one of Sections
	Types []string // the classification types of its events
	Count int      // how many events it has
	// Identifiers and Malware are the distinct classification.identifier
	// and malware.name values, at most 10 each.
	Identifiers []string
	Malware     []string
	// Feeds are the feeds its events come from, with their documentation.
	Feeds []Feed
	// Rows are its events listed in the text; More is how many more it
	// has (in the attachment or, for an inline format, in Inline).
	Rows []Row
	More int
	// Text and Summary are the section template's output and its
	// "summary"; empty while the section template runs.
	Text    string
	Summary string
}

func check(d *Data) error {
	if !identRE.MatchString(d.Ident) {
		return fmt.Errorf("notification ID %q: want 1 to 64 letters, digits, '.', '_' or '-'", oneLine(d.Ident, maxValue))
	}
	if d.Date.IsZero() {
		return fmt.Errorf("notification %s: no date", d.Ident)
	}
	if len(d.Items) == 0 {
		return fmt.Errorf("notification %s: %w", d.Ident, ErrNoItems)
	}
	for i := range d.Items {
		if d.Items[i].Event == nil {
			return fmt.Errorf("notification %s: item %d (id %d) has no event", d.Ident, i, d.Items[i].ID)
		}
	}
	if d.Format != "" && !slices.Contains(Formats, d.Format) {
		return fmt.Errorf("notification %s: format %q is not one of %s", d.Ident, oneLine(d.Format, maxValue), strings.Join(Formats, ", "))
	}
	return nil
}

func (r *Renderer) render(d *Data, lang string) (*Rendered, error) {
	if err := check(d); err != nil {
		return nil, err
	}
	ls := r.langs[lang]
	out := &Rendered{Lang: lang}
	v := View{
		Ident:     d.Ident,
		Date:      d.Date.UTC().Format("2006-01-02"),
		DateTime:  d.Date.UTC().Format("2006-01-02 15:04 UTC"),
		OrgName:   oneLine(d.OrgName, maxName),
		Recipient: oneLine(d.Recipient, maxName),
		Sender: Sender{
			Name:  oneLine(d.Sender.Name, maxName),
			Email: oneLine(d.Sender.Email, maxName),
			URL:   oneLine(d.Sender.URL, maxName),
			Phone: oneLine(d.Sender.Phone, maxName),
		},
		Total: len(d.Items),
	}

	// Group the items by section, keeping their order.
	groups := make([][]*Item, len(Sections))
	forced := -1
	if d.Section != "" {
		if forced = slices.Index(Sections, d.Section); forced < 0 {
			return nil, fmt.Errorf("template %q: no such section; use one of %s", d.Section, strings.Join(Sections, ", "))
		}
	}
	for i := range d.Items {
		it := &d.Items[i]
		s := forced
		if s < 0 {
			s = slices.Index(Sections, sectionOf(it.Event))
		}
		groups[s] = append(groups[s], it)
	}

	// The events travel as the format says.
	format := d.Format
	if format == "" {
		format = FormatCSV
	}
	list := true
	switch format {
	case FormatInlineCSV, FormatInlineJSON:
		if len(d.Items) > MaxInline {
			format = strings.TrimPrefix(format, "inline-")
			break
		}
		if format == FormatInlineCSV {
			b, err := appendCSV(nil, nil, d.Items, nil, true)
			if err != nil {
				return nil, err
			}
			v.Inline, v.InlineFormat = string(b), "CSV"
		} else {
			var b bytes.Buffer
			if err := writeJSON(&b, d.Items, true); err != nil {
				return nil, err
			}
			v.Inline, v.InlineFormat = b.String(), "JSON"
		}
		list = false
	}
	switch format {
	case FormatCSV:
		as, err := csvAttachments(d.Ident, d.Items)
		if err != nil {
			return nil, err
		}
		out.Attachments = append(out.Attachments, as...)
	case FormatJSON:
		var b bytes.Buffer
		if err := WriteJSON(&b, d.Items); err != nil {
			return nil, err
		}
		out.Attachments = append(out.Attachments, Attachment{Name: d.Ident + ".jsonl", ContentType: "application/x-ndjson; charset=utf-8", Data: b.Bytes()})
	case FormatXARF:
		var rest []Item
		for i := range d.Items {
			if v.XARF == MaxXARF {
				rest = append(rest, d.Items[i:]...)
				break
			}
			b, err := XARF(d.Items[i], d)
			if errors.Is(err, ErrNoXARFType) {
				rest = append(rest, d.Items[i])
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("notification %s: event %d: %w", d.Ident, d.Items[i].ID, err)
			}
			v.XARF++
			out.Attachments = append(out.Attachments, Attachment{
				Name: fmt.Sprintf("%s-%03d.xarf.json", d.Ident, v.XARF), ContentType: "application/json", Data: b})
		}
		if len(rest) > 0 {
			as, err := csvAttachments(d.Ident, rest)
			if err != nil {
				return nil, err
			}
			out.Attachments = append(out.Attachments, as...)
		}
	}
	size := 0
	for _, a := range out.Attachments {
		size += len(a.Data)
		v.Attachments = append(v.Attachments, a.Name)
		if strings.HasSuffix(a.Name, ".csv") {
			v.CSVFiles++
		}
	}
	if size > MaxAttachments {
		return nil, fmt.Errorf("notification %s: %d events make %d bytes of attachments, more than %d: %w (send fewer events per message)", d.Ident, len(d.Items), size, MaxAttachments, ErrTooLarge)
	}

	// The sections, their texts and the events listed.
	buf := r.buffer()
	defer r.pool.Put(buf)
	budget := MaxListed
	if !list {
		budget = 0
	}
	var summaries []string
	var feeds []feedKey // of the section, seen
	for si, items := range groups {
		if len(items) == 0 {
			continue
		}
		s := Section{Name: Sections[si], Count: len(items)}
		feeds = feeds[:0]
		for _, it := range items {
			e := it.Event
			addDistinct(&s.Types, e.Classification.Type, 10)
			addDistinct(&s.Identifiers, oneLine(e.Classification.Identifier, maxValue), 10)
			addDistinct(&s.Malware, oneLine(e.Malware.Name, maxValue), 10)
			if k := (feedKey{e.Feed.Name, e.Feed.Provider, e.Feed.Code, e.Feed.Documentation}); len(s.Feeds) < 10 && !slices.Contains(feeds, k) {
				// feedOf parses the documentation URL: once per feed.
				feeds = append(feeds, k)
				if f := feedOf(e); f.Name != "" && !slices.Contains(s.Feeds, f) {
					s.Feeds = append(s.Feeds, f)
				}
			}
			if budget > 0 {
				s.Rows = append(s.Rows, rowOf(it, s.Name))
				budget--
			}
		}
		s.More = s.Count - len(s.Rows)
		v.Listed += len(s.Rows)
		t := ls.sections[s.Name]
		buf.Reset()
		if err := t.ExecuteTemplate(buf, "summary", &s); err != nil {
			return nil, err
		}
		summary := oneLine(buf.String(), maxName)
		buf.Reset()
		if err := t.Execute(buf, &s); err != nil {
			return nil, err
		}
		s.Text, s.Summary = strings.TrimSpace(buf.String()), summary
		summaries = append(summaries, summary)
		v.Sections = append(v.Sections, s)
	}
	v.Summary = strings.Join(summaries, ", ")
	v.Head = v.Summary
	if len(summaries) > 2 {
		v.Head = strings.Join(summaries[:2], ", ")
		for _, s := range v.Sections[2:] {
			v.Others += s.Count
		}
	}
	v.More = v.Total - v.Listed

	buf.Reset()
	if err := ls.subject.Execute(buf, &v); err != nil {
		return nil, err
	}
	out.Subject = oneLine(buf.String(), 250)
	buf.Reset()
	if err := ls.frame.Execute(buf, &v); err != nil {
		return nil, err
	}
	out.Text = tidy(buf.String())
	return out, nil
}

func (r *Renderer) buffer() *bytes.Buffer {
	if b, ok := r.pool.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func addDistinct(l *[]string, s string, n int) {
	if s != "" && len(*l) < n && !slices.Contains(*l, s) {
		*l = append(*l, s)
	}
}

// csvAttachments writes items as one CSV file per kind of report (feed
// and feed code: a Shadowserver report type, say), each with the columns
// its events have, named IDENT-KIND.csv, sorted by name; past
// MaxCSVFiles kinds, the smallest share a last file,
// IDENT-other-reports.csv. One file of a digest of many
// report types would have the union of their columns, hundreds of them
// and most empty on any line; a recipient's scripts, like Shadowserver's
// own reports, expect one kind of row per file.
func csvAttachments(ident string, items []Item) ([]Attachment, error) {
	type kind struct {
		slug  string
		items []Item
	}
	var kinds []*kind
	byKey := map[[2]string]*kind{}
	slugs := map[string]bool{}
	for _, it := range items {
		if it.Event == nil {
			return nil, fmt.Errorf("csv: item (id %d) has no event", it.ID)
		}
		k := [2]string{it.Event.Feed.Name, it.Event.Feed.Code}
		kd := byKey[k]
		if kd == nil {
			base := fileSlug(k[1])
			if base == "" {
				base = fileSlug(k[0])
			}
			if base == "" {
				base = "events"
			}
			slug := base
			for n := 2; slugs[slug]; n++ {
				slug = base + "-" + strconv.Itoa(n)
			}
			slugs[slug] = true
			kd = &kind{slug: slug}
			byKey[k] = kd
			kinds = append(kinds, kd)
		}
		kd.items = append(kd.items, it)
	}
	if len(kinds) > MaxCSVFiles {
		// A mail of dozens of files is hard to read: the kinds with the
		// most events keep their files, the others share one.
		slices.SortStableFunc(kinds, func(a, b *kind) int { return len(b.items) - len(a.items) })
		rest := &kind{slug: "other-reports"}
		for n := 2; slugs[rest.slug]; n++ {
			rest.slug = "other-reports-" + strconv.Itoa(n)
		}
		for _, kd := range kinds[MaxCSVFiles-1:] {
			rest.items = append(rest.items, kd.items...)
		}
		slices.SortFunc(rest.items, func(a, b Item) int { return cmp.Compare(a.ID, b.ID) })
		kinds = append(kinds[:MaxCSVFiles-1], rest)
		slices.SortFunc(kinds[:MaxCSVFiles-1], func(a, b *kind) int { return strings.Compare(a.slug, b.slug) })
	} else {
		slices.SortFunc(kinds, func(a, b *kind) int { return strings.Compare(a.slug, b.slug) })
	}
	// The files are written one after the other into one buffer, and
	// cut from one copy of it.
	out := make([]Attachment, 0, len(kinds))
	ends := make([]int, 0, len(kinds))
	bp := csvBuffers.Get().(*[]byte)
	defer putCSVBuffer(bp)
	buf := (*bp)[:0]
	for _, kd := range kinds {
		var err error
		if buf, err = appendCSV(buf, nil, kd.items, nil, false); err != nil {
			return nil, err
		}
		ends = append(ends, len(buf))
	}
	*bp = buf
	all := bytes.Clone(buf)
	start := 0
	for i, kd := range kinds {
		out = append(out, Attachment{Name: ident + "-" + kd.slug + ".csv", ContentType: "text/csv; charset=utf-8", Data: all[start:ends[i]:ends[i]]})
		start = ends[i]
	}
	return out, nil
}

// fileSlug makes s a safe part of a file name: lower-case ASCII letters
// and digits, other runs as one '-', at most 48 bytes.
func fileSlug(s string) string {
	b := make([]byte, 0, len(s))
	dash := false
	for i := 0; i < len(s) && len(b) < 48; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			dash = len(b) > 0
			continue
		}
		if dash {
			b = append(b, '-')
			dash = false
		}
		b = append(b, c)
	}
	return string(b)
}

// tidy trims the spaces at the ends of lines, keeps at most one empty line
// in a row, and ends the text with exactly one newline, so that templates
// need not count their whitespace.
func tidy(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// sample is a notification with one event of every section, on which New
// tries every language's templates.
func sample() *Data {
	d := &Data{
		Ident: "TOCSIN-20260101-000001", Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		OrgName: "Example", Recipient: "abuse@example.org",
		Sender: Sender{Name: "Example CSIRT", Email: "cert@example.org", URL: "https://cert.example.org/", Phone: "+1 555 0100"},
	}
	types := map[string]string{
		"infected-system": "infected-system", "compromised": "system-compromise", "c2-server": "c2-server",
		"malware-distribution": "malware-distribution", "phishing": "phishing", "vulnerable-system": "vulnerable-system",
		"ddos-amplifier": "ddos-amplifier", "brute-force": "brute-force", "scanner": "scanner", "spam": "spam", "default": "blacklist",
	}
	for i, s := range Sections {
		e := &event.Event{}
		e.Classification.Type = types[s]
		e.Feed.Name, e.Feed.Code = "shadowserver", "Example-Report"
		e.TimeSource = d.Date
		d.Items = append(d.Items, Item{ID: int64(i), Event: e, Count: 1, FirstSeen: d.Date, LastSeen: d.Date})
	}
	return d
}
