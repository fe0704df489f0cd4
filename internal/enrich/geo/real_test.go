package geo

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// The real country databases of ip-location-db (geo-whois-asn-country-mmdb,
// 2026-06-17), in ../shared/data.

const realDir = "ip-location-db-geo-whois-asn-country-mmdb"

func openReal(t testing.TB, name string) *DB {
	t.Helper()
	db, err := Open(sharedPath(t, filepath.Join(realDir, name)))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestRealDatabases(t *testing.T) {
	all := openReal(t, "geo-whois-asn-country.mmdb")
	v4 := openReal(t, "geo-whois-asn-country-ipv4.mmdb")
	v6 := openReal(t, "geo-whois-asn-country-ipv6.mmdb")
	for _, tc := range []struct {
		db        *DB
		ipVersion uint16
	}{{all, 6}, {v4, 4}, {v6, 6}} {
		m := tc.db.Metadata()
		if m.IPVersion != tc.ipVersion || m.RecordSize != 24 || m.NodeCount < 400_000 ||
			m.BuildTime().Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("metadata %+v", m)
		}
		start := time.Now()
		if err := tc.db.Verify(); err != nil {
			t.Error(err)
		}
		t.Logf("%s: %d nodes, %d bytes of data, verified in %v", m.DatabaseType, m.NodeCount, len(tc.db.data), time.Since(start))
	}

	// Addresses of national networks whose country is not in doubt:
	// universities, registries, national research networks.
	for _, tc := range []struct{ addr, cc string }{
		{"130.237.0.1", "SE"},     // KTH, Stockholm (SUNET)
		{"131.111.8.46", "GB"},    // University of Cambridge
		{"133.11.0.1", "JP"},      // University of Tokyo
		{"200.160.0.8", "BR"},     // NIC.br
		{"193.136.0.1", "PT"},     // FCCN, Lisbon
		{"193.0.6.139", "NL"},     // RIPE NCC, Amsterdam
		{"212.27.48.10", "FR"},    // Free
		{"200.3.12.1", "UY"},      // LACNIC, Montevideo
		{"41.0.0.1", "ZA"},        // AfriNIC space in South Africa
		{"8.8.8.8", "US"},         // Google
		{"2001:6b0::1", "SE"},     // SUNET
		{"2001:12ff::1", "BR"},    // NIC.br
		{"2001:690::1", "PT"},     // FCCN
		{"2001:67c:2e8::1", "NL"}, // RIPE NCC
		{"2001:dc0::1", "AU"},     // APNIC
		{"::ffff:130.237.0.1", "SE"},
		{"10.0.0.1", ""}, // private, loopback, shared, multicast, link-local: nowhere
		{"127.0.0.1", ""},
		{"100.64.0.1", ""},
		{"224.0.0.1", ""},
		{"fe80::1", ""},
	} {
		a := netip.MustParseAddr(tc.addr)
		single := v4
		if !a.Unmap().Is4() {
			single = v6
		}
		for _, db := range []*DB{all, single} {
			cc, ok, err := db.Country(a)
			if err != nil || cc != tc.cc || ok != (tc.cc != "") {
				t.Errorf("%s in %s: %q, %v, %v; want %q", a, db.Metadata().DatabaseType, cc, ok, err, tc.cc)
			}
		}
	}
	if n := testing.AllocsPerRun(1000, func() { all.Country(netip.MustParseAddr("130.237.0.1")) }); n != 0 {
		t.Errorf("Country allocates %v times per call", n)
	}
}

// The IPv4 and the IPv6 file agree with the combined file everywhere: the
// IPv4 file's tree against the combined tree under ::/96, the IPv6 file's
// tree against the combined tree outside ::/96 and ::ffff:0:0/96 (IPv4 and
// its alias), walked side by side.
func TestRealDatabasesAgree(t *testing.T) {
	all := openReal(t, "geo-whois-asn-country.mmdb")
	v4 := openReal(t, "geo-whois-asn-country-ipv4.mmdb")
	v6 := openReal(t, "geo-whois-asn-country-ipv6.mmdb")
	w := treePair{t: t, a: all, b: v4, ca: map[uint32]string{}, cb: map[uint32]string{}}
	w.walk(all.ipv4Rec, 0, [16]byte{}, 96, 128)
	t.Logf("IPv4: %d networks compared, %d differ", w.n, w.differ)
	w = treePair{t: t, a: all, b: v6, ca: w.ca, cb: map[uint32]string{}}
	w.skip = func(addr [16]byte, depth int) bool {
		return depth == 96 && (addr == [16]byte{} || addr == [16]byte{10: 0xff, 11: 0xff})
	}
	w.walk(0, 0, [16]byte{}, 0, 128)
	t.Logf("IPv6: %d networks compared, %d differ", w.n, w.differ)
}

// treePair walks the trees of a and b side by side.
type treePair struct {
	t         *testing.T
	a, b      *DB
	ca, cb    map[uint32]string // country by terminal record
	skip      func(addr [16]byte, depth int) bool
	n, differ int
}

// walk compares the subtrees at records ra (in a) and rb (in b) for the
// network addr/depth: a terminal record stands for both its halves.
func (w *treePair) walk(ra, rb uint32, addr [16]byte, depth, bits int) {
	if w.skip != nil && w.skip(addr, depth) {
		return
	}
	ta, tb := ra >= w.a.nodeCount, rb >= w.b.nodeCount
	if ta && tb {
		w.n++
		if x, y := w.country(w.a, w.ca, ra), w.country(w.b, w.cb, rb); x != y {
			if w.differ++; w.differ <= 10 {
				w.t.Errorf("%s: %q in %s, %q in %s", netip.PrefixFrom(netip.AddrFrom16(addr), depth),
					x, w.a.meta.DatabaseType, y, w.b.meta.DatabaseType)
			}
		}
		return
	}
	if depth == bits {
		w.t.Fatalf("%s: a node after %d bits", netip.AddrFrom16(addr), bits)
	}
	a0, a1, b0, b1 := ra, ra, rb, rb
	if !ta {
		a0, a1 = w.a.record(ra, 0), w.a.record(ra, 1)
	}
	if !tb {
		b0, b1 = w.b.record(rb, 0), w.b.record(rb, 1)
	}
	w.walk(a0, b0, addr, depth+1, bits)
	addr[depth/8] |= 0x80 >> (depth % 8)
	w.walk(a1, b1, addr, depth+1, bits)
}

func (w *treePair) country(db *DB, memo map[uint32]string, rec uint32) string {
	if rec == db.nodeCount {
		return ""
	}
	if cc, ok := memo[rec]; ok {
		return cc
	}
	off, err := db.dataOffset(rec)
	if err != nil {
		w.t.Fatal(err)
	}
	d := decoder{db: db, buf: db.data, base: db.dataStart, section: "data section"}
	cc, _, err := d.country(off)
	if err != nil {
		w.t.Fatal(err)
	}
	memo[rec] = cc
	return cc
}

// isV4Space reports whether IPv6 address a is in ::/96.
func isV4Space(a netip.Addr) bool {
	b := a.As16()
	for _, x := range b[:12] {
		if x != 0 {
			return false
		}
	}
	return true
}

// leaves calls fn for every terminal record of db's tree with the network it
// covers, once: a subtree reached again (the IPv4 aliases of an IPv6 tree)
// is not walked again.
func leaves(t testing.TB, db *DB, fn func(p netip.Prefix, rec uint32)) {
	seen := make([]bool, db.nodeCount)
	bits := 32
	if db.meta.IPVersion == 6 {
		bits = 128
	}
	var walk func(rec uint32, addr [16]byte, depth int)
	walk = func(rec uint32, addr [16]byte, depth int) {
		if rec >= db.nodeCount {
			if bits == 32 {
				fn(netip.PrefixFrom(netip.AddrFrom4([4]byte(addr[:4])), depth), rec)
			} else {
				fn(netip.PrefixFrom(netip.AddrFrom16(addr), depth), rec)
			}
			return
		}
		if seen[rec] {
			return
		}
		seen[rec] = true
		if depth == bits {
			t.Fatalf("node %d at depth %d", rec, depth)
		}
		walk(db.record(rec, 0), addr, depth+1)
		addr[depth/8] |= 0x80 >> (depth % 8)
		walk(db.record(rec, 1), addr, depth+1)
	}
	walk(0, [16]byte{}, 0)
}
