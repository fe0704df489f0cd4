package proof_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/proof"
)

// FuzzParseLinkToken: a token from a URL is untrusted input. Parsing never
// panics, and what parses is what a token of this key says: making the
// token again from the result gives the same token.
func FuzzParseLinkToken(f *testing.F) {
	k, err := proof.NewKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, a := range []constituency.Asset{
		{Org: "manual:x", Kind: constituency.AssetNetwork, Prefix: netip.MustParsePrefix("192.0.2.0/24")},
		{Org: "manual:x", Kind: constituency.AssetNetwork, Prefix: netip.MustParsePrefix("2001:db8::/32")},
		{Org: "ripe:ORG-X-RIPE", Kind: constituency.AssetASN, ASN: 4200000000},
	} {
		tok, _ := k.LinkToken(a, now.Add(time.Hour))
		f.Add(tok)
		f.Add("https://cert.example/confirm/" + tok + "?x")
	}
	f.Add("")
	f.Add(".")
	f.Add("AAAA.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := k.ParseLinkToken(s, now)
		if err != nil {
			return
		}
		again, err := k.LinkToken(l.Asset(), l.Expires)
		if err != nil {
			t.Fatalf("%q parsed to %+v, which makes no token: %v", s, l, err)
		}
		if l2, err := k.ParseLinkToken(again, now); err != nil || l2 != l {
			t.Fatalf("%q parsed to %+v; made again and parsed: %+v, %v", s, l, l2, err)
		}
	})
}
