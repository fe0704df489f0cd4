package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/parse/shadowserver"
)

// schemaPath is where 'tocsin data update' keeps Shadowserver's schema.
func schemaPath(dataDir string) string {
	return filepath.Join(dataDir, "shadowserver", "intelmq.json")
}

// maxSchemaSize bounds a downloaded schema (the real one is about 1 MB).
const maxSchemaSize = 64 << 20

func cmdData(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] != "update" {
		fmt.Fprintln(env.Stderr, "Usage: tocsin data update [--shadowserver-url URL]")
		return exitUsage
	}
	fs, g := newFlags(env, "data update", "",
		"Downloads the newest reference data into the data directory: Shadowserver's report schema\n"+
			"(from shadowserver.schema_url). A download that does not parse leaves the current file in place.")
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
	return exitOK
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
