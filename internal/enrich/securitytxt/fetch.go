package securitytxt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/enrich/domain"
)

// Defaults of Fetcher.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxSize      = 32 << 10 // RFC 9116 section 5.4
	DefaultMaxRedirects = 3
)

// The two locations of RFC 9116 section 3, in the order they are tried.
const (
	WellKnownPath = "/.well-known/security.txt"
	LegacyPath    = "/security.txt"
)

// Fetcher fetches security.txt files over HTTPS. The zero value is ready
// to use with the defaults. A Fetcher is safe for concurrent use.
type Fetcher struct {
	// Client sends the requests; nil means http.DefaultClient. Its
	// CheckRedirect is replaced by the Fetcher's redirect policy and its
	// Timeout by Timeout.
	Client *http.Client
	// Timeout bounds a whole Fetch, both locations and every redirect;
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxSize is the largest body read, in bytes; a larger file is
	// ErrTooLarge. 0 means DefaultMaxSize.
	MaxSize int64
	// MaxRedirects is how many redirects a request may follow; 0 means
	// DefaultMaxRedirects, a negative number none.
	MaxRedirects int
	// AllowRedirect decides whether a redirect from a request for the
	// domain to the URL to is followed. nil means: only to https URLs on
	// the same host, or, for a domain name, on a host with the same
	// registrable domain (www.example.com to example.com, not to
	// example.net), as RFC 9116 section 5.2 warns that a redirect can
	// lead to an attacker's site. A refused redirect is ErrRedirect.
	AllowRedirect func(domain string, to *url.URL) bool
	// Now tells the time Expires is compared with; nil means time.Now.
	Now func() time.Time
}

// Fetch fetches, parses and checks the security.txt of domain with a
// Fetcher that uses client and the defaults. See Fetcher.Fetch.
func Fetch(ctx context.Context, client *http.Client, domain string) (*File, error) {
	return (&Fetcher{Client: client}).Fetch(ctx, domain)
}

// Fetch fetches the security.txt of domain (a domain name, in Unicode or
// ASCII form, or an IP address) from https://DOMAIN/.well-known/security.txt,
// parses it and checks it. When there is no usable file there (not found,
// not text/plain, a refused redirect, another HTTP status), or the file
// there is not at a URI its Canonical fields list, the legacy location
// https://DOMAIN/security.txt is tried and its file is used if it passes
// every check.
//
// The file may be used, and its contacts written to, only when the error
// is nil. A non-nil File with a non-nil error is a file that was found
// but must not be used: errors.Is tells why (ErrExpired, ErrCanonical,
// ErrNoExpires, ErrNoContact, ErrSyntax). A nil File means none was found
// (ErrNotFound, ErrContentType, ErrRedirect, ErrStatus, ErrTooLarge, or a
// network error, context.DeadlineExceeded on timeout); when both
// locations failed the error holds both reasons.
func (f *Fetcher) Fetch(ctx context.Context, domainName string) (*File, error) {
	host, err := hostOf(domainName)
	if err != nil {
		return nil, err
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	file, err := f.fetchOne(ctx, host, WellKnownPath)
	if err == nil || !(errors.Is(err, ErrCanonical) || file == nil && absent(err)) {
		return file, err
	}
	legacy, lerr := f.fetchOne(ctx, host, LegacyPath)
	switch {
	case lerr == nil:
		legacy.Legacy = true
		return legacy, nil
	case file != nil: // the well-known file, with its Canonical mismatch
		if c := f.fromCanonical(ctx, host, file); c != nil {
			return c, nil
		}
		return file, err
	case legacy != nil:
		legacy.Legacy = true
		if c := f.fromCanonical(ctx, host, legacy); c != nil {
			return c, nil
		}
		return legacy, lerr
	}
	return nil, errors.Join(err, lerr)
}

// fromCanonical prefers the Canonical URI: a file found at a location its
// Canonical fields do not list is replaced by the file at the first one
// that a redirect could lead to (see AllowRedirect) and that lists itself
// as canonical. It returns nil when there is none.
func (f *Fetcher) fromCanonical(ctx context.Context, host string, found *File) *File {
	for _, c := range found.Canonical {
		u, err := url.Parse(c)
		if err != nil || !f.allowRedirect(host, u) || canonicalURL(c) == canonicalURL(found.Requested) {
			continue
		}
		if file, err := f.fetchURL(ctx, host, u.String()); err == nil {
			return file
		}
		break
	}
	return nil
}

// absent reports an error that says there is no security.txt at a
// location, so that the other one is worth trying.
func absent(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrContentType) ||
		errors.Is(err, ErrRedirect) || errors.Is(err, ErrStatus)
}

// fetchOne fetches, parses and checks the file at one path.
func (f *Fetcher) fetchOne(ctx context.Context, host, path string) (*File, error) {
	return f.fetchURL(ctx, host, "https://"+host+path)
}

// fetchURL fetches, parses and checks the file at requested, following
// redirects as a request for host would.
func (f *Fetcher) fetchURL(ctx context.Context, host, requested string) (*File, error) {
	var redirects []string
	client := http.DefaultClient
	if f.Client != nil {
		client = f.Client
	}
	c := *client
	c.Timeout = 0 // the context bounds the Fetch
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		limit := f.MaxRedirects
		if limit == 0 {
			limit = DefaultMaxRedirects
		}
		if len(via) > limit {
			return fmt.Errorf("more than %d redirects: %w", max(limit, 0), ErrRedirect)
		}
		if !f.allowRedirect(host, req.URL) {
			return fmt.Errorf("to %s: %w", req.URL.Redacted(), ErrRedirect)
		}
		redirects = append(redirects, req.URL.String())
		return nil
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, requested, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", requested, err)
	}
	req.Header.Set("Accept", "text/plain")
	req.Header.Set("User-Agent", "tocsin (security.txt reader, RFC 9116)")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", requested, err)
	}
	defer resp.Body.Close()
	where := requested
	if len(redirects) > 0 {
		where = fmt.Sprintf("%s (redirected to %s)", requested, redirects[len(redirects)-1])
	}

	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone:
		return nil, fmt.Errorf("fetch %s: %s: %w", where, resp.Status, ErrNotFound)
	default:
		return nil, fmt.Errorf("fetch %s: %s: %w", where, resp.Status, ErrStatus)
	}
	if err := checkContentType(resp.Header.Get("Content-Type")); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", where, err)
	}
	maxSize := f.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if resp.ContentLength > maxSize {
		return nil, fmt.Errorf("fetch %s: %d bytes, more than %d: %w", where, resp.ContentLength, maxSize, ErrTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", where, err)
	}
	if int64(len(body)) > maxSize {
		return nil, fmt.Errorf("fetch %s: more than %d bytes: %w", where, maxSize, ErrTooLarge)
	}

	file, err := Parse(body)
	if file == nil {
		return nil, fmt.Errorf("fetch %s: %w", where, err)
	}
	file.Requested, file.Redirects = requested, redirects
	if err != nil {
		return file, fmt.Errorf("fetch %s: %w", where, err)
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	if file.Expired(now()) {
		return file, fmt.Errorf("fetch %s: expired on %s: %w", where, file.Expires.Format(time.RFC3339), ErrExpired)
	}
	if len(file.Canonical) > 0 && !listed(file.Canonical, requested) && !listed(file.Canonical, file.URL()) {
		return file, fmt.Errorf("fetch %s: Canonical lists %s: %w", where, strings.Join(file.Canonical, ", "), ErrCanonical)
	}
	return file, nil
}

// checkContentType accepts text/plain with no charset or a UTF-8
// compatible one.
func checkContentType(ct string) error {
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil || mediaType != "text/plain" {
		return fmt.Errorf("Content-Type %q: %w", ct, ErrContentType)
	}
	switch cs := strings.ToLower(params["charset"]); cs {
	case "", "utf-8", "utf8", "us-ascii":
		return nil
	default:
		return fmt.Errorf("Content-Type %q: charset %s, not utf-8: %w", ct, cs, ErrContentType)
	}
}

func (f *Fetcher) allowRedirect(host string, to *url.URL) bool {
	if f.AllowRedirect != nil {
		return f.AllowRedirect(host, to)
	}
	return SameSite(host, to)
}

// SameSite is the default redirect policy of a Fetcher: to is an https
// URL on host, or, when host is a domain name, on a host with the same
// registrable domain (by the embedded Public Suffix List).
func SameSite(host string, to *url.URL) bool {
	if to.Scheme != "https" {
		return false
	}
	target := strings.TrimSuffix(strings.ToLower(to.Hostname()), ".")
	host = strings.Trim(host, "[]")
	if target == host {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	psl := domain.Embedded()
	a, err := psl.RegistrableDomain(host)
	if err != nil {
		return false
	}
	b, err := psl.RegistrableDomain(target)
	return err == nil && a == b
}

// listed reports whether u is one of the Canonical URIs, compared with
// the scheme and host in lower case, the default port and a final dot
// of the host removed.
func listed(canonical []string, u string) bool {
	want := canonicalURL(u)
	for _, c := range canonical {
		if canonicalURL(c) == want {
			return true
		}
	}
	return false
}

func canonicalURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return s
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host, port := strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), u.Port()
	if a, err := domain.ToASCII(host); err == nil {
		host = a
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && !(u.Scheme == "https" && port == "443") && !(u.Scheme == "http" && port == "80") {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	u.Host = host
	if u.Path == "" {
		u.Path = "/"
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// hostOf turns a domain name or IP address into the host of a URL: an
// ASCII domain name, or an IP address (IPv6 in brackets).
func hostOf(name string) (string, error) {
	if a, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		if a.Is6() && !a.Is4In6() {
			return "[" + a.WithZone("").String() + "]", nil
		}
		return a.Unmap().String(), nil
	}
	host, err := domain.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("security.txt of %q: %w", name, err)
	}
	return host, nil
}
