package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/enrich/asn"
	"github.com/tocsin/tocsin/internal/enrich/domain"
	"github.com/tocsin/tocsin/internal/enrich/geo"
	"github.com/tocsin/tocsin/internal/parse/shadowserver"
)

// schemaPath is where 'tocsin data update' keeps Shadowserver's schema.
func schemaPath(dataDir string) string {
	return filepath.Join(dataDir, "shadowserver", "intelmq.json")
}

// maxSchemaSize bounds a downloaded schema (the real one is about 1 MB).
const maxSchemaSize = 64 << 20

func cmdData(ctx context.Context, env *Env, args []string) int {
	if len(args) > 0 && args[0] == "import" {
		return cmdDataImport(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "update" {
		fmt.Fprintln(env.Stderr, "Usage: tocsin data update [--shadowserver-url URL]\n       tocsin data import asn|geo FILE...")
		return exitUsage
	}
	fs, g := newFlags(env, "data update", "",
		"Downloads the newest reference data into the data directory: Shadowserver's report schema\n"+
			"(shadowserver.schema_url) and what the config's enrichment: keys name (asn_urls, geo_url, psl_url).\n"+
			"A download that does not parse leaves the current file in place.")
	url := fs.String("shadowserver-url", "", "download the schema from this `URL` instead of the config's")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return usageError(env, fs, err)
	}
	c, err := loadConfig(env, g)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitFail
	}
	dataDir := config.ResolveDataDir(g.dataDir, c)
	src := c.Shadowserver.SchemaURL
	if *url != "" {
		src = *url
	}
	dst := schemaPath(dataDir)
	n, err := downloadSchema(ctx, src, dst)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin data update: shadowserver schema from %s: %v\n", src, err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "shadowserver schema: %d report types from %s, saved to %s\n", n, src, dst)
	if err := updateEnrichment(ctx, env, c.Enrichment, dataDir); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin data update: %v\n", err)
		return exitFail
	}
	return exitOK
}

// maxDataSize bounds one downloaded reference file.
const maxDataSize = 1 << 30

// updateEnrichment downloads what the enrichment: keys name and imports it
// as 'tocsin data import' would: a download that does not check out leaves
// the current data in place.
func updateEnrichment(ctx context.Context, env *Env, e config.Enrichment, dataDir string) error {
	var errs []error
	if len(e.ASNURLs) > 0 {
		var files []string
		for _, u := range e.ASNURLs {
			f, err := download(ctx, env, u, dataDir)
			if err != nil {
				errs = append(errs, fmt.Errorf("AS table from %s: %w", u, err))
				continue
			}
			defer os.Remove(f)
			files = append(files, f)
		}
		if len(files) == len(e.ASNURLs) {
			if err := importASN(env, files, asnPath(dataDir)); err != nil {
				errs = append(errs, fmt.Errorf("AS table: %w; the current one is kept", err))
			}
		}
	}
	if e.GeoURL != "" {
		if f, err := download(ctx, env, e.GeoURL, dataDir); err != nil {
			errs = append(errs, fmt.Errorf("country database from %s: %w", e.GeoURL, err))
		} else {
			defer os.Remove(f)
			if err := importGeo(env, f, geoPath(dataDir)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if e.PSLURL != "" {
		if f, err := download(ctx, env, e.PSLURL, dataDir); err != nil {
			errs = append(errs, fmt.Errorf("public suffix list from %s: %w", e.PSLURL, err))
		} else {
			defer os.Remove(f)
			if err := importPSL(env, f, pslPath(dataDir)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// download fetches url into a temporary file in the data directory.
func download(ctx context.Context, env *Env, url, dataDir string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "tocsin/"+Version)
	client := env.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	dir := filepath.Join(dataDir, "tmp")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "download-*")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, maxDataSize+1))
	if err == nil && n > maxDataSize {
		err = fmt.Errorf("larger than %d bytes", maxDataSize)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// importPSL checks a Public Suffix List before it replaces the current one.
func importPSL(env *Env, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	l, err := domain.Parse(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("public suffix list: %w; the current one is kept", err)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := writeAtomic(dst, func(w io.Writer) error { _, err := io.Copy(w, in); return err }); err != nil {
		return err
	}
	rules, _ := l.Len()
	fmt.Fprintf(env.Stdout, "public suffix list: %d rules, saved to %s\n", rules, dst)
	return nil
}

// downloadSchema fetches the schema, checks that it parses and then
// replaces dst atomically. It returns the number of report types.
func downloadSchema(ctx context.Context, url, dst string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "tocsin/"+Version)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".schema-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, io.LimitReader(resp.Body, maxSchemaSize)); err != nil {
		tmp.Close()
		return 0, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return 0, err
	}
	s, err := shadowserver.LoadSchema(tmp)
	tmp.Close()
	if err != nil {
		return 0, fmt.Errorf("the download is not a usable schema, kept the current one: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, err
	}
	return len(s.Types()), nil
}

func cmdDataImport(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || (args[0] != "asn" && args[0] != "geo") {
		fmt.Fprintln(env.Stderr, "Usage: tocsin data import asn FILE...   (ip-location-db CSV, RouteViews pyasn .dat[.gz], iptoasn TSV)\n       tocsin data import geo FILE.mmdb (a MaxMind-format country database)")
		return exitUsage
	}
	kind := args[0]
	fs, g := newFlags(env, "data import "+kind, "FILE...", "Imports reference data into the data directory; the next ingest and lookup use it.")
	files, err := parseFlags(fs, args[1:])
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(files) == 0 || (kind == "geo" && len(files) != 1) {
		fs.Usage()
		return exitUsage
	}
	c, err := loadConfig(env, g)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitFail
	}
	dataDir := config.ResolveDataDir(g.dataDir, c)
	if kind == "geo" {
		err = importGeo(env, files[0], geoPath(dataDir))
	} else {
		err = importASN(env, files, asnPath(dataDir))
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin data import %s: %v\n", kind, err)
		return exitFail
	}
	return exitOK
}

// importASN builds one table from every file (their formats are told from
// their content) and saves it atomically.
func importASN(env *Env, files []string, dst string) error {
	var b asn.Builder
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		rep, err := asn.Read(f, &b)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(env.Stdout, "%s: %s, %d lines, %d entries", name, rep.Format, rep.Lines, rep.Entries)
		if rep.NotRouted > 0 {
			fmt.Fprintf(env.Stdout, ", %d not routed", rep.NotRouted)
		}
		if rep.MultiOrigin > 0 {
			fmt.Fprintf(env.Stdout, ", %d with several origins (first kept)", rep.MultiOrigin)
		}
		fmt.Fprintf(env.Stdout, ", %d bad lines skipped\n", rep.Bad)
		for _, le := range rep.Skipped {
			fmt.Fprintf(env.Stderr, "%s: %v\n", name, le)
		}
	}
	t, err := b.Build()
	if err != nil {
		return err
	}
	v4, v6 := t.Len()
	if err := writeAtomic(dst, func(w io.Writer) error { _, err := t.WriteTo(w); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "IP-to-ASN table: %d IPv4 and %d IPv6 segments, saved to %s\n", v4, v6, dst)
	return nil
}

// importGeo checks the whole database before it replaces the current one.
func importGeo(env *Env, src, dst string) error {
	db, err := geo.Open(src)
	if err != nil {
		return err
	}
	if err := db.Verify(); err != nil {
		return fmt.Errorf("%s: %w; the current database is kept", src, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := writeAtomic(dst, func(w io.Writer) error { _, err := io.Copy(w, in); return err }); err != nil {
		return err
	}
	m := db.Metadata()
	fmt.Fprintf(env.Stdout, "country database %s (%s, built %s), saved to %s\n", src, m.DatabaseType, m.BuildTime().Format("2006-01-02"), dst)
	return nil
}

// writeAtomic writes dst through a temporary file in its directory, so a
// crash never leaves half a file.
func writeAtomic(dst string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".import-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
