package index

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tocsin/tocsin/internal/enrich/domain"
)

// ErrInvalidDomain is wrapped by NormalizeDomain's errors.
var ErrInvalidDomain = errors.New("invalid domain name")

// NormalizeDomain returns name as the index stores and compares domains:
// domain.ToASCII's form (lower case, without a final dot, every non-ASCII
// label as "xn--" Punycode: "Räksmörgås.SE." becomes
// "xn--rksmrgs-5wao1o.se"), at most 253 bytes, labels of ASCII letters,
// digits, '-' and '_' (as in _dmarc). Like domain.ToASCII it applies no
// Unicode normalisation (NFC): a name must arrive composed, as it almost
// always does. A name that is already normalised is returned without
// allocating.
func NormalizeDomain(name string) (string, error) {
	if n, ok := normalizeFast(name); ok {
		return n, nil
	}
	n, err := domain.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidDomain, err)
	}
	if reason := checkName(n); reason != "" {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidDomain, name, reason)
	}
	return n, nil
}

// normalizeLookup is NormalizeDomain for lookups: valid names in normal
// form take the fast path without building anything.
func normalizeLookup(name string) (string, bool) {
	if n, ok := normalizeFast(name); ok {
		return n, true
	}
	n, err := domain.ToASCII(name)
	if err != nil || checkName(n) != "" {
		return "", false
	}
	return n, true
}

// normalizeFast handles a valid name that needs no more than its final dot
// removed. ok is false if name needs the slow path, or is invalid.
func normalizeFast(name string) (string, bool) {
	n := strings.TrimSuffix(name, ".")
	return n, checkName(n) == ""
}

// checkName checks a name in ASCII form and returns what is wrong with it,
// or "".
func checkName(name string) string {
	if name == "" {
		return "empty"
	}
	if len(name) > 253 {
		return "longer than 253 bytes"
	}
	label := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			if label == 0 {
				return "empty label"
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return "a character other than a-z, 0-9, '-', '_' or '.'"
		}
		if label++; label > 63 {
			return "label longer than 63 bytes"
		}
	}
	if label == 0 {
		return "empty label"
	}
	return ""
}
