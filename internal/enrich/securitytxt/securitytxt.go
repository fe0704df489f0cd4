// Package securitytxt finds the security contact an organisation publishes
// for a domain in a security.txt file (RFC 9116): it fetches
// https://DOMAIN/.well-known/security.txt (or the legacy /security.txt),
// parses it and tells whether it may be used: not expired, and retrieved
// from a URI its Canonical fields list. Cache keeps the answers per domain.
//
// An OpenPGP cleartext signature around the file is recognised and only
// the signed text is read, but the signature is not verified: this
// package does not say who wrote a file, only where it was found. RFC 9116
// section 5.1 warns that a file used for incident response (as tocsin
// does) may have been planted by whoever compromised the site; callers
// that need more assurance must verify the signature against a key they
// trust by other means.
package securitytxt

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Why a file was not found or must not be used, for errors.Is. Fetch and
// Parse wrap them with the URL or the line concerned.
var (
	ErrNotFound    = errors.New("no security.txt")                                     // HTTP 404 or 410
	ErrStatus      = errors.New("unexpected HTTP status")                              // any other status but 200
	ErrContentType = errors.New("security.txt not served as text/plain")               // RFC 9116 section 3
	ErrTooLarge    = errors.New("security.txt too large")                              // see Fetcher.MaxSize, MaxLines
	ErrRedirect    = errors.New("security.txt redirect refused")                       // see Fetcher.AllowRedirect
	ErrNoExpires   = errors.New("security.txt has no Expires field")                   // required, section 2.5.5
	ErrNoContact   = errors.New("security.txt has no Contact field")                   // required, section 2.5.3
	ErrSyntax      = errors.New("security.txt malformed")                              // an unusable Expires, an unterminated signature
	ErrExpired     = errors.New("security.txt expired")                                // Expires is in the past
	ErrCanonical   = errors.New("security.txt not at a URI its Canonical fields list") // section 2.5.2
)

// Limits of Parse, as RFC 9116 section 5.4 suggests.
const (
	MaxLines       = 1000 // more lines is ErrTooLarge
	MaxFieldLength = 2048 // a longer line is ignored with a warning
)

// File is a parsed security.txt. Fields that may appear several times keep
// the order of the file; for Contact it is the order of preference.
type File struct {
	// Where the file was fetched: the URL requested, the URLs it was
	// redirected to (the last one served the file), and whether it was
	// the legacy location /security.txt. Empty for a file from Parse.
	Requested string
	Redirects []string
	Legacy    bool

	// Signed is true when the file is an OpenPGP cleartext-signed
	// message; only the signed text was parsed. The signature was NOT
	// verified.
	Signed bool

	Contact            []string // URIs: mailto:, https:, tel:
	Expires            time.Time
	Canonical          []string
	Encryption         []string
	PreferredLanguages []string // language tags
	Policy             []string
	Acknowledgments    []string
	Hiring             []string
	Extensions         []Field // fields RFC 9116 does not define, in order

	// Warnings lists departures from RFC 9116 that did not stop the
	// file from being read, each with its line number.
	Warnings []string
}

// Field is a field of a security.txt that RFC 9116 does not define.
type Field struct {
	Name, Value string
	Line        int
}

// URL returns where the file was fetched from: the last redirect target,
// or the requested URL.
func (f *File) URL() string {
	if n := len(f.Redirects); n > 0 {
		return f.Redirects[n-1]
	}
	return f.Requested
}

// Expired reports whether the file's Expires time is not after now.
func (f *File) Expired(now time.Time) bool { return !f.Expires.After(now) }

// Emails returns the e-mail addresses of the Contact fields, in the
// file's order of preference, without duplicates: every address of a
// "mailto:" URI (percent-decoded, without its "?" header fields), and, as
// RFC 9116 asks readers to be liberal, a bare address given without
// "mailto:". It says nothing about whether the file may be used: see the
// error Fetch returned.
func (f *File) Emails() []string {
	var out []string
	seen := make(map[string]bool)
	add := func(addr string) {
		a, err := mail.ParseAddress(addr)
		if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
			return
		}
		key := strings.ToLower(a.Address)
		if !seen[key] {
			seen[key] = true
			out = append(out, a.Address)
		}
	}
	for _, c := range f.Contact {
		scheme, rest, ok := strings.Cut(c, ":")
		switch {
		case ok && strings.EqualFold(scheme, "mailto"):
			rest, _, _ = strings.Cut(rest, "?")
			for addr := range strings.SplitSeq(rest, ",") {
				if dec, err := url.PathUnescape(addr); err == nil {
					add(strings.TrimSpace(dec))
				}
			}
		case !ok && strings.Contains(c, "@"):
			add(c)
		}
	}
	return out
}

// Parse reads a security.txt file. It is liberal, as RFC 9116 section 2.4
// asks: unknown fields are kept in Extensions, and lines it cannot read
// are skipped with a warning in File.Warnings. When the file is an OpenPGP
// cleartext-signed message only the signed text is read (the signature is
// not verified) and lines outside it are ignored.
//
// Parse returns an error when the file must not be used: no Contact
// (ErrNoContact), no Expires (ErrNoExpires), an Expires that is not an
// RFC 3339 date-time or appears twice, an unterminated signature
// (ErrSyntax), or more than MaxLines lines (ErrTooLarge). The File is
// returned with the error nonetheless (except for ErrTooLarge), so that
// what was wrong can be shown. Parse does not look at the clock: see
// File.Expired.
func Parse(data []byte) (*File, error) {
	f := &File{}
	if bytes.Count(data, []byte("\n")) > MaxLines {
		return nil, fmt.Errorf("more than %d lines: %w", MaxLines, ErrTooLarge)
	}
	if b, ok := bytes.CutPrefix(data, []byte("\xef\xbb\xbf")); ok {
		data = b
		f.warn(1, "byte order mark")
	}
	if !utf8.Valid(data) {
		f.warn(0, "not valid UTF-8")
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t\r")
	}
	first, last, err := f.signedPart(lines)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	expiresSeen, langSeen := 0, false
	for i := first; i < last; i++ {
		n, line := i+1, lines[i]
		if f.Signed {
			// Dash-escaped text, RFC 4880 section 7.1.
			line = strings.TrimPrefix(line, "- ")
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if len(line) > MaxFieldLength {
			f.warn(n, "line longer than %d bytes ignored", MaxFieldLength)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			f.warn(n, "not a field: %.40q", line)
			continue
		}
		value = strings.TrimSpace(value)
		if value == "" {
			f.warn(n, "%s without a value", name)
			continue
		}
		switch strings.ToLower(name) {
		case "contact":
			f.checkURI(n, name, value, true)
			f.Contact = append(f.Contact, value)
		case "expires":
			expiresSeen++
			t, err := time.Parse(time.RFC3339, strings.ToUpper(value))
			switch {
			case expiresSeen > 1:
				errs = append(errs, fmt.Errorf("line %d: Expires appears more than once: %w", n, ErrSyntax))
			case err != nil:
				errs = append(errs, fmt.Errorf("line %d: Expires %.40q is not an RFC 3339 date-time: %w", n, value, ErrSyntax))
			default:
				f.Expires = t
			}
		case "canonical":
			f.checkURI(n, name, value, false)
			f.Canonical = append(f.Canonical, value)
		case "encryption":
			f.checkURI(n, name, value, false)
			f.Encryption = append(f.Encryption, value)
		case "preferred-languages":
			if langSeen {
				f.warn(n, "Preferred-Languages appears more than once; the first is kept")
				continue
			}
			langSeen = true
			for tag := range strings.SplitSeq(value, ",") {
				if tag = strings.TrimSpace(tag); tag != "" {
					f.PreferredLanguages = append(f.PreferredLanguages, tag)
				}
			}
		case "policy":
			f.checkURI(n, name, value, false)
			f.Policy = append(f.Policy, value)
		case "acknowledgments", "acknowledgements":
			if strings.EqualFold(name, "acknowledgements") {
				f.warn(n, "Acknowledgements is spelled Acknowledgments in RFC 9116")
			}
			f.checkURI(n, name, value, false)
			f.Acknowledgments = append(f.Acknowledgments, value)
		case "hiring":
			f.checkURI(n, name, value, false)
			f.Hiring = append(f.Hiring, value)
		default:
			f.Extensions = append(f.Extensions, Field{Name: name, Value: value, Line: n})
		}
	}
	if len(f.Contact) == 0 {
		errs = append(errs, ErrNoContact)
	}
	if expiresSeen == 0 {
		errs = append(errs, ErrNoExpires)
	}
	return f, errors.Join(errs...)
}

// signedPart finds the lines to parse: all of them, or, in a cleartext-
// signed message, those between the armor headers and the signature.
func (f *File) signedPart(lines []string) (first, last int, err error) {
	begin := -1
	for i, l := range lines {
		if l == "-----BEGIN PGP SIGNED MESSAGE-----" {
			begin = i
			break
		}
	}
	if begin < 0 {
		return 0, len(lines), nil
	}
	f.Signed = true
	for i := range begin {
		if lines[i] != "" {
			f.warn(i+1, "text before the signed message ignored")
			break
		}
	}
	first = begin + 1
	for first < len(lines) && lines[first] != "" { // armor headers ("Hash: SHA256")
		first++
	}
	last = first
	for last < len(lines) && lines[last] != "-----BEGIN PGP SIGNATURE-----" {
		last++
	}
	end := last
	for end < len(lines) && lines[end] != "-----END PGP SIGNATURE-----" {
		end++
	}
	if end == len(lines) {
		return first, last, fmt.Errorf("line %d: signed message without its signature: %w", begin+1, ErrSyntax)
	}
	for i := end + 1; i < len(lines); i++ {
		if lines[i] != "" {
			f.warn(i+1, "text after the signature ignored")
			break
		}
	}
	return first, last, nil
}

// checkURI warns about a value that is not a URI RFC 9116 allows there:
// web URIs must be https; a contact may also be mailto: or tel:.
func (f *File) checkURI(n int, name, value string, contact bool) {
	u, err := url.Parse(value)
	switch {
	case err != nil || u.Scheme == "":
		if contact && strings.Contains(value, "@") {
			f.warn(n, "%s %.60q is not a URI; read as mailto:", name, value)
			return
		}
		f.warn(n, "%s %.60q is not a URI", name, value)
	case strings.EqualFold(u.Scheme, "http"):
		f.warn(n, "%s %.60q: web URIs must be https", name, value)
	case contact && !strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "mailto") &&
		!strings.EqualFold(u.Scheme, "tel"):
		f.warn(n, "%s %.60q: unusual scheme", name, value)
	}
}

func (f *File) warn(line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	f.Warnings = append(f.Warnings, msg)
}
