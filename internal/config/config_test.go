package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const example = "testdata/example.yaml"

func TestExampleLoads(t *testing.T) {
	t.Setenv(EnvDatabase, "")
	c, err := Load(example)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", example, err)
	}
	if c.DataDir != "/var/lib/tocsin" {
		t.Errorf("DataDir = %q", c.DataDir)
	}
	if got, want := c.Shadowserver.SchemaFile, filepath.Join("testdata", "shadowserver-schema.json"); got != want {
		t.Errorf("SchemaFile = %q, want %q (relative to the file)", got, want)
	}
	if c.Shadowserver.SchemaURL != DefaultSchemaURL {
		t.Errorf("SchemaURL = %q", c.Shadowserver.SchemaURL)
	}
	if c.File() != example {
		t.Errorf("File() = %q", c.File())
	}
	if len(c.ConfiguredFeeds) != 3 {
		t.Fatalf("%d feeds, want 3", len(c.ConfiguredFeeds))
	}
	f := c.ConfiguredFeeds[0]
	if f.Name != "national-c2-list" || f.Format != "list" || f.TLP != "AMBER" || f.Dedup.Window != 7*24*time.Hour ||
		f.Accuracy == nil || *f.Accuracy != 90 || f.Constant["extra.list_version"] != "2" {
		t.Errorf("feed 0 = %+v", f)
	}
	if csv := c.ConfiguredFeeds[1].CSV; csv.Delimiter != ";" || !csv.Header || csv.SkipLines != 1 || csv.Columns["ip"] != "source.ip" {
		t.Errorf("feed 1 csv = %+v", csv)
	}
	set := c.Feeds()
	for _, name := range []string{"national-c2-list", "partner-scans", "abusech-feodo", "shadowserver"} {
		if _, err := set.Get(name); err != nil {
			t.Error(err)
		}
	}
	if f, _ := set.Get("spamhaus-drop"); f == nil || f.TLP != "WHITE" {
		t.Errorf("spamhaus-drop not overridden by the file: %+v", f)
	}
}

// TestExampleIsComplete keeps the example file a full reference: it must
// set every key the Config type has.
func TestExampleIsComplete(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(example, data)
	if err != nil {
		t.Fatal(err)
	}
	index := regexp.MustCompile(`\[\d+\]`)
	present := map[string]bool{}
	for p := range c.line {
		present[index.ReplaceAllString(p, "[]")] = true
	}
	for _, p := range schemaPaths(reflect.TypeFor[Config](), "", nil) {
		if !present[p] {
			t.Errorf("%s: key %s is not in the example; add it, with a comment", example, p)
		}
	}
}

// schemaPaths lists the key paths of type t, lists written as []. A type
// met again inside itself (a route's routes) is listed once.
func schemaPaths(t reflect.Type, prefix string, seen []reflect.Type) []string {
	if slices.Contains(seen, t) {
		return nil
	}
	seen = append(seen, t)
	var out []string
	for _, f := range structFields(t) {
		p := join(prefix, f.name)
		out = append(out, p)
		ft := f.typ
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			p += "[]"
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != durationType {
			out = append(out, schemaPaths(ft, p, seen)...)
		}
	}
	return out
}

func TestDefaults(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatalf("Default().Validate(): %v", err)
	}
	if d.Database.Reveal() != "sqlite" || d.Log.Level != "info" || d.Log.Format != "text" ||
		!d.Ingest.StoreRaw || d.Ingest.BatchSize != DefaultBatchSize || d.Shadowserver.SchemaURL != DefaultSchemaURL {
		t.Errorf("Default() = %+v", d)
	}
	// An empty file, a file of comments and keys left null all give the
	// defaults.
	for _, src := range []string{"", "# nothing\n", "---\n", "~\n", "data_dir:\ndatabase: ~\nlog:\ningest:\n  store_raw:\nfeeds:\nshadowserver: {schema_url: null}\n"} {
		c, err := Parse("t.yaml", []byte(src))
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if !sameExported(c, d) {
			t.Errorf("Parse(%q) = %+v, want the defaults %+v", src, c, d)
		}
	}
	// Values given replace the defaults.
	c, err := Parse("t.yaml", []byte("ingest: {store_raw: false, batch_size: 500}\nlog: {level: DEBUG, format: json}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ingest.StoreRaw || c.Ingest.BatchSize != 500 || c.Log.Level != "debug" || c.Log.Format != "json" || c.Log.SlogLevel().String() != "DEBUG" {
		t.Errorf("got %+v", c)
	}
}

// sameExported compares the exported fields of two Configs.
func sameExported(a, b *Config) bool {
	a2, b2 := *a, *b
	a2.file, a2.line, b2.file, b2.line = "", nil, "", nil
	return reflect.DeepEqual(a2, b2)
}

func TestMergeKeysAndAliases(t *testing.T) {
	src := `
feeds:
  - &base
    name: scans-a
    format: list
    provider: Partner
    classification: {type: scanner}
    dedup:
      fields: &ids [source.ip, source.port]
  - <<: *base
    name: scans-b
    dedup: {fields: *ids, window: 1d12h}
`
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	b := c.ConfiguredFeeds[1]
	if b.Name != "scans-b" || b.Format != "list" || b.Provider != "Partner" || b.Classification.Type != "scanner" ||
		len(b.Dedup.Fields) != 2 || b.Dedup.Window != 36*time.Hour {
		t.Errorf("merged feed = %+v", b)
	}
	// A merged mapping is checked like any other.
	_, err = Parse("t.yaml", []byte("feeds:\n  - &a {name: a, format: cowrie, colour: red}\n  - <<: *a\n    name: b\n"))
	checkErrors(t, err, "t.yaml", []wantErr{{2, "feeds[0].colour", "unknown key"}, {2, "feeds[1].colour", "unknown key"}})
}

// TestAliasBomb: merge keys that expand exponentially stop at a budget
// instead of running out of memory.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("feeds:\n  - &a0 {name: x, format: cowrie}\n")
	for i := 1; i <= 12; i++ {
		b.WriteString("  - &a" + strconv.Itoa(i) + "\n    <<: [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "expands (through aliases) to more than") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestEnvOverride(t *testing.T) {
	const pg = "postgres://tocsin:s3cret@127.0.0.1:5432/test"
	t.Setenv(EnvDatabase, pg)
	c, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Reveal() != pg {
		t.Errorf("database = %q, want the environment's", c.Database.Reveal())
	}
	if db := c.DB("/data"); db.Driver != "postgres" || db.DSN.Reveal() != pg {
		t.Errorf("DB = %+v", db)
	}
	// No file: the defaults, overridden too.
	c, err = Load("")
	if err != nil || c.Database.Reveal() != pg {
		t.Errorf("Load(\"\") = %v, %v", c, err)
	}
	// A relative path in the environment stays relative to the working
	// directory, unlike one in the file.
	t.Setenv(EnvDatabase, "rel/t.db")
	c, err = Load(example)
	if err != nil || c.Database.Reveal() != "rel/t.db" {
		t.Errorf("relative TOCSIN_DATABASE: %v, %v", c, err)
	}
	// Set but empty: no override.
	t.Setenv(EnvDatabase, "")
	c, err = Load(example)
	if err != nil || c.Database.Reveal() != "sqlite" {
		t.Errorf("empty TOCSIN_DATABASE: %v, %v", c, err)
	}
	// A bad value is an error that names the variable, not the value.
	t.Setenv(EnvDatabase, "mysql://root:topsecret@db/tocsin")
	_, err = Load(example)
	if err == nil || !strings.Contains(err.Error(), EnvDatabase) || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("bad TOCSIN_DATABASE: %v", err)
	}
	// An injected environment.
	c, err = LoadEnv(example, func(k string) (string, bool) { return map[string]string{EnvDatabase: "/srv/x.db"}[k], true })
	if err != nil || c.Database.Reveal() != "/srv/x.db" {
		t.Errorf("LoadEnv: %v, %v", c, err)
	}
	// ApplyEnv with an injected environment.
	c = Default()
	if err := c.ApplyEnv(func(k string) (string, bool) { return map[string]string{EnvDatabase: "/srv/t.db"}[k], true }); err != nil || c.Database.Reveal() != "/srv/t.db" {
		t.Errorf("ApplyEnv: %v, %q", err, c.Database.Reveal())
	}
}

func TestSecretNotInErrors(t *testing.T) {
	for _, db := range []string{
		"mysql://root:hunter2@db/tocsin",
		"postgres://root:hunter2@db/tocsin%zz",
		"postgres://root:hunter2@db/tocsin?a=%zz",
		"postgres://root:hunter2@[::1/tocsin",
	} {
		_, err := Parse("t.yaml", []byte("database: '"+db+"'\n"))
		if err == nil {
			t.Errorf("database %q accepted", db)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	// A type error on a secret does not quote it either.
	_, err := Parse("t.yaml", []byte("database: [hunter2]\n"))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	t.Setenv(EnvDatabase, "")
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := Load(write("a.yaml", "data_dir: data\ndatabase: db/t.db\nshadowserver: {schema_file: s.json}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != filepath.Join(dir, "data") || c.Database.Reveal() != filepath.Join(dir, "db/t.db") || c.Shadowserver.SchemaFile != filepath.Join(dir, "s.json") {
		t.Errorf("paths not relative to the file: %+v", c)
	}
	if db := c.DB("x"); db.Driver != "sqlite" || db.DSN.Reveal() != filepath.Join(dir, "db/t.db") {
		t.Errorf("DB = %+v", db)
	}
	c, err = Load(write("b.yaml", "data_dir: /abs\ndatabase: sqlite\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/abs" || c.Database.Reveal() != "sqlite" {
		t.Errorf("got %+v", c)
	}
	if db := c.DB("/abs"); db.Driver != "sqlite" || db.DSN.Reveal() != filepath.Join("/abs", SQLiteFile) {
		t.Errorf("DB = %+v", db)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
	_, err = Load(write("bad.yaml", "log: {level: loud}\n"))
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "bad.yaml")+":1: log.level: ") {
		t.Errorf("error does not start with FILE:LINE: key: %v", err)
	}
}

func TestResolveDataDir(t *testing.T) {
	withDir := Default()
	withDir.DataDir = "/from/config"
	tests := []struct {
		flag, env string
		c         *Config
		want      string
	}{
		{"/flag", "/env", withDir, "/flag"},
		{"", "/env", withDir, "/env"},
		{"", "", withDir, "/from/config"},
		{"", "", Default(), DefaultDataDir},
		{"", "", nil, DefaultDataDir},
		{"/flag", "", nil, "/flag"},
	}
	for _, tt := range tests {
		t.Setenv(EnvDataDir, tt.env)
		if got := ResolveDataDir(tt.flag, tt.c); got != tt.want {
			t.Errorf("ResolveDataDir(%q) with TOCSIN_DATA_DIR=%q = %q, want %q", tt.flag, tt.env, got, tt.want)
		}
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1m", time.Minute, true},
		{"24h", 24 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"0", 0, true},
		{"3600", 0, false},
		{"d", 0, false},
		{"1dd", 0, false},
		{"-1d", 0, false},
		{"1d-1h", 0, false},
		{"99999999d", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// selfReader reads itself from YAML, as a type in another package may.
type selfReader struct{ v string }

func (s *selfReader) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "bad" {
		return &yaml.TypeError{Errors: []string{"bad value"}}
	}
	s.v = n.Value
	return nil
}

func TestUnmarshaler(t *testing.T) {
	var x struct {
		A selfReader `yaml:"a"`
		B selfReader `yaml:"b"`
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: ok\nb: bad\n"), &doc); err != nil {
		t.Fatal(err)
	}
	d := &decoder{file: "t.yaml", line: map[string]int{}, budget: maxNodes}
	d.decode(doc.Content[0], reflect.ValueOf(&x).Elem(), "")
	if x.A.v != "ok" || len(d.errs) != 1 || d.errs[0].Line != 2 || d.errs[0].Key != "b" {
		t.Errorf("got %+v, errors %v", x, d.errs)
	}
}

func TestKeyPaths(t *testing.T) {
	for _, tt := range []struct{ path, parent string }{
		{"feeds[2].csv.columns.ip", "feeds[2].csv.columns"},
		{`feeds[2].csv.columns["Source IP"]`, "feeds[2].csv.columns"},
		{`feeds[2].csv.columns["a[\"b"]`, "feeds[2].csv.columns"},
		{"feeds[2]", "feeds"},
		{"feeds", ""},
	} {
		if got := parentKey(tt.path); got != tt.parent {
			t.Errorf("parentKey(%s) = %q, want %q", tt.path, got, tt.parent)
		}
	}
	if got := join("feeds[0].constant", "source.ip"); got != "feeds[0].constant.source.ip" {
		t.Errorf("join = %s", got)
	}
	if got := join("c", "a b"); got != `c["a b"]` {
		t.Errorf("join = %s", got)
	}
}

func TestNotifyErrors(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"notify:\n  sender:\n    email: not an address\n", "t.yaml:3: notify.sender.email"},
		{"notify:\n  routes:\n    - match:\n        type: infected-sytem\n", "notify.routes[0].match.type[0]: \"infected-sytem\" is not a classification type"},
		{"notify:\n  routes:\n    - name: a\n    - name: a\n", "notify.routes[1].name: \"a\" is also the name of notify.routes[0]"},
		{"notify:\n  routes:\n    - digest: daily@25:00\n", "notify.routes[0].digest"},
		{"notify:\n  routes:\n    - format: pdf\n", "notify.routes[0].format: \"pdf\""},
		{"notify:\n  routes:\n    - routes:\n        - format: xml\n", "notify.routes[0].routes[0].format"},
		{"notify:\n  mutes:\n    - until: next year\n", "notify.mutes[0].until: \"next year\" is not a time"},
		{"notify:\n  mutes:\n    - from: 2027-01-02\n      until: 2027-01-01\n", "notify.mutes[0].until: is not after"},
		{"notify:\n  mutes:\n    - match:\n        asn: ASX\n", "notify.mutes[0].match.asn[0]"},
		{"notify:\n  mutes:\n    - match:\n        network: 10.0.0.0/33\n", "notify.mutes[0].match.network[0]"},
		{"notify:\n  time_zone: Mars/Olympus\n", "notify.time_zone"},
		{"notify:\n  ident_prefix: tocsin-x\n", "notify.ident_prefix"},
		{"notify:\n  smtp:\n    tls: startls\n", `did you mean "starttls"`},
		{"notify:\n  routes:\n    - match:\n        type: {a: b}\n", "notify.routes[0].match.type"},
	} {
		_, err := Parse("t.yaml", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tt.src, err, tt.want)
		}
	}
	c, err := Parse("t.yaml", []byte("notify:\n  routes:\n    - match: {type: infected-system}\n      routes:\n        - match: {sector: energy}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Notify.Routes[0]; r.Name != "route-1" || r.Routes[0].Name != "route-2" || r.Match.Type[0] != "infected-system" {
		t.Errorf("routes = %+v", c.Notify.Routes)
	}
}
