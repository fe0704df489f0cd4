package render

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/event"
)

// The columns WriteCSV adds after the event's fields, from the Item.
const (
	ColCount     = "count"
	ColFirstSeen = "first_seen"
	ColLastSeen  = "last_seen"
)

// csvColumns are the event fields a default CSV may have, in order; a
// column is written when at least one event has the field set. Every
// extra.* field present follows them, sorted, then count, first_seen and
// last_seen.
var csvColumns = []string{
	"time.source",
	"source.ip", "source.port", "source.asn", "source.as_name", "source.network",
	"source.fqdn", "source.reverse_dns", "source.url", "source.geolocation.cc",
	"destination.ip", "destination.port", "destination.fqdn", "destination.url",
	"classification.taxonomy", "classification.type", "classification.identifier",
	"malware.name", "malware.hash.sha256",
	"protocol.transport", "protocol.application",
	"product.vendor", "product.name", "product.version", "product.vulnerabilities",
	"severity", "event_description.text", "feed.name", "feed.code", "tlp",
}

// csvFields are the event fields of csvColumns.
var csvFields = func() []*event.Field {
	fs := make([]*event.Field, len(csvColumns))
	for i, c := range csvColumns {
		if fs[i] = event.Lookup(c); fs[i] == nil {
			panic("render: csvColumns names no field: " + c)
		}
	}
	return fs
}()

// DefaultColumns returns the columns WriteCSV writes when given none: the
// fields of csvColumns that some item sets, the extra.* fields present,
// and count, first_seen, last_seen.
func DefaultColumns(items []Item) []string {
	w := newCSVWriter(false)
	defer w.release()
	w.defaults(items)
	cols := make([]string, len(w.cols))
	for i, c := range w.cols {
		if c.kind == colExtra {
			cols[i] = "extra." + c.name
		} else {
			cols[i] = c.name
		}
	}
	return cols
}

// WriteCSV writes items as CSV (RFC 4180, LF line ends) with a header of
// IntelMQ field names; columns nil means DefaultColumns. A column may be
// any IntelMQ field, "extra.NAME", or count, first_seen or last_seen
// (the Item's; times in UTC, in the form of
// time.source). An unset field is an empty cell;
// extra values that are not strings are written as JSON.
//
// Cells are defused against CSV injection (OWASP): a cell beginning with
// '=', '+', '-', '@', TAB or CR is written with a leading "'", so that a
// spreadsheet shows it as text instead of running it as a formula. Plain
// numbers ("-12.5") are left alone: they cannot be formulas. The header is
// treated the same way (extra field names come from the feed).
//
// The output is byte for byte what encoding/csv's Writer writes for the
// same cells.
func WriteCSV(w io.Writer, items []Item, columns []string) error {
	bp := csvBuffers.Get().(*[]byte)
	defer putCSVBuffer(bp)
	var err error
	*bp, err = appendCSV((*bp)[:0], w, items, columns, false)
	return err
}

// csvBuffers holds buffers (*[]byte) for WriteCSV and csvAttachment.
var csvBuffers = sync.Pool{New: func() any { b := make([]byte, 0, csvFlush+csvFlush/4); return &b }}

// putCSVBuffer pools b unless it is one of the rare large ones, which
// would hold their memory for good.
func putCSVBuffer(b *[]byte) {
	if cap(*b) <= 1<<20 {
		csvBuffers.Put(b)
	}
}

// csvFlush is how much appendCSV gathers before it writes to its writer.
const csvFlush = 32 << 10

// appendCSV appends items as CSV (see WriteCSV) to dst. With a writer w
// it writes what it has to w every csvFlush bytes and at the end, and
// returns dst emptied; without, it returns the whole CSV. flat also puts
// every cell on one line (see oneLine), for CSV shown inside the text of
// a mail.
func appendCSV(dst []byte, w io.Writer, items []Item, columns []string, flat bool) ([]byte, error) {
	for i := range items {
		if items[i].Event == nil {
			return dst, fmt.Errorf("csv: item %d (id %d) has no event", i, items[i].ID)
		}
	}
	cw := newCSVWriter(flat)
	defer cw.release()
	if columns == nil {
		cw.defaults(items)
	} else if err := cw.resolve(columns); err != nil {
		return dst, err
	}
	flush := func() error {
		if w == nil || len(dst) == 0 {
			return nil
		}
		_, err := w.Write(dst)
		dst = dst[:0]
		return err
	}
	dst = cw.header(dst)
	for i := range items {
		dst = cw.row(dst, items, i)
		if len(dst) >= csvFlush {
			if err := flush(); err != nil {
				return dst, err
			}
		}
	}
	return dst, flush()
}

// What a CSV column holds.
const (
	colExtra = iota // an extra field
	colField
	colTime // a time field, read without event.Field's indirection
	colCount
	colFirstSeen
	colLastSeen
)

// csvColumn is a column resolved to where its cells come from.
type csvColumn struct {
	kind  int
	name  string // the header; for colExtra without "extra."
	field *event.Field
	time  func(*event.Event) time.Time // colTime
}

// timeFields are the time fields a column reads directly.
var timeFields = map[string]func(*event.Event) time.Time{
	"time.source":      func(e *event.Event) time.Time { return e.TimeSource },
	"time.observation": func(e *event.Event) time.Time { return e.TimeObservation },
}

// csvWriter writes the lines of one CSV with its columns resolved once.
//
// Most columns of a digest of many kinds of event are extra fields that
// few of its events have, so a line is written from what its item has:
// a bit per column says which cells to write, and the others are empty,
// only their commas. The extra cells are made from the item's Extra map
// before the line, as text in text: with the default columns, defaults
// does it for every item while it reads their extras to find the
// columns, so that a line needs no map. csvWriters are pooled: Render
// runs in several goroutines, each digest with up to hundreds of columns.
type csvWriter struct {
	flat bool // every cell on one line
	cols []csvColumn
	// fixed has the bits of the columns that are not extra fields; bits
	// those of the cells of the line being written; cell has the
	// index in extras of the extra cells of the line, by column.
	fixed, bits []uint64
	cell        []int
	// Explicit columns: the extra fields (without "extra."), by slot;
	// slots maps them back; slotCols are the columns of each slot (one,
	// unless a column is repeated).
	names    []string
	slots    map[string]int
	slotCols [][]int
	// The extra cells, made: with the default columns those of every
	// item, item i's at extras[ends[i-1]:ends[i]]; else those of the
	// line. Their text is in text.
	extras  []csvExtra
	text    []byte
	ends    []int
	colOf   []int // by order of first sight
	order   []int
	scratch []byte
	found   []bool
}

// csvExtra is an extra cell of an item: its column (or, until defaults
// has sorted the columns, its field's number) and its text, a CSV cell,
// at text[start:end].
type csvExtra struct {
	col, start, end int
}

// addExtra makes the cell of v, for column (or field number) col.
func (w *csvWriter) addExtra(col int, v any) {
	start := len(w.text)
	w.text = appendExtra(w.text, v)
	if len(w.text) > start && (w.flat || !plainCell(w.text[start:])) {
		w.text = w.finish(w.text, start, w.flat)
	}
	w.extras = append(w.extras, csvExtra{col, start, len(w.text)})
}

var csvWriters = sync.Pool{New: func() any { return &csvWriter{slots: map[string]int{}} }}

func newCSVWriter(flat bool) *csvWriter {
	w := csvWriters.Get().(*csvWriter)
	w.flat = flat
	return w
}

// release empties w, dropping what it holds of the items, and pools it.
func (w *csvWriter) release() {
	// Only up to len: what lies beyond was cleared by an earlier release.
	clear(w.cols)
	clear(w.names)
	clear(w.slots)
	w.cols, w.fixed, w.bits, w.cell, w.text = w.cols[:0], w.fixed[:0], w.bits[:0], w.cell[:0], w.text[:0]
	w.names, w.slotCols = w.names[:0], w.slotCols[:0]
	w.extras, w.ends, w.colOf, w.order = w.extras[:0], w.ends[:0], w.colOf[:0], w.order[:0]
	if cap(w.text) > 1<<20 || cap(w.extras) > 1<<16 {
		return // a rare large one would hold its memory for good
	}
	csvWriters.Put(w)
}

// defaults sets the columns to DefaultColumns(items). It looks at each
// event's fields once, rather than at each column for each event.
func (w *csvWriter) defaults(items []Item) {
	w.found = append(w.found[:0], make([]bool, len(csvFields))...)
	nfound := 0
	for i := range items {
		e := items[i].Event
		for j, f := range csvFields {
			if nfound == len(csvFields) {
				break
			}
			if !w.found[j] {
				var ok bool
				if w.scratch, ok = f.AppendText(e, w.scratch[:0]); ok {
					w.found[j] = true
					nfound++
				}
			}
		}
		for k, v := range e.Extra {
			if k == "" {
				continue
			}
			n, ok := w.slots[k]
			if !ok {
				n = len(w.names)
				w.slots[k] = n
				w.names = append(w.names, k)
			}
			if v != nil { // a null is an empty cell
				w.addExtra(n, v)
			}
		}
		w.ends = append(w.ends, len(w.extras))
	}
	for j, f := range csvFields {
		if w.found[j] {
			w.add(f.Name)
		}
	}
	// The extra columns, sorted by name.
	for n := range w.names {
		w.order = append(w.order, n)
	}
	slices.SortFunc(w.order, func(a, b int) int { return strings.Compare(w.names[a], w.names[b]) })
	w.colOf = slices.Grow(w.colOf, len(w.names))[:len(w.names)]
	for _, n := range w.order {
		w.colOf[n] = len(w.cols)
		w.cols = append(w.cols, csvColumn{kind: colExtra, name: w.names[n]})
	}
	for i := range w.extras {
		w.extras[i].col = w.colOf[w.extras[i].col]
	}
	w.add(ColCount)
	w.add(ColFirstSeen)
	w.add(ColLastSeen)
	clear(w.names)
	w.names = w.names[:0]
	w.sized()
}

// add adds the column c, not an extra field, at the end of the line.
func (w *csvWriter) add(c string) bool {
	col := csvColumn{name: c}
	switch {
	case c == ColCount:
		col.kind = colCount
	case c == ColFirstSeen:
		col.kind = colFirstSeen
	case c == ColLastSeen:
		col.kind = colLastSeen
	case timeFields[c] != nil:
		col.kind, col.time = colTime, timeFields[c]
	case event.Lookup(c) != nil:
		col.kind, col.field = colField, event.Lookup(c)
	default:
		return false
	}
	w.cols = append(w.cols, col)
	return true
}

// resolve checks the columns and resolves them to fields and slots.
func (w *csvWriter) resolve(columns []string) error {
	for _, c := range columns {
		if k, ok := strings.CutPrefix(c, "extra."); ok && k != "" {
			s, ok := w.slots[k]
			if !ok {
				s = len(w.names)
				w.slots[k] = s
				w.names = append(w.names, k)
				w.slotCols = append(w.slotCols, nil)
			}
			w.slotCols[s] = append(w.slotCols[s], len(w.cols))
			w.cols = append(w.cols, csvColumn{kind: colExtra, name: k})
			continue
		}
		if !w.add(c) {
			return fmt.Errorf("csv: column %q is not an IntelMQ field, extra.NAME, %s, %s or %s", c, ColCount, ColFirstSeen, ColLastSeen)
		}
	}
	w.sized()
	return nil
}

// sized makes cell and the bit sets fit the columns.
func (w *csvWriter) sized() {
	n := len(w.cols)
	w.cell = slices.Grow(w.cell[:0], n)[:n]
	words := (n + 63) / 64
	w.fixed = append(w.fixed[:0], make([]uint64, words)...)
	w.bits = slices.Grow(w.bits[:0], words)[:words]
	for i, c := range w.cols {
		if c.kind != colExtra {
			w.fixed[i/64] |= 1 << (i % 64)
		}
	}
}

// header appends the line of column names.
func (w *csvWriter) header(buf []byte) []byte {
	for _, c := range w.cols {
		start := len(buf)
		if c.kind == colExtra {
			buf = append(buf, "extra."...)
		}
		buf = append(buf, c.name...)
		buf = w.finish(buf, start, false)
		buf = append(buf, ',')
	}
	return w.endRow(buf)
}

// row appends the line of items[i] to buf.
func (w *csvWriter) row(buf []byte, items []Item, i int) []byte {
	it := &items[i]
	e := it.Event
	copy(w.bits, w.fixed)
	switch {
	case len(w.ends) > 0: // default columns
		start := 0
		if i > 0 {
			start = w.ends[i-1]
		}
		for j, x := range w.extras[start:w.ends[i]] {
			w.cell[x.col] = start + j
			w.bits[x.col/64] |= 1 << (x.col % 64)
		}
	case len(w.names) > 0:
		w.extras, w.text = w.extras[:0], w.text[:0]
		// Walk the item's extras or the extra columns, whichever are
		// fewer.
		if len(e.Extra) <= len(w.names) {
			for k, v := range e.Extra {
				if s, ok := w.slots[k]; ok && v != nil {
					w.fill(s, v)
				}
			}
		} else {
			for s, k := range w.names {
				if v := e.Extra[k]; v != nil {
					w.fill(s, v)
				}
			}
		}
	}
	// Every cell is followed by a comma; next is the column after the
	// last one written. The cells skipped are empty: only their commas.
	next := 0
	for wi, word := range w.bits {
		for word != 0 {
			col := wi*64 + bits.TrailingZeros64(word)
			word &= word - 1
			buf = appendCommas(buf, col-next)
			next = col + 1
			start := len(buf)
			switch c := &w.cols[col]; c.kind {
			case colExtra:
				x := w.extras[w.cell[col]]
				buf = append(buf, w.text[x.start:x.end]...)
				buf = append(buf, ',')
				continue // made already
			case colField:
				buf, _ = c.field.AppendText(e, buf)
			case colTime:
				buf = appendTime(buf, c.time(e))
			case colCount:
				buf = strconv.AppendInt(buf, max(it.Count, 1), 10)
			case colFirstSeen:
				buf = appendTime(buf, it.FirstSeen)
			case colLastSeen:
				buf = appendTime(buf, it.LastSeen)
			}
			if len(buf) > start && (w.flat || !plainCell(buf[start:])) {
				buf = w.finish(buf, start, w.flat)
			}
			buf = append(buf, ',')
		}
	}
	buf = appendCommas(buf, len(w.cols)-next)
	return w.endRow(buf)
}

// fill sets the cells of extra slot s to v for the line being written.
func (w *csvWriter) fill(s int, v any) {
	for _, col := range w.slotCols[s] {
		w.cell[col] = len(w.extras)
		w.bits[col/64] |= 1 << (col % 64)
		w.addExtra(col, v)
	}
}

const commas = ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"

// appendCommas appends n commas.
func appendCommas(buf []byte, n int) []byte {
	for n > len(commas) {
		buf = append(buf, commas...)
		n -= len(commas)
	}
	return append(buf, commas[:n]...)
}

// endRow turns the comma after a line's last cell into the line's end.
func (w *csvWriter) endRow(buf []byte) []byte {
	if len(w.cols) == 0 {
		return append(buf, '\n')
	}
	buf[len(buf)-1] = '\n'
	return buf
}

// finish makes the cell text in buf[start:] a CSV cell: on one line if
// flat, defused, quoted where encoding/csv quotes.
func (w *csvWriter) finish(buf []byte, start int, flat bool) []byte {
	cell := buf[start:]
	if flat && !isPlain(cell, 0) {
		buf = append(buf[:start], oneLine(string(cell), 0)...)
		cell = buf[start:]
	}
	if needsDefuse(cell) {
		buf = append(buf, 0)
		copy(buf[start+1:], buf[start:])
		buf[start] = '\''
		cell = buf[start:]
	}
	if !needsQuotes(cell) {
		return buf
	}
	w.scratch = append(w.scratch[:0], cell...)
	q := w.scratch
	buf = append(buf[:start], '"')
	for {
		i := bytes.IndexByte(q, '"')
		if i < 0 {
			break
		}
		buf = append(buf, q[:i+1]...)
		buf = append(buf, '"')
		q = q[i+1:]
	}
	buf = append(buf, q...)
	return append(buf, '"')
}

// csvByte classifies bytes for plainCell: csvFirst a byte a cell may not
// begin with unchanged, csvAny one it may not hold.
var csvByte = func() (t [256]uint8) {
	for _, c := range "=@+-\t\n\v\f\r \\" {
		t[c] |= csvFirst
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] |= csvFirst // maybe white space or a full-width =, +, - or @
	}
	for _, c := range ",\"\r\n" {
		t[c] |= csvAny
	}
	return t
}()

const (
	csvFirst = 1 << iota
	csvAny
)

// plainCell reports whether cell, not empty, is written as it is: no
// defusing and no quotes. It is the fast path of finish, which decides
// the rest.
func plainCell(cell []byte) bool {
	if csvByte[cell[0]] != 0 {
		return false
	}
	// Eight bytes at a time: has(x, c) has a high bit set when a byte of
	// x is c.
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	has := func(x uint64, c byte) uint64 { y := x ^ ones*uint64(c); return (y - ones) &^ y & highs }
	for len(cell) >= 8 {
		x := binary.LittleEndian.Uint64(cell)
		if has(x, ',')|has(x, '"')|has(x, '\r')|has(x, '\n') != 0 {
			return false
		}
		cell = cell[8:]
	}
	for _, c := range cell {
		if csvByte[c]&csvAny != 0 {
			return false
		}
	}
	return true
}

// needsQuotes reports whether encoding/csv's Writer quotes the field
// (with Comma ','): it holds a comma, a quote, CR or LF, begins with a
// white space character (unicode.IsSpace), or is \. (which PostgreSQL's
// COPY would read as the end of data).
func needsQuotes(field []byte) bool {
	if len(field) == 0 {
		return false
	}
	if len(field) == 2 && field[0] == '\\' && field[1] == '.' {
		return true
	}
	for _, c := range field {
		if c == '\n' || c == '\r' || c == '"' || c == ',' {
			return true
		}
	}
	if c := field[0]; c < utf8.RuneSelf {
		return c == ' ' || c >= '\t' && c <= '\r'
	}
	r, _ := utf8.DecodeRune(field)
	return unicode.IsSpace(r)
}

// appendExtra appends an extra value as Event.GetString writes it.
func appendExtra(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return dst
	case string:
		return append(dst, x...)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		return strconv.AppendFloat(dst, x, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(dst, x)
	default:
		b, _ := json.Marshal(x)
		return append(dst, b...)
	}
}

// appendTime appends event.FormatTime(t), or nothing for the zero time.
func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return dst
	}
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return event.AppendTime(dst, t)
	}
	hour, min, sec := t.Clock()
	dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if us := t.Nanosecond() / 1000; us != 0 {
		dst = append(dst, '.')
		for d := 100000; d > 0; d /= 10 {
			dst = append(dst, byte('0'+us/d%10))
		}
	}
	return append(dst, "+00:00"...)
}

// needsDefuse reports whether a spreadsheet would take s for a formula,
// so that it must be written with a leading "'" (see WriteCSV).
func needsDefuse[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return true
	case '+', '-':
		return !isSignedNumber(s)
	}
	// The full-width forms of = + - @ (U+FF1D, U+FF0B, U+FF0D, U+FF20:
	// EF BC 9D, 8B, 8D, A0 in UTF-8), which some spreadsheets fold to
	// ASCII.
	return len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBC && (s[2] == 0x9D || s[2] == 0x8B || s[2] == 0x8D || s[2] == 0xA0)
}

// isSignedNumber reports whether s is a plain decimal number: a sign, digits, at
// most one '.', nothing else.
func isSignedNumber[T ~string | ~[]byte](s T) bool {
	s = s[1:]
	if len(s) == 0 {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return len(s) != 1 || s[0] != '.'
}
