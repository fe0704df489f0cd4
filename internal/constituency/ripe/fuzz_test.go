package ripe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency"
)

func FuzzReader(f *testing.F) {
	f.Add([]byte("inetnum: 192.0.2.0 - 192.0.2.255\nnetname: X # c\n+ more\n\nrole: R\n"))
	f.Add([]byte("a:\n \n\t\n+\n\n% c\n# c\n b\nc d\n*xx: 1\n"))
	f.Add([]byte("x: \"a#b\" # c\r\n\r\n"))
	f.Add([]byte("\x1f\x8b\x08\x00"))
	if data, err := os.ReadFile("testdata/mixed.rpsl"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		rd := NewReader(bytes.NewReader(data))
		prev := 0
		n := 0
		for o, err := range rd.All() {
			if n++; n > lines {
				t.Fatalf("more objects than lines")
			}
			var oe *ObjectError
			if errors.As(err, &oe) {
				if oe.Line < prev || oe.ErrLine < oe.Line || oe.ErrLine > lines || oe.Reason == "" {
					t.Fatalf("bad error %+v after line %d", oe, prev)
				}
				prev = oe.ErrLine
				continue
			}
			if err != nil {
				return // broken compressed input
			}
			if o.Line() <= prev || o.Line() > lines || o.Len() == 0 {
				t.Fatalf("object at line %d after line %d, %d attributes", o.Line(), prev, o.Len())
			}
			for i := range o.Len() {
				a := o.Attr(i)
				if checkName([]byte(a.Name)) != "" || a.Name != strings.ToLower(a.Name) {
					t.Fatalf("bad name %q", a.Name)
				}
				if a.Value != strings.Trim(a.Value, " \t\r") || strings.Contains(a.Value, "\n") {
					t.Fatalf("value not clean: %q", a.Value)
				}
				if a.Line < o.Line() || i > 0 && a.Line <= o.AttrLine(i-1) {
					t.Fatalf("attribute lines out of order")
				}
			}
			prev = o.AttrLine(o.Len() - 1)
			// What String writes reads back the same.
			again, err := NewReader(strings.NewReader(o.String())).Next()
			if err == nil && again.String() != o.String() {
				t.Fatalf("String does not read back:\n%s\n%s", o.String(), again.String())
			}
		}
	})
}

func FuzzImport(f *testing.F) {
	if data, err := os.ReadFile("testdata/mixed.rpsl"); err == nil {
		f.Add(data, "SE")
	}
	f.Add([]byte("inetnum: 1.2.3.4 - 1.2.3.9\ncountry: SE\nabuse-c: A\n\nrole: x\nnic-hdl: A\nabuse-mailbox: a@b.c\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, country string) {
		var opts Options
		if country != "" {
			opts.Countries = []string{country}
		}
		orgs := map[string]bool{}
		out := Funcs{
			OrgFunc: func(o constituency.Org) error {
				if orgs[o.ID] {
					t.Fatalf("org %s given twice", o.ID)
				}
				orgs[o.ID] = true
				return nil
			},
			AssetFunc: func(a constituency.Asset) error {
				if !orgs[a.Org] {
					t.Fatalf("asset of %s before its org", a.Org)
				}
				return nil
			},
			ContactFunc: func(c constituency.Contact) error {
				if !orgs[c.Org] {
					t.Fatalf("contact of %s before its org", c.Org)
				}
				if a, bad := ParseMailboxes(c.Email); len(a) != 1 || a[0] != c.Email || len(bad) > 0 {
					t.Fatalf("contact %q is not a normalised address", c.Email)
				}
				return nil
			},
		}
		in := Input{Name: "fuzz", Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
		sum, err := Import(context.Background(), []Input{in}, opts, out)
		if err != nil && !errors.Is(err, ErrNotRPSL) && !strings.Contains(err.Error(), "gzip") && !strings.Contains(err.Error(), "bzip2") {
			t.Fatalf("Import: %v", err)
		}
		if sum.ProblemCount < len(sum.Problems) {
			t.Fatalf("problem count %d < %d", sum.ProblemCount, len(sum.Problems))
		}
	})
}

func FuzzRangePrefixes(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, []byte{192, 0, 2, 200})
	f.Add([]byte{0, 0, 0, 0}, []byte{255, 255, 255, 255})
	f.Add(make([]byte, 16), bytes.Repeat([]byte{0xff}, 16))
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, x, y []byte) {
		a, ok1 := netip.AddrFromSlice(x)
		b, ok2 := netip.AddrFromSlice(y)
		if !ok1 || !ok2 {
			return
		}
		ps, err := RangePrefixes(a, b)
		if a.Is4() != b.Is4() || b.Less(a) {
			if err == nil {
				t.Fatalf("%s - %s: no error", a, b)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s - %s: %v", a, b, err)
		}
		checkCover(t, a, b, ps)
		// The text form gives the same.
		again, err := ParseNetwork(a.String() + " - " + b.String())
		if err != nil || len(again) != len(ps) {
			t.Fatalf("ParseNetwork(%s - %s) = %v, %v", a, b, again, err)
		}
	})
}

func FuzzParseNetwork(f *testing.F) {
	for _, s := range []string{"192.0.2.0 - 192.0.2.255", "24.232/16", "2001:db8::/32", "192.0.02.0", "::-::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseNetwork(s)
		if err != nil {
			return
		}
		first := ps[0].Addr()
		checkCover(t, first, lastAddr(ps[len(ps)-1]), ps)
	})
}

func FuzzParseMailboxes(f *testing.F) {
	for _, s := range []string{"abuse@example.com  <abuse@example.com>", `"a b"@example.com x@y.z`, "a@b.c (x), d@e.f;", "Name <a@b.c>", `"\"@x.y`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addrs, bad := ParseMailboxes(s)
		for _, a := range addrs {
			again, bad2 := ParseMailboxes(a)
			if len(again) != 1 || again[0] != a || len(bad2) > 0 {
				t.Fatalf("%q from %q reads back as %q %v", a, s, again, bad2)
			}
		}
		for _, r := range bad {
			if r.Reason == "" || !strings.Contains(s, r.Text) {
				t.Fatalf("rejected %+v from %q", r, s)
			}
		}
	})
}
