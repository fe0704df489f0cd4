package proof_test

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/proof"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func testKey(t *testing.T, fill byte) *proof.Key {
	t.Helper()
	k, err := proof.NewKey(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLoadKey: the key file is made once, mode 0600, and read back the
// same; a key others may read, or a broken one, is an error that says what
// to do.
func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := proof.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, proof.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	k2, err := proof.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := k1.Challenge("manual:x", "example.se")
	c2, _ := k2.Challenge("manual:x", "example.se")
	if c1 != c2 {
		t.Errorf("the key read back differs: %v, %v", c1, c2)
	}
	other, _ := proof.LoadKey(t.TempDir())
	if c3, _ := other.Challenge("manual:x", "example.se"); c3 == c1 {
		t.Error("two new keys give the same challenge")
	}

	os.Chmod(filepath.Join(dir, proof.KeyFile), 0o644)
	if _, err := proof.LoadKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("readable key: %v", err)
	}
	os.WriteFile(filepath.Join(dir, proof.KeyFile), []byte("not hex\n"), 0o600)
	os.Chmod(filepath.Join(dir, proof.KeyFile), 0o600)
	if _, err := proof.LoadKey(dir); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("broken key: %v", err)
	}
	if _, err := proof.NewKey(make([]byte, 16)); err == nil {
		t.Error("NewKey took a 16-byte key")
	}
}

// TestChallenge: the record is the same for every spelling of the domain,
// differs between organisations, domains and keys, and has the documented
// form.
func TestChallenge(t *testing.T) {
	k := testKey(t, 1)
	c, err := k.Challenge("manual:energy", "example.se")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "_tocsin-challenge.example.se." || !strings.HasPrefix(c.Value, "tocsin-domain-verification=") || len(c.Value) != len("tocsin-domain-verification=")+26 {
		t.Errorf("challenge %+v", c)
	}
	if want := `_tocsin-challenge.example.se. TXT "` + c.Value + `"`; c.Record() != want {
		t.Errorf("Record() = %s, want %s", c.Record(), want)
	}
	for _, d := range []string{"EXAMPLE.se", "example.se.", " example.se "} {
		if c2, err := k.Challenge("manual:energy", d); err != nil || c2 != c {
			t.Errorf("%q: %v, %v; want %v", d, c2, err, c)
		}
	}
	idn, err := k.Challenge("manual:energy", "räksmörgås.se")
	if err != nil || idn.Domain != "xn--rksmrgs-5wao1o.se" {
		t.Errorf("IDN: %+v, %v", idn, err)
	}
	for _, other := range []struct {
		key         *proof.Key
		org, domain string
	}{
		{k, "manual:other", "example.se"},
		{k, "manual:energy", "example.com"},
		{testKey(t, 2), "manual:energy", "example.se"},
	} {
		c2, _ := other.key.Challenge(other.org, other.domain)
		if c2.Value == c.Value {
			t.Errorf("%s %s has the same token as manual:energy example.se", other.org, other.domain)
		}
	}
	if _, err := k.Challenge("manual:energy", "not a domain"); err == nil {
		t.Error("a bad domain gave a challenge")
	}
}

// TestLinkToken: a token round-trips; one altered in any way, made under
// another key, for another organisation or asset, or expired is refused.
func TestLinkToken(t *testing.T) {
	k := testKey(t, 1)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	exp := now.Add(7 * 24 * time.Hour)
	net := constituency.Asset{Org: "manual:energy", Kind: constituency.AssetNetwork, Prefix: netip.MustParsePrefix("192.0.2.128/25")}
	asn := constituency.Asset{Org: "manual:energy", Kind: constituency.AssetASN, ASN: 64500}
	tok, err := k.LinkToken(net, exp)
	if err != nil {
		t.Fatal(err)
	}
	asnTok, _ := k.LinkToken(asn, exp)
	otherKeyTok, _ := testKey(t, 2).LinkToken(net, exp)
	otherOrg, _ := k.LinkToken(constituency.Asset{Org: "manual:other", Kind: net.Kind, Prefix: net.Prefix}, exp)
	expired, _ := k.LinkToken(net, now.Add(-time.Second))

	// A forger who knows the format swaps the organisation but keeps the MAC.
	p64, m64, _ := strings.Cut(tok, ".")
	_, otherMAC, _ := strings.Cut(otherOrg, ".")
	swapped := strings.Split(otherOrg, ".")[0] + "." + m64
	flipped := p64 + "." + flipChar(m64)

	tests := []struct {
		name    string
		token   string
		want    constituency.Asset
		wantErr error
	}{
		{"network", tok, net, nil},
		{"asn", asnTok, asn, nil},
		{"link", "https://cert.example/portal" + proof.LinkPath + tok, net, nil},
		{"link from a mail", " <https://cert.example/confirm/" + tok + "?utm=x> ", net, nil},
		{"other key", otherKeyTok, constituency.Asset{}, proof.ErrBadToken},
		{"org swapped", swapped, constituency.Asset{}, proof.ErrBadToken},
		{"mac of the other org", p64 + "." + otherMAC, constituency.Asset{}, proof.ErrBadToken},
		{"mac altered", flipped, constituency.Asset{}, proof.ErrBadToken},
		{"payload altered", flipChar(p64) + "." + m64, constituency.Asset{}, proof.ErrBadToken},
		{"cut short", tok[:len(tok)-3], constituency.Asset{}, proof.ErrBadToken},
		{"no mac", p64, constituency.Asset{}, proof.ErrBadToken},
		{"empty", "", constituency.Asset{}, proof.ErrBadToken},
		{"expired", expired, constituency.Asset{}, proof.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := k.ParseLinkToken(tt.token, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Source = constituency.SourceManual
			if l.Asset() != tt.want || !l.Expires.Equal(exp) {
				t.Errorf("got %+v (%v), want %+v", l.Asset(), l.Expires, tt.want)
			}
		})
	}
	if _, err := k.LinkToken(constituency.Asset{Org: "manual:energy", Kind: constituency.AssetDomain, Domain: "example.se"}, exp); err == nil || !strings.Contains(err.Error(), "DNS challenge") {
		t.Errorf("a link for a domain: %v", err)
	}
	if _, err := k.ParseLinkToken(expired, now); err == nil || !strings.Contains(err.Error(), "request-confirmation manual:energy 192.0.2.128/25") {
		t.Errorf("expired link says what to do: %v", err)
	}
}

// flipChar changes the first character of a base64url string.
func flipChar(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// TestMail: the confirmation mail, compared with testdata/*.eml (rewrite
// with -update): headers that no registry text can break, CRLF line ends,
// the link on a line of its own.
func TestMail(t *testing.T) {
	k := testKey(t, 1)
	exp := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		org   constituency.Org
		asset constituency.Asset
	}{
		{"network", constituency.Org{ID: "manual:energy", Name: "Example Energy AB"},
			constituency.Asset{Org: "manual:energy", Kind: constituency.AssetNetwork, Prefix: netip.MustParsePrefix("192.0.2.128/25")}},
		{"asn-utf8", constituency.Org{ID: "manual:raksmorgas", Name: "Räksmörgås AB\r\nBcc: victim@example.net"},
			constituency.Asset{Org: "manual:raksmorgas", Kind: constituency.AssetASN, ASN: 64500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := k.LinkToken(tt.asset, exp)
			if err != nil {
				t.Fatal(err)
			}
			l, err := k.ParseLinkToken(tok, exp.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			m := proof.Mail{From: "cert@cert.example", To: []string{"abuse@holder.example"}, Org: tt.org, Link: l,
				URL: proof.LinkURL("https://cert.example/portal/", tok), Holder: "ripe:ORG-HOLDER-RIPE",
				Date: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
			got := m.Bytes()
			if bytes.Contains(bytes.ReplaceAll(got, []byte("\r\n"), nil), []byte("\n")) {
				t.Error("a bare LF in the message")
			}
			head, _, _ := bytes.Cut(got, []byte("\r\n\r\n"))
			if bytes.Contains(head, []byte("\r\nBcc:")) {
				t.Error("the organisation's name added a header")
			}
			golden := filepath.Join("testdata", tt.name+".eml")
			if *update {
				os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("message differs from %s (run with -update and check the diff):\n%s", golden, got)
			}
		})
	}
}
