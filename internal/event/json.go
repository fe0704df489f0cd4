package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends e as one IntelMQ JSON object with flat, sorted keys
// ("source.ip", "extra.tag", ...), the form IntelMQ's file output writes and
// its JSON parser reads. Absent fields are left out.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	sep := func() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
	}
	for _, f := range Fields {
		if f.Name == "feed.accuracy" { // "extra." sorts between event_hash and feed
			dst = e.appendExtra(dst, &first)
		}
		mark := len(dst)
		sep()
		dst = AppendJSONString(dst, f.Name)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = f.appendJSON(e, dst); !ok {
			dst = dst[:mark]
			if mark == 1 || dst[mark-1] == '{' {
				first = true
			}
		}
	}
	return append(dst, '}')
}

func (e *Event) appendExtra(dst []byte, first *bool) []byte {
	if len(e.Extra) == 0 {
		return dst
	}
	keys := make([]string, 0, len(e.Extra))
	for k := range e.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !*first {
			dst = append(dst, ',')
		}
		*first = false
		dst = append(dst, `"extra.`...)
		dst = appendJSONStringBody(dst, k)
		dst = append(dst, '"', ':')
		dst = appendJSONValue(dst, e.Extra[k])
	}
	return dst
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (e *Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// UnmarshalJSON reads an IntelMQ event in flat or hierarchical form. It
// resets e first. Unknown top-level names are an error that names them;
// IntelMQ's "__type" marker is ignored.
func (e *Event) UnmarshalJSON(b []byte) error {
	e.Reset()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	return e.SetMap(m)
}

// SetMap stores every member of an IntelMQ JSON object. A nested object
// (the hierarchical form) is flattened into dotted names. All members are
// tried; the errors of the bad ones are joined.
func (e *Event) SetMap(m map[string]any) error {
	var errs []error
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := m[k]
			name := prefix + k
			if name == "__type" {
				continue
			}
			if sub, ok := v.(map[string]any); ok && (prefix != "" || fieldByName[name] == nil) && name != "extra" && !isExtraName(name) {
				walk(name+".", sub)
				continue
			}
			if err := e.SetValue(name, v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	walk("", m)
	return errors.Join(errs...)
}

func isExtraName(name string) bool { return len(name) > 6 && name[:6] == "extra." }

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// <, > and & are escaped so the output is safe inside HTML too.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONStringBody(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

func appendJSONStringBody(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return AppendJSONString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case float64:
		b, err := json.Marshal(x)
		if err != nil {
			return append(dst, "null"...)
		}
		return append(dst, b...)
	case bool:
		return strconv.AppendBool(dst, x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return AppendJSONString(dst, fmt.Sprint(x))
		}
		return append(dst, b...)
	}
}
