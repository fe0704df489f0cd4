package ripe

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
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
// apnic.db.inetnum.gz): such a file is read in one pass only (a file named
// after a resource class must then hold no organisations or roles: they
// would come too late for the resources before them). Any other name
// (afrinic.db.gz, TEST.db, -) is taken for a file of mixed classes and read
// twice.
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

	// Progress, when set, is called every 65,536 objects and at the end of
	// each input with how far the import is.
	Progress func(Progress)
}

// Progress is how far an import is.
type Progress struct {
	Pass    int    // 1: organisations and contacts, 2: resources
	Input   string // Input.Name
	Bytes   int64  // bytes of the input read so far, as stored (compressed)
	Objects int    // objects of the input read so far, also those passed over
	Done    bool   // the input is read
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
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
		made:      make(map[string]*madeOrg),
		codes:     make(map[string]string),
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
		if m := splitDump.FindStringSubmatch(filepath.Base(in.Name)); m != nil && (contactClasses[m[1]] || resourceClasses[m[1]] || otherClasses[m[1]]) {
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
		others, err := im.read(ctx, in, 1, last, func(class []byte) bool { return !contactClasses[string(class)] })
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
		if _, err := im.read(ctx, in, 2, !plans[i].reported, skip); err != nil {
			return im.sum, err
		}
	}
	if err := im.flushDeferred(); err != nil {
		return im.sum, err
	}
	return im.sum, nil
}

// read reads one input, passing over the classes skip returns true for.
// last says to report the errors of objects without class. It returns
// whether skip passed over any object.
func (im *importer) read(ctx context.Context, in Input, pass int, last bool, skip func([]byte) bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	rc, err := in.Open()
	if err != nil {
		return false, fmt.Errorf("open %s: %w", in.Name, err)
	}
	defer rc.Close()
	raw := &countingReader{r: rc}
	src, err := Decompress(raw)
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
	var n, objects, valid, malformed int
	progress := func(done bool) {
		if im.opts.Progress != nil {
			im.opts.Progress(Progress{Pass: pass, Input: in.Name, Bytes: raw.n, Objects: objects + rd.skippedCount(), Done: done})
		}
	}
	defer progress(true)
	for {
		if n++; n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if n&65535 == 0 {
				progress(false)
			}
		}
		o, err := rd.Next()
		if err == io.EOF {
			break
		}
		objects++
		if oe, ok := err.(*ObjectError); ok {
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
