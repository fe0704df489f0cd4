package textreport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// scanAll returns the lines of input as "N:text" and "N:long" entries.
func scanAll(t *testing.T, input string, max int) ([]string, error) {
	t.Helper()
	sc := NewScanner(strings.NewReader(input), max)
	var got []string
	for sc.Scan() {
		if sc.TooLong() != nil {
			if len(sc.Bytes()) > longPrefix {
				t.Errorf("line %d: kept %d bytes of an overlong line", sc.Line(), len(sc.Bytes()))
			}
			got = append(got, fmt.Sprintf("%d:long", sc.Line()))
			continue
		}
		got = append(got, fmt.Sprintf("%d:%s", sc.Line(), sc.Bytes()))
	}
	return got, sc.Err()
}

func TestScanner(t *testing.T) {
	big := strings.Repeat("x", 200<<10) // longer than the bufio buffer
	tests := []struct {
		name, input string
		max         int
		want        string
	}{
		{"empty", "", 10, "[]"},
		{"lines", "a\nb\n", 10, "[1:a 2:b]"},
		{"no final end", "a\nb", 10, "[1:a 2:b]"},
		{"crlf", "a\r\nb\r\n\r\n", 10, "[1:a 2:b 3:]"},
		{"lone cr kept inside", "a\rb\n", 10, "[1:a\rb]"},
		{"bom", "\xef\xbb\xbfa\n\xef\xbb\xbfb\n", 10, "[1:a 2:\xef\xbb\xbfb]"},
		{"at the bound", "0123456789\r\n", 10, "[1:0123456789]"},
		{"over the bound", "0123456789a\nb\n", 10, "[1:long 2:b]"},
		{"bom not counted", "\xef\xbb\xbf0123456789\n", 10, "[1:0123456789]"},
		{"long across buffers", "a\n" + big + "\nb", 100 << 10, "[1:a 2:long 3:b]"},
		{"long across buffers at the end", "a\n" + big, 100 << 10, "[1:a 2:long]"},
		{"big within the bound", big + "\nb\n", 300 << 10, "[1:" + big + " 2:b]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanAll(t, tt.input, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got); s != tt.want {
				t.Errorf("got  %.80q\nwant %.80q", s, tt.want)
			}
		})
	}
}

func TestScannerTooLong(t *testing.T) {
	sc := NewScanner(strings.NewReader(strings.Repeat("x", 20)+"\nok\n"), 10)
	if !sc.Scan() || sc.TooLong() == nil || sc.TooLong().Error() != "line is longer than 10 bytes" {
		t.Fatalf("TooLong = %v", sc.TooLong())
	}
	if string(sc.Bytes()) != strings.Repeat("x", 20) {
		t.Errorf("Bytes = %q, want the line, which is under 256 bytes", sc.Bytes())
	}
	if !sc.Scan() || sc.TooLong() != nil || string(sc.Bytes()) != "ok" {
		t.Errorf("after the long line: %q, %v", sc.Bytes(), sc.TooLong())
	}
}

func TestScannerReadError(t *testing.T) {
	errDisk := errors.New("disk on fire")
	sc := NewScanner(&failAfter{r: strings.NewReader("a\nb\nc"), n: 4, err: errDisk}, 10)
	var got []string
	for sc.Scan() {
		got = append(got, string(sc.Bytes()))
	}
	if !errors.Is(sc.Err(), errDisk) || sc.Line() != 3 || fmt.Sprint(got) != "[a b]" {
		t.Errorf("lines %q, error %v at line %d; want [a b] and the read error at line 3", got, sc.Err(), sc.Line())
	}
}

// failAfter reads n bytes of r, then fails with err.
type failAfter struct {
	r   io.Reader
	n   int
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	n, err := f.r.Read(p[:min(len(p), f.n)])
	f.n -= n
	return n, err
}

// FuzzScanner checks the Scanner against bytes.Split: the same lines, each
// without its "\r", the overlong ones flagged.
func FuzzScanner(f *testing.F) {
	f.Add([]byte("a\r\nb\n\nc"), uint8(3))
	f.Add([]byte("\xef\xbb\xbfabcdef\n\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, max uint8) {
		var want []string
		lines := bytes.Split(data, []byte("\n"))
		if len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		for i, l := range lines {
			l = bytes.TrimSuffix(l, []byte("\r"))
			if i == 0 {
				l = bytes.TrimPrefix(l, []byte("\xef\xbb\xbf"))
			}
			if len(l) > int(max) {
				want = append(want, fmt.Sprintf("%d:long", i+1))
			} else {
				want = append(want, fmt.Sprintf("%d:%s", i+1, l))
			}
		}
		got, err := scanAll(t, string(data), int(max))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	})
}
