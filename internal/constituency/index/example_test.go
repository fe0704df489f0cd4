package index_test

import (
	"fmt"
	"net/netip"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
)

func Example() {
	b := index.NewBuilder()
	// Organisations, assets and contacts may come in any order, one at a
	// time, as a store streams them.
	_ = b.AddOrg(constituency.Org{ID: "ripe:ORG-EX1-RIPE", Name: "Example ISP AB", Source: constituency.SourceRIPE})
	_ = b.AddOrg(constituency.Org{ID: "manual:kommun", Name: "Exempel kommun", Source: constituency.SourceManual})
	_ = b.AddAsset(constituency.Asset{Org: "ripe:ORG-EX1-RIPE", Kind: constituency.AssetNetwork,
		Prefix: netip.MustParsePrefix("192.0.2.0/24"), Source: constituency.SourceRIPE, Confirmed: true})
	_ = b.AddAsset(constituency.Asset{Org: "manual:kommun", Kind: constituency.AssetNetwork,
		Prefix: netip.MustParsePrefix("192.0.2.64/26"), Source: constituency.SourceManual, Confirmed: true})
	_ = b.AddAsset(constituency.Asset{Org: "manual:kommun", Kind: constituency.AssetDomain,
		Domain: "exempel.se", Source: constituency.SourceManual, Confirmed: true})
	_ = b.AddContact(constituency.Contact{Org: "manual:kommun", Email: "abuse@isp.example", Source: constituency.SourceRIPE})
	_ = b.AddContact(constituency.Contact{Org: "manual:kommun", Email: "cert@exempel.se", Source: constituency.SourceManual})
	ix, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, ip := range []string{"192.0.2.1", "192.0.2.99", "198.51.100.1"} {
		org, prefix, ok := ix.OwnerOfIP(netip.MustParseAddr(ip))
		if !ok {
			fmt.Println(ip, "no owner")
			continue
		}
		fmt.Println(ip, prefix, ix.Org(org).Name)
	}
	org, domain, _ := ix.OwnerOfDomain("www.Exempel.SE")
	fmt.Println(domain, ix.Org(org).Name)
	for _, c := range append(ix.Contacts(org), index.RFC2142(domain)) {
		fmt.Println(c.Email, c.Source)
	}
	// Output:
	// 192.0.2.1 192.0.2.0/24 Example ISP AB
	// 192.0.2.99 192.0.2.64/26 Exempel kommun
	// 198.51.100.1 no owner
	// exempel.se Exempel kommun
	// cert@exempel.se manual
	// abuse@isp.example ripe
	// abuse@exempel.se rfc2142
}
