package ripe

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func TestParseNetwork(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: prefixes joined by " ", or "error: ..." substring
	}{
		{"192.0.2.0 - 192.0.2.255", "192.0.2.0/24"},
		{"192.0.2.0-192.0.2.255", "192.0.2.0/24"},
		{"  10.0.0.0   -   10.255.255.255 ", "10.0.0.0/8"},
		{"0.0.0.0 - 255.255.255.255", "0.0.0.0/0"},
		{"192.0.2.0 - 192.0.02.255", "192.0.2.0/24"}, // IRRd's sample: leading zero read as decimal
		{"192.0.2.1 - 192.0.2.1", "192.0.2.1/32"},
		{"192.0.2.1 - 192.0.2.6", "192.0.2.1/32 192.0.2.2/31 192.0.2.4/31 192.0.2.6/32"},
		{"196.204.208.1 - 196.204.208.255", "196.204.208.1/32 196.204.208.2/31 196.204.208.4/30 196.204.208.8/29 196.204.208.16/28 196.204.208.32/27 196.204.208.64/26 196.204.208.128/25"},
		{"0.0.0.1 - 255.255.255.254", "0.0.0.1/32 0.0.0.2/31 0.0.0.4/30 0.0.0.8/29 0.0.0.16/28 0.0.0.32/27 0.0.0.64/26 0.0.0.128/25 0.0.1.0/24 0.0.2.0/23 0.0.4.0/22 0.0.8.0/21 0.0.16.0/20 0.0.32.0/19 0.0.64.0/18 0.0.128.0/17 0.1.0.0/16 0.2.0.0/15 0.4.0.0/14 0.8.0.0/13 0.16.0.0/12 0.32.0.0/11 0.64.0.0/10 0.128.0.0/9 1.0.0.0/8 2.0.0.0/7 4.0.0.0/6 8.0.0.0/5 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 128.0.0.0/2 192.0.0.0/3 224.0.0.0/4 240.0.0.0/5 248.0.0.0/6 252.0.0.0/7 254.0.0.0/8 255.0.0.0/9 255.128.0.0/10 255.192.0.0/11 255.224.0.0/12 255.240.0.0/13 255.248.0.0/14 255.252.0.0/15 255.254.0.0/16 255.255.0.0/17 255.255.128.0/18 255.255.192.0/19 255.255.224.0/20 255.255.240.0/21 255.255.248.0/22 255.255.252.0/23 255.255.254.0/24 255.255.255.0/25 255.255.255.128/26 255.255.255.192/27 255.255.255.224/28 255.255.255.240/29 255.255.255.248/30 255.255.255.252/31 255.255.255.254/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"0::/0", "::/0"},
		{"2001:DB8::/48", "2001:db8::/48"},
		{"2001:db8:: - 2001:db8::ffff", "2001:db8::/112"},
		{"2001:db8::1 - 2001:db8::2", "2001:db8::1/128 2001:db8::2/128"},
		{":: - ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
		{":: - ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", ""}, // 128 prefixes, counted below
		{"24.232.16/24", "24.232.16.0/24"},                   // LACNIC
		{"24.232/16", "24.232.0.0/16"},
		{"200/8", "200.0.0.0/8"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"", "error: empty"},
		{"192.0.2.255 - 192.0.2.0", "error: ends before it starts"},
		{"192.0.2.0 - 2001:db8::", "error: mixes IPv4 and IPv6"},
		{"192.0.2.0/33", "error: bad length"},
		{"192.0.2.0/x", "error: bad length"},
		{"192.0.2.1/24", "error: bits set after the length (192.0.2.0/24 would be valid)"},
		{"2001:db8::1/32", "error: bits set after the length"},
		{"192.0.2.256 - 192.0.2.300", "error: above 255"},
		{"192.0.2 - 192.0.3", "error: fewer than 4 parts"},
		{"1.2.3.4.5", "error: more than 4 parts"},
		{"192.0.2.x", "error: bad IPv4 address"},
		{"192..2.0", "error: bad IPv4 address"},
		{"fe80::1%eth0", "error: bad IPv6 address"},
		{"2001:db8::g", "error: bad IPv6 address"},
		{"not-a-prefix", "error: bad IPv4 address"},
	} {
		ps, err := ParseNetwork(tc.in)
		if strings.HasPrefix(tc.want, "error: ") {
			if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tc.want, "error: ")) {
				t.Errorf("ParseNetwork(%q) = %v, %v; want an error with %q", tc.in, ps, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseNetwork(%q): %v", tc.in, err)
			continue
		}
		if tc.want == "" {
			if len(ps) != 128 {
				t.Errorf("ParseNetwork(%q) gives %d prefixes, want 128", tc.in, len(ps))
			}
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ParseNetwork(%q) = %s, want %s", tc.in, strings.Join(got, " "), tc.want)
		}
	}
}

// checkCover fails unless ps covers first..last exactly with the fewest
// prefixes, in order.
func checkCover(t testing.TB, first, last netip.Addr, ps []netip.Prefix) {
	t.Helper()
	if len(ps) == 0 {
		t.Fatalf("%s - %s: no prefixes", first, last)
	}
	if ps[0].Addr() != first {
		t.Fatalf("%s - %s: starts at %s", first, last, ps[0])
	}
	bits := first.BitLen()
	for i, p := range ps {
		if p.Masked() != p {
			t.Fatalf("%s - %s: %s is not aligned", first, last, p)
		}
		end := lastAddr(p)
		if i+1 < len(ps) {
			if end.Next() != ps[i+1].Addr() {
				t.Fatalf("%s - %s: gap or overlap after %s", first, last, p)
			}
			// Minimal: two neighbours of one length never make one prefix.
			q := ps[i+1]
			if p.Bits() == q.Bits() && p.Bits() > 0 {
				if parent := netip.PrefixFrom(p.Addr(), p.Bits()-1).Masked(); parent.Addr() == p.Addr() {
					t.Fatalf("%s - %s: %s and %s could be one prefix", first, last, p, q)
				}
			}
		} else if end != last {
			t.Fatalf("%s - %s: ends at %s", first, last, end)
		}
	}
	if len(ps) > 2*bits {
		t.Fatalf("%s - %s: %d prefixes", first, last, len(ps))
	}
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestRangePrefixesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var a, b netip.Addr
		if rng.IntN(2) == 0 {
			x, y := rng.Uint32(), rng.Uint32()
			if rng.IntN(2) == 0 {
				y = x + uint32(rng.IntN(5000))
			}
			a, b = u128{lo: uint64(min(x, y))}.addr(32), u128{lo: uint64(max(x, y))}.addr(32)
		} else {
			x, y := u128{rng.Uint64(), rng.Uint64()}, u128{rng.Uint64(), rng.Uint64()}
			if rng.IntN(2) == 0 {
				y = x.add(u128{lo: uint64(rng.IntN(5000))})
			}
			if y.less(x) {
				x, y = y, x
			}
			a, b = x.addr(128), y.addr(128)
		}
		ps, err := RangePrefixes(a, b)
		if err != nil {
			t.Fatalf("%s - %s: %v", a, b, err)
		}
		checkCover(t, a, b, ps)
	}
}

func TestRangePrefixesErrors(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	for _, tc := range [][2]netip.Addr{{v4, v6}, {{}, v4}, {v6, netip.MustParseAddr("fe80::1%eth0")}, {v6, netip.MustParseAddr("2001:db8::")}} {
		if _, err := RangePrefixes(tc[0], tc[1]); err == nil {
			t.Errorf("RangePrefixes(%s, %s) succeeds", tc[0], tc[1])
		}
	}
}

func TestParseASN(t *testing.T) {
	for in, want := range map[string]int64{
		"AS65537": 65537, "as065537": 65537, "278": 278, " AS1 ": 1, "AS0": 0,
		"AS4294967295": 4294967295, "AS1.1": 65537, "as1.0": 65536,
		"AS4294967296": -1, "AS": -1, "": -1, "AS-SET": -1, "AS1.65536": -1, "AS12a": -1, "AS1.": -1,
		"ASN1": -1, "AS 1": -1, "AS1234567890123": -1,
	} {
		got, err := ParseASN(in)
		if want < 0 {
			if err == nil {
				t.Errorf("ParseASN(%q) = %d, want an error", in, got)
			}
			continue
		}
		if err != nil || int64(got) != want {
			t.Errorf("ParseASN(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
