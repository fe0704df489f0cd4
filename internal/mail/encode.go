package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The encoders here produce 7-bit output with CRLF line ends and lines of
// at most 78 characters (998 at worst for one unbreakable header word), as
// RFC 3156 requires of anything that is signed.

const (
	foldAt      = 78 // preferred header line length (RFC 5322 §2.1.1)
	qpLineLen   = 76 // quoted-printable and base64 line length (RFC 2045)
	wordMaxRaw  = 42 // bytes of text per RFC 2047 encoded word: 10+56+2 = 68, so "Subject: " and one word fit in 78
	maxWordLen  = 76 // a longer unbroken word in a header value is encoded
	encodedHead = "=?utf-8?b?"
)

// checkHeaderText reports why s cannot be a header value: invalid UTF-8,
// a control character other than tab (CR and LF would inject headers),
// or longer than max bytes.
func checkHeaderText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n':
			return fmt.Errorf("contains a line break")
		case r == 0:
			return fmt.Errorf("contains a NUL byte")
		case r < ' ' && r != '\t', r == 0x7f:
			return fmt.Errorf("contains control character %U", r)
		}
	}
	return nil
}

// needsEncoding reports whether s must be RFC 2047 encoded to survive as
// an unstructured header value exactly: non-ASCII, something a reader
// would decode ("=?"), whitespace that unfolding would change, or, when
// longWords is set, a word too long to fold.
func needsEncoding(s string, longWords bool) bool {
	if s == "" {
		return false
	}
	if strings.Contains(s, "=?") || strings.Contains(s, "  ") || strings.ContainsRune(s, '\t') ||
		s[0] == ' ' || s[len(s)-1] == ' ' {
		return true
	}
	word := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c < ' ' {
			return true
		}
		if c == ' ' {
			word = 0
		} else if word++; longWords && word > maxWordLen {
			return true
		}
	}
	return false
}

// encodeWords returns s as RFC 2047 "B" encoded words separated by spaces,
// each word at most 75 characters and each holding whole UTF-8 sequences.
func encodeWords(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		n := min(len(s), wordMaxRaw)
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(encodedHead)
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(s[:n])))
		b.WriteString("?=")
		s = s[n:]
	}
	return b.String()
}

// unstructured returns s ready for an unstructured header field such as
// Subject: as it is when it survives, else encoded. With longWords a word
// too long to fold is a reason to encode.
func unstructured(s string, longWords bool) string {
	if needsEncoding(s, longWords) {
		return encodeWords(s)
	}
	return s
}

// writeHeader writes "name: value" CRLF, folding value before single
// spaces so that lines stay within 78 characters where the words allow.
// value must hold no CR or LF.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteByte(':')
	line := len(name) + 1
	for i, tok := range splitFold(value) {
		if i > 0 && line+len(tok) > foldAt {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteString(tok)
		line += len(tok)
	}
	b.WriteString("\r\n")
}

// splitFold cuts value into tokens that each begin with the single space
// before which a fold may go. A run of several spaces is kept inside a
// token: unfolding by common readers would collapse it.
func splitFold(value string) []string {
	var toks []string
	start := 0
	for i := 1; i < len(value); i++ {
		if value[i] == ' ' && value[i-1] != ' ' && i+1 < len(value) && value[i+1] != ' ' {
			toks = append(toks, value[start:i])
			start = i
		}
	}
	toks = append(toks, value[start:])
	if toks[0] == "" || toks[0][0] != ' ' {
		toks[0] = " " + toks[0]
	}
	return toks
}

// writeQP writes text as quoted-printable (RFC 2045 §6.7) with CRLF hard
// line breaks for every line break in text (LF, CRLF or CR), and a final
// line break when text lacks one. Trailing whitespace and "From " at the
// start of a line are encoded, so that mail transports that strip the one
// or escape the other do not break a signature (RFC 3156 §3).
func writeQP(b *bytes.Buffer, text string) {
	const hexdig = "0123456789ABCDEF"
	for len(text) > 0 {
		end := strings.IndexAny(text, "\r\n")
		line := text
		if end >= 0 {
			line = text[:end]
			if text[end] == '\r' && end+1 < len(text) && text[end+1] == '\n' {
				end++
			}
			text = text[end+1:]
		} else {
			text = ""
		}
		n := 0
		for i := 0; i < len(line); i++ {
			c := line[i]
			var enc bool
			switch {
			case i == 0 && strings.HasPrefix(line, "From "):
				enc = true
			case c == ' ' || c == '\t':
				enc = i == len(line)-1
			default:
				enc = c < '!' || c > '~' || c == '='
			}
			w := 1
			if enc {
				w = 3
			}
			if n+w > qpLineLen-1 {
				b.WriteString("=\r\n")
				n = 0
			}
			if enc {
				b.Write([]byte{'=', hexdig[c>>4], hexdig[c&0xf]})
			} else {
				b.WriteByte(c)
			}
			n += w
		}
		b.WriteString("\r\n")
	}
}

// writeBase64 writes data base64 encoded in lines of 76 characters.
func writeBase64(b *bytes.Buffer, data []byte) {
	const chunk = qpLineLen / 4 * 3
	var line [qpLineLen]byte
	for len(data) > 0 {
		n := min(len(data), chunk)
		m := base64.StdEncoding.EncodedLen(n)
		base64.StdEncoding.Encode(line[:m], data[:n])
		b.Write(line[:m])
		b.WriteString("\r\n")
		data = data[n:]
	}
}

// boundary returns a multipart boundary derived from seed and kind, so
// that the same message always renders to the same bytes. It begins with
// "=_", which can occur neither in quoted-printable (where "=" is followed
// by two hex digits or a line break) nor in base64 nor in OpenPGP armor,
// so it cannot collide with any part we write.
func boundary(seed, kind string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + seed))
	return "=_tocsin_" + kind + "_" + hex.EncodeToString(h[:12])
}
