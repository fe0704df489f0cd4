package config

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
)

// Validate checks c as Parse leaves it: every value in range, every name
// known, and the rules that tie keys together. It returns every problem
// found, joined, each an *Error naming the key and (for a Config read from a
// file) the file and line. Parse calls it; call it again after changing a
// Config.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.validate()
	return joinErrors(v.errs)
}

func (v *validator) validate() {
	v.top()
	v.feeds()
	v.notify()
}

// normalize puts values whose case or spelling does not matter in their
// canonical form, before Validate.
func (c *Config) normalize() {
	c.Log.Level = strings.ToLower(strings.TrimSpace(c.Log.Level))
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))
	c.Notify.SMTP.TLS = strings.ToLower(strings.TrimSpace(c.Notify.SMTP.TLS))
	c.Notify.IMAP.Security = strings.ToLower(strings.TrimSpace(c.Notify.IMAP.Security))
	for i := range c.ConfiguredFeeds {
		f := &c.ConfiguredFeeds[i]
		f.Classification.Taxonomy = strings.ToLower(strings.TrimSpace(f.Classification.Taxonomy))
		f.Classification.Type = strings.ToLower(strings.TrimSpace(f.Classification.Type))
		if t, err := event.NormTLP(f.TLP); err == nil && f.TLP != "" {
			f.TLP = t
		}
	}
}

type validator struct {
	c    *Config
	errs []*Error
}

// errorf records a problem with the key at path.
func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.c.file, Line: v.lineOf(path), Key: path, Msg: fmt.Sprintf(format, args...)})
}

// lineOf returns the line of the key at path or, when it is not in the file,
// of the nearest enclosing key that is.
func (v *validator) lineOf(path string) int {
	for p := path; p != ""; p = parentKey(p) {
		if l, ok := v.c.line[p]; ok {
			return l
		}
	}
	return 0
}

// onLine returns " (line N)" for the key at path, or "" when it is not
// in the file.
func (v *validator) onLine(path string) string {
	if l, ok := v.c.line[path]; ok {
		return fmt.Sprintf(" (line %d)", l)
	}
	return ""
}

// inFile reports whether the key at path was written in the file.
func (v *validator) inFile(path string) bool {
	_, ok := v.c.line[path]
	return ok
}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

func (v *validator) top() {
	c := v.c
	if msg := checkDatabase(c.Database.Reveal()); msg != "" {
		v.errorf("database", "%s", msg)
	}
	if strings.ContainsRune(c.DataDir, 0) {
		v.errorf("data_dir", "contains a NUL byte")
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		v.errorf("log.level", "%q is not a level; use one of %s%s", c.Log.Level, strings.Join(logLevels, ", "), didYouMean(c.Log.Level, logLevels))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		v.errorf("log.format", "%q is not a log format; use text or json%s", c.Log.Format, didYouMean(c.Log.Format, logFormats))
	}
	if b := c.Ingest.BatchSize; b < 1 || b > 1_000_000 {
		v.errorf("ingest.batch_size", "%d is out of range; use 1 to 1000000 (default %d)", b, DefaultBatchSize)
	}
	if msg := checkHTTPURL(c.Shadowserver.SchemaURL); msg != "" {
		v.errorf("shadowserver.schema_url", "%s (default %s)", msg, DefaultSchemaURL)
	}
	for i, u := range c.Enrichment.ASNURLs {
		if msg := checkHTTPURL(u); msg != "" {
			v.errorf(fmt.Sprintf("enrichment.asn_urls[%d]", i), "%s", msg)
		}
	}
	if u := c.Enrichment.GeoURL; u != "" {
		if msg := checkHTTPURL(u); msg != "" {
			v.errorf("enrichment.geo_url", "%s", msg)
		}
	}
	if u := c.Enrichment.PSLURL; u != "" {
		if msg := checkHTTPURL(u); msg != "" {
			v.errorf("enrichment.psl_url", "%s", msg)
		}
	}
	if u := c.Proof.BaseURL; u != "" {
		if msg := checkHTTPURL(u); msg != "" {
			v.errorf("proof.base_url", "%s", msg)
		}
	}
	if r := c.Proof.Resolver; r != "" {
		if _, _, err := net.SplitHostPort(r); err != nil {
			v.errorf("proof.resolver", "%q: write host:port, e.g. 127.0.0.1:53", r)
		}
	}
	if c.Proof.LinkValidity <= 0 {
		v.errorf("proof.link_validity", "must be positive, e.g. 7d")
	}
	if strings.ContainsRune(c.Shadowserver.SchemaFile, 0) {
		v.errorf("shadowserver.schema_file", "contains a NUL byte")
	}
}

// checkDatabase returns what is wrong with a database setting, or "". The
// message never quotes the value, which may hold a password.
func checkDatabase(db string) string {
	const use = "use sqlite, the path of a SQLite file, or a postgres://user:password@host/dbname URL"
	switch {
	case strings.TrimSpace(db) == "":
		return "empty; " + use
	case strings.ContainsRune(db, 0):
		return "contains a NUL byte; " + use
	}
	scheme, _, ok := strings.Cut(db, "://")
	if !ok {
		return "" // a SQLite file
	}
	if !isPostgresScheme(scheme) {
		if urlScheme.MatchString(scheme) {
			return fmt.Sprintf("the URL scheme %q is not supported; %s", scheme, use)
		}
		return "" // a path that happens to contain "://"
	}
	// url.Parse's errors quote the URL: only say that it failed.
	u, err := url.Parse(db)
	if err != nil {
		return "not a valid PostgreSQL URL (check the characters of the password: percent-encode @ : / ? # as %40 %3A %2F %3F %23)"
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return "the query part of the PostgreSQL URL (after ?) is not valid"
	}
	return ""
}

// checkHTTPURL returns what is wrong with an http(s) URL, or "".
func checkHTTPURL(s string) string {
	if s == "" {
		return "empty; give an https:// URL or remove the key"
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q is not a valid URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Sprintf("%q is not an http:// or https:// URL", s)
	}
	return ""
}

var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

var feedName = regexp.MustCompile(`^[a-z0-9._-]+$`)

// maxFeedName bounds a feed's name, which is stored with every event.
const maxFeedName = 100

// listFields are the values of a list feed's field key.
var listFields = []string{"source.ip", "source.network", "source.fqdn", "source.url", "source.asn"}

// dedicatedKeys are the event fields a feed sets with its own keys, which
// constant must not set as well.
var dedicatedKeys = map[string]string{
	"feed.name":                 "name",
	"feed.provider":             "provider",
	"feed.documentation":        "documentation",
	"feed.accuracy":             "accuracy",
	"tlp":                       "tlp",
	"classification.taxonomy":   "classification.taxonomy",
	"classification.type":       "classification.type",
	"classification.identifier": "classification.identifier",
}

func (v *validator) feeds() {
	first := map[string]int{} // name -> index of its first definition
	for i := range v.c.ConfiguredFeeds {
		f := &v.c.ConfiguredFeeds[i]
		p := fmt.Sprintf("feeds[%d]", i)
		v.feedName(f, p, i, first)
		formatOK := v.feedFormat(f, p)
		if f.Accuracy != nil {
			if a := *f.Accuracy; math.IsNaN(a) || a < 0 || a > 100 {
				v.errorf(p+".accuracy", "%v is out of range; use a percentage, 0 to 100", a)
			}
		}
		if f.TLP != "" {
			if _, err := event.NormTLP(f.TLP); err != nil {
				v.errorf(p+".tlp", "%v", err)
			}
		}
		v.classification(f, p)
		if formatOK {
			v.list(f, p)
			v.csv(f, p)
		}
		v.dedup(f, p)
		v.constant(f, p)
	}
}

func (v *validator) feedName(f *feed.Feed, p string, i int, first map[string]int) {
	switch {
	case f.Name == "":
		v.errorf(p+".name", "missing; every feed needs a name, such as my-blocklist (lower case letters, digits, . _ -)")
		return
	case len(f.Name) > maxFeedName:
		v.errorf(p+".name", "%d characters long; use at most %d", len(f.Name), maxFeedName)
	case !feedName.MatchString(f.Name):
		v.errorf(p+".name", "%q is not a valid feed name; use lower case letters, digits, '.', '_' and '-' only", f.Name)
	}
	if j, dup := first[f.Name]; dup {
		q := fmt.Sprintf("feeds[%d]", j)
		v.errorf(p+".name", "feed %q is already defined by %s%s; feed names must be unique", f.Name, q, v.onLine(q+".name"))
		return
	}
	first[f.Name] = i
}

// feedFormat checks a feed's format and reports whether it is valid.
func (v *validator) feedFormat(f *feed.Feed, p string) bool {
	switch {
	case f.Format == "":
		v.errorf(p+".format", "missing; say which parser reads the feed: one of %s", strings.Join(feed.Formats, ", "))
	case !feed.ValidFormat(f.Format):
		v.errorf(p+".format", "unknown format %q; use one of %s%s", f.Format, strings.Join(feed.Formats, ", "), didYouMean(f.Format, feed.Formats))
	default:
		return true
	}
	return false
}

// fmtDuration prints d without zero minutes and seconds: 24h, not 24h0m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
	}
	return s
}

func (v *validator) classification(f *feed.Feed, p string) {
	tax, typ := f.Classification.Taxonomy, f.Classification.Type
	kt, kx := p+".classification.type", p+".classification.taxonomy"
	typeOK := typ != "" && event.TaxonomyOf(typ) != ""
	if typ != "" && !typeOK {
		v.errorf(kt, "%q is not a classification type of the IntelMQ taxonomy%s", typ, didYouMean(typ, allTypes()))
	}
	if tax == "" {
		return
	}
	if _, ok := event.Taxonomies[tax]; !ok {
		v.errorf(kx, "%q is not a taxonomy; use one of %s%s", tax, strings.Join(taxonomies(), ", "), didYouMean(tax, taxonomies()))
		return
	}
	switch {
	case typeOK && event.TaxonomyOf(typ) != tax:
		v.errorf(kt, "type %q belongs to taxonomy %q, not to classification.taxonomy %q%s; correct one of them, or drop the taxonomy (the type implies it)",
			typ, event.TaxonomyOf(typ), tax, v.onLine(kx))
	case typ == "" && !mapsTo(&f.CSV, "classification.type"):
		v.errorf(kx, "set without classification.type; give the type too (the taxonomy follows from it): one of %s", strings.Join(event.Taxonomies[tax], ", "))
	}
}

func taxonomies() []string { return slices.Sorted(maps.Keys(event.Taxonomies)) }

func allTypes() []string {
	var types []string
	for _, ts := range event.Taxonomies {
		types = append(types, ts...)
	}
	slices.Sort(types)
	return types
}

// list checks what only format list uses.
func (v *validator) list(f *feed.Feed, p string) {
	if f.Format == "list" && f.Classification.Type == "" {
		v.errorf(p+".classification.type", "missing; format list needs the feed's classification.type (such as blacklist, c2-server, phishing, scanner), since a plain list does not say what its entries are")
	}
	if f.Field == "" {
		return
	}
	if f.Format != "list" {
		v.errorf(p+".field", "set, but format is %q; field applies only to format list", f.Format)
		return
	}
	if !slices.Contains(listFields, f.Field) {
		v.errorf(p+".field", "%q cannot be the field of a list; use one of %s, or leave it out to detect it per line%s", f.Field, strings.Join(listFields, ", "), didYouMean(f.Field, listFields))
	}
}

// csv checks the settings of format csv.
func (v *validator) csv(f *feed.Feed, p string) {
	cp := p + ".csv"
	if f.Format != "csv" {
		if !reflect.ValueOf(f.CSV).IsZero() {
			v.errorf(cp, "set, but format is %q; csv settings apply only to format csv", f.Format)
		}
		return
	}
	c := &f.CSV
	if f.Classification.Type == "" && !mapsTo(c, "classification.type") {
		v.errorf(p+".classification.type", "missing, and no csv.columns entry maps a column to classification.type; format csv needs one or the other")
	}
	delim := ','
	switch {
	case c.Delimiter == "" || c.Delimiter == "tab":
		if c.Delimiter == "tab" {
			delim = '\t'
		}
	case !oneChar(c.Delimiter) || strings.ContainsAny(c.Delimiter, "\"\r\n"):
		v.errorf(cp+".delimiter", "%q is not one character (other than a quote or a line break); use e.g. \",\", \";\", \"|\" or tab", c.Delimiter)
	default:
		delim, _ = utf8.DecodeRuneInString(c.Delimiter)
	}
	if c.Comment != "" {
		r, _ := utf8.DecodeRuneInString(c.Comment)
		switch {
		case !oneChar(c.Comment) || strings.ContainsAny(c.Comment, "\"\r\n"):
			v.errorf(cp+".comment", "%q is not one character (other than a quote or a line break); use e.g. \"#\"", c.Comment)
		case r == delim:
			v.errorf(cp+".comment", "%q is also csv.delimiter%s; they must differ", c.Comment, v.onLine(cp+".delimiter"))
		}
	}
	if c.SkipLines < 0 {
		v.errorf(cp+".skip_lines", "%d is negative; give how many lines to skip, 0 or more", c.SkipLines)
	}
	if c.TimeFormat != "" {
		ref := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		if ref.Format(c.TimeFormat) == c.TimeFormat {
			v.errorf(cp+".time_format", "%q has no date or time element; write a Go time layout such as \"2006-01-02 15:04:05\"", c.TimeFormat)
		}
	}
	v.columns(c, cp)
}

// columns checks a CSV column mapping.
func (v *validator) columns(c *feed.CSV, cp string) {
	if len(c.Columns) == 0 {
		v.errorf(cp+".columns", "missing; map at least one column (its header name, or its number from 1) to a field, such as  ip: source.ip")
		return
	}
	target := map[string]string{} // field -> column that maps to it
	for _, col := range v.sortedKeys(c.Columns, cp+".columns") {
		k := cp + ".columns" + keySegment(col)
		name := c.Columns[col]
		n, numErr := strconv.Atoi(col)
		switch {
		case strings.TrimSpace(col) == "":
			v.errorf(k, "a column needs a name or number")
		case numErr == nil && n < 1:
			v.errorf(k, "column numbers start at 1")
		case numErr != nil && !c.Header:
			v.errorf(k, "names a column by its header, but csv.header is false%s; use the column's number (1, 2, ...) or set header: true", v.onLine(cp+".header"))
		}
		if msg := checkField(name); msg != "" {
			v.errorf(k, "%s", msg)
			continue
		}
		if other, dup := target[name]; dup && !strings.HasPrefix(name, "extra.") {
			v.errorf(k, "maps to %s, as column %q does%s; map each field from one column", name, other, v.onLine(cp+".columns"+keySegment(other)))
			continue
		}
		target[name] = col
	}
}

// dedup checks a feed's deduplication settings.
func (v *validator) dedup(f *feed.Feed, p string) {
	dp := p + ".dedup"
	seen := map[string]int{}
	for i, name := range f.Dedup.Fields {
		k := fmt.Sprintf("%s.fields[%d]", dp, i)
		if msg := checkField(name); msg != "" {
			v.errorf(k, "%s", msg)
			continue
		}
		if j, dup := seen[name]; dup {
			v.errorf(k, "%s is listed twice (also dedup.fields[%d])", name, j)
			continue
		}
		seen[name] = i
	}
	if w := f.Dedup.Window; (w != 0 || v.inFile(dp+".window")) && w < time.Minute {
		v.errorf(dp+".window", "%s is too short; use at least 1m (default %s)", fmtDuration(w), fmtDuration(feed.DefaultWindow))
	}
}

// constant checks the fields a feed sets on every event.
func (v *validator) constant(f *feed.Feed, p string) {
	cp := p + ".constant"
	for _, name := range v.sortedKeys(f.Constant, cp) {
		k := cp + keySegment(name)
		if key, ok := dedicatedKeys[name]; ok {
			v.errorf(k, "sets %s, which the feed's own key %s sets; use %s: instead", name, key, key)
			continue
		}
		if msg := checkField(name); msg != "" {
			v.errorf(k, "%s", msg)
			continue
		}
		val := f.Constant[name]
		if val == "" {
			v.errorf(k, "empty value; give a value or remove the entry")
			continue
		}
		var scratch event.Event
		if err := scratch.Set(name, val); err != nil {
			v.errorf(k, "%s", strings.TrimPrefix(err.Error(), name+": "))
		}
	}
}

// sortedKeys returns the keys of m in file order (then by name).
func (v *validator) sortedKeys(m map[string]string, path string) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(v.lineOf(path+keySegment(a)), v.lineOf(path+keySegment(b))), strings.Compare(a, b))
	})
	return keys
}

// checkField returns what is wrong with an event field name, or "".
func checkField(name string) string {
	if rest, ok := strings.CutPrefix(name, "extra."); ok {
		if rest == "" {
			return `"extra." needs a name after the dot, such as extra.tag`
		}
		return ""
	}
	if event.Lookup(name) != nil {
		return ""
	}
	if name == "" {
		return "no field named; give an IntelMQ field name such as source.ip, or extra.NAME"
	}
	return fmt.Sprintf("%q is not a field of the IntelMQ harmonisation; use extra.%s for anything else%s", name, name, didYouMean(name, eventFieldNames()))
}

func eventFieldNames() []string {
	names := make([]string, len(event.Fields))
	for i, f := range event.Fields {
		names[i] = f.Name
	}
	return names
}

func oneChar(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	return size == len(s) && r != utf8.RuneError
}

// mapsTo reports whether a CSV column maps to the field called name.
func mapsTo(c *feed.CSV, name string) bool {
	for _, f := range c.Columns {
		if f == name {
			return true
		}
	}
	return false
}
