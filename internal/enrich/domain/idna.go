package domain

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrPunycode reports a label that is not valid Punycode (RFC 3492) or
// that cannot be encoded as such.
var ErrPunycode = errors.New("invalid punycode")

// acePrefix marks a label in its ASCII-compatible encoding (RFC 5890).
const acePrefix = "xn--"

// ToASCII returns domain in its ASCII form: lower case, without a final
// dot, every label with a character outside ASCII replaced by "xn--"
// followed by its Punycode (RFC 3492). Labels already in ASCII, including
// "xn--" ones, are only lower-cased. It is the form to store and compare
// domain names in.
//
// It is not a full IDNA 2008 / UTS #46 implementation: besides lower-casing
// (Unicode simple case mapping) and mapping the ideographic full stops
// (U+3002, U+FF0E, U+FF61) to ".", it applies no normalisation (NFC) and
// no check of the characters allowed in a label. An empty label or a
// label longer than 63 bytes in ASCII form is an error.
func ToASCII(domain string) (string, error) {
	s, ok := normalize(domain)
	if !ok {
		return "", fmt.Errorf("domain %q: %w", domain, ErrInvalid)
	}
	out, err := toASCII(s)
	if err != nil {
		return "", fmt.Errorf("domain %q: %w", domain, err)
	}
	return out, checkLabels(out, domain)
}

// ToUnicode returns domain with every "xn--" label decoded from Punycode,
// lower case and without a final dot. A label that is not valid Punycode,
// or whose encoding is not the canonical one for what it decodes to, is
// an error.
func ToUnicode(domain string) (string, error) {
	s, ok := normalize(domain)
	if !ok {
		return "", fmt.Errorf("domain %q: %w", domain, ErrInvalid)
	}
	if err := checkLabels(s, domain); err != nil {
		return "", err
	}
	out, err := toUnicode(s)
	if err != nil {
		return "", fmt.Errorf("domain %q: %w", domain, err)
	}
	return out, nil
}

// toASCII converts each label of a normalised name with labelToASCII.
func toASCII(s string) (string, error) {
	if isASCII(s) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, label := range strings.Split(s, ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		a, err := labelToASCII(label)
		if err != nil {
			return "", err
		}
		b.WriteString(a)
	}
	return b.String(), nil
}

// toUnicode converts each label of a normalised name with labelToUnicode.
func toUnicode(s string) (string, error) {
	if !strings.Contains(s, acePrefix) {
		return s, nil
	}
	labels := strings.Split(s, ".")
	for i, label := range labels {
		u, err := labelToUnicode(label)
		if err != nil {
			return "", err
		}
		labels[i] = u
	}
	return strings.Join(labels, "."), nil
}

// checkLabels reports an empty label or one longer than 63 bytes in the
// ASCII form s of the domain name original.
func checkLabels(s, original string) error {
	for label := range strings.SplitSeq(s, ".") {
		if label == "" {
			return fmt.Errorf("domain %q: empty label: %w", original, ErrInvalid)
		}
		if len(label) > 63 {
			return fmt.Errorf("domain %q: label longer than 63 bytes: %w", original, ErrInvalid)
		}
	}
	return nil
}

// labelToASCII returns a lower-case label in ASCII form.
func labelToASCII(label string) (string, error) {
	if isASCII(label) {
		return label, nil
	}
	enc, err := punyEncode(label)
	if err != nil {
		return "", err
	}
	return acePrefix + enc, nil
}

// labelToUnicode decodes an "xn--" label; other labels are returned as
// they are.
func labelToUnicode(label string) (string, error) {
	if !strings.HasPrefix(label, acePrefix) {
		return label, nil
	}
	dec, err := punyDecode(label[len(acePrefix):])
	if err != nil {
		return "", fmt.Errorf("label %q: %w", label, err)
	}
	// Only the canonical encoding of a non-ASCII label is a valid A-label.
	if isASCII(dec) {
		return "", fmt.Errorf("label %q decodes to ASCII only: %w", label, ErrPunycode)
	}
	if re, err := punyEncode(dec); err != nil || re != label[len(acePrefix):] {
		return "", fmt.Errorf("label %q is not in canonical form: %w", label, ErrPunycode)
	}
	return dec, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Punycode parameters, RFC 3492 section 5.
const (
	punyBase        = 36
	punyTMin        = 1
	punyTMax        = 26
	punySkew        = 38
	punyDamp        = 700
	punyInitialBias = 72
	punyInitialN    = 128
	punyMaxInt      = 1<<31 - 1 // bound of the arithmetic, as in the RFC's sample code
)

// punyAdapt is the bias adaptation function of RFC 3492 section 6.1.
func punyAdapt(delta, numPoints int, first bool) int {
	if first {
		delta /= punyDamp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := 0
	for delta > ((punyBase-punyTMin)*punyTMax)/2 {
		delta /= punyBase - punyTMin
		k += punyBase
	}
	return k + (punyBase-punyTMin+1)*delta/(delta+punySkew)
}

func punyThreshold(k, bias int) int {
	switch {
	case k <= bias:
		return punyTMin
	case k >= bias+punyTMax:
		return punyTMax
	}
	return k - bias
}

func punyDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

func punyDigitValue(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c-'0') + 26, true
	case 'a' <= c && c <= 'z':
		return int(c - 'a'), true
	case 'A' <= c && c <= 'Z':
		return int(c - 'A'), true
	}
	return 0, false
}

// punyEncode encodes a label (valid UTF-8) as Punycode, RFC 3492 section
// 6.3, without the "xn--" prefix.
func punyEncode(label string) (string, error) {
	if !utf8.ValidString(label) {
		return "", fmt.Errorf("label %q is not UTF-8: %w", label, ErrPunycode)
	}
	runes := []rune(label)
	out := make([]byte, 0, len(label)+8)
	for _, r := range runes {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
		}
	}
	b := len(out)
	h := b
	if b > 0 {
		out = append(out, '-')
	}
	n, delta, bias := punyInitialN, 0, punyInitialBias
	for h < len(runes) {
		m := punyMaxInt
		for _, r := range runes {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		if (m - n) > (punyMaxInt-delta)/(h+1) {
			return "", fmt.Errorf("label %q: overflow: %w", label, ErrPunycode)
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range runes {
			if int(r) < n {
				delta++
				if delta > punyMaxInt {
					return "", fmt.Errorf("label %q: overflow: %w", label, ErrPunycode)
				}
			}
			if int(r) != n {
				continue
			}
			q := delta
			for k := punyBase; ; k += punyBase {
				t := punyThreshold(k, bias)
				if q < t {
					break
				}
				out = append(out, punyDigit(t+(q-t)%(punyBase-t)))
				q = (q - t) / (punyBase - t)
			}
			out = append(out, punyDigit(q))
			bias = punyAdapt(delta, h+1, h == b)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return string(out), nil
}

// punyDecode decodes Punycode (without the "xn--" prefix), RFC 3492
// section 6.2.
func punyDecode(s string) (string, error) {
	var out []rune
	in := 0
	if p := strings.LastIndexByte(s, '-'); p >= 0 {
		for i := 0; i < p; i++ {
			if s[i] >= utf8.RuneSelf {
				return "", fmt.Errorf("non-basic code point: %w", ErrPunycode)
			}
			out = append(out, rune(s[i]))
		}
		in = p + 1
	}
	n, i, bias := punyInitialN, 0, punyInitialBias
	for in < len(s) {
		oldi, w := i, 1
		for k := punyBase; ; k += punyBase {
			if in >= len(s) {
				return "", fmt.Errorf("truncated: %w", ErrPunycode)
			}
			digit, ok := punyDigitValue(s[in])
			in++
			if !ok {
				return "", fmt.Errorf("bad digit %q: %w", s[in-1], ErrPunycode)
			}
			if digit > (punyMaxInt-i)/w {
				return "", fmt.Errorf("overflow: %w", ErrPunycode)
			}
			i += digit * w
			t := punyThreshold(k, bias)
			if digit < t {
				break
			}
			if w > punyMaxInt/(punyBase-t) {
				return "", fmt.Errorf("overflow: %w", ErrPunycode)
			}
			w *= punyBase - t
		}
		size := len(out) + 1
		bias = punyAdapt(i-oldi, size, oldi == 0)
		if i/size > punyMaxInt-n {
			return "", fmt.Errorf("overflow: %w", ErrPunycode)
		}
		n += i / size
		i %= size
		if n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) || n < punyInitialN {
			return "", fmt.Errorf("code point %#x out of range: %w", n, ErrPunycode)
		}
		out = append(out, 0)
		copy(out[i+1:], out[i:])
		out[i] = rune(n)
		i++
	}
	return string(out), nil
}
