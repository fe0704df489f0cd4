package dnstest_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/dnstest"
)

// TestServer: knotd serves the zones given to Start, on loopback, to the
// resolver Resolver returns; SetZone changes what it serves.
func TestServer(t *testing.T) {
	long := strings.Repeat("a", 255) + strings.Repeat("b", 45)
	s := dnstest.Start(t, map[string]string{
		"example.test": dnstest.Zone("example.test",
			`www A 192.0.2.1`,
			`txt TXT "one" "two"`,
			`txt TXT "three"`,
			`long TXT "`+long[:255]+`" "`+long[255:]+`"`),
		"other.test.": dnstest.Zone("other.test.", `@ TXT "apex"`),
	})
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
		t.Fatalf("Addr %q is not on 127.0.0.1", s.Addr)
	}
	r := s.Resolver()
	ctx := context.Background()

	tests := []struct {
		name string
		want []string // nil: not found
	}{
		{"txt.example.test.", []string{"onetwo", "three"}},
		{"long.example.test.", []string{long}},
		{"other.test.", []string{"apex"}},
		{"missing.example.test.", nil},
		{"www.example.test.", nil}, // a name without TXT
	}
	for _, tt := range tests {
		got, err := r.LookupTXT(ctx, tt.name)
		if tt.want == nil {
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				t.Errorf("%s: %q, %v; want not found", tt.name, got, err)
			}
			continue
		}
		slices.Sort(got)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	addrs, err := r.LookupHost(ctx, "www.example.test.")
	if err != nil || !slices.Equal(addrs, []string{"192.0.2.1"}) {
		t.Errorf("www.example.test: %v, %v", addrs, err)
	}

	s.SetZone(t, "example.test", strings.Replace(dnstest.Zone("example.test", `new TXT "new"`), " 1 3600", " 2 3600", 1))
	if got, err := r.LookupTXT(ctx, "new.example.test."); err != nil || !slices.Equal(got, []string{"new"}) {
		t.Errorf("after SetZone: %q, %v", got, err)
	}
}

// TestTransfer: with AllowTransfer, 127.0.0.1 may transfer a zone (AXFR),
// checked with kdig where it is installed.
func TestTransfer(t *testing.T) {
	s := dnstest.Start(t, map[string]string{"example.test": dnstest.Zone("example.test", `www A 192.0.2.1`)}, dnstest.AllowTransfer())
	kdig, err := exec.LookPath("kdig")
	if err != nil {
		t.Skip("kdig (knot-dnsutils) is not installed")
	}
	host, port, _ := net.SplitHostPort(s.Addr)
	out, err := exec.Command(kdig, "@"+host, "-p", port, "+noall", "+answer", "AXFR", "example.test.").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "192.0.2.1") {
		t.Errorf("AXFR: %v\n%s\nknotd's log:\n%s", err, out, s.Log())
	}
}

// TestNoTransfer: without AllowTransfer, a transfer is refused.
func TestNoTransfer(t *testing.T) {
	s := dnstest.Start(t, map[string]string{"example.test": dnstest.Zone("example.test", `www A 192.0.2.1`)})
	kdig, err := exec.LookPath("kdig")
	if err != nil {
		t.Skip("kdig (knot-dnsutils) is not installed")
	}
	host, port, _ := net.SplitHostPort(s.Addr)
	out, _ := exec.Command(kdig, "@"+host, "-p", port, "+noall", "+answer", "AXFR", "example.test.").CombinedOutput()
	if strings.Contains(string(out), "192.0.2.1") {
		t.Errorf("AXFR without AllowTransfer succeeded:\n%s", out)
	}
}
