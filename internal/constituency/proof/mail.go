package proof

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/constituency"
)

// Mail is the message that asks the RIPE abuse-c of a network or an AS
// number to confirm that an organisation holds it.
type Mail struct {
	From    string   // bare address of the sender
	To      []string // bare addresses of the abuse-c
	Org     constituency.Org
	Link    Link
	URL     string // the confirmation link
	Holder  string // the RIPE organisation the abuse-c is of
	Date    time.Time
	Product string // what the service is called in the text; "" is TOCSIN
}

// Subject is the mail's subject: "Confirm that <org> holds <resource> —
// TOCSIN".
func (m *Mail) Subject() string {
	return fmt.Sprintf("Confirm that %s holds %s — %s", oneLine(m.orgName()), m.Link.Resource(), m.product())
}

// MessageID is the mail's Message-ID without the angle brackets, the same
// for the same link.
func (m *Mail) MessageID() string {
	sum := sha256.Sum256([]byte(m.URL))
	domain := "tocsin.invalid"
	if _, d, ok := strings.Cut(m.From, "@"); ok && d != "" {
		domain = d
	}
	return "confirm-" + hex.EncodeToString(sum[:12]) + "@" + domain
}

// Text is the mail's body, plain text with LF line ends.
func (m *Mail) Text() string {
	res := m.Link.Resource()
	kind := "the network"
	if m.Link.Kind == constituency.AssetASN {
		kind = "the AS number"
	}
	name := oneLine(m.orgName())
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\n")
	fmt.Fprintf(&b, "%s (%s) has registered %s %s with %s, the service\n", name, m.Org.ID, kind, res, m.product())
	fmt.Fprintf(&b, "that tells organisations about security events on their networks.\n\n")
	fmt.Fprintf(&b, "You receive this mail because the RIPE database names this address as the\n")
	if m.Link.Kind == constituency.AssetASN {
		fmt.Fprintf(&b, "abuse contact (abuse-c) of %s, which holds %s.\n\n", m.Holder, res)
	} else {
		fmt.Fprintf(&b, "abuse contact (abuse-c) of %s, which holds %s\n", m.Holder, res)
		fmt.Fprintf(&b, "or the range that contains it.\n\n")
	}
	fmt.Fprintf(&b, "If %s does hold %s, confirm it by opening this link\n", name, res)
	fmt.Fprintf(&b, "before %s:\n\n", m.Link.Expires.UTC().Format("2 January 2006 15:04 MST"))
	fmt.Fprintf(&b, "  %s\n\n", m.URL)
	fmt.Fprintf(&b, "Until it is confirmed, no events about %s are attributed to\n", res)
	fmt.Fprintf(&b, "%s. If you do not know this organisation, or it does not hold\n", name)
	fmt.Fprintf(&b, "%s, ignore this mail: nothing happens without confirmation.\n\n", res)
	fmt.Fprintf(&b, "-- \n%s\n", m.product())
	return b.String()
}

// Bytes is the whole message (RFC 5322, CRLF line ends): plain text in
// UTF-8, 7bit when it is ASCII, else quoted-printable.
func (m *Mail) Bytes() []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", oneLine(m.From))
	header("To", oneLine(strings.Join(m.To, ", ")))
	// Encoded words hold no spaces: the ones between them are where the
	// header folds.
	header("Subject", strings.ReplaceAll(mime.QEncoding.Encode("utf-8", m.Subject()), "?= =?", "?=\r\n =?"))
	header("Date", m.Date.Format(time.RFC1123Z))
	header("Message-ID", "<"+m.MessageID()+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Auto-Submitted", "auto-generated")
	text := m.Text()
	if isASCII(text) {
		header("Content-Transfer-Encoding", "7bit")
		b.WriteString("\r\n")
		b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
		return b.Bytes()
	}
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	// The writer encodes CRLF as a line break (Binary false).
	w.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	w.Close()
	return b.Bytes()
}

func (m *Mail) orgName() string {
	if m.Org.Name != "" {
		return m.Org.Name
	}
	return m.Org.ID
}

func (m *Mail) product() string {
	if m.Product != "" {
		return m.Product
	}
	return "TOCSIN"
}

// oneLine makes s one line: control characters (CR, LF, ...) become
// spaces, so no text from the registry can add a header.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
