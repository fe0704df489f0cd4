package render

import (
	"strings"
	"unicode/utf8"
)

// Limits on what one value may take in the text of a notification. The
// attachments carry every value whole.
const (
	maxValue = 80  // an identifier, a host name, a malware name
	maxWhat  = 120 // the address or URL an event is about
	maxName  = 200 // an organisation's or the sender's name, an address
)

// oneLine makes s safe for a single-line context (the subject, a line of
// the event list): invalid UTF-8 becomes U+FFFD; C0 and C1 controls (CR,
// LF, TAB, ESC, DEL ...) and the Unicode line and paragraph separators
// become a space; bidirectional controls (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069) and U+FEFF are dropped, so feed data
// cannot reorder what the reader sees; runs of spaces shrink to one;
// leading and trailing spaces go. A result longer than max runes is cut
// and ends in "…". max <= 0 means no limit.
func oneLine(s string, max int) string {
	if isPlain(s, max) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := true // at the start, a space is dropped
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r < 0x20, r >= 0x7f && r <= 0x9f, r == '\u2028', r == '\u2029':
			r = ' '
		case isBidi(r):
			continue
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r) // utf8.RuneError for invalid bytes, as decoded
	}
	out := strings.TrimRight(b.String(), " ")
	if max <= 0 || utf8.RuneCountInString(out) <= max {
		return out
	}
	n := 0
	for i := range out {
		if n == max-1 {
			return strings.TrimRight(out[:i], " ") + "…"
		}
		n++
	}
	return out
}

// isPlain reports whether oneLine would return s unchanged: printable
// ASCII, no double or edge spaces, not longer than max.
func isPlain[T ~string | ~[]byte](s T, max int) bool {
	if max > 0 && len(s) > max {
		return false
	}
	if len(s) == 0 {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == ' ' && s[i+1] == ' ' {
			return false
		}
	}
	return true
}

func isBidi(r rune) bool {
	return r == '\u061c' || r == '\u200e' || r == '\u200f' || r >= '\u202a' && r <= '\u202e' ||
		r >= '\u2066' && r <= '\u2069' || r == '\ufeff'
}
