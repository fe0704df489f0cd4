package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich/securitytxt"
	"github.com/tocsin/tocsin/internal/store"
)

// RefreshSecurityTxt is 'tocsin constituents refresh-security-txt
// [DOMAIN...]': it fetches the security.txt (RFC 9116) of every confirmed
// domain asset of the registry (or of the domains given) whose entry in
// the cache (DATA_DIR/cache/security-txt.json) is missing or stale, and
// saves the cache. Ingest and lookup read the cache and never fetch.
func RefreshSecurityTxt(ctx context.Context, env *Env, args []string) int {
	const name = "constituents refresh-security-txt"
	fs, g := newFlags(env, name, "[DOMAIN...]",
		"Fetches https://DOMAIN/.well-known/security.txt (RFC 9116) for every domain asset of the\n"+
			"constituency (or the domains given) not fetched yet or whose entry is stale, and keeps the\n"+
			"result in DATA_DIR/cache/security-txt.json. A usable file is kept until its Expires (at most a\n"+
			"year); none found, for a day. Events then get its first contact when their owner has no\n"+
			"registered or RIPE contact.")
	all := fs.Bool("all", false, "fetch every domain again, fresh or not")
	concurrency := fs.Int("concurrency", 8, "fetches at a time")
	timeout := fs.Duration("timeout", securitytxt.DefaultTimeout, "time limit of one domain's fetch, redirects included")
	verbose := fs.Bool("v", false, "print each domain fetched: DOMAIN, then its contacts or why it has none")
	domains, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if *concurrency < 1 || *timeout <= 0 {
		fmt.Fprintf(env.Stderr, "tocsin %s: --concurrency and --timeout must be positive\n", name)
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin %s: %v\n", name, err)
		return exitFail
	}
	defer a.Close()
	if len(domains) == 0 {
		if domains, err = a.domainAssets(ctx); err != nil {
			fmt.Fprintf(env.Stderr, "tocsin %s: %v\n", name, err)
			return exitFail
		}
	} else {
		for i, d := range domains {
			n, err := index.NormalizeDomain(d)
			if err != nil {
				fmt.Fprintf(env.Stderr, "tocsin %s: argument %d: %v\n", name, i+1, err)
				return exitUsage
			}
			domains[i] = n
		}
	}
	saved, err := securitytxt.OpenSaved(securityTxtPath(a.DataDir))
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin %s: %v\n", name, err)
		return exitFail
	}
	f := &securitytxt.Fetcher{Client: env.HTTPClient, Timeout: *timeout}
	var done atomic.Int64
	var outMu sync.Mutex // Done runs on the fetching goroutines
	opts := securitytxt.RefreshOptions{Concurrency: *concurrency, All: *all, Done: func(d string, e securitytxt.Entry) {
		if *verbose {
			what := strings.Join(e.Contacts, ",")
			if e.Error != "" {
				what = e.Error
			}
			outMu.Lock()
			fmt.Fprintf(env.Stdout, "%s\t%s\n", d, what)
			outMu.Unlock()
		}
		// A long refresh is saved as it goes: an interruption loses
		// little.
		if done.Add(1)%1000 == 0 {
			if err := saved.Save(); err != nil {
				a.Log.Warn("security.txt cache not saved", "err", err)
			}
		}
	}}
	st, rerr := securitytxt.Refresh(ctx, saved, f.Fetch, domains, opts)
	if err := saved.Save(); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin %s: %v\n", name, err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "security.txt: %d domains, %d fresh, %d fetched (%d with a usable file); saved to %s\n",
		st.Domains, st.Fresh, st.Fetched, st.Usable, saved.Path())
	if rerr != nil {
		fmt.Fprintf(env.Stderr, "tocsin %s: %v\n", name, rerr)
		return exitFail
	}
	return exitOK
}

// domainAssets returns the confirmed domain assets of the registry,
// normalised, each once, sorted.
func (a *App) domainAssets(ctx context.Context) ([]string, error) {
	reg, err := a.registry()
	if err != nil {
		return nil, err
	}
	var out []string
	for x, err := range reg.Assets(ctx, store.AssetFilter{}) {
		if err != nil {
			return nil, err
		}
		if x.Kind != constituency.AssetDomain || !x.Confirmed {
			continue
		}
		if d, err := index.NormalizeDomain(x.Domain); err == nil {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// lookupFetchLimit is how many domains of an owner `lookup --security-txt`
// fetches for one target.
const lookupFetchLimit = 4

// fetchSecurityTxt fills the cache for domains (missing or stale entries
// only), at most lookupFetchLimit of them, and reports failures with logf.
func fetchSecurityTxt(ctx context.Context, saved *securitytxt.Saved, fetch securitytxt.FetchFunc, domains []string, logf func(string, ...any)) {
	for _, d := range domains[:min(len(domains), lookupFetchLimit)] {
		e, fetched, err := saved.Fetch(ctx, fetch, d, time.Now())
		switch {
		case err != nil:
			logf("security.txt of %s: %v", d, err)
		case fetched && e.Error != "":
			logf("security.txt of %s: %s", d, e.Error)
		}
	}
}
