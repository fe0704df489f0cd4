package asn

import (
	"iter"
	"math/bits"
)

// Block4 is a run of IPv4 addresses, First to Last, that Lookup answers
// alike: the AS ASN named Name, and as the prefix the address masked to
// Bits.
type Block4 struct {
	First, Last uint32
	ASN         uint32
	Name        string
	Bits        int
}

// Blocks4 yields the IPv4 part of the table as Lookup sees it, in address
// order: each segment taken from a prefix as one block, each segment taken
// from a range cut into the CIDR blocks its prefixes come from. Addresses
// in no block have no AS. It is for callers that merge the table into
// their own; it does not change the table.
func (t *Table) Blocks4() iter.Seq[Block4] {
	return func(yield func(Block4) bool) {
		for i, first := range t.start4 {
			s := &t.seg4[i]
			b := Block4{First: first, Last: s.last, ASN: s.asn, Name: t.names[s.off : s.off+uint32(s.n)], Bits: int(s.bits)}
			if s.bits != rangeBits {
				if !yield(b) {
					return
				}
				continue
			}
			// The largest aligned block at each start that ends inside
			// the segment: the blocks cidrBits4 picks from.
			for x := uint64(first); x <= uint64(s.last); {
				size := min(bits.TrailingZeros64(x|1<<32), bits.Len64(uint64(s.last)-x+1)-1)
				b.First, b.Last, b.Bits = uint32(x), uint32(x+1<<size-1), 32-size
				if !yield(b) {
					return
				}
				x += 1 << size
			}
		}
	}
}
