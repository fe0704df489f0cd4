// Package parse defines how a report becomes events. Each format lives in
// its own subpackage and implements Parser; the ingest pipeline picks one by
// the feed's format.
package parse

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
)

// Input is one report to parse.
type Input struct {
	// R is the report's content, already decompressed.
	R io.Reader
	// Name is the report's file name as the user gave it (without the
	// compression suffix), for report-type detection and messages.
	Name string
	// Report is the report type the user named (--report), or "".
	Report string
	// Feed is the feed's configuration; never nil.
	Feed *feed.Feed
	// Now is the observation time of every event of this report.
	Now time.Time
}

// Output receives what a parser finds.
type Output interface {
	// Event receives one event parsed from the record that starts at line
	// (1-based). The parser owns e and may reuse it once Event returns; the
	// receiver copies what it keeps. An error stops the parse and is
	// returned by Parse.
	Event(e *event.Event, line int) error
	// Reject receives a record that could not be turned into an event, with
	// the reason; the parse goes on with the next record. raw may be reused
	// once Reject returns.
	Reject(line int, raw []byte, reason error) error
}

// Parser reads one report. It returns an error only when the report as a
// whole cannot be read (unknown report type, no header, I/O error); a bad
// record is rejected through Output and the parse goes on.
type Parser interface {
	Parse(ctx context.Context, in Input, out Output) error
}

// Func adapts a function to Parser.
type Func func(ctx context.Context, in Input, out Output) error

// Parse calls f.
func (f Func) Parse(ctx context.Context, in Input, out Output) error { return f(ctx, in, out) }

// ErrUnknownReport is returned when a report's type cannot be told from its
// name and none was given.
var ErrUnknownReport = errors.New("unknown report type")

// Begin prepares e for a new record of in: it resets e and fills the fields
// every event of the feed carries (feed name, provider, documentation,
// accuracy, TLP, observation time, the feed's classification and constant
// fields). Parsers call it first for each record, then set what the record
// says, which overrides these defaults.
func Begin(e *event.Event, in *Input) error {
	e.Reset()
	f := in.Feed
	e.Feed.Name = f.Name
	e.Feed.Provider = f.Provider
	e.Feed.Documentation = f.Documentation
	if f.Accuracy != nil {
		e.Feed.Accuracy = event.Some(*f.Accuracy)
	}
	e.TimeObservation = in.Now
	e.Classification = event.Classification(f.Classification)
	if f.TLP != "" {
		if err := e.Set("tlp", f.TLP); err != nil {
			return err
		}
	}
	for k, v := range f.Constant {
		if err := e.Set(k, v); err != nil {
			return err
		}
	}
	return nil
}
