package asn

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden reads the sources of each case of testdata/golden (see the
// README there) and compares the reports, the table and the answers for
// the case's probes with want.txt.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			sources, err := filepath.Glob(filepath.Join(dir, "[0-9]-*"))
			if err != nil || len(sources) == 0 {
				t.Fatalf("no sources: %v", err)
			}
			var b Builder
			var out bytes.Buffer
			for _, src := range sources {
				f, err := os.Open(src)
				if err != nil {
					t.Fatal(err)
				}
				rep, err := Read(f, &b)
				f.Close()
				fmt.Fprintf(&out, "source %s: %s, %d lines, %d entries, %d not routed, %d multi-origin, %d bad\n",
					filepath.Base(src), rep.Format, rep.Lines, rep.Entries, rep.NotRouted, rep.MultiOrigin, rep.Bad)
				for _, s := range rep.Skipped {
					fmt.Fprintf(&out, "\tskipped %v\n", s)
				}
				if err != nil {
					fmt.Fprintf(&out, "\terror %v\n", err)
				}
			}
			tab, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			dumpTable(&out, tab)
			if probes, err := os.ReadFile(filepath.Join(dir, "probes.txt")); err == nil {
				out.WriteString("lookups:\n")
				for _, line := range strings.Fields(string(probes)) {
					a := netip.MustParseAddr(line)
					if r, ok := tab.Lookup(a); ok {
						fmt.Fprintf(&out, "\t%v\tAS%d\t%v\t%q\n", a, r.ASN, r.Prefix, r.Name)
					} else {
						fmt.Fprintf(&out, "\t%v\t-\n", a)
					}
				}
			}
			golden := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (write it with -update)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s differs; got:\n%s", golden, out.Bytes())
			}
			checkTable(t, &b, tab)
		})
	}
}

// dumpTable writes the segments of t, one a line: first and last address,
// AS, name, and the announced prefix length or "range".
func dumpTable(w io.Writer, t *Table) {
	kind := func(bits uint8) string {
		if bits == rangeBits {
			return "range"
		}
		return fmt.Sprintf("/%d", bits)
	}
	n4, n6 := t.Len()
	fmt.Fprintf(w, "IPv4 segments: %d\n", n4)
	for i, s := range t.seg4 {
		fmt.Fprintf(w, "\t%v-%v\tAS%d\t%s\t%q\n", toAddr(true, u128{0, uint64(t.start4[i])}), toAddr(true, u128{0, uint64(s.last)}),
			s.asn, kind(s.bits), t.names[s.off:s.off+uint32(s.n)])
	}
	fmt.Fprintf(w, "IPv6 segments: %d\n", n6)
	for _, s := range t.seg6 {
		fmt.Fprintf(w, "\t%v-%v\tAS%d\t%s\t%q\n", s.start.addr6(), s.last.addr6(), s.asn, kind(s.bits), t.names[s.off:s.off+uint32(s.n)])
	}
}
