package ripe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Rejected is a part of an abuse-mailbox value that is not an address.
type Rejected struct {
	Text   string
	Reason string
}

// ParseMailboxes reads the addresses in an abuse-mailbox (or e-mail) value
// as they occur in the RIR databases, which check them loosely:
//
//	abuse@example.com
//	NULL@eXamplE.coM                          → null@example.com
//	abuse@example.com abuse@example.net       → both (also with ',' or ';')
//	abuse@example.com  <abuse@example.com>    → once
//	Abuse Desk <abuse@example.com>            → the display name is dropped
//	"abuse contact"@example.com               → kept quoted
//	abuse@example.com (preferred)             → the comment is dropped
//	abuse@example.com,                        → the stray separator too
//
// The addresses are returned in order, without duplicates, in lower case
// (also the local part: mailbox names are case-insensitive in practice),
// a quoted local part unquoted where it needs no quotes, "mailto:" and a
// final dot of the domain removed. Every other word is returned in
// rejected with the reason it is not an address.
func ParseMailboxes(s string) (addrs []string, rejected []Rejected) {
	type word struct{ start, end int }
	var (
		phrase []word // words since the last ',' or address
		start  = -1   // of the current word
	)
	add := func(a string) {
		for _, x := range addrs {
			if x == a {
				return
			}
		}
		addrs = append(addrs, a)
	}
	endWord := func(i int) {
		if start >= 0 {
			phrase = append(phrase, word{start, i})
			start = -1
		}
	}
	// flush ends a list element: its words must be addresses, and runs of
	// words that are not are rejected together. Before an angle address
	// (angle), such words are its display name.
	flush := func(i int, angle bool) {
		endWord(i)
		bad := -1 // first word of the current run of non-addresses
		reason := ""
		reject := func(end int) {
			if bad >= 0 && !angle {
				text := s[phrase[bad].start:end]
				if end != phrase[bad].end {
					reason = whyNotAddresses(text)
				}
				rejected = append(rejected, Rejected{Text: text, Reason: reason})
			}
			bad = -1
		}
		for j, w := range phrase {
			a, why := normaliseAddress(s[w.start:w.end])
			if why == "" {
				if bad >= 0 {
					reject(phrase[j-1].end)
				}
				add(a)
				continue
			}
			if bad < 0 {
				bad, reason = j, why
			}
		}
		if bad >= 0 {
			reject(phrase[len(phrase)-1].end)
		}
		phrase = phrase[:0]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			endWord(i)
		case ',', ';':
			flush(i, false)
		case '(':
			// A comment, possibly nested; it separates words.
			endWord(i)
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '\\' {
					i++
					continue
				}
				if s[i] == '(' {
					depth++
				} else if s[i] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
		case '<':
			flush(i, true)
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				rejected = append(rejected, Rejected{Text: s[i:], Reason: "'<' without '>'"})
				return addrs, rejected
			}
			a, reason := normaliseAddress(strings.TrimSpace(s[i+1 : i+end]))
			if reason != "" {
				rejected = append(rejected, Rejected{Text: s[i : i+end+1], Reason: reason})
			} else {
				add(a)
			}
			i += end
		case '"':
			// A quoted string, part of the current word.
			if start < 0 {
				start = i
			}
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				j = len(s) - 1
			}
			i = j
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(s), false)
	return addrs, rejected
}

// whyNotAddresses says why several words are not an address.
func whyNotAddresses(text string) string {
	l := " " + strings.ToLower(text) + " "
	for _, at := range []string{" at ", "(at)", "[at]", "{at}", " dot "} {
		if strings.Contains(l, at) {
			return "an address written out (\"at\", \"dot\"), not an e-mail address"
		}
	}
	if strings.Contains(text, "@") {
		return "not an e-mail address (white space in it?)"
	}
	return "not an e-mail address"
}

// normaliseAddress returns the address w in lower case, or why it is not
// one.
func normaliseAddress(w string) (string, string) {
	if len(w) > 7 && strings.EqualFold(w[:7], "mailto:") {
		w = w[7:]
	}
	if len(w) > 254 {
		return "", "longer than 254 characters"
	}
	at := strings.LastIndexByte(w, '@')
	if at < 0 {
		if strings.Contains(strings.ToLower(w), "[at]") || strings.Contains(strings.ToLower(w), "{at}") {
			return "", "an address written out (\"[at]\"), not an e-mail address"
		}
		return "", "not an e-mail address (no '@')"
	}
	local, domain := w[:at], w[at+1:]
	local, reason := normaliseLocal(local)
	if reason != "" {
		return "", reason
	}
	domain, reason = normaliseDomain(domain)
	if reason != "" {
		return "", reason
	}
	return local + "@" + domain, ""
}

// isAtext reports whether c may appear unquoted in a local part (RFC 5322
// atext, and any non-ASCII byte as RFC 6531 allows UTF-8).
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return true
}

func normaliseLocal(local string) (string, string) {
	if local == "" {
		return "", "empty local part (nothing before '@')"
	}
	if !utf8.ValidString(local) {
		return "", "local part is not valid UTF-8"
	}
	if local[0] != '"' {
		if !isDotAtom(local) {
			return "", fmt.Sprintf("local part %q has characters that need quotes", local)
		}
		return strings.ToLower(local), ""
	}
	// A quoted string: it must be all of the local part.
	if len(local) < 2 || local[len(local)-1] != '"' {
		return "", fmt.Sprintf("local part %q: text outside its quotes", local)
	}
	var content strings.Builder
	for i := 1; i < len(local)-1; i++ {
		c := local[i]
		switch {
		case c == '\\' && i+1 < len(local)-1:
			i++
			content.WriteByte(local[i])
		case c == '"' || c == '\\':
			return "", fmt.Sprintf("local part %q: text outside its quotes", local)
		case c < 0x20 || c == 0x7f:
			return "", fmt.Sprintf("local part %q has a control character", local)
		default:
			content.WriteByte(c)
		}
	}
	text := strings.ToLower(content.String())
	if text == "" {
		return "", "empty local part (\"\")"
	}
	if isDotAtom(text) {
		return text, ""
	}
	var q strings.Builder
	q.WriteByte('"')
	for i := 0; i < len(text); i++ {
		if text[i] == '"' || text[i] == '\\' {
			q.WriteByte('\\')
		}
		q.WriteByte(text[i])
	}
	q.WriteByte('"')
	return q.String(), ""
}

func normaliseDomain(d string) (string, string) {
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", "no domain after '@'"
	}
	if d[0] == '[' {
		return "", fmt.Sprintf("domain literal %s instead of a domain name", d)
	}
	if !utf8.ValidString(d) {
		return "", "domain is not valid UTF-8"
	}
	d = strings.ToLower(d)
	labels := 0
	for label := range strings.SplitSeq(d, ".") {
		labels++
		if label == "" || len(label) > 63 {
			return "", fmt.Sprintf("domain %q has an empty or too long label", d)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Sprintf("domain %q: a label starts or ends with '-'", d)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80) {
				return "", fmt.Sprintf("domain %q has the character %q", d, c)
			}
		}
	}
	if labels < 2 {
		return "", fmt.Sprintf("domain %q has no dot", d)
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if strings.Trim(tld, "0123456789") == "" {
		return "", fmt.Sprintf("domain %q ends in a number", d)
	}
	return d, ""
}
