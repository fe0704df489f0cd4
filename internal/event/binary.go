package event

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"unicode/utf8"
)

// The binary encoding is how events are stored: about half the size of
// their JSON and a fraction of the work to write, because field names are
// small numbers (fieldcodes.go, extrakeys.go) and values are not escaped.
//
//	event  = version entry*
//	entry  = uvarint(code) value             a harmonisation field
//	       | uvarint(extraBase+k) xvalue     extra key extraKeys[k]
//	       | uvarint(inlineKey) string xvalue  any other extra key
//
// Codes are permanent: the lists that define them are append-only.
const (
	binVersion   = 1
	deltaVersion = 2       // entries relative to a Base
	extraBase    = 1 << 10 // codes below are fields, from here extra keys
	inlineKey    = 1 << 13 // an extra key written out
	unsetCode    = inlineKey + 1
)

// Extra value tags.
const (
	xNull = iota
	xString
	xInt
	xFloat
	xFalse
	xTrue
	xJSON
)

var errShort = errors.New("truncated or corrupt value")

var (
	fieldByCode []*Field
	extraCode   map[string]uint64
)

// assignCodes numbers the fields and extra keys; fields.go's init calls it
// once the registry is built.
func assignCodes() {
	byName := make(map[string]int, len(fieldCodeNames))
	for i, n := range fieldCodeNames {
		if _, dup := byName[n]; dup {
			panic("event: field code listed twice: " + n)
		}
		byName[n] = i + 1
	}
	fieldByCode = make([]*Field, len(fieldCodeNames)+1)
	for _, f := range Fields {
		c, ok := byName[f.Name]
		if !ok {
			panic("event: field has no code in fieldcodes.go (append it): " + f.Name)
		}
		f.code = uint64(c)
		fieldByCode[c] = f
	}
	if len(fieldCodeNames) >= extraBase || len(extraKeys) >= inlineKey-extraBase {
		panic("event: binary code space exhausted")
	}
	extraCode = make(map[string]uint64, len(extraKeys))
	for i, k := range extraKeys {
		if _, dup := extraCode[k]; dup {
			panic("event: extra key listed twice: " + k)
		}
		extraCode[k] = uint64(extraBase + i)
	}
}

// AppendBinary appends e in the binary encoding.
func (e *Event) AppendBinary(dst []byte) []byte {
	dst = append(dst, binVersion)
	for _, f := range Fields {
		mark := len(dst)
		dst = binary.AppendUvarint(dst, f.code)
		var ok bool
		if dst, ok = f.appendBin(e, dst); !ok {
			dst = dst[:mark]
		}
	}
	for k, v := range e.Extra {
		if c, ok := extraCode[k]; ok {
			dst = binary.AppendUvarint(dst, c)
		} else {
			dst = binary.AppendUvarint(dst, inlineKey)
			dst = appendBinString(dst, k)
		}
		dst = appendBinExtra(dst, v)
	}
	return dst
}

// UnmarshalBinary reads an event written by AppendBinary into e, which it
// resets first.
func (e *Event) UnmarshalBinary(b []byte) error {
	e.Reset()
	if len(b) == 0 || b[0] != binVersion {
		return errors.New("event: not a binary event of a known version")
	}
	return e.readEntries(b[1:])
}

// readEntries applies the entries of an encoded event to e.
func (e *Event) readEntries(b []byte) error {
	for len(b) > 0 {
		code, n := binary.Uvarint(b)
		if n <= 0 {
			return errShort
		}
		b = b[n:]
		var err error
		switch {
		case code < extraBase:
			if code == 0 || code >= uint64(len(fieldByCode)) || fieldByCode[code] == nil {
				return fmt.Errorf("event: unknown field code %d (written by a newer tocsin?)", code)
			}
			f := fieldByCode[code]
			if b, err = f.readBin(e, b); err != nil {
				return fmt.Errorf("event: %s: %w", f.Name, err)
			}
		case code < inlineKey:
			i := code - extraBase
			if i >= uint64(len(extraKeys)) {
				return fmt.Errorf("event: unknown extra key code %d (written by a newer tocsin?)", code)
			}
			var v any
			if v, b, err = readBinExtra(b); err != nil {
				return fmt.Errorf("event: extra.%s: %w", extraKeys[i], err)
			}
			e.SetExtra(extraKeys[i], v)
		case code == unsetCode:
			if b, err = e.readUnset(b); err != nil {
				return err
			}
		case code == inlineKey:
			var k string
			if k, b, err = readBinString(b); err != nil {
				return fmt.Errorf("event: extra key: %w", err)
			}
			var v any
			if v, b, err = readBinExtra(b); err != nil {
				return fmt.Errorf("event: extra.%s: %w", k, err)
			}
			e.SetExtra(k, v)
		default:
			return fmt.Errorf("event: unknown code %d", code)
		}
	}
	return nil
}

func appendBinString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func readBinBytes(b []byte) ([]byte, []byte, error) {
	n, m := binary.Uvarint(b)
	if m <= 0 || n > uint64(len(b)-m) {
		return nil, nil, errShort
	}
	return b[m : m+int(n)], b[m+int(n):], nil
}

func readBinString(b []byte) (string, []byte, error) {
	v, rest, err := readBinBytes(b)
	if err != nil {
		return "", nil, err
	}
	if !utf8.Valid(v) {
		// Only a parser's direct SetExtra can put such bytes in; keep
		// them readable rather than lose the event.
		return string(bytes.ToValidUTF8(v, []byte("\uFFFD"))), rest, nil
	}
	return string(v), rest, nil
}

func appendBinAddr(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return append(append(dst, 4), b[:]...)
	}
	b := a.As16()
	return append(append(dst, 16), b[:]...)
}

func readBinAddr(b []byte) (netip.Addr, []byte, error) {
	if len(b) < 1 {
		return netip.Addr{}, nil, errShort
	}
	switch n := int(b[0]); {
	case n == 4 && len(b) >= 5:
		return netip.AddrFrom4([4]byte(b[1:5])), b[5:], nil
	case n == 16 && len(b) >= 17:
		return netip.AddrFrom16([16]byte(b[1:17])), b[17:], nil
	}
	return netip.Addr{}, nil, errShort
}

func appendBinExtra(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, xNull)
	case string:
		return appendBinString(append(dst, xString), x)
	case int64:
		return binary.AppendVarint(append(dst, xInt), x)
	case int:
		return binary.AppendVarint(append(dst, xInt), int64(x))
	case float64:
		return binary.LittleEndian.AppendUint64(append(dst, xFloat), math.Float64bits(x))
	case bool:
		if x {
			return append(dst, xTrue)
		}
		return append(dst, xFalse)
	default:
		j, err := json.Marshal(x)
		if err != nil {
			j, _ = json.Marshal(fmt.Sprint(x))
		}
		dst = append(dst, xJSON)
		dst = binary.AppendUvarint(dst, uint64(len(j)))
		return append(dst, j...)
	}
}

func readBinExtra(b []byte) (any, []byte, error) {
	if len(b) < 1 {
		return nil, nil, errShort
	}
	tag, b := b[0], b[1:]
	switch tag {
	case xNull:
		return nil, b, nil
	case xString:
		return readBinString(b)
	case xInt:
		n, m := binary.Varint(b)
		if m <= 0 {
			return nil, nil, errShort
		}
		return n, b[m:], nil
	case xFloat:
		if len(b) < 8 {
			return nil, nil, errShort
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
	case xFalse:
		return false, b, nil
	case xTrue:
		return true, b, nil
	case xJSON:
		j, rest, err := readBinBytes(b)
		if err != nil {
			return nil, nil, err
		}
		var v any
		dec := json.NewDecoder(bytesReader(j))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		return normJSON(v), rest, nil
	}
	return nil, nil, fmt.Errorf("unknown extra value tag %d", tag)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// A Base is what the events of one report share (feed, observation time,
// classification, often protocol and some extra values). Events encoded
// against it with AppendBinaryDelta leave out every value equal to the
// base's, which makes a stored event about a third smaller. The base is
// stored once, with its report.
type Base struct {
	ev    Event
	field [][]byte          // by field code: the base's encoded value; nil when unset
	extra map[string][]byte // the base's extra values, encoded
	enc   []byte
}

// NewBase makes a base of a copy of e.
func NewBase(e *Event) *Base {
	enc := e.AppendBinary(nil)
	b, err := ParseBase(enc)
	if err != nil {
		panic("event: own encoding does not read back: " + err.Error())
	}
	return b
}

// ParseBase reads a base stored with Bytes.
func ParseBase(enc []byte) (*Base, error) {
	b := &Base{enc: enc, field: make([][]byte, len(fieldByCode)), extra: map[string][]byte{}}
	if err := b.ev.UnmarshalBinary(enc); err != nil {
		return nil, err
	}
	for _, f := range Fields {
		if v, ok := f.appendBin(&b.ev, nil); ok {
			b.field[f.code] = v
		}
	}
	for k, v := range b.ev.Extra {
		b.extra[k] = appendBinExtra(nil, v)
	}
	return b, nil
}

// Bytes returns the base's stored form (the binary encoding of its event).
func (b *Base) Bytes() []byte { return b.enc }

// AppendBinaryDelta appends e encoded against base: only what differs.
func (e *Event) AppendBinaryDelta(dst []byte, base *Base) []byte {
	dst = append(dst, deltaVersion)
	for _, f := range Fields {
		mark := len(dst)
		dst = binary.AppendUvarint(dst, f.code)
		valAt := len(dst)
		var ok bool
		dst, ok = f.appendBin(e, dst)
		bv := base.field[f.code]
		switch {
		case ok && bv != nil && bytes.Equal(dst[valAt:], bv):
			dst = dst[:mark]
		case ok:
		case bv != nil:
			dst = binary.AppendUvarint(dst[:mark], unsetCode)
			dst = binary.AppendUvarint(dst, f.code)
		default:
			dst = dst[:mark]
		}
	}
	for k, v := range e.Extra {
		mark := len(dst)
		if c, ok := extraCode[k]; ok {
			dst = binary.AppendUvarint(dst, c)
		} else {
			dst = binary.AppendUvarint(dst, inlineKey)
			dst = appendBinString(dst, k)
		}
		valAt := len(dst)
		dst = appendBinExtra(dst, v)
		if bv, ok := base.extra[k]; ok && bytes.Equal(dst[valAt:], bv) {
			dst = dst[:mark]
		}
	}
	for k := range base.ev.Extra {
		if _, ok := e.Extra[k]; ok {
			continue
		}
		dst = binary.AppendUvarint(dst, unsetCode)
		if c, ok := extraCode[k]; ok {
			dst = binary.AppendUvarint(dst, c)
		} else {
			dst = binary.AppendUvarint(dst, inlineKey)
			dst = appendBinString(dst, k)
		}
	}
	return dst
}

// UnmarshalBinaryDelta reads an event written by AppendBinaryDelta against
// base, or by AppendBinary (then base is not needed and may be nil).
func (e *Event) UnmarshalBinaryDelta(b []byte, base *Base) error {
	if len(b) > 0 && b[0] == binVersion {
		return e.UnmarshalBinary(b)
	}
	if len(b) == 0 || b[0] != deltaVersion {
		return errors.New("event: not a binary event of a known version")
	}
	if base == nil {
		return errors.New("event: a delta-encoded event needs its report's base")
	}
	e.Reset()
	extra, raw := e.Extra, e.Raw
	e.copyFrom(&base.ev, extra, raw)
	return e.readEntries(b[1:])
}

// copyFrom makes e a deep copy of src, reusing the given storage.
func (e *Event) copyFrom(src *Event, extra map[string]any, raw []byte) {
	*e = *src
	if extra == nil && len(src.Extra) > 0 {
		extra = make(map[string]any, len(src.Extra)+8)
	}
	for k, v := range src.Extra {
		extra[k] = v // values are immutable or, when nested, never changed in place
	}
	e.Extra = extra
	e.Raw = append(raw[:0], src.Raw...)
}

// readUnset reads the code of a field or extra key that the event lacks
// although its base has it, and unsets it in e.
func (e *Event) readUnset(b []byte) ([]byte, error) {
	code, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, errShort
	}
	b = b[n:]
	switch {
	case code > 0 && code < extraBase && code < uint64(len(fieldByCode)) && fieldByCode[code] != nil:
		fieldByCode[code].zero(e)
	case code >= extraBase && code < inlineKey && code-extraBase < uint64(len(extraKeys)):
		delete(e.Extra, extraKeys[code-extraBase])
	case code == inlineKey:
		k, rest, err := readBinString(b)
		if err != nil {
			return nil, err
		}
		delete(e.Extra, k)
		b = rest
	default:
		return nil, fmt.Errorf("event: cannot unset code %d", code)
	}
	return b, nil
}
