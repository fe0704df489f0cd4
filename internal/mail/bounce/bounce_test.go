package bounce

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// fixtureCases are the messages in testdata/ and what Classify must make
// of them. The mailbox tests reuse them.
var fixtureCases = []struct {
	file       string
	kind       Kind
	recipients []Recipient
	origID     string
	ident      string
	from       string
	reason     string // a substring of Reason
}{
	{
		file:       "rfc3464-simple.eml",
		kind:       Bounce,
		recipients: []Recipient{{Email: "hostmaster@example.edu", Action: "failed", Status: "5.0.0"}},
		origID:     "TOCSIN-20261126-000017@csirt.example",
		ident:      "TOCSIN-20261126-000017",
		from:       "MAILER-DAEMON@mx.example.edu",
		reason:     "5.0.0 other or undefined status",
	},
	{
		file: "rfc3464-multi.eml",
		kind: Bounce,
		recipients: []Recipient{
			{Email: "abuse@example.net", Action: "delivered", Status: "2.0.0"},
			{Email: "noc@example.net", Action: "delayed", Status: "4.4.1"},
			{Email: "security@example.net", Action: "failed", Status: "5.1.1",
				Diagnostic: "550 5.1.1 <sec-team@lists.example.net>... User unknown"},
		},
		origID: "TOCSIN-20261125-000101@csirt.example",
		ident:  "TOCSIN-20261125-000101",
		from:   "postmaster@gw.example.net",
		reason: "5.1.1 user unknown",
	},
	{
		file: "rfc3464-delayed.eml",
		kind: Delay,
		recipients: []Recipient{{Email: "cert@example.org", Action: "delayed", Status: "4.4.1",
			Diagnostic: "connect to mx.example.org[192.0.2.25]:25: Connection timed out"}},
		origID: "TOCSIN-20261127-000002@csirt.example",
		ident:  "TOCSIN-20261127-000002",
		from:   "MAILER-DAEMON@relay.example.org",
		reason: "delayed: 4.4.1 no answer from host",
	},
	{
		file: "postfix-dsn.eml",
		kind: Bounce,
		recipients: []Recipient{{Email: "abuse@example.org", Action: "failed", Status: "5.1.1",
			Diagnostic: "550 5.1.1 <abuse@example.org>: Recipient address rejected: User unknown in virtual mailbox table"}},
		origID: "TOCSIN-20261124-000123@csirt.example",
		ident:  "TOCSIN-20261124-000123",
		from:   "MAILER-DAEMON@relay.example.org",
		reason: "5.1.1 user unknown",
	},
	{
		file: "exchange-ndr.eml",
		kind: Bounce,
		recipients: []Recipient{{Email: "it-security@example.com", Action: "failed", Status: "5.1.10",
			Diagnostic: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}},
		origID: "TOCSIN-20261124-000124@csirt.example",
		ident:  "TOCSIN-20261124-000124",
		from:   "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com",
		reason: "5.1.10 recipient not found",
	},
	{
		file: "global-dsn.eml",
		kind: Bounce,
		recipients: []Recipient{{Email: "管理者@example.jp", Action: "failed", Status: "5.1.1",
			Diagnostic: "550 5.1.1 user unknown"}},
		origID: "TOCSIN-20261124-000160@csirt.example",
		ident:  "TOCSIN-20261124-000160",
		from:   "MAILER-DAEMON@mx.example.jp",
		reason: "5.1.1 user unknown",
	},
	{
		file: "exim-failed.eml",
		kind: Bounce,
		recipients: []Recipient{{Email: "webmaster@example.net", Action: "failed", Status: "5.2.1",
			Diagnostic: "host mx1.example.net [192.0.2.33] SMTP error from remote mail server after RCPT TO:<webmaster@example.net>: 550 5.2.1 <webmaster@example.net>: mailbox disabled, not accepting messages"}},
		origID: "TOCSIN-20261124-000131@csirt.example",
		ident:  "TOCSIN-20261124-000131",
		from:   "Mailer-Daemon@mail.example.net",
		reason: "5.2.1 mailbox disabled",
	},
	{
		file: "qmail.eml",
		kind: Bounce,
		recipients: []Recipient{{Email: "soc@example.com", Action: "failed", Status: "5.1.1",
			Diagnostic: "192.0.2.77 does not like recipient. Remote host said: 550 5.1.1 <soc@example.com>... No such user Giving up on 192.0.2.77."}},
		origID: "TOCSIN-20261124-000140@csirt.example",
		ident:  "TOCSIN-20261124-000140",
		from:   "MAILER-DAEMON@mx.example.com",
		reason: "5.1.1 user unknown",
	},
	{
		file:   "gmail-vacation.eml",
		kind:   AutoReply,
		origID: "TOCSIN-20261124-000150@csirt.example",
		ident:  "TOCSIN-20261124-000150",
		from:   "anna.svensson@example.se",
		reason: "auto-reply (Auto-Submitted: auto-replied)",
	},
	{
		file:   "outlook-automatic-reply.eml",
		kind:   AutoReply,
		origID: "TOCSIN-20261124-000151@csirt.example",
		ident:  "TOCSIN-20261124-000151",
		from:   "p.jansen@example.nl",
		reason: "auto-reply (Auto-Submitted: auto-generated)",
	},
	{
		file:   "autosvar-sv.eml",
		kind:   AutoReply,
		ident:  "TOCSIN-20261124-000152",
		from:   "it@kommun.example.se",
		reason: "auto-reply (subject: Autosvar: [TOCSIN-20261124-000152]",
	},
	{
		file:   "human-reply.eml",
		kind:   Other,
		origID: "TOCSIN-20261124-000153@csirt.example",
		ident:  "TOCSIN-20261124-000153",
		from:   "jan.novak@example.cz",
	},
}

func TestClassifyFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			// The same answer with LF and with CRLF line ends.
			crlf := bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
			for _, in := range [][]byte{b, crlf} {
				got, err := Classify(bytes.NewReader(in))
				if err != nil {
					t.Fatalf("Classify: %v", err)
				}
				checkResult(t, got, tc.kind, tc.recipients, tc.origID, tc.ident, tc.from, tc.reason)
			}
		})
	}
}

func checkResult(t *testing.T, got *Result, kind Kind, recipients []Recipient, origID, ident, from, reason string) {
	t.Helper()
	if got.Kind != kind {
		t.Errorf("Kind = %v, want %v (reason %q)", got.Kind, kind, got.Reason)
	}
	if !reflect.DeepEqual(got.Recipients, recipients) {
		t.Errorf("Recipients =\n  %+v\nwant\n  %+v", got.Recipients, recipients)
	}
	if got.OriginalMessageID != origID {
		t.Errorf("OriginalMessageID = %q, want %q", got.OriginalMessageID, origID)
	}
	if got.Ident != ident {
		t.Errorf("Ident = %q, want %q", got.Ident, ident)
	}
	if got.From != from {
		t.Errorf("From = %q, want %q", got.From, from)
	}
	if !strings.Contains(got.Reason, reason) {
		t.Errorf("Reason = %q, want it to contain %q", got.Reason, reason)
	}
}

// msg builds a small message from header lines and a body.
func msg(body string, header ...string) string {
	return strings.Join(header, "\r\n") + "\r\n\r\n" + body
}

func TestClassifyHeaders(t *testing.T) {
	const ours = "In-Reply-To: <TOCSIN-20261124-000200@csirt.example>"
	tests := []struct {
		name   string
		in     string
		kind   Kind
		reason string
	}{
		{"auto-submitted no is not a marker", msg("hi", "From: a@example.org", "Subject: Re: hello", "Auto-Submitted: no", ours), Other, ""},
		{"auto-submitted with comment", msg("hi", "From: a@example.org", "Subject: hello", "Auto-Submitted: auto-replied (vacation)", ours), AutoReply, "Auto-Submitted: auto-replied (vacation)"},
		{"x-auto-response-suppress is not a marker", msg("hi", "From: a@example.org", "Subject: Re: hello", "X-Auto-Response-Suppress: All", ours), Other, ""},
		{"x-autorespond", msg("hi", "From: a@example.org", "Subject: Re: hello", "X-Autorespond: yes", ours), AutoReply, "X-Autorespond"},
		{"x-autoreply", msg("hi", "From: a@example.org", "Subject: Re: hello", "X-Autoreply: yes", ours), AutoReply, "X-Autoreply: yes"},
		{"precedence auto_reply", msg("hi", "From: a@example.org", "Subject: Re: hello", "Precedence: auto_reply", ours), AutoReply, "Precedence: auto_reply"},
		{"precedence bulk with vacation subject", msg("hi", "From: a@example.org", "Subject: I am on vacation", "Precedence: bulk", ours), AutoReply, "Precedence: bulk"},
		{"precedence bulk alone", msg("hi", "From: a@example.org", "Subject: Newsletter", "Precedence: bulk", ours), Other, ""},
		{"inbox rule with holiday subject", msg("hi", "From: a@example.org", "Subject: Re: holiday notice", "X-MS-Exchange-Inbox-Rules-Loop: a@example.org", ours), AutoReply, "X-MS-Exchange-Inbox-Rules-Loop"},
		{"inbox rule alone (a forward)", msg("hi", "From: a@example.org", "Subject: FW: [TOCSIN-20261124-000200] x", "X-MS-Exchange-Inbox-Rules-Loop: a@example.org"), Other, ""},
		{"vacation words in a human subject", msg("hi", "From: a@example.org", "Subject: Re: vacation of our admin", ours), Other, ""},
		{"auto: prefix", msg("hi", "From: a@example.org", "Subject: AUTO: Maria is out of the office"), AutoReply, "subject: AUTO:"},
		{"out of office", msg("hi", "From: a@example.org", "Subject: Out of Office: [TOCSIN-20261124-000200] x"), AutoReply, "subject"},
		{"frånvaro", msg("hi", "From: a@example.org", "Subject: =?utf-8?q?Fr=C3=A5nvaro?="), AutoReply, "subject: Frånvaro"},
		{"portuguese", msg("hi", "From: a@example.org", "Subject: =?utf-8?q?Resposta_autom=C3=A1tica:_x?="), AutoReply, "Resposta automática"},
		{"vietnamese", msg("hi", "From: a@example.org", "Subject: =?utf-8?b?VHLhuqMgbOG7nWkgdOG7sSDEkeG7mW5nOiBUT0NTSU4=?="), AutoReply, "Trả lời tự động"},
		{"german", msg("hi", "From: a@example.org", "Subject: Abwesenheitsnotiz: [TOCSIN-20261124-000200]"), AutoReply, "Abwesenheitsnotiz"},
		{"bracketed", msg("hi", "From: a@example.org", "Subject: [Auto-Reply] Re: x"), AutoReply, "subject"},
		{"read receipt", msg("--b\r\nContent-Type: text/plain\r\n\r\nread\r\n--b\r\nContent-Type: message/disposition-notification\r\n\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n--b--\r\n",
			"From: a@example.org", "Subject: Read: x", `Content-Type: multipart/report; report-type=disposition-notification; boundary="b"`, ours), Other, "read receipt"},
		{"delivered DSN", msg("--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; a@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n--b--\r\n",
			"From: MAILER-DAEMON@x.example", "Subject: Delivered", `Content-Type: multipart/report; report-type=delivery-status; boundary="b"`), Other, "delivery report: delivered"},
		{"DSN without action", msg("--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@example.org\r\nStatus: 5.7.1\r\n--b--\r\n",
			"From: MAILER-DAEMON@x.example", "Subject: x", `Content-Type: multipart/report; report-type=delivery-status; boundary="b"`), Bounce, "5.7.1 delivery not authorized"},
		{"base64 DSN", msg("--b\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\nRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGFAZXhhbXBsZS5vcmcKQWN0aW9uOiBmYWlsZWQKU3Rh\r\ndHVzOiA1LjIuMgo=\r\n--b--\r\n",
			"From: MAILER-DAEMON@x.example", "Subject: x", `Content-Type: multipart/report; report-type=delivery-status; boundary="b"`), Bounce, "5.2.2 mailbox full"},
		{"exim delay warning", msg("This message was created automatically by mail delivery software.\r\n\r\nA message that you sent has not yet been delivered to one or more of its\r\nrecipients after more than 24 hours on the queue on mail.example.net.\r\n\r\n  abuse@example.net\r\n    Delay reason: SMTP error from remote mail server after RCPT TO:<abuse@example.net>:\r\n    451 4.7.1 Greylisted\r\n",
			"From: Mail Delivery System <Mailer-Daemon@mail.example.net>", "Subject: Warning: message 1tB3xY-0004Qa-1k delayed 24 hours", "Auto-Submitted: auto-replied"), Delay, "delayed: Warning: message"},
		{"daemon delay without DSN", msg("still trying", "From: MAILER-DAEMON@x.example", "Subject: Delayed Mail (still being retried)"), Delay, "delayed"},
		{"postfix bounce without DSN", msg("This is the mail system at host x.\r\n\r\n<a@example.org>: host mx[192.0.2.1] said: 550 5.1.1 user unknown\r\n", "From: MAILER-DAEMON@x.example", "Subject: Undelivered Mail Returned to Sender"), Bounce, "5.1.1 user unknown"},
		{"bounce subject from a person", msg("see below", "From: b@example.org", "Subject: Undelivered Mail Returned to Sender"), Other, ""},
		{"no content type", msg("hello", "From: broken"), Other, ""},
		{"broken multipart", msg("--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recip", "From: x@example.org", `Content-Type: multipart/report; boundary="b"`), Other, "without recipients"},
		{"broken content type", msg("hi", "From: x@example.org", `Content-Type: multipart/report; boundary="b`), Other, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Classify(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("Classify: %v", err)
			}
			if tc.name == "exim delay warning" {
				want := []Recipient{{Email: "abuse@example.net", Action: "delayed", Status: "4.7.1",
					Diagnostic: "Delay reason: SMTP error from remote mail server after RCPT TO:<abuse@example.net>: 451 4.7.1 Greylisted"}}
				if !reflect.DeepEqual(got.Recipients, want) {
					t.Errorf("Recipients = %+v, want %+v", got.Recipients, want)
				}
			}
			if got.Kind != tc.kind {
				t.Errorf("Kind = %v, want %v (reason %q)", got.Kind, tc.kind, got.Reason)
			}
			if !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("Reason = %q, want it to contain %q", got.Reason, tc.reason)
			}
		})
	}
}

func TestClassifyIdent(t *testing.T) {
	tests := []struct {
		name, in, origID, ident string
	}{
		{"ours in references, not in-reply-to",
			msg("x", "From: a@example.org", "In-Reply-To: <other@example.org>", "References: <TOCSIN-20261124-000201@csirt.example> <other@example.org>"),
			"TOCSIN-20261124-000201@csirt.example", "TOCSIN-20261124-000201"},
		{"foreign reply target", msg("x", "From: a@example.org", "In-Reply-To: <other@example.org>"), "other@example.org", ""},
		{"ident from subject", msg("x", "From: a@example.org", "Subject: Re: [TOCSIN-20261124-000202] x"), "", "TOCSIN-20261124-000202"},
		{"ident quoted in body", msg("> Ticket TOCSIN-20261124-000203\r\n", "From: a@example.org", "Subject: question"), "", "TOCSIN-20261124-000203"},
		{"x-tocsin-id wins over message-id", msg("--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <x1@csirt.example>\r\nX-Tocsin-ID: TOCSIN-20261124-000204\r\n--b--\r\n",
			"From: MAILER-DAEMON@x.example", `Content-Type: multipart/report; report-type=delivery-status; boundary="b"`),
			"x1@csirt.example", "TOCSIN-20261124-000204"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Classify(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("Classify: %v", err)
			}
			if got.OriginalMessageID != tc.origID || got.Ident != tc.ident {
				t.Errorf("OriginalMessageID, Ident = %q, %q; want %q, %q", got.OriginalMessageID, got.Ident, tc.origID, tc.ident)
			}
		})
	}
}

func TestClassifyErrors(t *testing.T) {
	if _, err := Classify(strings.NewReader("")); !errors.Is(err, errNoHeader) {
		t.Errorf("empty input: err = %v, want errNoHeader", err)
	}
	if _, err := Classify(strings.NewReader("\r\n\r\nbody only")); !errors.Is(err, errNoHeader) {
		t.Errorf("body only: err = %v, want errNoHeader", err)
	}
	b, _ := os.ReadFile(filepath.Join("testdata", "postfix-dsn.eml"))
	failing := iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(b)))
	if _, err := Classify(failing); !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("failing reader: err = %v, want it to wrap %v", err, iotest.ErrTimeout)
	}
}

func FuzzClassify(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("From: a\r\nContent-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Classify(bytes.NewReader(b))
		if err == nil && res == nil {
			t.Fatal("nil result without error")
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	msg, err := os.ReadFile(filepath.Join("testdata", "exchange-ndr.eml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Classify(bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}
