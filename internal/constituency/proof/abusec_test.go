package proof_test

import (
	"context"
	"errors"
	"iter"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/proof"
	"github.com/tocsin/tocsin/internal/store/sqlite"
)

func rows[T any](xs ...T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	}
}

// TestRIPEAbuseC: the abuse-c of a network is the RIPE contact of the
// holder of the most specific RIPE network around it that has one; of an
// AS number, its aut-num holder's; manual data never counts.
func TestRIPEAbuseC(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pfx := netip.MustParsePrefix
	ripe := func(org string, p string) constituency.Asset {
		return constituency.Asset{Org: org, Kind: constituency.AssetNetwork, Prefix: pfx(p), Confirmed: true}
	}
	_, err = st.Import(ctx, constituency.SourceRIPE,
		rows(constituency.Org{ID: "ripe:LIR"}, constituency.Org{ID: "ripe:END"}, constituency.Org{ID: "ripe:NOC"}),
		rows(ripe("ripe:LIR", "192.0.2.0/24"), ripe("ripe:END", "192.0.2.0/26"), ripe("ripe:NOC", "192.0.2.64/26"),
			ripe("ripe:LIR", "2001:db8::/32"),
			constituency.Asset{Org: "ripe:END", Kind: constituency.AssetASN, ASN: 64500, Confirmed: true}),
		rows(constituency.Contact{Org: "ripe:LIR", Email: "abuse@lir.example", Role: "abuse"},
			constituency.Contact{Org: "ripe:LIR", Email: "abuse-desk@lir.example", Role: "abuse"},
			constituency.Contact{Org: "ripe:END", Email: "noc@end.example", Role: "noc"},
			constituency.Contact{Org: "ripe:END", Email: "abuse@end.example", Role: "abuse"}))
	if err != nil {
		t.Fatal(err)
	}
	// A manual organisation with its own contact around everything: ignored.
	st.PutOrg(ctx, constituency.Org{ID: "manual:big", Name: "Big"})
	st.PutAsset(ctx, constituency.Asset{Org: "manual:big", Kind: constituency.AssetNetwork, Prefix: pfx("192.0.0.0/8"), Confirmed: true})
	st.PutContact(ctx, constituency.Contact{Org: "manual:big", Email: "cert@big.example"})

	tests := []struct {
		asset   constituency.Asset
		emails  string // comma-separated
		holder  string
		wantErr string
	}{
		{constituency.Asset{Kind: constituency.AssetNetwork, Prefix: pfx("192.0.2.16/28")}, "abuse@end.example", "ripe:END", ""},
		{constituency.Asset{Kind: constituency.AssetNetwork, Prefix: pfx("192.0.2.0/26")}, "abuse@end.example", "ripe:END", ""},
		// ripe:NOC has no contact: the enclosing /24's holder answers.
		{constituency.Asset{Kind: constituency.AssetNetwork, Prefix: pfx("192.0.2.64/27")}, "abuse-desk@lir.example,abuse@lir.example", "ripe:LIR", ""},
		// Wider than the /26s, inside the /24.
		{constituency.Asset{Kind: constituency.AssetNetwork, Prefix: pfx("192.0.2.0/25")}, "abuse-desk@lir.example,abuse@lir.example", "ripe:LIR", ""},
		{constituency.Asset{Kind: constituency.AssetNetwork, Prefix: pfx("2001:db8:1::/48")}, "abuse-desk@lir.example,abuse@lir.example", "ripe:LIR", ""},
		{constituency.Asset{Kind: constituency.AssetASN, ASN: 64500}, "abuse@end.example", "ripe:END", ""},
		{constituency.Asset{Kind: constituency.AssetASN, ASN: 64501}, "", "", "no RIPE abuse-c known for AS64501: no RIPE data imported holds it"},
		{constituency.Asset{Kind: constituency.AssetNetwork, Prefix: pfx("198.51.100.0/24")}, "", "", "import the RIPE database"},
		{constituency.Asset{Kind: constituency.AssetNetwork, Prefix: pfx("192.0.0.0/16")}, "", "", "no RIPE data imported holds it"},
	}
	for _, tt := range tests {
		tt.asset.Org = "manual:x"
		got, err := proof.RIPEAbuseC(ctx, st, tt.asset)
		if tt.wantErr != "" {
			if !errors.Is(err, proof.ErrNoAbuseC) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: %v, want an error saying %q", tt.asset, err, tt.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got.Emails, ",") != tt.emails || got.Holder != tt.holder {
			t.Errorf("%s: %+v, %v; want %s of %s", tt.asset.Prefix, got, err, tt.emails, tt.holder)
		}
	}
}
