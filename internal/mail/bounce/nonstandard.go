package bounce

import (
	"bufio"
	"bytes"
	"strings"
)

// Subjects of bounces and delay notices that are not RFC 3464 reports,
// lower case, matched at the start of the subject.
var (
	bounceSubjects = []string{
		"undelivered mail returned to sender", // postfix
		"mail delivery failed",                // exim
		"failure notice",                      // qmail
		"delivery status notification (failure)",
		"undeliverable:", // exchange
		"undeliverable mail",
		"returned mail:", // sendmail
		"delivery failure",
		"mail delivery failure",
		"message not delivered",
		"nondeliverable mail",
		"unzustellbar:", // de exchange
		"non remis :",   // fr exchange
		"non remis:",
		"onbestelbaar:", // nl exchange
		"olevererbart:", // sv exchange
		"ei voitu toimittaa:",
		"no se puede entregar:",
		"não é possível entregar:",
		"impossibile recapitare:",
	}
	delaySubjects = []string{
		"delayed mail (still being retried)", // postfix without DSN
		"delivery status notification (delay)",
		"warning: could not send message",
		"warning: message", // exim: "Warning: message 1xyz delayed 24 hours"
		"delivery delayed:",
		"delayed:",
	}
	// Markers that begin an inline copy of the returned message.
	copyMarkers = []string{
		"below this line is a copy of the message",         // qmail
		"enclosed are the original headers of the message", // qmail
		"this is a copy of the message",                    // exim: "including all the headers" / "'s headers"
		"original message follows",
		"original message headers",
		"the header of the original message is following",
		"----- original message -----",
	}
)

// classifyNonStandard recognises bounces that are not delivery-status
// reports: qmail's, Exim's without DSN, and any message from a mailer
// daemon or postmaster with a bounce subject or X-Failed-Recipients. It
// fills res and reports whether it did.
func classifyNonStandard(res *Result, h header, m *parsed) bool {
	text := string(m.text)
	lowerText := strings.ToLower(text)
	subject := strings.ToLower(res.Subject)
	failedHdr := h.get("X-Failed-Recipients")
	daemon := isDaemon(h.get("From")) || isNullPath(h.get("Return-Path"))

	qmail := strings.Contains(lowerText, "this is the qmail-send program")
	exim := strings.Contains(lowerText, "this message was created automatically by mail delivery software")
	// Exim's delay warnings begin like its bounces.
	eximDelay := exim && strings.Contains(lowerText, "has not yet been delivered")
	switch {
	case failedHdr == "" && (daemon || exim) && (eximDelay || hasPrefix(subject, delaySubjects)):
		res.Kind = Delay
		res.Reason = "delayed: " + shorten(res.Subject, 60)
		res.Recipients = textRecipients(text)
		for i := range res.Recipients {
			res.Recipients[i].Action = "delayed"
		}
		return true
	case qmail, exim, failedHdr != "":
	case daemon && hasPrefix(subject, bounceSubjects):
	default:
		return false
	}

	res.Kind = Bounce
	var found []Recipient
	switch {
	case qmail:
		found = qmailRecipients(text)
	default:
		found = textRecipients(text)
	}
	for _, a := range strings.Split(failedHdr, ",") {
		a = strings.TrimSpace(strings.Trim(strings.TrimSpace(a), "<>"))
		if a == "" {
			continue
		}
		rc := Recipient{Email: a, Action: "failed"}
		for _, f := range found {
			if strings.EqualFold(f.Email, a) {
				rc = f
			}
		}
		res.Recipients = append(res.Recipients, rc)
	}
	if failedHdr == "" {
		res.Recipients = found
	}
	res.Reason = "delivery failed"
	for _, rc := range res.Recipients {
		if rc.Status != "" || rc.Diagnostic != "" {
			res.Reason = failureReason(rc.Status, rc.Diagnostic)
			break
		}
	}
	return true
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isDaemon reports whether an address field is a mail system's own:
// MAILER-DAEMON, postmaster, "Mail Delivery System/Subsystem".
func isDaemon(from string) bool {
	f := strings.ToLower(from)
	addr := strings.ToLower(fromAddress(from))
	local, _, _ := strings.Cut(addr, "@")
	switch local {
	case "mailer-daemon", "postmaster", "mailerdaemon", "mail-daemon", "mdaemon":
		return true
	}
	return strings.Contains(f, "mail delivery system") || strings.Contains(f, "mail delivery subsystem")
}

func isNullPath(returnPath string) bool {
	return strings.TrimSpace(returnPath) == "<>"
}

// qmailRecipients reads qmail's text: after the introduction, each failed
// address alone on a line as "<a@b>:", followed by the remote server's
// words up to an empty line.
func qmailRecipients(text string) []Recipient {
	var out []Recipient
	var cur *Recipient
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "---") {
			break
		}
		if strings.HasPrefix(line, "<") && strings.HasSuffix(line, ">:") && strings.Contains(line, "@") {
			out = append(out, Recipient{Email: line[1 : len(line)-2], Action: "failed"})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if line == "" {
			finishRecipient(cur)
			cur = nil
			continue
		}
		cur.Diagnostic = strings.TrimSpace(cur.Diagnostic + " " + line)
	}
	if cur != nil {
		finishRecipient(cur)
	}
	return out
}

// textRecipients reads a bounce written for people (Exim, postfix
// without DSN, others): an address alone on an indented line, or as
// "<a@b>: reason", followed by indented lines of diagnostic. Only the text
// before the copy of the message is read.
func textRecipients(text string) []Recipient {
	if i := copyMarkerIndex(text); i >= 0 {
		text = text[:i]
	}
	var out []Recipient
	var cur *Recipient
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if addr, rest, ok := addressLine(line); ok && (len(raw) > len(line) || strings.HasPrefix(line, "<")) && (cur == nil || !strings.HasPrefix(raw, "    ")) {
			if cur != nil {
				finishRecipient(cur)
			}
			out = append(out, Recipient{Email: addr, Action: "failed", Diagnostic: rest})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if line == "" {
			finishRecipient(cur)
			cur = nil
			continue
		}
		cur.Diagnostic = strings.TrimSpace(cur.Diagnostic + " " + line)
	}
	if cur != nil {
		finishRecipient(cur)
	}
	if len(out) > maxRecipients {
		out = out[:maxRecipients]
	}
	return out
}

// addressLine reports whether line is an address alone ("a@b", "<a@b>")
// or an address followed by a colon and text ("<a@b>: 550 ...").
func addressLine(line string) (addr, rest string, ok bool) {
	a, rest, _ := strings.Cut(line, ": ")
	a = strings.TrimSuffix(strings.TrimSpace(a), ":")
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	if strings.ContainsAny(a, " \t<>()\"") || strings.Count(a, "@") != 1 || strings.HasPrefix(a, "@") || strings.HasSuffix(a, "@") {
		return "", "", false
	}
	return a, strings.TrimSpace(rest), true
}

func finishRecipient(rc *Recipient) {
	rc.Diagnostic = shorten(rc.Diagnostic, 500)
	if rc.Status == "" {
		rc.Status = statusRE.FindString(rc.Diagnostic)
	}
}

func copyMarkerIndex(text string) int {
	lower := strings.ToLower(text)
	best := -1
	for _, m := range copyMarkers {
		if i := strings.Index(lower, m); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// inlineOriginal finds the header of a returned message quoted in a
// bounce's text after a marker line ("--- Below this line is a copy of
// the message."), or nil.
func inlineOriginal(text []byte) header {
	i := copyMarkerIndex(string(text))
	if i < 0 {
		return nil
	}
	rest := text[i:]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[j+1:]
	} else {
		return nil
	}
	rest = bytes.TrimLeft(rest, "\r\n \t")
	h := headerOf(rest)
	if len(h) == 0 {
		return nil
	}
	return h
}
