package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tocsin/tocsin/internal/parse/shadowserver"
)

func cmdBench(ctx context.Context, env *Env, args []string) int {
	if len(args) > 0 && args[0] == "notify" {
		return benchNotify(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "ingest" {
		fmt.Fprintln(env.Stderr, "Usage: tocsin bench ingest [--rows N] [--shared DIR] [--postgres URL]\n       tocsin bench notify [--events N] [--orgs N] [--shared DIR] [--mailpit BIN]")
		return exitUsage
	}
	fs, _ := newFlags(env, "bench ingest", "",
		"Builds N Shadowserver rows from the real samples in ../shared/data (every report type, each row a\n"+
			"distinct event), then times 'tocsin ingest' end to end in a child process on a fresh SQLite store\n"+
			"and, when reachable, PostgreSQL: a first ingest (all new events) and an ingest of the same rows\n"+
			"in other files (all duplicates). Prints events/s and the child's peak RSS.")
	rows := fs.Int("rows", 1_000_000, "how many rows to build")
	shared := fs.String("shared", "../shared/data", "the shared data `directory`")
	pgURL := fs.String("postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL `URL` to measure too; empty to skip")
	keep := fs.Bool("keep", false, "keep the work directory")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return usageError(env, fs, err)
	}
	samples := filepath.Join(*shared, "feeds", "intelmq", "parsers@d624988", "shadowserver", "testdata")
	if _, err := os.Stat(samples); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin bench: the Shadowserver samples are not at %s (--shared names the shared data directory): %v\n", samples, err)
		return exitFail
	}
	work, err := os.MkdirTemp("", "tocsin-bench-")
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin bench: %v\n", err)
		return exitFail
	}
	if !*keep {
		defer os.RemoveAll(work)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin bench: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stderr, "building %d rows from %s ...\n", *rows, samples)
	first, n, err := buildBenchInput(samples, filepath.Join(work, "in"), *rows, false)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin bench: %v\n", err)
		return exitFail
	}
	again, _, err := buildBenchInput(samples, filepath.Join(work, "again"), *rows, true)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin bench: %v\n", err)
		return exitFail
	}
	var size int64
	for _, f := range first {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	fmt.Fprintf(env.Stdout, "tocsin bench ingest — %s, %s/%s, %d CPUs, Go %s\n", time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(env.Stdout, "input: %d Shadowserver rows in %d files (%d report types), %.0f MB\n\n", n, len(first), len(first), float64(size)/1e6)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\trun\tevents\tduplicates\tquarantined\tseconds\tevents/s\tpeak RSS MB\t")
	type target struct{ name, db string }
	targets := []target{{"sqlite", ""}}
	if *pgURL != "" {
		schema := fmt.Sprintf("tocsin_bench_%d", rand.Uint32())
		u, err := pgSchemaURL(ctx, *pgURL, schema)
		if err != nil {
			fmt.Fprintf(env.Stderr, "PostgreSQL not measured: %v\n", err)
		} else {
			defer pgDropSchema(*pgURL, schema)
			targets = append(targets, target{"postgres", u})
		}
	}
	cfg := filepath.Join(work, "bench.yaml")
	if err := os.WriteFile(cfg, []byte("log:\n  level: warn\n"), 0o640); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin bench: %v\n", err)
		return exitFail
	}
	failed := false
	for _, t := range targets {
		dataDir := filepath.Join(work, "data-"+t.name)
		for _, run := range []struct {
			name  string
			files []string
		}{{"new", first}, {"duplicates", again}} {
			args := []string{"ingest", "--json", "--feed", "shadowserver", "--config", cfg, "--data-dir", dataDir}
			if t.db != "" {
				args = append(args, "--db", t.db)
			}
			res, secs, rss, err := runChild(ctx, self, append(args, run.files...))
			if err != nil {
				fmt.Fprintf(env.Stderr, "tocsin bench: %s %s: %v\n", t.name, run.name, err)
				failed = true
				continue
			}
			total := res.Events + res.Duplicates
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.2f\t%.0f\t%.0f\t\n", t.name, run.name, res.Events, res.Duplicates, res.Quarantined, secs, float64(total)/secs, float64(rss)/1024)
		}
	}
	// The same ingest with enrichment: the whole ip-location-db AS table
	// and the country database imported first.
	ipdb := filepath.Join(*shared, "ipdb")
	asnFiles := []string{filepath.Join(ipdb, "ip-location-db-asn", "asn-ipv4.csv"), filepath.Join(ipdb, "ip-location-db-asn", "asn-ipv6.csv")}
	mmdb := filepath.Join(ipdb, "ip-location-db-geo-whois-asn-country-mmdb", "geo-whois-asn-country.mmdb")
	if _, err := os.Stat(mmdb); err == nil {
		dataDir := filepath.Join(work, "data-enriched")
		_, err1 := exec.CommandContext(ctx, self, append([]string{"data", "import", "asn", "--data-dir", dataDir}, asnFiles...)...).Output()
		_, err2 := exec.CommandContext(ctx, self, "data", "import", "geo", "--data-dir", dataDir, mmdb).Output()
		if err := errors.Join(err1, err2); err != nil {
			fmt.Fprintf(env.Stderr, "tocsin bench: import enrichment data: %v\n", err)
			failed = true
		} else {
			args := []string{"ingest", "--json", "--feed", "shadowserver", "--config", cfg, "--data-dir", dataDir}
			res, secs, rss, err := runChild(ctx, self, append(args, first...))
			if err != nil {
				fmt.Fprintf(env.Stderr, "tocsin bench: sqlite enriched: %v\n", err)
				failed = true
			} else {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.2f\t%.0f\t%.0f\t\n", "sqlite", "new, enriched", res.Events, res.Duplicates, res.Quarantined, secs, float64(res.Events+res.Duplicates)/secs, float64(rss)/1024)
			}
		}
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout, "\nevents/s counts every row stored (new events + duplicates) over the wall time of the whole 'tocsin ingest' process.")
	fmt.Fprintln(env.Stdout, "\"new, enriched\": the first run again on a fresh store with the ip-location-db AS table and country database imported.")
	if failed {
		return exitFail
	}
	return exitOK
}

type ingestResult struct {
	Reports     int64 `json:"reports"`
	Events      int64 `json:"events"`
	Duplicates  int64 `json:"duplicates"`
	Quarantined int64 `json:"quarantined"`
}

// runChild runs tocsin in a child process and returns its JSON result, the
// wall time and the child's peak RSS in KiB.
func runChild(ctx context.Context, self string, args []string) (ingestResult, float64, int64, error) {
	var res ingestResult
	cmd := exec.CommandContext(ctx, self, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "TOCSIN_CONFIG=")
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
		return res, 0, 0, fmt.Errorf("%v: %s", err, lastLines(errb.String(), 5))
	}
	if err != nil {
		// Some files failed, the rest were ingested: say so, keep the figure.
		fmt.Fprintf(os.Stderr, "warning: %v: %s\n", err, lastLines(errb.String(), 5))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return res, secs, rss, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// buildBenchInput writes about total rows, spread evenly over every sample
// report type, into dir, one file per type named the way Shadowserver names
// reports. Each row is a real sample row with its address replaced by a
// fresh one, so every row is a distinct event. With reverse, the same rows
// are written in the opposite order: other files, the same events.
func buildBenchInput(samples, dir string, total int, reverse bool) ([]string, int, error) {
	paths, err := filepath.Glob(filepath.Join(samples, "*.csv"))
	if err != nil || len(paths) == 0 {
		return nil, 0, fmt.Errorf("no samples in %s", samples)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, 0, err
	}
	type sample struct {
		typ    string
		header []string
		rows   [][]string
		ipCol  int
	}
	var ss []sample
	for _, p := range paths {
		typ := shadowserver.ReportType(filepath.Base(p))
		if typ == "" || shadowserver.Embedded().Report(typ) == nil {
			continue // phish_url: a report type Shadowserver has retired
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, 0, err
		}
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		f.Close()
		if err != nil || len(recs) < 2 {
			continue
		}
		ipCol := slices.Index(recs[0], "ip")
		if ipCol < 0 {
			ipCol = slices.Index(recs[0], "src_ip")
		}
		if ipCol < 0 {
			continue
		}
		ss = append(ss, sample{typ: typ, header: recs[0], rows: recs[1:], ipCol: ipCol})
	}
	per := total / len(ss)
	var out []string
	n := 0
	// Addresses spread over the whole IPv4 space (an odd multiplier is a
	// bijection mod 2^32), so that enrichment finds real routed ranges.
	var seq uint32
	for i, s := range ss {
		count := per
		if i == len(ss)-1 {
			count = total - per*(len(ss)-1)
		}
		name := filepath.Join(dir, fmt.Sprintf("2026-11-24-%s-tocsin-bench%s.csv", s.typ, map[bool]string{true: "-again", false: ""}[reverse]))
		f, err := os.Create(name)
		if err != nil {
			return nil, 0, err
		}
		w := csv.NewWriter(f)
		w.Write(s.header)
		rows := make([][]string, 0, count)
		for j := range count {
			row := slices.Clone(s.rows[j%len(s.rows)])
			seq++
			v := seq * 2654435761
			row[s.ipCol] = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
			rows = append(rows, row)
		}
		if reverse {
			slices.Reverse(rows)
		}
		w.WriteAll(rows)
		if err := w.Error(); err != nil {
			f.Close()
			return nil, 0, err
		}
		if err := f.Close(); err != nil {
			return nil, 0, err
		}
		n += count
		out = append(out, name)
	}
	return out, n, nil
}

// pgSchemaURL creates a fresh schema and returns a URL whose connections use
// it.
func pgSchemaURL(ctx context.Context, url, schema string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema, nil
}

func pgDropSchema(url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}
