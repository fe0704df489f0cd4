package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/store"
)

func cmdQuarantine(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(env.Stderr, "Usage: tocsin quarantine list [--json] [--feed NAME] [--limit N]")
		return exitUsage
	}
	fs, g := newFlags(env, "quarantine list", "", "Lists the rows that could not be parsed, with file, line and reason.")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	feedName := fs.String("feed", "", "only rows of this feed")
	limit := fs.Int("limit", 0, "at most `N` rows (0: all)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "tocsin quarantine list: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin quarantine: %v\n", err)
		return exitFail
	}
	defer a.Close()
	w := bufio.NewWriter(env.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tAT\tFEED\tFILE:LINE\tREASON\tRAW")
	}
	n := 0
	for q, err := range a.Store.Quarantined(ctx, store.QuarantineFilter{Feed: *feedName, Limit: *limit}) {
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin quarantine: %v\n", err)
			return exitFail
		}
		n++
		if *asJSON {
			enc.Encode(map[string]any{
				"id": q.ID, "report_id": q.ReportID, "file": q.File, "feed": q.Feed, "line": q.Line,
				"reason": q.Reason, "raw": string(q.Raw), "at": q.At.Format(time.RFC3339),
			})
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s:%d\t%s\t%s\n", q.ID, q.At.Format(time.DateTime), q.Feed, q.File, q.Line,
			oneLine(q.Reason, 120), oneLine(string(q.Raw), 80))
	}
	if !*asJSON {
		tw.Flush()
		if n == 0 {
			fmt.Fprintln(w, "The quarantine is empty.")
		}
	}
	return exitOK
}

// oneLine makes s printable on one table line of at most max runes.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

func cmdReports(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(env.Stderr, "Usage: tocsin reports list [--json]")
		return exitUsage
	}
	fs, g := newFlags(env, "reports list", "", "Lists the raw reports stored, with what each added.")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return usageError(env, fs, err)
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin reports: %v\n", err)
		return exitFail
	}
	defer a.Close()
	w := bufio.NewWriter(env.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tRECEIVED\tFEED\tNAME\tEVENTS\tDUPLICATES\tQUARANTINED\tSHA256")
	}
	for r, err := range a.Store.Reports(ctx) {
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin reports: %v\n", err)
			return exitFail
		}
		if *asJSON {
			enc.Encode(map[string]any{"id": r.ID, "sha256": r.SHA256, "name": r.Name, "feed": r.Feed, "type": r.Type,
				"size": r.Size, "received_at": r.ReceivedAt.Format(time.RFC3339), "events": r.Totals.Events,
				"duplicates": r.Totals.Duplicates, "quarantined": r.Totals.Quarantined})
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.ReceivedAt.Format(time.DateTime), r.Feed, oneLine(r.Name, 60),
			r.Totals.Events, r.Totals.Duplicates, r.Totals.Quarantined, r.SHA256[:16])
	}
	if !*asJSON {
		tw.Flush()
	}
	return exitOK
}

func cmdCheckConfig(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "check-config", "[FILE]", "Checks the configuration file strictly (unknown keys are errors naming file, line and key)\nand prints the effective settings, secrets redacted.")
	asJSON := fs.Bool("json", false, "print the effective settings as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 1 {
		fmt.Fprintln(env.Stderr, "tocsin check-config: name one FILE at most")
		return exitUsage
	}
	if len(pos) == 1 {
		g.config = pos[0]
	}
	c, err := loadConfig(env, g)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitFail
	}
	dataDir := config.ResolveDataDir(g.dataDir, c)
	db := c.DB(dataDir)
	if g.db != "" {
		c.Database = config.Secret(g.db)
		db = c.DB(dataDir)
	}
	feeds := c.Feeds()
	if *asJSON {
		json.NewEncoder(env.Stdout).Encode(map[string]any{
			"file": c.File(), "data_dir": dataDir, "store": db.Driver, "database": db.DSN, "feeds": feeds.Names(),
		})
		return exitOK
	}
	file := c.File()
	if file == "" {
		file = "(none: defaults)"
	}
	fmt.Fprintf(env.Stdout, "config:   %s: OK\ndata dir: %s\nstore:    %s %s\nfeeds:    %s\n", file, dataDir, db.Driver, db.DSN, strings.Join(feeds.Names(), ", "))
	return exitOK
}
