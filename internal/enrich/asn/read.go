package asn

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// ErrFormat is wrapped by a reader's error when its input is not in the
// format it reads (or, for Read, in any format it knows).
var ErrFormat = errors.New("not in the expected format")

// Format names, as they appear in Report.Format and in errors.
const (
	FormatIPLocationDB = "ip-location-db"
	FormatPyASN        = "pyasn"
	FormatIPToASN      = "iptoasn"
	FormatASNames      = "pyasn-asnames"
)

// MaxSkipped is how many skipped lines a Report lists; Bad counts them all.
const MaxSkipped = 100

// probeLines is how many data lines a reader reads before it gives up on an
// input none of whose lines parse: such an input is in another format.
const probeLines = 10

// maxLine bounds one input line.
const maxLine = 1 << 20

// Report says what a reader did with its input.
type Report struct {
	Format string // one of the Format constants
	// Lines is the number of lines read, comments and blank lines included.
	Lines int
	// Entries is the number of ranges or prefixes added to the Builder
	// (for FormatASNames: names set).
	Entries int
	// NotRouted counts rows for AS 0 (iptoasn's "Not routed"), which are
	// skipped: an address without an entry is not routed.
	NotRouted int
	// MultiOrigin counts pyasn rows with more than one origin AS (a prefix
	// announced by several ASes, or an AS_SET): the first AS listed is kept.
	MultiOrigin int
	// Bad counts the malformed lines that were skipped.
	Bad int
	// Skipped lists the first MaxSkipped of them.
	Skipped []LineError
}

// LineError is a line a reader skipped, and why.
type LineError struct {
	Line   int // 1-based
	Reason string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

func (r *Report) skip(line int, reason string) {
	r.Bad++
	if len(r.Skipped) < MaxSkipped {
		r.Skipped = append(r.Skipped, LineError{line, reason})
	}
}

// decompress returns r, decompressed when it starts with the gzip or the
// bzip2 magic.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case bytes.Equal(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	}
	return br, nil
}

// readLines runs parse on every data line of r (not blank, not a ';' or '#'
// comment). parse adds what the line holds to the builder and updates rep,
// or returns why the line is bad; the line is then skipped and counted. If
// none of the first probeLines data lines parses, or the input has no data
// line, the input is in another format and readLines returns an error that
// wraps ErrFormat and names the first bad line.
func readLines(r io.Reader, format string, parse func(line []byte, rep *Report) error) (Report, error) {
	rep := Report{Format: format}
	dr, err := decompress(r)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", format, err)
	}
	sc := bufio.NewScanner(dr)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	data, good := 0, false
	for sc.Scan() {
		rep.Lines++
		line := sc.Bytes()
		if rep.Lines == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == ';' || line[0] == '#' {
			continue
		}
		data++
		err := parse(line, &rep)
		if err == nil {
			good = true
			continue
		}
		if data == 1 && isHeader(line) {
			continue
		}
		rep.skip(rep.Lines, err.Error())
		if !good && data >= probeLines {
			return rep, formatError(format, rep)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return rep, fmt.Errorf("%s: line %d is longer than %d bytes: %w", format, rep.Lines+1, maxLine, ErrFormat)
		}
		return rep, fmt.Errorf("%s: line %d: %w", format, rep.Lines+1, err)
	}
	if !good {
		if rep.Bad > 0 {
			return rep, formatError(format, rep)
		}
		return rep, fmt.Errorf("%s: no data in %d lines: %w", format, rep.Lines, ErrFormat)
	}
	return rep, nil
}

func formatError(format string, rep Report) error {
	first := rep.Skipped[0]
	return fmt.Errorf("%s: line %d: %s; no line up to line %d parses, so this is not %s data: %w",
		format, first.Line, first.Reason, rep.Lines, format, ErrFormat)
}

// isHeader reports whether a line that did not parse is a column header:
// its first field has letters and underscores only.
func isHeader(line []byte) bool {
	i := bytes.IndexAny(line, ",\t ")
	if i < 0 {
		i = len(line)
	}
	f := bytes.Trim(line[:i], `"`)
	if len(f) == 0 {
		return false
	}
	for _, c := range f {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// parseASN reads an AS number: decimal ("64496"), asdot ("1.10" = 65546),
// with an optional "AS" prefix.
func parseASN(f []byte) (uint32, error) {
	if len(f) >= 2 && (f[0] == 'A' || f[0] == 'a') && (f[1] == 'S' || f[1] == 's') {
		f = f[2:]
	}
	if i := bytes.IndexByte(f, '.'); i >= 0 {
		hi, err1 := parseUint(f[:i], 0xffff)
		lo, err2 := parseUint(f[i+1:], 0xffff)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("bad AS number %s", quote(f))
		}
		return hi<<16 | lo, nil
	}
	n, err := parseUint(f, 1<<32-1)
	if err != nil {
		return 0, fmt.Errorf("bad AS number %s", quote(f))
	}
	return n, nil
}

func parseUint(f []byte, max uint64) (uint32, error) {
	if len(f) == 0 || len(f) > 10 {
		return 0, strconv.ErrSyntax
	}
	var n uint64
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + uint64(c-'0')
	}
	if n > max {
		return 0, strconv.ErrRange
	}
	return uint32(n), nil
}

// quote quotes a field for a message, cut to 40 bytes.
func quote(f []byte) string {
	if len(f) > 40 {
		return strconv.Quote(string(f[:40])) + "..."
	}
	return strconv.Quote(string(f))
}

func parseAddr(f []byte) (netip.Addr, error) {
	a, err := netip.ParseAddr(string(f))
	if err != nil {
		if len(f) > 0 && len(bytes.Trim(f, "0123456789")) == 0 {
			return a, fmt.Errorf("numeric address %s: use the text variant of the file", quote(f))
		}
		return a, fmt.Errorf("bad address %s", quote(f))
	}
	if a.Zone() != "" {
		return a, fmt.Errorf("address %s has a zone", quote(f))
	}
	return a, nil
}

// ReadIPLocationDB reads ip-location-db's ASN CSV (asn-ipv4.csv,
// asn-ipv6.csv; the text variant, not -num) into b. Each line is
//
//	ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization
//
// with an inclusive range and the name quoted as CSV quotes it. Gzip input
// is read transparently. A malformed line is skipped and listed in the
// Report; an input none of whose first lines parses is an error wrapping
// ErrFormat that names the line, and nothing of it reaches b. After another
// error (reading, decompressing) b may hold part of the input: drop it.
func ReadIPLocationDB(r io.Reader, b *Builder) (Report, error) {
	return readLines(r, FormatIPLocationDB, func(line []byte, rep *Report) error {
		var f [3][]byte
		rest := line
		for i := range f {
			j := bytes.IndexByte(rest, ',')
			if j < 0 {
				return fmt.Errorf("%d fields, want 4", i+1)
			}
			f[i], rest = bytes.TrimSpace(rest[:j]), rest[j+1:]
		}
		name, err := unquoteCSV(bytes.TrimSpace(rest))
		if err != nil {
			return err
		}
		return addRangeLine(b, rep, f[0], f[1], f[2], name)
	})
}

// unquoteCSV returns the CSV field f without its quotes, or f itself when
// it is not quoted (a name with a bare comma is kept whole).
func unquoteCSV(f []byte) ([]byte, error) {
	if len(f) == 0 || f[0] != '"' {
		return f, nil
	}
	if len(f) < 2 || f[len(f)-1] != '"' {
		return nil, errors.New("unterminated quoted name")
	}
	in := f[1 : len(f)-1]
	if bytes.IndexByte(in, '"') < 0 {
		return in, nil
	}
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		if in[i] == '"' {
			if i+1 >= len(in) || in[i+1] != '"' {
				return nil, errors.New(`bare " in quoted name`)
			}
			i++
		}
		out = append(out, in[i])
	}
	return out, nil
}

func addRangeLine(b *Builder, rep *Report, start, end, asn, name []byte) error {
	first, err := parseAddr(start)
	if err != nil {
		return err
	}
	last, err := parseAddr(end)
	if err != nil {
		return err
	}
	n, err := parseASN(asn)
	if err != nil {
		return err
	}
	if n == 0 {
		rep.NotRouted++
		return nil
	}
	if err := b.addRange(first, last, n, b.internBytes(bytes.TrimSpace(name))); err != nil {
		return err
	}
	rep.Entries++
	return nil
}

// ReadIPToASN reads iptoasn.com's TSV (ip2asn-v4.tsv, ip2asn-v6.tsv,
// ip2asn-combined.tsv) into b. Each line is
//
//	range_start<TAB>range_end<TAB>AS_number<TAB>country_code<TAB>AS_description
//
// with an inclusive range. Rows for AS 0 ("Not routed") are counted in
// Report.NotRouted and skipped. The country code is not kept (country comes
// from the geo data). Errors as for ReadIPLocationDB.
func ReadIPToASN(r io.Reader, b *Builder) (Report, error) {
	return readLines(r, FormatIPToASN, func(line []byte, rep *Report) error {
		var f [5][]byte
		n := 0
		for rest := line; n < len(f); n++ {
			j := bytes.IndexByte(rest, '\t')
			if j < 0 || n == len(f)-1 {
				f[n] = rest
				n++
				break
			}
			f[n], rest = rest[:j], rest[j+1:]
		}
		if n < 3 {
			return fmt.Errorf("%d tab-separated fields, want 5", n)
		}
		return addRangeLine(b, rep, f[0], f[1], f[2], f[4])
	})
}

// ReadPyASN reads a prefix-to-origin-AS table in pyasn's IPASN format (as
// pyasn_util_convert.py writes it from RouteViews RIBs; gzip is read
// transparently) into b. Each line is
//
//	prefix/length<TAB>origin
//
// and ';' starts a comment. CAIDA's RouteViews pfx2as layout
// ("address<TAB>length<TAB>origin") is read too. An origin may list several
// ASes: "a_b" (CAIDA: the prefix is announced by several origins), "a,b" or
// "{a,b}" (an AS_SET, or goasn's list of origins). Such a row keeps its first
// AS and is counted in Report.MultiOrigin: a table answers one origin per
// address, as Team Cymru's whois does, and the first listed is the one the
// converters put first. Errors as for ReadIPLocationDB.
func ReadPyASN(r io.Reader, b *Builder) (Report, error) {
	return readLines(r, FormatPyASN, func(line []byte, rep *Report) error {
		f := bytes.Fields(line)
		var p netip.Prefix
		var err error
		switch len(f) {
		case 2:
			p, err = netip.ParsePrefix(string(f[0]))
			if err != nil {
				return fmt.Errorf("bad prefix %s", quote(f[0]))
			}
		case 3:
			a, aerr := parseAddr(f[0])
			n, nerr := parseUint(f[1], 128)
			if aerr != nil || nerr != nil {
				return fmt.Errorf("bad prefix %s/%s", quote(f[0]), quote(f[1]))
			}
			p, err = a.Prefix(int(n))
			if err != nil {
				return fmt.Errorf("bad prefix %s/%s", quote(f[0]), quote(f[1]))
			}
		default:
			return fmt.Errorf("%d fields, want prefix and origin AS", len(f))
		}
		if p.Addr().Zone() != "" {
			return fmt.Errorf("prefix %s has a zone", quote(f[0]))
		}
		asn, many, err := parseOrigin(f[len(f)-1])
		if err != nil {
			return err
		}
		if asn == 0 {
			rep.NotRouted++
			return nil
		}
		if err := b.addPrefix(p, asn, 0); err != nil {
			return err
		}
		if many {
			rep.MultiOrigin++
		}
		rep.Entries++
		return nil
	})
}

// parseOrigin reads a pyasn/pfx2as origin field and returns its first AS
// and whether it lists others.
func parseOrigin(f []byte) (first uint32, many bool, err error) {
	n := 0
	for part := range bytes.FieldsFuncSeq(f, func(r rune) bool { return r == ',' || r == '_' || r == '{' || r == '}' }) {
		asn, err := parseASN(part)
		if err != nil {
			return 0, false, err
		}
		if n == 0 {
			first = asn
		} else if asn != first {
			many = true
		}
		n++
	}
	if n == 0 {
		return 0, false, fmt.Errorf("bad origin AS %s", quote(f))
	}
	return first, many, nil
}

// maxNames bounds the AS-name JSON that ReadASNames reads into memory (the
// real one is under 5 MB).
const maxNames = 256 << 20

// ReadASNames reads pyasn's AS-name file (asnames.json, as
// pyasn_util_asnames.py writes it; gzip read transparently): one JSON object
// from AS number to name. Each name is given to b.SetName, so entries
// without a name of their own (pyasn's) get it. A member whose key is not an
// AS number or whose value is not a string is skipped and listed with the
// line it is on; input that is not a JSON object is an error wrapping
// ErrFormat.
func ReadASNames(r io.Reader, b *Builder) (Report, error) {
	rep := Report{Format: FormatASNames}
	dr, err := decompress(r)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", FormatASNames, err)
	}
	data, err := io.ReadAll(io.LimitReader(dr, maxNames+1))
	if err != nil {
		return rep, fmt.Errorf("%s: %w", FormatASNames, err)
	}
	if len(data) > maxNames {
		return rep, fmt.Errorf("%s: larger than %d MB", FormatASNames, maxNames>>20)
	}
	rep.Lines = bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		rep.Lines++
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	off, line := 0, 1 // line is the line number at data[off]
	lineAt := func() int {
		next := int(dec.InputOffset())
		line += bytes.Count(data[off:next], []byte("\n"))
		off = next
		return line
	}
	fail := func(err error) (Report, error) {
		return rep, fmt.Errorf("%s: line %d: %v: %w", FormatASNames, lineAt(), err, ErrFormat)
	}
	if tok, err := dec.Token(); err != nil {
		return fail(err)
	} else if tok != json.Delim('{') {
		return fail(fmt.Errorf("found %v, want a JSON object", tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := tok.(string)
		at := lineAt()
		var v any
		if err := dec.Decode(&v); err != nil {
			return fail(err)
		}
		asn, err := parseASN([]byte(key))
		if err != nil {
			rep.skip(at, err.Error())
			continue
		}
		name, ok := v.(string)
		if !ok {
			rep.skip(at, fmt.Sprintf("AS %d: name is not a string", asn))
			continue
		}
		if asn == 0 {
			rep.NotRouted++
			continue
		}
		b.SetName(asn, name)
		rep.Entries++
	}
	if _, err := dec.Token(); err != nil {
		return fail(err)
	}
	return rep, nil
}

// Read reads an input in any of the formats of ReadIPLocationDB, ReadPyASN,
// ReadIPToASN and ReadASNames into b, telling the format from its first
// data line: a JSON object is pyasn's AS names, a
// tab-separated range is iptoasn, a prefix is pyasn, a comma-separated range
// is ip-location-db. Gzip and bzip2 are read transparently. An input it
// cannot tell is an error wrapping ErrFormat that names the line.
func Read(r io.Reader, b *Builder) (Report, error) {
	dr, err := decompress(r)
	if err != nil {
		return Report{}, err
	}
	br := bufio.NewReaderSize(dr, 64<<10)
	head, _ := br.Peek(64 << 10)
	format, line := detect(head)
	switch format {
	case FormatIPLocationDB:
		return ReadIPLocationDB(br, b)
	case FormatIPToASN:
		return ReadIPToASN(br, b)
	case FormatPyASN:
		return ReadPyASN(br, b)
	case FormatASNames:
		return ReadASNames(br, b)
	}
	if line == 0 {
		return Report{}, fmt.Errorf("no data: %w", ErrFormat)
	}
	return Report{}, fmt.Errorf("line %d: not ip-location-db CSV, iptoasn TSV, a pyasn table or pyasn AS names: %w", line, ErrFormat)
}

// detect names the format of the first data line in head, and its number
// (0 when head has no data line).
func detect(head []byte) (format string, line int) {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	for n := 1; len(head) > 0; n++ {
		l := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			l, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == ';' || l[0] == '#' {
			continue
		}
		if l[0] == '{' {
			return FormatASNames, n
		}
		if f := bytes.Split(l, []byte("\t")); len(f) >= 3 {
			_, err1 := parseAddr(f[0])
			_, err2 := parseAddr(f[1])
			if err1 == nil && err2 == nil {
				return FormatIPToASN, n
			}
		}
		f := bytes.Fields(l)
		if len(f) == 2 && bytes.IndexByte(f[0], '/') > 0 || len(f) == 3 && bytes.IndexByte(l, ',') < 0 {
			return FormatPyASN, n
		}
		if bytes.Count(l, []byte(",")) >= 2 {
			if _, err := parseAddr(bytes.TrimSpace(l[:bytes.IndexByte(l, ',')])); err == nil {
				return FormatIPLocationDB, n
			}
		}
		if isHeader(l) {
			continue
		}
		return "", n
	}
	return "", 0
}
