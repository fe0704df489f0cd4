package enrich

import (
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/geo"
	"github.com/tocsin/tocsin/internal/enrich/iptable"
	"github.com/tocsin/tocsin/internal/event"
)

// TestMergedTableChangesNothing enriches the same events with the sources
// asked one by one and with the merged IPv4 table built from them, by
// Event and by Events, and expects the same events: owner, contact, AS,
// prefix, country, and the *_lookup extras where the feed disagrees.
func TestMergedTableChangesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	owners, err := constituencyIndex(300, 6_000, 500, 50, 50)
	if err != nil {
		t.Fatal(err)
	}
	var ab asn.Builder
	for i := range 4_000 {
		a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), 0})
		if err := ab.AddPrefix(netip.PrefixFrom(a, 8+r.IntN(17)).Masked(), uint32(64496+i%200), "AS-NAME"); err != nil {
			t.Fatal(err)
		}
	}
	// Addresses MaxMind's test database has countries for.
	if err := ab.AddPrefix(netip.MustParsePrefix("81.2.69.0/24"), 64500, "EXAMPLE-GB"); err != nil {
		t.Fatal(err)
	}
	as, err := ab.Build()
	if err != nil {
		t.Fatal(err)
	}
	g, err := geo.Open(filepath.Join("geo", "testdata", "maxmind", "GeoIP2-Country-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := iptable.New(owners, as, g)
	if err != nil {
		t.Fatal(err)
	}
	if !tab.Countries() {
		t.Fatal("the test database's countries were not merged")
	}
	separate := &Enricher{Owners: owners, ASN: as, Geo: g}
	merged := &Enricher{Owners: owners, ASN: as, Geo: g, IPv4: tab}

	// Addresses: random IPv4, inside owners' networks, in the country
	// database, IPv4-mapped, IPv6, private, none; some with feed data.
	var nets []netip.Prefix
	for s := range owners.Spans4() {
		if s.Org >= 0 {
			nets = append(nets, netip.PrefixFrom(addr4(s.First), s.Bits))
		}
	}
	addr := func() netip.Addr {
		switch r.IntN(8) {
		case 0:
			return netip.AddrFrom4([4]byte{81, 2, 69, byte(r.Uint32())})
		case 1:
			return netip.AddrFrom16(netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}).As16())
		case 2:
			return netip.MustParseAddr("2001:480::1")
		case 3:
			return netip.MustParseAddr("10.1.2.3")
		case 4:
			return netip.Addr{}
		case 5:
			p := nets[r.IntN(len(nets))]
			b := p.Addr().As4()
			b[3] |= byte(r.Uint32()) & byte(0xff>>min(max(p.Bits()-24, 0), 8))
			return netip.AddrFrom4(b)
		}
		return netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	}
	const n = 3_000
	events := make([]event.Event, n)
	for i := range events {
		e := &events[i]
		e.Source.IP, e.Destination.IP = addr(), addr()
		switch i % 5 {
		case 0: // the feed says otherwise
			e.Source.ASN, e.Source.Geolocation.CC = 64999, "ZZ"
			e.Source.Network = netip.MustParsePrefix("192.0.2.0/24")
		case 1:
			e.Source.FQDN = "d1.example"
		}
	}
	enrich := func(x *Enricher, batch bool) []event.Event {
		out := make([]event.Event, n)
		ptrs := make([]*event.Event, n)
		for i := range events {
			out[i] = events[i]
			ptrs[i] = &out[i]
		}
		if batch {
			x.Events(ptrs)
		} else {
			for _, e := range ptrs {
				x.Event(e)
			}
		}
		return out
	}
	want := enrich(separate, false)
	for _, c := range []struct {
		name  string
		x     *Enricher
		batch bool
	}{
		{"separate, Events", separate, true},
		{"merged, Event", merged, false},
		{"merged, Events", merged, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := enrich(c.x, c.batch)
			found := 0
			for i := range got {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("event %d (source %v, destination %v):\n got %+v\nwant %+v", i, events[i].Source.IP, events[i].Destination.IP, got[i], want[i])
				}
				if got[i].Extra["source.org"] != nil {
					found++
				}
			}
			if found < n/10 {
				t.Errorf("only %d of %d events found an owner: the test does not test much", found, n)
			}
		})
	}
	// No allocation, for events whose feed data agrees (an extra value
	// would be boxed) once their Extra maps exist.
	plain := make([]*event.Event, 0, n)
	for i := range events {
		if i%5 != 0 {
			e := events[i]
			plain = append(plain, &e)
		}
	}
	merged.Events(plain)
	reset := func() {
		for _, e := range plain {
			src, dst := e.Source.IP, e.Destination.IP
			e.Source, e.Destination = event.Endpoint{IP: src}, event.Endpoint{IP: dst}
			clear(e.Extra)
		}
	}
	if a := testing.AllocsPerRun(3, func() { reset(); merged.Events(plain) }); a != 0 {
		t.Errorf("Events with the merged table allocates %v times for %d events", a, len(plain))
	}
	if a := testing.AllocsPerRun(3, func() {
		reset()
		for _, e := range plain {
			merged.Event(e)
		}
	}); a != 0 {
		t.Errorf("Event with the merged table allocates %v times for %d events", a, len(plain))
	}
	// OwnerAndDomain by address.
	for i := range events {
		p := &events[i].Source
		o1, d1, ok1 := separate.OwnerAndDomain(p, "")
		o2, d2, ok2 := merged.OwnerAndDomain(p, "")
		if o1 != o2 || d1 != d2 || ok1 != ok2 {
			t.Fatalf("OwnerAndDomain(%v): merged %v %q %v, separate %v %q %v", p.IP, o2, d2, ok2, o1, d1, ok1)
		}
	}
	// A table built from other sources is not used.
	other := &Enricher{Owners: owners, ASN: as, IPv4: tab}
	if other.merged() != nil {
		t.Error("a table built with a country database is used by an enricher without one")
	}
}

func addr4(x uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}
