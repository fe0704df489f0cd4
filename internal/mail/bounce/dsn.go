package bounce

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

// dsn is the body of a message/delivery-status part (RFC 3464 section
// 2.1): per-message fields, then one group of fields per recipient.
type dsn struct {
	message    header
	recipients []header
}

const maxRecipients = 500

// parseDSN splits a delivery-status body into its groups of fields. A
// group that names a recipient (Final-Recipient, Original-Recipient or
// Action) is a recipient's, even the first: some MTAs omit the
// per-message fields.
func parseDSN(b []byte) *dsn {
	d := &dsn{message: header{}}
	br := bufio.NewReader(bytes.NewReader(b))
	for len(d.recipients) < maxRecipients {
		if _, err := br.Peek(1); err != nil {
			break
		}
		h, err := readHeader(br)
		if err != nil {
			break
		}
		switch {
		case len(h) == 0:
		case h.has("Final-Recipient") || h.has("Original-Recipient") || h.has("Action"):
			d.recipients = append(d.recipients, h)
		case len(d.recipients) == 0:
			for k, v := range h {
				d.message[k] = append(d.message[k], v...)
			}
		}
	}
	return d
}

var (
	statusRE      = regexp.MustCompile(`\b[245]\.[0-9]{1,3}\.[0-9]{1,3}\b`)
	exactStatusRE = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}$`)
)

// classifyDSN fills res from a delivery-status report: Bounce when any
// recipient failed, Delay when none failed and any was delayed, Other for
// a report of success (delivered, relayed, expanded).
func classifyDSN(res *Result, d *dsn) {
	var failed, delayed *Recipient
	for _, h := range d.recipients {
		rc := Recipient{
			Email:      dsnAddress(h.get("Original-Recipient")),
			Action:     strings.ToLower(firstWord(h.get("Action"))),
			Status:     firstWord(h.get("Status")),
			Diagnostic: dsnDiagnostic(h.get("Diagnostic-Code")),
		}
		if final := dsnAddress(h.get("Final-Recipient")); rc.Email == "" || !strings.Contains(rc.Email, "@") {
			rc.Email = final
		}
		if !exactStatusRE.MatchString(rc.Status) {
			if s := statusRE.FindString(rc.Diagnostic); s != "" {
				rc.Status = s
			}
		}
		if rc.Action == "" {
			// Action is required, but not always there; the status class
			// says the same.
			switch {
			case strings.HasPrefix(rc.Status, "5."):
				rc.Action = "failed"
			case strings.HasPrefix(rc.Status, "4."):
				rc.Action = "delayed"
			}
		}
		res.Recipients = append(res.Recipients, rc)
	}
	for i := range res.Recipients {
		rc := &res.Recipients[i]
		switch {
		case rc.Action == "failed" && failed == nil:
			failed = rc
		case rc.Action == "delayed" && delayed == nil:
			delayed = rc
		}
	}
	switch {
	case failed != nil:
		res.Kind = Bounce
		res.Reason = failureReason(failed.Status, failed.Diagnostic)
	case delayed != nil:
		res.Kind = Delay
		res.Reason = "delayed: " + failureReason(delayed.Status, delayed.Diagnostic)
	case len(res.Recipients) > 0:
		res.Kind = Other
		res.Reason = "delivery report: " + res.Recipients[0].Action
	default:
		res.Kind = Other
		res.Reason = "delivery report without recipients"
	}
}

// dsnAddress returns the address of an "address-type; address" field,
// "rfc822; a@b" → "a@b".
func dsnAddress(field string) string {
	if _, addr, ok := strings.Cut(field, ";"); ok {
		field = addr
	}
	field = strings.TrimSpace(field)
	field = strings.TrimPrefix(field, "<")
	field = strings.TrimSuffix(field, ">")
	return strings.TrimSpace(field)
}

// dsnDiagnostic drops the diagnostic type, "smtp; 550 ..." → "550 ...".
func dsnDiagnostic(field string) string {
	if typ, text, ok := strings.Cut(field, ";"); ok && typ != "" && !strings.ContainsAny(strings.TrimSpace(typ), " \t") {
		field = text
	}
	return strings.TrimSpace(field)
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return strings.TrimRight(f[0], ";,")
	}
	return ""
}

// failureReason is "5.1.1 user unknown" from an RFC 3463 status, or the
// start of the diagnostic when the status is unknown.
func failureReason(status, diagnostic string) string {
	if text := statusText(status); text != "" {
		return status + " " + text
	}
	if diagnostic != "" {
		return shorten(diagnostic, 100)
	}
	if status != "" {
		return status
	}
	return "delivery failed"
}

// statusTexts are the subjects and details of RFC 3463 (and RFC 7505,
// RFC 7372) that bounces to notification contacts commonly carry.
var statusTexts = map[string]string{
	"0.0":  "other or undefined status",
	"1.0":  "other address status",
	"1.1":  "user unknown",
	"1.2":  "destination domain unknown",
	"1.3":  "bad destination address syntax",
	"1.4":  "destination mailbox address ambiguous",
	"1.6":  "destination mailbox has moved",
	"1.10": "recipient not found (Exchange) or null MX",
	"2.0":  "mailbox problem",
	"2.1":  "mailbox disabled",
	"2.2":  "mailbox full",
	"2.3":  "message too large for mailbox",
	"2.4":  "mailing list expansion problem",
	"3.0":  "mail system problem",
	"3.1":  "mail system full",
	"3.2":  "system not accepting mail",
	"3.4":  "message too big for system",
	"4.0":  "network or routing problem",
	"4.1":  "no answer from host",
	"4.2":  "bad connection",
	"4.3":  "directory server failure",
	"4.4":  "unable to route",
	"4.6":  "routing loop",
	"4.7":  "delivery time expired",
	"5.0":  "protocol problem",
	"5.3":  "too many recipients",
	"6.0":  "media error",
	"7.0":  "security or policy problem",
	"7.1":  "delivery not authorized, message refused",
	"7.23": "SPF validation failed",
	"7.25": "reverse DNS validation failed",
	"7.26": "multiple authentication checks failed",
	"7.27": "sender address has null MX",
}

func statusText(status string) string {
	if !exactStatusRE.MatchString(status) {
		return ""
	}
	return statusTexts[status[2:]]
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
