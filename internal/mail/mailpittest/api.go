package mailpittest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Address is a name and address from a message's headers.
type Address struct {
	Name    string
	Address string
}

// MessageSummary is a message as GET /api/v1/messages lists it.
type MessageSummary struct {
	ID          string // mailpit's database ID, for Message, Raw and Attachment
	MessageID   string // the Message-ID header, without <>
	From        *Address
	To, Cc, Bcc []Address // Bcc: envelope recipients not in To or Cc
	Subject     string
	Created     time.Time
	Size        uint64
	Attachments int // how many
	Snippet     string
}

// Attachment is one attached part of a message.
type Attachment struct {
	PartID      string // for Server.Attachment
	FileName    string
	ContentType string
	ContentID   string
	Size        uint64
}

// Message is a message as GET /api/v1/message/{ID} shows it.
type Message struct {
	ID                   string
	MessageID            string
	From                 *Address
	To, Cc, Bcc, ReplyTo []Address
	ReturnPath           string // the envelope sender
	Subject              string
	Date                 time.Time
	Username             string // who authenticated to send it
	Text, HTML           string
	Size                 uint64
	Inline               []Attachment
	Attachments          []Attachment
}

// Messages lists every message received, newest first, fetching page by
// page.
func (s *Server) Messages(t testing.TB) []MessageSummary {
	t.Helper()
	const limit = 1000
	var all []MessageSummary
	for start := 0; ; start += limit {
		var page struct {
			Total    int
			Messages []MessageSummary
		}
		s.getJSON(t, fmt.Sprintf("/api/v1/messages?start=%d&limit=%d", start, limit), &page)
		all = append(all, page.Messages...)
		if len(page.Messages) < limit || len(all) >= page.Total {
			return all
		}
	}
}

// Count is how many messages mailpit holds.
func (s *Server) Count(t testing.TB) int {
	t.Helper()
	var page struct{ Total int }
	s.getJSON(t, "/api/v1/messages?limit=1", &page)
	return page.Total
}

// Message returns one message's headers, bodies and attachments.
func (s *Server) Message(t testing.TB, id string) *Message {
	t.Helper()
	var m Message
	s.getJSON(t, "/api/v1/message/"+url.PathEscape(id), &m)
	return &m
}

// Raw returns a message as mailpit received it (with its Received header).
func (s *Server) Raw(t testing.TB, id string) []byte {
	t.Helper()
	return s.do(t, http.MethodGet, "/api/v1/message/"+url.PathEscape(id)+"/raw", nil)
}

// Attachment returns the decoded content of one part of a message.
func (s *Server) Attachment(t testing.TB, id, partID string) []byte {
	t.Helper()
	return s.do(t, http.MethodGet, "/api/v1/message/"+url.PathEscape(id)+"/part/"+url.PathEscape(partID), nil)
}

// DeleteAll deletes every message.
func (s *Server) DeleteAll(t testing.TB) {
	t.Helper()
	s.do(t, http.MethodDelete, "/api/v1/messages", nil)
}

// ChaosTrigger makes the SMTP server reply ErrorCode (400-599) with
// Probability percent (0-100, 0 is off).
type ChaosTrigger struct {
	ErrorCode   int
	Probability int
}

// ChaosTriggers are mailpit's chaos settings: Sender fails MAIL FROM,
// Recipient fails every RCPT TO, Authentication fails AUTH.
type ChaosTriggers struct {
	Sender         ChaosTrigger
	Recipient      ChaosTrigger
	Authentication ChaosTrigger
}

// SetChaos replaces the chaos triggers; the server must have been started
// with Chaos. ChaosTriggers{} turns them all off.
func (s *Server) SetChaos(t testing.TB, c ChaosTriggers) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s.do(t, http.MethodPut, "/api/v1/chaos", b)
}

func (s *Server) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(s.do(t, http.MethodGet, path, nil), v); err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
}

// do makes one API request and fails the test unless it answers 200.
func (s *Server) do(t testing.TB, method, path string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.HTTPURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("mailpit %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("mailpit %s %s: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return b
}
