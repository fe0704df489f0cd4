package ripe

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
)

// A generated RIPE dump: the shapes of the objects in RIPE's split dumps
// and test database (ripe-whois-testdata/TEST.db, the dummified
// grs/ripe.test.gz) and the abuse-mailbox forms of intelmq-certbund-contact's
// role samples, repeated with varying keys, ranges and references, in the
// proportions of the real database (mostly inetnum, then inet6num, few
// organisations, roles and aut-nums).

var genCountries = []string{
	"SE", "DE", "NL", "GB", "FR", "IT", "ES", "PL", "RU", "UA", "NO", "DK", "FI", "CH", "AT",
	"BE", "CZ", "RO", "TR", "IR", "SA", "AE", "IL", "GR", "PT", "HU", "BG", "IE", "KZ", "EU",
}

// genSizes gives the number of objects of each class in a dump of n.
type genSizes struct{ orgs, roles, autnums, inet6nums, inetnums int }

func sizes(n int) genSizes {
	s := genSizes{orgs: n / 50, autnums: n / 125, inet6nums: n / 5}
	s.roles = s.orgs + s.orgs/5 // abuse roles and roles without abuse-mailbox
	s.inetnums = n - s.orgs - s.roles - s.autnums - s.inet6nums
	return s
}

const dummyRemarks = "remarks:        ****************************\n" +
	"remarks:        * THIS OBJECT IS MODIFIED\n" +
	"remarks:        * Please note that all data that is generally regarded as personal\n" +
	"remarks:        * data has been removed from this object.\n" +
	"remarks:        * To view the original object, please query the RIPE Database at:\n" +
	"remarks:        * http://www.ripe.net/whois\n" +
	"remarks:        ****************************\n"

// gen appends objects to a buffer.
type gen struct {
	b []byte
	s genSizes
}

func (g *gen) s_(s string) *gen { g.b = append(g.b, s...); return g }
func (g *gen) n(i int) *gen     { g.b = strconv.AppendInt(g.b, int64(i), 10); return g }
func (g *gen) x(i int) *gen     { g.b = strconv.AppendInt(g.b, int64(i), 16); return g }
func (g *gen) ip(v uint32) *gen {
	g.n(int(v >> 24)).s_(".").n(int(v >> 16 & 255)).s_(".").n(int(v >> 8 & 255)).s_(".").n(int(v & 255))
	return g
}
func (g *gen) footer(created string) {
	g.s_("created:        ").s_(created).s_("\nlast-modified:  2021-06-02T09:14:41Z\nsource:         RIPE # Filtered\n").s_(dummyRemarks).s_("\n")
}

func lir(i int) int { return i % 20000 }

func (g *gen) org(i int) {
	g.s_("organisation:   ORG-G").n(i).s_("-RIPE\norg-name:       Generated Organisation ").n(i).s_(" B.V.\n")
	if i%5 != 4 {
		g.s_("country:        ").s_(genCountries[i%len(genCountries)]).s_("\n")
	}
	g.s_("org-type:       LIR\naddress:        Dummy address for ORG-G").n(i).s_("-RIPE\ne-mail:         unread@ripe.net\n")
	if i%10 != 9 {
		g.s_("abuse-c:        AR").n(i).s_("-RIPE\n")
	}
	g.s_("mnt-ref:        LIR").n(lir(i)).s_("-MNT\nmnt-by:         RIPE-NCC-HM-MNT\nmnt-by:         LIR").n(lir(i)).s_("-MNT\n")
	g.footer("2004-04-17T11:55:56Z")
}

func (g *gen) role(i int) {
	if i >= g.s.orgs {
		g.s_("role:           Technical team ").n(i).s_("\naddress:        Dummy address for TR").n(i).s_("-RIPE\ne-mail:         unread@ripe.net\nnic-hdl:        TR").n(i).s_("-RIPE\nmnt-by:         LIR").n(lir(i)).s_("-MNT\n")
		g.footer("2010-01-26T10:23:02Z")
		return
	}
	g.s_("role:           Abuse-C Role\nnic-hdl:        AR").n(i).s_("-RIPE\norg:            ORG-G").n(i).s_("-RIPE\nabuse-mailbox:  ")
	dom := func() { g.s_("org").n(i).s_(".example") }
	switch i % 9 {
	case 0:
		g.s_("abuse@")
		dom()
	case 1:
		g.s_("ABUSE@ORG").n(i).s_(".EXAMPLE")
	case 2:
		g.s_("abuse@")
		dom()
		g.s_("  <abuse@")
		dom()
		g.s_(">")
	case 3:
		g.s_("abuse@")
		dom()
		g.s_(", noc@")
		dom()
	case 4:
		g.s_("abuse@")
		dom()
		g.s_(" (preferred)")
	case 5:
		g.s_("\"abuse desk\"@")
		dom()
	case 6:
		g.s_("abuse@")
		dom()
		g.s_(",")
	case 7:
		g.s_("Abuse Team <abuse@")
		dom()
		g.s_(">")
	case 8:
		g.s_("abuse at org").n(i).s_(" dot example") // not an address
	}
	g.s_("\nmnt-by:         LIR").n(lir(i)).s_("-MNT\naddress:        Dummy address for AR").n(i).s_("-RIPE\ne-mail:         unread@ripe.net\n")
	g.footer("2014-03-29T01:45:46Z")
}

func (g *gen) autnum(i int) {
	o := i * 7 % g.s.orgs
	g.s_("aut-num:        AS").n(196608 + i).s_("\nas-name:        GEN-AS-").n(i).s_("\norg:            ORG-G").n(o).s_("-RIPE\n")
	for k := 1; k <= 3; k++ {
		g.s_("import:         from AS").n(1000*k + i%1000).s_(" accept ANY\nexport:         to AS").n(1000*k + i%1000).s_(" announce AS-GEN").n(i).s_("\n")
	}
	g.s_("admin-c:        DUMY-RIPE\ntech-c:         DUMY-RIPE\nstatus:         ASSIGNED\nmnt-by:         RIPE-NCC-END-MNT\nmnt-by:         LIR").n(lir(o)).s_("-MNT\n")
	g.footer("2015-08-10T12:05:36Z")
}

func (g *gen) inet6num(i int) {
	a := i / 4
	hi, lo := 0x2a00+a>>16, a&0xffff
	g.s_("inet6num:       ").x(hi).s_(":").x(lo)
	withOrg := i%4 == 0 || i%10 == 1
	o := a * 13 % g.s.orgs
	if i%4 == 0 {
		g.s_("::/32\nnetname:        GEN-ALLOC-").n(a).s_("\n")
	} else {
		g.s_(":").x(i % 4).s_("::/48\nnetname:        LIR").n(lir(a)).s_("-V6-").n(i % 50).s_("\n")
	}
	c := genCountries[o%len(genCountries)]
	if !withOrg {
		c = genCountries[a/3%len(genCountries)]
	}
	g.s_("country:        ").s_(c).s_("\n")
	if withOrg {
		g.s_("org:            ORG-G").n(o).s_("-RIPE\n")
	}
	g.s_("admin-c:        DUMY-RIPE\ntech-c:         DUMY-RIPE\nstatus:         ")
	if i%4 == 0 {
		g.s_("ALLOCATED-BY-RIR\nmnt-by:         RIPE-NCC-HM-MNT\n")
	} else {
		g.s_("ASSIGNED\n")
	}
	g.s_("mnt-by:         LIR").n(lir(a)).s_("-MNT\n")
	g.footer("2012-06-25T11:53:12Z")
}

func (g *gen) inetnum(i int) {
	base := uint32(1<<24) + uint32(i)*256
	g.s_("inetnum:        ")
	if i%10 == 3 {
		g.ip(base + 1).s_(" - ").ip(base + 254) // not one prefix
	} else {
		g.ip(base).s_(" - ").ip(base + 255)
	}
	withOrg := i%10 < 3
	o := i * 7919 % g.s.orgs
	if withOrg {
		g.s_("\nnetname:        GEN-NET-").n(i).s_("\ncountry:        ").s_(genCountries[o%len(genCountries)]).s_("\norg:            ORG-G").n(o).s_("-RIPE\n")
	} else {
		g.s_("\nnetname:        LIR").n(lir(i / 50)).s_("-CUST-").n(i % 50).s_("\ndescr:          Customer ").n(i).s_("\ncountry:        ").s_(genCountries[i/7%len(genCountries)]).s_("\n")
	}
	if i%5 == 1 {
		g.s_("abuse-c:        AR").n(i * 31 % g.s.orgs).s_("-RIPE\n")
	}
	g.s_("admin-c:        DUMY-RIPE\ntech-c:         DUMY-RIPE\nstatus:         ")
	if withOrg {
		g.s_("ALLOCATED PA\nmnt-by:         RIPE-NCC-HM-MNT\n")
	} else {
		g.s_("ASSIGNED PA\n")
	}
	g.s_("mnt-by:         LIR").n(lir(i / 50)).s_("-MNT\n")
	g.footer("2011-02-04T14:23:00Z")
}

// genReader streams objects from to to-1 of one class.
type genReader struct {
	g        gen
	obj      func(*gen, int)
	from, to int
	pending  []byte
}

func newGenReader(s genSizes, class string, from, to int) *genReader {
	r := &genReader{g: gen{s: s}, from: from, to: to}
	r.obj = map[string]func(*gen, int){
		"organisation": (*gen).org, "role": (*gen).role, "aut-num": (*gen).autnum,
		"inet6num": (*gen).inet6num, "inetnum": (*gen).inetnum,
	}[class]
	return r
}

func (r *genReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.from >= r.to {
			return 0, io.EOF
		}
		r.g.b = r.g.b[:0]
		for ; r.from < r.to && len(r.g.b) < 32<<10; r.from++ {
			r.obj(&r.g, r.from)
		}
		r.pending = r.g.b
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// genClasses are the split files of a generated dump, the resources first
// so that every reference points forward.
var genClasses = []string{"inetnum", "inet6num", "aut-num", "organisation", "role"}

func (s genSizes) count(class string) int {
	return map[string]int{"organisation": s.orgs, "role": s.roles, "aut-num": s.autnums, "inet6num": s.inet6nums, "inetnum": s.inetnums}[class]
}

// writeDump writes a generated dump of n objects as gzip'd split files
// ripe.db.<class>.gz in dir, in parallel (a large file as several gzip
// members), and returns their paths in genClasses order.
func writeDump(dir string, n int) (paths []string, text int64, err error) {
	s := sizes(n)
	type part struct {
		class    string
		from, to int
		path     string
	}
	var parts []part
	const chunk = 500_000
	for _, class := range genClasses {
		path := filepath.Join(dir, "ripe.db."+class+".gz")
		paths = append(paths, path)
		total := s.count(class)
		for from := 0; from < total || from == 0; from += chunk {
			parts = append(parts, part{class, from, min(from+chunk, total), fmt.Sprintf("%s.part%03d", path, from/chunk)})
		}
	}
	errs := make(chan error, len(parts))
	var written atomic.Int64
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := writeGzip(p.path, newGenReader(s, p.class, p.from, p.to))
			written.Add(n)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, 0, err
		}
	}
	// Concatenate the members of each file.
	for _, path := range paths {
		out, err := os.Create(path)
		if err != nil {
			return nil, 0, err
		}
		for _, p := range parts {
			if filepath.Join(dir, "ripe.db."+p.class+".gz") != path {
				continue
			}
			in, err := os.Open(p.path)
			if err != nil {
				return nil, 0, err
			}
			_, err = io.Copy(out, in)
			in.Close()
			os.Remove(p.path)
			if err != nil {
				return nil, 0, err
			}
		}
		if err := out.Close(); err != nil {
			return nil, 0, err
		}
	}
	return paths, written.Load(), nil
}

func writeGzip(path string, r io.Reader) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	bw := bufio.NewWriterSize(zw, 256<<10)
	n, err := io.Copy(bw, r)
	if err != nil {
		return n, err
	}
	if err := bw.Flush(); err != nil {
		return n, err
	}
	if err := zw.Close(); err != nil {
		return n, err
	}
	return n, f.Close()
}
