// Package config reads tocsin's one YAML configuration file.
//
// Parsing is strict: every key anywhere in the file must be known, every
// value must have the right type, and the whole file is then validated
// (feed names, formats, classifications, CSV column mappings, field names,
// durations, TLP levels ...). All problems are reported at once, joined with
// errors.Join, one per line in the form
//
//	FILE:LINE: key: message
//
// where key is the path of the offending key, such as
// feeds[2].csv.columns.ip. Each problem is an *Error, for errors.As.
// Values of type Secret (the database URL may hold a password) never appear
// in an error message, a log line or JSON output.
//
// The annotated example file testdata/example.yaml documents every key and
// is loaded by the tests, so it stays valid.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/feed"
)

// Config is the whole configuration file. The zero Config is not valid; start
// from Default, which is also what Parse fills in before reading a file: a
// key that is absent (or null) keeps its default.
type Config struct {
	// DataDir is where tocsin keeps its SQLite database, raw reports and
	// downloaded reference data. Empty: see ResolveDataDir. A relative path
	// in a file read by Load is relative to the directory of that file.
	DataDir string `yaml:"data_dir" json:"data_dir"`

	// Database is the store: "sqlite" (the default: the file SQLiteFile
	// in the data directory), a path to a SQLite file (relative paths as for
	// data_dir), or a PostgreSQL URL "postgres://user:password@host/db".
	// It may hold a password, hence a Secret; the environment variable
	// TOCSIN_DATABASE, when set and not empty, replaces it.
	Database Secret `yaml:"database" json:"database"`

	// Log configures the process's log output.
	Log Log `yaml:"log" json:"log"`

	// Ingest configures reading reports into events.
	Ingest Ingest `yaml:"ingest" json:"ingest"`

	// ConfiguredFeeds are the feeds the file defines (YAML key "feeds"):
	// new ones, or replacements of a built-in feed of the same name. See
	// feed.Feed for the keys of one feed, and Feeds for the resulting set.
	ConfiguredFeeds []feed.Feed `yaml:"feeds" json:"feeds"`

	// Shadowserver configures the Shadowserver report parser.
	Shadowserver Shadowserver `yaml:"shadowserver" json:"shadowserver"`

	// Enrichment says where `tocsin data update` downloads the reference
	// data that `tocsin data import` otherwise reads from files.
	Enrichment Enrichment `yaml:"enrichment" json:"enrichment"`

	// Notify configures the notifier (tocsin notify).
	Notify Notify `yaml:"notify" json:"notify"`

	// Proof configures the ownership proofs of self-registered assets.
	Proof Proof `yaml:"proof" json:"proof"`

	// file is the name the config was parsed under, for error messages.
	file string
	// line maps the path of each key present in the file to its line.
	line map[string]int
}

// Log configures logging.
type Log struct {
	// Level is the least severe level written: debug, info (default), warn
	// or error.
	Level string `yaml:"level" json:"level"`
	// Format is text (default; key=value lines) or json (one JSON object
	// per line).
	Format string `yaml:"format" json:"format"`
}

// Ingest configures ingestion.
type Ingest struct {
	// StoreRaw keeps every raw report as it was received, in the data
	// directory's raw/ folder, named by the SHA-256 of its content; each
	// event knows its report and line. Default true; false saves the space
	// but loses the evidence behind the events.
	StoreRaw bool `yaml:"store_raw" json:"store_raw"`
	// BatchSize is how many events the parser hands to the store at once,
	// 1 to 1,000,000. Small batches keep both CPU cores busy on small
	// reports; the store gathers them into larger writes. Default 256.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
}

// Shadowserver configures the Shadowserver parser, which is driven by
// Shadowserver's own machine-readable schema of its report types.
type Shadowserver struct {
	// SchemaURL is where `tocsin data update` downloads the report schema;
	// an http or https URL. The default is the URL IntelMQ's Shadowserver
	// parser uses.
	SchemaURL string `yaml:"schema_url" json:"schema_url"`
	// SchemaFile, when set, is a local copy of the schema to use instead of
	// the one kept in the data directory (for air-gapped systems). Relative
	// paths as for data_dir.
	SchemaFile string `yaml:"schema_file" json:"schema_file"`
}

// Enrichment lists the download locations of the reference data. Every key
// is optional: what is not set is not downloaded.
type Enrichment struct {
	// ASNURLs are IP-to-ASN tables (ip-location-db CSV, RouteViews pyasn
	// .dat[.gz], iptoasn TSV), merged into one table, the first most trusted.
	ASNURLs []string `yaml:"asn_urls" json:"asn_urls"`
	// GeoURL is a MaxMind-format country database (.mmdb).
	GeoURL string `yaml:"geo_url" json:"geo_url"`
	// PSLURL is the Public Suffix List (public_suffix_list.dat).
	PSLURL string `yaml:"psl_url" json:"psl_url"`
}

// Proof configures ownership proofs: DNS TXT challenges for domains and
// links mailed to the RIPE abuse-c for networks and AS numbers.
type Proof struct {
	// BaseURL is where tocsin's web server answers; confirmation links
	// are BaseURL/confirm/TOKEN. Required to send them.
	BaseURL string `yaml:"base_url" json:"base_url"`
	// Resolver is the DNS server the TXT challenges are looked up at,
	// host:port; default the system's resolver.
	Resolver string `yaml:"resolver" json:"resolver"`
	// LinkValidity is how long a confirmation link works. Default 7d.
	LinkValidity time.Duration `yaml:"link_validity" json:"link_validity"`
}

// Defaults.
const (
	// DefaultDataDir is the data directory when neither the --data-dir
	// flag, TOCSIN_DATA_DIR nor data_dir names one.
	DefaultDataDir = "./tocsin-data"
	// DefaultSchemaURL is Shadowserver's IntelMQ report schema, the URL
	// IntelMQ's parser (intelmq/bots/parsers/shadowserver/_config.py)
	// downloads it from.
	DefaultSchemaURL = "https://interchange.shadowserver.org/intelmq/v1/schema"
	// DefaultBatchSize is Ingest.BatchSize's default.
	DefaultBatchSize = 256
	// SQLiteFile is the database file in the data directory when
	// database is "sqlite".
	SQLiteFile = "tocsin.db"
)

// Environment variables read by Load and ResolveDataDir.
const (
	EnvDatabase = "TOCSIN_DATABASE"
	EnvDataDir  = "TOCSIN_DATA_DIR"
)

// Default returns the configuration used when there is no file, and the base
// every file is read onto.
func Default() *Config {
	return &Config{
		Database:     "sqlite",
		Log:          Log{Level: "info", Format: "text"},
		Ingest:       Ingest{StoreRaw: true, BatchSize: DefaultBatchSize},
		Shadowserver: Shadowserver{SchemaURL: DefaultSchemaURL},
		Notify:       defaultNotify(),
		Proof:        Proof{LinkValidity: 7 * 24 * time.Hour},
	}
}

// maxFileSize bounds a config file; a larger one is surely a mistake.
const maxFileSize = 16 << 20

// Load reads, parses and validates the file at path, applies the environment
// overrides (TOCSIN_DATABASE) and makes relative paths in it (data_dir,
// a SQLite database path, shadowserver.schema_file) relative to the file's
// directory. An empty path means no file: Load returns Default with the
// environment overrides applied. On error the Config is nil.
func Load(path string) (*Config, error) { return LoadEnv(path, os.LookupEnv) }

// LoadEnv is Load with the environment read through lookup, for a caller
// (or test) that injects its environment.
func LoadEnv(path string, lookup func(string) (string, bool)) (*Config, error) {
	if path == "" {
		c := Default()
		if err := c.ApplyEnv(lookup); err != nil {
			return nil, err
		}
		return c, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("read config %s: is a directory, not a YAML file", path)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("read config %s: %d bytes, more than %d; is this the right file?", path, fi.Size(), maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	// Paths in the file are relative to it; those in the environment to
	// the working directory, as usual.
	c.resolvePaths(filepath.Dir(path))
	if err := c.ApplyEnv(lookup); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse reads a config file's contents, named name in error messages, onto
// Default and validates the result. It reads no environment variable and
// touches no file; Load does both. On error the Config is nil and the error
// joins every problem found.
func Parse(name string, data []byte) (*Config, error) {
	c := Default()
	c.file = name
	c.line = map[string]int{}
	d := &decoder{file: name, line: c.line, budget: maxNodes}
	if !d.decodeFile(data, c) {
		return nil, joinErrors(d.errs)
	}
	c.normalize()
	v := &validator{c: c}
	v.validate()
	if len(d.errs) == 0 && len(v.errs) == 0 {
		return c, nil
	}
	// Report the problems of decoding and of validation together, but not
	// a validation problem of a key whose value could not be read.
	errs := d.errs
	for _, e := range v.errs {
		if !slices.ContainsFunc(d.bad, func(bad string) bool { return within(e.Key, bad) }) {
			errs = append(errs, e)
		}
	}
	return nil, joinErrors(errs)
}

// within reports whether the key path is key or a member of it.
func within(path, key string) bool {
	rest, ok := strings.CutPrefix(path, key)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// ApplyEnv applies the environment overrides of secrets, looking variables
// up with lookup (os.LookupEnv in Load): TOCSIN_DATABASE replaces database.
// A variable that is set but empty overrides nothing. The new values are
// validated; the error names the variable, never its value.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	var errs []*Error
	if v, ok := lookup(EnvDatabase); ok && v != "" {
		if msg := checkDatabase(v); msg != "" {
			errs = append(errs, &Error{File: "environment", Key: EnvDatabase, Msg: msg})
		} else {
			c.Database = Secret(v)
		}
	}
	if v, ok := lookup(EnvSMTPPassword); ok && v != "" {
		c.Notify.SMTP.Password = Secret(v)
	}
	if v, ok := lookup(EnvIMAPPassword); ok && v != "" {
		c.Notify.IMAP.Password = Secret(v)
	}
	if v, ok := lookup(EnvSigningPassphase); ok && v != "" {
		c.Notify.SigningKeyPassphrase = Secret(v)
	}
	return joinErrors(errs)
}

// resolvePaths makes the relative paths of c relative to dir.
func (c *Config) resolvePaths(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.DataDir = abs(c.DataDir)
	c.Shadowserver.SchemaFile = abs(c.Shadowserver.SchemaFile)
	c.Notify.SigningKey = abs(c.Notify.SigningKey)
	c.Notify.Templates = abs(c.Notify.Templates)
	c.Notify.Outbox = abs(c.Notify.Outbox)
	c.Notify.SMTP.CAFile = abs(c.Notify.SMTP.CAFile)
	if db := c.Database.Reveal(); db != "sqlite" && !strings.Contains(db, "://") && !strings.HasPrefix(db, "file:") {
		c.Database = Secret(abs(db))
	}
}

// Feeds returns the built-in feeds overridden and extended by the
// configured ones.
func (c *Config) Feeds() *feed.Set { return feed.NewSet(c.ConfiguredFeeds) }

// ResolveDataDir returns the data directory: the --data-dir flag's value
// when not empty, else $TOCSIN_DATA_DIR when not empty, else the config's
// data_dir when c is not nil and it is set, else DefaultDataDir.
func ResolveDataDir(flag string, c *Config) string {
	if flag != "" {
		return flag
	}
	if v := os.Getenv(EnvDataDir); v != "" {
		return v
	}
	if c != nil && c.DataDir != "" {
		return c.DataDir
	}
	return DefaultDataDir
}

// DB names the store to open.
type DB struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// DSN is the SQLite file path or the PostgreSQL URL.
	DSN Secret
}

// DB returns the store the config names; dataDir is the resolved data
// directory (see ResolveDataDir), where database "sqlite" lives.
func (c *Config) DB(dataDir string) DB {
	db := c.Database.Reveal()
	switch {
	case db == "" || db == "sqlite":
		return DB{Driver: "sqlite", DSN: Secret(filepath.Join(dataDir, SQLiteFile))}
	case isPostgresURL(db):
		return DB{Driver: "postgres", DSN: c.Database}
	}
	return DB{Driver: "sqlite", DSN: c.Database}
}

func isPostgresURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && isPostgresScheme(scheme)
}

// SlogLevel returns the configured level for log/slog.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// File returns the name c was parsed under, "" for a Config not read from
// a file.
func (c *Config) File() string { return c.file }
