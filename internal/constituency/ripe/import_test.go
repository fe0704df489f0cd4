package ripe

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// TestImportARIN reads ARIN's bulk whois format (a hand-made sample in its
// shape): organisations (OrgID, their country and OrgAbuseHandle), POCs
// (Mailbox), nets (NetRange) and AS numbers.
func TestImportARIN(t *testing.T) {
	golden(t, "arin_ca", importFiles(t, "testdata", []string{"arin.txt"}, Options{Countries: []string{"CA"}}, -1))
}

func TestImportZip(t *testing.T) {
	data, err := os.ReadFile("testdata/mixed.rpsl")
	if err != nil {
		t.Fatal(err)
	}
	half := bytes.Index(data, []byte("\norganisation:"))
	path := filepath.Join(t.TempDir(), "dump.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for i, part := range [][]byte{data[:half], data[half:]} {
		w, _ := zw.Create(fmt.Sprintf("part%d.db", i))
		w.Write(part)
	}
	zw.Close()
	f.Close()

	var fromZip, plain collector
	if _, err := Import(context.Background(), []Input{File(path)}, Options{}, &fromZip); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(context.Background(), []Input{File("testdata/mixed.rpsl")}, Options{}, &plain); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromZip.lines, plain.lines) || len(plain.lines) == 0 {
		t.Errorf("zip gives\n%s\nplain gives\n%s", strings.Join(fromZip.lines, "\n"), strings.Join(plain.lines, "\n"))
	}
}

func TestImportErrors(t *testing.T) {
	_, err := Import(context.Background(), []Input{File("testdata/no-such-file.db")}, Options{}, Funcs{})
	if err == nil || !strings.Contains(err.Error(), "no-such-file.db") {
		t.Errorf("missing file: %v", err)
	}
	_, err = Import(context.Background(), []Input{memInput("broken.gz", []byte("\x1f\x8b\x08\x00garbage"), nil)}, Options{}, Funcs{})
	if err == nil || !strings.Contains(err.Error(), "broken.gz") {
		t.Errorf("broken gzip: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Import(ctx, []Input{File("testdata/mixed.rpsl")}, Options{}, Funcs{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// 100 malformed objects and nothing else: not RPSL.
	junk := strings.Repeat("this is not rpsl\n\n", 150)
	_, err = Import(context.Background(), []Input{memInput("junk.txt", []byte(junk), nil)}, Options{}, Funcs{})
	if !errors.Is(err, ErrNotRPSL) {
		t.Errorf("junk: %v", err)
	}
	for name, data := range map[string]string{"x.json": " {\"a\": 1}", "x.html": "<html>", "x.bin": "\x00\x01\x02\xff\xfe"} {
		_, err = Import(context.Background(), []Input{memInput(name, []byte(data), nil)}, Options{}, Funcs{})
		if !errors.Is(err, ErrNotRPSL) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestImportProblemsKept(t *testing.T) {
	var all []Problem
	sum, err := Import(context.Background(), []Input{File("testdata/mixed.rpsl")}, Options{MaxProblems: 2, OnProblem: func(p Problem) { all = append(all, p) }}, Funcs{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Problems) != 2 || sum.ProblemCount != len(all) || len(all) < 5 {
		t.Errorf("kept %d of %d problems, OnProblem saw %d", len(sum.Problems), sum.ProblemCount, len(all))
	}
	sum, _ = Import(context.Background(), []Input{File("testdata/mixed.rpsl")}, Options{MaxProblems: -1}, Funcs{})
	if len(sum.Problems) != 0 || sum.ProblemCount == 0 {
		t.Errorf("MaxProblems -1: kept %d of %d", len(sum.Problems), sum.ProblemCount)
	}
}

func TestImportProgress(t *testing.T) {
	var done []string
	_, err := Import(context.Background(), []Input{File("testdata/mixed.rpsl")}, Options{Progress: func(p Progress) {
		if p.Done {
			done = append(done, fmt.Sprintf("pass %d %s %d bytes %d objects", p.Pass, p.Input, p.Bytes, p.Objects))
		}
	}}, Funcs{})
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat("testdata/mixed.rpsl")
	want := []string{
		fmt.Sprintf("pass 1 testdata/mixed.rpsl %d bytes 29 objects", fi.Size()),
		fmt.Sprintf("pass 2 testdata/mixed.rpsl %d bytes 29 objects", fi.Size()),
	}
	if !slices.Equal(done, want) {
		t.Errorf("progress at the end of the inputs:\n%s\nwant\n%s", strings.Join(done, "\n"), strings.Join(want, "\n"))
	}
}

// TestImportSplitFileWithOthers: a file named like a split dump of roles
// that holds resources too is read again for them.
func TestImportSplitFileWithOthers(t *testing.T) {
	data := []byte("role: R\nnic-hdl: R1\nabuse-mailbox: a@example.org\n\ninetnum: 192.0.2.0 - 192.0.2.255\nnetname: N\nabuse-c: R1\n")
	opens := 0
	var c collector
	sum, err := Import(context.Background(), []Input{memInput("ripe.db.role.gz", data, &opens)}, Options{}, &c)
	if err != nil {
		t.Fatal(err)
	}
	if opens != 2 || sum.Imported["inetnum"] != 1 || sum.Read["role"] != 1 || sum.Read["inetnum"] != 1 {
		t.Errorf("opened %d times, summary %+v", opens, sum)
	}
	want := []string{`org ripe:netname:N "N" `, "asset ripe:netname:N 192.0.2.0/24 (inetnum 192.0.2.0 - 192.0.2.255)", "contact ripe:netname:N abuse a@example.org"}
	if !slices.Equal(c.lines, want) {
		t.Errorf("got %q", c.lines)
	}
}

// TestImportWholeDumpName: afrinic.db.gz is a whole dump, not a split file
// of a class "gz": read twice, its references resolve.
func TestImportWholeDumpName(t *testing.T) {
	data := []byte("inetnum: 192.0.2.0 - 192.0.2.255\nnetname: N\norg: ORG-A\n\norganisation: ORG-A\norg-name: A\n")
	opens := 0
	var c collector
	if _, err := Import(context.Background(), []Input{memInput("afrinic.db.gz", data, &opens)}, Options{}, &c); err != nil {
		t.Fatal(err)
	}
	if opens != 2 || len(c.lines) == 0 || c.lines[0] != `org ripe:ORG-A "A" ` {
		t.Errorf("opened %d times, got %q", opens, c.lines)
	}
}

// TestImportSeveralAbuseC: every abuse-c of a resource counts, and a
// mnt-irt between them changes nothing.
func TestImportSeveralAbuseC(t *testing.T) {
	data := []byte("inetnum: 192.0.2.0 - 192.0.2.255\nnetname: N\nabuse-c: R1, r2\nmnt-irt: IRT-X\nabuse-c: R3\n\n" +
		"role: R\nnic-hdl: R1\nabuse-mailbox: a@example.org\n\nrole: R\nnic-hdl: R2\nabuse-mailbox: b@example.org\n\n" +
		"role: R\nnic-hdl: R3\nabuse-mailbox: c@example.org\n\nirt: IRT-X\nabuse-mailbox: irt@example.org\n")
	var c collector
	if _, err := Import(context.Background(), []Input{memInput("m", data, nil)}, Options{}, &c); err != nil {
		t.Fatal(err)
	}
	want := []string{`org ripe:netname:N "N" `, "asset ripe:netname:N 192.0.2.0/24 (inetnum 192.0.2.0 - 192.0.2.255)",
		"contact ripe:netname:N abuse a@example.org", "contact ripe:netname:N abuse b@example.org", "contact ripe:netname:N abuse c@example.org"}
	if !slices.Equal(c.lines, want) {
		t.Errorf("got\n%s", strings.Join(c.lines, "\n"))
	}
}
