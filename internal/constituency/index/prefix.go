package index

import (
	"encoding/binary"
	"iter"
	"net/netip"
	"slices"
)

// The range tables answer for one address. For a whole prefix (a CIDR in
// `tocsin lookup`) the Index also keeps the network assets themselves,
// one per prefix (the winner), sorted by start then length: 12 bytes per
// IPv4 asset, 24 per IPv6 one.

type asset4 struct {
	start uint32
	org   OrgRef
	bits  uint8
}

type asset6 struct {
	hi, lo uint64
	org    OrgRef
	bits   uint8
}

// assetTables keeps the winner of each prefix of the sorted items (see
// compareNet: the winner of a tie comes first).
func assetTables(v4, v6 []netItem) ([]asset4, []asset6) {
	var t4 []asset4
	var t6 []asset6
	for i, it := range v4 {
		if i > 0 && it.lo == v4[i-1].lo && it.bits == v4[i-1].bits {
			continue
		}
		t4 = append(t4, asset4{uint32(it.lo), OrgRef(it.org), it.bits})
	}
	for i, it := range v6 {
		if i > 0 && it.hi == v6[i-1].hi && it.lo == v6[i-1].lo && it.bits == v6[i-1].bits {
			continue
		}
		t6 = append(t6, asset6{it.hi, it.lo, OrgRef(it.org), it.bits})
	}
	return slices.Clip(t4), slices.Clip(t6)
}

// OwnerOfPrefix returns the organisation holding the longest prefix that
// contains the whole of p (p itself or a shorter one), and that prefix.
// IPv4-mapped prefixes are IPv4, as in OwnerOfIP. Longer prefixes inside
// p, held by others, do not count: see NetworksInside.
func (ix *Index) OwnerOfPrefix(p netip.Prefix) (org OrgRef, prefix netip.Prefix, ok bool) {
	it, ok := netItemOf(p)
	if !ok {
		return NoOrg, netip.Prefix{}, false
	}
	if !it.v6 {
		for bits := int(it.bits); bits >= 0; bits-- {
			start := uint32(it.lo) &^ uint32(lowMask(32-bits))
			i, found := slices.BinarySearchFunc(ix.nets4, asset4{start: start, bits: uint8(bits)}, cmpAsset4)
			if found {
				return ix.nets4[i].org, prefix4(start, bits), true
			}
		}
		return NoOrg, netip.Prefix{}, false
	}
	for bits := int(it.bits); bits >= 0; bits-- {
		x := mask128(u128{it.hi, it.lo}, bits)
		i, found := slices.BinarySearchFunc(ix.nets6, asset6{hi: x.hi, lo: x.lo, bits: uint8(bits)}, cmpAsset6)
		if found {
			return ix.nets6[i].org, prefix6(x, bits), true
		}
	}
	return NoOrg, netip.Prefix{}, false
}

// NetworksInside yields the network assets strictly inside p (longer
// prefixes within it), each with the organisation that holds it, in
// address order, parents before their children.
func (ix *Index) NetworksInside(p netip.Prefix) iter.Seq2[OrgRef, netip.Prefix] {
	return func(yield func(OrgRef, netip.Prefix) bool) {
		it, ok := netItemOf(p)
		if !ok {
			return
		}
		if !it.v6 {
			start := uint32(it.lo)
			end := uint64(start) | lowMask(32-int(it.bits))
			i, _ := slices.BinarySearchFunc(ix.nets4, asset4{start: start, bits: it.bits + 1}, cmpAsset4)
			for ; i < len(ix.nets4) && uint64(ix.nets4[i].start) <= end; i++ {
				a := ix.nets4[i]
				if !yield(a.org, prefix4(a.start, int(a.bits))) {
					return
				}
			}
			return
		}
		start := u128{it.hi, it.lo}
		end := start
		if h := 128 - int(it.bits); h > 64 {
			end = u128{it.hi | lowMask(h-64), ^uint64(0)}
		} else {
			end.lo |= lowMask(h)
		}
		i, _ := slices.BinarySearchFunc(ix.nets6, asset6{hi: start.hi, lo: start.lo, bits: it.bits + 1}, cmpAsset6)
		for ; i < len(ix.nets6) && !end.less(u128{ix.nets6[i].hi, ix.nets6[i].lo}); i++ {
			a := ix.nets6[i]
			if !yield(a.org, prefix6(u128{a.hi, a.lo}, int(a.bits))) {
				return
			}
		}
	}
}

func cmpAsset4(a, b asset4) int {
	if a.start != b.start {
		return cmp64(uint64(a.start), uint64(b.start))
	}
	return int(a.bits) - int(b.bits)
}

func cmpAsset6(a, b asset6) int {
	switch {
	case a.hi != b.hi:
		return cmp64(a.hi, b.hi)
	case a.lo != b.lo:
		return cmp64(a.lo, b.lo)
	}
	return int(a.bits) - int(b.bits)
}

func mask128(x u128, bits int) u128 {
	if bits >= 64 {
		x.lo &^= lowMask(128 - bits)
	} else {
		x.hi &^= lowMask(64 - bits)
		x.lo = 0
	}
	return x
}

func prefix4(start uint32, bits int) netip.Prefix {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], start)
	return netip.PrefixFrom(netip.AddrFrom4(b), bits)
}

func prefix6(x u128, bits int) netip.Prefix {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.PrefixFrom(netip.AddrFrom16(b), bits)
}
