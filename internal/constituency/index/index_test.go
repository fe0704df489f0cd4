package index

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency"
)

const (
	manual = constituency.SourceManual
	ripe   = constituency.SourceRIPE
)

func netAsset(org, prefix string, src constituency.Source) constituency.Asset {
	return constituency.Asset{Org: org, Kind: constituency.AssetNetwork, Prefix: netip.MustParsePrefix(prefix), Source: src, Confirmed: true}
}

func asnAsset(org string, asn uint32, src constituency.Source) constituency.Asset {
	return constituency.Asset{Org: org, Kind: constituency.AssetASN, ASN: asn, Source: src, Confirmed: true}
}

func domainAsset(org, domain string, src constituency.Source) constituency.Asset {
	return constituency.Asset{Org: org, Kind: constituency.AssetDomain, Domain: domain, Source: src, Confirmed: true}
}

func unconfirmed(a constituency.Asset) constituency.Asset { a.Confirmed = false; return a }

func orgs(ids ...string) []constituency.Org {
	var out []constituency.Org
	for _, id := range ids {
		out = append(out, constituency.Org{ID: id, Name: "Org " + id})
	}
	return out
}

var testOrgs = orgs("ripe:z", "manual:b", "ripe:d", "manual:a", "ripe:c")

var testAssets = []constituency.Asset{
	netAsset("ripe:z", "0.0.0.0/0", ripe),
	netAsset("ripe:c", "10.0.0.0/8", ripe),
	netAsset("manual:a", "10.1.0.0/16", manual),
	netAsset("ripe:d", "10.1.2.0/24", ripe),
	netAsset("ripe:c", "10.1.2.0/24", ripe), // same source: lowest ID wins
	netAsset("manual:b", "10.1.2.7/32", manual),
	netAsset("ripe:c", "10.1.3.0/24", ripe),
	netAsset("manual:b", "10.1.3.0/24", manual), // manual wins
	netAsset("ripe:d", "10.1.4.0/24", ripe),
	netAsset("ripe:d", "10.1.5.0/24", ripe), // sibling of the one above, same owner
	unconfirmed(netAsset("manual:a", "192.0.2.0/24", manual)),
	netAsset("manual:a", "255.255.255.255/32", manual),
	netAsset("manual:b", "::ffff:198.51.100.0/120", manual), // IPv4-mapped: 198.51.100.0/24
	netAsset("ripe:d", "172.16.0.0/12", ripe),
	netAsset("ripe:d", "172.31.255.255/32", ripe), // host route at the end of its parent
	netAsset("ripe:z", "::/0", ripe),
	netAsset("ripe:c", "2001:db8::/32", ripe),
	netAsset("manual:a", "2001:db8:1::/48", manual),
	netAsset("manual:b", "2001:db8:1::1/128", manual),
	netAsset("ripe:d", "2001:db8:2::/48", ripe),
	netAsset("manual:a", "2001:db8:2::/48", manual),
	netAsset("ripe:d", "2001:db8:3::5/64", ripe), // not masked: 2001:db8:3::/64
	netAsset("manual:a", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", manual),
	unconfirmed(netAsset("manual:a", "2001:db8:4::/48", manual)),

	asnAsset("ripe:c", 64500, ripe),
	asnAsset("manual:a", 64500, manual),
	asnAsset("ripe:d", 64501, ripe),
	asnAsset("ripe:c", 64501, ripe),
	unconfirmed(asnAsset("manual:a", 64502, manual)),

	domainAsset("manual:a", "example.se", manual),
	domainAsset("ripe:c", "sub.example.se", ripe),
	domainAsset("manual:b", "Räksmörgås.SE", manual),
	domainAsset("ripe:d", "XN--BCHER-KVA.example.", ripe),
	domainAsset("ripe:d", "shared.se", ripe),
	domainAsset("ripe:c", "shared.se", ripe),
	domainAsset("ripe:c", "both.se", ripe),
	domainAsset("manual:b", "both.se", manual),
	unconfirmed(domainAsset("manual:a", "hidden.se", manual)),
}

func mustBuild(t testing.TB, o []constituency.Org, a []constituency.Asset, c []constituency.Contact) *Index {
	t.Helper()
	ix, err := Build(o, a, c)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func orgID(ix *Index, r OrgRef) string {
	if o := ix.Org(r); o != nil {
		return o.ID
	}
	return ""
}

func TestOwnerOfIP(t *testing.T) {
	ix := mustBuild(t, testOrgs, testAssets, nil)
	rev := slices.Clone(testAssets)
	slices.Reverse(rev)
	ixRev := mustBuild(t, testOrgs, rev, nil)

	tests := []struct {
		addr, org, prefix string // org "" means no owner
	}{
		{"10.0.0.1", "ripe:c", "10.0.0.0/8"},
		{"10.0.0.0", "ripe:c", "10.0.0.0/8"},
		{"10.1.0.0", "manual:a", "10.1.0.0/16"},
		{"10.1.1.255", "manual:a", "10.1.0.0/16"},
		{"10.1.2.0", "ripe:c", "10.1.2.0/24"},
		{"10.1.2.6", "ripe:c", "10.1.2.0/24"},
		{"10.1.2.7", "manual:b", "10.1.2.7/32"},
		{"10.1.2.8", "ripe:c", "10.1.2.0/24"},
		{"10.1.3.1", "manual:b", "10.1.3.0/24"},
		{"10.1.4.9", "ripe:d", "10.1.4.0/24"},
		{"10.1.5.9", "ripe:d", "10.1.5.0/24"},
		{"10.1.6.0", "manual:a", "10.1.0.0/16"},
		{"10.255.255.255", "ripe:c", "10.0.0.0/8"},
		{"11.0.0.0", "ripe:z", "0.0.0.0/0"},
		{"0.0.0.0", "ripe:z", "0.0.0.0/0"},
		{"192.0.2.1", "ripe:z", "0.0.0.0/0"}, // unconfirmed ignored
		{"172.31.255.254", "ripe:d", "172.16.0.0/12"},
		{"172.31.255.255", "ripe:d", "172.31.255.255/32"},
		{"172.32.0.0", "ripe:z", "0.0.0.0/0"},
		{"255.255.255.255", "manual:a", "255.255.255.255/32"},
		{"255.255.255.254", "ripe:z", "0.0.0.0/0"},
		{"198.51.100.9", "manual:b", "198.51.100.0/24"},
		{"::ffff:198.51.100.9", "manual:b", "198.51.100.0/24"},
		{"::ffff:10.1.2.7", "manual:b", "10.1.2.7/32"},
		{"::ffff:11.0.0.0", "ripe:z", "0.0.0.0/0"}, // IPv4, not ::/0
		{"::", "ripe:z", "::/0"},
		{"2001:db8::1", "ripe:c", "2001:db8::/32"},
		{"2001:db8:1::", "manual:a", "2001:db8:1::/48"},
		{"2001:db8:1::1", "manual:b", "2001:db8:1::1/128"},
		{"2001:db8:1::2", "manual:a", "2001:db8:1::/48"},
		{"2001:db8:1:ffff:ffff:ffff:ffff:ffff", "manual:a", "2001:db8:1::/48"},
		{"2001:db8:2::9", "manual:a", "2001:db8:2::/48"},
		{"2001:db8:3::ffff", "ripe:d", "2001:db8:3::/64"},
		{"2001:db8:4::1", "ripe:c", "2001:db8::/32"}, // unconfirmed ignored
		{"2001:db8:ffff::1", "ripe:c", "2001:db8::/32"},
		{"2001:db9::", "ripe:z", "::/0"},
		{"fe80::1%eth0", "ripe:z", "::/0"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "manual:a", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ripe:z", "::/0"},
	}
	for _, tt := range tests {
		for name, ix := range map[string]*Index{"forward": ix, "reversed": ixRev} {
			org, p, ok := ix.OwnerOfIP(netip.MustParseAddr(tt.addr))
			if got := orgID(ix, org); got != tt.org || ok != (tt.org != "") || (ok && p.String() != tt.prefix) {
				t.Errorf("%s: OwnerOfIP(%s) = %q %v %v, want %q %s", name, tt.addr, got, p, ok, tt.org, tt.prefix)
			}
		}
	}
	if org, p, ok := ix.OwnerOfIP(netip.Addr{}); ok || org != NoOrg || p.IsValid() {
		t.Errorf("OwnerOfIP(zero Addr) = %v %v %v", org, p, ok)
	}
	st := ix.Stats()
	if st.Unconfirmed != 4 || st.Superseded != 7 || st.Orgs != 5 {
		t.Errorf("stats = %+v", st)
	}
}

func TestEmpty(t *testing.T) {
	built := mustBuild(t, nil, nil, nil)
	gaps := mustBuild(t, orgs("x"), []constituency.Asset{netAsset("x", "10.0.0.0/8", manual)}, nil)
	for name, ix := range map[string]*Index{"zero": {}, "built": built} {
		for _, a := range []string{"0.0.0.0", "10.0.0.1", "255.255.255.255", "::", "2001:db8::1"} {
			if _, _, ok := ix.OwnerOfIP(netip.MustParseAddr(a)); ok {
				t.Errorf("%s: OwnerOfIP(%s) found an owner", name, a)
			}
		}
		if _, ok := ix.OwnerOfASN(1); ok {
			t.Errorf("%s: OwnerOfASN found an owner", name)
		}
		if _, _, ok := ix.OwnerOfDomain("example.se"); ok {
			t.Errorf("%s: OwnerOfDomain found an owner", name)
		}
		if c := ix.Contacts(0); c != nil {
			t.Errorf("%s: Contacts(0) = %v", name, c)
		}
	}
	for _, a := range []string{"9.255.255.255", "11.0.0.0", "::ffff:9.0.0.0", "::a00:1"} {
		if _, _, ok := gaps.OwnerOfIP(netip.MustParseAddr(a)); ok {
			t.Errorf("OwnerOfIP(%s) found an owner outside 10.0.0.0/8", a)
		}
	}
}

func TestOwnerOfASN(t *testing.T) {
	ix := mustBuild(t, testOrgs, testAssets, nil)
	for _, tt := range []struct {
		asn uint32
		org string
	}{{64500, "manual:a"}, {64501, "ripe:c"}, {64502, ""}, {1, ""}} {
		r, ok := ix.OwnerOfASN(tt.asn)
		if got := orgID(ix, r); got != tt.org || ok != (tt.org != "") {
			t.Errorf("OwnerOfASN(%d) = %q %v, want %q", tt.asn, got, ok, tt.org)
		}
	}
}

func TestOwnerOfDomain(t *testing.T) {
	ix := mustBuild(t, testOrgs, testAssets, nil)
	for _, tt := range []struct{ name, org, domain string }{
		{"example.se", "manual:a", "example.se"},
		{"www.example.se", "manual:a", "example.se"},
		{"www.example.se.", "manual:a", "example.se"},
		{"WWW.Example.SE", "manual:a", "example.se"},
		{"badexample.se", "", ""},
		{"example.se.evil.com", "", ""},
		{"a.b.sub.example.se", "ripe:c", "sub.example.se"},
		{"xsub.example.se", "manual:a", "example.se"},
		{"www.räksmörgås.se", "manual:b", "xn--rksmrgs-5wao1o.se"},
		{"WWW.RÄKSMÖRGÅS.SE", "manual:b", "xn--rksmrgs-5wao1o.se"},
		{"www.xn--rksmrgs-5wao1o.se", "manual:b", "xn--rksmrgs-5wao1o.se"},
		{"mail.bücher.example", "ripe:d", "xn--bcher-kva.example"},
		{"bücher。example", "ripe:d", "xn--bcher-kva.example"},
		{"shared.se", "ripe:c", "shared.se"},
		{"x.both.se", "manual:b", "both.se"},
		{"hidden.se", "", ""},
		{"se", "", ""},
		{"", "", ""},
		{".", "", ""},
		{"..example.se", "", ""},
		{"www..example.se", "", ""},
		{"example.se..", "", ""},
		{"exa mple.se", "", ""},
		{"\xff.example.se", "", ""},
	} {
		r, d, ok := ix.OwnerOfDomain(tt.name)
		if got := orgID(ix, r); got != tt.org || d != tt.domain || ok != (tt.org != "") {
			t.Errorf("OwnerOfDomain(%q) = %q %q %v, want %q %q", tt.name, got, d, ok, tt.org, tt.domain)
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"example.se", "example.se"},
		{"Example.SE.", "example.se"},
		{"_dmarc.example.se", "_dmarc.example.se"},
		{"räksmörgås.se", "xn--rksmrgs-5wao1o.se"},
		{"bücher.de", "xn--bcher-kva.de"},
		{"MÜNCHEN.de", "xn--mnchen-3ya.de"},
		{"他们为什么不说中文.cn", "xn--ihqwcrb4cv8a8dqg056pqjye.cn"},
		{"ليهمابتكلموشعربي؟", "xn--egbpdaj6bu4bxfgehfvwxn"},
		{"3年B組金八先生", "xn--3b-ww4c5e180e575a65lsy2b"},
		{"ü-é.example", "xn----bga9c.example"},
		{"例え。テスト。", "xn--r8jz45g.xn--zckzah"},
		{"", ""},
		{".", ""},
		{"a..b", ""},
		{"a/b", ""},
		{"a b", ""},
		{"-", "-"}, // hyphen rules are the registry's business
		{string(make([]byte, 64)), ""},
	} {
		got, err := NormalizeDomain(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrInvalidDomain) {
			t.Errorf("NormalizeDomain(%q): error %v is not ErrInvalidDomain", tt.in, err)
		}
	}
}

func TestContacts(t *testing.T) {
	c := func(org, email string, src constituency.Source) constituency.Contact {
		return constituency.Contact{Org: org, Email: email, Source: src}
	}
	ix := mustBuild(t, orgs("a", "b", "c"), nil, []constituency.Contact{
		c("a", "abuse@a.se", constituency.SourceRFC2142),
		c("a", "sec@a.se", constituency.SourceSecurityTxt),
		c("a", "Abuse@A.se", ripe), // same address, better source: kept
		c("b", "noc@b.se", ripe),
		c("a", "cert@a.se", manual),
		c("a", "CERT@a.se ", manual), // duplicate of the one above
		c("a", "noc@a.se", ripe),
		c("a", "", manual), // no address: skipped
		c("a", "other@a.se", "misp"),
	})
	type got struct {
		email string
		src   constituency.Source
	}
	list := func(r OrgRef) []got {
		var out []got
		for _, c := range ix.Contacts(r) {
			if c.Org != orgID(ix, r) {
				t.Errorf("contact %s has Org %q, want %q", c.Email, c.Org, orgID(ix, r))
			}
			out = append(out, got{c.Email, c.Source})
		}
		return out
	}
	a, _ := ix.OrgByID("a")
	want := []got{
		{"cert@a.se", manual},
		{"Abuse@A.se", ripe},
		{"noc@a.se", ripe},
		{"sec@a.se", constituency.SourceSecurityTxt},
		{"other@a.se", "misp"},
	}
	if g := list(a); !slices.Equal(g, want) {
		t.Errorf("Contacts(a) = %v, want %v", g, want)
	}
	b, _ := ix.OrgByID("b")
	if g := list(b); !slices.Equal(g, []got{{"noc@b.se", ripe}}) {
		t.Errorf("Contacts(b) = %v", g)
	}
	cc, _ := ix.OrgByID("c")
	if g := ix.Contacts(cc); len(g) != 0 || cap(g) != 0 {
		t.Errorf("Contacts(c) = %v (cap %d), want empty", g, cap(g))
	}
	if g := ix.Contacts(NoOrg); g != nil {
		t.Errorf("Contacts(NoOrg) = %v", g)
	}
	// Appending to the result must not overwrite the next organisation's.
	_ = append(ix.Contacts(a), constituency.Contact{Email: "x"})
	if g := list(b); g[0].email != "noc@b.se" {
		t.Errorf("append to Contacts(a) changed Contacts(b): %v", g)
	}

	r := RFC2142("Räksmörgås.SE.")
	if r.Email != "abuse@xn--rksmrgs-5wao1o.se" || r.Source != constituency.SourceRFC2142 || r.Role != "abuse" {
		t.Errorf("RFC2142 = %+v", r)
	}
	if r := RFC2142("a..b"); r.Email != "" {
		t.Errorf("RFC2142(invalid) = %+v", r)
	}
}

func TestOrgs(t *testing.T) {
	ix := mustBuild(t, testOrgs, testAssets, nil)
	if ix.NumOrgs() != len(testOrgs) {
		t.Fatalf("NumOrgs = %d", ix.NumOrgs())
	}
	var ids []string
	for r := range OrgRef(ix.NumOrgs()) {
		ids = append(ids, ix.Org(r).ID)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("organisations not in ID order: %v", ids)
	}
	r, ok := ix.OrgByID("ripe:d")
	if !ok || ix.Org(r).Name != "Org ripe:d" {
		t.Errorf("OrgByID(ripe:d) = %v %v", r, ok)
	}
	if r, ok := ix.OrgByID("nope"); ok || r != NoOrg || ix.Org(r) != nil {
		t.Errorf("OrgByID(nope) = %v %v", r, ok)
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder()
	if err := b.AddOrg(constituency.Org{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		err  error
		want error
	}{
		{"duplicate org", b.AddOrg(constituency.Org{ID: "a"}), ErrDuplicateOrg},
		{"org without ID", b.AddOrg(constituency.Org{Name: "x"}), ErrInvalidOrg},
		{"invalid prefix", b.AddAsset(constituency.Asset{Org: "a", Kind: constituency.AssetNetwork, Confirmed: true}), ErrInvalidAsset},
		{"invalid domain", b.AddAsset(domainAsset("a", "a..b", manual)), ErrInvalidAsset},
		{"ASN 0", b.AddAsset(asnAsset("a", 0, manual)), ErrInvalidAsset},
		{"unknown kind", b.AddAsset(constituency.Asset{Org: "a", Kind: "phone", Confirmed: true}), ErrInvalidAsset},
		{"no org", b.AddAsset(netAsset("", "10.0.0.0/8", manual)), ErrInvalidAsset},
		{"unconfirmed invalid", b.AddAsset(constituency.Asset{Org: "a", Kind: "phone"}), nil},
	} {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if err := b.AddAsset(netAsset("ghost", "10.0.0.0/8", manual)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(); !errors.Is(err, ErrUnknownOrg) {
		t.Errorf("Build with an unknown organisation: err = %v", err)
	}
	if err := b.AddOrg(constituency.Org{ID: "b"}); !errors.Is(err, ErrBuilt) {
		t.Errorf("AddOrg after Build: err = %v", err)
	}
	if _, err := b.Build(); !errors.Is(err, ErrBuilt) {
		t.Errorf("second Build: err = %v", err)
	}

	// An organisation may be added after the assets that name it.
	b = NewBuilder()
	if err := b.AddAsset(netAsset("late", "10.0.0.0/8", manual)); err != nil {
		t.Fatal(err)
	}
	if err := b.AddOrg(constituency.Org{ID: "late", Name: "Late"}); err != nil {
		t.Fatal(err)
	}
	ix, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if r, _, ok := ix.OwnerOfIP(netip.MustParseAddr("10.0.0.1")); !ok || ix.Org(r).Name != "Late" {
		t.Errorf("owner = %v %v", ix.Org(r), ok)
	}
}
