// Package app is tocsin's lifecycle and wiring: it reads the configuration,
// opens the store, builds the pipeline from the parsers and runs the
// subcommands. Tests drive it in-process through Main.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// Env is what a run of tocsin sees of the world.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// IsTerminal reports whether w is an interactive terminal (progress
	// bars are drawn only there).
	IsTerminal func(w io.Writer) bool
	// HTTPClient makes outgoing requests (security.txt); nil means the
	// default client. Tests point it at a loopback server.
	HTTPClient *http.Client
}

// OSEnv is the process's real environment.
func OSEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, IsTerminal: isTerminal}
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) int
}

func commands() []command {
	return []command{
		{"ingest", "read threat-data files into events", cmdIngest},
		{"events", "list stored events", cmdEvents},
		{"lookup", "what tocsin knows of an IP, a CIDR, an AS number or a domain", cmdLookup},
		{"constituents", "the constituency: import ripe|FILE, list, show, add, remove, challenge, verify, request-confirmation, confirm, refresh-security-txt", cmdConstituents},
		{"notify", "notify owners of their events (notify run|list|show|keygen)", cmdNotify},
		{"report", "an organisation's monthly report (report monthly --org ID --month YYYY-MM)", cmdReport},
		{"quarantine", "list rows that could not be parsed (quarantine list)", cmdQuarantine},
		{"reports", "list stored raw reports (reports list)", cmdReports},
		{"check-config", "check the configuration file and print the effective settings", cmdCheckConfig},
		{"data", "manage reference data (data update, data import asn|geo FILE)", cmdData},
		{"bench", "measure ingest throughput on real data (bench ingest)", cmdBench},
		{"version", "print the version", cmdVersion},
	}
}

// Version is set at build time with -ldflags "-X ...app.Version=...".
var Version = "dev"

// Main runs tocsin with args (without the program name) and returns the
// exit code: 0 on success, 1 on failure, 2 on bad usage.
func Main(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "tocsin: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tocsin — threat data in, the right notification out.")
	fmt.Fprintln(w, "\nUsage: tocsin COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nFlags every command takes:")
	fmt.Fprintln(w, "  --config FILE    configuration file (else $TOCSIN_CONFIG; none: defaults)")
	fmt.Fprintln(w, "  --data-dir DIR   data directory (else $TOCSIN_DATA_DIR, the config's data_dir, ./tocsin-data)")
	fmt.Fprintln(w, "  --db URL         store: a SQLite file path or postgres://... (else the config's database)")
	fmt.Fprintln(w, "\nRun 'tocsin COMMAND --help' for a command's flags.")
}

// globals are the flags every command takes.
type globals struct {
	config  string
	dataDir string
	db      string
}

func newFlags(env *Env, name, argsHelp, help string) (*flag.FlagSet, *globals) {
	fs := flag.NewFlagSet("tocsin "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	g := &globals{}
	fs.StringVar(&g.config, "config", "", "configuration `file` (else $TOCSIN_CONFIG)")
	fs.StringVar(&g.dataDir, "data-dir", "", "data `directory` (else $TOCSIN_DATA_DIR, the config's data_dir, ./tocsin-data)")
	fs.StringVar(&g.db, "db", "", "store: SQLite file `path` or postgres://... URL (else the config's database)")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: tocsin %s [flags] %s\n\n%s\n\nFlags:\n", name, argsHelp, help)
		fs.PrintDefaults()
	}
	return fs, g
}

// parseFlags parses flags wherever they stand among the arguments
// ("tocsin ingest FILE --json" works) and returns the positional arguments.
// "--" ends the flags; "-" is a positional argument (standard input).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" (consumed) or at the first non-flag.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError prints a usage problem and returns the usage exit code.
func usageError(env *Env, fs *flag.FlagSet, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil && !strings.HasPrefix(err.Error(), "flag provided but not defined") {
		fmt.Fprintf(env.Stderr, "%s: %v\n", fs.Name(), err)
	}
	return exitUsage
}

func cmdVersion(_ context.Context, env *Env, args []string) int {
	fmt.Fprintln(env.Stdout, "tocsin", Version)
	return exitOK
}
