// Package intelmq reads and writes IntelMQ events as JSON lines (format
// "intelmq"): one JSON object per line, in IntelMQ's flat form
// ({"source.ip": ...}) or its hierarchical form ({"source": {"ip": ...}}),
// as IntelMQ's file output bot writes them and its JSON parser reads them.
// IntelMQ's "__type" member is ignored.
//
// A report whose first character is "[" is read as one JSON array of event
// objects instead, as IntelMQ's JSON parser does with multiple_events (the
// form NCSC-NL publishes).
//
// The contract other parts of tocsin rely on: what Write writes, Parse reads
// back to the same event. Parse therefore keeps everything a line says,
// including its own feed.*, time.observation and classification, and takes
// from the feed's defaults (parse.Begin) only what the line lacks. The
// feed.* fields and the classification are each taken as a group: a line
// with its own feed.name gets none of the configured feed's other feed.*
// fields, and a line with its own classification.type none of its taxonomy
// or identifier. Parse does not invent a raw member when the line has none
// (IntelMQ's parser stores the line there; tocsin keeps exports stable
// instead). A line with no classification at all, from itself or the feed,
// gets the type "undetermined", as in IntelMQ. The configured feed's TLP and
// constant fields fill in what the line lacks; an intelmq feed that must
// round-trip exactly should have neither.
package intelmq

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/textreport"
)

// maxLineLen bounds one line; longer lines are rejected.
const maxLineLen = 4 << 20

type parser struct{}

// New returns the IntelMQ JSON lines parser.
func New() parse.Parser { return parser{} }

// Parse reads one event per line. A line that is not a JSON object, or holds
// a value its field does not accept, is rejected with its line number and
// every reason; the rest goes on. Blank lines are skipped.
func (parser) Parse(ctx context.Context, in parse.Input, out parse.Output) error {
	r := &run{in: &in, out: out}
	// A bad feed default is a problem of the whole report.
	if err := parse.Begin(&r.e, r.in); err != nil {
		return fmt.Errorf("parse intelmq: feed %q: %w", in.Feed.Name, err)
	}
	br := bufio.NewReaderSize(in.R, 64<<10)
	if first, err := firstByte(br); err != nil {
		return fmt.Errorf("parse intelmq: %w", err)
	} else if first == '[' {
		return r.array(ctx, br)
	}
	sc := textreport.NewScanner(br, maxLineLen)
	for sc.Scan() {
		line, n := sc.Bytes(), sc.Line()
		if err := sc.TooLong(); err != nil {
			if err := out.Reject(n, line, err); err != nil {
				return err
			}
			continue
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := r.object(line, n); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("parse intelmq: line %d: %w", sc.Line(), err)
	}
	return nil
}

// firstByte peeks at the first non-space byte of the report, skipping a
// UTF-8 byte order mark; 0 when the report is empty.
func firstByte(br *bufio.Reader) (byte, error) {
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			if err == io.EOF || err == bufio.ErrBufferFull {
				return 0, nil
			}
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		default:
			return c, nil
		}
	}
}

type run struct {
	in  *parse.Input
	out parse.Output
	e   event.Event
	m   map[string]any
}

// object reads one JSON object (a line, or an element of an array).
func (r *run) object(b []byte, line int) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	clear(r.m)
	if r.m == nil {
		r.m = make(map[string]any, 32)
	}
	if err := dec.Decode(&r.m); err != nil {
		return r.out.Reject(line, b, fmt.Errorf("not an IntelMQ JSON event: %w", jsonError(err)))
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return r.out.Reject(line, b, errors.New("not an IntelMQ JSON event: more follows the object on the same line"))
	}
	e := &r.e
	if err := parse.Begin(e, r.in); err != nil {
		return fmt.Errorf("parse intelmq: feed %q: %w", r.in.Feed.Name, err)
	}
	// The feed's name and classification are defaults as a whole: a line
	// that names its own feed, or its own classification type, keeps its
	// own provider, accuracy, taxonomy and identifier (or none), rather
	// than a mix of two sources. Without this, an export of events from
	// another feed would not read back as the same events.
	if names(r.m, "feed", "name") {
		e.Feed = event.Feed{}
	}
	if names(r.m, "classification", "type") {
		e.Classification = event.Classification{}
	}
	// IntelMQ's outputs can write extra as a string holding JSON
	// (jsondict_as_string).
	if x, ok := r.m["extra"].(string); ok && strings.HasPrefix(strings.TrimSpace(x), "{") {
		var sub map[string]any
		d := json.NewDecoder(strings.NewReader(x))
		d.UseNumber()
		if err := d.Decode(&sub); err == nil {
			r.m["extra"] = sub
		}
	}
	if err := e.SetMap(r.m); err != nil {
		return r.out.Reject(line, b, err)
	}
	if e.Classification.Type == "" && e.Classification.Taxonomy == "" {
		e.Classification.Type = "undetermined"
	}
	if err := e.Validate(); err != nil {
		return r.out.Reject(line, b, err)
	}
	return r.out.Event(e, line)
}

// names reports whether the event object m gives group.member a value, in
// the flat or the hierarchical form (null and "" are no value).
func names(m map[string]any, group, member string) bool {
	if present(m[group+"."+member]) {
		return true
	}
	sub, ok := m[group].(map[string]any)
	return ok && present(sub[member])
}

func present(v any) bool { return v != nil && v != "" }

// array reads a report that is one JSON array of events. An element with
// bad values is rejected and the next one read; broken JSON ends the
// report, since nothing after it can be told apart.
func (r *run) array(ctx context.Context, br *bufio.Reader) error {
	cr := &countingReader{r: br}
	dec := json.NewDecoder(cr)
	if _, err := dec.Token(); err != nil { // the '['
		return fmt.Errorf("parse intelmq: %w", err)
	}
	var raw json.RawMessage
	for i := 0; ; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !dec.More() {
			break
		}
		line := cr.lineAt(dec.InputOffset())
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return r.out.Reject(line, nil, fmt.Errorf("the JSON array breaks here, the rest of the report cannot be read: %w", jsonError(err)))
		}
		// Decode skips the whitespace before the element: its line is
		// where the element itself starts.
		line = cr.lineAt(dec.InputOffset() - int64(len(raw)))
		if err := r.object(raw, line); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the ']'
		return r.out.Reject(cr.lineAt(dec.InputOffset()), nil, fmt.Errorf("the JSON array is not closed: %w", jsonError(err)))
	}
	return nil
}

// countingReader remembers where the lines start that the decoder has not
// passed yet, to turn its byte offsets into line numbers.
type countingReader struct {
	r       io.Reader
	off     int64
	pending []int64 // offsets of line starts not yet passed
	line    int     // lines passed
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.pending = append(c.pending, c.off+int64(i)+1)
		}
	}
	c.off += int64(n)
	return n, err
}

// lineAt returns the 1-based line of byte offset off. Offsets must not
// decrease from one call to the next.
func (c *countingReader) lineAt(off int64) int {
	i := 0
	for i < len(c.pending) && c.pending[i] <= off {
		i++
	}
	c.line += i
	c.pending = c.pending[i:]
	return c.line + 1
}

// jsonError shortens encoding/json's messages to what a user can act on.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("the JSON value is a %s, not an object", te.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: "); ok {
		return errors.New(msg)
	}
	return err
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// Write writes e as one line of IntelMQ JSON (flat, sorted keys, with a final
// newline): the form Parse reads back to the same event, and IntelMQ's JSON
// parser reads too. It makes one Write call on w.
func Write(w io.Writer, e *event.Event) error {
	bp := bufPool.Get().(*[]byte)
	b := append(e.AppendJSON((*bp)[:0]), '\n')
	_, err := w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		bufPool.Put(bp)
	}
	return err
}
