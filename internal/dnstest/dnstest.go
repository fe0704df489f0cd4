// Package dnstest runs a real authoritative DNS server for tests: Knot DNS
// (Debian's knot package, knotd), on a free loopback port, serving the
// zones a test gives it.
//
//	s := dnstest.Start(t, map[string]string{"example.test.": dnstest.Zone("example.test.",
//		`www A 192.0.2.1`,
//		`_tocsin-challenge TXT "tocsin-domain-verification=..."`)})
//	r := s.Resolver() // a *net.Resolver that asks only s
//
// The server listens on 127.0.0.1 over UDP and TCP, keeps everything in
// the test's temporary directory and stops when the test ends. Where knotd
// is not installed, Start skips the test with a message that says how to
// install it (scripts/knot.sh), except when $CI is set: there it fails.
package dnstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running knotd.
type Server struct {
	// Addr is the server's "127.0.0.1:port", for UDP and TCP alike.
	Addr string
	// Dir is the server's directory: its configuration (knot.conf), its
	// zone files (ORIGIN.zone, the origin without its final dot) and its
	// databases.
	Dir string

	conf     string
	knotd    string
	cmd      *exec.Cmd
	waitExit func() error
	log      *syncBuffer
}

// Option changes how Start configures the server.
type Option func(*options)

type options struct {
	transfer bool
	binary   string
}

// AllowTransfer lets 127.0.0.1 and ::1 transfer every zone (AXFR and
// IXFR), for zone ingestion tests.
func AllowTransfer() Option { return func(o *options) { o.transfer = true } }

// Binary runs the knotd at path instead of the one found in $PATH,
// /usr/sbin or /usr/local/sbin.
func Binary(path string) Option { return func(o *options) { o.binary = path } }

// Start writes a configuration and the zone files for zones (origin → zone
// text in RFC 1035 master file format; origins with or without the final
// dot) into a temporary directory of t, starts knotd and returns once the
// server answers for every zone. The server stops when t ends. Start fails
// t when knotd does not start or a zone does not load, with knotd's log.
func Start(t testing.TB, zones map[string]string, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	bin := o.binary
	if bin == "" {
		bin = findKnotd()
	}
	if bin == "" {
		msg := "dnstest: knotd (Knot DNS) is not installed; run scripts/knot.sh (apt-get install knot)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if len(zones) == 0 {
		t.Fatal("dnstest: Start needs at least one zone")
	}
	dir := t.TempDir()
	// knotd reaches its files as the user it runs as; the temporary
	// directory of a test run by root is not always searchable by others,
	// so knotd runs as the current user.
	owner, err := currentOwner()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	var origins []string
	for origin, text := range zones {
		origin = fqdn(origin)
		origins = append(origins, origin)
		name := filepath.Join(dir, zoneFile(origin))
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatalf("dnstest: %v", err)
		}
	}
	sort.Strings(origins)

	// A free port can be taken by another process between the probe and
	// knotd's bind: try a few.
	var s *Server
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		s = &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir,
			conf: filepath.Join(dir, "knot.conf"), knotd: bin, log: &syncBuffer{}}
		conf := config(dir, port, owner, origins, o.transfer)
		if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		err = s.start(bin, origins)
		if err == nil {
			break
		}
		s.stop()
		if attempt == 4 || !strings.Contains(s.log.String(), "address already in use") {
			t.Fatalf("dnstest: %v\nknotd's log:\n%s", err, s.log.String())
		}
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Logf("dnstest: stop knotd: %v\nknotd's log:\n%s", err, s.log.String())
		}
	})
	return s
}

// Zone returns the text of a zone for origin: $ORIGIN, $TTL 60, an SOA, an
// NS at the apex (ns.ORIGIN with address 127.0.0.1), then records, one per
// line, relative to the origin unless they end in a dot.
func Zone(origin string, records ...string) string {
	origin = fqdn(origin)
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n$TTL 60\n", origin)
	fmt.Fprintf(&b, "@ SOA ns.%s hostmaster.%s 1 3600 600 86400 60\n", origin, origin)
	fmt.Fprintf(&b, "@ NS ns.%s\nns A 127.0.0.1\n", origin)
	for _, r := range records {
		b.WriteString(r)
		b.WriteByte('\n')
	}
	return b.String()
}

// Resolver returns a resolver that sends every query to s (the Go
// resolver, over UDP and, for truncated answers, TCP).
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr)
	}}
}

// SetZone replaces the zone origin (one given to Start) with text and
// reloads it, returning once knotd serves the new text. Give the new text
// a higher SOA serial when a test transfers the zone incrementally.
func (s *Server) SetZone(t testing.TB, origin, text string) {
	t.Helper()
	origin = fqdn(origin)
	if err := os.WriteFile(filepath.Join(s.Dir, zoneFile(origin)), []byte(text), 0o644); err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	knotc := filepath.Join(filepath.Dir(s.knotd), "knotc")
	if p, err := exec.LookPath("knotc"); err == nil {
		knotc = p
	}
	out, err := exec.Command(knotc, "-c", s.conf, "-b", "-t", "20", "zone-reload", origin).CombinedOutput()
	if err != nil {
		t.Fatalf("dnstest: knotc zone-reload %s: %v\n%s\nknotd's log:\n%s", origin, err, out, s.log.String())
	}
}

// Log returns what knotd has logged so far.
func (s *Server) Log() string { return s.log.String() }

// ConfigFile returns the path of the server's knot.conf.
func (s *Server) ConfigFile() string { return s.conf }

func (s *Server) start(bin string, origins []string) error {
	s.cmd = exec.Command(bin, "-c", s.conf)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	s.waitExit = func() error { return <-exited }
	r := s.Resolver()
	deadline := time.Now().Add(20 * time.Second)
	pending := origins
	for len(pending) > 0 {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("knotd exited while starting: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("knotd does not answer for %s after 20s", strings.Join(pending, ", "))
		}
		if answers(r, pending[0]) {
			pending = pending[1:]
			continue
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// answers reports whether the server answers authoritatively for origin:
// a name in it that does not exist gives NXDOMAIN once the zone is loaded
// (before, knotd answers REFUSED or SERVFAIL, or nothing).
func answers(r *net.Resolver, origin string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := r.LookupTXT(ctx, "dnstest-ready-probe."+origin)
	var de *net.DNSError
	return err == nil || errors.As(err, &de) && de.IsNotFound
}

func (s *Server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.waitExit() }()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
		return errors.New("knotd did not stop on SIGTERM within 10s; killed")
	}
}

func findKnotd() string {
	if p, err := exec.LookPath("knotd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/knotd", "/usr/local/sbin/knotd"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// config is knot.conf for a server of dir on 127.0.0.1@port. The control
// socket, the PID file and the databases are in dir, so servers of tests
// running at once never meet.
func config(dir string, port int, owner string, origins []string, transfer bool) string {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, "server:\n    listen: 127.0.0.1@%d\n    rundir: %s\n    pidfile: %s\n    user: %s\n",
		port, q(dir), q(filepath.Join(dir, "knot.pid")), q(owner))
	fmt.Fprintf(&b, "    tcp-workers: 2\n    udp-workers: 2\n    background-workers: 1\n")
	fmt.Fprintf(&b, "control:\n    listen: %s\n", q(filepath.Join(dir, "knot.sock")))
	fmt.Fprintf(&b, "log:\n  - target: stderr\n    any: info\n")
	fmt.Fprintf(&b, "database:\n    storage: %s\n", q(dir))
	if transfer {
		fmt.Fprintf(&b, "acl:\n  - id: loopback-transfer\n    address: [127.0.0.1, ::1]\n    action: transfer\n")
	}
	fmt.Fprintf(&b, "template:\n  - id: default\n    storage: %s\n    file: \"%%s.zone\"\n    zonefile-sync: -1\n    journal-content: none\n", q(dir))
	if transfer {
		fmt.Fprintf(&b, "    acl: loopback-transfer\n")
	}
	b.WriteString("zone:\n")
	for _, o := range origins {
		fmt.Fprintf(&b, "  - domain: %s\n    file: %s\n", q(o), q(filepath.Join(dir, zoneFile(o))))
	}
	return b.String()
}

func zoneFile(origin string) string {
	if origin == "." {
		return "root.zone"
	}
	return strings.TrimSuffix(origin, ".") + ".zone"
}

func fqdn(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// currentOwner returns "user:group" of the process, as knot.conf's
// server.user takes it.
func currentOwner() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("current user: %w", err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return "", fmt.Errorf("group %s of user %s: %w", u.Gid, u.Username, err)
	}
	return u.Username + ":" + g.Name, nil
}

// freePort returns a loopback port that is free for TCP and UDP at once.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no loopback port free for both TCP and UDP")
}

// syncBuffer is knotd's log: written by the process's output copier, read
// by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
