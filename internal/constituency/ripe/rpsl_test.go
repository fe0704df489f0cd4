package ripe

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// readAll reads every object and error of input, rendered one per line.
func readAll(t testing.TB, input io.Reader) []string {
	t.Helper()
	rd := NewReader(input)
	var out []string
	for o, err := range rd.All() {
		if err != nil {
			var oe *ObjectError
			if !errors.As(err, &oe) {
				t.Fatalf("final error: %v", err)
			}
			out = append(out, "error "+oe.Error())
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d %s", o.Line(), o.Class())
		for _, a := range o.Attrs() {
			fmt.Fprintf(&b, " | %d %s=%q", a.Line, a.Name, a.Value)
		}
		out = append(out, b.String())
	}
	return out
}

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{
			name: "two objects, case-insensitive names, repeated values",
			in:   "Inetnum: 192.0.2.0 - 192.0.2.255\nMNT-BY: A-MNT\nmnt-by:B-MNT\n\n\n\nrole: R\nnic-hdl: R1-RIPE\n",
			want: []string{
				`1 inetnum | 1 inetnum="192.0.2.0 - 192.0.2.255" | 2 mnt-by="A-MNT" | 3 mnt-by="B-MNT"`,
				`7 role | 7 role="R" | 8 nic-hdl="R1-RIPE"`,
			},
		},
		{
			name: "continuation lines: space, tab, plus, white space only",
			in:   "descr: one\n  two\n\tthree\n+four\n+\n   \nremarks: x\n",
			want: []string{`1 descr | 1 descr="one two three four" | 7 remarks="x"`},
		},
		{
			name: "comments: % and # lines, end-of-line #, # in quotes",
			in: "% header\n# header\n\nrole: R # a comment\n% inside\n# inside\n" +
				"abuse-mailbox: \"a#b\"@example.org # comment\n  # only a comment\nremarks: #\n",
			want: []string{`4 role | 4 role="R" | 7 abuse-mailbox="\"a#b\"@example.org" | 9 remarks=""`},
		},
		{
			name: "CRLF line ends and no final line end",
			in:   "aut-num: AS1\r\nas-name: ONE\r\n\r\naut-num: AS2\r\nas-name: TWO",
			want: []string{
				`1 aut-num | 1 aut-num="AS1" | 2 as-name="ONE"`,
				`4 aut-num | 4 aut-num="AS2" | 5 as-name="TWO"`,
			},
		},
		{
			name: "white space between objects",
			in:   "a: 1\n\n   \n\t\nb: 2\n",
			want: []string{`1 a | 1 a="1"`, `5 b | 5 b="2"`},
		},
		{
			name: "empty value, colon in value, ARIN name with a slash",
			in:   "city:\nurl: http://example.org:80/\nState/Prov: DC\n",
			want: []string{`1 city | 1 city="" | 2 url="http://example.org:80/" | 3 state/prov="DC"`},
		},
		{
			name: "malformed objects are reported and reading goes on",
			in: "route: 192.0.2.0/24\norigin: AS1\nor\nsource: TEST\n\n" +
				"route: 192.0.2.0/24\n$$$-by: X\n\n" +
				"*xxte: 192.0.2.0/24\norigin: AS1\n\n" +
				" continued: nothing\n\n" +
				": no name\n\n" +
				"1route: x\n\n" +
				"route: 198.51.100.0/24\n",
			want: []string{
				`error line 3: route 192.0.2.0/24 (starting at line 1): line "or" is neither "attribute: value" nor a continuation (a missing ':' or a missing leading space?)`,
				`error line 7: route 192.0.2.0/24 (starting at line 6): invalid attribute name "$$$-by" (letters, digits, '-' and '_', starting with a letter)`,
				`error line 9: object: attribute name "*xxte": a deleted object as older IRRd versions leave them ("*xx" prefix)`,
				`error line 12: object: continuation line outside an object`,
				`error line 14: object: empty attribute name`,
				`error line 16: object: invalid attribute name "1route" (letters, digits, '-' and '_', starting with a letter)`,
				`18 route | 18 route="198.51.100.0/24"`,
			},
		},
		{
			name: "byte order mark",
			in:   "\ufeffrole: R\n",
			want: []string{`1 role | 1 role="R"`},
		},
		{
			name: "empty input",
			in:   "",
			want: nil,
		},
		{
			name: "comments only",
			in:   "% nothing\n# here\n\n",
			want: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(t, strings.NewReader(tc.in))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestReaderGzip(t *testing.T) {
	var buf bytes.Buffer
	for _, part := range []string{"aut-num: AS1\n\n", "aut-num: AS2\n"} {
		zw := gzip.NewWriter(&buf) // two members, as concatenated files are
		zw.Write([]byte(part))
		zw.Close()
	}
	got := readAll(t, &buf)
	want := []string{`1 aut-num | 1 aut-num="AS1"`, `3 aut-num | 3 aut-num="AS2"`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}

	rd := NewReader(strings.NewReader("\x1f\x8bnot gzip"))
	if _, err := rd.Next(); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("broken gzip: got %v, want a gzip error", err)
	}
	if _, err := rd.Next(); err == nil || err == io.EOF {
		t.Errorf("the error must stay: got %v", err)
	}
}

func TestReaderLongLines(t *testing.T) {
	long := strings.Repeat("x", 3*readBufferSize)
	got := readAll(t, strings.NewReader("remarks: "+long+"\nsource: TEST\n\na: b\n"))
	want := []string{fmt.Sprintf(`1 remarks | 1 remarks=%q | 2 source="TEST"`, long), `4 a | 4 a="b"`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("long line not read whole")
	}

	huge := "remarks: " + strings.Repeat("y", MaxObjectSize) + "\n\na: b\n"
	got = readAll(t, strings.NewReader(huge))
	if len(got) != 2 || !strings.Contains(got[0], "object larger than") || got[1] != `3 a | 3 a="b"` {
		t.Errorf("oversized object: got %.200q", got)
	}
}

func TestReaderSkipClasses(t *testing.T) {
	in := "inetnum: 1\nx: y\n\nrole: R\n\ninetnum: 2\n\nbad line\n\nperson: P\n"
	rd := NewReader(strings.NewReader(in))
	rd.SkipClasses(func(class []byte) bool { return string(class) == "inetnum" })
	var got []string
	for o, err := range rd.All() {
		if err != nil {
			got = append(got, "error")
			continue
		}
		got = append(got, o.Class())
	}
	if strings.Join(got, " ") != "role error person" {
		t.Errorf("got %q", got)
	}
	if n := rd.Skipped()["inetnum"]; n != 2 {
		t.Errorf("skipped %d inetnum, want 2", n)
	}
	if rd.Line() != 10 {
		t.Errorf("Line() = %d, want 10", rd.Line())
	}
}

func TestObjectAccessors(t *testing.T) {
	rd := NewReader(strings.NewReader("organisation: ORG-A\nOrg-Name: A\nmnt-by: M1\nmnt-by: M2\n\norganisation: ORG-B\n"))
	o, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	keep := o.Clone()
	if v, ok := o.Get("ORG-NAME"); !ok || v != "A" {
		t.Errorf("Get = %q %v", v, ok)
	}
	if _, ok := o.Get("country"); ok {
		t.Error("Get of a missing attribute succeeds")
	}
	if vs := o.Values("mnt-by"); strings.Join(vs, ",") != "M1,M2" {
		t.Errorf("Values = %q", vs)
	}
	if o.Len() != 4 || string(o.NameBytes(1)) != "org-name" || string(o.ValueBytes(1)) != "A" || o.AttrLine(1) != 2 {
		t.Errorf("accessors: %d %q %q %d", o.Len(), o.NameBytes(1), o.ValueBytes(1), o.AttrLine(1))
	}
	want := "organisation:    ORG-A\norg-name:        A\nmnt-by:          M1\nmnt-by:          M2\n"
	if o.String() != want {
		t.Errorf("String =\n%s", o.String())
	}
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if keep.Key() != "ORG-A" || keep.Line() != 1 {
		t.Errorf("clone changed by the next object: %q", keep.Key())
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Errorf("at the end: %v", err)
	}
}

// errReader fails after its data.
type errReader struct{ data io.Reader }

func (r errReader) Read(p []byte) (int, error) {
	n, err := r.data.Read(p)
	if err == io.EOF {
		return n, errors.New("disk on fire")
	}
	return n, err
}

func TestReaderIOError(t *testing.T) {
	rd := NewReader(errReader{strings.NewReader("a: b\n\nc: d\n")})
	var got []string
	var final error
	for o, err := range rd.All() {
		if err != nil {
			final = err
			break
		}
		got = append(got, o.Class())
	}
	if strings.Join(got, " ") != "a" || final == nil || !strings.Contains(final.Error(), "disk on fire") {
		t.Errorf("got %q then %v", got, final)
	}
}

func TestReaderBzip2(t *testing.T) {
	f, err := os.Open("testdata/two.rpsl.bz2")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := readAll(t, f)
	want := []string{`1 aut-num | 1 aut-num="AS1"`, `3 aut-num | 3 aut-num="AS2"`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}
