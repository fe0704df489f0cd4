package render

import (
	"bufio"
	"fmt"
	"io"
	"unicode/utf8"
)

// WriteJSON writes items as IntelMQ JSON lines: one flat JSON object per
// event, one a line, as IntelMQ's file output writes them and as
// event.UnmarshalJSON, IntelMQ's JSON parser and tocsin's "intelmq" feed
// read them. The raw field is left out: it is the feed's original record,
// which the other fields already hold, and may be 64 KiB of base64. The
// Item's count and times are not event fields and are not written.
func WriteJSON(w io.Writer, items []Item) error {
	return writeJSON(w, items, false)
}

// writeJSON is WriteJSON; escape also writes bidirectional controls as
// \u escapes, for JSON shown inside the text of a mail.
func writeJSON(w io.Writer, items []Item, escape bool) error {
	bw := bufio.NewWriter(w)
	var buf []byte
	for i := range items {
		if items[i].Event == nil {
			return fmt.Errorf("json: item %d (id %d) has no event", i, items[i].ID)
		}
		e := *items[i].Event
		e.Raw = nil
		buf = e.AppendJSON(buf[:0])
		if escape {
			buf = escapeBidi(buf)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// escapeBidi rewrites the bidirectional controls in JSON text b as \u
// escapes, which read back to the same string.
func escapeBidi(b []byte) []byte {
	var out []byte
	start := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x80 && isBidi(r) {
			if out == nil {
				out = make([]byte, 0, len(b)+16)
			}
			out = append(out, b[start:i]...)
			out = fmt.Appendf(out, `\u%04x`, r)
			start = i + size
		}
		i += size
	}
	if out == nil {
		return b
	}
	return append(out, b[start:]...)
}
