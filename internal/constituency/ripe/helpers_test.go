package ripe

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sharedRIR is ../shared/data/rir seen from this package's directory.
const sharedRIR = "../../../../shared/data/rir"

// needShared skips the test when ../shared/data is absent (a fresh clone).
func needShared(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sharedRIR, "MANIFEST.txt")); err != nil {
		t.Skipf("needs the RIR fixtures in %s (../shared/data beside the repository): %v", sharedRIR, err)
	}
}

// collector keeps what an import gives out, one line per record.
type collector struct{ lines []string }

func (c *collector) Org(o constituency.Org) error {
	c.lines = append(c.lines, fmt.Sprintf("org %s %q %s", o.ID, o.Name, o.Country))
	return nil
}

func (c *collector) Asset(a constituency.Asset) error {
	what := a.Prefix.String()
	if a.Kind == constituency.AssetASN {
		what = fmt.Sprintf("AS%d", a.ASN)
	}
	c.lines = append(c.lines, fmt.Sprintf("asset %s %s (%s)", a.Org, what, a.Name))
	return nil
}

func (c *collector) Contact(k constituency.Contact) error {
	c.lines = append(c.lines, fmt.Sprintf("contact %s %s %s", k.Org, k.Role, k.Email))
	return nil
}

// importFiles imports files (names relative to dir) and renders the summary
// and up to max output lines for a golden file.
func importFiles(t *testing.T, dir string, files []string, opts Options, max int) string {
	t.Helper()
	var ins []Input
	for _, f := range files {
		in := File(filepath.Join(dir, f))
		in.Name = f

		ins = append(ins, in)
	}
	var c collector
	sum, err := Import(context.Background(), ins, opts, &c)
	return render(sum, err, c.lines, max)
}

func render(sum *Summary, err error, lines []string, max int) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	counts := func(title string, m map[string]int) {
		fmt.Fprintf(&b, "%s:", title)
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			fmt.Fprintf(&b, " %s=%d", k, m[k])
		}
		b.WriteString("\n")
	}
	counts("read", sum.Read)
	fmt.Fprintf(&b, "malformed: %d\n", sum.Malformed)
	counts("imported", sum.Imported)
	counts("rejected", sum.Rejected)
	counts("out of country", sum.OutOfCountry)
	counts("ignored", sum.Ignored)
	fmt.Fprintf(&b, "orgs: %d (made: %d), assets: %d, contacts: %d\n", sum.Orgs, sum.OrgsMade, sum.Assets, sum.Contacts)
	fmt.Fprintf(&b, "problems: %d\n", sum.ProblemCount)
	for _, p := range sum.Problems {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	n := len(lines)
	if max >= 0 && n > max {
		fmt.Fprintf(&b, "output: %d records, the first %d:\n", n, max)
		lines = lines[:max]
	} else {
		fmt.Fprintf(&b, "output: %d records:\n", n)
	}
	for _, l := range lines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	return b.String()
}

// golden compares got with testdata/golden/name.golden, or rewrites it
// with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, diff(string(want), got))
	}
}

// diff returns the first lines where a and b differ.
func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	shown := 0
	for i := 0; i < max(len(al), len(bl)) && shown < 10; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "line %d:\n  want %s\n  got  %s\n", i+1, x, y)
			shown++
		}
	}
	return out.String()
}
