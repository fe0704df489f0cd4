// Package domain knows where the registrable part of a domain name
// begins, from the Public Suffix List (https://publicsuffix.org/): the
// public suffix of "www.example.co.uk" is "co.uk" and its registrable
// domain (eTLD+1) is "example.co.uk". Events are attributed to the owner
// of the registrable domain, and constituents register domains at that
// level.
//
// Names may be given in Unicode or in ASCII ("xn--" Punycode) form, in
// any case and with or without a final dot; results are lower case and in
// the form the name was given in, label by label. ToASCII and ToUnicode
// convert between the forms.
package domain

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Errors of RegistrableDomain, ToASCII and ToUnicode, for errors.Is.
var (
	ErrInvalid      = errors.New("not a valid domain name")
	ErrIPAddress    = errors.New("an IP address has no registrable domain")
	ErrPublicSuffix = errors.New("a public suffix has no registrable domain")
	// ErrRule is a malformed rule in a Public Suffix List file.
	ErrRule = errors.New("invalid public suffix rule")
)

// List is a parsed Public Suffix List. It is safe for concurrent use and
// never changes after Parse.
//
// Every rule and every suffix of a rule ("co.uk" and "uk" of
// "*.sch.uk", say) is a key of one map, whose value says which rules the
// name carries (none for a mere suffix). A lookup tries the name's
// suffixes from the shortest, one map access per label, and stops at the
// first that is not a key; it does not allocate. Names with characters
// outside ASCII are keyed both in Unicode and in "xn--" form; a name that
// mixes both forms is converted to ASCII first.
type List struct {
	names map[string]uint8
	rules int
	icann int
}

// Node flags: which rules a node's name carries.
const (
	flagRule           uint8 = 1 << iota // "name"
	flagRuleICANN                        // ... in the ICANN section
	flagWildcard                         // "*.name"
	flagWildcardICANN                    //
	flagException                        // "!name"
	flagExceptionICANN                   //
)

//go:embed public_suffix_list.dat
var embeddedList []byte

var embedded = sync.OnceValue(func() *List {
	l, err := Parse(bytes.NewReader(embeddedList))
	if err != nil {
		panic("domain: embedded public suffix list: " + err.Error()) // the tests parse it
	}
	return l
})

// Embedded returns the Public Suffix List compiled into the binary (see
// README.md beside this file for its origin and date). It is parsed on
// the first call, in a few milliseconds, and shared by every caller.
func Embedded() *List { return embedded() }

// Len returns the number of rules in the list and how many of them are in
// its ICANN section.
func (l *List) Len() (rules, icann int) { return l.rules, l.icann }

// Parse reads a list in the format of public_suffix_list.dat: one rule per
// line, read up to the first white space; "//" starts a comment line;
// "*." as the leftmost label is a wildcard and a leading "!" an
// exception; rules between "===BEGIN ICANN DOMAINS===" and "===END ICANN
// DOMAINS===" are ICANN rules, all others (the PRIVATE section and any
// outside a section) are private. Rules may be in Unicode or in "xn--"
// form and in any case. A malformed rule is an error that names its line.
func Parse(r io.Reader) (*List, error) {
	l := &List{names: make(map[string]uint8, 16384)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	icann := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "//") {
			switch {
			case strings.Contains(line, "===BEGIN ICANN DOMAINS==="):
				icann = true
			case strings.Contains(line, "===END ICANN DOMAINS==="):
				icann = false
			}
			continue
		}
		if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
			line = line[:i]
		}
		if line == "" {
			continue
		}
		if err := l.add(line, icann); err != nil {
			return nil, fmt.Errorf("public suffix list line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read public suffix list: %w", err)
	}
	return l, nil
}

// add inserts one rule.
func (l *List) add(rule string, icann bool) error {
	name := rule
	flag, icannFlag := flagRule, flagRuleICANN
	switch {
	case strings.HasPrefix(name, "!"):
		name = name[1:]
		flag, icannFlag = flagException, flagExceptionICANN
		if !strings.Contains(name, ".") {
			return fmt.Errorf("%q: an exception needs at least two labels: %w", rule, ErrRule)
		}
	case strings.HasPrefix(name, "*."):
		name = name[2:]
		flag, icannFlag = flagWildcard, flagWildcardICANN
	}
	s, ok := normalize(name)
	if !ok {
		return fmt.Errorf("%q: %w", rule, ErrRule)
	}
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return fmt.Errorf("%q: empty label: %w", rule, ErrRule)
	}
	ascii, err := toASCII(s)
	if err != nil {
		return fmt.Errorf("%q: %w: %w", rule, ErrRule, err)
	}
	uni, err := toUnicode(ascii)
	if err != nil {
		return fmt.Errorf("%q: %w: %w", rule, ErrRule, err)
	}
	if l.names[ascii]&flag == 0 {
		l.rules++
		if icann {
			l.icann++
		}
	}
	if icann {
		flag |= icannFlag
	}
	for _, form := range [2]string{ascii, uni} {
		l.names[form] |= flag
		for i := strings.IndexByte(form, '.'); i >= 0; i = strings.IndexByte(form, '.') {
			form = form[i+1:]
			l.names[form] |= 0 // a suffix: a key, carrying no rule of its own
		}
	}
	return nil
}

// PublicSuffix returns the public suffix of domain (its "effective TLD")
// and whether the rule that decided it is in the ICANN section of the
// list. A name that no rule matches has its last label as public suffix
// (the list's default rule "*") with icann false. The suffix is lower case
// and in the form domain was given in. A name that is empty, has an empty
// label, an IP address or a character no host name has returns "" and
// false.
//
// PublicSuffix does not allocate when domain is already lower case
// without a final dot.
func (l *List) PublicSuffix(domain string) (suffix string, icann bool) {
	s, ok := normalize(domain)
	if !ok || !wellFormed(s) {
		return "", false
	}
	start, icann := l.find(s)
	return s[start:], icann
}

// RegistrableDomain returns the registrable domain of domain (eTLD+1):
// its public suffix and the one label before it, lower case and in the
// form domain was given in. It returns an error wrapping ErrPublicSuffix
// when domain is itself a public suffix, ErrIPAddress for an IP address,
// and ErrInvalid for an empty name, an empty label or a character no host
// name has (letters, digits, "-", "_" and characters outside ASCII are
// allowed).
//
// RegistrableDomain does not allocate when domain is already lower case
// without a final dot and has a registrable domain.
func (l *List) RegistrableDomain(domain string) (string, error) {
	s, ok := normalize(domain)
	if !ok || !wellFormed(s) {
		return "", invalid(domain, s, ok)
	}
	start, _ := l.find(s)
	if start == 0 {
		return "", fmt.Errorf("registrable domain of %q: %w", domain, ErrPublicSuffix)
	}
	return s[strings.LastIndexByte(s[:start-1], '.')+1:], nil
}

// find returns where the public suffix of s begins and whether the
// prevailing rule is an ICANN one. s is normalised and well formed.
//
// The algorithm is the list's own: of the rules that match, an exception
// prevails, then the one with the most labels; with none, "*".
func (l *List) find(s string) (start int, icann bool) {
	if strings.Contains(s, acePrefix) && !isASCII(s) {
		return l.findMixed(s)
	}
	dot := strings.LastIndexByte(s, '.')
	start = dot + 1 // the default rule "*"
	end := len(s)   // s[dot+1:end] is the leftmost label of the suffix tried
	for {
		f, ok := l.names[s[dot+1:]]
		if !ok {
			return start, icann
		}
		if f&flagException != 0 {
			// The exception's name minus its leftmost label.
			return end + 1, f&flagExceptionICANN != 0
		}
		if f&flagRule != 0 {
			start, icann = dot+1, f&flagRuleICANN != 0
		}
		if dot < 0 {
			return start, icann
		}
		next := strings.LastIndexByte(s[:dot], '.')
		if f&flagWildcard != 0 {
			start, icann = next+1, f&flagWildcardICANN != 0
		}
		end, dot = dot, next
	}
}

// findMixed is find for a name with labels in Unicode and in "xn--" form:
// it looks up the ASCII form and counts the labels back.
func (l *List) findMixed(s string) (start int, icann bool) {
	ascii, err := toASCII(s)
	if err != nil {
		return strings.LastIndexByte(s, '.') + 1, false
	}
	a, icann := l.find(ascii)
	start = len(s)
	for n := strings.Count(ascii[a:], ".") + 1; n > 0; n-- {
		start = strings.LastIndexByte(s[:start-1], '.') + 1
	}
	return start, icann
}

// wellFormed reports whether a normalised name has no empty label and is
// not an IPv4 address (an all-digit last label).
func wellFormed(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return true
		}
	}
	return false
}

// invalid explains why a name was refused.
func invalid(domain, s string, normalized bool) error {
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(domain, "["), "]")); err == nil {
		return fmt.Errorf("registrable domain of %q: %s: %w", domain, a, ErrIPAddress)
	}
	switch {
	case !normalized:
		return fmt.Errorf("registrable domain of %q: a character no host name has: %w", domain, ErrInvalid)
	case s == "":
		return fmt.Errorf("registrable domain of %q: empty name: %w", domain, ErrInvalid)
	case s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, ".."):
		return fmt.Errorf("registrable domain of %q: empty label: %w", domain, ErrInvalid)
	}
	return fmt.Errorf("registrable domain of %q: all-digit top-level label: %w", domain, ErrInvalid)
}

// normalize returns domain lower case, without one final dot and with the
// ideographic full stops mapped to ".". It reports false for a character
// no host name has: ASCII other than letters, digits, "-", "_" and ".";
// invalid UTF-8; Unicode white space and control characters. It allocates
// only when something has to change.
func normalize(domain string) (string, bool) {
	change := false
	for i := 0; i < len(domain); {
		c := domain[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
			i++
		case 'A' <= c && c <= 'Z':
			change = true
			i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(domain[i:])
			switch {
			case r == utf8.RuneError && size == 1, unicode.IsSpace(r), unicode.IsControl(r),
				unicode.Is(unicode.Cf, r):
				return "", false
			case isFullStop(r) || unicode.ToLower(r) != r:
				change = true
			}
			i += size
		default:
			return "", false
		}
	}
	if change {
		domain = strings.Map(func(r rune) rune {
			if isFullStop(r) {
				return '.'
			}
			return unicode.ToLower(r)
		}, domain)
	}
	return strings.TrimSuffix(domain, "."), true
}

// isFullStop reports the dots that IDNA maps to "." (UTS #46).
func isFullStop(r rune) bool { return r == '\u3002' || r == '\uff0e' || r == '\uff61' }
