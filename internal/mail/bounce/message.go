package bounce

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
)

// Limits that keep a hostile or broken message from costing more than a
// bounce is worth. Past them the rest is ignored, not an error.
const (
	maxMessage   = 16 << 20 // bytes of one message read at all
	maxHeader    = 256 << 10
	maxLine      = 64 << 10
	maxDepth     = 6   // nested multiparts
	maxParts     = 200 // parts walked in one message
	maxTextBytes = 256 << 10
)

// errNoHeader is returned for input that has no header field at all.
var errNoHeader = errors.New("no header fields: not an RFC 5322 message")

// header is a message or part header with canonical keys, as
// textproto.MIMEHeader, read leniently: a malformed line is skipped, not
// an error, because bounces are often written by odd software.
type header textproto.MIMEHeader

func (h header) get(key string) string {
	v := h[textproto.CanonicalMIMEHeaderKey(key)]
	if len(v) == 0 {
		return ""
	}
	return strings.TrimSpace(v[0])
}

func (h header) has(key string) bool {
	_, ok := h[textproto.CanonicalMIMEHeaderKey(key)]
	return ok
}

// readHeader reads header fields up to the empty line that ends them, or
// to EOF. Folded lines are unfolded; lines that are not "name: value" are
// dropped. A leading mbox "From " line is skipped.
func readHeader(br *bufio.Reader) (header, error) {
	h := header{}
	var key string
	var val strings.Builder
	flush := func() {
		if key != "" {
			k := textproto.CanonicalMIMEHeaderKey(key)
			h[k] = append(h[k], strings.TrimSpace(val.String()))
		}
		key = ""
		val.Reset()
	}
	read := 0
	first := true
	for {
		line, err := readLine(br)
		if err != nil && line == "" {
			flush()
			if errors.Is(err, io.EOF) {
				return h, nil
			}
			return h, err
		}
		read += len(line)
		if line == "" {
			break
		}
		if first && strings.HasPrefix(line, "From ") {
			first = false
			continue
		}
		first = false
		if line[0] == ' ' || line[0] == '\t' {
			if key != "" && val.Len() < maxLine {
				val.WriteByte(' ')
				val.WriteString(strings.TrimSpace(line))
			}
			continue
		}
		flush()
		name, value, ok := strings.Cut(line, ":")
		if ok && validFieldName(name) {
			key = name
			val.WriteString(value)
		}
		if read > maxHeader || err != nil {
			break
		}
	}
	flush()
	return h, nil
}

// readLine returns one line without its line end, cut at maxLine.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if len(b) < maxLine {
			b = append(b, chunk...)
		}
		if err != nil || !isPrefix {
			return string(b), err
		}
	}
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 127 {
			return false
		}
	}
	return true
}

// part is one leaf of a message's MIME tree, its body decoded from its
// Content-Transfer-Encoding and cut at a limit.
type part struct {
	mediaType string // lower case, "text/plain" when absent
	params    map[string]string
	header    header
	body      []byte
}

// walk reads the MIME tree below h/body and calls fn for each leaf part,
// depth first. A broken multipart ends the walk of that multipart quietly:
// what was read before it is kept.
func walk(h header, body io.Reader, depth int, count *int, fn func(p part)) {
	*count++
	if *count > maxParts {
		return
	}
	mt, params := mediaType(h)
	if strings.HasPrefix(mt, "multipart/") && depth < maxDepth && params["boundary"] != "" {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walk(header(p.Header), p, depth+1, count, fn)
			if *count > maxParts {
				return
			}
		}
	}
	limit := int64(maxTextBytes)
	if strings.HasPrefix(mt, "message/") {
		limit = maxMessage
	}
	b, _ := io.ReadAll(io.LimitReader(decode(h, body), limit))
	fn(part{mediaType: mt, params: params, header: h, body: b})
}

// mediaType returns the lower-case media type of h and its parameters,
// text/plain when it is missing or cannot be parsed.
func mediaType(h header) (string, map[string]string) {
	ct := h.get("Content-Type")
	if ct == "" {
		return "text/plain", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		// Keep the type even when a parameter is broken.
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
		if params == nil {
			params = map[string]string{}
		}
	}
	return mt, params
}

// decode undoes a part's Content-Transfer-Encoding; unknown encodings
// (7bit, 8bit, binary, garbage) are passed through.
func decode(h header, r io.Reader) io.Reader {
	switch strings.ToLower(h.get("Content-Transfer-Encoding")) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// base64Cleaner drops the line ends and spaces that base64 bodies carry,
// which encoding/base64 only partly ignores.
type base64Cleaner struct{ r io.Reader }

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		j := 0
		for _, b := range p[:n] {
			if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// headerOf reads the header at the start of b, the returned message of a
// bounce (message/rfc822, text/rfc822-headers) or an inline copy of it.
func headerOf(b []byte) header {
	h, _ := readHeader(bufio.NewReader(bytes.NewReader(b)))
	return h
}

// wordDecoder decodes RFC 2047 encoded words; charsets other than UTF-8,
// US-ASCII and ISO-8859-1 are read as Windows-1252 when they are a single
// byte Latin one, and left encoded otherwise.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "windows-1252", "cp1252", "iso-8859-15", "latin1":
		b, err := io.ReadAll(io.LimitReader(r, maxLine))
		if err != nil {
			return nil, err
		}
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return strings.NewReader(string(rs)), nil
	}
	return nil, errors.New("unsupported charset " + charset)
}}

func decodeWords(s string) string {
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}
