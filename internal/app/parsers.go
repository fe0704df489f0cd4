package app

import (
	"errors"
	"fmt"
	"os"

	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/parse/abusech"
	"github.com/tocsin/tocsin/internal/parse/blocklist"
	"github.com/tocsin/tocsin/internal/parse/cowrie"
	"github.com/tocsin/tocsin/internal/parse/csvmap"
	"github.com/tocsin/tocsin/internal/parse/intelmq"
	"github.com/tocsin/tocsin/internal/parse/phish"
	"github.com/tocsin/tocsin/internal/parse/shadowserver"
	"github.com/tocsin/tocsin/internal/parse/spamhaus"
)

// schema returns the Shadowserver schema in force: the config's
// schema_file, else the one 'tocsin data update' saved in the data
// directory, else the one compiled in.
func (a *App) schema() (*shadowserver.Schema, string, error) {
	path := a.Config.Shadowserver.SchemaFile
	if path == "" {
		path = schemaPath(a.DataDir)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return shadowserver.Embedded(), "embedded", nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("shadowserver schema: %w", err)
	}
	defer f.Close()
	s, err := shadowserver.LoadSchema(f)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w (run 'tocsin data update' again, or remove the file to use the built-in schema)", path, err)
	}
	return s, path, nil
}

// parsers wires every format to its parser: the one place that knows them
// all. It also returns the feed detection for files named without --feed.
func (a *App) parsers() (map[string]parse.Parser, func(string) string, error) {
	schema, _, err := a.schema()
	if err != nil {
		return nil, nil, err
	}
	m := map[string]parse.Parser{
		"shadowserver": shadowserver.New(schema),
		"cowrie":       cowrie.New(),
		"csv":          csvmap.New(),
		"intelmq":      intelmq.New(),
	}
	for _, f := range feed.Formats {
		if m[f] != nil {
			continue
		}
		for _, pkg := range []func(string) (parse.Parser, bool){abusech.New, spamhaus.New, phish.New, blocklist.New} {
			if p, ok := pkg(f); ok {
				m[f] = p
				break
			}
		}
		if m[f] == nil {
			return nil, nil, fmt.Errorf("internal: no parser for format %q", f)
		}
	}
	detect := func(name string) string {
		if t := shadowserver.ReportType(name); t != "" && schema.Report(t) != nil {
			return "shadowserver"
		}
		return ""
	}
	return m, detect, nil
}
