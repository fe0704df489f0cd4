package index

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/tocsin/tocsin/internal/constituency"
)

// refIndex is the reference for OwnerOfIP: a map from each prefix to its
// best asset, searched from the longest prefix length to the shortest.
type refIndex map[netip.Prefix]refEntry

type refEntry struct {
	org  string
	rank int
}

func refRank(s constituency.Source) int {
	switch s {
	case constituency.SourceManual:
		return 0
	case constituency.SourceRIPE:
		return 1
	}
	return 2
}

func newRef(assets []constituency.Asset) refIndex {
	m := make(refIndex)
	for _, a := range assets {
		if !a.Confirmed || a.Kind != constituency.AssetNetwork {
			continue
		}
		p := a.Prefix
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		e := refEntry{a.Org, refRank(a.Source)}
		if cur, ok := m[p]; !ok || e.rank < cur.rank || (e.rank == cur.rank && e.org < cur.org) {
			m[p] = e
		}
	}
	return m
}

func (m refIndex) lookup(a netip.Addr) (string, netip.Prefix, bool) {
	if !a.IsValid() {
		return "", netip.Prefix{}, false
	}
	a = a.Unmap().WithZone("")
	for bits := a.BitLen(); bits >= 0; bits-- {
		p := netip.PrefixFrom(a, bits).Masked()
		if e, ok := m[p]; ok {
			return e.org, p, true
		}
	}
	return "", netip.Prefix{}, false
}

func checkAgainstRef(t *testing.T, ix *Index, ref refIndex, a netip.Addr) bool {
	t.Helper()
	wantOrg, wantP, wantOK := ref.lookup(a)
	org, p, ok := ix.OwnerOfIP(a)
	if got := orgID(ix, org); got != wantOrg || p != wantP || ok != wantOK {
		t.Errorf("OwnerOfIP(%s) = %q %v %v, want %q %v %v", a, got, p, ok, wantOrg, wantP, wantOK)
		return false
	}
	return true
}

func addrFrom(hi, lo uint64) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

func addr4(x uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], x)
	return netip.AddrFrom4(b)
}

// randomIn returns a random address in p.
func randomIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	return lastIn(p, r.Uint64(), r.Uint64())
}

// lastIn returns p's address with the host bits taken from hi, lo: all
// ones gives the last address of p.
func lastIn(p netip.Prefix, hi, lo uint64) netip.Addr {
	b := p.Masked().Addr().As16()
	h, l := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	if bits >= 64 {
		l |= lo & lowMask(128-bits)
	} else {
		h |= hi & lowMask(64-bits)
		l = lo
	}
	a := addrFrom(h, l)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// neighbours returns the addresses at and around the edges of p.
func neighbours(p netip.Prefix) []netip.Addr {
	first := p.Masked().Addr()
	last := lastIn(p, ^uint64(0), ^uint64(0))
	out := []netip.Addr{first, last}
	if prev := first.Prev(); prev.IsValid() {
		out = append(out, prev)
	}
	if next := last.Next(); next.IsValid() {
		out = append(out, next)
	}
	return out
}

// randomPrefixes returns n network assets, crowded into a few small
// regions so that they nest deeply and often share a prefix.
func randomPrefixes(r *rand.Rand, n int, orgIDs []string) []constituency.Asset {
	sources := []constituency.Source{constituency.SourceManual, constituency.SourceRIPE, constituency.SourceRIPE, "other"}
	out := make([]constituency.Asset, 0, n)
	for len(out) < n {
		var p netip.Prefix
		switch k := r.IntN(100); {
		case k < 10 && len(out) > 0: // the same prefix again, maybe another owner
			p = out[r.IntN(len(out))].Prefix
		case k < 45: // dense IPv4 region
			p = netip.PrefixFrom(addr4(0x0a000000|r.Uint32()&0xffff), 14+r.IntN(19))
		case k < 55: // anywhere in IPv4, any length
			p = netip.PrefixFrom(addr4(r.Uint32()), r.IntN(33))
		case k < 85: // dense IPv6 region
			p = netip.PrefixFrom(addrFrom(0x20010db800000000, r.Uint64()&0xffff), 100+r.IntN(29))
		case k < 92: // IPv6 near the top of a /32
			p = netip.PrefixFrom(addrFrom(0x20010db800000000|r.Uint64()&0xffffffff, r.Uint64()), 16+r.IntN(113))
		case k < 97: // anywhere in IPv6, any length
			p = netip.PrefixFrom(addrFrom(r.Uint64(), r.Uint64()), r.IntN(129))
		default: // IPv4-mapped
			p = netip.PrefixFrom(netip.AddrFrom16(addr4(0x0a000000|r.Uint32()&0xffff).As16()), 108+r.IntN(21))
		}
		out = append(out, constituency.Asset{
			Org:       orgIDs[r.IntN(len(orgIDs))],
			Kind:      constituency.AssetNetwork,
			Prefix:    p,
			Source:    sources[r.IntN(len(sources))],
			Confirmed: r.IntN(20) != 0,
		})
	}
	return out
}

func randomOrgs(r *rand.Rand, n int) ([]constituency.Org, []string) {
	var o []constituency.Org
	var ids []string
	for _, i := range r.Perm(n) {
		id := fmt.Sprintf("org-%03d", i)
		o = append(o, constituency.Org{ID: id})
		ids = append(ids, id)
	}
	return o, ids
}

// TestRandomAgainstReference compares OwnerOfIP with the reference on
// 10,000 random prefixes and 100,000 lookups, many on prefix edges.
func TestRandomAgainstReference(t *testing.T) {
	nPrefixes, nLookups := 10_000, 100_000
	if testing.Short() {
		nPrefixes, nLookups = 2000, 20_000
	}
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 42))
		o, ids := randomOrgs(r, 50)
		assets := randomPrefixes(r, nPrefixes, ids)
		ix := mustBuild(t, o, assets, nil)
		ref := newRef(assets)
		fails := 0
		check := func(a netip.Addr) {
			if fails < 10 && !checkAgainstRef(t, ix, ref, a) {
				fails++
			}
		}
		for range nLookups {
			a := assets[r.IntN(len(assets))].Prefix
			switch k := r.IntN(10); {
			case k < 4:
				check(randomIn(r, a))
			case k < 6:
				for _, x := range neighbours(a) {
					check(x)
				}
			case k < 7:
				check(addr4(0x0a000000 | r.Uint32()&0x1ffff))
			case k < 8:
				check(addr4(r.Uint32()))
			case k < 9:
				check(addrFrom(0x20010db800000000, r.Uint64()&0x1ffff))
			default:
				check(netip.AddrFrom16(addr4(r.Uint32()).As16()))
			}
		}
		for _, a := range []string{"0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:0.0.0.0"} {
			check(netip.MustParseAddr(a))
		}
		st := ix.Stats()
		t.Logf("seed %d: %d IPv4 and %d IPv6 ranges from %d networks (%d unconfirmed, %d superseded)",
			seed, st.IPv4Ranges, st.IPv6Ranges, st.Networks, st.Unconfirmed, st.Superseded)
	}
}

// FuzzOwnerOfIP builds an index from prefixes read from the input and
// compares every lookup at and around their edges with the reference.
// Each prefix is 1 byte of flags (bit 0 IPv6, bits 1-2 organisation, bit 3
// manual, bit 4 unconfirmed), 1 byte of length and 4 or 16 address bytes.
func FuzzOwnerOfIP(f *testing.F) {
	f.Add([]byte{0, 8, 10, 0, 0, 0, 2, 16, 10, 1, 0, 0, 8, 16, 10, 1, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 4, 32, 255, 255, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 128, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
		3, 120, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var assets []constituency.Asset
		for len(data) >= 2 {
			flags, bits := data[0], int(data[1])
			n := 4
			if flags&1 != 0 {
				n = 16
			}
			if len(data) < 2+n {
				break
			}
			a, _ := netip.AddrFromSlice(data[2 : 2+n])
			data = data[2+n:]
			src := constituency.SourceRIPE
			if flags&8 != 0 {
				src = constituency.SourceManual
			}
			assets = append(assets, constituency.Asset{
				Org:       fmt.Sprintf("o%d", flags>>1&3),
				Kind:      constituency.AssetNetwork,
				Prefix:    netip.PrefixFrom(a, bits%(a.BitLen()+1)),
				Source:    src,
				Confirmed: flags&16 == 0,
			})
		}
		ix := mustBuild(t, orgs("o0", "o1", "o2", "o3"), assets, nil)
		ref := newRef(assets)
		for _, a := range assets {
			for _, x := range neighbours(a.Prefix) {
				checkAgainstRef(t, ix, ref, x)
			}
		}
		for _, s := range []string{"0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
			checkAgainstRef(t, ix, ref, netip.MustParseAddr(s))
		}
	})
}

// FuzzOwnerOfDomain compares OwnerOfDomain with a plain suffix search and
// checks that NormalizeDomain is idempotent.
func FuzzOwnerOfDomain(f *testing.F) {
	for _, s := range []string{"www.example.se", "badexample.se", "WWW.Räksmörgås.SE.", "a..b", "se", "", "x.sub.example.se", "例え。テスト"} {
		f.Add(s)
	}
	registered := map[string]string{"example.se": "a", "sub.example.se": "b", "xn--rksmrgs-5wao1o.se": "a", "se.example": "b", "xn--r8jz45g.xn--zckzah": "b"}
	var assets []constituency.Asset
	for d, org := range registered {
		assets = append(assets, domainAsset(org, d, manual))
	}
	ix := mustBuild(f, orgs("a", "b"), assets, nil)
	f.Fuzz(func(t *testing.T, name string) {
		n, err := NormalizeDomain(name)
		if err == nil {
			if n2, err := NormalizeDomain(n); err != nil || n2 != n {
				t.Fatalf("NormalizeDomain(%q) = %q, again %q %v", name, n, n2, err)
			}
			if checkName(n) != "" {
				t.Fatalf("NormalizeDomain(%q) = %q: %s", name, n, checkName(n))
			}
		}
		var wantOrg, wantDomain string
		if err == nil {
			labels := strings.Split(n, ".")
			for i := range labels {
				if org, ok := registered[strings.Join(labels[i:], ".")]; ok {
					wantOrg, wantDomain = org, strings.Join(labels[i:], ".")
					break
				}
			}
		}
		r, d, ok := ix.OwnerOfDomain(name)
		if got := orgID(ix, r); got != wantOrg || d != wantDomain || ok != (wantOrg != "") {
			t.Fatalf("OwnerOfDomain(%q) = %q %q %v, want %q %q", name, got, d, ok, wantOrg, wantDomain)
		}
	})
}
