package ripe

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/constituency"
)

// Output receives what an import produces. An Org is always given before
// the Assets and Contacts that name it, and each Org, and each Contact
// (organisation, address), once. An error stops the import and is returned
// by Import.
type Output interface {
	Org(constituency.Org) error
	Asset(constituency.Asset) error
	Contact(constituency.Contact) error
}

// Funcs is an Output made of functions; a nil function drops what it would
// receive.
type Funcs struct {
	OrgFunc     func(constituency.Org) error
	AssetFunc   func(constituency.Asset) error
	ContactFunc func(constituency.Contact) error
}

func (f Funcs) Org(o constituency.Org) error {
	if f.OrgFunc == nil {
		return nil
	}
	return f.OrgFunc(o)
}

func (f Funcs) Asset(a constituency.Asset) error {
	if f.AssetFunc == nil {
		return nil
	}
	return f.AssetFunc(a)
}

func (f Funcs) Contact(c constituency.Contact) error {
	if f.ContactFunc == nil {
		return nil
	}
	return f.ContactFunc(c)
}

// Input is one dump file. Open is called once per pass (at most twice) and
// must return the same bytes each time; gzip and bzip2 are recognised from
// the content.
//
// The Name is used in problems and says what the file holds when it is
// named like the RIRs' split dumps, "<rir>.db.<class>[.gz]" (ripe.db.role.gz,
// apnic.db.inetnum.gz): such a file is read in one pass only. Any other
// name is taken for a file of mixed classes.
type Input struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// File returns the Input for a file. A zip archive's members are read one
// after the other (ARIN's bulk whois comes so).
func File(path string) Input {
	return Input{Name: path, Open: func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		var magic [4]byte
		if n, _ := io.ReadFull(f, magic[:]); n == 4 && string(magic[:]) == "PK\x03\x04" {
			defer f.Close()
			return openZip(path)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}}
}

// openZip returns the members of a zip archive, each followed by an empty
// line so that objects do not run together.
func openZip(path string) (io.ReadCloser, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	var rs []io.Reader
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			zr.Close()
			return nil, fmt.Errorf("zip member %s: %w", f.Name, err)
		}
		rs = append(rs, rc, strings.NewReader("\n\n"))
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(rs...), zr}, nil
}

// Options tune an import.
type Options struct {
	// Countries keeps only resources of these countries (ISO 3166-1
	// alpha-2, any case): an inetnum or inet6num by its own country
	// attribute (else its organisation's), an aut-num by its own country
	// (LACNIC has one) else its organisation's; an aut-num whose
	// organisation has no country is kept when the organisation holds a
	// network of these countries. Empty keeps everything.
	Countries []string

	// SkipWithoutOrg drops resources without an organisation (no org:,
	// LACNIC ownerid: or ARIN OrgID:) instead of making one from their
	// name and maintainer. In the RIPE database most assignments have no
	// org; dropping them lets a longest-prefix lookup find the enclosing
	// allocation's holder and its abuse-c, as RIPE's own abuse-c lookup does
	// (this is what IntelMQ's importer does).
	SkipWithoutOrg bool

	// MaxProblems is how many problems Summary.Problems keeps (all are
	// counted and given to OnProblem): 0 means 1000, negative none.
	MaxProblems int

	// OnProblem, when set, receives every problem as it is found.
	OnProblem func(Problem)
}

// Problem is an object that could not be read or imported in full.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Class   string `json:"class,omitempty"`
	Key     string `json:"key,omitempty"`
	Reason  string `json:"reason"`
	Skipped bool   `json:"skipped"` // the object was not imported at all
}

func (p Problem) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s:%d: ", p.File, p.Line)
	if p.Class != "" {
		sb.WriteString(p.Class)
		if p.Key != "" {
			sb.WriteString(" " + p.Key)
		}
		sb.WriteString(": ")
	}
	sb.WriteString(p.Reason)
	if p.Skipped {
		sb.WriteString(" (skipped)")
	}
	return sb.String()
}

// Summary is what an import did. Classes are in lower case.
type Summary struct {
	Files     []string       `json:"files"`
	Read      map[string]int `json:"read"`      // objects read, per class
	Malformed int            `json:"malformed"` // objects the Reader rejected
	// Imported counts resource objects (inetnum, inet6num, aut-num, ARIN's
	// nethandle, v6nethandle, ashandle) that gave assets; Rejected those
	// skipped for a problem; OutOfCountry those the country filter left out.
	Imported     map[string]int `json:"imported"`
	Rejected     map[string]int `json:"rejected"`
	OutOfCountry map[string]int `json:"out_of_country"`
	// Ignored counts objects of classes that hold nothing to import (route,
	// mntner, ...) and of unknown classes.
	Ignored  map[string]int `json:"ignored"`
	Orgs     int            `json:"orgs"`      // organisations given to the Output
	OrgsMade int            `json:"orgs_made"` // of which made for resources without one
	Assets   int            `json:"assets"`
	Contacts int            `json:"contacts"`

	ProblemCount int       `json:"problem_count"`
	Problems     []Problem `json:"problems"` // the first Options.MaxProblems
}

// ErrNotRPSL is returned for an input that is plainly not RPSL.
var ErrNotRPSL = errors.New("not an RPSL dump")

// Object classes by the part they play in an import.
var (
	// contactClasses are read in the first pass: organisations and the
	// holders of abuse mailboxes that resources refer to.
	contactClasses = map[string]bool{
		"organisation": true, "role": true, "person": true, "irt": true,
		"orgid": true, "pochandle": true, // ARIN bulk whois
	}
	// resourceClasses are read in the second pass.
	resourceClasses = map[string]bool{
		"inetnum": true, "inet6num": true, "aut-num": true,
		"nethandle": true, "v6nethandle": true, "ashandle": true, // ARIN bulk whois
	}
	// otherClasses are known classes without anything to import.
	otherClasses = map[string]bool{
		"as-block": true, "as-set": true, "domain": true, "filter-set": true,
		"inet-rtr": true, "key-cert": true, "mntner": true, "peering-set": true,
		"poem": true, "poetic-form": true, "route": true, "route-set": true,
		"route6": true, "rtr-set": true, "limerick": true, "dictionary": true,
		"repository": true, "as-macro": true, "community": true,
		"aut-num6": true, "inet6rtr": true, "nic-hdl": true, "rpsl": true,
		"customerhandle": true, // ARIN bulk whois
	}
)

// splitDump matches the name of an RIR split dump file and gives its class.
var splitDump = regexp.MustCompile(`^[a-z]+\.db\.([a-z0-9-]+)(\.gz|\.bz2)?$`)

// Import reads RPSL dumps and gives Output the organisations, assets and
// abuse contacts of the resources it finds (inetnum, inet6num, aut-num;
// also ARIN's bulk whois nets and AS numbers), keeping those of
// opts.Countries.
//
// References go both ways across files, so Import reads in two passes and
// keeps little in memory: the first pass reads organisations (handle →
// name, country, abuse-c) and the holders of abuse mailboxes (role,
// person and irt handle → addresses, ARIN POC → mailbox); the second pass
// streams the resources, resolves them against those maps and gives them to
// Output at once. A split dump file (ripe.db.inetnum.gz ...) is read only
// in the pass it is needed in; a mixed file is read twice, each pass
// passing over the other pass's classes without parsing them. Memory grows
// with the organisations and abuse mailboxes of the dump (and the
// organisations given out), never with its resources: see the package
// documentation for figures.
//
// The contact of a resource is the abuse-mailbox of its abuse-c, else of its
// organisation's abuse-c, else of its organisation's own abuse-mailbox,
// else of its mnt-irt. A resource without an organisation gets one made from
// its name and maintainer unless opts.SkipWithoutOrg: see Options.
//
// Objects that cannot be read or imported are reported as Problems and the
// import goes on; the returned error is for what stops it: ctx, an input
// that cannot be opened or read, ErrNotRPSL, or an error of out.
func Import(ctx context.Context, inputs []Input, opts Options, out Output) (*Summary, error) {
	im := &importer{
		opts:      opts,
		out:       out,
		orgs:      make(map[string]*orgRec),
		mailboxes: make(map[string][]string),
		made:      make(map[string][]string),
		counts:    make(map[string]*classCounts),
		sum:       &Summary{},
	}
	defer im.summarise()
	if im.opts.MaxProblems == 0 {
		im.opts.MaxProblems = 1000
	}
	if len(opts.Countries) > 0 {
		im.countries = make(map[string]bool)
		for _, c := range opts.Countries {
			im.countries[strings.ToUpper(strings.TrimSpace(c))] = true
		}
	}
	// Which pass reads which input.
	type plan struct {
		first, second bool
		filter        bool // the second pass skips the first pass's classes
		reported      bool // the first pass reported objects without class
	}
	plans := make([]plan, len(inputs))
	for i, in := range inputs {
		im.sum.Files = append(im.sum.Files, in.Name)
		p := plan{first: true, second: true, filter: true}
		if m := splitDump.FindStringSubmatch(filepath.Base(in.Name)); m != nil {
			if contactClasses[m[1]] {
				p.second = false
			} else {
				p.first, p.filter = false, false
			}
		}
		plans[i] = p
	}
	// An object whose first line is malformed has no class: it is
	// reported by the pass that reads its input last.
	for i, in := range inputs {
		if !plans[i].first {
			continue
		}
		last := !plans[i].second
		others, err := im.read(ctx, in, last, func(class []byte) bool { return !contactClasses[string(class)] })
		if err != nil {
			return im.sum, err
		}
		if others && !plans[i].second {
			// A split file of contacts holding other classes too: read again.
			plans[i].second, plans[i].filter, plans[i].reported = true, true, true
		}
	}
	for i, in := range inputs {
		if !plans[i].second {
			continue
		}
		var skip func([]byte) bool
		if plans[i].filter {
			skip = func(class []byte) bool { return contactClasses[string(class)] }
		}
		if _, err := im.read(ctx, in, !plans[i].reported, skip); err != nil {
			return im.sum, err
		}
	}
	if err := im.flushDeferred(); err != nil {
		return im.sum, err
	}
	return im.sum, nil
}

type importer struct {
	opts      Options
	out       Output
	countries map[string]bool

	orgs      map[string]*orgRec  // organisation handle (upper case)
	mailboxes map[string][]string // role/person/irt/POC handle → addresses; empty: none usable
	made      map[string][]string // organisations made for resources without one, by ID: the addresses given for them
	deferred  []resource          // aut-nums waiting to know their organisation's networks
	counts    map[string]*classCounts

	sum  *Summary
	file string // the input being read
}

type orgRec struct {
	name, country string
	abuseC        []string // handles
	mailboxes     []string // the organisation's own abuse-mailbox (older objects)
	found         bool     // an organisation object was read
	given         bool     // given to Output
	sent          []string // addresses given as its contacts
	hasNetwork    bool     // holds a network given to Output
}

// read reads one input, passing over the classes skip returns true for.
// last says to report the errors of objects without class. It returns
// whether skip passed over any object.
func (im *importer) read(ctx context.Context, in Input, last bool, skip func([]byte) bool) (bool, error) {
	rc, err := in.Open()
	if err != nil {
		return false, fmt.Errorf("open %s: %w", in.Name, err)
	}
	defer rc.Close()
	src, err := Decompress(rc)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", in.Name, err)
	}
	br := bufio.NewReaderSize(src, readBufferSize)
	if err := sniff(br); err != nil {
		return false, fmt.Errorf("read %s: %w", in.Name, err)
	}
	im.file = in.Name
	rd := NewReader(br)
	if skip != nil {
		rd.SkipClasses(skip)
	}
	var n, valid, malformed int
	for {
		if n++; n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		o, err := rd.Next()
		if err == io.EOF {
			break
		}
		var oe *ObjectError
		if errors.As(err, &oe) {
			if oe.Class == "" && !last {
				continue // reported when the input is read again
			}
			malformed++
			im.sum.Malformed++
			im.problem(Problem{File: in.Name, Line: oe.ErrLine, Class: oe.Class, Key: oe.Key, Reason: objectReason(oe), Skipped: true})
			if valid == 0 && malformed == 100 {
				return false, fmt.Errorf("read %s: %w: its first 100 objects are malformed", in.Name, ErrNotRPSL)
			}
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read %s: line %d: %w", in.Name, rd.Line(), err)
		}
		valid++
		if err := im.object(o); err != nil {
			return false, err
		}
	}
	return len(rd.Skipped()) > 0, nil
}

func objectReason(oe *ObjectError) string {
	if oe.ErrLine != oe.Line {
		return fmt.Sprintf("%s (object starting at line %d)", oe.Reason, oe.Line)
	}
	return oe.Reason
}

// sniff rejects inputs that are plainly something else than RPSL.
func sniff(br *bufio.Reader) error {
	head, _ := br.Peek(4096)
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(head) == 0 {
		return nil
	}
	switch head[0] {
	case '{', '[':
		return fmt.Errorf("%w: it is JSON (RIPE's REST API or RDAP output?)", ErrNotRPSL)
	case '<':
		return fmt.Errorf("%w: it is XML or HTML", ErrNotRPSL)
	}
	if !utf8.Valid(head) && bytes.IndexByte(head, 0) >= 0 {
		return fmt.Errorf("%w: it is binary data", ErrNotRPSL)
	}
	// RIR statistics exchange files: "2|ripencc|..." after '#' comments.
	for line := range bytes.Lines(head) {
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' || line[0] == '%' {
			continue
		}
		if bar := bytes.IndexByte(line, '|'); bar >= 0 && bytes.Count(line, []byte("|")) >= 3 && !bytes.Contains(line[:bar], []byte(":")) {
			return fmt.Errorf("%w: it is an RIR statistics exchange file (delegated-*), not a database dump", ErrNotRPSL)
		}
		break
	}
	return nil
}

func (im *importer) problem(p Problem) {
	im.sum.ProblemCount++
	if len(im.sum.Problems) < im.opts.MaxProblems {
		im.sum.Problems = append(im.sum.Problems, p)
	}
	if im.opts.OnProblem != nil {
		im.opts.OnProblem(p)
	}
}

// object handles one object read in a pass.
func (im *importer) object(o *Object) error {
	class := o.NameBytes(0)
	cc := im.classCountBytes(class)
	cc.read++
	switch {
	case contactClasses[string(class)]:
		im.contactObject(o)
	case resourceClasses[string(class)]:
		r, ok := im.extract(o)
		if !ok {
			cc.rejected++
			return nil
		}
		return im.resource(r)
	default:
		cc.ignored++
		if !otherClasses[string(class)] {
			im.problem(Problem{File: im.file, Line: o.Line(), Class: string(class), Key: o.Key(),
				Reason: fmt.Sprintf("unknown object class %q: a blank line inside an object, or a class this importer does not know", class), Skipped: true})
		}
	}
	return nil
}

// classCounts are the counts of one class for the Summary.
type classCounts struct{ read, imported, rejected, outOfCountry, ignored int }

func (im *importer) classCountBytes(class []byte) *classCounts {
	if c := im.counts[string(class)]; c != nil {
		return c
	}
	return im.classCount(string(class))
}

func (im *importer) classCount(class string) *classCounts {
	c := im.counts[class]
	if c == nil {
		c = &classCounts{}
		im.counts[class] = c
	}
	return c
}

// summarise fills the Summary's counts.
func (im *importer) summarise() {
	s := im.sum
	s.Read, s.Imported, s.Rejected = map[string]int{}, map[string]int{}, map[string]int{}
	s.OutOfCountry, s.Ignored = map[string]int{}, map[string]int{}
	set := func(m map[string]int, class string, n int) {
		if n > 0 {
			m[class] = n
		}
	}
	// Problems in the order of the inputs and their lines, not of the
	// passes.
	order := make(map[string]int, len(s.Files))
	for i, f := range s.Files {
		order[f] = i
	}
	sort.SliceStable(s.Problems, func(i, j int) bool {
		a, b := s.Problems[i], s.Problems[j]
		if order[a.File] != order[b.File] {
			return order[a.File] < order[b.File]
		}
		return a.Line < b.Line
	})
	for class, c := range im.counts {
		set(s.Read, class, c.read)
		set(s.Imported, class, c.imported)
		set(s.Rejected, class, c.rejected)
		set(s.OutOfCountry, class, c.outOfCountry)
		set(s.Ignored, class, c.ignored)
	}
}

func (im *importer) p(o *Object, line int, reason string, skipped bool) {
	im.problem(Problem{File: im.file, Line: line, Class: o.Class(), Key: o.Key(), Reason: reason, Skipped: skipped})
}

// contactObject records an organisation or a holder of abuse mailboxes.
func (im *importer) contactObject(o *Object) {
	class := string(o.NameBytes(0))
	switch class {
	case "organisation", "orgid":
		key := handle(o.ValueBytes(0))
		if key == "" {
			im.p(o, o.Line(), "no organisation handle", true)
			return
		}
		rec := im.orgs[key]
		if rec == nil {
			rec = &orgRec{}
			im.orgs[key] = rec
		} else if rec.found {
			im.p(o, o.Line(), "a second organisation with this handle: the first one is kept", true)
			return
		}
		rec.found = true
		for i := 1; i < o.Len(); i++ {
			v := o.ValueBytes(i)
			switch string(o.NameBytes(i)) {
			case "org-name", "orgname":
				if rec.name == "" {
					rec.name = text(v)
				}
			case "country":
				if rec.country == "" && len(v) > 0 {
					if c, ok := country(v); ok {
						rec.country = c
					} else {
						im.p(o, o.AttrLine(i), fmt.Sprintf("country %q is not a two-letter code", v), false)
					}
				}
			case "abuse-c", "orgabusehandle":
				rec.abuseC = appendHandles(rec.abuseC, v)
			case "abuse-mailbox":
				rec.mailboxes = append(rec.mailboxes, im.mailbox(o, i)...)
			}
		}
	case "role", "person", "irt", "pochandle":
		var key string
		var addrs []string
		seen := false
		if class == "irt" || class == "pochandle" {
			key = handle(o.ValueBytes(0))
		}
		for i := 1; i < o.Len(); i++ {
			switch string(o.NameBytes(i)) {
			case "nic-hdl":
				if key == "" {
					key = handle(o.ValueBytes(i))
				}
			case "abuse-mailbox":
				seen = true
				addrs = append(addrs, im.mailbox(o, i)...)
			case "mailbox":
				if class == "pochandle" {
					seen = true
					addrs = append(addrs, im.mailbox(o, i)...)
				}
			}
		}
		if !seen {
			return // most persons and roles: nothing to remember
		}
		if key == "" {
			im.p(o, o.Line(), "abuse-mailbox on an object without nic-hdl: nothing can refer to it", true)
			return
		}
		if _, dup := im.mailboxes[key]; dup {
			im.p(o, o.Line(), fmt.Sprintf("a second object with the handle %s: the first one is kept", key), true)
			return
		}
		if len(addrs) == 0 {
			addrs = []string{} // known, but nothing usable
		}
		im.mailboxes[key] = addrs
	}
}

// mailbox parses the i-th attribute of o as abuse mailboxes and reports
// what is not an address.
func (im *importer) mailbox(o *Object, i int) []string {
	v := string(o.ValueBytes(i))
	addrs, bad := ParseMailboxes(v)
	for _, b := range bad {
		im.p(o, o.AttrLine(i), fmt.Sprintf("%s %q: %s", o.NameBytes(i), b.Text, b.Reason), false)
	}
	if len(addrs) == 0 && len(bad) == 0 {
		im.p(o, o.AttrLine(i), fmt.Sprintf("%s is empty", o.NameBytes(i)), false)
	}
	return addrs
}

// resource is what the importer needs of an inetnum, inet6num or aut-num.
type resource struct {
	line      int
	file      string
	class     string
	key       string
	prefixes  []netip.Prefix
	asn       uint32
	countries []string
	org       string // handle of org:, or ID of LACNIC's ownerid:
	inlineOrg bool   // org is LACNIC's ownerid: there is no object for it
	owner     string // LACNIC's owner:
	name      string // netname or as-name
	mnt       string // first mnt-by
	abuseC    []string
	irt       []string
}

// extract reads a resource object, or reports why it cannot be imported.
func (im *importer) extract(o *Object) (resource, bool) {
	r := resource{line: o.Line(), file: im.file, class: o.Class(), key: strings.Join(strings.Fields(o.Key()), " ")}
	isASN := r.class == "aut-num" || r.class == "ashandle"
	var key []byte // the network or AS number
	switch r.class {
	case "inetnum", "inet6num", "aut-num":
		key = o.ValueBytes(0)
	}
	keys := 0
	for i := 1; i < o.Len(); i++ {
		name, v := o.NameBytes(i), o.ValueBytes(i)
		switch string(name) {
		case r.class:
			keys++
		case "netrange", "asnumber":
			if key == nil {
				key = v
			}
		case "country":
			if len(v) == 0 {
				continue
			}
			if c, ok := country(v); ok {
				r.countries = append(r.countries, c)
			} else {
				im.p(o, o.AttrLine(i), fmt.Sprintf("country %q is not a two-letter code", v), false)
			}
		case "org", "orgid":
			if r.org == "" {
				r.org = handle(v)
			}
		case "ownerid":
			if r.org == "" {
				r.org, r.inlineOrg = handle(v), true
			}
		case "owner":
			if r.owner == "" {
				r.owner = text(v)
			}
		case "netname", "as-name", "asname":
			if r.name == "" {
				r.name = text(v)
			}
		case "mnt-by":
			if r.mnt == "" {
				r.mnt, _, _ = strings.Cut(handle(v), ",")
			}
		case "abuse-c":
			r.abuseC = appendHandles(r.abuseC, v)
		case "mnt-irt":
			r.irt = appendHandles(r.irt, v)
		}
	}
	if keys > 0 {
		im.p(o, o.Line(), fmt.Sprintf("%d more %s attributes: two objects without an empty line between them?", keys, r.class), true)
		return r, false
	}
	if key == nil {
		im.p(o, o.Line(), "no NetRange or ASNumber", true)
		return r, false
	}
	var err error
	if isASN {
		r.asn, err = parseASNKey(string(key))
	} else {
		r.prefixes, err = ParseNetwork(string(key))
	}
	if err != nil {
		im.p(o, o.Line(), err.Error(), true)
		return r, false
	}
	return r, true
}

// parseASNKey parses an aut-num key or ARIN's ASNumber, which may be a
// range of one ("1 - 1").
func parseASNKey(s string) (uint32, error) {
	asn, err := ParseASN(s)
	if err == nil {
		return asn, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, err
	}
	x, errA := ParseASN(a)
	y, errB := ParseASN(b)
	switch {
	case errA != nil || errB != nil:
		return 0, err
	case x != y:
		return 0, fmt.Errorf("AS number range %q: only single AS numbers are imported", s)
	}
	return x, nil
}

// resource imports one resource, or defers an aut-num whose country is not
// known yet.
func (im *importer) resource(r resource) error {
	var rec *orgRec
	if r.org != "" && !r.inlineOrg {
		rec = im.orgs[r.org]
	}
	if im.countries != nil {
		in, known := im.inCountry(r, rec)
		if !known && r.prefixes == nil && rec != nil {
			im.deferred = append(im.deferred, r) // an aut-num
			return nil
		}
		if !in {
			im.classCount(r.class).outOfCountry++
			return nil
		}
	}
	return im.give(r, rec)
}

// inCountry says whether r is of the wanted countries, and whether that is
// known (not for an aut-num whose organisation has no country).
func (im *importer) inCountry(r resource, rec *orgRec) (in, known bool) {
	cs := r.countries
	if len(cs) == 0 && rec != nil && rec.country != "" {
		cs = []string{rec.country}
	}
	for _, c := range cs {
		if im.countries[c] {
			return true, true
		}
	}
	return false, len(cs) > 0
}

// flushDeferred decides the aut-nums whose organisation has no country:
// kept when the organisation holds a network of the wanted countries.
func (im *importer) flushDeferred() error {
	for _, r := range im.deferred {
		rec := im.orgs[r.org]
		if !rec.hasNetwork {
			im.classCount(r.class).outOfCountry++
			continue
		}
		if err := im.give(r, rec); err != nil {
			return err
		}
	}
	im.deferred = nil
	return nil
}

// give hands a resource's organisation (once), assets and contacts to the
// Output.
func (im *importer) give(r resource, rec *orgRec) error {
	problem := func(reason string, skipped bool) {
		im.problem(Problem{File: r.file, Line: r.line, Class: r.class, Key: r.key, Reason: reason, Skipped: skipped})
	}
	var (
		orgID string
		sent  *[]string // the addresses given for the organisation
		made  []string
	)
	switch {
	case r.org != "":
		orgID = "ripe:" + r.org
		if rec == nil && !r.inlineOrg {
			rec = &orgRec{}
			im.orgs[r.org] = rec
		}
		if r.inlineOrg {
			var ok bool
			if made, ok = im.made[orgID]; !ok {
				im.made[orgID] = nil
				if err := im.giveOrg(constituency.Org{ID: orgID, Name: cmp.Or(r.owner, r.org), Country: first(r.countries)}); err != nil {
					return err
				}
			}
			sent = &made
			defer func() { im.made[orgID] = made }()
		} else if sent = &rec.sent; !rec.given {
			if !rec.found {
				problem(fmt.Sprintf("org %s: no such organisation in the dump; imported under its handle", r.org), false)
			}
			rec.given = true
			c := cmp.Or(rec.country, first(r.countries))
			if err := im.giveOrg(constituency.Org{ID: orgID, Name: cmp.Or(rec.name, r.org), Country: c}); err != nil {
				return err
			}
			for _, h := range rec.abuseC {
				if err := im.giveContacts(orgID, sent, h, func(reason string) { problem("organisation's "+reason, false) }); err != nil {
					return err
				}
			}
			if len(rec.abuseC) == 0 {
				for _, a := range rec.mailboxes {
					if err := im.giveContact(orgID, sent, a); err != nil {
						return err
					}
				}
			}
		}
	case im.opts.SkipWithoutOrg:
		problem("no org: skipped as asked", true)
		im.classCount(r.class).rejected++
		return nil
	default:
		name := cmp.Or(r.owner, r.name)
		switch {
		case r.name != "" && r.mnt != "":
			orgID = "ripe:" + nameKind(r.class) + ":" + strings.ToUpper(r.name) + ":" + r.mnt
		case r.name != "":
			orgID = "ripe:" + nameKind(r.class) + ":" + strings.ToUpper(r.name)
		case r.owner != "":
			orgID = "ripe:owner:" + strings.ToUpper(r.owner)
		case r.mnt != "":
			orgID = "ripe:mnt-by:" + r.mnt
			name = r.mnt
		default:
			problem("no org, netname, owner or mnt-by to make an organisation from", true)
			im.classCount(r.class).rejected++
			return nil
		}
		var ok bool
		if made, ok = im.made[orgID]; !ok {
			im.made[orgID] = nil
			im.sum.OrgsMade++
			if err := im.giveOrg(constituency.Org{ID: orgID, Name: name, Country: first(r.countries)}); err != nil {
				return err
			}
		}
		sent = &made
		defer func() {
			if len(made) > 0 {
				im.made[orgID] = made
			}
		}()
	}
	im.classCount(r.class).imported++
	name := r.class + " " + r.key
	if r.prefixes != nil {
		if rec != nil {
			rec.hasNetwork = true
		}
		for _, p := range r.prefixes {
			if err := im.giveAsset(constituency.Asset{Org: orgID, Kind: constituency.AssetNetwork, Prefix: p, Name: name, Source: constituency.SourceRIPE, Confirmed: true}); err != nil {
				return err
			}
		}
	} else {
		if err := im.giveAsset(constituency.Asset{Org: orgID, Kind: constituency.AssetASN, ASN: r.asn, Name: name, Source: constituency.SourceRIPE, Confirmed: true}); err != nil {
			return err
		}
	}
	// The resource's own abuse-c; else, when its organisation has none, its
	// mnt-irt.
	for _, h := range r.abuseC {
		if err := im.giveContacts(orgID, sent, h, func(reason string) { problem(reason, false) }); err != nil {
			return err
		}
	}
	if len(r.abuseC) == 0 && (rec == nil || len(rec.abuseC) == 0 && len(rec.mailboxes) == 0) {
		for _, h := range r.irt {
			if err := im.giveContacts(orgID, sent, h, func(reason string) { problem("mnt-irt: "+reason, false) }); err != nil {
				return err
			}
		}
	}
	return nil
}

func nameKind(class string) string {
	switch class {
	case "aut-num", "ashandle":
		return "as-name"
	}
	return "netname"
}

// giveContacts gives the abuse mailboxes of handle h as contacts of orgID,
// those not in sent yet.
func (im *importer) giveContacts(orgID string, sent *[]string, h string, problem func(string)) error {
	addrs, ok := im.mailboxes[h]
	switch {
	case !ok:
		problem(fmt.Sprintf("abuse-c %s: no role, person or irt with this handle and an abuse-mailbox in the dump", h))
	case len(addrs) == 0:
		problem(fmt.Sprintf("abuse-c %s: its abuse-mailbox holds no usable address", h))
	}
	for _, a := range addrs {
		if err := im.giveContact(orgID, sent, a); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) giveOrg(o constituency.Org) error {
	o.Source = constituency.SourceRIPE
	im.sum.Orgs++
	return im.out.Org(o)
}

func (im *importer) giveAsset(a constituency.Asset) error {
	im.sum.Assets++
	return im.out.Asset(a)
}

func (im *importer) giveContact(orgID string, sent *[]string, addr string) error {
	if slices.Contains(*sent, addr) {
		return nil
	}
	*sent = append(*sent, addr)
	im.sum.Contacts++
	return im.out.Contact(constituency.Contact{Org: orgID, Email: addr, Role: "abuse", Source: constituency.SourceRIPE})
}

// handle returns an RPSL handle in upper case.
func handle(v []byte) string {
	return strings.ToUpper(string(bytes.TrimSpace(v)))
}

// appendHandles appends the handles of a value that may list several
// ("AR1-RIPE, AR2-RIPE").
func appendHandles(hs []string, v []byte) []string {
	for _, f := range bytes.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		hs = append(hs, strings.ToUpper(string(f)))
	}
	return hs
}

// country returns a country attribute's code in upper case.
func country(v []byte) (string, bool) {
	if len(v) != 2 || !isLetter(v[0]) || !isLetter(v[1]) {
		return "", false
	}
	return strings.ToUpper(string(v)), true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// text returns a value as UTF-8: LACNIC's and some older dumps are in
// Latin-1.
func text(v []byte) string {
	if utf8.Valid(v) {
		return string(v)
	}
	r := make([]rune, len(v))
	for i, c := range v {
		r[i] = rune(c)
	}
	return string(r)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
