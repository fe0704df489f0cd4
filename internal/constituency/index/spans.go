package index

import "iter"

// Span4 is a run of IPv4 addresses, First to Last, that OwnerOfIP answers
// alike: ok is Org != NoOrg, org is Org, and the prefix is the address
// masked to Bits.
type Span4 struct {
	First, Last uint32
	Org         OrgRef // NoOrg where no prefix covers the span
	Bits        int    // prefix length; 0 where Org is NoOrg
}

// Spans4 yields the flattened IPv4 table OwnerOfIP searches: sorted,
// adjacent spans that together cover the whole IPv4 space, longest prefix
// and "manual wins at equal length" already resolved. It is for callers
// that merge the table into their own; it does not change the index.
func (ix *Index) Spans4() iter.Seq[Span4] {
	return func(yield func(Span4) bool) {
		s := ix.v4.spans
		n := len(s) - window4 // without the padding
		if n <= 0 {
			yield(Span4{First: 0, Last: 1<<32 - 1, Org: NoOrg})
			return
		}
		for i := range n {
			last := uint32(1<<32 - 1)
			if i+1 < n {
				last = s[i+1].start - 1
			}
			sp := Span4{First: s[i].start, Last: last, Org: NoOrg}
			if v := s[i].val; v != 0 {
				sp.Org, sp.Bits = OrgRef(v>>8)-1, int(v&0xff)
			}
			if !yield(sp) {
				return
			}
		}
	}
}
