package asn_test

import (
	"bytes"
	"fmt"
	"log"
	"net/netip"
	"strings"

	"github.com/tocsin/tocsin/internal/enrich/asn"
)

// An import reads its sources into a Builder, builds the table and saves a
// snapshot; every later run loads the snapshot and looks addresses up.
func Example() {
	var b asn.Builder
	// The most trusted source first: it wins where two sources give the
	// same range.
	routeviews := "; pyasn IPASN table\n192.0.2.0/24\t64496\n2001:db8::/32\t64497\n"
	names := `{"64496": "EXAMPLE-NET - Example Net, NL", "64497": "DOC6 - Documentation, ZZ"}`
	ipdb := "198.51.100.0,198.51.100.99,64498,\"Example, Inc.\"\n"
	for _, src := range []string{routeviews, names, ipdb} {
		rep, err := asn.Read(strings.NewReader(src), &b)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d entries, %d bad lines\n", rep.Format, rep.Entries, rep.Bad)
	}
	table, err := b.Build()
	if err != nil {
		log.Fatal(err)
	}
	var snapshot bytes.Buffer // a file in the data directory
	if _, err := table.WriteTo(&snapshot); err != nil {
		log.Fatal(err)
	}

	loaded, err := asn.ReadTable(&snapshot)
	if err != nil {
		log.Fatal(err)
	}
	for _, ip := range []string{"192.0.2.10", "2001:db8::1", "198.51.100.10", "203.0.113.1"} {
		if r, ok := loaded.Lookup(netip.MustParseAddr(ip)); ok {
			fmt.Printf("%s: AS%d %s %q\n", ip, r.ASN, r.Prefix, r.Name)
		} else {
			fmt.Printf("%s: not routed\n", ip)
		}
	}
	// Output:
	// pyasn: 2 entries, 0 bad lines
	// pyasn-asnames: 2 entries, 0 bad lines
	// ip-location-db: 1 entries, 0 bad lines
	// 192.0.2.10: AS64496 192.0.2.0/24 "EXAMPLE-NET - Example Net, NL"
	// 2001:db8::1: AS64497 2001:db8::/32 "DOC6 - Documentation, ZZ"
	// 198.51.100.10: AS64498 198.51.100.0/26 "Example, Inc."
	// 203.0.113.1: not routed
}
