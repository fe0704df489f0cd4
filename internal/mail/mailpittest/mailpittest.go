// Package mailpittest runs a real mailpit (github.com/axllent/mailpit, an
// SMTP server with an HTTP API) on loopback ports for tests, and reads
// what it received through its API.
//
// The binary is $MAILPIT when set; otherwise it is built once with
// `go install github.com/axllent/mailpit@Version` into CacheDir, the
// place scripts/mailpit.sh builds it to as well. Test packages that run in
// parallel build it once between them (a file lock). When it cannot be
// built the test is skipped, or fails when the CI environment variable is
// set.
package mailpittest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Version is the mailpit release that Binary builds.
const Version = "v1.27.11"

// CacheDir is where Binary keeps the mailpit it builds:
// os.UserCacheDir()/tocsin/mailpit-Version ($XDG_CACHE_HOME or ~/.cache on
// Linux).
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("mailpit cache dir: %w", err)
	}
	return filepath.Join(d, "tocsin", "mailpit-"+Version), nil
}

// Binary returns the path of a mailpit binary: $MAILPIT when set, else the
// one in CacheDir, built there first when missing (which takes a minute or
// two the first time). It skips the test when the build fails, or fails it
// when $CI is set.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MAILPIT"); p != "" {
		return p
	}
	p, err := build()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mailpit: %v", err)
		}
		t.Skipf("mailpit is not available (%v); run scripts/mailpit.sh or set MAILPIT to a mailpit binary", err)
	}
	return p
}

// build installs mailpit into CacheDir unless it is there already.
func build() (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mailpit")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil { // another process built it meanwhile
		return bin, nil
	}

	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gobin)
	work, err := os.MkdirTemp("", "mailpit-build-") // outside any module: our go.mod is untouched
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build mailpit: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gocmd, "install", "github.com/axllent/mailpit@"+Version)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "GO111MODULE=on", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install github.com/axllent/mailpit@%s: %w\n%s", Version, err, out)
	}
	if err := os.Rename(filepath.Join(gobin, "mailpit"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// An Option changes how Start runs mailpit.
type Option func(*options)

type options struct {
	tls        string // "", "starttls", "require-starttls", "implicit"
	user, pass string
	insecure   bool
	allowed    string
	chaos      bool
	args       []string
}

// STARTTLS offers STARTTLS with a self-signed certificate for 127.0.0.1,
// ::1 and localhost, which Server.RootCAs trusts.
func STARTTLS() Option { return func(o *options) { o.tls = "starttls" } }

// RequireSTARTTLS is STARTTLS, and refuses mail (530) before it.
func RequireSTARTTLS() Option { return func(o *options) { o.tls = "require-starttls" } }

// ImplicitTLS speaks TLS from the first byte (SMTPS) with the certificate
// of STARTTLS.
func ImplicitTLS() Option { return func(o *options) { o.tls = "implicit" } }

// Auth requires AUTH with this user and password (an auth file: neither
// may hold a colon or white space). Without TLS it needs
// AllowInsecureAuth; with TLS, mailpit requires STARTTLS as well.
func Auth(user, password string) Option {
	return func(o *options) { o.user, o.pass = user, password }
}

// AllowInsecureAuth allows AUTH PLAIN and LOGIN without TLS.
func AllowInsecureAuth() Option { return func(o *options) { o.insecure = true } }

// AllowedRecipients refuses (550) every recipient that does not match the
// regular expression.
func AllowedRecipients(re string) Option { return func(o *options) { o.allowed = re } }

// Chaos enables mailpit's chaos triggers, set with Server.SetChaos.
func Chaos() Option { return func(o *options) { o.chaos = true } }

// Args passes more command-line flags to mailpit.
func Args(args ...string) Option { return func(o *options) { o.args = append(o.args, args...) } }

// Server is a running mailpit.
type Server struct {
	SMTPAddr string         // host:port of its SMTP server, on 127.0.0.1
	HTTPURL  string         // base URL of its web UI and API, no trailing slash
	RootCAs  *x509.CertPool // trusts its TLS certificate; nil without TLS
	CertFile string         // that certificate, PEM; "" without TLS

	log      string // its log file
	http     *http.Client
	pid      int
	implicit bool // TLS from the first byte: no greeting before a handshake
}

// CPUTime is the processor time mailpit has used so far (user and
// system), read from /proc; 0 where there is no /proc. Benchmarks use it
// to tell the server's cost from the client's.
func (s *Server) CPUTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 a second on Linux).
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// Start runs mailpit on free loopback ports with a database in
// t.TempDir(), waits until its SMTP and HTTP ports answer, and stops it
// when the test ends. It keeps every message (no --max).
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := Binary(t)
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir := t.TempDir()
	var base []string
	s := &Server{http: &http.Client{Timeout: 30 * time.Second}}
	if o.tls != "" {
		certPEM, keyPEM, pool := selfSigned(t)
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		writeFile(t, certFile, certPEM)
		writeFile(t, keyFile, keyPEM)
		base = append(base, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile)
		s.RootCAs, s.CertFile = pool, certFile
		switch o.tls {
		case "require-starttls":
			base = append(base, "--smtp-require-starttls")
		case "implicit":
			base = append(base, "--smtp-require-tls")
			s.implicit = true
		}
	}
	if o.user != "" {
		f := filepath.Join(dir, "smtp-auth")
		writeFile(t, f, []byte(o.user+":"+o.pass+"\n"))
		base = append(base, "--smtp-auth-file", f)
	}
	if o.insecure {
		base = append(base, "--smtp-auth-allow-insecure")
	}
	if o.allowed != "" {
		base = append(base, "--smtp-allowed-recipients", o.allowed)
	}
	if o.chaos {
		base = append(base, "--enable-chaos")
	}
	base = append(base, "--database", filepath.Join(dir, "mailpit.db"), "--max", "0",
		"--disable-version-check", "--smtp-disable-rdns", "--quiet")
	base = append(base, o.args...)

	// A free port may be taken between our probe and mailpit's bind:
	// then mailpit exits and we try other ports.
	var lastErr error
	for try := range 3 {
		s.SMTPAddr, s.HTTPURL = freeAddr(t), "http://"+freeAddr(t)
		s.log = filepath.Join(dir, fmt.Sprintf("mailpit-%d.log", try))
		args := append([]string{"--smtp", s.SMTPAddr, "--listen", strings.TrimPrefix(s.HTTPURL, "http://")}, base...)
		if lastErr = s.run(t, bin, args); lastErr == nil {
			return s
		}
	}
	t.Fatalf("start mailpit: %v", lastErr)
	return nil
}

// run starts mailpit with args and waits until it answers; on success it
// registers its stop with t.Cleanup.
func (s *Server) run(t testing.TB, bin string, args []string) error {
	logf, err := os.Create(s.log)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.pid = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("mailpit %s exited: %v\n%s", strings.Join(args, " "), err, s.tail())
		default:
		}
		if s.ready() {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("mailpit did not answer on %s and %s within 30s\n%s", s.SMTPAddr, s.HTTPURL, s.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("mailpit log:\n%s", s.tail())
		}
	})
	return nil
}

// ready reports whether the SMTP port greets and the API answers.
func (s *Server) ready() bool {
	c, err := net.DialTimeout("tcp", s.SMTPAddr, time.Second)
	if err != nil {
		return false
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if !s.implicit {
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "220") {
			c.Close()
			return false
		}
	}
	c.Close()
	resp, err := s.http.Get(s.HTTPURL + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// tail is the end of mailpit's log.
func (s *Server) tail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(bytes.TrimSpace(b))
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeFile(t testing.TB, name string, b []byte) {
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
