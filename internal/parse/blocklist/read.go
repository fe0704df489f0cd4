package blocklist

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
)

// ErrFormat is returned when a report is not in the format its feed names:
// its first record could not be read and nothing in it (a header, an
// earlier good row) showed it to be of that format.
var ErrFormat = errors.New("report is not in the feed's format")

// maxLine bounds one line; a longer line is rejected, not read.
const maxLine = 1 << 20

// scanner reads a report line by line. Lines end in "\n" or "\r\n"; a
// leading UTF-8 byte order mark is dropped.
type scanner struct {
	r       *bufio.Reader
	line    []byte // the current line, without its end
	n       int    // the current line's 1-based number
	tooLong bool   // the current line was longer than maxLine and is cut
	long    []byte
	err     error
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: bufio.NewReaderSize(r, 64<<10)}
}

func (s *scanner) next() bool {
	if s.err != nil {
		return false
	}
	s.n++
	s.tooLong = false
	b, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = s.r.ReadSlice('\n')
			if len(s.long)+len(b) <= maxLine {
				s.long = append(s.long, b...)
			} else {
				s.tooLong = true
			}
		}
		b = s.long
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
	s.line = b
	return true
}

// Err returns the read error that ended the scan, if any.
func (s *scanner) Err() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

// session is the state of one Parse: the input, the output, the line
// scanner and the one Event every record reuses.
type session struct {
	ctx  context.Context
	in   *parse.Input
	out  parse.Output
	sc   *scanner
	e    event.Event
	what string // the format's name, for messages
	// confirmed is set once the report has shown it is of the format: a
	// header was recognised or a record was read. Until then a bad
	// record is a whole-report error (ErrFormat), since a report of
	// another kind would otherwise become one reject per line.
	confirmed bool
}

func newSession(ctx context.Context, in *parse.Input, out parse.Output, what string) *session {
	return &session{ctx: ctx, in: in, out: out, sc: newScanner(in.R), what: what}
}

// next moves to the next line; it stops at the end of the report, on a
// read error and when ctx is done (see err).
func (s *session) next() bool {
	if s.sc.n&1023 == 1023 && s.ctx.Err() != nil {
		return false
	}
	return s.sc.next()
}

// err returns why next stopped, nil at the end of the report.
func (s *session) err() error {
	if err := s.sc.Err(); err != nil {
		return fmt.Errorf("read %s: line %d: %w", s.what, s.sc.n, err)
	}
	return s.ctx.Err()
}

// begin resets the event for a new record with the feed's defaults.
func (s *session) begin() error {
	if err := parse.Begin(&s.e, s.in); err != nil {
		return fmt.Errorf("feed %q: %w", s.in.Feed.Name, err)
	}
	return nil
}

// emit validates the current event and hands it on; an invalid event is
// rejected.
func (s *session) emit() error {
	s.e.Raw = append(s.e.Raw[:0], s.sc.line...)
	if err := s.e.Validate(); err != nil {
		return s.reject(err)
	}
	s.confirmed = true
	return s.out.Event(&s.e, s.sc.n)
}

// reject quarantines the current line with reason, or, while the report
// has not shown it is of the format, ends the parse with ErrFormat.
func (s *session) reject(reason error) error {
	if !s.confirmed {
		return fmt.Errorf("%w: not a %s: line %d: %v", ErrFormat, s.what, s.sc.n, reason)
	}
	return s.out.Reject(s.sc.n, s.sc.line, reason)
}

// tooLong rejects the current line if it was cut; it reports whether it did.
func (s *session) tooLong() (bool, error) {
	if !s.sc.tooLong {
		return false, nil
	}
	return true, s.reject(fmt.Errorf("line is longer than %d bytes", maxLine))
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// setExtra stores the text v, when there is one, under extra.key; the
// error (a value too long to keep) names the column.
func setExtra(e *event.Event, key, column, v string) error {
	if v == "" {
		return nil
	}
	if err := e.Set("extra."+key, v); err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	return nil
}

// setInt stores v under extra.key as a number when it is one, else as text.
func setInt(e *event.Event, key, column, v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		e.SetExtra(key, n)
		return nil
	}
	return setExtra(e, key, column, v)
}

// setURL stores u as source.url and its host as source.ip or
// source.fqdn, so that the event can be matched to the host's owner.
func setURL(e *event.Event, column, u string) error {
	if err := e.Set("source.url", u); err != nil {
		return fmt.Errorf("%s: %w", column, err)
	}
	setHost(e, urlHost(e.Source.URL))
	return nil
}

// setHost sets source.ip or source.fqdn from a host name or address; a
// host that is neither is left out (the URL still says it).
func setHost(e *event.Event, h string) {
	if h == "" {
		return
	}
	if c := h[len(h)-1]; c >= '0' && c <= '9' || strings.IndexByte(h, ':') >= 0 {
		if a, err := event.ParseIP(h); err == nil {
			e.Source.IP = a
			return
		}
	}
	if checkDomain(h) != nil {
		return
	}
	if f, err := event.NormFQDN(h); err == nil {
		e.Source.FQDN = f
	}
}

// urlHost returns the host of an absolute URL, without user, port and
// IPv6 brackets, or "".
func urlHost(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	h := u[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			return h[1:j]
		}
		return ""
	}
	if j := strings.LastIndexByte(h, ':'); j >= 0 {
		h = h[:j]
	}
	return h
}

// defaultClass sets the classification IntelMQ gives this kind of data
// when the feed's configuration names none.
func defaultClass(e *event.Event, taxonomy, typ string) {
	if e.Classification.Type == "" {
		e.Classification.Taxonomy = taxonomy
		e.Classification.Type = typ
	}
}

// checkDomain reports whether s can be a domain name: labels of letters,
// digits, '-' and '_' (or non-ASCII, for IDNs) between dots, the last of
// them not a number. event.NormFQDN is more lenient; this is for lines
// whose kind is guessed.
func checkDomain(s string) error {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return errors.New("a domain name has 1 to 253 characters")
	}
	label, digits := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return errors.New("a domain name has no empty labels")
			}
			label, digits = 0, true
			continue
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_', c >= 0x80:
			digits = false
		default:
			return fmt.Errorf("%q cannot be in a domain name", c)
		}
		label++
	}
	if label == 0 {
		return errors.New("a domain name has no empty labels")
	}
	if digits {
		return errors.New("the last label of a domain name is not a number")
	}
	return nil
}
