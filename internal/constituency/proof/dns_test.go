package proof_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency/proof"
	"github.com/tocsin/tocsin/internal/dnstest"
)

// TestVerify: Verify against a real authoritative server (knotd) with the
// right record, spelled in every way DNS allows, a wrong one, another
// organisation's, and none.
func TestVerify(t *testing.T) {
	k := testKey(t, 1)
	const org = "manual:energy"
	value := func(domain string) string {
		c, err := k.Challenge(org, domain)
		if err != nil {
			t.Fatal(err)
		}
		return c.Value
	}
	other, _ := k.Challenge("manual:other", "other.test")
	v := value("split.test")
	s := dnstest.Start(t, map[string]string{
		"right.test": dnstest.Zone("right.test", `_tocsin-challenge TXT "`+value("right.test")+`"`),
		// Several records, one of them right; the right one in upper case.
		"many.test": dnstest.Zone("many.test",
			`_tocsin-challenge TXT "google-site-verification=abc"`,
			`_tocsin-challenge TXT "`+strings.ToUpper(value("many.test"))+`"`),
		// One record in several strings (joined), with white space around "=".
		"split.test": dnstest.Zone("split.test", `_tocsin-challenge TXT "`+v[:10]+`" "`+v[10:26]+` = `+`" "`+v[27:]+`"`),
		"wrong.test": dnstest.Zone("wrong.test", `_tocsin-challenge TXT "tocsin-domain-verification=aaaaaaaaaaaaaaaaaaaaaaaaaa"`),
		"other.test": dnstest.Zone("other.test", `_tocsin-challenge TXT "`+other.Value+`"`),
		"none.test":  dnstest.Zone("none.test", `www A 192.0.2.1`),
		// The name exists, with another type only.
		"nodata.test": dnstest.Zone("nodata.test", `_tocsin-challenge A 192.0.2.1`),
	})
	r := proof.Resolver(s.Addr)
	tests := []struct {
		domain  string
		wantErr error
		say     []string // in the error
	}{
		{"right.test", nil, nil},
		{"RIGHT.test.", nil, nil},
		{"many.test", nil, nil},
		{"split.test", nil, nil},
		{"wrong.test", proof.ErrMismatch, []string{`"tocsin-domain-verification=aaaaaaaaaaaaaaaaaaaaaaaaaa"`, value("wrong.test"), "_tocsin-challenge.wrong.test."}},
		{"other.test", proof.ErrMismatch, []string{other.Value, value("other.test")}},
		{"none.test", proof.ErrNoRecord, []string{"no TXT record at _tocsin-challenge.none.test.", `publish _tocsin-challenge.none.test. TXT "` + value("none.test") + `"`}},
		{"nodata.test", proof.ErrNoRecord, []string{"no TXT record"}},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			err := k.Verify(context.Background(), r, org, tt.domain)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.say {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
	// The same record does not prove the domain for another organisation.
	if err := k.Verify(context.Background(), r, "manual:other", "right.test"); !errors.Is(err, proof.ErrMismatch) {
		t.Errorf("another organisation verified with right.test's record: %v", err)
	}
}
