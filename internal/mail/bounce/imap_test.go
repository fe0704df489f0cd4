package bounce

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dovecot is a Dovecot IMAP server started for one test.
type dovecot struct {
	imapAddr  string // plain IMAP with STARTTLS
	imapsAddr string // implicit TLS
	maildir   string
	tls       *tls.Config // trusts the server's self-signed certificate
	uid, gid  int         // owner of the mail files
}

const (
	dovecotUser     = "analyst"
	dovecotPassword = "s3cret-test-password"
)

// startDovecot starts `dovecot -F` with a configuration of its own in a
// temporary directory: a static user, a maildir, a self-signed
// certificate, listeners on free loopback ports, logs to a file. It skips
// the test when Dovecot is not installed, unless CI is set.
func startDovecot(t *testing.T) *dovecot {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Dovecot server; not with -short")
	}
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr == nil {
			bin, err = "/usr/sbin/dovecot", nil
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("dovecot is not installed: install Debian's dovecot-imapd (apt-get install dovecot-imapd)")
		}
		t.Skip("dovecot is not installed: apt-get install dovecot-imapd to run the IMAP test")
	}

	// Dovecot's login processes must not run as root. As root the
	// unprivileged users that Debian's package creates run them, the mail
	// is owned by nobody, and the directories must be open to them.
	dir := t.TempDir()
	d := &dovecot{maildir: filepath.Join(dir, "Maildir"), uid: os.Getuid(), gid: os.Getgid()}
	internalUser, loginUser := "", ""
	if os.Geteuid() == 0 {
		internalUser, loginUser = "dovecot", "dovenull"
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("look up nobody: %v", err)
		}
		d.uid, _ = strconv.Atoi(nobody.Uid)
		d.gid, _ = strconv.Atoi(nobody.Gid)
		for p := dir; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		internalUser, loginUser = me.Username, me.Username
	}
	group, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Fatal(err)
	}
	internalGroup := group.Name
	if os.Geteuid() == 0 {
		internalGroup = "dovecot"
	}

	certFile, keyFile, pool := selfSignedCert(t, dir)
	d.tls = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	imapPort, imapsPort := freePort(t), freePort(t)
	d.imapAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort))
	d.imapsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapsPort))

	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <%[2]s
ssl_key = <%[3]s
auth_mechanisms = plain login
default_internal_user = %[4]s
default_internal_group = %[5]s
default_login_user = %[6]s
first_valid_uid = 1
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[7]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[8]d
    ssl = yes
  }
}
service anvil {
  chroot =
}
passdb {
  driver = static
  args = password=%[9]s
}
userdb {
  driver = static
  args = uid=%[10]d gid=%[11]d home=%[1]s/home
}
mail_location = maildir:%[12]s
`, dir, certFile, keyFile, internalUser, internalGroup, loginUser, imapPort, imapsPort,
		dovecotPassword, d.uid, d.gid, d.maildir)
	confFile := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"run", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "home"), d.uid, d.gid); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-F", "-c", confFile)
	out, err := os.Create(filepath.Join(dir, "dovecot.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		out.Close()
		if t.Failed() {
			logDovecot(t, dir)
		}
	})

	// Ready when both listeners accept; a bounded wait, not a timing
	// assertion.
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range []string{d.imapAddr, d.imapsAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				logDovecot(t, dir)
				t.Fatalf("dovecot exited: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				logDovecot(t, dir)
				t.Fatalf("dovecot does not listen on %s", addr)
			}
		}
	}
	return d
}

func logDovecot(t *testing.T, dir string) {
	for _, name := range []string{"dovecot.out", "dovecot.log"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			t.Logf("%s:\n%s", name, b)
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSignedCert writes a certificate for localhost and 127.0.0.1 and its
// key into dir, and returns their paths and a pool that trusts it.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// deliver puts every fixture into the server's maildir and gives the
// files to the mail user.
func (d *dovecot) deliver(t *testing.T) []string {
	t.Helper()
	names := writeMaildir(t, d.maildir)
	err := filepath.WalkDir(d.maildir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, d.uid, d.gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func (d *dovecot) config(addr, security string) IMAPConfig {
	return IMAPConfig{Addr: addr, Security: security, Username: dovecotUser, Password: dovecotPassword, TLSConfig: d.tls}
}

func TestIMAPDovecot(t *testing.T) {
	d := startDovecot(t)
	d.deliver(t)

	for _, step := range []struct {
		name     string
		addr     string
		security string
	}{
		{"starttls", d.imapAddr, SecurityStartTLS},
		{"implicit tls", d.imapsAddr, SecurityTLS},
	} {
		t.Run(step.name, func(t *testing.T) {
			// Reading without marking: fn fails on the first message.
			stop := errors.New("not now")
			calls := 0
			err := IMAP(d.config(step.addr, step.security)).Each(context.Background(), func(string, io.Reader) error {
				calls++
				return stop
			})
			if !errors.Is(err, stop) || calls != 1 {
				t.Fatalf("Each = %v after %d calls, want %v after 1", err, calls, stop)
			}
		})
	}

	got := readAll(t, IMAP(d.config(d.imapAddr, SecurityStartTLS)))
	checkAllFixtures(t, got)
	for i, c := range got {
		if !strings.HasSuffix(c.key, "/"+strconv.Itoa(i+1)) {
			t.Errorf("message %d: key %q, want UIDVALIDITY/%d (oldest first)", i, c.key, i+1)
		}
	}

	// Everything is \Seen now: on the server, and in its files.
	if again := readAll(t, IMAP(d.config(d.imapsAddr, SecurityTLS))); len(again) != 0 {
		t.Errorf("second read yielded %d messages, want 0", len(again))
	}
	if unseen := readAll(t, Maildir(d.maildir)); len(unseen) != 0 {
		t.Errorf("%d messages in the maildir lack the S flag", len(unseen))
	}
}

func TestIMAPDovecotErrors(t *testing.T) {
	d := startDovecot(t)
	nop := func(string, io.Reader) error { return nil }

	bad := d.config(d.imapAddr, SecurityStartTLS)
	bad.Password = "wrong-password-xyz"
	err := IMAP(bad).Each(context.Background(), nop)
	if err == nil || !strings.Contains(err.Error(), "login") || strings.Contains(err.Error(), bad.Password) {
		t.Errorf("wrong password: err = %v, want a login error without the password", err)
	}

	noFolder := d.config(d.imapAddr, SecurityStartTLS)
	noFolder.Folder = "Bounces"
	if err := IMAP(noFolder).Each(context.Background(), nop); err == nil || !strings.Contains(err.Error(), `select "Bounces"`) {
		t.Errorf("missing folder: err = %v", err)
	}

	untrusted := d.config(d.imapsAddr, SecurityTLS)
	untrusted.TLSConfig = &tls.Config{ServerName: "localhost"}
	if err := IMAP(untrusted).Each(context.Background(), nop); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: err = %v", err)
	}

	plain := d.config(d.imapAddr, "ssl")
	if err := IMAP(plain).Each(context.Background(), nop); err == nil || !strings.Contains(err.Error(), `want "tls"`) {
		t.Errorf("unknown security: err = %v", err)
	}
}
