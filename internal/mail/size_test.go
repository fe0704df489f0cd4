package mail

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestEncodedSize: the estimate a message's buffer is allocated with is
// not below the size it encodes to, so that it is allocated once, whatever
// the language of the text and however many the attachments.
func TestEncodedSize(t *testing.T) {
	texts := map[string]string{
		"en": strings.Repeat("What we saw: systems in your network connected to a sinkhole.\n", 300),
		"vi": strings.Repeat("Những gì đã ghi nhận: các hệ thống trong mạng của Quý đơn vị đã kết nối.\n", 300),
		"=":  strings.Repeat("a=b ", 5000),
	}
	for name, text := range texts {
		for _, n := range []int{0, 1, 20} {
			m := &Message{
				From: Address{Name: "CERT", Email: "cert@example.org"}, To: []Address{{Email: "abuse@example.net"}},
				Subject: "x", Date: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), MessageID: "<a@example.org>", Text: text,
			}
			for i := range n {
				m.Attachments = append(m.Attachments, Attachment{Name: fmt.Sprintf("TOCSIN-20261125-000001-kind-of-report-%02d.csv", i), ContentType: "text/csv; charset=utf-8", Data: []byte(strings.Repeat("a,b,c\n", 30))})
			}
			b, err := m.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if est := m.encodedSize(); est < len(b) {
				t.Errorf("%s, %d attachments: estimated %d bytes, encoded %d", name, n, est, len(b))
			}
		}
	}
}
