package app

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/constituency/ripe"
	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/store"
)

const constituentsUsage = `Usage:
  tocsin constituents import ripe [--country CC]... [--skip-without-org] [--json] FILE...
  tocsin constituents import FILE.yaml|FILE.csv
  tocsin constituents list [--json]
  tocsin constituents show [--json] ORG-ID
  tocsin constituents add --id ID --name NAME [--sector S] [--country CC] [--lang sv,en] [--contact EMAIL]... [--asset ASSET]... [--unconfirmed]
  tocsin constituents remove ORG-ID
  tocsin constituents challenge [--json] ORG-ID DOMAIN
  tocsin constituents verify [--resolver ADDR] ORG-ID DOMAIN
  tocsin constituents request-confirmation [--base-url URL] [--from ADDR] ORG-ID PREFIX|ASN
  tocsin constituents confirm TOKEN|URL
  tocsin constituents refresh-security-txt [--all] [--concurrency N] [--timeout D] [-v] [DOMAIN...]`

func cmdConstituents(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, constituentsUsage)
		return exitUsage
	}
	switch args[0] {
	case "import":
		if len(args) > 1 && args[1] == "ripe" {
			return constituentsImportRIPE(ctx, env, args[2:])
		}
		return constituentsImportFile(ctx, env, args[1:])
	case "list":
		return constituentsList(ctx, env, args[1:])
	case "show":
		return constituentsShow(ctx, env, args[1:])
	case "add":
		return constituentsAdd(ctx, env, args[1:])
	case "remove":
		return constituentsRemove(ctx, env, args[1:])
	case "challenge":
		return constituentsChallenge(ctx, env, args[1:])
	case "verify":
		return constituentsVerify(ctx, env, args[1:])
	case "request-confirmation":
		return constituentsRequestConfirmation(ctx, env, args[1:])
	case "confirm":
		return constituentsConfirm(ctx, env, args[1:])
	case "refresh-security-txt":
		return RefreshSecurityTxt(ctx, env, args[1:])
	}
	fmt.Fprintf(env.Stderr, "tocsin constituents: unknown subcommand %q\n%s\n", args[0], constituentsUsage)
	return exitUsage
}

// openRegistry opens the app and its registry; on failure it reports the
// error and returns a nil App and the exit code.
func openRegistry(ctx context.Context, env *Env, g *globals) (*App, store.Registry, int) {
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin constituents: %v\n", err)
		return nil, nil, exitFail
	}
	reg, err := a.registry()
	if err != nil {
		a.Close()
		fmt.Fprintf(env.Stderr, "tocsin constituents: %v\n", err)
		return nil, nil, exitFail
	}
	return a, reg, exitOK
}

// registry opens the app's store as a Registry.
func (a *App) registry() (store.Registry, error) {
	r, ok := a.Store.(store.Registry)
	if !ok {
		return nil, errors.New("this store keeps no constituency")
	}
	return r, nil
}

type countries []string

func (c *countries) String() string { return strings.Join(*c, ",") }
func (c *countries) Set(s string) error {
	for _, cc := range strings.Split(s, ",") {
		cc = strings.ToUpper(strings.TrimSpace(cc))
		if len(cc) != 2 {
			return fmt.Errorf("%q is not a two-letter country code", cc)
		}
		*c = append(*c, cc)
	}
	return nil
}

func constituentsImportRIPE(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents import ripe", "FILE...",
		"Imports organisations, address ranges, AS numbers and abuse contacts from RIR data in RPSL\n"+
			"(RIPE's split dumps ripe.db.inetnum.gz, ...inet6num, ...aut-num, ...organisation, ...role, or one file),\n"+
			"replacing the previous RIPE import and reporting what was added, changed and removed. Manual data is never touched.")
	var cc countries
	fs.Var(&cc, "country", "keep only resources of this `country` (repeat or comma-separate)")
	skip := fs.Bool("skip-without-org", false, "drop resources without an organisation (their enclosing allocation's holder then owns them)")
	asJSON := fs.Bool("json", false, "print the summary and the differences as JSON")
	files, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(files) == 0 {
		fs.Usage()
		return exitUsage
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	var inputs []ripe.Input
	for _, f := range files {
		inputs = append(inputs, ripe.File(f))
	}
	// The importer gives organisations, assets and contacts interleaved; the
	// registry takes them kind by kind, so they are gathered first.
	var orgs []constituency.Org
	var assets []constituency.Asset
	var contacts []constituency.Contact
	sum, err := ripe.Import(ctx, inputs, ripe.Options{Countries: cc, SkipWithoutOrg: *skip}, ripe.Funcs{
		OrgFunc:     func(o constituency.Org) error { orgs = append(orgs, o); return nil },
		AssetFunc:   func(x constituency.Asset) error { assets = append(assets, x); return nil },
		ContactFunc: func(c constituency.Contact) error { contacts = append(contacts, c); return nil },
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin constituents import ripe: %v\n", err)
		return exitFail
	}
	diff, err := reg.Import(ctx, constituency.SourceRIPE, seq(orgs), seq(assets), seq(contacts))
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin constituents import ripe: %v\n", err)
		return exitFail
	}
	if *asJSON {
		json.NewEncoder(env.Stdout).Encode(map[string]any{"summary": sum, "orgs": diff.Orgs, "assets": diff.Assets, "contacts": diff.Contacts})
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "read: %d organisations, %d assets, %d contacts (%d problems)\n", len(orgs), len(assets), len(contacts), len(sum.Problems))
	fmt.Fprintf(env.Stdout, "organisations: %s\nassets:        %s\ncontacts:      %s\n", diff.Orgs, diff.Assets, diff.Contacts)
	for _, p := range sum.Problems {
		fmt.Fprintln(env.Stderr, p)
	}
	return exitOK
}

func seq[T any](xs []T) func(yield func(T, error) bool) {
	return func(yield func(T, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	}
}

// manualFile is the YAML form of manual constituency entries.
type manualFile struct {
	Organisations []manualOrg `yaml:"organisations"`
}

type manualOrg struct {
	ID        string          `yaml:"id"`
	Name      string          `yaml:"name"`
	Sector    string          `yaml:"sector"`
	Country   string          `yaml:"country"`
	Languages []string        `yaml:"languages"`
	Contacts  []manualContact `yaml:"contacts"`
	Assets    []string        `yaml:"assets"`
	Notify    manualNotify    `yaml:"notify"`

	// unconfirmed stores the assets unconfirmed, as self-registered ones
	// are until their owner proves it holds them.
	unconfirmed bool
}

// manualNotify is an organisation's notification preferences
// (constituency.Prefs) in a manual file.
type manualNotify struct {
	OptOut   bool   `yaml:"opt_out"`
	TimeZone string `yaml:"time_zone"`
	Format   string `yaml:"format"`
	Monthly  bool   `yaml:"monthly"`
}

// prefs checks n and returns it as constituency.Prefs: the time zone must
// be an IANA name, the format csv, json or xarf (or empty).
func (n manualNotify) prefs() (constituency.Prefs, error) {
	p := constituency.Prefs{OptOut: n.OptOut, TimeZone: strings.TrimSpace(n.TimeZone), Format: strings.ToLower(strings.TrimSpace(n.Format)), Monthly: n.Monthly}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "Local" {
			return p, fmt.Errorf("notify time_zone %q is not an IANA time zone name (such as Europe/Stockholm or UTC)", n.TimeZone)
		}
	}
	switch p.Format {
	case "", "csv", "json", "xarf":
	default:
		return p, fmt.Errorf("notify format %q: use csv, json or xarf (or leave it out for the route's format)", n.Format)
	}
	return p, nil
}

type manualContact struct {
	Email  string `yaml:"email"`
	Role   string `yaml:"role"`
	PGPKey string `yaml:"pgp_key"`
}

func constituentsImportFile(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents import", "FILE.yaml|FILE.csv",
		"Stores organisations entered by hand (they always win over imported data):\n"+
			"YAML: organisations: [{id, name, sector, country, languages: [sv, en], contacts: [{email, role, pgp_key}], assets: [192.0.2.0/24, AS64500, example.se],\n"+
			"                       notify: {opt_out: false, time_zone: Europe/Stockholm, format: csv|json|xarf, monthly: true}}]\n"+
			"CSV:  id,name,sector,country,languages,contacts,assets (lists separated by ';'), then optionally\n"+
			"      notify_opt_out,time_zone,format,monthly in any order (true/false, an IANA zone, csv|json|xarf, true/false)")
	files, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(files) != 1 {
		fs.Usage()
		return exitUsage
	}
	orgs, err := readManual(files[0])
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin constituents import: %v\n", err)
		return exitFail
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	var errs []error
	nAssets, nContacts := 0, 0
	// A chunk of organisations is one transaction; a chunk with a bad
	// entry is stored again one organisation at a time, so that the error
	// names it and the others are still stored.
	const chunk = 500
	for start := 0; start < len(orgs); start += chunk {
		part := orgs[start:min(start+chunk, len(orgs))]
		err := reg.Batch(ctx, func(ctx context.Context) error {
			for _, m := range part {
				if err := putManual(ctx, reg, m); err != nil {
					return err
				}
			}
			return nil
		})
		for _, m := range part {
			if err != nil {
				if err := putManual(ctx, reg, m); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			nAssets += len(m.Assets)
			nContacts += len(m.Contacts)
		}
	}
	fmt.Fprintf(env.Stdout, "%d organisations, %d assets, %d contacts stored from %s\n", len(orgs)-len(errs), nAssets, nContacts, files[0])
	if len(errs) > 0 {
		fmt.Fprintf(env.Stderr, "tocsin constituents import: %v\n", errors.Join(errs...))
		return exitFail
	}
	return exitOK
}

// readManual reads a YAML or CSV file of manual entries, strictly: an
// unknown key or a bad value is an error naming the file and the entry.
func readManual(path string) ([]manualOrg, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		var f manualFile
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for i, m := range f.Organisations {
			if _, err := m.Notify.prefs(); err != nil {
				return nil, fmt.Errorf("%s: organisation %s (entry %d): %w", path, orgLabel(m), i+1, err)
			}
		}
		return f.Organisations, nil
	case ".csv":
		r := csv.NewReader(strings.NewReader(string(data)))
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rows) == 0 {
			return nil, nil
		}
		want := []string{"id", "name", "sector", "country", "languages", "contacts", "assets"}
		header := rows[0]
		if len(header) < len(want) || strings.Join(header[:len(want)], ",") != strings.Join(want, ",") {
			return nil, fmt.Errorf("%s: the header must be %s, then optionally %s", path, strings.Join(want, ","), strings.Join(csvNotifyColumns, ","))
		}
		extra := map[string]int{} // optional column → index
		for i, h := range header[len(want):] {
			if !slices.Contains(csvNotifyColumns, h) {
				return nil, fmt.Errorf("%s: header column %d %q is not one of the optional columns %s", path, len(want)+i+1, h, strings.Join(csvNotifyColumns, ","))
			}
			if _, dup := extra[h]; dup {
				return nil, fmt.Errorf("%s: header column %q twice", path, h)
			}
			extra[h] = len(want) + i
		}
		var out []manualOrg
		for i, row := range rows[1:] {
			if len(row) != len(header) {
				return nil, fmt.Errorf("%s:%d: %d columns, want %d as in the header", path, i+2, len(row), len(header))
			}
			m := manualOrg{ID: row[0], Name: row[1], Sector: row[2], Country: row[3], Languages: splitList(row[4]), Assets: splitList(row[6])}
			for _, e := range splitList(row[5]) {
				m.Contacts = append(m.Contacts, manualContact{Email: e, Role: "abuse"})
			}
			if err := m.Notify.fromCSV(row, extra); err != nil {
				return nil, fmt.Errorf("%s:%d: organisation %s: %w", path, i+2, orgLabel(m), err)
			}
			if _, err := m.Notify.prefs(); err != nil {
				return nil, fmt.Errorf("%s:%d: organisation %s: %w", path, i+2, orgLabel(m), err)
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: name a .yaml or .csv file", path)
}

// csvNotifyColumns are the optional columns of a manual CSV file, after
// the required ones.
var csvNotifyColumns = []string{"notify_opt_out", "time_zone", "format", "monthly"}

// fromCSV sets n from the optional columns of row (cols: column name →
// index).
func (n *manualNotify) fromCSV(row []string, cols map[string]int) error {
	for name, i := range cols {
		v := strings.TrimSpace(row[i])
		switch name {
		case "notify_opt_out", "monthly":
			b, err := parseBool(v)
			if err != nil {
				return fmt.Errorf("%s %q: use true or false (or leave it empty for false)", name, v)
			}
			if name == "monthly" {
				n.Monthly = b
			} else {
				n.OptOut = b
			}
		case "time_zone":
			n.TimeZone = v
		case "format":
			n.Format = v
		}
	}
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "false", "no", "0":
		return false, nil
	case "true", "yes", "1":
		return true, nil
	}
	return false, errors.New("not a boolean")
}

// orgLabel names an entry of a manual file in messages.
func orgLabel(m manualOrg) string {
	if m.ID != "" {
		return m.ID
	}
	return strconv.Quote(m.Name)
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' })
}

// manualID gives a manual organisation's ID its source prefix.
func manualID(id string) string {
	if strings.HasPrefix(id, "manual:") {
		return id
	}
	return "manual:" + id
}

// putManual stores one manual organisation with its contacts and assets.
func putManual(ctx context.Context, reg store.Registry, m manualOrg) error {
	if m.ID == "" || m.Name == "" {
		return fmt.Errorf("organisation %q: id and name are required", m.Name)
	}
	id := manualID(m.ID)
	prefs, err := m.Notify.prefs()
	if err != nil {
		return fmt.Errorf("organisation %s: %w", id, err)
	}
	o := constituency.Org{ID: id, Name: m.Name, Sector: m.Sector, Country: strings.ToUpper(m.Country), Languages: m.Languages, Source: constituency.SourceManual, Notify: prefs}
	if err := reg.PutOrg(ctx, o); err != nil {
		return fmt.Errorf("organisation %s: %w", id, err)
	}
	for _, c := range m.Contacts {
		email := strings.ToLower(strings.TrimSpace(c.Email))
		if !strings.Contains(email, "@") {
			return fmt.Errorf("organisation %s: contact %q is not an e-mail address", id, c.Email)
		}
		role := c.Role
		if role == "" {
			role = "abuse"
		}
		if err := reg.PutContact(ctx, constituency.Contact{Org: id, Email: email, Role: role, PGPKey: c.PGPKey, Source: constituency.SourceManual}); err != nil {
			return fmt.Errorf("organisation %s: contact %s: %w", id, email, err)
		}
	}
	for _, s := range m.Assets {
		assets, err := parseAsset(id, s)
		if err != nil {
			return fmt.Errorf("organisation %s: %w", id, err)
		}
		for _, x := range assets {
			x.Confirmed = !m.unconfirmed
			if err := reg.PutAsset(ctx, x); err != nil {
				return fmt.Errorf("organisation %s: asset %s: %w", id, s, err)
			}
		}
	}
	return nil
}

// parseAsset reads "192.0.2.0/24", "192.0.2.1", "192.0.2.0 - 192.0.2.99",
// "AS64500" or "example.se". Entries made by hand are confirmed (putManual
// stores self-registered ones unconfirmed).
func parseAsset(org, s string) ([]constituency.Asset, error) {
	s = strings.TrimSpace(s)
	base := constituency.Asset{Org: org, Source: constituency.SourceManual, Confirmed: true, Name: s}
	if isASN(s) {
		n, _ := event.ParseASN(s)
		base.Kind, base.ASN = constituency.AssetASN, n
		return []constituency.Asset{base}, nil
	}
	if first, last, ok := strings.Cut(s, "-"); ok && strings.ContainsAny(s, ".:") {
		a, err1 := netip.ParseAddr(strings.TrimSpace(first))
		b, err2 := netip.ParseAddr(strings.TrimSpace(last))
		if err1 == nil && err2 == nil {
			ps, err := ripe.RangePrefixes(a, b)
			if err != nil {
				return nil, fmt.Errorf("asset %q: %w", s, err)
			}
			var out []constituency.Asset
			for _, p := range ps {
				x := base
				x.Kind, x.Prefix = constituency.AssetNetwork, p
				out = append(out, x)
			}
			return out, nil
		}
	}
	if p, err := event.ParseNetwork(s); err == nil {
		base.Kind, base.Prefix = constituency.AssetNetwork, p
		return []constituency.Asset{base}, nil
	}
	d, err := index.NormalizeDomain(s)
	if err != nil || !strings.Contains(d, ".") {
		return nil, fmt.Errorf("asset %q is not a network (CIDR, address or range), an AS number (AS64500) or a domain", s)
	}
	base.Kind, base.Domain = constituency.AssetDomain, d
	return []constituency.Asset{base}, nil
}

func constituentsAdd(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents add", "", "Adds or replaces an organisation entered by hand, with its contacts and assets.")
	var m manualOrg
	fs.StringVar(&m.ID, "id", "", "organisation `ID` (stored as manual:ID)")
	fs.StringVar(&m.Name, "name", "", "organisation `name`")
	fs.StringVar(&m.Sector, "sector", "", "`sector`, e.g. energy, health, finance")
	fs.StringVar(&m.Country, "country", "", "country `code`")
	langs := fs.String("lang", "", "preferred `languages`, comma-separated BCP 47 tags (sv,en)")
	var contacts, assets listFlag
	fs.Var(&contacts, "contact", "functional mailbox (`EMAIL`), repeatable")
	fs.Var(&assets, "asset", "`ASSET`: CIDR, address, range a - b, AS64500 or a domain; repeatable")
	fs.BoolVar(&m.unconfirmed, "unconfirmed", false, "store the assets unconfirmed, as self-registered ones: no events are attributed to them\n"+
		"until the organisation proves it holds them (see 'constituents show' for how)")
	if _, err := parseFlags(fs, args); err != nil {
		return usageError(env, fs, err)
	}
	if m.ID == "" || m.Name == "" {
		fmt.Fprintln(env.Stderr, "tocsin constituents add: --id and --name are required")
		return exitUsage
	}
	if *langs != "" {
		m.Languages = strings.Split(*langs, ",")
	}
	for _, c := range contacts {
		m.Contacts = append(m.Contacts, manualContact{Email: c})
	}
	m.Assets = assets
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	if err := putManual(ctx, reg, m); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin constituents add: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "stored %s\n", manualID(m.ID))
	if m.unconfirmed && len(m.Assets) > 0 {
		fmt.Fprintf(env.Stdout, "its assets are unconfirmed: 'tocsin constituents show %s' says how to confirm each\n", manualID(m.ID))
	}
	return exitOK
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func constituentsRemove(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents remove", "ORG-ID", "Removes an organisation entered by hand, with its manual contacts and assets.")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	id := pos[0]
	if !strings.Contains(id, ":") {
		id = manualID(id)
	}
	err = reg.DeleteOrg(ctx, id)
	if errors.Is(err, store.ErrImported) {
		err = fmt.Errorf("%s was imported: it goes away when its source no longer has it (import it again)", id)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin constituents remove: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "removed %s\n", pos[0])
	return exitOK
}

func constituentsList(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents list", "", "Lists the organisations of the constituency.")
	asJSON := fs.Bool("json", false, "one JSON object per organisation")
	if _, err := parseFlags(fs, args); err != nil {
		return usageError(env, fs, err)
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	w := bufio.NewWriter(env.Stdout)
	defer w.Flush()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	enc := json.NewEncoder(w)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tNAME\tSECTOR\tCOUNTRY\tSOURCE")
	}
	for o, err := range reg.Orgs(ctx) {
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin constituents: %v\n", err)
			return exitFail
		}
		if *asJSON {
			enc.Encode(orgJSON(o))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, oneLine(o.Name, 60), o.Sector, o.Country, o.Source)
	}
	if !*asJSON {
		tw.Flush()
	}
	return exitOK
}

func orgJSON(o *constituency.Org) map[string]any {
	return map[string]any{"id": o.ID, "name": o.Name, "sector": o.Sector, "country": o.Country, "languages": o.Languages, "source": o.Source,
		"notify": map[string]any{"opt_out": o.Notify.OptOut, "time_zone": o.Notify.TimeZone, "format": o.Notify.Format, "monthly": o.Notify.Monthly}}
}

// howToConfirm says how the owner of an unconfirmed asset proves it holds
// it: "" for a confirmed one.
func howToConfirm(x *constituency.Asset) string {
	switch {
	case x.Confirmed:
		return ""
	case x.Source != constituency.SourceManual:
		return "import its source again once it is confirmed there"
	case x.Kind == constituency.AssetDomain:
		return fmt.Sprintf("publish the TXT record of 'tocsin constituents challenge %s %s', then run 'tocsin constituents verify %s %s'", x.Org, x.Domain, x.Org, x.Domain)
	}
	r := x.Prefix.String()
	if x.Kind == constituency.AssetASN {
		r = "AS" + strconv.FormatUint(uint64(x.ASN), 10)
	}
	return fmt.Sprintf("run 'tocsin constituents request-confirmation %s %s': its RIPE abuse-c gets a link to confirm", x.Org, r)
}

// prefsText is p in one line: "opt-out" or "yes, time zone Europe/Stockholm, format json, monthly report".
func prefsText(p constituency.Prefs) string {
	if p.OptOut {
		return "no (opted out of automatic notifications)"
	}
	tz, format := "the CSIRT's", "the route's"
	if p.TimeZone != "" {
		tz = p.TimeZone
	}
	if p.Format != "" {
		format = p.Format
	}
	s := "yes, time zone " + tz + ", format " + format
	if p.Monthly {
		s += ", monthly report"
	}
	return s
}

func constituentsShow(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents show", "ORG-ID", "Shows an organisation with its assets and contacts, each with its source.")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	id := pos[0]
	o, err := reg.Org(ctx, id)
	if errors.Is(err, store.ErrNotFound) && !strings.Contains(id, ":") {
		id = manualID(id)
		o, err = reg.Org(ctx, id)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin constituents show %s: %v\n", pos[0], err)
		return exitFail
	}
	var assets []map[string]any
	for x, err := range reg.Assets(ctx, store.AssetFilter{Org: id}) {
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin constituents: %v\n", err)
			return exitFail
		}
		m := map[string]any{"asset": store.AssetString(x), "kind": x.Kind, "source": x.Source, "confirmed": x.Confirmed}
		if how := howToConfirm(x); how != "" {
			m["confirm"] = how
		}
		assets = append(assets, m)
	}
	var contacts []map[string]any
	for c, err := range reg.Contacts(ctx, id) {
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin constituents: %v\n", err)
			return exitFail
		}
		contacts = append(contacts, map[string]any{"email": c.Email, "role": c.Role, "source": c.Source})
	}
	if *asJSON {
		out := orgJSON(o)
		out["assets"], out["contacts"] = assets, contacts
		json.NewEncoder(env.Stdout).Encode(out)
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "%s  %s\nsector %s, country %s, languages %s, source %s\n", o.ID, o.Name, o.Sector, o.Country, strings.Join(o.Languages, ","), o.Source)
	fmt.Fprintf(env.Stdout, "notify: %s\n\nassets:\n", prefsText(o.Notify))
	for _, x := range assets {
		state := "confirmed"
		if x["confirmed"] == false {
			state = "UNCONFIRMED (no events until confirmed)"
		}
		fmt.Fprintf(env.Stdout, "  %-40v %-8v %v %s\n", x["asset"], x["kind"], x["source"], state)
		if how, ok := x["confirm"]; ok {
			fmt.Fprintf(env.Stdout, "      to confirm: %s\n", how)
		}
	}
	fmt.Fprintln(env.Stdout, "\ncontacts:")
	for _, c := range contacts {
		fmt.Fprintf(env.Stdout, "  %-40v %-8v %v\n", c["email"], c["role"], c["source"])
	}
	return exitOK
}
