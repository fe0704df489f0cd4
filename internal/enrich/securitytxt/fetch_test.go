package securitytxt

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// now is the time of every test: files expiring in 2031 are valid, in
// 2029 expired.
var now = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// certificate returns a self-signed certificate for the names the tests
// pretend to fetch from.
func certificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tocsin test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"example.com", "*.example.com", "example.net", "xn--mnchen-3ya.de"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// site maps "host/path" to what the loopback server answers there.
type site map[string]http.HandlerFunc

// server is a loopback HTTPS server that answers for every name of the
// certificate, and a Fetcher whose client reaches it whatever host it
// asks for: its DialContext connects every address to the server, so no
// request leaves 127.0.0.1.
type server struct {
	fetcher *Fetcher
	mu      sync.Mutex
	log     []string // "host/path" of every request, in order
	dialed  []string
}

func newServer(t *testing.T, routes site) *server {
	t.Helper()
	s := &server{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Host + r.URL.Path
		s.mu.Lock()
		s.log = append(s.log, key)
		s.mu.Unlock()
		if h, ok := routes[key]; ok {
			h(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{certificate(t)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tr := srv.Client().Transport.(*http.Transport).Clone()
	loopback := srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		s.mu.Lock()
		s.dialed = append(s.dialed, addr)
		s.mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, loopback)
	}
	t.Cleanup(tr.CloseIdleConnections)
	s.fetcher = &Fetcher{Client: &http.Client{Transport: tr}, Now: func() time.Time { return now }}
	return s
}

func (s *server) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(body))
	}
}

func withType(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write([]byte(body))
	}
}

func redirect(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusMovedPermanently) }
}

const (
	wk     = WellKnownPath
	legacy = LegacyPath
)

func valid(canonical ...string) string {
	var b strings.Builder
	for _, c := range canonical {
		b.WriteString("Canonical: " + c + "\n")
	}
	b.WriteString("Contact: mailto:security@example.com\nContact: https://example.com/report\nContact: mailto:cert@example.com\n")
	b.WriteString("Expires: 2031-01-01T00:00:00Z\nPreferred-Languages: sv, en\n")
	return b.String()
}

func TestFetchValid(t *testing.T) {
	s := newServer(t, site{"example.com" + wk: text(valid("https://example.com/.well-known/security.txt"))})
	f, err := s.fetcher.Fetch(context.Background(), "Example.COM.")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"security@example.com", "cert@example.com"}; !slices.Equal(f.Emails(), want) {
		t.Errorf("Emails() = %q, want %q", f.Emails(), want)
	}
	if f.URL() != "https://example.com/.well-known/security.txt" || f.Legacy || len(f.Redirects) != 0 {
		t.Errorf("fetched from %s (legacy %v, redirects %q)", f.URL(), f.Legacy, f.Redirects)
	}
	if !slices.Equal(f.PreferredLanguages, []string{"sv", "en"}) {
		t.Errorf("PreferredLanguages = %q", f.PreferredLanguages)
	}
	if got := s.requests(); !slices.Equal(got, []string{"example.com" + wk}) {
		t.Errorf("requests %q", got)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Equal(s.dialed, []string{"example.com:443"}) {
		t.Errorf("dialed %q", s.dialed)
	}
}

func TestFetchIDN(t *testing.T) {
	s := newServer(t, site{"xn--mnchen-3ya.de" + wk: text(valid("https://münchen.de/.well-known/security.txt"))})
	if _, err := s.fetcher.Fetch(context.Background(), "München.de"); err != nil {
		t.Fatal(err)
	}
}

func TestFetchExpired(t *testing.T) {
	body := strings.Replace(valid(), "2031-01-01", "2029-01-01", 1)
	s := newServer(t, site{"example.com" + wk: text(body), "example.com" + legacy: text(valid())})
	f, err := s.fetcher.Fetch(context.Background(), "example.com")
	if !errors.Is(err, ErrExpired) || f == nil || !f.Expired(now) {
		t.Fatalf("Fetch = %v, %v; want the expired file and ErrExpired", f, err)
	}
	// The well-known file wins over the legacy one (RFC 9116 section 3).
	if got := s.requests(); len(got) != 1 {
		t.Errorf("requests %q: the legacy location must not be tried", got)
	}
}

func TestFetchMissingExpires(t *testing.T) {
	s := newServer(t, site{"example.com" + wk: text("Contact: mailto:security@example.com\n")})
	f, err := s.fetcher.Fetch(context.Background(), "example.com")
	if !errors.Is(err, ErrNoExpires) || f == nil {
		t.Fatalf("Fetch = %v, %v; want the file and ErrNoExpires", f, err)
	}
}

func TestFetchContentType(t *testing.T) {
	for _, ct := range []string{"text/html; charset=utf-8", "text/plain; charset=iso-8859-1", "application/octet-stream", ""} {
		s := newServer(t, site{
			"example.com" + wk:     withType(ct, valid()),
			"example.com" + legacy: withType(ct, valid()),
		})
		f, err := s.fetcher.Fetch(context.Background(), "example.com")
		if !errors.Is(err, ErrContentType) || f != nil {
			t.Errorf("Content-Type %q: Fetch = %v, %v; want ErrContentType", ct, f, err)
		}
	}
	// Without a charset, or in upper case, it is accepted.
	s := newServer(t, site{"example.com" + wk: withType("Text/Plain; Charset=UTF-8", valid())})
	if _, err := s.fetcher.Fetch(context.Background(), "example.com"); err != nil {
		t.Error(err)
	}
}

func TestFetchTooLarge(t *testing.T) {
	big := valid() + strings.Repeat("# padding padding padding padding\n", 1300) // 44 KB
	for name, h := range map[string]http.HandlerFunc{
		"chunked": text(big),
		"content-length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "41000")
			w.Write([]byte(big[:41000]))
		},
		"streamed": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.(http.Flusher).Flush() // no Content-Length: streamed
			for range 100 {
				w.Write([]byte(strings.Repeat("#", 1023) + "\n"))
			}
		},
	} {
		s := newServer(t, site{"example.com" + wk: h})
		f, err := s.fetcher.Fetch(context.Background(), "example.com")
		if !errors.Is(err, ErrTooLarge) || f != nil {
			t.Errorf("%s: Fetch = %v, %v; want ErrTooLarge", name, f, err)
		}
		if got := s.requests(); len(got) != 1 {
			t.Errorf("%s: requests %q: a file too large is not a reason to try the legacy location", name, got)
		}
	}
}

func TestFetchRedirect(t *testing.T) {
	s := newServer(t, site{
		// Same registrable domain: followed.
		"www.example.com" + wk: redirect("https://example.com/.well-known/security.txt"),
		"example.com" + wk:     text(valid("https://example.com/.well-known/security.txt")),
		// To another registrable domain: refused.
		"a.example.com" + wk: redirect("https://example.net/.well-known/security.txt"),
		"example.net" + wk:   text(valid()),
		// Not https: refused.
		"b.example.com" + wk: redirect("http://example.com/.well-known/security.txt"),
		// A loop: refused after MaxRedirects.
		"c.example.com" + wk: redirect("https://c.example.com/.well-known/security.txt"),
	})
	f, err := s.fetcher.Fetch(context.Background(), "www.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if f.Requested != "https://www.example.com/.well-known/security.txt" ||
		!slices.Equal(f.Redirects, []string{"https://example.com/.well-known/security.txt"}) {
		t.Errorf("requested %s, redirects %q", f.Requested, f.Redirects)
	}

	for _, host := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		f, err := s.fetcher.Fetch(context.Background(), host)
		if !errors.Is(err, ErrRedirect) || f != nil {
			t.Errorf("%s: Fetch = %v, %v; want ErrRedirect", host, f, err)
		}
	}
	if slices.Contains(s.requests(), "example.net"+wk) {
		t.Error("a refused redirect was followed")
	}

	// A policy of one's own.
	s.fetcher.AllowRedirect = func(string, *url.URL) bool { return true }
	if _, err := s.fetcher.Fetch(context.Background(), "a.example.com"); err != nil {
		t.Errorf("with AllowRedirect: %v", err)
	}
}

func TestFetchCanonical(t *testing.T) {
	wrong := valid("https://other.example.com/.well-known/security.txt")
	s := newServer(t, site{
		// The well-known file says it belongs elsewhere; the legacy one
		// says it belongs here: the legacy one is used.
		"example.com" + wk:     text(wrong),
		"example.com" + legacy: text(valid("https://EXAMPLE.com:443/security.txt")),
		// Only a mismatching file.
		"www.example.com" + wk: text(wrong),
	})
	f, err := s.fetcher.Fetch(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Legacy || f.URL() != "https://example.com/security.txt" {
		t.Errorf("used %s (legacy %v), want the legacy file", f.URL(), f.Legacy)
	}

	f, err = s.fetcher.Fetch(context.Background(), "www.example.com")
	if !errors.Is(err, ErrCanonical) || f == nil || f.Legacy {
		t.Fatalf("Fetch = %v, %v; want the well-known file with ErrCanonical", f, err)
	}
}

func TestFetchLegacyFallback(t *testing.T) {
	s := newServer(t, site{"example.com" + legacy: text(valid())})
	f, err := s.fetcher.Fetch(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Legacy || f.URL() != "https://example.com/security.txt" {
		t.Errorf("used %s (legacy %v)", f.URL(), f.Legacy)
	}
	if got := s.requests(); !slices.Equal(got, []string{"example.com" + wk, "example.com" + legacy}) {
		t.Errorf("requests %q", got)
	}

	// Neither location: both reasons.
	f, err = s.fetcher.Fetch(context.Background(), "www.example.com")
	if !errors.Is(err, ErrNotFound) || f != nil || !strings.Contains(err.Error(), wk) || !strings.Contains(err.Error(), legacy) {
		t.Errorf("Fetch = %v, %v; want ErrNotFound for both locations", f, err)
	}
}

func TestFetchSigned(t *testing.T) {
	s := newServer(t, site{"example.com" + wk: text(signed)})
	f, err := s.fetcher.Fetch(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Signed || slices.Contains(f.Emails(), "attacker@example.net") {
		t.Errorf("Signed %v, Emails %q", f.Signed, f.Emails())
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, site{"example.com" + wk: func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}})
	t.Cleanup(func() { close(release) }) // before the server closes
	s.fetcher.Timeout = 200 * time.Millisecond
	start := time.Now()
	f, err := s.fetcher.Fetch(context.Background(), "example.com")
	if !errors.Is(err, context.DeadlineExceeded) || f != nil {
		t.Errorf("Fetch = %v, %v; want context.DeadlineExceeded", f, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	if got := s.requests(); len(got) != 1 {
		t.Errorf("requests %q: a timeout is not a reason to try the legacy location", got)
	}
}

func TestFetchBadDomain(t *testing.T) {
	noNetwork := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no network in this test")
	}}}
	for _, d := range []string{"", "exa mple.com", "example.com/x", "a..b"} {
		if f, err := Fetch(context.Background(), noNetwork, d); err == nil || strings.Contains(err.Error(), "no network") {
			t.Errorf("Fetch(%q) = %v, want an error", d, f)
		}
	}
	for in, want := range map[string]string{"192.0.2.1": "192.0.2.1", "2001:DB8::1": "[2001:db8::1]", "[::1]": "[::1]"} {
		if got, err := hostOf(in); err != nil || got != want {
			t.Errorf("hostOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSameSite(t *testing.T) {
	tests := []struct {
		host, to string
		want     bool
	}{
		{"example.com", "https://www.example.com/x", true},
		{"www.example.co.uk", "https://example.co.uk/x", true},
		{"example.co.uk", "https://other.co.uk/x", false},
		{"a.blogspot.com", "https://b.blogspot.com/x", false}, // a PRIVATE suffix separates them too
		{"example.com", "http://example.com/x", false},
		{"example.com", "https://example.net/x", false},
		{"192.0.2.1", "https://192.0.2.1:8443/x", true},
		{"192.0.2.1", "https://192.0.2.2/x", false},
		{"[2001:db8::1]", "https://[2001:db8::1]/x", true},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.to)
		if got := SameSite(tt.host, u); got != tt.want {
			t.Errorf("SameSite(%q, %q) = %v, want %v", tt.host, tt.to, got, tt.want)
		}
	}
}
