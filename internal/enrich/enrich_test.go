package enrich

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/domain"
	"github.com/tocsin/tocsin/internal/enrich/geo"
	"github.com/tocsin/tocsin/internal/event"
)

func testEnricher(t *testing.T) *Enricher {
	t.Helper()
	var b asn.Builder
	for _, e := range []struct {
		p    string
		asn  uint32
		name string
	}{
		{"81.2.69.0/24", 64500, "EXAMPLE-GB"},
		{"2.125.160.0/20", 64501, "EXAMPLE-TWO"},
		{"2001:db8::/32", 64502, "EXAMPLE-V6"},
	} {
		if err := b.AddPrefix(netip.MustParsePrefix(e.p), e.asn, e.name); err != nil {
			t.Fatal(err)
		}
	}
	tab, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	db, err := geo.Open(filepath.Join("geo", "testdata", "maxmind", "GeoIP2-Country-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	return &Enricher{ASN: tab, Geo: db, PSL: domain.Embedded()}
}

func TestEnrichFillsWhatIsMissing(t *testing.T) {
	x := testEnricher(t)
	var e event.Event
	e.Set("source.ip", "81.2.69.160")
	e.Set("source.url", "https://login.example.co.uk/x")
	e.Set("destination.ip", "2001:db8::1")
	x.Event(&e)
	if e.Source.ASN != 64500 || e.Source.ASName != "EXAMPLE-GB" || e.Source.Network.String() != "81.2.69.0/24" {
		t.Errorf("source AS: %d %q %s", e.Source.ASN, e.Source.ASName, e.Source.Network)
	}
	if e.Source.Geolocation.CC != "GB" {
		t.Errorf("source cc %q", e.Source.Geolocation.CC)
	}
	if e.Source.DomainSuffix != "co.uk" || e.Extra["source.registered_domain"] != "example.co.uk" {
		t.Errorf("domain: %q %v", e.Source.DomainSuffix, e.Extra["source.registered_domain"])
	}
	if e.Destination.ASN != 64502 || e.Destination.Network.String() != "2001:db8::/32" {
		t.Errorf("destination: %d %s", e.Destination.ASN, e.Destination.Network)
	}
}

func TestEnrichKeepsFeedData(t *testing.T) {
	x := testEnricher(t)
	var e event.Event
	e.Set("source.ip", "81.2.69.160")
	e.Set("source.asn", "65000")
	e.Set("source.as_name", "FROM-FEED")
	e.Set("source.network", "81.2.0.0/16")
	e.Set("source.geolocation.cc", "SE")
	x.Event(&e)
	if e.Source.ASN != 65000 || e.Source.ASName != "FROM-FEED" || e.Source.Network.String() != "81.2.0.0/16" || e.Source.Geolocation.CC != "SE" {
		t.Errorf("feed data changed: %s", e.AppendJSON(nil))
	}
	if e.Extra["source.asn_lookup"] != int64(64500) || e.Extra["source.network_lookup"] != "81.2.69.0/24" || e.Extra["source.cc_lookup"] != "GB" {
		t.Errorf("disagreements not in extra: %v", e.Extra)
	}
}

func TestEnrichNothingLoaded(t *testing.T) {
	var x *Enricher
	if x.Enabled() {
		t.Error("nil enricher enabled")
	}
	(&Enricher{}).Event(&event.Event{})
}

func BenchmarkEnrichIP(b *testing.B) {
	t := &testing.T{}
	x := testEnricher(t)
	var e event.Event
	e.Set("source.ip", "81.2.69.160")
	b.ReportAllocs()
	for b.Loop() {
		e.Source.ASN, e.Source.ASName, e.Source.Network, e.Source.Geolocation.CC = 0, "", netip.Prefix{}, ""
		x.Event(&e)
	}
}

func TestEnrichSkipsPrivateAddresses(t *testing.T) {
	x := testEnricher(t)
	for _, ip := range []string{"192.168.1.1", "10.0.0.1", "127.0.0.1", "fe80::1", "::1"} {
		var e event.Event
		e.Set("source.ip", ip)
		x.Event(&e)
		if e.Source.ASN != 0 || e.Source.Geolocation.CC != "" {
			t.Errorf("%s enriched: %s", ip, e.AppendJSON(nil))
		}
	}
}
