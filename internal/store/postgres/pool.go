package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pool is a small pool of pgx connections.
//
// It stands in for pgxpool, which needs github.com/jackc/puddle/v2 and
// golang.org/x/sync in go.mod; the store uses only acquire and release, so
// swapping pgxpool in later touches this file and the four call sites.
type pool struct {
	cfg *pgx.ConnConfig
	sem chan struct{} // one token per connection in use or being opened

	mu     sync.Mutex
	idle   []idleConn // most recently used last
	closed bool
}

type idleConn struct {
	c     *pgx.Conn
	since time.Time
}

// pingAfter is how long a connection may sit idle before acquire checks that
// the server still answers on it (pgxpool's default).
const pingAfter = time.Second

var errPoolClosed = errors.New("store is closed")

func newPool(cfg *pgx.ConnConfig, maxConns int) *pool {
	return &pool{cfg: cfg, sem: make(chan struct{}, maxConns)}
}

// acquire returns a connection, opening one if none is idle, and waits while
// all maxConns are in use. The caller must release it.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return nil, errPoolClosed
		}
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		ic := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if time.Since(ic.since) < pingAfter || ic.c.Ping(ctx) == nil {
			return ic.c, nil
		}
		ic.c.Close(context.Background())
		if ctx.Err() != nil {
			<-p.sem
			return nil, ctx.Err()
		}
	}
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.sem
		return nil, err
	}
	return c, nil
}

// release gives c back to the pool, or closes it when it is broken, still
// inside a transaction or the pool is closed.
func (p *pool) release(c *pgx.Conn) {
	defer func() { <-p.sem }()
	if !c.IsClosed() && c.PgConn().TxStatus() == 'I' && !c.PgConn().IsBusy() {
		p.mu.Lock()
		if !p.closed {
			p.idle = append(p.idle, idleConn{c: c, since: time.Now()})
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	c.Close(context.Background())
}

// close closes the idle connections; connections in use are closed when they
// are released.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, ic := range idle {
		ic.c.Close(context.Background())
	}
}
