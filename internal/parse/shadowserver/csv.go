package shadowserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// csvReader reads CSV records as Python's csv module reads Shadowserver's
// files (IntelMQ's "unix" dialect, not strict): fields are separated by
// ',', a field that starts with '"' is quoted and "" in it is one quote, a
// quote elsewhere is an ordinary character, characters after a closing
// quote belong to the field, a record ends at a newline outside quotes
// ("\r\n" or "\n"), blank lines are skipped, and a quote still open at the
// end of the input ends the field there.
//
// It is faster than encoding/csv for this job because it does one
// allocation per record: every field is a substring of one string holding
// the record, except fields with "" or text after the closing quote, which
// share a second string. It also keeps the record's bytes and the line it
// starts on.
type csvReader struct {
	r   io.Reader
	buf []byte
	pos int // start of unread data
	end int // end of data
	eof bool
	// nextLine is the line number of buf[pos].
	nextLine int

	// The last record read.
	line   int      // line the record starts on, 1-based
	raw    []byte   // its bytes without the line terminator; valid until next
	fields []string // its fields

	spans []span
	esc   []byte
}

// span locates a field in the record (or, when esc, in csvReader.esc).
type span struct {
	a, b int
	esc  bool
}

const (
	csvBufSize = 64 << 10
	// maxRecord bounds one record, so that a file with an unclosed quote
	// cannot make the reader hold all of it.
	maxRecord = 16 << 20
)

var errMore = errors.New("need more data")

func newCSVReader(r io.Reader) *csvReader {
	return &csvReader{r: r, buf: make([]byte, csvBufSize), nextLine: 1}
}

// next reads the next non-blank record. It returns io.EOF at the end of the
// input.
func (r *csvReader) next() error {
	for {
		if r.pos == r.end {
			if r.eof {
				return io.EOF
			}
			if err := r.fill(); err != nil {
				return err
			}
			continue
		}
		n, err := r.scan()
		if err == errMore {
			if err := r.fill(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		r.raw = r.buf[r.pos : r.pos+n.rawLen]
		r.line = r.nextLine
		r.nextLine += 1 + bytes.Count(r.raw, nl)
		r.pos += n.consumed
		if n.blank {
			continue
		}
		r.makeFields()
		return nil
	}
}

var nl = []byte{'\n'}

type scanned struct {
	consumed int // bytes of the record including its terminator
	rawLen   int // bytes of the record without its terminator
	blank    bool
}

// scan splits the record at buf[pos:end] into spans. It returns errMore
// when the record does not end within the data read so far and more can
// be read.
func (r *csvReader) scan() (scanned, error) {
	buf, p0, end := r.buf, r.pos, r.end
	r.spans = r.spans[:0]
	r.esc = r.esc[:0]
	i := p0
	for {
		if i < end && buf[i] == '"' {
			// A quoted field.
			i++
			seg := i
			escMode := false
			escStart := len(r.esc)
			var a, b int
			for {
				j := bytes.IndexByte(buf[i:end], '"')
				if j < 0 {
					if !r.eof {
						return scanned{}, errMore
					}
					// The quote is never closed: the field runs to the end.
					a, b, i = seg, end, end
					if escMode {
						r.esc = append(r.esc, buf[seg:end]...)
					}
					break
				}
				k := i + j
				if k+1 == end && !r.eof {
					return scanned{}, errMore
				}
				if k+1 < end && buf[k+1] == '"' {
					escMode = true
					r.esc = append(r.esc, buf[seg:k+1]...)
					i = k + 2
					seg = i
					continue
				}
				if escMode {
					r.esc = append(r.esc, buf[seg:k]...)
				}
				a, b = seg, k
				i = k + 1
				// Anything up to the delimiter belongs to the field.
				t := i
				for t < end && buf[t] != ',' && buf[t] != '\n' {
					t++
				}
				if t == end && !r.eof {
					return scanned{}, errMore
				}
				te := t
				if t < end && buf[t] == '\n' && te > i && buf[te-1] == '\r' {
					te--
				}
				if te > i {
					if !escMode {
						escMode = true
						r.esc = append(r.esc, buf[a:b]...)
					}
					r.esc = append(r.esc, buf[i:te]...)
				}
				i = t
				break
			}
			if escMode {
				r.spans = append(r.spans, span{escStart, len(r.esc), true})
			} else {
				r.spans = append(r.spans, span{a - p0, b - p0, false})
			}
		} else {
			t := i
			for t < end && buf[t] != ',' && buf[t] != '\n' {
				t++
			}
			if t == end && !r.eof {
				return scanned{}, errMore
			}
			te := t
			if t < end && buf[t] == '\n' && te > i && buf[te-1] == '\r' {
				te--
			}
			r.spans = append(r.spans, span{i - p0, te - p0, false})
			i = t
		}
		if i-p0 > maxRecord {
			return scanned{}, fmt.Errorf("line %d: record longer than %d MiB; the file is not CSV or has a quote that is never closed", r.nextLine, maxRecord>>20)
		}
		if i < end && buf[i] == ',' {
			i++
			continue
		}
		// The record ends at a newline or at the end of the input.
		rawEnd := i
		consumed := i - p0
		if i < end { // buf[i] == '\n'
			consumed++
			if rawEnd > p0 && buf[rawEnd-1] == '\r' {
				rawEnd--
			}
		}
		blank := len(r.spans) == 1 && !r.spans[0].esc && rawEnd == p0
		return scanned{consumed: consumed, rawLen: rawEnd - p0, blank: blank}, nil
	}
}

// makeFields turns the spans into strings: one allocation for the record,
// one more when a field needed unescaping.
func (r *csvReader) makeFields() {
	r.fields = r.fields[:0]
	var escStr string
	if len(r.esc) > 0 {
		escStr = string(r.esc)
	}
	row := string(r.raw)
	for _, s := range r.spans {
		if s.esc {
			r.fields = append(r.fields, escStr[s.a:s.b])
		} else {
			r.fields = append(r.fields, row[s.a:s.b])
		}
	}
}

// fill moves the unread data to the front of the buffer, grows the buffer
// when a record fills it, and reads until the buffer is full or the input
// ends.
func (r *csvReader) fill() error {
	if r.eof {
		return nil
	}
	if r.pos > 0 {
		r.end = copy(r.buf, r.buf[r.pos:r.end])
		r.pos = 0
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= maxRecord+csvBufSize {
			return fmt.Errorf("line %d: record longer than %d MiB; the file is not CSV or has a quote that is never closed", r.nextLine, maxRecord>>20)
		}
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for empty := 0; r.end < len(r.buf); {
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if err == io.EOF {
			r.eof = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("read report: %w", err)
		}
		if n == 0 {
			if empty++; empty > 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}
