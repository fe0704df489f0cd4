package enrich

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich/securitytxt"
	"github.com/tocsin/tocsin/internal/event"
)

// TestContactChain: an event's abuse contact is the registered one, else
// the security.txt of its owner's domains (as fetched before), else
// abuse@ of them; lookup's chain lists them all with their source.
func TestContactChain(t *testing.T) {
	now := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	dom := func(org, d string) constituency.Asset {
		return constituency.Asset{Org: org, Kind: constituency.AssetDomain, Domain: d, Source: constituency.SourceManual, Confirmed: true}
	}
	netw := func(org, p string) constituency.Asset {
		a := dom(org, "")
		a.Kind, a.Domain, a.Prefix = constituency.AssetNetwork, "", mustPrefix(p)
		return a
	}
	ix, err := index.Build(
		[]constituency.Org{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}},
		[]constituency.Asset{
			dom("a", "a.example"), dom("a", "other-a.example"),
			dom("b", "b.example"), netw("b", "192.0.2.0/24"),
			dom("c", "c.example"), dom("c", "shop.c.example"),
			dom("d", "d.example"),
		},
		[]constituency.Contact{{Org: "d", Email: "noc@d.example", Source: constituency.SourceManual}},
	)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := securitytxt.OpenSaved(filepath.Join(t.TempDir(), "s.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := func(expires time.Duration, emails ...string) securitytxt.Entry {
		f := &securitytxt.File{Expires: now.Add(expires)}
		for _, e := range emails {
			f.Contact = append(f.Contact, "mailto:"+e)
		}
		return securitytxt.NewEntry(f, nil, now.Add(-time.Hour), nil)
	}
	saved.Put("other-a.example", file(time.Hour, "cert@a.example", "soc@a.example"))
	saved.Put("b.example", file(-time.Minute, "old@b.example")) // expired
	saved.Put("shop.c.example", file(time.Hour, "shop@c.example"))
	saved.Put("d.example", file(time.Hour, "sec@d.example"))
	x := &Enricher{Owners: ix, SecurityTxt: saved, Now: func() time.Time { return now }}

	tests := []struct {
		name, field, value string
		contact            string
		chain              []string // "email source"
	}{
		{"security.txt of another domain of the owner", "source.url", "https://www.a.example/x", "cert@a.example",
			[]string{"cert@a.example security.txt", "soc@a.example security.txt", "abuse@a.example rfc2142", "abuse@other-a.example rfc2142"}},
		{"expired file: RFC 2142", "source.ip", "192.0.2.7", "abuse@b.example",
			[]string{"abuse@b.example rfc2142"}},
		{"the domain the event names first", "source.fqdn", "www.shop.c.example", "shop@c.example",
			[]string{"shop@c.example security.txt", "abuse@shop.c.example rfc2142", "abuse@c.example rfc2142"}},
		{"registered mailbox first", "source.fqdn", "d.example", "noc@d.example",
			[]string{"noc@d.example manual", "sec@d.example security.txt", "abuse@d.example rfc2142"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e event.Event
			if err := e.Set(tt.field, tt.value); err != nil {
				t.Fatal(err)
			}
			x.Event(&e)
			if e.Source.AbuseContact != tt.contact {
				t.Errorf("source.abuse_contact = %q, want %q", e.Source.AbuseContact, tt.contact)
			}
			host := e.Source.FQDN
			if host == "" {
				host = urlHost(e.Source.URL)
			}
			org, d, _ := x.OwnerAndDomain(&e.Source, host)
			var chain []string
			for _, c := range x.Contacts(org, d) {
				chain = append(chain, c.Email+" "+string(c.Source))
			}
			if !slices.Equal(chain, tt.chain) {
				t.Errorf("chain %q\nwant  %q", chain, tt.chain)
			}
			if n := testing.AllocsPerRun(100, func() { x.Contact(org, d) }); n != 0 {
				t.Errorf("Contact allocates %.0f times", n)
			}
		})
	}

	// Without the cache: abuse@ of the domain.
	x.SecurityTxt = nil
	a, _ := ix.OrgByID("a")
	if got := x.Contact(a, ""); got != "abuse@a.example" {
		t.Errorf("without security.txt: %q", got)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// TestEvents: enriching a batch gives each event what Event gives it.
func TestEvents(t *testing.T) {
	x := fullEnricherSmall(t)
	var batch, one []*event.Event
	for i := range 200 {
		for _, list := range []*[]*event.Event{&batch, &one} {
			e := &event.Event{}
			switch i % 4 {
			case 0:
				e.Set("source.ip", fmt.Sprintf("10.%d.%d.1", i%3, i))
			case 1:
				e.Set("source.ip", fmt.Sprintf("2001:db8::%x", i))
			case 2:
				e.Set("source.fqdn", fmt.Sprintf("www.d%d.example", i%7))
			default:
				e.Set("source.ip", "192.0.2.1")
				e.Set("destination.ip", fmt.Sprintf("10.1.%d.1", i))
			}
			*list = append(*list, e)
		}
	}
	x.Events(batch)
	for i, e := range one {
		x.Event(e)
		if got, want := string(batch[i].AppendJSON(nil)), string(e.AppendJSON(nil)); got != want {
			t.Errorf("event %d: Events gave %s\nEvent gave %s", i, got, want)
		}
	}
}

// fullEnricherSmall is an enricher with owners for 10.0.0.0/8 (nested),
// 2001:db8::/32 and some domains.
func fullEnricherSmall(t *testing.T) *Enricher {
	ix, err := index.Build(
		[]constituency.Org{{ID: "a"}, {ID: "b"}},
		[]constituency.Asset{
			{Org: "a", Kind: constituency.AssetNetwork, Prefix: mustPrefix("10.0.0.0/8"), Confirmed: true},
			{Org: "b", Kind: constituency.AssetNetwork, Prefix: mustPrefix("10.1.0.0/16"), Confirmed: true},
			{Org: "b", Kind: constituency.AssetNetwork, Prefix: mustPrefix("2001:db8::/32"), Confirmed: true},
			{Org: "a", Kind: constituency.AssetDomain, Domain: "d1.example", Confirmed: true},
			{Org: "b", Kind: constituency.AssetDomain, Domain: "d2.example", Confirmed: true},
		},
		[]constituency.Contact{{Org: "b", Email: "cert@b.example", Source: constituency.SourceManual}},
	)
	if err != nil {
		t.Fatal(err)
	}
	x := testEnricher(t)
	x.Owners = ix
	return x
}

// TestEventAllocations: enriching an event with an owner allocates only
// the event's extra map.
func TestEventAllocations(t *testing.T) {
	x := fullEnricherSmall(t)
	e := &event.Event{}
	e.Set("source.ip", "10.1.2.3")
	x.Event(e) // the extra map and the boxed IDs
	if n := testing.AllocsPerRun(100, func() { e.Source.AbuseContact = ""; x.Event(e) }); n != 0 {
		t.Errorf("Event allocates %.0f times", n)
	}
	if e.Extra["source.org"] != "b" || e.Source.AbuseContact != "cert@b.example" {
		t.Errorf("owner: %v %q", e.Extra, e.Source.AbuseContact)
	}
}
