package index

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidDomain is wrapped by NormalizeDomain's errors.
var ErrInvalidDomain = errors.New("invalid domain name")

// NormalizeDomain returns name as the index stores and compares domains:
// lower case, without a final dot, every non-ASCII label in its ASCII form
// ("räksmörgås.se" becomes "xn--rksmrgs-5wao1o.se", RFC 3492 Punycode).
// The ideographic full stops (U+3002, U+FF0E, U+FF61) separate labels as
// dots do. Upper case is lowered with Unicode simple case mapping; unlike
// full IDNA (UTS #46) no Unicode normalisation (NFC) is applied, so a name
// must arrive composed, as it almost always does. Labels may hold ASCII
// letters, digits, '-' and '_' (as in _dmarc); a name has at most 253
// bytes and a label at most 63. A name that is already normalised is
// returned without allocating.
func NormalizeDomain(name string) (string, error) {
	n, reason := normalize(name)
	if reason != "" {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidDomain, name, reason)
	}
	return n, nil
}

// normalizeLookup is NormalizeDomain for lookups: no error value to build.
func normalizeLookup(name string) (string, error) {
	n, reason := normalize(name)
	if reason != "" {
		return "", ErrInvalidDomain
	}
	return n, nil
}

// normalize returns the normalised name, or a reason it is not valid.
func normalize(name string) (string, string) {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return normalizeSlow(name)
		}
	}
	name = strings.TrimSuffix(name, ".")
	return name, checkName(name)
}

func normalizeSlow(name string) (string, string) {
	if !utf8.ValidString(name) {
		return "", "not UTF-8"
	}
	name = strings.Map(func(r rune) rune {
		switch r {
		case '\u3002', '\uff0e', '\uff61':
			return '.'
		}
		return r
	}, strings.ToLower(name))
	name = strings.TrimSuffix(name, ".")
	if len(name) > 4*253 {
		return "", "too long"
	}
	var b strings.Builder
	b.Grow(len(name) + 8)
	for i, label := range strings.Split(name, ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		ascii := true
		for j := 0; j < len(label); j++ {
			if label[j] >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii {
			b.WriteString(label)
			continue
		}
		if utf8.RuneCountInString(label) > 63-len("xn--") {
			return "", "label longer than 63 bytes"
		}
		b.WriteString("xn--")
		b.WriteString(string(punycode(nil, []rune(label))))
	}
	name = b.String()
	return name, checkName(name)
}

// checkName checks a lower-case ASCII name.
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

// punycode appends the RFC 3492 encoding of label (without the "xn--"
// prefix) to dst. label is short (at most 63 runes), so no step overflows.
func punycode(dst []byte, label []rune) []byte {
	const (
		base        = 36
		tmin        = 1
		tmax        = 26
		skew        = 38
		damp        = 700
		initialBias = 72
		initialN    = 128
	)
	digit := func(d int) byte {
		if d < 26 {
			return byte('a' + d)
		}
		return byte('0' + d - 26)
	}
	adapt := func(delta, numPoints int, first bool) int {
		if first {
			delta /= damp
		} else {
			delta /= 2
		}
		delta += delta / numPoints
		k := 0
		for delta > ((base-tmin)*tmax)/2 {
			delta /= base - tmin
			k += base
		}
		return k + (base-tmin+1)*delta/(delta+skew)
	}
	b := 0
	for _, r := range label {
		if r < 0x80 {
			dst = append(dst, byte(r))
			b++
		}
	}
	if b > 0 {
		dst = append(dst, '-')
	}
	n, delta, bias := initialN, 0, initialBias
	for h := b; h < len(label); {
		m := int(utf8.MaxRune) + 1
		for _, r := range label {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range label {
			if int(r) < n {
				delta++
			}
			if int(r) != n {
				continue
			}
			q := delta
			for k := base; ; k += base {
				t := k - bias
				if t < tmin {
					t = tmin
				} else if t > tmax {
					t = tmax
				}
				if q < t {
					break
				}
				dst = append(dst, digit(t+(q-t)%(base-t)))
				q = (q - t) / (base - t)
			}
			dst = append(dst, digit(q))
			bias = adapt(delta, h+1, h == b)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return dst
}
