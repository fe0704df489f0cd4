package securitytxt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewEntry(t *testing.T) {
	usable := Entry{FetchedAt: now.Add(-time.Hour), Expires: now.Add(48 * time.Hour), Contacts: []string{"old@example.com"}}
	far := &File{Requested: "https://example.com" + wk, Contact: []string{"mailto:a@example.com", "https://example.com/r", "mailto:b@example.com"}, Expires: now.Add(3 * 365 * 24 * time.Hour)}
	near := &File{Requested: "https://example.com" + wk, Contact: []string{"mailto:a@example.com"}, Expires: now.Add(time.Hour)}
	formOnly := &File{Requested: "https://example.com" + wk, Contact: []string{"https://example.com/r"}, Expires: now.Add(time.Hour)}
	tests := []struct {
		name       string
		file       *File
		err        error
		prev       *Entry
		wantUsable bool
		contacts   []string
		next       time.Time
	}{
		{"expiry capped at MaxAge", far, nil, nil, true, []string{"a@example.com", "b@example.com"}, now.Add(MaxAge)},
		{"fetched again at its Expires", near, nil, nil, true, []string{"a@example.com"}, now.Add(time.Hour)},
		{"no e-mail address", formOnly, nil, nil, false, nil, now.Add(time.Hour)},
		{"not found", nil, fmt.Errorf("x: %w", ErrNotFound), &usable, false, nil, now.Add(NegativeAge)},
		{"expired file", near, fmt.Errorf("x: %w", ErrExpired), &usable, false, nil, now.Add(NegativeAge)},
		{"network error keeps a usable file", nil, errors.New("dial tcp: connection refused"), &usable, true, []string{"old@example.com"}, now.Add(NegativeAge)},
		{"network error, nothing before", nil, context.DeadlineExceeded, nil, false, nil, now.Add(NegativeAge)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEntry(tt.file, tt.err, now, tt.prev)
			if e.Usable(now) != tt.wantUsable || !slices.Equal(e.Contacts, tt.contacts) || !e.NextFetch.Equal(tt.next) {
				t.Errorf("entry %+v: usable %v, want %v, contacts %q, next fetch %s", e, e.Usable(now), tt.wantUsable, tt.contacts, tt.next)
			}
			if (tt.err != nil) != (e.Error != "") && tt.file != formOnly {
				t.Errorf("Error %q for %v", e.Error, tt.err)
			}
			if e.Stale(now) || !e.Stale(tt.next) {
				t.Errorf("stale now or not at NextFetch %s", e.NextFetch)
			}
		})
	}
}

// TestSaved: entries survive a restart (a second OpenSaved of the file),
// Expires is honoured at read time, Save keeps what another process
// saved meanwhile, and a broken file is an error that says what to do.
func TestSaved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache", "security-txt.json")
	s, err := OpenSaved(path)
	if err != nil || s.Len() != 0 {
		t.Fatalf("OpenSaved of a missing file: %v, %d entries", err, s.Len())
	}
	s.Put("München.DE.", NewEntry(&File{Contact: []string{"mailto:cert@xn--mnchen-3ya.de"}, Expires: now.Add(time.Hour)}, nil, now, nil))
	other, _ := OpenSaved(path)
	other.Put("example.net", NewEntry(nil, ErrNotFound, now, nil))
	if err := other.Save(); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}

	again, err := OpenSaved(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.Len() != 2 {
		t.Errorf("%d entries after both saved, want 2", again.Len())
	}
	for _, tt := range []struct {
		at   time.Time
		want string
	}{{now, "cert@xn--mnchen-3ya.de"}, {now.Add(time.Hour), ""}} {
		got, _ := again.Contact("xn--mnchen-3ya.de", tt.at)
		if got != tt.want {
			t.Errorf("Contact at %s = %q, want %q", tt.at, got, tt.want)
		}
	}
	if c, ok := again.Contact("example.net", now); ok {
		t.Errorf("example.net has no file, got %q", c)
	}
	if n := testing.AllocsPerRun(100, func() { again.Contact("xn--mnchen-3ya.de", now) }); n != 0 {
		t.Errorf("Contact allocates %.0f times", n)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(matches) != 0 {
		t.Errorf("temporary files left: %q", matches)
	}

	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := OpenSaved(path); err == nil || !errorContains(err, path, "refresh-security-txt") {
		t.Errorf("broken file: %v", err)
	}
}

func errorContains(err error, subs ...string) bool {
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			return false
		}
	}
	return true
}

func TestRefresh(t *testing.T) {
	file := &File{Contact: []string{"mailto:security@example.com"}, Expires: now.Add(36 * time.Hour)}
	fake := &fakeFetch{calls: map[string]int{}, answers: map[string]func() (*File, error){
		"example.com": func() (*File, error) { return file, nil },
	}}
	s, _ := OpenSaved(filepath.Join(t.TempDir(), "c.json"))
	clock := now
	o := RefreshOptions{Concurrency: 2, Now: func() time.Time { return clock }}
	domains := []string{"example.com", "example.net", "example.org"}
	st, err := Refresh(context.Background(), s, fake.fetch, domains, o)
	if err != nil || st != (RefreshStats{Domains: 3, Fetched: 3, Usable: 1}) {
		t.Errorf("first refresh: %+v, %v", st, err)
	}
	// A day later the negative entries are stale, the file is not.
	clock = now.Add(NegativeAge)
	st, _ = Refresh(context.Background(), s, fake.fetch, domains, o)
	if st != (RefreshStats{Domains: 3, Fresh: 1, Fetched: 2}) {
		t.Errorf("second refresh: %+v", st)
	}
	if fake.count("example.com") != 1 || fake.count("example.net") != 2 {
		t.Errorf("calls: %v", fake.calls)
	}
	o.All = true
	if st, _ = Refresh(context.Background(), s, fake.fetch, domains, o); st.Fetched != 3 {
		t.Errorf("refresh of all: %+v", st)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Refresh(ctx, s, fake.fetch, []string{"new.example"}, RefreshOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled refresh: %v", err)
	}
	if _, ok := s.Get("new.example"); ok {
		t.Error("a cancelled refresh kept an entry")
	}
}

// TestFetchPrefersCanonical: a file that says it belongs at another URI of
// the same site is replaced by the file there.
func TestFetchPrefersCanonical(t *testing.T) {
	s := newServer(t, site{
		"example.com" + wk:     text("Canonical: https://www.example.com" + wk + "\nContact: mailto:stale@example.com\nExpires: 2031-01-01T00:00:00Z\n"),
		"www.example.com" + wk: text("Canonical: https://www.example.com" + wk + "\nContact: mailto:cert@example.com\nExpires: 2031-01-01T00:00:00Z\n"),
		// Pointing to another site is not followed.
		"example.net" + wk: text("Canonical: https://www.example.com" + wk + "\nContact: mailto:x@example.net\nExpires: 2031-01-01T00:00:00Z\n"),
	})
	f, err := s.fetcher.Fetch(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Emails(); !slices.Equal(got, []string{"cert@example.com"}) || f.URL() != "https://www.example.com"+wk {
		t.Errorf("used %s with %q, want the canonical file", f.URL(), got)
	}
	if _, err := s.fetcher.Fetch(context.Background(), "example.net"); !errors.Is(err, ErrCanonical) {
		t.Errorf("example.net: %v, want ErrCanonical", err)
	}
}
