package securitytxt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin/internal/enrich/domain"
)

// How long a Saved entry lasts before it is fetched again.
const (
	MaxAge      = 365 * 24 * time.Hour // a usable file: until its Expires, at most this long
	NegativeAge = 24 * time.Hour       // no usable file, or the fetch failed
)

// Entry is what is known of one domain's security.txt: the result of the
// last fetch, kept by Saved across runs.
type Entry struct {
	FetchedAt time.Time `json:"fetched_at"`
	// Expires is the usable file's Expires field: its contacts may be
	// used until then. Zero when no usable file is known.
	Expires time.Time `json:"expires,omitzero"`
	// NextFetch is when the entry is stale and should be fetched again:
	// Expires, at most MaxAge after FetchedAt; NegativeAge after it when
	// the fetch gave no usable file.
	NextFetch time.Time `json:"next_fetch"`
	// Contacts are the e-mail addresses of the file's Contact fields, in
	// its order of preference (File.Emails).
	Contacts []string `json:"contacts,omitempty"`
	// Canonical is the URL the file was used from: the Canonical URI it
	// was found at.
	Canonical string `json:"canonical,omitempty"`
	// Error says why the last fetch gave no usable file; a still
	// unexpired file from before is kept when the failure was transient
	// (a network error, a timeout, a server error).
	Error string `json:"error,omitempty"`
}

// Usable reports whether e's contacts may be used at now: there are some
// and the file has not expired.
func (e *Entry) Usable(now time.Time) bool { return len(e.Contacts) > 0 && now.Before(e.Expires) }

// Stale reports whether e should be fetched again at now.
func (e *Entry) Stale(now time.Time) bool { return !now.Before(e.NextFetch) }

// NewEntry turns what Fetch returned at now into an Entry. prev is the
// domain's entry before, or nil: on a transient failure (not one of this
// package's errors: the server could not be reached, timed out, or
// answered with an unexpected status) its usable contacts are kept until
// its Expires.
func NewEntry(f *File, err error, now time.Time, prev *Entry) Entry {
	e := Entry{FetchedAt: now.UTC(), NextFetch: now.Add(NegativeAge).UTC()}
	if err != nil {
		e.Error = err.Error()
		if prev != nil && prev.Usable(now) && transient(err) {
			e.Expires, e.Contacts, e.Canonical = prev.Expires, prev.Contacts, prev.Canonical
		}
		return e
	}
	e.Expires = f.Expires.UTC()
	e.NextFetch = now.Add(MaxAge).UTC()
	if f.Expires.Before(e.NextFetch) {
		e.NextFetch = e.Expires
	}
	e.Contacts = f.Emails()
	e.Canonical = f.URL()
	if len(e.Contacts) == 0 {
		e.Error = "no e-mail address among its Contact fields"
	}
	return e
}

// transient reports an error that says nothing about the file itself.
func transient(err error) bool {
	for _, def := range []error{ErrNotFound, ErrContentType, ErrTooLarge, ErrRedirect, ErrNoExpires, ErrNoContact, ErrSyntax, ErrExpired, ErrCanonical} {
		if errors.Is(err, def) {
			return false
		}
	}
	return true
}

// Saved is the persistent security.txt cache: an Entry per domain, read
// from a JSON file and written back by Save. The ingest pipeline only
// reads it (Contact); commands fill it (Fetch, Refresh). A Saved is safe
// for concurrent use.
//
// Domains are keys in ASCII form (domain.ToASCII: lower case, Punycode, no
// final dot).
type Saved struct {
	path    string
	mu      sync.RWMutex
	entries map[string]*Entry
	changed map[string]bool // entries Put since the last Save
}

// savedFile is the file's layout.
type savedFile struct {
	Version int               `json:"version"`
	Domains map[string]*Entry `json:"domains"`
}

const savedVersion = 1

// OpenSaved reads the cache at path. A missing file is an empty cache; a
// file that cannot be read is an error that names it.
func OpenSaved(path string) (*Saved, error) {
	s := &Saved{path: path, changed: make(map[string]bool)}
	m, err := readSaved(path)
	if err != nil {
		return nil, err
	}
	s.entries = m
	return s, nil
}

func readSaved(path string) (map[string]*Entry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return make(map[string]*Entry), nil
	}
	if err != nil {
		return nil, fmt.Errorf("security.txt cache: %w", err)
	}
	var f savedFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("security.txt cache %s: %w (remove the file; 'tocsin constituents refresh-security-txt' fills it again)", path, err)
	}
	if f.Version != savedVersion {
		return nil, fmt.Errorf("security.txt cache %s: version %d, this tocsin reads %d (remove the file; 'tocsin constituents refresh-security-txt' fills it again)", path, f.Version, savedVersion)
	}
	if f.Domains == nil {
		f.Domains = make(map[string]*Entry)
	}
	for k, e := range f.Domains {
		if e == nil {
			delete(f.Domains, k)
		}
	}
	return f.Domains, nil
}

// Path returns the file the cache is saved to.
func (s *Saved) Path() string { return s.path }

// Len returns the number of domains in the cache.
func (s *Saved) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// key returns the cache key of a domain name.
func key(name string) string {
	if k, err := domain.ToASCII(name); err == nil {
		return k
	}
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// Get returns the entry of domain.
func (s *Saved) Get(name string) (Entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[key(name)]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Contact returns the first contact of domain's file if it is usable at
// now. domain must be in ASCII form (as the owner index keeps domains);
// Contact does not allocate and never fetches.
func (s *Saved) Contact(asciiDomain string, now time.Time) (string, bool) {
	if s == nil {
		return "", false
	}
	s.mu.RLock()
	e, ok := s.entries[asciiDomain]
	s.mu.RUnlock()
	if !ok || !e.Usable(now) {
		return "", false
	}
	return e.Contacts[0], true
}

// Put sets the entry of domain. The Entry must not be modified afterwards.
func (s *Saved) Put(name string, e Entry) {
	k := key(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[k] = &e
	s.changed[k] = true
}

// Fetch returns the entry of domain, fetching the file with fetch when
// the entry is missing or stale at now and keeping the result; fetched
// tells whether it did. The error is the context's, when it ended before
// the fetch did: nothing is kept then; any other failure is in
// Entry.Error.
func (s *Saved) Fetch(ctx context.Context, fetch FetchFunc, name string, now time.Time) (e Entry, fetched bool, err error) {
	prev, ok := s.Get(name)
	if ok && !prev.Stale(now) {
		return prev, false, nil
	}
	f, ferr := fetch(ctx, name)
	if ferr != nil && ctx.Err() != nil {
		return Entry{}, false, ctx.Err()
	}
	var p *Entry
	if ok {
		p = &prev
	}
	e = NewEntry(f, ferr, now, p)
	s.Put(name, e)
	return e, true, nil
}

// Save writes the cache to its file, replacing it atomically (a reader
// sees the old file or the new one). Entries another process saved in the
// meantime are kept, unless this cache fetched the same domain later.
func (s *Saved) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	disk, err := readSaved(s.path)
	if err != nil {
		disk = make(map[string]*Entry) // broken: replaced by ours
	}
	for k, e := range disk {
		if cur, ok := s.entries[k]; !ok || e.FetchedAt.After(cur.FetchedAt) {
			s.entries[k] = e
		}
	}
	data, err := json.Marshal(savedFile{Version: savedVersion, Domains: s.entries})
	if err != nil {
		return fmt.Errorf("security.txt cache: %w", err)
	}
	if err := writeAtomic(s.path, data); err != nil {
		return fmt.Errorf("security.txt cache: %w", err)
	}
	clear(s.changed)
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, there is nothing to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// RefreshOptions tune Refresh.
type RefreshOptions struct {
	// Concurrency is how many fetches run at once; 0 means 8.
	Concurrency int
	// All fetches every domain, not only the missing and stale ones.
	All bool
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Done, when set, is called after each fetch, from the fetching
	// goroutine.
	Done func(domain string, e Entry)
}

// RefreshStats counts what Refresh did.
type RefreshStats struct {
	Domains int // domains asked for
	Fresh   int // not fetched: their entry was fresh
	Fetched int // fetched
	Usable  int // fetched, and now with a usable file
}

// Refresh fetches the security.txt of each domain whose entry is missing
// or stale (every one with All), with at most Concurrency fetches at a
// time, and keeps the results in s (Save writes them). fetch should bound
// each fetch in time (Fetcher.Timeout does). When ctx ends, Refresh stops
// starting fetches, waits for those under way and returns ctx's error
// with what was done.
func Refresh(ctx context.Context, s *Saved, fetch FetchFunc, domains []string, o RefreshOptions) (RefreshStats, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	n := o.Concurrency
	if n <= 0 {
		n = 8
	}
	var (
		st  = RefreshStats{Domains: len(domains)}
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, n)
	)
	for _, d := range domains {
		if e, ok := s.Get(d); ok && !o.All && !e.Stale(now()) {
			st.Fresh++
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			prev, ok := s.Get(d)
			f, err := fetch(ctx, d)
			if err != nil && ctx.Err() != nil {
				return
			}
			var p *Entry
			if ok {
				p = &prev
			}
			t := now()
			e := NewEntry(f, err, t, p)
			s.Put(d, e)
			mu.Lock()
			st.Fetched++
			if e.Usable(t) {
				st.Usable++
			}
			mu.Unlock()
			if o.Done != nil {
				o.Done(d, e)
			}
		})
	}
	wg.Wait()
	return st, ctx.Err()
}
