package shadowserver

import (
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

type csvRecord struct {
	line   int
	raw    string
	fields []string
}

func readAll(t testing.TB, r io.Reader) ([]csvRecord, error) {
	t.Helper()
	cr := newCSVReader(r)
	var out []csvRecord
	for {
		err := cr.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, csvRecord{cr.line, string(cr.raw), slices.Clone(cr.fields)})
	}
}

func TestCSVReader(t *testing.T) {
	tests := []struct {
		name, in string
		want     []csvRecord
	}{
		{"plain", "a,b,c\n1,2,3\n", []csvRecord{{1, "a,b,c", []string{"a", "b", "c"}}, {2, "1,2,3", []string{"1", "2", "3"}}}},
		{"no final newline", "a,b\n1,2", []csvRecord{{1, "a,b", []string{"a", "b"}}, {2, "1,2", []string{"1", "2"}}}},
		{"crlf", "a,b\r\n1,2\r\n", []csvRecord{{1, "a,b", []string{"a", "b"}}, {2, "1,2", []string{"1", "2"}}}},
		{"empty fields", ",,\n", []csvRecord{{1, ",,", []string{"", "", ""}}}},
		{"quoted", `"a","b,c",""` + "\n", []csvRecord{{1, `"a","b,c",""`, []string{"a", "b,c", ""}}}},
		{"doubled quote", `"say ""hi""",x` + "\n", []csvRecord{{1, `"say ""hi""",x`, []string{`say "hi"`, "x"}}}},
		{"quote inside a field is a character", `ab"c,d` + "\n", []csvRecord{{1, `ab"c,d`, []string{`ab"c`, "d"}}}},
		{"text after the closing quote", `"ab"cd,e` + "\n", []csvRecord{{1, `"ab"cd,e`, []string{"abcd", "e"}}}},
		{"text after quote then crlf", `"ab"cd` + "\r\n", []csvRecord{{1, `"ab"cd`, []string{"abcd"}}}},
		{"backslash before doubled quote", `"realm=\""x\"""` + "\n", []csvRecord{{1, `"realm=\""x\"""`, []string{`realm=\"x\"`}}}},
		{"newline in quotes", "h1,h2\n\"a\nb\",c\nd,e\n", []csvRecord{
			{1, "h1,h2", []string{"h1", "h2"}},
			{2, "\"a\nb\",c", []string{"a\nb", "c"}},
			{4, "d,e", []string{"d", "e"}},
		}},
		{"crlf in quotes", "\"a\r\nb\",c\r\nd\r\n", []csvRecord{{1, "\"a\r\nb\",c", []string{"a\r\nb", "c"}}, {3, "d", []string{"d"}}}},
		{"blank lines skipped, counted", "a\n\n\r\nb\n", []csvRecord{{1, "a", []string{"a"}}, {4, "b", []string{"b"}}}},
		{"quote never closed", "a\n\"b,c\nd", []csvRecord{{1, "a", []string{"a"}}, {2, "\"b,c\nd", []string{"b,c\nd"}}}},
		{"quote at the very end", "a,\"", []csvRecord{{1, "a,\"", []string{"a", ""}}}},
		{"only quotes", "\"\"\n", []csvRecord{{1, `""`, []string{""}}}},
		{"empty", "", nil},
		{"only newlines", "\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time too, so that every record crosses a refill.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := readAll(t, r)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d records %+v, want %d", len(got), got, len(tt.want))
				}
				for i := range got {
					if got[i].line != tt.want[i].line || got[i].raw != tt.want[i].raw || !slices.Equal(got[i].fields, tt.want[i].fields) {
						t.Errorf("record %d = %+v, want %+v", i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestCSVReaderLongRecord(t *testing.T) {
	long := strings.Repeat("x", 3*csvBufSize)
	got, err := readAll(t, strings.NewReader("a,b\n\""+long+"\","+long+"\nc,d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].fields[0] != long || got[1].fields[1] != long || got[2].line != 3 {
		t.Errorf("got %d records", len(got))
	}
}

func TestCSVReaderTooLong(t *testing.T) {
	in := io.MultiReader(strings.NewReader("a\n\""), strings.NewReader(strings.Repeat("x", maxRecord+2*csvBufSize)))
	_, err := readAll(t, in)
	if err == nil || !strings.Contains(err.Error(), "line 2: record longer than 16 MiB") {
		t.Errorf("err = %v", err)
	}
}

func TestCSVReaderReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := readAll(t, io.MultiReader(strings.NewReader("a,b\n1,2\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want %v", err, boom)
	}
}

// The reader agrees with encoding/csv on the files encoding/csv reads
// (regular CSV; it is lenient about quotes where encoding/csv is not).
func FuzzCSVReader(f *testing.F) {
	f.Add("a,b\n1,2\n")
	f.Add("\"a\nb\",\"c\"\"d\"\r\n,\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readAll(t, iotest.HalfReader(strings.NewReader(in)))
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(strings.NewReader(in))
		r.FieldsPerRecord = -1
		want, err := r.ReadAll()
		if err != nil || strings.Contains(in, "\r") {
			return // not regular CSV; or \r, which encoding/csv drops inside quotes
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, encoding/csv %d: %+v vs %q", len(got), len(want), got, want)
		}
		for i := range got {
			if !slices.Equal(got[i].fields, want[i]) {
				t.Fatalf("record %d = %q, encoding/csv %q", i, got[i].fields, want[i])
			}
		}
	})
}
