package ripe

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"iter"
	"strings"
)

// MaxObjectSize bounds the text of one object (names and values). A larger
// object is reported as an ObjectError and skipped; reading goes on. The
// largest objects in the RIPE database (aut-num with long routing policy,
// key-cert) are far below it.
const MaxObjectSize = 16 << 20

const readBufferSize = 64 << 10

// Reader reads RPSL objects (RFC 2622 §2, as the RIRs and IRRd write them
// in their dumps) from a stream, one object at a time, in bounded memory.
//
//   - Objects are separated by empty lines. As in IRRd, a line holding only
//     spaces or tabs is not empty: inside an object it is an empty
//     continuation line (PGP key blocks have them), between objects it is
//     ignored.
//   - An attribute line is "name: value". Names are case-insensitive and are
//     returned in lower case; they start with a letter and hold letters,
//     digits, '-' and '_' ('/' is also accepted, for ARIN's "State/Prov").
//   - A line starting with a space, a tab or '+' continues the previous
//     attribute's value; the parts are joined with one space.
//   - A line starting with '%' or '#' is a comment line, between and inside
//     objects. In values, '#' starts an end-of-line comment (outside double
//     quotes), which is removed. Values are trimmed of spaces, tabs and
//     carriage returns.
//   - Line ends may be "\n" or "\r\n"; a UTF-8 byte order mark is skipped.
//     Input compressed with gzip or bzip2 is recognised from its first bytes
//     and decompressed transparently. Values are bytes as they come: the
//     Reader does not decode character sets (LACNIC's dumps are Latin-1).
//
// An object's class is the name of its first attribute and its key the value
// of that attribute. Values may repeat; the Reader neither merges nor checks
// them against any schema: that is the caller's job.
//
// Next returns each object with the line it starts on. A malformed object
// (a line that is neither an attribute nor a continuation, a bad attribute
// name, an oversized object) is returned as an *ObjectError and the Reader
// goes on with the next object; any other error ends the stream.
type Reader struct {
	src     io.Reader
	br      *bufio.Reader
	started bool
	line    int // lines read so far
	err     error
	obj     Object
	long    []byte // a line longer than the buffer, assembled

	skip    func(class []byte) bool
	skipped map[string]*int
}

// NewReader returns a Reader reading from r. The Reader buffers its input;
// it does not close r.
func NewReader(r io.Reader) *Reader {
	return &Reader{src: r}
}

// SkipClasses makes the Reader pass over every object whose class (lower
// case) skip returns true for, without parsing it: such objects are not
// returned, only counted (see Skipped), and their errors are not reported
// unless the first line itself is malformed. Call it before the first Next.
func (r *Reader) SkipClasses(skip func(class []byte) bool) {
	r.skip = skip
}

// Skipped returns how many objects of each class SkipClasses passed over.
func (r *Reader) Skipped() map[string]int {
	m := make(map[string]int, len(r.skipped))
	for class, n := range r.skipped {
		m[class] = *n
	}
	return m
}

func (r *Reader) skippedCount() int {
	n := 0
	for _, c := range r.skipped {
		n += *c
	}
	return n
}

// Line returns the number of lines read so far.
func (r *Reader) Line() int { return r.line }

// ObjectError is a malformed object. The Reader has passed over the rest of
// the object and can go on.
type ObjectError struct {
	Line    int    // the line the object starts on
	ErrLine int    // the offending line
	Class   string // the object's class, "" when its first line is the problem
	Key     string // the object's key, when known
	Reason  string
}

func (e *ObjectError) Error() string {
	what := "object"
	if e.Class != "" {
		what = e.Class + " " + e.Key
		if e.Key == "" {
			what = e.Class
		}
	}
	if e.ErrLine != e.Line {
		return fmt.Sprintf("line %d: %s (starting at line %d): %s", e.ErrLine, what, e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", e.ErrLine, what, e.Reason)
}

// Next returns the next object, io.EOF at the end of the input, or an
// *ObjectError for a malformed object, after which Next may be called again.
// Any other error is final. The object is reused by the next call: Clone it
// to keep it.
func (r *Reader) Next() (*Object, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		r.started = true
		src, err := Decompress(r.src)
		if err != nil {
			r.err = err
			return nil, err
		}
		r.br = bufio.NewReaderSize(src, readBufferSize)
		if bom, _ := r.br.Peek(3); string(bom) == "\ufeff" {
			r.br.Discard(3)
		}
	}
	for {
		o, skipped, err := r.next()
		if !skipped {
			return o, err
		}
	}
}

// next reads one object; skipped reports that it was passed over.
func (r *Reader) next() (o *Object, skipped bool, err error) {
	o = &r.obj
	o.reset()
	var (
		inObject bool
		skipping bool
		oerr     *ObjectError
	)
	fail := func(reason string) {
		oerr = &ObjectError{Line: o.line, ErrLine: r.line, Reason: reason}
		if len(o.attrs) > 0 {
			oerr.Class, oerr.Key = o.Class(), o.Key()
		}
	}
	for {
		line, ok := r.readLine()
		if !ok {
			if r.err != io.EOF {
				return nil, false, r.err
			}
			if !inObject {
				return nil, false, io.EOF
			}
			break // the last object has no empty line after it
		}
		if len(line) == 0 {
			if inObject {
				break
			}
			continue
		}
		if line[0] == '%' || line[0] == '#' {
			continue
		}
		if skipping || oerr != nil {
			continue
		}
		if c := line[0]; c == ' ' || c == '\t' || c == '+' {
			if !inObject {
				if len(trimSpace(line)) == 0 {
					continue // white space between objects
				}
				inObject = true
				o.line = r.line
				fail("continuation line outside an object")
				continue
			}
			o.continueValue(line[1:])
		} else {
			if !inObject {
				inObject = true
				o.line = r.line
			}
			colon := bytes.IndexByte(line, ':')
			if colon < 0 {
				fail(fmt.Sprintf("line %q is neither \"attribute: value\" nor a continuation (a missing ':' or a missing leading space?)", clip(line)))
				continue
			}
			name := line[:colon]
			if reason := checkName(name); reason != "" {
				fail(reason)
				continue
			}
			if len(o.attrs) == 0 && r.skip != nil && r.skip(lowerASCII(name)) {
				skipping = true
				r.countSkipped(name)
				continue
			}
			o.addAttr(name, line[colon+1:], r.line)
		}
		if len(o.buf) > MaxObjectSize {
			fail(fmt.Sprintf("object larger than %d bytes", MaxObjectSize))
		}
	}
	if oerr != nil {
		return nil, false, oerr
	}
	return o, skipping, nil
}

func (r *Reader) countSkipped(class []byte) {
	if r.skipped == nil {
		r.skipped = make(map[string]*int)
	}
	n := r.skipped[string(class)]
	if n == nil {
		n = new(int)
		r.skipped[string(class)] = n
	}
	*n++
}

// All returns the objects and per-object errors of Next as an iterator. It
// stops after the first error that is not an *ObjectError (yielded with a
// nil object) or at the end of the input. Objects are reused as with Next.
func (r *Reader) All() iter.Seq2[*Object, error] {
	return func(yield func(*Object, error) bool) {
		for {
			o, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(o, err) {
				return
			}
			if _, ok := err.(*ObjectError); err != nil && !ok {
				return
			}
		}
	}
}

// readLine returns the next line without its line end. At the end of the
// input or on an error it returns false and r.err is set (io.EOF at the end).
func (r *Reader) readLine() ([]byte, bool) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			if len(r.long) < MaxObjectSize+1 {
				r.long = append(r.long, line...)
			}
		}
		line = r.long
	}
	if err != nil && err != io.EOF {
		r.err = err
		return nil, false
	}
	if err == io.EOF {
		if len(line) == 0 {
			r.err = io.EOF
			return nil, false
		}
	}
	r.line++
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true
}

// checkName returns why name is not an attribute name, or "".
func checkName(name []byte) string {
	if len(name) == 0 {
		return "empty attribute name"
	}
	if name[0] == '*' && len(name) > 3 && (name[1] == 'x' || name[1] == 'X') && (name[2] == 'x' || name[2] == 'X') {
		return fmt.Sprintf("attribute name %q: a deleted object as older IRRd versions leave them (\"*xx\" prefix)", name)
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/'):
		default:
			return fmt.Sprintf("invalid attribute name %q (letters, digits, '-' and '_', starting with a letter)", clip(name))
		}
	}
	return ""
}

func clip(b []byte) string {
	const max = 60
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// lowerASCII lower-cases b in place and returns it.
func lowerASCII(b []byte) []byte {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// Object is one RPSL object. Names are in lower case; values are trimmed,
// without comments, continuation lines joined with single spaces.
type Object struct {
	line  int
	buf   []byte
	attrs []attr
}

type attr struct {
	name, value span
	line        int
}

type span struct{ off, end int32 }

func (s span) of(b []byte) []byte { return b[s.off:s.end] }

func (o *Object) reset() {
	o.line = 0
	o.buf = o.buf[:0]
	o.attrs = o.attrs[:0]
}

func (o *Object) addAttr(name, value []byte, line int) {
	a := attr{line: line}
	a.name.off = int32(len(o.buf))
	o.buf = append(o.buf, name...)
	a.name.end = int32(len(o.buf))
	lowerASCII(o.buf[a.name.off:a.name.end])
	a.value.off = a.name.end
	o.buf = append(o.buf, cleanValue(value)...)
	a.value.end = int32(len(o.buf))
	o.attrs = append(o.attrs, a)
}

func (o *Object) continueValue(part []byte) {
	part = cleanValue(part)
	if len(part) == 0 {
		return
	}
	a := &o.attrs[len(o.attrs)-1]
	if a.value.end > a.value.off {
		o.buf = append(o.buf, ' ')
	}
	o.buf = append(o.buf, part...)
	a.value.end = int32(len(o.buf))
}

// cleanValue removes an end-of-line comment and surrounding white space.
func cleanValue(v []byte) []byte {
	if i := bytes.IndexByte(v, '#'); i >= 0 {
		v = v[:commentStart(v, i)]
	}
	return trimSpace(v)
}

// trimSpace removes spaces, tabs and carriage returns around v.
func trimSpace(v []byte) []byte {
	i, j := 0, len(v)
	for i < j && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r') {
		i++
	}
	for j > i && (v[j-1] == ' ' || v[j-1] == '\t' || v[j-1] == '\r') {
		j--
	}
	return v[i:j]
}

// commentStart returns where the comment starts in v, given the first '#'
// at i: the first '#' outside double quotes (an e-mail local part may be
// quoted and hold one), or len(v).
func commentStart(v []byte, i int) int {
	if bytes.IndexByte(v[:i], '"') < 0 {
		return i
	}
	quoted := false
	for j := 0; j < len(v); j++ {
		switch v[j] {
		case '\\':
			if quoted {
				j++
			}
		case '"':
			quoted = !quoted
		case '#':
			if !quoted {
				return j
			}
		}
	}
	return len(v)
}

// Line returns the line the object starts on (its first attribute).
func (o *Object) Line() int { return o.line }

// Len returns the number of attributes.
func (o *Object) Len() int { return len(o.attrs) }

// Class returns the name of the first attribute, in lower case.
func (o *Object) Class() string {
	if len(o.attrs) == 0 {
		return ""
	}
	return string(o.attrs[0].name.of(o.buf))
}

// Key returns the value of the first attribute.
func (o *Object) Key() string {
	if len(o.attrs) == 0 {
		return ""
	}
	return string(o.attrs[0].value.of(o.buf))
}

// Attr is one attribute of an object.
type Attr struct {
	Name  string // lower case
	Value string
	Line  int
}

// Attr returns the i-th attribute.
func (o *Object) Attr(i int) Attr {
	a := o.attrs[i]
	return Attr{Name: string(a.name.of(o.buf)), Value: string(a.value.of(o.buf)), Line: a.line}
}

// NameBytes, ValueBytes and AttrLine give the i-th attribute without
// copying; the slices are valid until the next call to Next.
func (o *Object) NameBytes(i int) []byte  { return o.attrs[i].name.of(o.buf) }
func (o *Object) ValueBytes(i int) []byte { return o.attrs[i].value.of(o.buf) }
func (o *Object) AttrLine(i int) int      { return o.attrs[i].line }

// Get returns the first value of the attribute name (case-insensitive).
func (o *Object) Get(name string) (string, bool) {
	for i := range o.attrs {
		if equalFold(o.attrs[i].name.of(o.buf), name) {
			return string(o.attrs[i].value.of(o.buf)), true
		}
	}
	return "", false
}

// Values returns every value of the attribute name (case-insensitive), in
// order.
func (o *Object) Values(name string) []string {
	var vs []string
	for i := range o.attrs {
		if equalFold(o.attrs[i].name.of(o.buf), name) {
			vs = append(vs, string(o.attrs[i].value.of(o.buf)))
		}
	}
	return vs
}

// Attrs returns the attributes in order.
func (o *Object) Attrs() []Attr {
	as := make([]Attr, len(o.attrs))
	for i := range o.attrs {
		as[i] = o.Attr(i)
	}
	return as
}

// Clone returns a copy that the Reader does not reuse.
func (o *Object) Clone() *Object {
	return &Object{line: o.line, buf: bytes.Clone(o.buf), attrs: append([]attr(nil), o.attrs...)}
}

// String returns the object in RPSL.
func (o *Object) String() string {
	var sb strings.Builder
	for i := range o.attrs {
		name := o.NameBytes(i)
		sb.Write(name)
		sb.WriteByte(':')
		for n := len(name) + 1; n < 16; n++ {
			sb.WriteByte(' ')
		}
		sb.WriteByte(' ')
		sb.Write(o.ValueBytes(i))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// equalFold reports whether the lower-case name b equals s, ignoring the
// case of s (ASCII).
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if b[i] != c {
			return false
		}
	}
	return true
}

// Decompress returns r, decompressed when it starts like gzip (also several
// concatenated members) or bzip2 data, buffered.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, readBufferSize)
	magic, err := br.Peek(3)
	if err != nil && err != io.EOF {
		return nil, err
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case len(magic) == 3 && string(magic) == "BZh":
		return bzip2.NewReader(br), nil
	}
	return br, nil
}
