package asn

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// u128 is an IPv6 address (or an IPv4 address in the low 32 bits) as an
// unsigned 128-bit integer, so that ranges of both families share one
// arithmetic.
type u128 struct{ hi, lo uint64 }

var maxU128 = u128{^uint64(0), ^uint64(0)}

func u128From16(b [16]byte) u128 {
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (u u128) bytes16() [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	return b
}

func (u u128) addr6() netip.Addr { return netip.AddrFrom16(u.bytes16()) }

func (u u128) less(v u128) bool { return u.hi < v.hi || u.hi == v.hi && u.lo < v.lo }

func (u u128) addOne() u128 {
	lo, c := bits.Add64(u.lo, 1, 0)
	return u128{u.hi + c, lo}
}

func (u u128) subOne() u128 {
	lo, b := bits.Sub64(u.lo, 1, 0)
	return u128{u.hi - b, lo}
}

func (u u128) sub(v u128) u128 {
	lo, b := bits.Sub64(u.lo, v.lo, 0)
	return u128{u.hi - v.hi - b, lo}
}

func (u u128) xor(v u128) u128 { return u128{u.hi ^ v.hi, u.lo ^ v.lo} }

func (u u128) not() u128 { return u128{^u.hi, ^u.lo} }

// mask keeps the first n bits of u (0 <= n <= 128).
func (u u128) mask(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n < 64:
		return u128{u.hi &^ (^uint64(0) >> n), 0}
	case n < 128:
		return u128{u.hi, u.lo &^ (^uint64(0) >> (n - 64))}
	}
	return u
}

// len128 is the number of bits needed to write u (0 for 0).
func len128(u u128) int {
	if u.hi != 0 {
		return 64 + bits.Len64(u.hi)
	}
	return bits.Len64(u.lo)
}

// tz128 is the number of trailing zero bits of u (128 for 0).
func tz128(u u128) int {
	if u.lo != 0 {
		return bits.TrailingZeros64(u.lo)
	}
	return 64 + bits.TrailingZeros64(u.hi)
}

// cidrBits4 returns the length of the largest CIDR prefix that contains a
// and lies inside [s, e] (s <= a <= e).
//
// The block of 2^k addresses around a starts at or after s exactly when k
// is at most the highest bit in which a and s differ, or at most the
// trailing zeros of s; symmetrically for the end and e with trailing ones.
func cidrBits4(a, s, e uint32) int {
	k1 := bits.TrailingZeros32(s)
	if h := bits.Len32(a^s) - 1; h > k1 {
		k1 = h
	}
	k2 := bits.TrailingZeros32(^e)
	if h := bits.Len32(a^e) - 1; h > k2 {
		k2 = h
	}
	return 32 - min(k1, k2)
}

// cidrBits6 is cidrBits4 for 128-bit addresses.
func cidrBits6(a, s, e u128) int {
	k1 := tz128(s)
	if h := len128(a.xor(s)) - 1; h > k1 {
		k1 = h
	}
	k2 := tz128(e.not())
	if h := len128(a.xor(e)) - 1; h > k2 {
		k2 = h
	}
	return 128 - min(k1, k2)
}
