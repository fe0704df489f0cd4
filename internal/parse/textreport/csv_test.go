package textreport

import (
	"errors"
	"fmt"
	"testing"
)

func TestSplitCSV(t *testing.T) {
	tests := []struct {
		in   string
		want string // %q of the fields, or the error
	}{
		{`a,b,c`, `["a" "b" "c"]`},
		{`a,,`, `["a" "" ""]`},
		{``, `[""]`},
		{` a , b `, `["a" "b"]`},
		{`"a,b", "c"`, `["a,b" "c"]`},
		{`"a""b",c`, `["a\"b" "c"]`},
		{`""`, `[""]`},
		{`"a`, ErrQuote.Error()},
		{`"a"b,c`, "column 1: text after a closing quote"},
	}
	for _, tt := range tests {
		f, err := SplitCSV(nil, tt.in)
		got := fmt.Sprintf("%q", f)
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("SplitCSV(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if _, err := SplitCSV(nil, `x,"open`); !errors.Is(err, ErrQuote) {
		t.Errorf("an open quote: %v, want ErrQuote", err)
	}
}

func TestHeaderLayout(t *testing.T) {
	const (
		cDate = iota
		cURL
		cHost
		nColumns
	)
	aliases := map[string]int{"dateaddedutc": cDate, "url": cURL, "host": cHost}
	l, ok := HeaderLayout([]string{"URL", "Dateadded (UTC)", "url"}, nColumns, aliases)
	if !ok || fmt.Sprint(l) != "[1 0 -1]" || l.Has(cHost) || !l.Has(cURL) {
		t.Errorf("HeaderLayout = %v, %v; want [1 0 -1] (the first url counts)", l, ok)
	}
	row := []string{"http://a.example/", "2024-01-01"}
	if l.Get(row, cURL) != row[0] || l.Get(row, cHost) != "" || l.Get(row[:1], cDate) != "" {
		t.Errorf("Get: %q %q %q", l.Get(row, cURL), l.Get(row, cHost), l.Get(row[:1], cDate))
	}
	for _, fields := range [][]string{{"url"}, {"url", "nonsense"}} {
		if _, ok := HeaderLayout(fields, nColumns, aliases); ok {
			t.Errorf("HeaderLayout(%q) accepted", fields)
		}
	}
	if l := NewLayout(nColumns, cHost, cURL); fmt.Sprint(l) != "[-1 1 0]" {
		t.Errorf("NewLayout = %v", l)
	}
}
