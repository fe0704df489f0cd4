package geo

// CountryRange4 is a run of IPv4 addresses, First to Last, for which
// Country answers alike: cc CC and ok OK.
type CountryRange4 struct {
	First, Last uint32
	CC          string
	OK          bool
}

// CountryRanges4 returns what Country answers for the whole IPv4 space as
// sorted, adjacent ranges, neighbours with the same answer merged. It is
// for callers that merge the answers into their own table. It walks the
// search tree once; a tree whose nodes are shared (which the format
// allows, and which could make the walk exponential) or broken anywhere in
// its IPv4 part is an error, and the caller should then ask Country.
func (db *DB) CountryRanges4() ([]CountryRange4, error) {
	type answer struct {
		cc string
		ok bool
	}
	memo := map[uint32]answer{db.nodeCount: {}}
	var out []CountryRange4
	emit := func(first, last uint32, a answer) {
		if n := len(out); n > 0 && out[n-1].CC == a.cc && out[n-1].OK == a.ok {
			out[n-1].Last = last
			return
		}
		out = append(out, CountryRange4{First: first, Last: last, CC: a.cc, OK: a.ok})
	}
	// In a tree every node is reached once: more visits than nodes means
	// shared nodes.
	visits, budget := 0, int(db.nodeCount)+1
	var walk func(rec uint32, depth int, prefix uint32) error
	walk = func(rec uint32, depth int, prefix uint32) error {
		if rec < db.nodeCount {
			if visits++; visits > budget {
				return db.formatErr(-1, "search tree: the IPv4 part shares nodes (more than %d visits); it cannot be listed", budget)
			}
			if depth == 32 {
				return db.formatErr(-1, "search tree: node %d is still a node after all 32 bits of an IPv4 address", rec)
			}
			if err := walk(db.record(rec, 0), depth+1, prefix); err != nil {
				return err
			}
			return walk(db.record(rec, 1), depth+1, prefix|1<<(31-depth))
		}
		a, seen := memo[rec]
		if !seen {
			off, err := db.dataOffset(rec)
			if err != nil {
				return err
			}
			d := decoder{db: db, buf: db.data, base: db.dataStart, section: "data section"}
			if a.cc, a.ok, err = d.country(off); err != nil {
				return err
			}
			memo[rec] = a
		}
		emit(prefix, prefix|uint32(uint64(1)<<(32-depth)-1), a)
		return nil
	}
	if err := walk(db.ipv4Rec, 0, 0); err != nil {
		return nil, err
	}
	return out, nil
}
