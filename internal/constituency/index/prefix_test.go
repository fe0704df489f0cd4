package index

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency"
)

func TestOwnerOfPrefix(t *testing.T) {
	ix := mustBuild(t, testOrgs, testAssets, nil)
	tests := []struct {
		prefix, org, covering string
		inside                []string // "org prefix"
	}{
		{"10.1.2.0/24", "ripe:c", "10.1.2.0/24", []string{"manual:b 10.1.2.7/32"}},
		{"10.1.2.0/25", "ripe:c", "10.1.2.0/24", []string{"manual:b 10.1.2.7/32"}},
		{"10.1.2.128/25", "ripe:c", "10.1.2.0/24", nil},
		{"10.1.0.0/16", "manual:a", "10.1.0.0/16", []string{"ripe:c 10.1.2.0/24", "manual:b 10.1.2.7/32", "manual:b 10.1.3.0/24", "ripe:d 10.1.4.0/24", "ripe:d 10.1.5.0/24"}},
		{"10.1.4.0/23", "manual:a", "10.1.0.0/16", []string{"ripe:d 10.1.4.0/24", "ripe:d 10.1.5.0/24"}},
		{"10.0.0.0/7", "ripe:z", "0.0.0.0/0", nil}, // inside: everything in 10/8, checked by count below
		{"::ffff:198.51.100.0/120", "manual:b", "198.51.100.0/24", nil},
		{"172.31.255.255/32", "ripe:d", "172.31.255.255/32", nil},
		{"192.0.2.0/24", "ripe:z", "0.0.0.0/0", nil}, // unconfirmed inside
		{"2001:db8::/31", "ripe:z", "::/0", []string{"ripe:c 2001:db8::/32", "manual:a 2001:db8:1::/48", "manual:b 2001:db8:1::1/128", "manual:a 2001:db8:2::/48", "ripe:d 2001:db8:3::/64"}},
		{"2001:db8:1::/64", "manual:a", "2001:db8:1::/48", []string{"manual:b 2001:db8:1::1/128"}},
	}
	for _, tt := range tests {
		p := netip.MustParsePrefix(tt.prefix)
		org, cov, ok := ix.OwnerOfPrefix(p)
		if got := orgID(ix, org); got != tt.org || !ok || cov.String() != tt.covering {
			t.Errorf("OwnerOfPrefix(%s) = %q %s %v, want %q %s", p, got, cov, ok, tt.org, tt.covering)
		}
		var inside []string
		for org, q := range ix.NetworksInside(p) {
			inside = append(inside, orgID(ix, org)+" "+q.String())
		}
		if tt.prefix == "10.0.0.0/7" {
			if len(inside) != 7 || inside[0] != "ripe:c 10.0.0.0/8" {
				t.Errorf("NetworksInside(%s) = %q", p, inside)
			}
			continue
		}
		if !slices.Equal(inside, tt.inside) {
			t.Errorf("NetworksInside(%s) = %q\nwant %q", p, inside, tt.inside)
		}
	}
	gaps := mustBuild(t, orgs("x"), []constituency.Asset{netAsset("x", "10.0.0.0/8", manual)}, nil)
	if _, _, ok := gaps.OwnerOfPrefix(netip.MustParsePrefix("0.0.0.0/0")); ok {
		t.Error("0.0.0.0/0 has no owner of the whole")
	}
	if n := len(slices.Collect(seq1(gaps.NetworksInside(netip.MustParsePrefix("0.0.0.0/0"))))); n != 1 {
		t.Errorf("%d networks inside 0.0.0.0/0, want 1", n)
	}
}

// TestPrefixAgainstReference: the owner of a whole prefix is the owner of
// its first address when no longer prefix starts there, as the reference
// tells.
func TestPrefixAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 42))
	o, ids := randomOrgs(r, 20)
	assets := randomPrefixes(r, 3000, ids)
	ix := mustBuild(t, o, assets, nil)
	ref := newRef(assets)
	for range 5000 {
		a := assets[r.IntN(len(assets))].Prefix
		a = netip.PrefixFrom(a.Addr().Unmap(), max(a.Bits()-r.IntN(8), 0)).Masked()
		var want string
		var wantP netip.Prefix
		for bits := a.Bits(); bits >= 0; bits-- {
			q := netip.PrefixFrom(a.Addr(), bits).Masked()
			if e, ok := ref[q]; ok {
				want, wantP = e.org, q
				break
			}
		}
		org, p, _ := ix.OwnerOfPrefix(a)
		if orgID(ix, org) != want || p != wantP {
			t.Fatalf("OwnerOfPrefix(%s) = %s %s, want %s %s", a, orgID(ix, org), p, want, wantP)
		}
		n := 0
		for q := range ref {
			if q.Bits() > a.Bits() && a.Contains(q.Addr()) && q.Addr().Is4() == a.Addr().Is4() {
				n++
			}
		}
		if got := len(slices.Collect(seq1(ix.NetworksInside(a)))); got != n {
			t.Fatalf("NetworksInside(%s): %d, want %d", a, got, n)
		}
	}
}

func TestDomains(t *testing.T) {
	ix := mustBuild(t, testOrgs, append(slices.Clone(testAssets), domainAsset("manual:a", "www.example.se", manual), domainAsset("manual:a", "a.se", manual)), nil)
	for _, tt := range []struct {
		org     string
		domains []string
	}{
		{"manual:a", []string{"a.se", "example.se", "www.example.se"}},
		{"manual:b", []string{"both.se", "xn--rksmrgs-5wao1o.se"}},
		{"ripe:c", []string{"shared.se", "sub.example.se"}},
		{"ripe:z", nil},
	} {
		r, _ := ix.OrgByID(tt.org)
		got, abuse := ix.Domains(r), ix.AbuseAddrs(r)
		if !slices.Equal(got, tt.domains) || len(abuse) != len(got) {
			t.Errorf("Domains(%s) = %q, want %q", tt.org, got, tt.domains)
			continue
		}
		for i, d := range got {
			if abuse[i] != "abuse@"+d {
				t.Errorf("AbuseAddrs(%s)[%d] = %q", tt.org, i, abuse[i])
			}
		}
	}
	if ix.Domains(NoOrg) != nil || (&Index{}).AbuseAddrs(0) != nil {
		t.Error("Domains of no organisation")
	}
}

// seq1 drops the organisations of a NetworksInside sequence.
func seq1(s func(func(OrgRef, netip.Prefix) bool)) func(func(netip.Prefix) bool) {
	return func(yield func(netip.Prefix) bool) {
		for _, p := range s {
			if !yield(p) {
				return
			}
		}
	}
}

// TestOwnersOfIPs: the batch answers as OwnerOfIP does, for groups that
// are full or not and for both families mixed.
func TestOwnersOfIPs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	o, ids := randomOrgs(r, 20)
	assets := randomPrefixes(r, 2000, ids)
	for _, ix := range []*Index{mustBuild(t, o, assets, nil), mustBuild(t, nil, nil, nil), {}} {
		var addrs []netip.Addr
		for range 1000 {
			a := assets[r.IntN(len(assets))].Prefix
			addrs = append(addrs, randomIn(r, a), addr4(r.Uint32()))
		}
		for _, n := range []int{0, 1, 15, 16, 17, len(addrs)} {
			hits := make([]Hit, n)
			ix.OwnersOfIPs(addrs[:n], hits)
			for i, h := range hits {
				org, p, ok := ix.OwnerOfIP(addrs[i])
				if h != (Hit{org, p, ok}) {
					t.Fatalf("OwnersOfIPs of %d: %s: %+v, OwnerOfIP %v %v %v", n, addrs[i], h, org, p, ok)
				}
			}
		}
		hits := make([]Hit, 100)
		if n := testing.AllocsPerRun(10, func() { ix.OwnersOfIPs(addrs[:100], hits) }); n != 0 {
			t.Errorf("OwnersOfIPs allocates %.0f times", n)
		}
	}
}
