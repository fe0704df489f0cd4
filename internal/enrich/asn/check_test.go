package asn

import (
	"bytes"
	"net/netip"
	"testing"
)

// This file holds the reference the other tests hold a Table to: the owner
// of an address found by scanning every entry of the Builder.

// refOwner returns the entry that owns x in es (narrowest, then first
// added), or nil.
func refOwner(es []entry, x u128) *entry {
	var best *entry
	for i := range es {
		e := &es[i]
		if x.less(e.first) || e.last.less(x) {
			continue
		}
		if best == nil {
			best = e
			continue
		}
		w, bw := e.last.sub(e.first), best.last.sub(best.first)
		if w.less(bw) || w == bw && e.seq < best.seq {
			best = e
		}
	}
	return best
}

func toAddr(v4 bool, x u128) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(x.lo >> 24), byte(x.lo >> 16), byte(x.lo >> 8), byte(x.lo)})
	}
	return x.addr6()
}

// checkTable holds tab, built from b, to the reference at every entry
// boundary (where ownership can change) and next to it: the AS and name of
// the owner; for a prefix entry its prefix; for a range the largest CIDR
// around the address all of whose addresses go to ranges of the same AS
// and name. It also checks that a snapshot of tab answers the same.
func checkTable(t testing.TB, b *Builder, tab *Table) {
	t.Helper()
	var snap bytes.Buffer
	if _, err := tab.WriteTo(&snap); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	loaded, err := ReadTable(bytes.NewReader(snap.Bytes()))
	if err != nil {
		t.Fatalf("ReadTable of a fresh snapshot: %v", err)
	}
	for _, fam := range []struct {
		v4  bool
		es  []entry
		max u128
	}{{true, b.v4, u128{0, 1<<32 - 1}}, {false, b.v6, maxU128}} {
		es := fam.es
		var points []u128
		for _, e := range es {
			points = append(points, e.first, e.last)
			if e.first != (u128{}) {
				points = append(points, e.first.subOne())
			}
			if e.last != fam.max {
				points = append(points, e.last.addOne())
			}
		}
		// boundaries inside p where the owner may change.
		uniform := func(p netip.Prefix, key uint64) bool {
			lo := addrU128(p.Masked().Addr())
			hi := lo.xor(maxU128.mask(p.Bits()).not())
			if fam.v4 {
				hi = u128{0, lo.lo | uint64(^uint32(0)>>p.Bits())}
			}
			same := func(x u128) bool {
				o := refOwner(es, x)
				return o != nil && o.bits == rangeBits && uint64(o.asn)<<32|uint64(b.resolveName(o)) == key
			}
			if !same(lo) {
				return false
			}
			for _, e := range es {
				for _, x := range []u128{e.first, e.last.addOne()} {
					if lo.less(x) && !hi.less(x) && !same(x) {
						return false
					}
				}
				if x := e.last; !x.less(lo) && !hi.less(x) && !same(x) {
					return false
				}
			}
			return true
		}
		for _, x := range points {
			a := toAddr(fam.v4, x)
			if a.Is4In6() {
				continue // looked up as IPv4: the IPv6 entries do not count
			}
			got, ok := tab.Lookup(a)
			if fam.v4 {
				if g2, ok2 := tab.Lookup(netip.AddrFrom16(a.As16())); g2 != got || ok2 != ok {
					t.Fatalf("Lookup(%v) = %+v, %v; as IPv4-mapped IPv6 %+v, %v", a, got, ok, g2, ok2)
				}
			}
			if g2, ok2 := loaded.Lookup(a); g2 != got || ok2 != ok {
				t.Fatalf("Lookup(%v) = %+v, %v; from the snapshot %+v, %v", a, got, ok, g2, ok2)
			}
			o := refOwner(es, x)
			if o == nil {
				if ok {
					t.Fatalf("Lookup(%v) = %+v, want none", a, got)
				}
				continue
			}
			name := b.nameOf(b.resolveName(o))
			if !ok || got.ASN != o.asn || got.Name != name || !got.Prefix.Contains(a) {
				t.Fatalf("Lookup(%v) = %+v, %v; want AS%d %q", a, got, ok, o.asn, name)
			}
			if o.bits != rangeBits {
				if want := netip.PrefixFrom(toAddr(fam.v4, o.first), int(o.bits)); got.Prefix != want {
					t.Fatalf("Lookup(%v).Prefix = %v, want the announced %v", a, got.Prefix, want)
				}
				continue
			}
			key := uint64(o.asn)<<32 | uint64(b.resolveName(o))
			if !uniform(got.Prefix, key) {
				t.Fatalf("Lookup(%v).Prefix = %v holds addresses of other owners", a, got.Prefix)
			}
			if n := got.Prefix.Bits(); n > 0 {
				if parent, _ := a.Prefix(n - 1); uniform(parent, key) {
					t.Fatalf("Lookup(%v).Prefix = %v, but %v is one range too", a, got.Prefix, parent)
				}
			}
		}
	}
}
