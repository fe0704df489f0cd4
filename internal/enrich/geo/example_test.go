package geo_test

import (
	"fmt"
	"net/netip"

	"github.com/tocsin/tocsin/internal/enrich/geo"
)

func ExampleDB_Country() {
	db, err := geo.Open("testdata/maxmind/GeoIP2-Country-Test.mmdb")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range []string{"89.160.20.112", "2001:218::1", "1.1.1.1"} {
		cc, ok, err := db.Country(netip.MustParseAddr(s))
		fmt.Printf("%s: %q %v %v\n", s, cc, ok, err)
	}
	// Output:
	// 89.160.20.112: "SE" true <nil>
	// 2001:218::1: "JP" true <nil>
	// 1.1.1.1: "" false <nil>
}

func ExampleDB_Verify() {
	db, err := geo.Open("testdata/maxmind/MaxMind-DB-test-broken-pointers-24.mmdb")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(db.Verify())
	// Output:
	// geo: testdata/maxmind/MaxMind-DB-test-broken-pointers-24.mmdb: invalid MaxMind DB at offset 216: search tree: record value 100232 points to data section offset 100052, past its end (65 bytes)
}
