package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

var date = time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("CET", 3600))

func baseMessage() *Message {
	return &Message{
		From:      Address{"CSIRT", "cert@csirt.example"},
		To:        []Address{{"", "abuse@org.example"}},
		Subject:   "Notification TOCSIN-20261124-000123",
		Date:      date,
		MessageID: NewMessageID("TOCSIN-20261124-000123", "csirt.example"),
		Text:      "Hello.\n",
	}
}

// decodeEntity reads a MIME entity as a mail client does and returns its
// text (line ends as LF) and attachments.
func decodeEntity(t *testing.T, contentType, cte string, body io.Reader) (string, []Attachment) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("content type %q: %v", contentType, err)
	}
	if mt == "text/plain" {
		if params["charset"] != "utf-8" || cte != "quoted-printable" {
			t.Errorf("text part %q %q, want utf-8 quoted-printable", contentType, cte)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(body))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
		return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
	}
	if mt != "multipart/mixed" {
		t.Fatalf("content type %q", mt)
	}
	mr := multipart.NewReader(body, params["boundary"])
	p, err := mr.NextPart() // decodes quoted-printable itself
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(p)
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	var atts []Attachment
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "base64" {
			t.Errorf("attachment encoding %q", p.Header.Get("Content-Transfer-Encoding"))
		}
		data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatalf("attachment base64: %v", err)
		}
		_, ctParams, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if ctParams["name"] != p.FileName() {
			t.Errorf("Content-Type name %q, Content-Disposition filename %q", ctParams["name"], p.FileName())
		}
		atts = append(atts, Attachment{Name: p.FileName(), ContentType: p.Header.Get("Content-Type"), Data: data})
	}
	return text, atts
}

// parse renders m and reads it back with net/mail, checking the line
// structure on the way: CRLF only, no line over 998 characters.
func parse(t *testing.T, m *Message) (*mail.Message, []byte) {
	t.Helper()
	raw, err := m.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	checkLines(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v\n%s", err, raw)
	}
	return msg, raw
}

func checkLines(t *testing.T, raw []byte) {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Error("message does not end with CRLF")
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(raw, []byte("\r\n")), []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 998 {
			t.Fatalf("line %d is %d characters", i+1, len(line))
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i+1, line)
			}
		}
	}
}

func TestBytesRoundTrip(t *testing.T) {
	long := strings.Repeat("Sårbara system – ", 20) + "TOCSIN-20261124-000123"
	for _, tc := range []struct {
		name string
		edit func(*Message)
	}{
		{"ascii", func(*Message) {}},
		{"swedish subject", func(m *Message) { m.Subject = "Sårbara system i ert nät" }},
		{"vietnamese", func(m *Message) {
			m.Subject = "Thông báo sự cố an ninh mạng TOCSIN-20261124-000123"
			m.Text = "Kính gửi quý cơ quan,\nChúng tôi phát hiện hệ thống có lỗ hổng.\n"
		}},
		{"portuguese", func(m *Message) {
			m.Subject = "Notificação de incidente"
			m.Text = "Olá, atenção à segurança.\n"
		}},
		{"long subject", func(m *Message) { m.Subject = long }},
		{"long ascii subject", func(m *Message) { m.Subject = strings.Repeat("word ", 150) + "end" }},
		{"long word", func(m *Message) { m.Subject = "url " + strings.Repeat("x", 500) }},
		{"looks encoded", func(m *Message) { m.Subject = "=?utf-8?q?forged?=" }},
		{"spaces", func(m *Message) { m.Subject = "  two  spaces\tand tab " }},
		{"empty subject", func(m *Message) { m.Subject = "" }},
		{"names", func(m *Message) {
			m.From = Address{"CERT Översikt, \"Ops\"", "cert@csirt.example"}
			m.To = []Address{{"Tổ chức", "a@org.example"}, {"=?utf-8?q?forged?=", "b@org.example"}, {"", "c@org.example"}}
			m.Cc = []Address{{"Doe, John", "d@org.example"}}
			m.ReplyTo = &Address{"Svar", "reply@csirt.example"}
		}},
		{"extra headers", func(m *Message) {
			m.Header = [][2]string{{"X-Tocsin-ID", "TOCSIN-20261124-000123"}, {"Auto-Submitted", "auto-generated"}, {"X-Org", "Företag AB"}}
		}},
		{"line ends", func(m *Message) { m.Text = "crlf\r\nlf\ncr\rlast" }},
		{"qp edge", func(m *Message) {
			m.Text = "From me\nspace at end \ntab\t\n=equals=\n.\n" + strings.Repeat("é", 300) + "\n" + strings.Repeat("a", 2000) + "\n"
		}},
		{"attachments", func(m *Message) {
			m.Attachments = []Attachment{
				{Name: "events.csv", ContentType: "text/csv", Data: []byte("a,b\n1,2\n")},
				{Name: "händelser på svenska.json", ContentType: "application/json", Data: []byte(`{"a":1}`)},
				{Name: "x-arf.json", ContentType: "application/json; charset=utf-8", Data: bytes.Repeat([]byte{0, 1, 2, 255}, 1000)},
				{Name: "\"quoted\" name; x.bin", Data: nil},
				{Name: strings.Repeat("tệp", 50) + ".csv", ContentType: "text/csv", Data: []byte("x")},
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := baseMessage()
			tc.edit(m)
			msg, _ := parse(t, m)
			dec := new(mime.WordDecoder)
			if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != m.Subject {
				t.Errorf("subject = %q (%v), want %q", got, err, m.Subject)
			}
			from, err := msg.Header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != m.From.Name || from[0].Address != m.From.Email {
				t.Errorf("from = %v (%v), want %v", from, err, m.From)
			}
			to, err := msg.Header.AddressList("To")
			if err != nil || len(to) != len(m.To) {
				t.Fatalf("to = %v (%v)", to, err)
			}
			for i, a := range to {
				if a.Name != m.To[i].Name || a.Address != m.To[i].Email {
					t.Errorf("to[%d] = %v, want %v", i, a, m.To[i])
				}
			}
			if m.ReplyTo != nil {
				if rt, err := msg.Header.AddressList("Reply-To"); err != nil || rt[0].Name != m.ReplyTo.Name {
					t.Errorf("reply-to = %v (%v)", rt, err)
				}
			}
			if d, err := msg.Header.Date(); err != nil || !d.Equal(m.Date) {
				t.Errorf("date = %v (%v)", d, err)
			}
			if got := msg.Header.Get("Message-ID"); got != "<TOCSIN-20261124-000123@csirt.example>" {
				t.Errorf("message-id = %q", got)
			}
			if msg.Header.Get("MIME-Version") != "1.0" {
				t.Error("no MIME-Version")
			}
			for _, h := range m.Header {
				if got, _ := dec.DecodeHeader(msg.Header.Get(h[0])); got != h[1] {
					t.Errorf("%s = %q, want %q", h[0], got, h[1])
				}
			}
			text, atts := decodeEntity(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
			if want := wantText(m.Text); text != want {
				t.Errorf("text = %q, want %q", text, want)
			}
			if len(atts) != len(m.Attachments) {
				t.Fatalf("%d attachments, want %d", len(atts), len(m.Attachments))
			}
			for i, a := range atts {
				w := m.Attachments[i]
				if a.Name != w.Name || !bytes.Equal(a.Data, w.Data) {
					t.Errorf("attachment %d = %q (%d bytes), want %q (%d bytes)", i, a.Name, len(a.Data), w.Name, len(w.Data))
				}
			}
		})
	}
}

// wantText is the text a reader gets back: LF line ends, a final one.
func wantText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

func TestBytesFoldsAndIsStable(t *testing.T) {
	m := baseMessage()
	m.Subject = strings.Repeat("Sårbara system – ", 20)
	m.Attachments = []Attachment{{Name: "a.csv", ContentType: "text/csv", Data: []byte("x")}}
	a, _ := m.Bytes()
	b, _ := m.Bytes()
	if !bytes.Equal(a, b) {
		t.Error("the same message rendered to different bytes")
	}
	header, _, _ := bytes.Cut(a, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(header), "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
	if !bytes.Contains(a, []byte("\r\nFrom: ")) || bytes.Contains(a, []byte("\nFrom me")) {
		t.Error("unexpected From line")
	}
}

func TestValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Message)
		field string
	}{
		{"crlf subject", func(m *Message) { m.Subject = "x\r\nBcc: victim@example.org" }, "subject"},
		{"lf subject", func(m *Message) { m.Subject = "x\nBcc: v@example.org" }, "subject"},
		{"nul subject", func(m *Message) { m.Subject = "x\x00" }, "subject"},
		{"escape in subject", func(m *Message) { m.Subject = "x\x1b[31m" }, "subject"},
		{"bad utf-8 subject", func(m *Message) { m.Subject = "x\xff" }, "subject"},
		{"crlf from name", func(m *Message) { m.From.Name = "CSIRT\r\nBcc: v@example.org" }, "from: name"},
		{"crlf to email", func(m *Message) { m.To[0].Email = "a@b.example\r\nBcc: v@example.org" }, "to[0]"},
		{"to name", func(m *Message) { m.To = append(m.To, Address{"x\ny", "b@org.example"}) }, "to[1]: name"},
		{"cc", func(m *Message) { m.Cc = []Address{{"", "not an address"}} }, "cc[0]"},
		{"reply-to", func(m *Message) { m.ReplyTo = &Address{"", "x"} }, "reply-to"},
		{"non-ascii email", func(m *Message) { m.To[0].Email = "abuse@exämple.se" }, "xn--"},
		{"header value", func(m *Message) { m.Header = [][2]string{{"X-Tocsin-ID", "A\r\nBcc: v@example.org"}} }, "header[0] X-Tocsin-ID"},
		{"header name", func(m *Message) { m.Header = [][2]string{{"X-A: b\r\nBcc", "x"}} }, "header[0] name"},
		{"reserved header", func(m *Message) { m.Header = [][2]string{{"bcc", "v@example.org"}} }, "set by the renderer"},
		{"content header", func(m *Message) { m.Header = [][2]string{{"Content-Type", "text/html"}} }, "set by the renderer"},
		{"no from", func(m *Message) { m.From = Address{} }, "from"},
		{"no to", func(m *Message) { m.To = nil }, "to: no recipient"},
		{"too many", func(m *Message) { m.To = make([]Address, MaxRecipients+1) }, "recipients"},
		{"no date", func(m *Message) { m.Date = time.Time{} }, "date"},
		{"no message-id", func(m *Message) { m.MessageID = "" }, "message-id"},
		{"bad message-id", func(m *Message) { m.MessageID = "<a b@c>" }, "message-id"},
		{"message-id crlf", func(m *Message) { m.MessageID = "<a@b>\r\nBcc: x" }, "message-id"},
		{"text nul", func(m *Message) { m.Text = "a\x00" }, "text"},
		{"text utf-8", func(m *Message) { m.Text = "\xc3" }, "text"},
		{"attachment name crlf", func(m *Message) { m.Attachments = []Attachment{{Name: "a\r\n.csv"}} }, "attachments[0]: name"},
		{"attachment path", func(m *Message) { m.Attachments = []Attachment{{Name: "../../etc/passwd"}} }, "path separator"},
		{"attachment no name", func(m *Message) { m.Attachments = []Attachment{{Data: []byte("x")}} }, "attachments[0]: name"},
		{"attachment type", func(m *Message) { m.Attachments = []Attachment{{Name: "a", ContentType: "text/csv\r\nX: y"}} }, "content type"},
		{"attachment multipart", func(m *Message) { m.Attachments = []Attachment{{Name: "a", ContentType: "multipart/mixed"}} }, "composite"},
		{"oversize subject", func(m *Message) { m.Subject = strings.Repeat("x", 901) }, "subject: longer"},
		{"oversize", func(m *Message) {
			m.Attachments = []Attachment{{Name: "a", Data: make([]byte, MaxSize)}}
		}, "size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := baseMessage()
			tc.edit(m)
			err := m.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %q, want it to name %q", err, tc.field)
			}
			if _, err := m.Bytes(); err == nil {
				t.Error("Bytes rendered an invalid message")
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Address
		err  bool
	}{
		{"cert@csirt.example", Address{"", "cert@csirt.example"}, false},
		{"CERT <cert@csirt.example>", Address{"CERT", "cert@csirt.example"}, false},
		{"=?utf-8?q?=C3=96versikt?= <a@b.example>", Address{"Översikt", "a@b.example"}, false},
		{`"Doe, John" <j@d.example>`, Address{"Doe, John", "j@d.example"}, false},
		{"no address", Address{}, true},
		{"a@b.example\r\nBcc: x@y", Address{}, true},
		{"Ö <ö@exämple.se>", Address{}, true},
	} {
		got, err := ParseAddress(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseAddress(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil {
			back, err := ParseAddress(got.String())
			if err != nil || back != got {
				t.Errorf("ParseAddress(%q.String() = %q) = %v, %v", tc.in, got.String(), back, err)
			}
		}
	}
}

func TestNewMessageID(t *testing.T) {
	for _, tc := range []struct{ ident, domain, want string }{
		{"TOCSIN-20261124-000123", "csirt.example", "<TOCSIN-20261124-000123@csirt.example>"},
		{"a b@c<d>", "csirt.example", "<a-b-c-d-@csirt.example>"},
		{".x..y.", "", "<-x.-y-@tocsin.invalid>"},
		{"å", "csirt.example", "<--@csirt.example>"},
	} {
		got := NewMessageID(tc.ident, tc.domain)
		if got != tc.want {
			t.Errorf("NewMessageID(%q, %q) = %q, want %q", tc.ident, tc.domain, got, tc.want)
		}
		if err := checkMessageID(got); err != nil {
			t.Errorf("NewMessageID(%q) = %q: %v", tc.ident, got, err)
		}
	}
	a, b := NewMessageID("", "x.example"), NewMessageID("", "x.example")
	if a == b || checkMessageID(a) != nil {
		t.Errorf("random ids %q %q", a, b)
	}
}

// FuzzMessage renders arbitrary field values: Validate and Bytes never
// panic, and whatever Bytes renders parses with net/mail and gives the
// subject and text back.
func FuzzMessage(f *testing.F) {
	f.Add("Subject", "Name", "a@b.example", "X-H", "value", "text\n", "a.csv", []byte("1,2"))
	f.Add("Sårbara\r\nBcc: x", "Tổ chức", "a@b", "Bcc", "v", "From x\r\n.\n", "ä/b", []byte{0})
	f.Add("=?utf-8?q?x?=  ", "\"q\"", "<a@b>", "X", "=?", "\r", "", []byte{})
	f.Fuzz(func(t *testing.T, subject, name, email, hname, hvalue, text, aname string, data []byte) {
		m := baseMessage()
		m.Subject, m.Text = subject, text
		m.To = []Address{{name, email}}
		m.Header = [][2]string{{hname, hvalue}}
		if aname != "" {
			m.Attachments = []Attachment{{Name: aname, ContentType: "text/csv", Data: data}}
		}
		raw, err := m.Bytes()
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		checkLines(t, raw)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("net/mail: %v", err)
		}
		if got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
			t.Fatalf("subject %q (%v), want %q", got, err, subject)
		}
		if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != email || to[0].Name != name {
			t.Fatalf("to = %v (%v), want %q <%s>", to, err, name, email)
		}
		if n := len(msg.Header[textproto.CanonicalMIMEHeaderKey(hname)]); n != 1 {
			t.Fatalf("header %q appears %d times", hname, n)
		}
		got, atts := decodeEntity(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		if got != wantText(text) {
			t.Fatalf("text %q, want %q", got, wantText(text))
		}
		if aname != "" && (len(atts) != 1 || atts[0].Name != aname || !bytes.Equal(atts[0].Data, data)) {
			t.Fatalf("attachment %+v", atts)
		}
	})
}

// BenchmarkBytes renders a typical notification unsigned: a 3 KB text
// and a 50 KB CSV attachment.
func BenchmarkBytes(b *testing.B) {
	m := baseMessage()
	m.Text = strings.Repeat("Vi har sett sårbara system i ert nät. Xin chào. Olá.\n", 3000/54)
	m.Attachments = []Attachment{{Name: "events.csv", ContentType: "text/csv",
		Data: bytes.Repeat([]byte("2026-11-24T10:00:00Z,192.0.2.1,64496,vulnerable-system,ssl-freak,Example AS\n"), 50_000/78)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
