package ripe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency"
)

func TestImportMixed(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"mixed_all", Options{}},
		{"mixed_se", Options{Countries: []string{"se"}}},
		{"mixed_se_no", Options{Countries: []string{"SE", "NO"}}},
		{"mixed_se_skip_without_org", Options{Countries: []string{"SE"}, SkipWithoutOrg: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, importFiles(t, "testdata", []string{"mixed.rpsl"}, tc.opts, -1))
		})
	}
}

// memInput is an Input over bytes that counts how often it is opened.
func memInput(name string, data []byte, opens *int) Input {
	return Input{Name: name, Open: func() (io.ReadCloser, error) {
		if opens != nil {
			*opens++
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

// TestImportSplit splits the mixed dump the way the RIPE NCC splits its
// own, in the order that puts every reference forward, and checks that
// the result is the same and that each split file is read once.
func TestImportSplit(t *testing.T) {
	data, err := os.ReadFile("testdata/mixed.rpsl")
	if err != nil {
		t.Fatal(err)
	}
	byClass := map[string]*bytes.Buffer{}
	var classes []string
	rd := NewReader(bytes.NewReader(data))
	for o, err := range rd.All() {
		if err != nil {
			continue // the broken objects
		}
		b := byClass[o.Class()]
		if b == nil {
			b = &bytes.Buffer{}
			byClass[o.Class()] = b
			classes = append(classes, o.Class())
		}
		b.WriteString(o.String())
		b.WriteString("\n")
	}
	opens := map[string]*int{}
	var ins []Input
	for _, class := range classes {
		name := "ripe.db." + class
		opens[name] = new(int)
		ins = append(ins, memInput(name, byClass[class].Bytes(), opens[name]))
	}
	var split collector
	sum, err := Import(context.Background(), ins, Options{Countries: []string{"SE"}}, &split)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range opens {
		if *n != 1 {
			t.Errorf("%s opened %d times, want once", name, *n)
		}
	}
	var mixed collector
	mixedOpens := 0
	if _, err := Import(context.Background(), []Input{memInput("mixed.rpsl", data, &mixedOpens)}, Options{Countries: []string{"SE"}}, &mixed); err != nil {
		t.Fatal(err)
	}
	if mixedOpens != 2 {
		t.Errorf("mixed file opened %d times, want twice (two passes)", mixedOpens)
	}
	slices.Sort(split.lines)
	slices.Sort(mixed.lines)
	if !slices.Equal(split.lines, mixed.lines) {
		t.Errorf("split dump gives\n%s\nmixed dump gives\n%s", strings.Join(split.lines, "\n"), strings.Join(mixed.lines, "\n"))
	}
	if sum.Read["inetnum"] == 0 || sum.Read["role"] == 0 {
		t.Errorf("summary counts nothing: %+v", sum.Read)
	}
}

// TestImportStops checks that an Output error and a cancelled context stop
// the import.
func TestImportStops(t *testing.T) {
	data, err := os.ReadFile("testdata/mixed.rpsl")
	if err != nil {
		t.Fatal(err)
	}
	stop := fmt.Errorf("store full")
	_, err = Import(context.Background(), []Input{memInput("m", data, nil)}, Options{}, Funcs{AssetFunc: func(constituency.Asset) error { return stop }})
	if err != stop {
		t.Errorf("Output error: got %v, want %v", err, stop)
	}
}
