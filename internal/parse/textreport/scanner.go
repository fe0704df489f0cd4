package textreport

import (
	"bufio"
	"fmt"
	"io"
)

// longPrefix is how much of an overlong line a Scanner keeps: enough to
// recognise it in a reject.
const longPrefix = 256

// Scanner reads a report line by line. A line ends in "\n" or "\r\n" (the
// last one may lack it); a UTF-8 byte order mark before the first line is
// dropped.
//
// A line longer than the Scanner's bound is not kept: TooLong says so, and
// Bytes holds only its first 256 bytes, for the reject.
type Scanner struct {
	r       *bufio.Reader
	max     int
	line    []byte // the current line, without its end
	n       int    // the current line's 1-based number
	long    bool   // the current line is longer than max
	buf     []byte // a line longer than the bufio.Reader's buffer
	err     error
	errLong error
}

// NewScanner returns a Scanner of r whose lines may be up to max bytes
// long, not counting their end. When r is a *bufio.Reader of 64 KiB or
// more, the Scanner reads from it directly, after what was peeked.
func NewScanner(r io.Reader, max int) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Scan moves to the next line. It returns false at the end of the report
// and on a read error (see Err).
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	s.n++
	s.long = false
	b, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.buf = append(s.buf[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = s.r.ReadSlice('\n')
			// Room for the line's end, which is not counted.
			if !s.long && len(s.buf)+len(b) <= s.max+len("\r\n") {
				s.buf = append(s.buf, b...)
			} else {
				s.long = true
			}
		}
		b = s.buf
	}
	if err != nil {
		s.err = err
		if err != io.EOF || len(b) == 0 {
			return false
		}
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	if s.n == 1 && len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		b = b[3:]
	}
	if len(b) > s.max {
		s.long = true
	}
	if s.long {
		b = b[:min(len(b), longPrefix)]
	}
	s.line = b
	return true
}

// Bytes returns the current line without its end; it is valid until the
// next Scan.
func (s *Scanner) Bytes() []byte { return s.line }

// Line returns the current line's 1-based number; after Scan returned
// false on a read error, the number of the line that could not be read.
func (s *Scanner) Line() int { return s.n }

// TooLong returns an error saying so when the current line is longer than
// the Scanner's bound, else nil.
func (s *Scanner) TooLong() error {
	if !s.long {
		return nil
	}
	if s.errLong == nil {
		s.errLong = fmt.Errorf("line is longer than %d bytes", s.max)
	}
	return s.errLong
}

// Err returns the read error that ended the scan; nil at the end of the
// report.
func (s *Scanner) Err() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}
