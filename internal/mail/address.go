package mail

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// maxNameLen bounds a display name, an attachment name and similar short
// header words, in bytes.
const maxNameLen = 255

// An Address is a mailbox: an optional display name and an address.
type Address struct {
	Name  string // display name, any UTF-8 text; may be ""
	Email string // addr-spec, ASCII, e.g. "cert@example.se"
}

// ParseAddress parses one RFC 5322 address, "Name <user@example.se>" or
// "user@example.se"; an RFC 2047 encoded display name is decoded.
func ParseAddress(s string) (Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("parse address %q: %w", s, err)
	}
	addr := Address{Name: a.Name, Email: a.Address}
	if err := addr.check(); err != nil {
		return Address{}, fmt.Errorf("parse address %q: %w", s, err)
	}
	return addr, nil
}

// String renders a as an RFC 5322 mailbox. A display name that is not
// plain ASCII, or that a reader would decode ("=?"), is RFC 2047 encoded;
// one with specials is quoted.
func (a Address) String() string {
	if needsEncoding(a.Name, false) {
		return encodeWords(a.Name) + " <" + a.Email + ">"
	}
	return (&mail.Address{Name: a.Name, Address: a.Email}).String()
}

// check reports what is wrong with a, or nil.
func (a Address) check() error {
	if err := checkHeaderText(a.Name, maxNameLen); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	e := a.Email
	if e == "" {
		return fmt.Errorf("email is empty")
	}
	for i := 0; i < len(e); i++ {
		c := e[i]
		if c >= utf8.RuneSelf {
			return fmt.Errorf("email %q is not ASCII; write the domain in its xn-- form", e)
		}
		if c <= ' ' || c == 0x7f {
			return fmt.Errorf("email %q contains a space or control character", e)
		}
	}
	if len(e) > 254 {
		return fmt.Errorf("email is longer than 254 bytes")
	}
	p, err := mail.ParseAddress("<" + e + ">")
	if err != nil || p.Address != e || !strings.Contains(e, "@") {
		return fmt.Errorf("email %q is not an address like user@example.se", e)
	}
	return nil
}
