package event

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the type of a harmonisation field, which decides how a value is
// parsed, normalised and written.
type Kind uint8

// The field kinds, after IntelMQ's harmonisation types.
const (
	KindString   Kind = iota // any text
	KindLower                // text, lower-cased
	KindUpper                // text, upper-cased
	KindCC                   // ISO 3166-1 alpha-2 country code
	KindFQDN                 // host name: lower-cased, final dot stripped
	KindURL                  // absolute URL; "http://" is added when the scheme is missing
	KindIP                   // IPv4 or IPv6 address
	KindNetwork              // CIDR prefix
	KindInt                  // integer
	KindFloat                // floating-point number
	KindBool                 // true or false
	KindTime                 // date and time, stored in UTC
	KindBase64               // bytes, base64 in JSON
	KindTLP                  // traffic light protocol level
	KindTaxonomy             // classification.taxonomy
	KindType                 // classification.type
)

// MaxFieldLen bounds every text value; longer values are refused rather than
// stored, so a hostile feed cannot blow up a row.
const MaxFieldLen = 64 << 10

// Field is one harmonisation field with its accessors.
type Field struct {
	Name string
	Kind Kind
	// set parses s, validates it and stores it in e.
	set func(e *Event, s string) error
	// get returns the value in its JSON form and whether it is present.
	get func(e *Event) (any, bool)
	// appendText appends the value as text (GetString's form), if present.
	appendText func(e *Event, dst []byte) ([]byte, bool)
	// appendJSON appends the value as JSON, if present.
	appendJSON func(e *Event, dst []byte) ([]byte, bool)
	// appendBin appends the value in the binary encoding, if present.
	appendBin func(e *Event, dst []byte) ([]byte, bool)
	// readBin reads a value written by appendBin from the front of b.
	readBin func(e *Event, b []byte) ([]byte, error)
	// zero unsets the field.
	zero func(e *Event)
	// code is the field's permanent number in the binary encoding.
	code uint64
}

// Fields lists every field in the order events are written.
var Fields []*Field

var fieldByName map[string]*Field

// Lookup returns the field called name, or nil. Names under "extra." are not
// fields; they go to Event.Extra.
func Lookup(name string) *Field { return fieldByName[name] }

// Set parses the text value s for the field called name and stores it.
// A name under "extra." stores s as a string in Extra. An empty s clears
// nothing and is not an error: absent values stay absent.
func (e *Event) Set(name, s string) error {
	if k, ok := strings.CutPrefix(name, "extra."); ok && k != "" {
		if len(s) > MaxFieldLen {
			return fmt.Errorf("%s: value is %d bytes, more than %d", name, len(s), MaxFieldLen)
		}
		e.SetExtra(k, validUTF8(s))
		return nil
	}
	f := fieldByName[name]
	if f == nil {
		return fmt.Errorf("%q is not a field of the IntelMQ harmonisation (use extra.%s for anything else)", name, name)
	}
	if s == "" {
		return nil
	}
	if err := f.set(e, s); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// SetValue stores a JSON value (string, json.Number, float64, bool, nil or
// nested) for the field called name, as read from IntelMQ JSON.
func (e *Event) SetValue(name string, v any) error {
	if k, ok := strings.CutPrefix(name, "extra."); ok && k != "" {
		e.SetExtra(k, normJSON(v))
		return nil
	}
	if name == "extra" {
		// IntelMQ's hierarchical form nests extra as an object.
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("extra: want a JSON object, got %T", v)
		}
		for k, x := range m {
			e.SetExtra(k, normJSON(x))
		}
		return nil
	}
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return e.Set(name, x)
	case json.Number:
		return e.Set(name, x.String())
	case float64:
		return e.Set(name, strconv.FormatFloat(x, 'f', -1, 64))
	case bool:
		return e.Set(name, strconv.FormatBool(x))
	default:
		if fieldByName[name] == nil {
			return e.Set(name, "")
		}
		return fmt.Errorf("%s: want a JSON string, number or boolean, got %T", name, v)
	}
}

// Get returns the JSON form of the field called name and whether it is set.
func (e *Event) Get(name string) (any, bool) {
	if k, ok := strings.CutPrefix(name, "extra."); ok {
		v, ok := e.Extra[k]
		return v, ok
	}
	f := fieldByName[name]
	if f == nil {
		return nil, false
	}
	return f.get(e)
}

// GetString returns the field called name as text ("" when unset), in the
// same form JSON output uses for it.
func (e *Event) GetString(name string) string {
	v, ok := e.Get(name)
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func normJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case []any:
		for i := range x {
			x[i] = normJSON(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = normJSON(x[k])
		}
		return x
	case string:
		return validUTF8(x)
	default:
		return v
	}
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Parsers of single values, shared by the field kinds and by parsers that
// need them directly.

// ParseIP parses an IPv4 or IPv6 address, unmapping IPv4-in-IPv6 and
// refusing zones.
func ParseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has an IPv6 zone, which is meaningless outside one host", s)
	}
	return a.Unmap(), nil
}

// ParseNetwork parses a CIDR prefix (a bare address is its own /32 or /128)
// and masks it to its network address.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := ParseIP(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network in CIDR form", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a network in CIDR form", s)
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%q is not a network in CIDR form", s)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// timeLayouts are the forms feeds write times in, most common first. A
// layout without a zone is read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05Z0700",
	"2006-01-02 15:04:05Z07",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04",
	"2006-01-02",
	time.RFC1123,
	time.RFC1123Z,
	time.RFC850,
	time.ANSIC,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"02/01/2006 15:04:05",
	"20060102T150405Z",
}

// ParseTime parses a date and time in any of the forms feeds use, or a Unix
// time in seconds or milliseconds, and returns it in UTC. A time without a
// zone is taken to be UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if t, ok := parseFastTime(s); ok {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case n > 1e11 && n < 1e14: // milliseconds
			return time.UnixMilli(n).UTC(), nil
		case n >= 0 && n <= 1e11:
			return time.Unix(n, 0).UTC(), nil
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time this program can read (use RFC 3339, e.g. 2026-01-31T12:00:00Z)", s)
}

// parseFastTime reads "2006-01-02 15:04:05" and "2006-01-02T15:04:05Z" and
// "...+00:00" without the layout machinery: they are most rows of most feeds.
func parseFastTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	rest := s[19:]
	if rest != "" && rest != "Z" && rest != "+00:00" && rest != "+00" && rest != " UTC" && rest != "+0000" {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if t.Day() != d { // 31 February and friends
		return time.Time{}, false
	}
	return t, true
}

// ParseBool reads the ways feeds write a truth value.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "yes", "y", "1":
		return true, nil
	case "false", "f", "no", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a truth value (true/false, yes/no, y/n, 1/0)", s)
}

// NormFQDN lower-cases a host name and strips its final dot; it refuses
// text that cannot be a DNS name.
func NormFQDN(s string) (string, error) {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if s == "" || len(s) > 255 {
		return "", fmt.Errorf("%q is not a host name", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '/' || c == '\\' || c == '"' || c == '<' || c == '>' || c == 0x7f {
			return "", fmt.Errorf("%q is not a host name", s)
		}
	}
	if strings.Contains(s, "..") || s[0] == '.' || s[len(s)-1] == '.' {
		return "", fmt.Errorf("%q is not a host name (empty label)", s)
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", fmt.Errorf("%q is an IP address, not a host name", s)
	}
	return validUTF8(s), nil
}

// NormURL checks that s is an absolute URL with a host, adding "http://"
// when the feed left the scheme out, as IntelMQ does.
func NormURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty URL")
	}
	if !hasScheme(s) {
		s = "http://" + s
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return "", fmt.Errorf("%q is not a URL: it has control characters", s)
		}
	}
	// Only the scheme and the authority must parse: phishing and malware
	// URLs are often malformed after the host (a stray %), and such a URL
	// is still the evidence.
	scheme, rest, _ := strings.Cut(s, "://")
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	u, err := url.Parse(scheme + "://" + authority)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%q is not an absolute URL with a host", s)
	}
	return validUTF8(s), nil
}

// hasScheme reports whether s starts with "scheme://", a scheme being a
// letter followed by letters, digits, '+', '-' or '.'.
func hasScheme(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// NormTLP returns the canonical (IntelMQ, upper-case) form of a TLP level;
// TLP 2.0's CLEAR is WHITE.
func NormTLP(s string) (string, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "TLP:")
	switch t {
	case "WHITE", "CLEAR":
		return "WHITE", nil
	case "GREEN", "AMBER", "AMBER+STRICT", "RED":
		return t, nil
	}
	return "", fmt.Errorf("%q is not a TLP level (clear, green, amber, amber+strict, red)", s)
}

func normText(kind Kind, s string) (string, error) {
	if len(s) > MaxFieldLen {
		return "", fmt.Errorf("value is %d bytes, more than %d", len(s), MaxFieldLen)
	}
	switch kind {
	case KindString:
		return validUTF8(s), nil
	case KindLower:
		return validUTF8(strings.ToLower(strings.TrimSpace(s))), nil
	case KindUpper:
		return validUTF8(strings.ToUpper(strings.TrimSpace(s))), nil
	case KindCC:
		s = strings.ToUpper(strings.TrimSpace(s))
		if len(s) != 2 || !isAlnum(s[0]) || !isAlnum(s[1]) {
			return "", fmt.Errorf("%q is not a two-letter country code", s)
		}
		return s, nil
	case KindFQDN:
		return NormFQDN(s)
	case KindURL:
		return NormURL(s)
	case KindTLP:
		return NormTLP(s)
	case KindTaxonomy:
		s = strings.ToLower(strings.TrimSpace(s))
		if _, ok := Taxonomies[s]; !ok {
			return "", fmt.Errorf("%q is not a taxonomy (one of abusive-content, malicious-code, information-gathering, intrusion-attempts, intrusions, availability, information-content-security, fraud, vulnerable, other, test)", s)
		}
		return s, nil
	case KindType:
		s = strings.ToLower(strings.TrimSpace(s))
		if TaxonomyOf(s) == "" {
			return "", fmt.Errorf("%q is not a classification type of the taxonomy", s)
		}
		return s, nil
	}
	return "", fmt.Errorf("internal: kind %d is not text", kind)
}

func isAlnum(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

// Constructors of registry entries, one per Go type.

func textField(name string, kind Kind, p func(*Event) *string) *Field {
	return &Field{Name: name, Kind: kind,
		set: func(e *Event, s string) error {
			v, err := normText(kind, s)
			if err != nil {
				return err
			}
			*p(e) = v
			return nil
		},
		get: func(e *Event) (any, bool) { v := *p(e); return v, v != "" },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			return append(dst, v...), v != ""
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if v == "" {
				return dst, false
			}
			return AppendJSONString(dst, v), true
		},
		zero: func(e *Event) { *p(e) = "" },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if v == "" {
				return dst, false
			}
			return appendBinString(dst, v), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			v, rest, err := readBinString(b)
			*p(e) = v
			return rest, err
		},
	}
}

func ipField(name string, p func(*Event) *netip.Addr) *Field {
	return &Field{Name: name, Kind: KindIP,
		set: func(e *Event, s string) error {
			a, err := ParseIP(s)
			if err != nil {
				return err
			}
			*p(e) = a
			return nil
		},
		get: func(e *Event) (any, bool) { a := *p(e); return a.String(), a.IsValid() },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			a := *p(e)
			if !a.IsValid() {
				return dst, false
			}
			return a.AppendTo(dst), true
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			a := *p(e)
			if !a.IsValid() {
				return dst, false
			}
			dst = append(dst, '"')
			dst = a.AppendTo(dst)
			return append(dst, '"'), true
		},
		zero: func(e *Event) { *p(e) = netip.Addr{} },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			a := *p(e)
			if !a.IsValid() {
				return dst, false
			}
			return appendBinAddr(dst, a), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			a, rest, err := readBinAddr(b)
			*p(e) = a
			return rest, err
		},
	}
}

func networkField(name string, p func(*Event) *netip.Prefix) *Field {
	return &Field{Name: name, Kind: KindNetwork,
		set: func(e *Event, s string) error {
			n, err := ParseNetwork(s)
			if err != nil {
				return err
			}
			*p(e) = n
			return nil
		},
		get: func(e *Event) (any, bool) { n := *p(e); return n.String(), n.IsValid() },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			n := *p(e)
			if !n.IsValid() {
				return dst, false
			}
			return n.AppendTo(dst), true
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			n := *p(e)
			if !n.IsValid() {
				return dst, false
			}
			dst = append(dst, '"')
			dst = n.AppendTo(dst)
			return append(dst, '"'), true
		},
		zero: func(e *Event) { *p(e) = netip.Prefix{} },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			n := *p(e)
			if !n.IsValid() {
				return dst, false
			}
			return appendBinAddr(append(dst, byte(n.Bits())), n.Addr()), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			if len(b) < 1 {
				return nil, errShort
			}
			bits := int(b[0])
			a, rest, err := readBinAddr(b[1:])
			if err != nil {
				return nil, err
			}
			n := netip.PrefixFrom(a, bits)
			if !n.IsValid() {
				return nil, fmt.Errorf("bad prefix length %d", bits)
			}
			*p(e) = n
			return rest, nil
		},
	}
}

func timeField(name string, p func(*Event) *time.Time) *Field {
	return &Field{Name: name, Kind: KindTime,
		set: func(e *Event, s string) error {
			t, err := ParseTime(s)
			if err != nil {
				return err
			}
			*p(e) = t
			return nil
		},
		get: func(e *Event) (any, bool) { t := *p(e); return FormatTime(t), !t.IsZero() },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			t := *p(e)
			if t.IsZero() {
				return dst, false
			}
			return AppendTime(dst, t), true
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			t := *p(e)
			if t.IsZero() {
				return dst, false
			}
			dst = append(dst, '"')
			dst = AppendTime(dst, t)
			return append(dst, '"'), true
		},
		zero: func(e *Event) { *p(e) = time.Time{} },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			t := *p(e)
			if t.IsZero() {
				return dst, false
			}
			dst = binary.AppendVarint(dst, t.Unix())
			return binary.AppendUvarint(dst, uint64(t.Nanosecond())), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			sec, n := binary.Varint(b)
			if n <= 0 {
				return nil, errShort
			}
			ns, m := binary.Uvarint(b[n:])
			if m <= 0 || ns >= 1e9 {
				return nil, errShort
			}
			*p(e) = time.Unix(sec, int64(ns)).UTC()
			return b[n+m:], nil
		},
	}
}

// FormatTime writes t as IntelMQ does: ISO 8601 in UTC with "+00:00",
// microseconds only when there are any.
func FormatTime(t time.Time) string { return string(AppendTime(nil, t)) }

// AppendTime appends FormatTime(t) to dst.
func AppendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.000000+00:00")
	}
	return t.AppendFormat(dst, "2006-01-02T15:04:05+00:00")
}

type integer interface{ ~uint16 | ~uint32 | ~int64 }

func intField[T integer](name string, lo, hi int64, p func(*Event) *Opt[T]) *Field {
	return &Field{Name: name, Kind: KindInt,
		set: func(e *Event, s string) error {
			n, err := parseInt(s, lo, hi)
			if err != nil {
				return err
			}
			*p(e) = Some(T(n))
			return nil
		},
		get: func(e *Event) (any, bool) { v := *p(e); return int64(v.V), v.Set },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			return strconv.AppendInt(dst, int64(v.V), 10), true
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			return strconv.AppendInt(dst, int64(v.V), 10), true
		},
		zero: func(e *Event) { *p(e) = Opt[T]{} },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			return binary.AppendVarint(dst, int64(v.V)), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			n, m := binary.Varint(b)
			if m <= 0 || n < lo || n > hi {
				return nil, errShort
			}
			*p(e) = Some(T(n))
			return b[m:], nil
		},
	}
}

// asnField is an integer field whose zero means absent.
func asnField(name string, p func(*Event) *uint32) *Field {
	return &Field{Name: name, Kind: KindInt,
		set: func(e *Event, s string) error {
			n, err := parseASN(s)
			if err != nil {
				return err
			}
			*p(e) = n
			return nil
		},
		get: func(e *Event) (any, bool) { v := *p(e); return int64(v), v != 0 },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if v == 0 {
				return dst, false
			}
			return strconv.AppendUint(dst, uint64(v), 10), true
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if v == 0 {
				return dst, false
			}
			return strconv.AppendUint(dst, uint64(v), 10), true
		},
		zero: func(e *Event) { *p(e) = 0 },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if v == 0 {
				return dst, false
			}
			return binary.AppendUvarint(dst, uint64(v)), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			n, m := binary.Uvarint(b)
			if m <= 0 || n > math.MaxUint32 {
				return nil, errShort
			}
			*p(e) = uint32(n)
			return b[m:], nil
		},
	}
}

// parseASN reads "64500", "AS64500" or "as64500".
func parseASN(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && (t[0] == 'A' || t[0] == 'a') && (t[1] == 'S' || t[1] == 's') {
		t = t[2:]
	}
	n, err := parseInt(t, 0, math.MaxUint32)
	if err != nil {
		return 0, fmt.Errorf("%q is not an AS number", s)
	}
	return uint32(n), nil
}

// ParseASN reads "64500", "AS64500" or "as64500".
func ParseASN(s string) (uint32, error) { return parseASN(s) }

func parseInt(s string, lo, hi int64) (int64, error) {
	t := strings.TrimSpace(s)
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		// "443.0" is how some exports write integers.
		f, ferr := strconv.ParseFloat(t, 64)
		if ferr != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not an integer", s)
		}
		n = int64(f)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is outside %d-%d", n, lo, hi)
	}
	return n, nil
}

func floatField(name string, lo, hi float64, p func(*Event) *Opt[float64]) *Field {
	return &Field{Name: name, Kind: KindFloat,
		set: func(e *Event, s string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%q is not a number", s)
			}
			if f < lo || f > hi {
				return fmt.Errorf("%v is outside %v-%v", f, lo, hi)
			}
			*p(e) = Some(f)
			return nil
		},
		get: func(e *Event) (any, bool) { v := *p(e); return v.V, v.Set },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			return strconv.AppendFloat(dst, v.V, 'f', -1, 64), true
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			return strconv.AppendFloat(dst, v.V, 'f', -1, 64), true
		},
		zero: func(e *Event) { *p(e) = Opt[float64]{} },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.V)), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			if len(b) < 8 {
				return nil, errShort
			}
			f := math.Float64frombits(binary.LittleEndian.Uint64(b))
			if math.IsNaN(f) || f < lo || f > hi {
				return nil, fmt.Errorf("bad number %v", f)
			}
			*p(e) = Some(f)
			return b[8:], nil
		},
	}
}

func boolField(name string, p func(*Event) *Opt[bool]) *Field {
	return &Field{Name: name, Kind: KindBool,
		set: func(e *Event, s string) error {
			b, err := ParseBool(s)
			if err != nil {
				return err
			}
			*p(e) = Some(b)
			return nil
		},
		get: func(e *Event) (any, bool) { v := *p(e); return v.V, v.Set },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			return strconv.AppendBool(dst, v.V), true
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			return strconv.AppendBool(dst, v.V), true
		},
		zero: func(e *Event) { *p(e) = Opt[bool]{} },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			v := *p(e)
			if !v.Set {
				return dst, false
			}
			if v.V {
				return append(dst, 1), true
			}
			return append(dst, 0), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			if len(b) < 1 || b[0] > 1 {
				return nil, errShort
			}
			*p(e) = Some(b[0] == 1)
			return b[1:], nil
		},
	}
}

func rawField() *Field {
	return &Field{Name: "raw", Kind: KindBase64,
		set: func(e *Event, s string) error {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("not base64: %v", err)
			}
			e.Raw = b
			return nil
		},
		get: func(e *Event) (any, bool) { return base64.StdEncoding.EncodeToString(e.Raw), len(e.Raw) > 0 },
		appendText: func(e *Event, dst []byte) ([]byte, bool) {
			if len(e.Raw) == 0 {
				return dst, false
			}
			return base64.StdEncoding.AppendEncode(dst, e.Raw), true
		},
		appendJSON: func(e *Event, dst []byte) ([]byte, bool) {
			if len(e.Raw) == 0 {
				return dst, false
			}
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, e.Raw)
			return append(dst, '"'), true
		},
		zero: func(e *Event) { e.Raw = e.Raw[:0] },
		appendBin: func(e *Event, dst []byte) ([]byte, bool) {
			if len(e.Raw) == 0 {
				return dst, false
			}
			dst = binary.AppendUvarint(dst, uint64(len(e.Raw)))
			return append(dst, e.Raw...), true
		},
		readBin: func(e *Event, b []byte) ([]byte, error) {
			v, rest, err := readBinBytes(b)
			e.Raw = append(e.Raw[:0], v...)
			return rest, err
		},
	}
}

func endpointFields(prefix string, p func(*Event) *Endpoint) []*Field {
	s := func(name string, kind Kind, q func(*Endpoint) *string) *Field {
		return textField(prefix+name, kind, func(e *Event) *string { return q(p(e)) })
	}
	g := func(e *Event) *Geolocation { return &p(e).Geolocation }
	gs := func(name string, kind Kind, q func(*Geolocation) *string) *Field {
		return textField(prefix+"geolocation."+name, kind, func(e *Event) *string { return q(g(e)) })
	}
	return []*Field{
		s("abuse_contact", KindLower, func(x *Endpoint) *string { return &x.AbuseContact }),
		s("account", KindString, func(x *Endpoint) *string { return &x.Account }),
		timeField(prefix+"allocated", func(e *Event) *time.Time { return &p(e).Allocated }),
		s("as_name", KindString, func(x *Endpoint) *string { return &x.ASName }),
		asnField(prefix+"asn", func(e *Event) *uint32 { return &p(e).ASN }),
		s("domain_suffix", KindFQDN, func(x *Endpoint) *string { return &x.DomainSuffix }),
		s("fqdn", KindFQDN, func(x *Endpoint) *string { return &x.FQDN }),
		gs("cc", KindCC, func(x *Geolocation) *string { return &x.CC }),
		gs("city", KindString, func(x *Geolocation) *string { return &x.City }),
		gs("country", KindString, func(x *Geolocation) *string { return &x.Country }),
		gs("cymru_cc", KindCC, func(x *Geolocation) *string { return &x.CymruCC }),
		gs("geoip_cc", KindCC, func(x *Geolocation) *string { return &x.GeoIPCC }),
		floatField(prefix+"geolocation.latitude", -90, 90, func(e *Event) *Opt[float64] { return &g(e).Latitude }),
		floatField(prefix+"geolocation.longitude", -180, 180, func(e *Event) *Opt[float64] { return &g(e).Longitude }),
		gs("region", KindString, func(x *Geolocation) *string { return &x.Region }),
		gs("state", KindString, func(x *Geolocation) *string { return &x.State }),
		ipField(prefix+"ip", func(e *Event) *netip.Addr { return &p(e).IP }),
		s("local_hostname", KindString, func(x *Endpoint) *string { return &x.LocalHostname }),
		ipField(prefix+"local_ip", func(e *Event) *netip.Addr { return &p(e).LocalIP }),
		networkField(prefix+"network", func(e *Event) *netip.Prefix { return &p(e).Network }),
		intField(prefix+"port", 0, 65535, func(e *Event) *Opt[uint16] { return &p(e).Port }),
		s("registry", KindUpper, func(x *Endpoint) *string { return &x.Registry }),
		s("reverse_dns", KindFQDN, func(x *Endpoint) *string { return &x.ReverseDNS }),
		boolField(prefix+"tor_node", func(e *Event) *Opt[bool] { return &p(e).TorNode }),
		s("url", KindURL, func(x *Endpoint) *string { return &x.URL }),
		s("urlpath", KindString, func(x *Endpoint) *string { return &x.URLPath }),
	}
}

func init() {
	str := textField
	Fields = []*Field{
		str("classification.identifier", KindString, func(e *Event) *string { return &e.Classification.Identifier }),
		str("classification.taxonomy", KindTaxonomy, func(e *Event) *string { return &e.Classification.Taxonomy }),
		str("classification.type", KindType, func(e *Event) *string { return &e.Classification.Type }),
		str("comment", KindString, func(e *Event) *string { return &e.Comment }),
	}
	Fields = append(Fields, endpointFields("destination.", func(e *Event) *Endpoint { return &e.Destination })...)
	Fields = append(Fields,
		str("event_description.target", KindString, func(e *Event) *string { return &e.EventDescription.Target }),
		str("event_description.text", KindString, func(e *Event) *string { return &e.EventDescription.Text }),
		str("event_description.url", KindURL, func(e *Event) *string { return &e.EventDescription.URL }),
		str("event_hash", KindUpper, func(e *Event) *string { return &e.EventHash }),
		floatField("feed.accuracy", 0, 100, func(e *Event) *Opt[float64] { return &e.Feed.Accuracy }),
		str("feed.code", KindString, func(e *Event) *string { return &e.Feed.Code }),
		str("feed.documentation", KindString, func(e *Event) *string { return &e.Feed.Documentation }),
		str("feed.name", KindString, func(e *Event) *string { return &e.Feed.Name }),
		str("feed.provider", KindString, func(e *Event) *string { return &e.Feed.Provider }),
		str("feed.url", KindURL, func(e *Event) *string { return &e.Feed.URL }),
		str("malware.hash.md5", KindString, func(e *Event) *string { return &e.Malware.MD5 }),
		str("malware.hash.sha1", KindString, func(e *Event) *string { return &e.Malware.SHA1 }),
		str("malware.hash.sha256", KindString, func(e *Event) *string { return &e.Malware.SHA256 }),
		str("malware.name", KindLower, func(e *Event) *string { return &e.Malware.Name }),
		str("malware.version", KindString, func(e *Event) *string { return &e.Malware.Version }),
		str("misp.attribute_uuid", KindLower, func(e *Event) *string { return &e.MISPAttrUUID }),
		str("misp.event_uuid", KindLower, func(e *Event) *string { return &e.MISPEventUUID }),
		str("product.full_name", KindString, func(e *Event) *string { return &e.Product.FullName }),
		str("product.name", KindString, func(e *Event) *string { return &e.Product.Name }),
		str("product.vendor", KindString, func(e *Event) *string { return &e.Product.Vendor }),
		str("product.version", KindString, func(e *Event) *string { return &e.Product.Version }),
		str("product.vulnerabilities", KindLower, func(e *Event) *string { return &e.Product.Vulnerabilities }),
		str("protocol.application", KindLower, func(e *Event) *string { return &e.Protocol.Application }),
		str("protocol.transport", KindLower, func(e *Event) *string { return &e.Protocol.Transport }),
		rawField(),
		intField("rtir_id", 0, math.MaxInt64, func(e *Event) *Opt[int64] { return &e.RTIRID }),
		str("screenshot_url", KindURL, func(e *Event) *string { return &e.ScreenshotURL }),
		str("severity", KindLower, func(e *Event) *string { return &e.Severity }),
	)
	Fields = append(Fields, endpointFields("source.", func(e *Event) *Endpoint { return &e.Source })...)
	Fields = append(Fields,
		str("status", KindString, func(e *Event) *string { return &e.Status }),
		timeField("time.observation", func(e *Event) *time.Time { return &e.TimeObservation }),
		timeField("time.source", func(e *Event) *time.Time { return &e.TimeSource }),
		str("tlp", KindTLP, func(e *Event) *string { return &e.TLP }),
	)
	fieldByName = make(map[string]*Field, len(Fields))
	for _, f := range Fields {
		if fieldByName[f.Name] != nil {
			panic("event: field registered twice: " + f.Name)
		}
		fieldByName[f.Name] = f
	}
	assignCodes()
}

// Set parses s, validates it and stores it in e, as Event.Set does for the
// field's name but without looking the field up: parsers that map columns
// to fields once per report call it per cell.
func (f *Field) Set(e *Event, s string) error {
	if s == "" {
		return nil
	}
	if err := f.set(e, s); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return nil
}

// AppendValue appends the field's value of e in its JSON form and reports
// whether it is set. It does not allocate; the ingest pipeline hashes
// deduplication keys with it.
func (f *Field) AppendValue(e *Event, dst []byte) ([]byte, bool) { return f.appendJSON(e, dst) }

// AppendText appends the field's value of e as text, in the form
// Event.GetString returns it (the JSON form without quotes), and reports
// whether it is set; when it is not, dst comes back unchanged. It does not
// allocate beyond growing dst: writers that resolve their columns to
// fields once call it per cell.
func (f *Field) AppendText(e *Event, dst []byte) ([]byte, bool) { return f.appendText(e, dst) }
