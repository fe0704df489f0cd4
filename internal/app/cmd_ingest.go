package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tocsin/tocsin/internal/ingest"
)

func cmdIngest(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "ingest", "FILE... (- for standard input)",
		"Reads threat-data files (plain, gzip, bzip2 or zip) into normalised events.\n"+
			"A report already stored is skipped; a row that cannot be parsed goes to the quarantine.\n"+
			"Exit status: 0 when the input was read (even with quarantined rows), 1 when a file could not be read, 2 on bad usage.")
	feedName := fs.String("feed", "", "feed `name` (built-in or from the config); default: detected from the file name (Shadowserver reports)")
	report := fs.String("report", "", "report `type`, e.g. Shadowserver's scan_ssl; default: from the file name")
	asJSON := fs.Bool("json", false, `print one JSON object: {"reports": N, "events": N, "duplicates": N, "quarantined": N}`)
	files, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(files) == 0 {
		fmt.Fprintln(env.Stderr, "tocsin ingest: name at least one FILE (or - for standard input)")
		fs.Usage()
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin ingest: %v\n", err)
		return exitFail
	}
	defer a.Close()
	in, err := a.Ingester()
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin ingest: %v\n", err)
		return exitFail
	}
	if env.IsTerminal != nil && env.IsTerminal(env.Stderr) {
		in.Progress = newProgressBar(env.Stderr)
	}
	for i, f := range files {
		if f != "-" {
			continue
		}
		spooled, err := spoolStdin(env.Stdin, a.DataDir)
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin ingest: standard input: %v\n", err)
			return exitFail
		}
		defer os.Remove(spooled)
		files[i] = spooled
	}
	res, err := in.Files(ctx, files, ingest.Options{Feed: *feedName, Report: *report})
	if *asJSON {
		out := struct {
			Reports     int64 `json:"reports"`
			Events      int64 `json:"events"`
			Duplicates  int64 `json:"duplicates"`
			Quarantined int64 `json:"quarantined"`
			Known       int64 `json:"known_reports"`
		}{res.Reports, res.Events, res.Duplicates, res.Quarantined, res.Known}
		json.NewEncoder(env.Stdout).Encode(out)
	} else {
		fmt.Fprintf(env.Stdout, "%d reports (%d already stored), %d new events, %d duplicates, %d quarantined\n",
			res.Reports, res.Known, res.Events, res.Duplicates, res.Quarantined)
		if res.Quarantined > 0 {
			fmt.Fprintln(env.Stdout, "See the quarantined rows with: tocsin quarantine list")
		}
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin ingest: %v\n", err)
		return exitFail
	}
	return exitOK
}

// spoolStdin copies standard input to a file in the data directory, so that
// it can be hashed and read like any other file.
func spoolStdin(r io.Reader, dataDir string) (string, error) {
	dir := filepath.Join(dataDir, "tmp")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "stdin-*")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
