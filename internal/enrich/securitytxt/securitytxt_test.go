package securitytxt

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// rfcExample is the unsigned example of RFC 9116 section 2.6, with more.
const rfcExample = `# Our security address
Contact: mailto:security@example.com
Contact: mailto:security%2Buri%2Bencoded@example.com
Contact: tel:+1-201-555-0123
Contact: https://example.com/security-contact.html
contact: mailto:second@example.com,third@example.com?subject=report

# Our OpenPGP key
Encryption: https://example.com/pgp-key.txt

# Our security policy
Policy: https://example.com/security-policy.html

# Our security acknowledgments page
Acknowledgments: https://example.com/hall-of-fame.html
Hiring: https://example.com/jobs.html
Preferred-Languages: en, sv ,fi
Canonical: https://example.com/.well-known/security.txt
CSAF: https://example.com/.well-known/csaf/provider-metadata.json

Expires: 2031-12-31T18:37:07z
`

func TestParse(t *testing.T) {
	f, err := Parse([]byte(rfcExample))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Contact: []string{"mailto:security@example.com", "mailto:security%2Buri%2Bencoded@example.com",
			"tel:+1-201-555-0123", "https://example.com/security-contact.html",
			"mailto:second@example.com,third@example.com?subject=report"},
		Expires:            time.Date(2031, 12, 31, 18, 37, 7, 0, time.UTC),
		Canonical:          []string{"https://example.com/.well-known/security.txt"},
		Encryption:         []string{"https://example.com/pgp-key.txt"},
		PreferredLanguages: []string{"en", "sv", "fi"},
		Policy:             []string{"https://example.com/security-policy.html"},
		Acknowledgments:    []string{"https://example.com/hall-of-fame.html"},
		Hiring:             []string{"https://example.com/jobs.html"},
		Extensions:         []Field{{Name: "CSAF", Value: "https://example.com/.well-known/csaf/provider-metadata.json", Line: 19}},
	}
	if got, w := fmt.Sprintf("%+v", f), fmt.Sprintf("%+v", want); got != w {
		t.Errorf("Parse:\n got %s\nwant %s", got, w)
	}
	emails := []string{"security@example.com", "security+uri+encoded@example.com", "second@example.com", "third@example.com"}
	if got := f.Emails(); !slices.Equal(got, emails) {
		t.Errorf("Emails() = %q, want %q", got, emails)
	}
	if !f.Expired(want.Expires) || f.Expired(want.Expires.Add(-time.Second)) {
		t.Error("Expired is wrong at the Expires instant")
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name, in string
		err      error
		warning  string // a substring of one of the warnings
	}{
		{"crlf and odd spacing", "Contact:mailto:a@example.com  \r\nEXPIRES:   2030-01-01T00:00:00+02:00\r\n", nil, ""},
		{"no expires", "Contact: mailto:a@example.com\n", ErrNoExpires, ""},
		{"no contact", "Expires: 2030-01-01T00:00:00Z\n", ErrNoContact, ""},
		{"empty", "", ErrNoContact, ""},
		{"two expires", "Contact: mailto:a@example.com\nExpires: 2030-01-01T00:00:00Z\nExpires: 2031-01-01T00:00:00Z\n", ErrSyntax, ""},
		{"bad expires", "Contact: mailto:a@example.com\nExpires: 31 Dec 2030\n", ErrSyntax, ""},
		{"not a field", "Contact: mailto:a@example.com\nExpires: 2030-01-01T00:00:00Z\nhello world\n", nil, "line 3: not a field"},
		{"bare address", "Contact: a@example.com\nExpires: 2030-01-01T00:00:00Z\n", nil, "read as mailto:"},
		{"http", "Contact: http://example.com/\nExpires: 2030-01-01T00:00:00Z\n", nil, "must be https"},
		{"bom", "\xef\xbb\xbfContact: mailto:a@example.com\nExpires: 2030-01-01T00:00:00Z\n", nil, "byte order mark"},
		{"british", "Contact: mailto:a@example.com\nExpires: 2030-01-01T00:00:00Z\nAcknowledgements: https://example.com/\n", nil, "spelled"},
		{"long line", "Contact: mailto:a@example.com\nExpires: 2030-01-01T00:00:00Z\nPolicy: https://example.com/" + strings.Repeat("a", 3000) + "\n", nil, "longer than"},
		{"too many lines", strings.Repeat("# comment\n", MaxLines+1), ErrTooLarge, ""},
		{"unterminated signature", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: mailto:a@example.com\nExpires: 2030-01-01T00:00:00Z\n", ErrSyntax, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if f == nil {
				if tt.err != ErrTooLarge {
					t.Fatal("nil File")
				}
				return
			}
			if tt.warning != "" && !slices.ContainsFunc(f.Warnings, func(w string) bool { return strings.Contains(w, tt.warning) }) {
				t.Errorf("warnings %q, want one with %q", f.Warnings, tt.warning)
			}
			if tt.err == nil && len(f.Emails()) != 1 && tt.name != "http" {
				t.Errorf("Emails() = %q", f.Emails())
			}
		})
	}
}

// signed is the signed example of RFC 9116 section 2.7, with a
// dash-escaped line and text outside the signature that must be ignored.
const signed = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

# Canonical URI
Canonical: https://example.com/.well-known/security.txt

# Our security address
Contact: mailto:security@example.com
- Contact: mailto:escaped@example.com
- -----not a header, dash-escaped
Expires: 2031-12-31T18:37:07z
-----BEGIN PGP SIGNATURE-----
Version: GnuPG v2.2

iQIzBAEBCAAdFiEEeXAMPLEeXAMPLEeXAMPLEeXAMPLEFAmK3zQAACgkQeXAMPLE
=abcd
-----END PGP SIGNATURE-----
Contact: mailto:attacker@example.net
`

func TestParseSigned(t *testing.T) {
	f, err := Parse([]byte(signed))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Signed {
		t.Error("Signed = false")
	}
	if want := []string{"security@example.com", "escaped@example.com"}; !slices.Equal(f.Emails(), want) {
		t.Errorf("Emails() = %q, want %q (text after the signature must be ignored)", f.Emails(), want)
	}
	if len(f.Warnings) != 2 {
		t.Errorf("warnings %q, want two (the dash-escaped line, the text after the signature)", f.Warnings)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(rfcExample))
	f.Add([]byte(signed))
	f.Add([]byte("Contact: mailto:a@example.com\r\nExpires: 2030-01-01T00:00:00Z\r\n"))
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\n\n-----BEGIN PGP SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if file == nil {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("nil File with %v", err)
			}
			return
		}
		if err == nil && (len(file.Contact) == 0 || file.Expires.IsZero()) {
			t.Fatalf("no error without Contact or Expires: %+v", file)
		}
		for _, e := range file.Emails() {
			if !strings.Contains(e, "@") {
				t.Fatalf("Emails() has %q", e)
			}
		}
	})
}
