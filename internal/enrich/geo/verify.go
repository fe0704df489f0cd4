package geo

import (
	"slices"
)

// Verify checks the whole database: the data section separator is zero;
// the search tree has no cycle, no node unreachable from the root, no path
// longer than the bits of an address, and every record is a node, the empty
// record or a pointer into the data section; and every data record the tree
// points to decodes within the bounds of the section, within the nesting
// and size limits, with valid UTF-8 strings and string map keys. It returns
// the first problem found, a *FormatError. Verify reads every node, so it
// takes time in proportion to the file: about 0.1 s for the 7.8 MB
// ip-location-db country file.
func (db *DB) Verify() error {
	for i := len(db.tree); i < db.dataStart; i++ {
		if db.buf[i] != 0 {
			return db.formatErr(int64(i), "data section separator byte is 0x%02x, not zero", db.buf[i])
		}
	}
	offsets, err := db.verifyTree()
	if err != nil {
		return err
	}
	for _, off := range offsets {
		d := decoder{db: db, buf: db.data, base: db.dataStart, section: "data section", strict: true}
		if _, _, err := d.value(off, 0); err != nil {
			return err
		}
	}
	return nil
}

// verifyTree checks the search tree with a depth-first walk from the root
// and returns the sorted data section offsets its records point to.
func (db *DB) verifyTree() ([]int, error) {
	nc := db.nodeCount
	if nc == 0 {
		return nil, nil
	}
	bits := 32
	if db.meta.IPVersion == 6 {
		bits = 128
	}
	nodeBytes := int64(db.recordSize) / 4
	const (
		unseen = iota
		open   // on the current path: its subtree is being walked
		done
	)
	state := make([]uint8, nc)
	height := make([]uint8, nc) // nodes on the longest path down to a terminal record, at most bits
	seen := make(map[int]struct{})
	stack := []uint32{0}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		switch state[n] {
		case done:
			stack = stack[:len(stack)-1]
		case unseen:
			state[n] = open
			for bit := range uint32(2) {
				rec := db.record(n, bit)
				switch {
				case rec < nc:
					if state[rec] == open {
						return nil, db.formatErr(int64(n)*nodeBytes, "search tree: node %d points back to node %d, a cycle", n, rec)
					}
					if state[rec] == unseen {
						stack = append(stack, rec)
					}
				case rec == nc:
				default:
					off, err := db.dataOffset(rec)
					if err != nil {
						err.(*FormatError).Offset = int64(n) * nodeBytes
						return nil, err
					}
					seen[off] = struct{}{}
				}
			}
		case open:
			h := 0
			for bit := range uint32(2) {
				if rec := db.record(n, bit); rec < nc {
					h = max(h, int(height[rec]))
				}
			}
			if h+1 > bits {
				return nil, db.formatErr(int64(n)*nodeBytes, "search tree: node %d starts a path of more than %d nodes, longer than an IPv%d address", n, bits, db.meta.IPVersion)
			}
			height[n] = uint8(h + 1)
			state[n] = done
			stack = stack[:len(stack)-1]
		}
	}
	if unreached := nc - uint32(countDone(state)); unreached > 0 {
		first := slices.Index(state, unseen)
		return nil, db.formatErr(int64(first)*nodeBytes, "search tree: %d of %d nodes are not reachable from the root, the first is node %d (node_count wrong?)", unreached, nc, first)
	}
	offsets := make([]int, 0, len(seen))
	for off := range seen {
		offsets = append(offsets, off)
	}
	slices.Sort(offsets)
	return offsets, nil
}

func countDone(state []uint8) int {
	n := 0
	for _, s := range state {
		if s != 0 {
			n++
		}
	}
	return n
}
