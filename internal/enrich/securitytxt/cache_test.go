package securitytxt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeFetch answers from a table and counts the calls per domain.
type fakeFetch struct {
	mu      sync.Mutex
	calls   map[string]int
	answers map[string]func() (*File, error)
}

func (f *fakeFetch) fetch(ctx context.Context, domain string) (*File, error) {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	f.mu.Lock()
	f.calls[domain]++
	answer := f.answers[domain]
	f.mu.Unlock()
	if answer == nil {
		return nil, fmt.Errorf("fetch %s: %w", domain, ErrNotFound)
	}
	return answer()
}

func (f *fakeFetch) count(domain string) int {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[domain]
}

func TestCache(t *testing.T) {
	clock := now
	file := &File{Contact: []string{"mailto:security@example.com"}, Expires: now.Add(36 * time.Hour)}
	fake := &fakeFetch{calls: map[string]int{}, answers: map[string]func() (*File, error){
		"example.com": func() (*File, error) { return file, nil },
		"expired.example": func() (*File, error) {
			return &File{Expires: now.Add(-time.Hour)}, ErrExpired
		},
	}}
	c := NewCache(fake.fetch, 24*time.Hour, time.Hour, func() time.Time { return clock })
	ctx := context.Background()

	get := func(domain string, wantCalls int, wantErr error) {
		t.Helper()
		f, err := c.Get(ctx, domain)
		if !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
			t.Errorf("%s at %s: error %v, want %v", domain, clock.Sub(now), err, wantErr)
		}
		if wantErr == nil && f != file {
			t.Errorf("%s at %s: file %v", domain, clock.Sub(now), f)
		}
		if n := fake.count(domain); n != wantCalls {
			t.Errorf("%s at %s: %d fetches, want %d", domain, clock.Sub(now), n, wantCalls)
		}
	}

	get("example.com", 1, nil)
	get("Example.COM.", 1, nil) // same key
	clock = now.Add(23 * time.Hour)
	get("example.com", 1, nil)
	clock = now.Add(24 * time.Hour) // TTL over
	get("example.com", 2, nil)
	clock = now.Add(36 * time.Hour) // the file's Expires comes before the TTL
	get("example.com", 3, nil)

	// Negative caching: not found and expired, for the negative TTL.
	clock = now
	get("none.example", 1, ErrNotFound)
	clock = now.Add(59 * time.Minute)
	get("none.example", 1, ErrNotFound)
	clock = now.Add(time.Hour)
	get("none.example", 2, ErrNotFound)
	get("expired.example", 1, ErrExpired)
	get("expired.example", 1, ErrExpired)
}

func TestCacheSharesOneFetch(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	c := NewCache(func(ctx context.Context, domain string) (*File, error) {
		calls.Add(1)
		<-release
		return &File{Contact: []string{"mailto:a@example.com"}, Expires: now.Add(time.Hour)}, nil
	}, time.Hour, time.Minute, func() time.Time { return now })
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := c.Get(context.Background(), "example.com"); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(20 * time.Millisecond) // let the goroutines queue up behind the first
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestCacheCancelledIsNotCached(t *testing.T) {
	var calls atomic.Int32
	c := NewCache(func(ctx context.Context, domain string) (*File, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done()
			return nil, fmt.Errorf("fetch: %w", ctx.Err())
		}
		return &File{Contact: []string{"mailto:a@example.com"}, Expires: now.Add(time.Hour)}, nil
	}, time.Hour, time.Hour, func() time.Time { return now })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "example.com"); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if _, err := c.Get(context.Background(), "example.com"); err != nil {
		t.Fatalf("after a cancelled fetch: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestCacheMaxEntries(t *testing.T) {
	clock := now
	c := NewCache(func(ctx context.Context, domain string) (*File, error) {
		return nil, ErrNotFound
	}, time.Hour, time.Minute, func() time.Time { return clock })
	c.MaxEntries = 10
	for i := range 25 {
		c.Get(context.Background(), fmt.Sprintf("d%d.example", i))
		if c.Len() > 10 {
			t.Fatalf("%d entries, limit 10", c.Len())
		}
	}
}

// TestCacheWithFetcher wires a Cache to a real Fetcher against the
// loopback server.
func TestCacheWithFetcher(t *testing.T) {
	s := newServer(t, site{"example.com" + wk: text(valid())})
	c := NewCache(s.fetcher.Fetch, time.Hour, time.Minute, func() time.Time { return now })
	for range 3 {
		f, err := c.Get(context.Background(), "example.com")
		if err != nil || len(f.Emails()) != 2 {
			t.Fatalf("Get = %v, %v", f, err)
		}
	}
	if got := s.requests(); len(got) != 1 {
		t.Errorf("requests %q, want one", got)
	}
}
