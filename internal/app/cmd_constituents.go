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
	"strings"
	"text/tabwriter"

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
  tocsin constituents add --id ID --name NAME [--sector S] [--country CC] [--lang sv,en] [--contact EMAIL]... [--asset ASSET]...
  tocsin constituents remove ORG-ID`

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
}

type manualContact struct {
	Email  string `yaml:"email"`
	Role   string `yaml:"role"`
	PGPKey string `yaml:"pgp_key"`
}

func constituentsImportFile(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents import", "FILE.yaml|FILE.csv",
		"Stores organisations entered by hand (they always win over imported data):\n"+
			"YAML: organisations: [{id, name, sector, country, languages: [sv, en], contacts: [{email, role, pgp_key}], assets: [192.0.2.0/24, AS64500, example.se]}]\n"+
			"CSV:  id,name,sector,country,languages,contacts,assets (lists separated by ';')")
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
	for _, m := range orgs {
		if err := putManual(ctx, reg, m); err != nil {
			errs = append(errs, err)
			continue
		}
		nAssets += len(m.Assets)
		nContacts += len(m.Contacts)
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
		if strings.Join(rows[0], ",") != strings.Join(want, ",") {
			return nil, fmt.Errorf("%s: the header must be %s", path, strings.Join(want, ","))
		}
		var out []manualOrg
		for i, row := range rows[1:] {
			if len(row) != len(want) {
				return nil, fmt.Errorf("%s:%d: %d columns, want %d", path, i+2, len(row), len(want))
			}
			m := manualOrg{ID: row[0], Name: row[1], Sector: row[2], Country: row[3], Languages: splitList(row[4]), Assets: splitList(row[6])}
			for _, e := range splitList(row[5]) {
				m.Contacts = append(m.Contacts, manualContact{Email: e, Role: "abuse"})
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: name a .yaml or .csv file", path)
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
	o := constituency.Org{ID: id, Name: m.Name, Sector: m.Sector, Country: strings.ToUpper(m.Country), Languages: m.Languages, Source: constituency.SourceManual}
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
			if err := reg.PutAsset(ctx, x); err != nil {
				return fmt.Errorf("organisation %s: asset %s: %w", id, s, err)
			}
		}
	}
	return nil
}

// parseAsset reads "192.0.2.0/24", "192.0.2.1", "192.0.2.0 - 192.0.2.99",
// "AS64500" or "example.se". Entries made by hand are confirmed.
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
	return map[string]any{"id": o.ID, "name": o.Name, "sector": o.Sector, "country": o.Country, "languages": o.Languages, "source": o.Source}
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
		assets = append(assets, map[string]any{"asset": store.AssetString(x), "kind": x.Kind, "source": x.Source, "confirmed": x.Confirmed})
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
	fmt.Fprintf(env.Stdout, "%s  %s\nsector %s, country %s, languages %s, source %s\n\nassets:\n", o.ID, o.Name, o.Sector, o.Country, strings.Join(o.Languages, ","), o.Source)
	for _, x := range assets {
		fmt.Fprintf(env.Stdout, "  %-40v %-8v %v confirmed=%v\n", x["asset"], x["kind"], x["source"], x["confirmed"])
	}
	fmt.Fprintln(env.Stdout, "\ncontacts:")
	for _, c := range contacts {
		fmt.Fprintf(env.Stdout, "  %-40v %-8v %v\n", c["email"], c["role"], c["source"])
	}
	return exitOK
}
