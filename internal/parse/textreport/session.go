package textreport

import (
	"context"
	"fmt"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
)

// Session is the state of one Parse of a report of one record per line:
// the input, the output, the line Scanner and the one Event every record
// reuses. A parser's loop is
//
//	s := textreport.NewSession(ctx, &in, out, "Feodo Tracker IP blocklist")
//	for s.Next() {
//		// skip blank and comment lines, read a header (s.Confirm) ...
//		if err := s.Begin(); err != nil {
//			return err
//		}
//		err := fill(&s.Event, s.Text())
//		if err := s.Finish(err); err != nil {
//			return err
//		}
//	}
//	return s.Err()
//
// Until the report has shown it is of the format (Confirm, or a first
// event) a bad record is a whole-report error wrapping ErrFormat: a report
// of another kind, such as an HTML error page, would otherwise become one
// reject per line.
type Session struct {
	// Event is the event of the current record; Begin resets it.
	Event event.Event

	ctx       context.Context
	in        *parse.Input
	out       parse.Output
	sc        *Scanner
	what      string // the format's name, for messages
	confirmed bool
	fields    []string
	stop      error // why Next stopped, when a reject failed
}

// NewSession starts a parse of in.R, whose lines are at most MaxLine
// bytes long. what names the format in messages: "not a what".
func NewSession(ctx context.Context, in *parse.Input, out parse.Output, what string) *Session {
	return &Session{ctx: ctx, in: in, out: out, sc: NewScanner(in.R, MaxLine), what: what}
}

// Next moves to the next line. A line longer than MaxLine is rejected
// here and passed over. Next stops at the end of the report, on a read
// error, when a reject fails and when ctx is done; Err says which.
func (s *Session) Next() bool {
	for {
		if s.sc.Line()&1023 == 1023 && s.ctx.Err() != nil {
			return false
		}
		if !s.sc.Scan() {
			return false
		}
		long := s.sc.TooLong()
		if long == nil {
			return true
		}
		if err := s.reject(long); err != nil {
			s.stop = err
			return false
		}
	}
}

// Err returns why Next stopped; nil at the end of the report.
func (s *Session) Err() error {
	if s.stop != nil {
		return s.stop
	}
	if err := s.sc.Err(); err != nil {
		return fmt.Errorf("read %s: line %d: %w", s.what, s.sc.Line(), err)
	}
	return s.ctx.Err()
}

// Bytes returns the current line without its end; it is valid until the
// next call of Next.
func (s *Session) Bytes() []byte { return s.sc.Bytes() }

// Text returns the current line as a string.
func (s *Session) Text() string { return string(s.sc.Bytes()) }

// SplitCSV splits line (see SplitCSV) into storage the Session reuses:
// the fields are valid until its next call.
func (s *Session) SplitCSV(line string) ([]string, error) {
	f, err := SplitCSV(s.fields, line)
	s.fields = f
	return f, err
}

// Confirm records that the report has shown it is of the format (a
// header was recognised): from now on a bad record is rejected alone.
func (s *Session) Confirm() { s.confirmed = true }

// Begin resets Event for a new record with the feed's defaults (see
// parse.Begin). Its error, a bad feed default, ends the parse.
func (s *Session) Begin() error {
	if err := parse.Begin(&s.Event, s.in); err != nil {
		return fmt.Errorf("feed %q: %w", s.in.Feed.Name, err)
	}
	return nil
}

// Finish ends the current record: when err is nil it validates Event and
// hands it on (an invalid event is rejected with the reason), else it
// rejects the line with err. Its error ends the parse: the Output's
// error, or ErrFormat while the report has not shown it is of the format.
func (s *Session) Finish(err error) error {
	if err != nil {
		return s.reject(err)
	}
	s.Event.Raw = append(s.Event.Raw[:0], s.sc.Bytes()...)
	if err := s.Event.Validate(); err != nil {
		return s.reject(err)
	}
	s.confirmed = true
	return s.out.Event(&s.Event, s.sc.Line())
}

// reject quarantines the current line with reason, or, while the report
// has not shown it is of the format, ends the parse with ErrFormat.
func (s *Session) reject(reason error) error {
	if !s.confirmed {
		return fmt.Errorf("%w: not a %s: line %d: %v", ErrFormat, s.what, s.sc.Line(), reason)
	}
	return s.out.Reject(s.sc.Line(), s.sc.Bytes(), reason)
}
