package ripe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures are the RIR samples in ../shared/data/rir (see its MANIFEST.txt),
// each imported on its own or with the files it refers to.
var fixtures = []struct {
	name      string
	files     []string
	countries []string
}{
	{name: "irrd_valid", files: []string{"irrd/irrd_valid_objects.rpsl"}},
	{name: "irrd_invalid", files: []string{"irrd/irrd_invalid_objects.rpsl"}},
	{name: "ripe_testdb", files: []string{"ripe-whois-testdata/TEST.db"}},
	{name: "ripe_testdb_gb", files: []string{"ripe-whois-testdata/TEST.db"}, countries: []string{"gb"}},
	{name: "ripe_load_dumps", files: []string{
		"ripe-whois-testdata/TEST_BOOTSTRAP_LOAD_DUMP.db",
		"ripe-whois-testdata/TEST_ADDITIONAL_LOAD_DUMP.db",
		"ripe-whois-testdata/TEST_ADDITIONAL_LOAD_DUMP_WITH_ERROR.db",
	}},
	{name: "grs_afrinic", files: []string{"ripe-whois-testdata/grs/afrinic.test.gz"}},
	{name: "grs_apnic", files: []string{"ripe-whois-testdata/grs/apnic.test.gz"}},
	{name: "grs_arin", files: []string{"ripe-whois-testdata/grs/arin.test.zip"}},
	{name: "grs_jpirr", files: []string{"ripe-whois-testdata/grs/jpirr.test.gz"}},
	{name: "grs_lacnic", files: []string{"ripe-whois-testdata/grs/lacnic.test"}},
	{name: "grs_radb", files: []string{"ripe-whois-testdata/grs/radb.test.gz"}},
	{name: "grs_ripe", files: []string{"ripe-whois-testdata/grs/ripe.test.gz"}},
	{name: "ripe_rest_json", files: []string{"ripe-whois-testdata/as3333.json.gz"}},
	{name: "delegated_stats", files: []string{"delegated-stats/delegated-iana-latest.2019"}},
}

func TestFixtures(t *testing.T) {
	needShared(t)
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			got := importFiles(t, sharedRIR, f.files, Options{Countries: f.countries}, 300)
			golden(t, f.name, got)
		})
	}
}

// TestCertbundRoles imports the real role objects with tricky abuse-mailbox
// values that intelmq-certbund-contact tests with, each with an inetnum
// per role that names it as abuse-c, so that the golden files show the
// contacts each role gives.
func TestCertbundRoles(t *testing.T) {
	needShared(t)
	files, err := filepath.Glob(filepath.Join(sharedRIR, "intelmq-certbund-contact", "role_*.txt.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no role files: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".txt.gz")
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var refs bytes.Buffer
			rd := NewReader(f)
			for i := 0; ; i++ {
				o, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				h, _ := o.Get("nic-hdl")
				fmt.Fprintf(&refs, "inetnum: 192.0.2.%d - 192.0.2.%d\nnetname: NET-%d\norg: ORG-%s\nabuse-c: %s\ncountry: DE\n\n", i, i, i, h, h)
			}
			role := File(path)
			role.Name = "intelmq-certbund-contact/" + filepath.Base(path)
			ins := []Input{memInput("refs.rpsl", refs.Bytes(), nil), role}
			var c collector
			sum, err := Import(context.Background(), ins, Options{}, &c)
			golden(t, "certbund_"+name, render(sum, err, c.lines, -1))
		})
	}
}

// TestAllSharedFiles imports every file under ../shared/data/rir on its own:
// each must import or fail with a clear reason, never crash.
func TestAllSharedFiles(t *testing.T) {
	needShared(t)
	var b strings.Builder
	err := filepath.WalkDir(sharedRIR, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(sharedRIR, path)
		in := File(path)
		in.Name = rel
		sum, err := Import(context.Background(), []Input{in}, Options{MaxProblems: 1}, Funcs{})
		fmt.Fprintf(&b, "%s: read %d objects, %d malformed, %d assets, %d problems", rel, total(sum.Read), sum.Malformed, sum.Assets, sum.ProblemCount)
		if len(sum.Problems) > 0 {
			fmt.Fprintf(&b, ", first: %s", sum.Problems[0])
		}
		if err != nil {
			fmt.Fprintf(&b, "; error: %v", err)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "all_shared_files", b.String())
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
