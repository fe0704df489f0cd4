package textreport

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/event"
)

// ParseTime reads a date and time of a feed: "2006-01-02 15:04:05" (UTC)
// and "2006-01-02" quickly, anything event.ParseTime reads otherwise.
func ParseTime(s string) (time.Time, error) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' && IsDigits(s[:4]) && IsDigits(s[5:7]) && IsDigits(s[8:]) {
		y, _ := strconv.Atoi(s[:4])
		m, _ := strconv.Atoi(s[5:7])
		d, _ := strconv.Atoi(s[8:])
		if m >= 1 && m <= 12 && d >= 1 && d <= 31 {
			t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
			if t.Day() == d {
				return t, nil
			}
		}
	}
	return event.ParseTime(s)
}

// IsDigits reports whether s is one or more ASCII digits.
func IsDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CommentBody returns a '#' comment line without its '#'s and blanks.
func CommentBody(line string) string {
	return strings.TrimSpace(strings.TrimLeft(line, "#"))
}

// URLHost returns the host of an absolute URL, without user, port and
// IPv6 brackets, or "".
func URLHost(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	h := u[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			return h[1:j]
		}
		return ""
	}
	if j := strings.LastIndexByte(h, ':'); j >= 0 {
		h = h[:j]
	}
	return h
}

// CheckDomain reports whether s can be a domain name: labels of letters,
// digits, '-' and '_' (or non-ASCII, for IDNs) between dots, the last of
// them not a number. event.NormFQDN is more lenient; this is for values
// whose kind is guessed.
func CheckDomain(s string) error {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return errors.New("a domain name has 1 to 253 characters")
	}
	label, digits := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return errors.New("a domain name has no empty labels")
			}
			label, digits = 0, true
			continue
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_', c >= 0x80:
			digits = false
		default:
			return fmt.Errorf("%q cannot be in a domain name", c)
		}
		label++
	}
	if label == 0 {
		return errors.New("a domain name has no empty labels")
	}
	if digits {
		return errors.New("the last label of a domain name is not a number")
	}
	return nil
}
