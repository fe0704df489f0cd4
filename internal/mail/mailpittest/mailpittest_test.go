package mailpittest_test

import (
	"bytes"
	"fmt"
	"net/smtp"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/mail/mailpittest"
)

// The helper is checked with the standard library's SMTP client, so that
// it does not lean on the client it is there to test.
func TestStartSendRead(t *testing.T) {
	s := mailpittest.Start(t)
	const n = 3
	for i := range n {
		msg := "From: CERT <cert@example.org>\r\n" +
			"To: abuse@example.net\r\n" +
			fmt.Sprintf("Subject: report %d\r\n", i) +
			fmt.Sprintf("Message-ID: <m%d@example.org>\r\n", i) +
			"MIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
			"--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=events.csv\r\n\r\n" +
			"ip,port\r\n192.0.2.1,23\r\n--b--\r\n"
		if err := smtp.SendMail(s.SMTPAddr, nil, "cert@example.org", []string{"abuse@example.net"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	list := s.Messages(t)
	if len(list) != n || s.Count(t) != n {
		t.Fatalf("got %d messages (count %d), want %d", len(list), s.Count(t), n)
	}
	m := s.Message(t, list[0].ID)
	if m.Subject != "report 2" || m.MessageID != "m2@example.org" || m.From.Address != "cert@example.org" ||
		len(m.To) != 1 || m.To[0].Address != "abuse@example.net" {
		t.Errorf("message = %+v", m)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].FileName != "events.csv" || m.Attachments[0].ContentType != "text/csv" {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	if got := s.Attachment(t, m.ID, m.Attachments[0].PartID); string(got) != "ip,port\r\n192.0.2.1,23" {
		t.Errorf("attachment = %q", got)
	}
	if raw := s.Raw(t, m.ID); !bytes.Contains(raw, []byte("Subject: report 2\r\n")) {
		t.Errorf("raw message lacks its subject:\n%s", raw)
	}
	s.DeleteAll(t)
	if got := s.Count(t); got != 0 {
		t.Errorf("after DeleteAll: %d messages", got)
	}
}

func TestMessagesPages(t *testing.T) {
	s := mailpittest.Start(t)
	const n = 1203 // more than a page
	c, err := smtp.Dial(s.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range n {
		if err := c.Mail("a@example.org"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("b@example.net"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "Subject: %d\r\nMessage-ID: <%d@x>\r\n\r\nhi\r\n", i, i)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, m := range s.Messages(t) {
		seen[m.Subject] = true
	}
	if len(seen) != n {
		t.Errorf("Messages saw %d distinct messages, want %d", len(seen), n)
	}
}

func TestChaos(t *testing.T) {
	s := mailpittest.Start(t, mailpittest.Chaos())
	s.SetChaos(t, mailpittest.ChaosTriggers{Recipient: mailpittest.ChaosTrigger{ErrorCode: 452, Probability: 100}})
	err := smtp.SendMail(s.SMTPAddr, nil, "a@example.org", []string{"b@example.net"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "452") {
		t.Fatalf("with chaos on recipients: %v, want 452", err)
	}
	s.SetChaos(t, mailpittest.ChaosTriggers{})
	if err := smtp.SendMail(s.SMTPAddr, nil, "a@example.org", []string{"b@example.net"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("with chaos off: %v", err)
	}
}
