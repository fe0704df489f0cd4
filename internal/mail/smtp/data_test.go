package smtp

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"
	"testing"
)

// dotWriter is what textproto's DotWriter writes for msg, the reference.
func dotWriter(msg []byte) []byte {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	dw := textproto.NewWriter(w).DotWriter()
	dw.Write(msg)
	dw.Close()
	return b.Bytes()
}

func checkData(t *testing.T, msg []byte) {
	t.Helper()
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	if err := writeData(w, msg); err != nil {
		t.Fatal(err)
	}
	if want := dotWriter(msg); !bytes.Equal(b.Bytes(), want) {
		t.Errorf("writeData(%q) = %q, want %q", msg, b.Bytes(), want)
	}
}

func TestWriteData(t *testing.T) {
	for _, m := range []string{
		"", "a", "a\r\n", "a\n", ".", ".\r\n", "..\r\n", "a\r\n.\r\nb\r\n", "a\n.b\n", ".a", "a\r\n.",
		"Subject: x\r\n\r\nbody\r\n.hidden\r\nend", "\r\n\r\n", "\n\n.", "x\ry\r\n",
		strings.Repeat("line of text\r\n", 1000) + ".last",
	} {
		checkData(t, []byte(m))
	}
}

func FuzzWriteData(f *testing.F) {
	for _, s := range []string{"a\r\n.b\r\n", ".\n", "x\ry"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		// Bare CRs are the one input where the two may differ, and
		// mail.Message never writes one.
		if bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\r")) {
			return
		}
		checkData(t, msg)
	})
}
