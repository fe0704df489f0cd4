package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what a message may hold. Feed data reaches subjects, names
// and attachments; anything over these is refused, not truncated.
const (
	MaxSize           = 25 << 20 // text, attachments and header values together, before encoding
	MaxRecipients     = 100      // To and Cc together
	MaxAttachments    = 100
	maxHeaderValueLen = 900 // bytes of one header value before encoding
	maxContentTypeLen = 127
)

// ErrInvalid is wrapped by every error Validate returns: the message
// cannot be sent as it is, and retrying will not help.
var ErrInvalid = errors.New("invalid message")

// An Attachment is a file sent along with the text.
type Attachment struct {
	Name        string // file name shown to the reader, e.g. "events.csv"; any UTF-8, no path
	ContentType string // e.g. "text/csv"; "" means application/octet-stream; text types get charset=utf-8 unless they name one
	Data        []byte // sent base64 encoded, byte for byte
}

// A Message is a mail to render: headers, a UTF-8 text and attachments.
// Render it unsigned with Bytes or WriteTo, signed with Signer.Sign.
// The same Message always renders to the same bytes (signing included,
// encryption not).
type Message struct {
	From      Address
	To        []Address
	Cc        []Address
	ReplyTo   *Address
	Subject   string    // any UTF-8 text; encoded (RFC 2047) and folded as needed
	Date      time.Time // required; also the time of the signature
	MessageID string    // "<left@right>", required; see NewMessageID

	// Header holds extra header fields in order, e.g.
	// {"X-Tocsin-ID", "TOCSIN-20261124-000123"}, {"Auto-Submitted", "auto-generated"}.
	// Fields the renderer writes itself (From, Subject, Content-*, ...) are refused.
	Header [][2]string

	Text        string // the body, UTF-8; line breaks are sent as CRLF and a final one is added when missing
	Attachments []Attachment
}

// reserved are the header fields a renderer writes; Header may not set them.
var reserved = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "sender": true,
	"subject": true, "date": true, "message-id": true, "mime-version": true,
	"return-path": true, "received": true,
}

// Validate reports the first reason m cannot be rendered, naming the
// field: a line break, NUL or other control character in a header value
// or address (header injection), invalid UTF-8, a missing From, To, Date
// or Message-ID, or a message over the limits (MaxSize, MaxRecipients,
// MaxAttachments, 900 bytes per header value). The error wraps ErrInvalid.
func (m *Message) Validate() error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func (m *Message) validate() error {
	if err := m.From.check(); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if len(m.To) == 0 {
		return fmt.Errorf("to: no recipient")
	}
	if n := len(m.To) + len(m.Cc); n > MaxRecipients {
		return fmt.Errorf("to and cc: %d recipients, at most %d allowed; send several messages", n, MaxRecipients)
	}
	for i, a := range m.To {
		if err := a.check(); err != nil {
			return fmt.Errorf("to[%d]: %w", i, err)
		}
	}
	for i, a := range m.Cc {
		if err := a.check(); err != nil {
			return fmt.Errorf("cc[%d]: %w", i, err)
		}
	}
	if m.ReplyTo != nil {
		if err := m.ReplyTo.check(); err != nil {
			return fmt.Errorf("reply-to: %w", err)
		}
	}
	if err := checkHeaderText(m.Subject, maxHeaderValueLen); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	if m.Date.IsZero() {
		return fmt.Errorf("date: missing")
	}
	if y := m.Date.Year(); y < 1900 || y > 9999 {
		return fmt.Errorf("date: year %d out of range", y)
	}
	if err := checkMessageID(m.MessageID); err != nil {
		return fmt.Errorf("message-id: %w", err)
	}
	size := len(m.Subject) + len(m.Text)
	for i, h := range m.Header {
		if err := checkFieldName(h[0]); err != nil {
			return fmt.Errorf("header[%d] name %q: %w", i, h[0], err)
		}
		if err := checkHeaderText(h[1], maxHeaderValueLen); err != nil {
			return fmt.Errorf("header[%d] %s: %w", i, h[0], err)
		}
		size += len(h[0]) + len(h[1])
	}
	if !utf8.ValidString(m.Text) {
		return fmt.Errorf("text: not valid UTF-8")
	}
	if strings.IndexByte(m.Text, 0) >= 0 {
		return fmt.Errorf("text: contains a NUL byte")
	}
	if len(m.Attachments) > MaxAttachments {
		return fmt.Errorf("attachments: %d, at most %d allowed", len(m.Attachments), MaxAttachments)
	}
	for i, a := range m.Attachments {
		if err := a.check(); err != nil {
			return fmt.Errorf("attachments[%d]: %w", i, err)
		}
		size += len(a.Name) + len(a.Data)
	}
	if size > MaxSize {
		return fmt.Errorf("size: %d bytes, at most %d allowed; split the data over several messages", size, MaxSize)
	}
	return nil
}

func (a Attachment) check() error {
	if a.Name == "" {
		return fmt.Errorf("name: missing")
	}
	if err := checkHeaderText(a.Name, maxNameLen); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if strings.ContainsAny(a.Name, `/\`) {
		return fmt.Errorf("name %q: contains a path separator; give a bare file name", a.Name)
	}
	if a.ContentType == "" {
		return nil
	}
	if len(a.ContentType) > maxContentTypeLen {
		return fmt.Errorf("content type: longer than %d bytes", maxContentTypeLen)
	}
	mt, _, err := mime.ParseMediaType(a.ContentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", a.ContentType, err)
	}
	if !strings.Contains(mt, "/") {
		return fmt.Errorf("content type %q: not type/subtype", a.ContentType)
	}
	if strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
		return fmt.Errorf("content type %q: composite types cannot be attached as data", a.ContentType)
	}
	return nil
}

// checkFieldName refuses header names that are not RFC 5322 field names,
// and those the renderer writes itself.
func checkFieldName(name string) error {
	if name == "" || len(name) > 76 {
		return fmt.Errorf("must be 1 to 76 characters")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == ':' {
			return fmt.Errorf("contains %q; only printable ASCII without ':' is allowed", c)
		}
	}
	l := strings.ToLower(name)
	if reserved[l] || strings.HasPrefix(l, "content-") {
		return fmt.Errorf("is set by the renderer; use the Message field")
	}
	return nil
}

// isAtext reports whether c may appear in an RFC 5322 dot-atom (with '.').
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0
}

// checkMessageID accepts "<left@right>" with dot-atom sides.
func checkMessageID(id string) error {
	if id == "" {
		return fmt.Errorf("missing; use NewMessageID")
	}
	if len(id) > 250 {
		return fmt.Errorf("longer than 250 bytes")
	}
	inner, ok := strings.CutPrefix(id, "<")
	if ok {
		inner, ok = strings.CutSuffix(inner, ">")
	}
	left, right, found := strings.Cut(inner, "@")
	if !ok || !found || left == "" || right == "" || strings.Contains(right, "@") {
		return fmt.Errorf("%q is not like <id@domain>", id)
	}
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c != '@' && !isAtext(c) {
			return fmt.Errorf("%q contains %q", id, c)
		}
	}
	return nil
}

// NewMessageID returns "<ident@domain>", the same for the same ident, so
// that a notification sent twice carries one Message-ID. Characters that
// cannot appear in a Message-ID are replaced by '-'. An empty ident gets a
// random one; an empty domain becomes "tocsin.invalid".
func NewMessageID(ident, domain string) string {
	if ident == "" {
		var r [16]byte
		rand.Read(r[:])
		ident = hex.EncodeToString(r[:])
	}
	if domain == "" {
		domain = "tocsin.invalid"
	}
	return "<" + idPart(ident) + "@" + idPart(domain) + ">"
}

// idPart maps s to a dot-atom: atext kept, anything else (and "@") '-',
// no leading, trailing or doubled dots, at most 100 bytes.
func idPart(s string) string {
	b := []byte(s)
	if len(b) > 100 {
		b = b[:100]
	}
	for i, c := range b {
		if !isAtext(c) || c == '.' && (i == 0 || i == len(b)-1 || b[i-1] == '.') {
			b[i] = '-'
		}
	}
	return string(b)
}

// Bytes renders m unsigned: CRLF line ends, 7-bit, MIME-Version 1.0, a
// text/plain part alone or multipart/mixed with the attachments.
func (m *Message) Bytes() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(m.encodedSize())
	m.writeHeader(&b)
	b.WriteString("MIME-Version: 1.0\r\n")
	m.writeEntity(&b)
	return b.Bytes(), nil
}

// WriteTo writes what Bytes returns to w.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	p, err := m.Bytes()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(p)
	return int64(n), err
}

// encodedSize estimates the rendered size, to allocate once.
func (m *Message) encodedSize() int {
	// Quoted-printable: a byte outside printable ASCII takes three (most
	// of a Vietnamese text), and a soft line break three per 73.
	q := len(m.Text)
	for i := 0; i < len(m.Text); i++ {
		if c := m.Text[i]; c >= 0x7f || c < ' ' && c != '\n' || c == '=' {
			q += 2
		}
	}
	n := 2048 + q + q/73*3 + len(m.Text)/64*2
	for _, a := range m.Attachments {
		n += 512 + len(a.Data)*140/100
	}
	return n
}

// writeHeader writes the fields that describe the message as a whole:
// those that stay outside a signature.
func (m *Message) writeHeader(b *bytes.Buffer) {
	writeHeader(b, "Date", m.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	writeHeader(b, "From", m.From.String())
	writeHeader(b, "To", addressList(m.To))
	if len(m.Cc) > 0 {
		writeHeader(b, "Cc", addressList(m.Cc))
	}
	if m.ReplyTo != nil {
		writeHeader(b, "Reply-To", m.ReplyTo.String())
	}
	writeHeader(b, "Subject", unstructured(m.Subject, true))
	writeHeader(b, "Message-ID", m.MessageID)
	for _, h := range m.Header {
		writeHeader(b, h[0], unstructured(h[1], false))
	}
}

func addressList(as []Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// writeEntity writes the MIME entity of the content, its Content-* fields
// and body: what a signature covers (RFC 3156 §5).
func (m *Message) writeEntity(b *bytes.Buffer) {
	if len(m.Attachments) == 0 {
		writeText(b, m.Text)
		return
	}
	bd := boundary(m.MessageID, "mixed")
	writeHeader(b, "Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": bd}))
	b.WriteString("\r\n")
	b.WriteString("--" + bd + "\r\n")
	writeText(b, m.Text)
	for _, a := range m.Attachments {
		b.WriteString("\r\n--" + bd + "\r\n")
		a.write(b)
	}
	b.WriteString("\r\n--" + bd + "--\r\n")
}

func writeText(b *bytes.Buffer, text string) {
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	writeQP(b, text)
}

func (a Attachment) write(b *bytes.Buffer) {
	mt, params := "application/octet-stream", map[string]string{}
	if a.ContentType != "" {
		mt, params, _ = mime.ParseMediaType(a.ContentType) // checked by Validate
	}
	if strings.HasPrefix(mt, "text/") && params["charset"] == "" {
		params["charset"] = "utf-8"
	}
	params["name"] = a.Name
	writeHeader(b, "Content-Type", mime.FormatMediaType(mt, params))
	b.WriteString("Content-Transfer-Encoding: base64\r\n")
	writeHeader(b, "Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	b.WriteString("\r\n")
	writeBase64(b, a.Data)
}
