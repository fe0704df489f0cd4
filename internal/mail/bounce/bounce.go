// Package bounce reads what comes back to the CSIRT's mailbox after a
// notification: bounces (RFC 3464 delivery status notifications and the
// common non-standard ones), delay notices, and auto-replies (RFC 3834 and
// vacation conventions), and ties each to the notification it answers.
//
// Classify reads one message; Maildir, Mbox and IMAP read a mailbox.
// What to do with the result (a bouncing contact falls back down the
// chain, an auto-replying functional mailbox is flagged to the analysts)
// is the caller's business.
package bounce

import (
	"bufio"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
)

// Kind is what a message read from the mailbox is.
type Kind int

const (
	// Other is a human reply, a message we cannot place, or a report that
	// is neither a failure nor a delay (a "delivered" DSN, a read receipt).
	Other Kind = iota
	// Bounce is a permanent delivery failure: the recipient will not get
	// the notification.
	Bounce
	// Delay is a notice that delivery is still being retried; it is not
	// a failure.
	Delay
	// AutoReply is an automatic answer (vacation, ticket system): the
	// message was delivered, but nobody read it yet.
	AutoReply
)

func (k Kind) String() string {
	switch k {
	case Bounce:
		return "bounce"
	case Delay:
		return "delay"
	case AutoReply:
		return "auto-reply"
	case Other:
		return "other"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Result is what Classify learned from one message. Fields it could not
// find are empty.
type Result struct {
	Kind Kind
	// Recipients are the per-recipient fields of a DSN, or the addresses
	// a non-standard bounce names. Empty for auto-replies and Other.
	Recipients []Recipient
	// OriginalMessageID is the Message-ID, without angle brackets, of the
	// message this one answers: from the returned message or headers of a
	// bounce, else from In-Reply-To/References (one of ours preferred).
	OriginalMessageID string
	// Ident is the notification ID, "TOCSIN-20261124-000123": the
	// X-Tocsin-ID of the returned message when present, else found in
	// OriginalMessageID, References, a subject, or the text of a bounce.
	Ident string
	// From is the bare address this message came from (the auto-replier;
	// MAILER-DAEMON for most bounces), or the raw field when it is not an
	// address.
	From    string
	Subject string // decoded
	// Reason is a short text for people: "5.1.1 user unknown",
	// "auto-reply (Auto-Submitted: auto-replied)".
	Reason string
}

// Recipient is one recipient named in a bounce or delay notice.
type Recipient struct {
	Email      string // Original-Recipient when given as an address, else Final-Recipient
	Action     string // lower case: failed, delayed, delivered, relayed, expanded
	Status     string // RFC 3463 code, "5.1.1"; may be "" for non-standard bounces
	Diagnostic string // the remote server's words, "550 5.1.1 <x@y>: user unknown"
}

// identRE matches a notification ID as tocsin writes it.
var identRE = regexp.MustCompile(`TOCSIN-[0-9]{8}-[0-9]{6}`)

// Classify reads one RFC 5322 message (CRLF or LF line ends; a leading
// mbox "From " line is allowed) and says what it is. It returns an error
// only when r fails or holds no header at all; anything it cannot make
// sense of is Kind Other. At most 16 MiB of r is read.
//
// The order of the checks matters: a DSN is a Bounce or Delay even though
// most carry "Auto-Submitted: auto-replied"; a non-standard bounce (qmail,
// Exim, MAILER-DAEMON) is looked for before auto-reply markers for the
// same reason.
func Classify(r io.Reader) (*Result, error) {
	src := &errReader{r: io.LimitReader(r, maxMessage)}
	br := bufio.NewReaderSize(src, 32<<10)
	h, err := readHeader(br)
	if err != nil {
		return nil, fmt.Errorf("read message header: %w", err)
	}
	if len(h) == 0 {
		return nil, errNoHeader
	}
	res := &Result{
		From:    fromAddress(h.get("From")),
		Subject: decodeWords(h.get("Subject")),
	}

	var m parsed
	count := 0
	walk(h, br, 0, &count, m.add)
	if src.err != nil {
		return nil, fmt.Errorf("read message body: %w", src.err)
	}

	switch {
	case m.dsn != nil:
		classifyDSN(res, m.dsn)
	case classifyNonStandard(res, h, &m):
	case m.report == "disposition-notification":
		res.Kind = Other
		res.Reason = "read receipt"
	case classifyAutoReply(res, h):
	default:
		res.Kind = Other
	}

	// The message this one answers. A report returns it (or its header);
	// a non-standard bounce may quote it inline. For anything else the
	// reply headers come first: a human reply may forward other mail.
	orig := m.original
	report := m.dsn != nil || res.Kind == Bounce || res.Kind == Delay
	if orig == nil && report {
		orig = inlineOriginal(m.text)
	}
	if !report {
		res.OriginalMessageID = replyTarget(h)
		if res.OriginalMessageID != "" {
			orig = nil
		}
	}
	if orig != nil {
		res.OriginalMessageID = msgID(orig.get("Message-Id"))
		res.Ident = identRE.FindString(orig.get("X-Tocsin-Id"))
		if res.Ident == "" {
			res.Ident = identRE.FindString(res.OriginalMessageID)
		}
		if res.Ident == "" {
			res.Ident = identRE.FindString(decodeWords(orig.get("Subject")))
		}
		if len(res.Recipients) == 0 && res.Kind == Bounce {
			// Our notifications go to one address: without a better
			// source, the returned message's To is the recipient.
			if to := fromAddress(orig.get("To")); to != "" {
				res.Recipients = []Recipient{{Email: to, Action: "failed"}}
			}
		}
	}
	if res.OriginalMessageID == "" {
		res.OriginalMessageID = replyTarget(h)
	}
	if res.Ident == "" {
		res.Ident = identRE.FindString(res.OriginalMessageID)
	}
	if res.Ident == "" {
		res.Ident = identRE.FindString(h.get("References"))
	}
	if res.Ident == "" {
		res.Ident = identRE.FindString(res.Subject)
	}
	if res.Ident == "" {
		res.Ident = identRE.FindString(string(m.text))
	}
	return res, nil
}

// parsed collects what the walk over a message's parts found.
type parsed struct {
	dsn      *dsn   // the first message/(global-)delivery-status part
	original header // header of the first returned message or headers part
	text     []byte // the text/plain parts, concatenated and capped
	report   string // "disposition-notification" for a read receipt
}

func (m *parsed) add(p part) {
	switch p.mediaType {
	case "message/delivery-status", "message/global-delivery-status":
		if m.dsn == nil {
			m.dsn = parseDSN(p.body)
		}
	case "message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers",
		"message/partial":
		if m.original == nil {
			if h := headerOf(p.body); len(h) > 0 {
				m.original = h
			}
		}
	case "text/plain":
		if len(m.text) < maxTextBytes {
			m.text = append(m.text, p.body...)
			m.text = append(m.text, '\n')
		}
	case "message/disposition-notification":
		m.report = "disposition-notification"
	}
}

// errReader remembers the first error of r other than EOF, so that a
// failing source is told apart from a message that merely ends early.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// fromAddress returns the bare address of an address field, the first
// when there are several, or the field itself when it does not parse.
func fromAddress(field string) string {
	if field == "" {
		return ""
	}
	if list, err := mail.ParseAddressList(field); err == nil && len(list) > 0 {
		return list[0].Address
	}
	// Broken display names are common; take what is between <>.
	if i := strings.LastIndexByte(field, '<'); i >= 0 {
		if j := strings.IndexByte(field[i:], '>'); j > 0 {
			return strings.TrimSpace(field[i+1 : i+j])
		}
	}
	return strings.TrimSpace(decodeWords(field))
}

// msgIDs returns the message IDs in a Message-ID, In-Reply-To or
// References field, without angle brackets.
func msgIDs(field string) []string {
	var ids []string
	for {
		i := strings.IndexByte(field, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(field[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(field[i+1 : i+j]); id != "" {
			ids = append(ids, id)
		}
		field = field[i+j+1:]
	}
	if len(ids) == 0 {
		// Some software drops the brackets.
		if f := strings.Fields(field); len(f) == 1 && strings.Contains(f[0], "@") {
			ids = append(ids, f[0])
		}
	}
	return ids
}

func msgID(field string) string {
	if ids := msgIDs(field); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// replyTarget is the message h answers: the first of ours (an ID with a
// notification ID in it) in In-Reply-To, then References from the last,
// else the In-Reply-To.
func replyTarget(h header) string {
	irt := msgIDs(h.get("In-Reply-To"))
	refs := msgIDs(h.get("References"))
	for _, id := range irt {
		if identRE.MatchString(id) {
			return id
		}
	}
	for i := len(refs) - 1; i >= 0; i-- {
		if identRE.MatchString(refs[i]) {
			return refs[i]
		}
	}
	if len(irt) > 0 {
		return irt[0]
	}
	if len(refs) > 0 {
		return refs[len(refs)-1]
	}
	return ""
}
