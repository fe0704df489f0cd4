package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/tocsin/tocsin/internal/stats"
)

func cmdReport(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] != "monthly" {
		fmt.Fprint(env.Stderr, reportUsage)
		return exitUsage
	}
	fs, g := newFlags(env, "report monthly", "", "An organisation's month: every infected (botnet) IP with first/last seen and count, every vulnerable service, and what else was seen on its assets. CSV on standard output (or --out), a summary on standard error (or standard output with --out).")
	org := fs.String("org", "", "the organisation `ID` (see tocsin constituents list); required")
	month := fs.String("month", "", "the month, `YYYY-MM`; default the previous month")
	out := fs.String("out", "", "write the CSV to this `file`")
	asJSON := fs.Bool("json", false, "print the rows as JSON lines instead")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "tocsin report monthly: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	if *org == "" {
		fmt.Fprintln(env.Stderr, "tocsin report monthly: --org is required")
		return exitUsage
	}
	m := time.Now().UTC().AddDate(0, -1, 0)
	if *month != "" {
		if m, err = time.Parse("2006-01", *month); err != nil {
			fmt.Fprintf(env.Stderr, "tocsin report monthly: --month %q: write the month as YYYY-MM, e.g. 2026-10\n", *month)
			return exitUsage
		}
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin report monthly: %v\n", err)
		return exitFail
	}
	defer a.Close()
	id := *org
	if reg, err := a.registry(); err == nil {
		if _, err := reg.Org(ctx, id); err != nil {
			if _, err2 := reg.Org(ctx, manualID(id)); err2 == nil {
				id = manualID(id)
			} else {
				fmt.Fprintf(env.Stderr, "tocsin report monthly: no organisation %q (see tocsin constituents list)\n", *org)
				return exitFail
			}
		}
	}
	rep, err := stats.BuildMonthly(ctx, a.Store, id, m)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin report monthly: %v\n", err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, r := range rep.Rows {
			enc.Encode(map[string]any{"kind": r.Kind, "type": r.Type, "ip": r.IP, "port": r.Port, "what": r.What, "feed": r.Feed,
				"first_seen": r.FirstSeen.UTC().Format(time.RFC3339), "last_seen": r.LastSeen.UTC().Format(time.RFC3339), "count": r.Count, "days": r.Days})
		}
		return exitOK
	}
	summary, csvOut := env.Stderr, env.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin report monthly: %v\n", err)
			return exitFail
		}
		defer f.Close()
		summary, csvOut = env.Stdout, f
	}
	if err := rep.WriteCSV(csvOut); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin report monthly: %v\n", err)
		return exitFail
	}
	fmt.Fprint(summary, rep.Summary())
	return exitOK
}

const reportUsage = "usage: tocsin report monthly --org ID [--month YYYY-MM] [--out FILE.csv] [--json]\n"
