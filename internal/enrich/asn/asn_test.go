package asn

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func mustBuild(t testing.TB, b *Builder) *Table {
	t.Helper()
	tab, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

type lookupCase struct {
	ip     string
	asn    uint32 // 0: not found
	prefix string
	name   string
}

func checkLookups(t *testing.T, tab *Table, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		var a netip.Addr
		if c.ip != "" {
			a = netip.MustParseAddr(c.ip)
		}
		r, ok := tab.Lookup(a)
		if c.asn == 0 {
			if ok {
				t.Errorf("Lookup(%s) = %+v, want none", c.ip, r)
			}
			continue
		}
		if !ok || r.ASN != c.asn || r.Prefix.String() != c.prefix || r.Name != c.name {
			t.Errorf("Lookup(%s) = %+v, %v; want AS%d %s %q", c.ip, r, ok, c.asn, c.prefix, c.name)
		}
	}
}

func TestBuildOverlaps(t *testing.T) {
	var b Builder
	add := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	add(b.AddPrefix(p("10.0.0.0/8"), 1, ""))
	add(b.AddPrefix(p("10.1.0.0/16"), 2, "Two"))
	add(b.AddPrefix(p("10.1.2.0/24"), 3, "Three"))
	add(b.AddRange(a("10.1.2.128"), a("10.1.2.130"), 4, "Four")) // narrower than the /24
	add(b.AddPrefix(p("10.1.2.77/24"), 5, "Five"))               // host bits: the same /24, added later: loses the tie
	add(b.AddPrefix(p("10.200.0.0/16"), 1, "One"))               // names AS1's unnamed /8
	// Two neighbouring ranges of one AS and name merge: the prefix of an
	// address may span both.
	add(b.AddRange(a("192.0.2.0"), a("192.0.2.127"), 6, "Six"))
	add(b.AddRange(a("192.0.2.128"), a("192.0.2.255"), 6, "Six"))
	// An unnamed AS named by SetName.
	add(b.AddPrefix(p("198.51.100.0/24"), 7, ""))
	b.SetName(7, "Seven")
	// IPv4-mapped IPv6 is IPv4.
	add(b.AddPrefix(p("::ffff:203.0.113.0/120"), 8, "Eight"))
	add(b.AddRange(a("::ffff:203.0.114.0"), a("::ffff:203.0.114.9"), 9, "Nine"))
	// IPv6.
	add(b.AddPrefix(p("2001:db8::/32"), 10, "Ten"))
	add(b.AddPrefix(p("2001:db8:1::/48"), 11, "Eleven"))
	add(b.AddRange(a("2001:db8:2::"), a("2001:db8:2::ff"), 12, "Twelve"))
	add(b.AddRange(a("2001:db8:2::100"), a("2001:db8:2::17f"), 12, "Twelve"))
	tab := mustBuild(t, &b)
	checkLookups(t, tab, []lookupCase{
		{"10.0.0.1", 1, "10.0.0.0/8", "One"},
		{"10.2.3.4", 1, "10.0.0.0/8", "One"},
		{"10.1.0.0", 2, "10.1.0.0/16", "Two"},
		{"10.1.255.255", 2, "10.1.0.0/16", "Two"},
		{"10.1.2.1", 3, "10.1.2.0/24", "Three"},
		{"10.1.2.127", 3, "10.1.2.0/24", "Three"},
		{"10.1.2.128", 4, "10.1.2.128/31", "Four"},
		{"10.1.2.130", 4, "10.1.2.130/32", "Four"},
		{"10.1.2.131", 3, "10.1.2.0/24", "Three"},
		{"10.200.1.1", 1, "10.200.0.0/16", "One"},
		{"192.0.2.1", 6, "192.0.2.0/24", "Six"},
		{"198.51.100.99", 7, "198.51.100.0/24", "Seven"},
		{"203.0.113.5", 8, "203.0.113.0/24", "Eight"},
		{"::ffff:203.0.113.5", 8, "203.0.113.0/24", "Eight"},
		{"203.0.114.8", 9, "203.0.114.8/31", "Nine"},
		{"2001:db8::1", 10, "2001:db8::/32", "Ten"},
		{"2001:db8:1:2::3", 11, "2001:db8:1::/48", "Eleven"},
		{"2001:db8:2::10", 12, "2001:db8:2::/120", "Twelve"},
		{"2001:db8:2::150", 12, "2001:db8:2::100/121", "Twelve"},
		{"2001:db8:2::180", 10, "2001:db8::/32", "Ten"},
		{"2001:db8:2::1%eth0", 12, "2001:db8:2::/120", "Twelve"},
		{"9.255.255.255", 0, "", ""},
		{"11.0.0.0", 0, "", ""},
		{"2001:db9::", 0, "", ""},
		{"::ffff:11.0.0.0", 0, "", ""},
		{"", 0, "", ""}, // the zero Addr
	})
	if n4, n6 := tab.Len(); n4 != 13 || n6 != 4 {
		t.Errorf("Len() = %d, %d; want 13, 4", n4, n6)
	}
	// AS5 lost its only prefix to AS3: the table does not know it.
	for asn, want := range map[uint32]string{1: "One", 5: "", 7: "Seven", 12: "Twelve", 99: ""} {
		if got := tab.Name(asn); got != want {
			t.Errorf("Name(%d) = %q, want %q", asn, got, want)
		}
	}
	checkTable(t, &b, tab)
}

func TestBuildWholeSpace(t *testing.T) {
	var b Builder
	for _, e := range []struct {
		p   string
		asn uint32
	}{{"0.0.0.0/0", 1}, {"255.255.255.255/32", 2}, {"0.0.0.0/32", 3}, {"::/0", 4}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 5}, {"::/128", 6}} {
		if err := b.AddPrefix(netip.MustParsePrefix(e.p), e.asn, ""); err != nil {
			t.Fatal(err)
		}
	}
	tab := mustBuild(t, &b)
	checkLookups(t, tab, []lookupCase{
		{"0.0.0.0", 3, "0.0.0.0/32", ""},
		{"0.0.0.1", 1, "0.0.0.0/0", ""},
		{"255.255.255.254", 1, "0.0.0.0/0", ""},
		{"255.255.255.255", 2, "255.255.255.255/32", ""},
		{"::", 6, "::/128", ""},
		{"::2", 4, "::/0", ""},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 5, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", ""},
	})
	checkTable(t, &b, tab)

	var r Builder
	if err := r.AddRange(netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"), 1, "all"); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRange(netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 2, "all6"); err != nil {
		t.Fatal(err)
	}
	tab = mustBuild(t, &r)
	checkLookups(t, tab, []lookupCase{
		{"1.2.3.4", 1, "0.0.0.0/0", "all"},
		{"2001:db8::1", 2, "::/0", "all6"},
	})
}

func TestBuilderRejects(t *testing.T) {
	var b Builder
	a := netip.MustParseAddr
	for name, err := range map[string]error{
		"AS 0":         b.AddPrefix(netip.MustParsePrefix("192.0.2.0/24"), 0, ""),
		"AS 0 range":   b.AddRange(a("192.0.2.0"), a("192.0.2.9"), 0, ""),
		"bad prefix":   b.AddPrefix(netip.Prefix{}, 1, ""),
		"mixed family": b.AddRange(a("192.0.2.0"), a("2001:db8::"), 1, ""),
		"backwards":    b.AddRange(a("192.0.2.9"), a("192.0.2.0"), 1, ""),
		"zero addr":    b.AddRange(netip.Addr{}, a("192.0.2.0"), 1, ""),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if b.Entries() != 0 {
		t.Errorf("%d entries after rejects", b.Entries())
	}
	if err := b.AddPrefix(netip.MustParsePrefix("192.0.2.0/24"), 0, ""); !errors.Is(err, ErrASN0) {
		t.Errorf("AS 0: %v, want ErrASN0", err)
	}
	tab := mustBuild(t, &b)
	if _, ok := tab.Lookup(a("192.0.2.1")); ok {
		t.Error("empty table found an address")
	}
	var zero Table
	if _, ok := zero.Lookup(a("192.0.2.1")); ok {
		t.Error("zero Table found an address")
	}
}

// TestBuildRandom holds tables of random overlapping prefixes and ranges in
// a small window of each family to the reference.
func TestBuildRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var b Builder
		for range 1 + rng.IntN(25) {
			asn := uint32(1 + rng.IntN(4))
			name := []string{"", "A", "B"}[rng.IntN(3)]
			v4 := rng.IntN(2) == 0
			base := u128{0, 0x0a000000}
			if !v4 {
				base = u128{0x20010db800000000, 0}
			}
			x := u128{base.hi, base.lo + uint64(rng.IntN(512))}
			if rng.IntN(2) == 0 {
				n := 23 + rng.IntN(10)
				if !v4 {
					n += 96
				}
				p, _ := toAddr(v4, x).Prefix(n)
				if err := b.AddPrefix(p, asn, name); err != nil {
					t.Fatal(err)
				}
			} else {
				y := u128{x.hi, x.lo + uint64(rng.IntN(64))}
				if err := b.AddRange(toAddr(v4, x), toAddr(v4, y), asn, name); err != nil {
					t.Fatal(err)
				}
			}
		}
		if rng.IntN(4) == 0 {
			b.SetName(uint32(1+rng.IntN(4)), "Set")
		}
		tab := mustBuild(t, &b)
		checkTable(t, &b, tab)
		if t.Failed() {
			t.Fatalf("round %d", round)
		}
	}
}

func TestCIDRBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref4 := func(a, s, e uint32) int {
		for n := 0; n <= 32; n++ {
			lo := a &^ (^uint32(0) >> n)
			hi := lo | ^uint32(0)>>n
			if n == 0 {
				lo, hi = 0, ^uint32(0)
			}
			if lo >= s && hi <= e {
				return n
			}
		}
		return -1
	}
	for range 100000 {
		v := []uint32{rng.Uint32(), rng.Uint32(), rng.Uint32()}
		if rng.IntN(2) == 0 { // small ranges too
			v[1], v[2] = v[0]+uint32(rng.IntN(300)), v[0]+uint32(rng.IntN(300))
		}
		s, a, e := min(v[0], v[1], v[2]), v[0]+v[1]+v[2]-min(v[0], v[1], v[2])-max(v[0], v[1], v[2]), max(v[0], v[1], v[2])
		if got, want := cidrBits4(a, s, e), ref4(a, s, e); got != want {
			t.Fatalf("cidrBits4(%x, %x, %x) = %d, want %d", a, s, e, got, want)
		}
		// The same in the high and the low half of 128 bits.
		for _, sh := range []uint{0, 96, 64, 40} {
			u := func(x uint32) u128 {
				if sh >= 64 {
					return u128{uint64(x) << (sh - 64), 0}
				}
				return u128{uint64(x) >> (64 - sh), uint64(x) << sh}
			}
			ones := u128{}
			if sh > 0 {
				ones = maxU128.mask(128 - int(sh)).not()
			}
			ue := u(e)
			ue = u128{ue.hi | ones.hi, ue.lo | ones.lo}
			if got, want := cidrBits6(u(a), u(s), ue), ref4(a, s, e)+96-int(sh); got != want {
				t.Fatalf("cidrBits6 shifted %d (%x, %x, %x) = %d, want %d", sh, a, s, e, got, want)
			}
		}
	}
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte(s))
	w.Close()
	return buf.Bytes()
}

const ipLocationDBSample = `1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."
1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd
2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""
2.56.12.0,2.56.13.255,208641,
2.57.132.0,2.57.135.255,201893,Pawel Walczuk trading as "BLUE-DOT" S.C.
2.58.0.0,2.58.0.255,64496,Bare, Comma Ltd
not,an,address,line
1.0.8.0,1.0.8.255,notanumber,X
1.0.9.0,1.0.8.255,1,backwards
1.0.10.0,2001:db8::,1,mixed
1.0.11.0,1.0.11.255,1,"unterminated
16777216,16777471,13335,numeric
2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project
; a comment
# another

2001:4:112::,2001:4:112:ffff:ffff:ffff:ffff:ffff,112,DNS-OARC
`

func TestReadIPLocationDB(t *testing.T) {
	for _, in := range []struct {
		name string
		data []byte
	}{{"plain", []byte(ipLocationDBSample)}, {"gzip", gz(t, ipLocationDBSample)}, {"crlf", []byte(strings.ReplaceAll(ipLocationDBSample, "\n", "\r\n"))}} {
		t.Run(in.name, func(t *testing.T) {
			var b Builder
			rep, err := ReadIPLocationDB(bytes.NewReader(in.data), &b)
			if err != nil {
				t.Fatal(err)
			}
			want := []LineError{
				{7, `bad address "not"`},
				{8, `bad AS number "notanumber"`},
				{9, "range 1.0.9.0-1.0.8.255 ends before it starts"},
				{10, "range 1.0.10.0-2001:db8:: mixes IPv4 and IPv6"},
				{11, "unterminated quoted name"},
				{12, `numeric address "16777216": use the text variant of the file`},
			}
			if rep.Format != FormatIPLocationDB || rep.Lines != 17 || rep.Entries != 8 || rep.Bad != 6 || !equalSkipped(rep.Skipped, want) {
				t.Errorf("report %+v\nwant skipped %v", rep, want)
			}
			tab := mustBuild(t, &b)
			checkLookups(t, tab, []lookupCase{
				{"1.0.0.1", 13335, "1.0.0.0/24", "Cloudflare, Inc."},
				{"1.0.6.1", 38803, "1.0.4.0/22", "Gtelecom Pty Ltd"},
				{"2.26.210.1", 201907, "2.26.208.0/21", `LLC "SPUTNIK"`},
				{"2.56.13.1", 208641, "2.56.12.0/23", ""},
				{"2.57.133.1", 201893, "2.57.132.0/22", `Pawel Walczuk trading as "BLUE-DOT" S.C.`},
				{"2.58.0.1", 64496, "2.58.0.0/24", "Bare, Comma Ltd"},
				{"1.0.8.1", 0, "", ""},
				{"2001:200::1", 2500, "2001:200::/32", "WIDE Project"},
				{"2001:4:112::1", 112, "2001:4:112::/48", "DNS-OARC"},
			})
			checkTable(t, &b, tab)
		})
	}
}

func equalSkipped(got, want []LineError) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

const pyasnSample = `; IP-ASN32-DAT file
; Original file : fake
; Converted on  : fake
; CIDRs         : 5
;
1.0.0.0/30	1
1.0.0.0/24	2
2.0.0.0/24	3
3.0.0.0/8	4
3.0.0.0/9	5
4.0.0.0	16	6
5.0.0.0/16	7_8
5.1.0.0/16	{9,10}
5.2.0.0/16	11,11
5.3.0.0/16	1.10
5.4.0.0/16	0
5.5.0.0/33	1
5.6.0.0/16	x
5.7.0.0/16
2001:db8::/32	64496
::ffff:6.0.0.0/104	12
`

func TestReadPyASN(t *testing.T) {
	for _, in := range []struct {
		name string
		data []byte
	}{{"plain", []byte(pyasnSample)}, {"gzip", gz(t, pyasnSample)}} {
		t.Run(in.name, func(t *testing.T) {
			var b Builder
			rep, err := ReadPyASN(bytes.NewReader(in.data), &b)
			if err != nil {
				t.Fatal(err)
			}
			want := []LineError{
				{17, `bad prefix "5.5.0.0/33"`},
				{18, `bad AS number "x"`},
				{19, "1 fields, want prefix and origin AS"},
			}
			if rep.Format != FormatPyASN || rep.Lines != 21 || rep.Entries != 12 || rep.NotRouted != 1 || rep.MultiOrigin != 2 || !equalSkipped(rep.Skipped, want) {
				t.Errorf("report %+v\nwant skipped %v", rep, want)
			}
			tab := mustBuild(t, &b)
			// pyasn's own tests of ipasn.fake: the most specific prefix wins.
			checkLookups(t, tab, []lookupCase{
				{"1.0.0.0", 1, "1.0.0.0/30", ""},
				{"1.0.0.3", 1, "1.0.0.0/30", ""},
				{"1.0.0.4", 2, "1.0.0.0/24", ""},
				{"1.0.0.255", 2, "1.0.0.0/24", ""},
				{"1.0.1.0", 0, "", ""},
				{"2.0.0.128", 3, "2.0.0.0/24", ""},
				{"3.0.0.0", 5, "3.0.0.0/9", ""},
				{"3.127.255.255", 5, "3.0.0.0/9", ""},
				{"3.128.0.0", 4, "3.0.0.0/8", ""},
				{"4.0.1.1", 6, "4.0.0.0/16", ""},
				{"5.0.1.1", 7, "5.0.0.0/16", ""},
				{"5.1.1.1", 9, "5.1.0.0/16", ""},
				{"5.2.1.1", 11, "5.2.0.0/16", ""},
				{"5.3.1.1", 65546, "5.3.0.0/16", ""},
				{"5.4.1.1", 0, "", ""},
				{"6.1.2.3", 12, "6.0.0.0/8", ""},
				{"2001:db8::1", 64496, "2001:db8::/32", ""},
			})
			checkTable(t, &b, tab)
		})
	}
}

const ipToASNSample = "1.1.1.0\t1.1.1.0\t13335\tUS\tCLOUDFLARENET - Cloudflare, Inc.\n" +
	"1.1.1.1\t1.1.1.1\t7497\tCN\tCSTNET-AS-AP Computer Network Information Center\n" +
	"1.1.1.2\t1.1.1.255\t13335\tUS\tCLOUDFLARENET - Cloudflare, Inc.\n" +
	"1.1.2.0\t1.1.7.255\t0\tNone\tNot routed\n" +
	"1.1.8.0\t1.1.8.255\t64496\n" +
	"1.1.9.0\t1.1.9.255\n" +
	"2001:db8::\t2001:db8::ffff\t64497\tZZ\tDoc v6\n"

func TestReadIPToASN(t *testing.T) {
	var b Builder
	rep, err := ReadIPToASN(strings.NewReader(ipToASNSample), &b)
	if err != nil {
		t.Fatal(err)
	}
	want := []LineError{{6, "2 tab-separated fields, want 5"}}
	if rep.Format != FormatIPToASN || rep.Lines != 7 || rep.Entries != 5 || rep.NotRouted != 1 || !equalSkipped(rep.Skipped, want) {
		t.Errorf("report %+v", rep)
	}
	tab := mustBuild(t, &b)
	checkLookups(t, tab, []lookupCase{
		{"1.1.1.0", 13335, "1.1.1.0/32", "CLOUDFLARENET - Cloudflare, Inc."},
		{"1.1.1.1", 7497, "1.1.1.1/32", "CSTNET-AS-AP Computer Network Information Center"},
		{"1.1.1.2", 13335, "1.1.1.2/31", "CLOUDFLARENET - Cloudflare, Inc."},
		{"1.1.1.200", 13335, "1.1.1.128/25", "CLOUDFLARENET - Cloudflare, Inc."},
		{"1.1.3.1", 0, "", ""},
		{"1.1.8.1", 64496, "1.1.8.0/24", ""},
		{"2001:db8::1", 64497, "2001:db8::/112", "Doc v6"},
	})
	checkTable(t, &b, tab)
}

func TestReadASNames(t *testing.T) {
	in := "{\"13335\": \"CLOUDFLARENET - Cloudflare, Inc., US\",\n \"x\": \"bad key\",\n \"64496\": 5, \"0\": \"zero\", \"65546\": \"Asdot\"}\n"
	var b Builder
	b.AddPrefix(netip.MustParsePrefix("1.0.0.0/24"), 13335, "")
	b.AddPrefix(netip.MustParsePrefix("1.0.1.0/24"), 65546, "Own name")
	rep, err := ReadASNames(strings.NewReader(in), &b)
	if err != nil {
		t.Fatal(err)
	}
	want := []LineError{{2, `bad AS number "x"`}, {3, "AS 64496: name is not a string"}}
	if rep.Format != FormatASNames || rep.Lines != 3 || rep.Entries != 2 || rep.NotRouted != 1 || !equalSkipped(rep.Skipped, want) {
		t.Errorf("report %+v", rep)
	}
	tab := mustBuild(t, &b)
	checkLookups(t, tab, []lookupCase{
		{"1.0.0.1", 13335, "1.0.0.0/24", "CLOUDFLARENET - Cloudflare, Inc., US"},
		{"1.0.1.1", 65546, "1.0.1.0/24", "Own name"},
	})
	for _, bad := range []string{"", "[1,2]", `{"1": "a"`, "1.0.0.0/24\t1\n"} {
		if _, err := ReadASNames(strings.NewReader(bad), &b); !errors.Is(err, ErrFormat) {
			t.Errorf("ReadASNames(%q): %v, want ErrFormat", bad, err)
		}
	}
}

// TestWrongFormat feeds each reader a file of another format: the error
// names the first line and wraps ErrFormat, and nothing reaches the
// builder.
func TestWrongFormat(t *testing.T) {
	readers := map[string]func(*bytes.Reader, *Builder) (Report, error){
		FormatIPLocationDB: func(r *bytes.Reader, b *Builder) (Report, error) { return ReadIPLocationDB(r, b) },
		FormatPyASN:        func(r *bytes.Reader, b *Builder) (Report, error) { return ReadPyASN(r, b) },
		FormatIPToASN:      func(r *bytes.Reader, b *Builder) (Report, error) { return ReadIPToASN(r, b) },
	}
	samples := map[string]string{
		FormatIPLocationDB: ipLocationDBSample,
		FormatPyASN:        pyasnSample,
		FormatIPToASN:      ipToASNSample,
		"json":             `{"1": "x"}`,
		"binary":           "\x00\x01\x02\xff\xfe\n\x00\x00\n",
		"empty":            "",
		"comments":         "; nothing\n# here\n",
	}
	for rname, read := range readers {
		for sname, s := range samples {
			if rname == sname {
				continue
			}
			var b Builder
			_, err := read(bytes.NewReader([]byte(s)), &b)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("%s reading %s: %v, want ErrFormat", rname, sname, err)
				continue
			}
			if !strings.Contains(err.Error(), rname) || sname != "empty" && sname != "comments" && !strings.Contains(err.Error(), "line ") {
				t.Errorf("%s reading %s: %q names neither the format nor the line", rname, sname, err)
			}
			if b.Entries() != 0 {
				t.Errorf("%s reading %s: %d entries added", rname, sname, b.Entries())
			}
		}
	}
	// Broken gzip.
	var b Builder
	data := gz(t, pyasnSample)
	if _, err := ReadPyASN(bytes.NewReader(data[:len(data)/2]), &b); err == nil {
		t.Error("truncated gzip accepted")
	}
	// A header line is not a bad line.
	rep, err := ReadIPLocationDB(strings.NewReader("ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization\n"+ipLocationDBSample), &b)
	if err != nil || rep.Bad != 6 {
		t.Errorf("with a header: %v, %+v", err, rep)
	}
}

func TestRead(t *testing.T) {
	for want, s := range map[string][]byte{
		FormatIPLocationDB: []byte("# c\n\n" + ipLocationDBSample),
		FormatPyASN:        gz(t, pyasnSample),
		FormatIPToASN:      []byte(ipToASNSample),
		FormatASNames:      gz(t, `{"1": "x"}`),
	} {
		var b Builder
		rep, err := Read(bytes.NewReader(s), &b)
		if err != nil || rep.Format != want || rep.Entries == 0 {
			t.Errorf("Read %s: %+v, %v", want, rep, err)
		}
	}
	for _, s := range []string{"", "; only\n", "hello world\n", "\x00\x01\n"} {
		var b Builder
		if _, err := Read(strings.NewReader(s), &b); !errors.Is(err, ErrFormat) {
			t.Errorf("Read(%q): %v, want ErrFormat", s, err)
		}
	}
}

func TestManySkipped(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("1.0.0.0/24\t1\n")
	for range 3 * MaxSkipped {
		sb.WriteString("junk\n")
	}
	var b Builder
	rep, err := ReadPyASN(strings.NewReader(sb.String()), &b)
	if err != nil || rep.Bad != 3*MaxSkipped || len(rep.Skipped) != MaxSkipped || rep.Skipped[0].Line != 2 {
		t.Errorf("%v, %d bad, %d listed", err, rep.Bad, len(rep.Skipped))
	}
	if got := rep.Skipped[0].Error(); got != "line 2: 1 fields, want prefix and origin AS" {
		t.Errorf("LineError = %q", got)
	}
}

func TestSnapshotDamage(t *testing.T) {
	var b Builder
	if _, err := Read(strings.NewReader(ipLocationDBSample), &b); err != nil {
		t.Fatal(err)
	}
	tab := mustBuild(t, &b)
	var buf bytes.Buffer
	n, err := tab.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	good := buf.Bytes()
	for i := range len(good) {
		if _, err := ReadTable(bytes.NewReader(good[:i])); !errors.Is(err, ErrFormat) {
			t.Fatalf("cut to %d bytes: %v, want ErrFormat", i, err)
		}
		bad := bytes.Clone(good)
		bad[i] ^= 0x10
		if _, err := ReadTable(bytes.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Fatalf("byte %d flipped: %v, want ErrFormat", i, err)
		}
	}
	// A snapshot followed by more data loads; the rest stays unread.
	r := bytes.NewReader(append(bytes.Clone(good), "rest"...))
	if _, err := ReadTable(r); err != nil || r.Len() != 4 {
		t.Errorf("with data after it: %v, %d bytes left", err, r.Len())
	}
	future := bytes.Clone(good)
	future[8] = 9
	if _, err := ReadTable(bytes.NewReader(future)); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("version 9: %v", err)
	}
	if _, err := ReadTable(strings.NewReader(ipLocationDBSample)); err == nil || !strings.Contains(err.Error(), "not a snapshot") {
		t.Errorf("CSV as a snapshot: %v", err)
	}
	var empty bytes.Buffer
	if _, err := new(Table).WriteTo(&empty); err != nil {
		t.Fatal(err)
	}
	if e, err := ReadTable(&empty); err != nil {
		t.Errorf("empty table: %v", err)
	} else if _, ok := e.Lookup(netip.MustParseAddr("1.0.0.1")); ok {
		t.Error("empty table found an address")
	}
}
