package ripe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// ParseNetwork parses the key of an inetnum or inet6num object into the
// smallest set of prefixes that covers it exactly. It accepts
//
//   - a range "first - last" (spaces optional), IPv4 or IPv6, as in RIPE's
//     inetnum; a range that is not one prefix becomes several;
//   - a prefix "addr/len", as in inet6num, with no bits set after the
//     length; LACNIC's abbreviated IPv4 prefixes ("24.232/16") too;
//   - a single address, as a /32 or /128.
//
// IPv4 octets with leading zeros ("192.0.02.0") are read as decimal, as
// IRRd does.
func ParseNetwork(s string) ([]netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty network")
	}
	if first, last, ok := strings.Cut(s, "-"); ok {
		a, err := parseAddr(strings.TrimSpace(first), false)
		if err != nil {
			return nil, err
		}
		b, err := parseAddr(strings.TrimSpace(last), false)
		if err != nil {
			return nil, err
		}
		return RangePrefixes(a, b)
	}
	if addr, n, ok := strings.Cut(s, "/"); ok {
		a, err := parseAddr(strings.TrimSpace(addr), true)
		if err != nil {
			return nil, err
		}
		l, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || l < 0 || l > a.BitLen() {
			return nil, fmt.Errorf("prefix %q: bad length %q", s, n)
		}
		p := netip.PrefixFrom(a, l)
		if p.Masked().Addr() != a {
			return nil, fmt.Errorf("prefix %q has bits set after the length (%s would be valid)", s, p.Masked())
		}
		return []netip.Prefix{p}, nil
	}
	a, err := parseAddr(s, false)
	if err != nil {
		return nil, err
	}
	return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}, nil
}

// parseAddr parses an IPv4 or IPv6 address. IPv4 octets may have leading
// zeros; with abbrev, trailing octets may be left out ("10.1" = 10.1.0.0).
func parseAddr(s string, abbrev bool) (netip.Addr, error) {
	if strings.IndexByte(s, ':') >= 0 {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("bad IPv6 address %q", s)
		}
		return a, nil
	}
	if abbrev {
		return parseIPv4Abbrev(s)
	}
	return parseIPv4(s)
}

// parseIPv4 parses a dotted quad whose octets may have leading zeros.
func parseIPv4[T string | []byte](s T) (netip.Addr, error) {
	var b [4]byte
	n, v, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if n == 4 {
				return netip.Addr{}, fmt.Errorf("bad IPv4 address %q: more than 4 parts", s)
			}
			if digits == 0 || digits > 3 {
				return netip.Addr{}, fmt.Errorf("bad IPv4 address %q", s)
			}
			if v > 255 {
				return netip.Addr{}, fmt.Errorf("bad IPv4 address %q: %d is above 255", s, v)
			}
			b[n] = byte(v)
			n, v, digits = n+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' {
			return netip.Addr{}, fmt.Errorf("bad IPv4 address %q", s)
		}
		v = v*10 + int(c-'0')
		digits++
	}
	if n != 4 {
		return netip.Addr{}, fmt.Errorf("bad IPv4 address %q: fewer than 4 parts", s)
	}
	return netip.AddrFrom4(b), nil
}

// parseIPv4Abbrev parses an IPv4 address whose trailing octets may be left
// out, as in LACNIC's prefixes ("24.232" = 24.232.0.0).
func parseIPv4Abbrev(s string) (netip.Addr, error) {
	parts := strings.Count(s, ".") + 1
	if parts > 4 {
		return netip.Addr{}, fmt.Errorf("bad IPv4 address %q: more than 4 parts", s)
	}
	return parseIPv4(s + strings.Repeat(".0", 4-parts))
}

// u128 is an address as a number: hi and lo halves (IPv4 in lo).
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

func (x u128) addr(bitLen int) netip.Addr {
	if bitLen == 32 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(x.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.AddrFrom16(b)
}

func (x u128) less(y u128) bool { return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo }

func (x u128) sub(y u128) u128 {
	lo, borrow := bits.Sub64(x.lo, y.lo, 0)
	hi, _ := bits.Sub64(x.hi, y.hi, borrow)
	return u128{hi, lo}
}

func (x u128) add(y u128) u128 {
	lo, carry := bits.Add64(x.lo, y.lo, 0)
	hi, _ := bits.Add64(x.hi, y.hi, carry)
	return u128{hi, lo}
}

func (x u128) bitLen() int {
	if x.hi != 0 {
		return 64 + bits.Len64(x.hi)
	}
	return bits.Len64(x.lo)
}

func (x u128) trailingZeros() int {
	if x.lo != 0 {
		return bits.TrailingZeros64(x.lo)
	}
	if x.hi != 0 {
		return 64 + bits.TrailingZeros64(x.hi)
	}
	return 128
}

// pow2 returns 2^k, k < 128.
func pow2(k int) u128 {
	if k >= 64 {
		return u128{hi: 1 << (k - 64)}
	}
	return u128{lo: 1 << k}
}

// RangePrefixes returns the smallest set of prefixes that covers first to
// last (both included) exactly, in address order: at most 62 for IPv4,
// 254 for IPv6.
func RangePrefixes(first, last netip.Addr) ([]netip.Prefix, error) {
	return AppendRangePrefixes(nil, first, last)
}

// AppendRangePrefixes is RangePrefixes appending to dst.
func AppendRangePrefixes(dst []netip.Prefix, first, last netip.Addr) ([]netip.Prefix, error) {
	if !first.IsValid() || !last.IsValid() {
		return nil, errors.New("invalid address")
	}
	if first.Is4() != last.Is4() {
		return nil, fmt.Errorf("range %s - %s mixes IPv4 and IPv6", first, last)
	}
	if first.Zone() != "" || last.Zone() != "" {
		return nil, fmt.Errorf("range %s - %s has a zone", first, last)
	}
	if last.Less(first) {
		return nil, fmt.Errorf("range %s - %s ends before it starts", first, last)
	}
	bitLen := first.BitLen()
	a, b := toU128(first), toU128(last)
	ps := dst
	for {
		// The block at a is as large as a's alignment allows and no larger
		// than what is left: 2^k - 1 <= b - a.
		k := min(a.trailingZeros(), bitLen)
		d := b.sub(a)
		if left := d.add(u128{lo: 1}); left != (u128{}) { // else d+1 = 2^128: anything fits
			k = min(k, left.bitLen()-1)
		}
		ps = append(ps, netip.PrefixFrom(a.addr(bitLen), bitLen-k))
		if k == bitLen {
			break // the whole address space
		}
		end := a.add(pow2(k).sub(u128{lo: 1}))
		if !end.less(b) {
			break
		}
		a = end.add(u128{lo: 1})
	}
	return ps, nil
}

// ParseASN parses an AS number: "AS65537", "as065537", "65537" (LACNIC) or
// asdot "1.1" (= 65537).
func ParseASN(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 2 && (t[0] == 'A' || t[0] == 'a') && (t[1] == 'S' || t[1] == 's') {
		t = t[2:]
	}
	parse := func(p string, max uint64) (uint64, bool) {
		if p == "" || len(p) > 12 {
			return 0, false
		}
		var v uint64
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + uint64(c-'0')
		}
		return v, v <= max
	}
	if hi, lo, dot := strings.Cut(t, "."); dot {
		h, ok1 := parse(hi, 65535)
		l, ok2 := parse(lo, 65535)
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("bad AS number %q", s)
		}
		return uint32(h<<16 | l), nil
	}
	v, ok := parse(t, 1<<32-1)
	if !ok {
		return 0, fmt.Errorf("bad AS number %q", s)
	}
	return uint32(v), nil
}
