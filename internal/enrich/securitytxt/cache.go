package securitytxt

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin/internal/enrich/domain"
)

// FetchFunc fetches the security.txt of a domain, as Fetcher.Fetch does.
type FetchFunc func(ctx context.Context, domain string) (*File, error)

// DefaultMaxEntries is the number of domains a Cache holds by default.
const DefaultMaxEntries = 100_000

// Cache keeps the result of fetching each domain's security.txt: a usable
// file for TTL (never past its Expires), anything else (not found,
// expired, a network error) for NegativeTTL, so that a domain without a
// file is not asked again for every event. Concurrent Gets of one domain
// share one fetch. A Cache is safe for concurrent use.
type Cache struct {
	fetch       FetchFunc
	ttl, negTTL time.Duration
	now         func() time.Time

	// MaxEntries bounds the number of domains held; when it is reached,
	// stale entries are dropped, then arbitrary ones. 0 means
	// DefaultMaxEntries. Set it before the first Get.
	MaxEntries int

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	ready chan struct{} // closed when the fetch is done
	file  *File
	err   error
	until time.Time
	drop  bool // the fetch was cut short by its caller: not an answer
}

// NewCache returns a Cache that calls fetch (Fetcher.Fetch, typically) on
// a miss and tells the time with now (time.Now when nil).
func NewCache(fetch FetchFunc, ttl, negativeTTL time.Duration, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{fetch: fetch, ttl: ttl, negTTL: negativeTTL, now: now, entries: make(map[string]*cacheEntry)}
}

// Get returns what fetching the security.txt of domain returned, from the
// cache when it is fresh; see Fetcher.Fetch for the meaning of the
// results. The key is the domain in ASCII form (domain.ToASCII), so
// "München.de." and "xn--mnchen-3ya.de" share an entry. The File returned
// is shared: do not modify it.
func (c *Cache) Get(ctx context.Context, domainName string) (*File, error) {
	key, err := domain.ToASCII(domainName)
	if err != nil {
		key = strings.TrimSuffix(strings.ToLower(domainName), ".")
	}
	for {
		c.mu.Lock()
		e, ok := c.entries[key]
		if ok {
			select {
			case <-e.ready:
				if c.now().Before(e.until) {
					c.mu.Unlock()
					return e.file, e.err
				}
				ok = false // stale: fetch again
			default:
			}
		}
		if !ok {
			e = &cacheEntry{ready: make(chan struct{})}
			c.makeRoom()
			c.entries[key] = e
			c.mu.Unlock()
			c.fill(ctx, key, domainName, e)
			return e.file, e.err
		}
		c.mu.Unlock()
		select {
		case <-e.ready:
			if !e.drop {
				return e.file, e.err
			}
			// The fetch we waited for was cancelled by its caller: try again.
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fill fetches into e and publishes it.
func (c *Cache) fill(ctx context.Context, key, domain string, e *cacheEntry) {
	defer close(e.ready)
	e.file, e.err = c.fetch(ctx, domain)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case e.err != nil && ctx.Err() != nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)):
		// The caller gave up; that says nothing about the domain.
		e.drop = true
		if c.entries[key] == e {
			delete(c.entries, key)
		}
	case e.err != nil:
		e.until = now.Add(c.negTTL)
	default:
		e.until = now.Add(c.ttl)
		if e.file != nil && !e.file.Expires.IsZero() && e.file.Expires.Before(e.until) {
			e.until = e.file.Expires
		}
	}
}

// makeRoom drops entries when the cache is full; c.mu is held.
func (c *Cache) makeRoom() {
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxEntries
	}
	if len(c.entries) < limit {
		return
	}
	now := c.now()
	for k, e := range c.entries {
		select {
		case <-e.ready:
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		default:
		}
	}
	for k, e := range c.entries {
		if len(c.entries) < limit {
			return
		}
		select {
		case <-e.ready:
			delete(c.entries, k)
		default: // a fetch in flight keeps its entry
		}
	}
}

// Len returns the number of domains in the cache, fresh or stale.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
