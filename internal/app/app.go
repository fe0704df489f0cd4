package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/ingest"
	"github.com/tocsin/tocsin/internal/store"
	"github.com/tocsin/tocsin/internal/store/postgres"
	"github.com/tocsin/tocsin/internal/store/sqlite"
)

// App is one configured tocsin: its settings, its store and its pipeline.
type App struct {
	Config  *config.Config
	DataDir string
	Store   store.Store
	Feeds   *feed.Set
	Log     *slog.Logger
	env     *Env
}

// loadConfig reads the configuration named by the flag or $TOCSIN_CONFIG;
// with neither, the defaults.
func loadConfig(env *Env, g *globals) (*config.Config, error) {
	path := g.config
	if path == "" {
		path = env.Getenv("TOCSIN_CONFIG")
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// open loads the configuration and opens the store.
func open(ctx context.Context, env *Env, g *globals) (*App, error) {
	c, err := loadConfig(env, g)
	if err != nil {
		return nil, err
	}
	a := &App{Config: c, env: env, Feeds: c.Feeds()}
	a.DataDir = config.ResolveDataDir(g.dataDir, c)
	a.Log = newLogger(env, c.Log)
	if err := os.MkdirAll(a.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db := c.DB(a.DataDir)
	if g.db != "" {
		c.Database = config.Secret(g.db)
		db = c.DB(a.DataDir)
		if db.Driver == "sqlite" && strings.Contains(g.db, "://") {
			return nil, fmt.Errorf("--db %s: use a SQLite file path or a postgres:// URL", config.Secret(g.db))
		}
	}
	switch db.Driver {
	case "postgres":
		a.Store, err = postgres.Open(ctx, db.DSN.Reveal())
	default:
		a.Store, err = sqlite.Open(db.DSN.Reveal())
	}
	if err != nil {
		// The DSN may hold a password: name the store by its redacted form.
		return nil, fmt.Errorf("open store %s: %w", db.DSN, redactErr(err, db.DSN.Reveal()))
	}
	return a, nil
}

// Close releases the store.
func (a *App) Close() error {
	if a.Store != nil {
		return a.Store.Close()
	}
	return nil
}

func newLogger(env *Env, l config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(env.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.Stderr, opts))
}

// Ingester returns the ingest pipeline of a.
func (a *App) Ingester() (*ingest.Ingester, error) {
	ps, detect, err := a.parsers()
	if err != nil {
		return nil, err
	}
	x, err := a.enricher(context.Background(), false)
	if err != nil {
		return nil, err
	}
	in := &ingest.Ingester{
		Store:     a.Store,
		Feeds:     a.Feeds,
		Parsers:   ps,
		Detect:    detect,
		Log:       a.Log,
		BatchSize: a.Config.Ingest.BatchSize,
		Enrich:    x.Event,
	}
	if a.Config.Ingest.StoreRaw {
		in.RawDir = filepath.Join(a.DataDir, "raw")
	}
	return in, nil
}

// redactErr removes a secret from an error's text, in case a driver quotes
// its connection string.
func redactErr(err error, secret string) error {
	if secret == "" {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, secret, config.Secret(secret).String()))
}
