package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/mail/mailpittest"
	"github.com/tocsin/tocsin/internal/mail/smtp"
)

// message is a raw RFC 5322 message with a CSV attachment. Its body has a
// line that starts with a dot, which must arrive as it was.
func message(subject, to string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: CERT <cert@example.org>\r\nTo: %s\r\nSubject: %s\r\n", to, subject)
	fmt.Fprintf(&b, "Message-ID: <%s@example.org>\r\nMIME-Version: 1.0\r\n", strings.ReplaceAll(subject, " ", "-"))
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nEvents are attached.\r\n.hidden line\r\n")
	for b.Len() < size-120 {
		b.WriteString("padding padding padding padding padding padding padding padding\r\n")
	}
	b.WriteString("--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=events.csv\r\n\r\n")
	b.WriteString("ip,port\r\n192.0.2.1,23\r\n--b--\r\n")
	return b.Bytes()
}

// dialCounter counts the connections a Client opens and keeps them, so
// that a test can cut them.
type dialCounter struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dialCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *dialCounter) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

func newClient(t *testing.T, c smtp.Config) *smtp.Client {
	t.Helper()
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	cl, err := smtp.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func TestSendPlain(t *testing.T) {
	s := mailpittest.Start(t)
	cl := newClient(t, smtp.Config{Addr: s.SMTPAddr, TLS: smtp.TLSNone})
	env := mail.Envelope{From: "bounces@example.org", To: []string{"abuse@example.net", "noc@example.net"}}
	msg := message("report 1", "abuse@example.net", 0)
	if err := cl.Send(context.Background(), env, msg); err != nil {
		t.Fatal(err)
	}
	list := s.Messages(t)
	if len(list) != 1 {
		t.Fatalf("mailpit holds %d messages, want 1", len(list))
	}
	m := s.Message(t, list[0].ID)
	if m.Subject != "report 1" || m.MessageID != "report-1@example.org" || m.From.Address != "cert@example.org" || m.ReturnPath != "bounces@example.org" {
		t.Errorf("message: subject %q, id %q, from %v, return path %q", m.Subject, m.MessageID, m.From, m.ReturnPath)
	}
	var to []string
	for _, a := range append(m.To, m.Bcc...) {
		to = append(to, a.Address)
	}
	if strings.Join(to, " ") != "abuse@example.net noc@example.net" {
		t.Errorf("recipients %v, want abuse@ in To and noc@ as Bcc", to)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].FileName != "events.csv" || m.Attachments[0].ContentType != "text/csv" {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	if got := s.Attachment(t, m.ID, m.Attachments[0].PartID); string(got) != "ip,port\r\n192.0.2.1,23" {
		t.Errorf("attachment %q", got)
	}
	if raw := s.Raw(t, m.ID); !bytes.HasSuffix(raw, msg) {
		t.Errorf("raw message is not what was sent:\n%s", raw)
	}
}

// An address that is not ASCII goes with SMTPUTF8, which mailpit offers.
func TestSendUTF8Address(t *testing.T) {
	s := mailpittest.Start(t)
	cl := newClient(t, smtp.Config{Addr: s.SMTPAddr, TLS: smtp.TLSNone})
	const to = "josé@exemplo.pt"
	if err := cl.Send(context.Background(), mail.Envelope{From: "cert@example.org", To: []string{to}}, message("utf8", "abuse@example.net", 0)); err != nil {
		t.Fatal(err)
	}
	list := s.Messages(t)
	if len(list) != 1 || len(list[0].Bcc) != 1 || list[0].Bcc[0].Address != to {
		t.Fatalf("messages %+v, want one to %s", list, to)
	}
}

func TestSendTLS(t *testing.T) {
	tests := []struct {
		name   string
		server []mailpittest.Option
		tls    string
		user   string
	}{
		{"opportunistic, no tls offered", nil, smtp.TLSOpportunistic, ""},
		{"starttls required", []mailpittest.Option{mailpittest.RequireSTARTTLS()}, smtp.TLSStartTLS, ""},
		{"starttls offered, opportunistic", []mailpittest.Option{mailpittest.STARTTLS()}, smtp.TLSOpportunistic, ""},
		{"implicit tls", []mailpittest.Option{mailpittest.ImplicitTLS()}, smtp.TLSImplicit, ""},
		{"starttls and auth", []mailpittest.Option{mailpittest.STARTTLS(), mailpittest.Auth("tocsin", "s3cret-pass")}, smtp.TLSStartTLS, "tocsin"},
		{"auth to loopback without tls", []mailpittest.Option{mailpittest.Auth("tocsin", "s3cret-pass"), mailpittest.AllowInsecureAuth()}, smtp.TLSNone, "tocsin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mailpittest.Start(t, tt.server...)
			c := smtp.Config{Addr: s.SMTPAddr, TLS: tt.tls, RootCAs: s.RootCAs}
			if tt.user != "" {
				c.Username, c.Password = tt.user, "s3cret-pass"
			}
			cl := newClient(t, c)
			for i := range 2 { // the second over the same connection
				if err := cl.Send(context.Background(), mail.Envelope{From: "cert@example.org", To: []string{"abuse@example.net"}}, message(fmt.Sprint("tls ", i), "abuse@example.net", 0)); err != nil {
					t.Fatal(err)
				}
			}
			if n := s.Count(t); n != 2 {
				t.Fatalf("mailpit holds %d messages, want 2", n)
			}
			if tt.user == "" {
				return
			}
			// mailpit does not record who authenticated with PLAIN; that
			// it requires AUTH shows that ours succeeded.
			c.Username, c.Password = "", ""
			err := newClient(t, c).Send(context.Background(), mail.Envelope{From: "cert@example.org", To: []string{"abuse@example.net"}}, message("no auth", "abuse@example.net", 0))
			var se *mail.SendError
			if !errors.As(err, &se) || se.Code != 530 {
				t.Errorf("without credentials: %v, want 530", err)
			}
		})
	}
}

// Errors that no retry cures are permanent, wrap ErrConfig and say what
// to do; none holds the password.
func TestConfigErrors(t *testing.T) {
	plain := mailpittest.Start(t)
	tlsAuth := mailpittest.Start(t, mailpittest.STARTTLS(), mailpittest.Auth("tocsin", "right"))
	const password = "wr0ng-Pa55"
	tests := []struct {
		name string
		cfg  smtp.Config
		code int
		want string
	}{
		{"starttls not offered", smtp.Config{Addr: plain.SMTPAddr}, 0, "does not offer STARTTLS"},
		{"certificate not trusted", smtp.Config{Addr: tlsAuth.SMTPAddr, Username: "tocsin", Password: "right"}, 0, "certificate"},
		{"certificate for another name", smtp.Config{Addr: "mail.example.org:25", RootCAs: tlsAuth.RootCAs, Username: "tocsin", Password: "right", Dial: dialAs(tlsAuth.SMTPAddr)}, 0, "certificate"},
		{"wrong password", smtp.Config{Addr: tlsAuth.SMTPAddr, RootCAs: tlsAuth.RootCAs, Username: "tocsin", Password: password}, 535, "auth as \"tocsin\""},
		{"auth not offered", smtp.Config{Addr: plain.SMTPAddr, TLS: smtp.TLSNone, Username: "tocsin", Password: password}, 0, "offers no AUTH PLAIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := newClient(t, tt.cfg)
			err := cl.Send(context.Background(), mail.Envelope{From: "cert@example.org", To: []string{"abuse@example.net"}}, message("x", "abuse@example.net", 0))
			var se *mail.SendError
			if !errors.As(err, &se) || se.Temporary || se.Code != tt.code || se.Recipient != "" || !errors.Is(err, smtp.ErrConfig) {
				t.Fatalf("got %#v (%v), want a permanent ErrConfig with code %d", err, err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), password) {
				t.Errorf("error %q: want it to say %q and not hold the password", err, tt.want)
			}
		})
	}
	if n := plain.Count(t) + tlsAuth.Count(t); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

// dialAs connects to addr whatever address is asked for, so that the
// client checks the certificate for the name it was given, which the
// certificate does not hold.
func dialAs(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

// Replies from the real server are sorted into temporary and permanent,
// and the refused recipient is named. Chaos makes mailpit refuse senders or
// every recipient; --smtp-allowed-recipients refuses one recipient of two.
func TestReplyClassification(t *testing.T) {
	s := mailpittest.Start(t, mailpittest.Chaos(), mailpittest.AllowedRecipients(`@example\.net$`))
	cl := newClient(t, smtp.Config{Addr: s.SMTPAddr, TLS: smtp.TLSNone, MaxConns: 1})
	always := func(code int) mailpittest.ChaosTrigger {
		return mailpittest.ChaosTrigger{ErrorCode: code, Probability: 100}
	}
	tests := []struct {
		name      string
		chaos     mailpittest.ChaosTriggers
		to        []string
		code      int
		temporary bool
		recipient string
	}{
		{"recipient 451", mailpittest.ChaosTriggers{Recipient: always(451)}, []string{"abuse@example.net"}, 451, true, "abuse@example.net"},
		{"recipient 550", mailpittest.ChaosTriggers{Recipient: always(550)}, []string{"abuse@example.net"}, 550, false, "abuse@example.net"},
		{"sender 452", mailpittest.ChaosTriggers{Sender: always(452)}, []string{"abuse@example.net"}, 452, true, ""},
		{"sender 554", mailpittest.ChaosTriggers{Sender: always(554)}, []string{"abuse@example.net"}, 554, false, ""},
		{"one recipient of two refused", mailpittest.ChaosTriggers{}, []string{"abuse@example.net", "abuse@example.com"}, 550, false, "abuse@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetChaos(t, tt.chaos)
			defer s.SetChaos(t, mailpittest.ChaosTriggers{})
			err := cl.Send(context.Background(), mail.Envelope{From: "cert@example.org", To: tt.to}, message("x", tt.to[0], 0))
			var se *mail.SendError
			if !errors.As(err, &se) || se.Code != tt.code || se.Temporary != tt.temporary || se.Recipient != tt.recipient {
				t.Fatalf("got %v, want code %d, temporary %v, recipient %q", err, tt.code, tt.temporary, tt.recipient)
			}
			if mail.Temporary(err) != tt.temporary || errors.Is(err, smtp.ErrConfig) {
				t.Errorf("mail.Temporary = %v, ErrConfig %v", mail.Temporary(err), errors.Is(err, smtp.ErrConfig))
			}
		})
	}
	if n := s.Count(t); n != 0 {
		t.Fatalf("%d messages delivered, want none: a refusal must deliver to nobody", n)
	}
	// The connection is still good after the refusals (RSET).
	if err := cl.Send(context.Background(), mail.Envelope{From: "cert@example.org", To: []string{"abuse@example.net"}}, message("after", "abuse@example.net", 0)); err != nil {
		t.Fatal(err)
	}
	if n := s.Count(t); n != 1 {
		t.Fatalf("%d messages delivered, want 1", n)
	}
}

// Many goroutines share a few connections, and every message arrives.
func TestConcurrentSends(t *testing.T) {
	s := mailpittest.Start(t)
	var dials dialCounter
	const maxConns, workers, perWorker = 3, 8, 63
	cl := newClient(t, smtp.Config{Addr: s.SMTPAddr, TLS: smtp.TLSNone, MaxConns: maxConns, Dial: dials.dial})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				subject := fmt.Sprintf("w%d m%d", w, i)
				if err := cl.Send(context.Background(), mail.Envelope{From: "cert@example.org", To: []string{"abuse@example.net"}}, message(subject, "abuse@example.net", 2048)); err != nil {
					t.Error(err)
					failed.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	seen := map[string]bool{}
	for _, m := range s.Messages(t) {
		seen[m.Subject] = true
	}
	if len(seen) != workers*perWorker {
		t.Errorf("mailpit holds %d distinct messages, want %d", len(seen), workers*perWorker)
	}
	if n := dials.count(); n > maxConns {
		t.Errorf("%d connections opened for %d messages, want at most %d", n, workers*perWorker, maxConns)
	}
}

// A pooled connection that died while idle is replaced and the message
// sent once.
func TestReconnect(t *testing.T) {
	s := mailpittest.Start(t)
	var dials dialCounter
	cl := newClient(t, smtp.Config{Addr: s.SMTPAddr, TLS: smtp.TLSNone, MaxConns: 1, Dial: dials.dial})
	env := mail.Envelope{From: "cert@example.org", To: []string{"abuse@example.net"}}
	if err := cl.Send(context.Background(), env, message("one", "abuse@example.net", 0)); err != nil {
		t.Fatal(err)
	}
	dials.conns[0].Close() // as if the server had timed it out
	if err := cl.Send(context.Background(), env, message("two", "abuse@example.net", 0)); err != nil {
		t.Fatal(err)
	}
	if n := dials.count(); n != 2 {
		t.Errorf("%d dials, want 2", n)
	}
	if n := s.Count(t); n != 2 {
		t.Errorf("%d messages delivered, want 2", n)
	}
}

func TestContext(t *testing.T) {
	s := mailpittest.Start(t)
	cl := newClient(t, smtp.Config{Addr: s.SMTPAddr, TLS: smtp.TLSNone, MaxConns: 1})
	env := mail.Envelope{From: "cert@example.org", To: []string{"abuse@example.net"}}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cl.Send(ctx, env, message("x", "abuse@example.net", 0)); !errors.Is(err, context.Canceled) || !mail.Temporary(err) {
		t.Errorf("cancelled: got %v, want context.Canceled, temporary", err)
	}
	if err := cl.Send(context.Background(), env, message("y", "abuse@example.net", 0)); err != nil {
		t.Fatalf("after a cancelled send: %v", err)
	}

	// A server that accepts and never greets (a fake: mailpit always
	// answers). Timeout is an hour, so only ctx can end the Send.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := newClient(t, smtp.Config{Addr: l.Addr().String(), TLS: smtp.TLSNone, Timeout: time.Hour})
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := silent.Send(ctx, env, message("z", "abuse@example.net", 0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent server: got %v, want context.DeadlineExceeded", err)
	}
}

func TestEnvelopeErrors(t *testing.T) {
	cl := newClient(t, smtp.Config{Addr: "127.0.0.1:1", TLS: smtp.TLSNone}) // never dialled
	tests := []struct {
		name      string
		env       mail.Envelope
		recipient string
	}{
		{"no recipient", mail.Envelope{From: "a@example.org"}, ""},
		{"sender with CRLF", mail.Envelope{From: "a@example.org>\r\nRCPT TO:<x@y", To: []string{"b@example.net"}}, ""},
		{"recipient in brackets", mail.Envelope{From: "a@example.org", To: []string{"b@example.net", "<c@example.net>"}}, "<c@example.net>"},
		{"empty recipient", mail.Envelope{From: "a@example.org", To: []string{""}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cl.Send(context.Background(), tt.env, []byte("Subject: x\r\n\r\nx\r\n"))
			var se *mail.SendError
			if !errors.As(err, &se) || se.Temporary || se.Recipient != tt.recipient {
				t.Errorf("got %v, want a permanent error naming %q", err, tt.recipient)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  smtp.Config
		want string
	}{
		{"no port", smtp.Config{Addr: "mail.example.org"}, "host:port"},
		{"unknown tls mode", smtp.Config{Addr: "mail.example.org:25", TLS: "ssl"}, "starttls, opportunistic, none, tls"},
		{"password in the clear", smtp.Config{Addr: "mail.example.org:25", TLS: smtp.TLSNone, Username: "u", Password: "hunter2"}, "in the clear"},
		{"password without user", smtp.Config{Addr: "mail.example.org:25", Password: "hunter2"}, "set the username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := smtp.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// BenchmarkSendMailpit measures messages of 2 KB per second to a local
// mailpit, from 4×GOMAXPROCS goroutines over the default pool. On a
// shared machine msgs/s says little; the processor time per message, of
// the client (this process) and of mailpit, says what 2 cores can carry.
func BenchmarkSendMailpit(b *testing.B) {
	s := mailpittest.Start(b)
	cl, err := smtp.New(smtp.Config{Addr: s.SMTPAddr, TLS: smtp.TLSNone})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	msg := message("bench", "abuse@example.net", 2048)
	env := mail.Envelope{From: "cert@example.org", To: []string{"abuse@example.net"}}
	b.SetBytes(int64(len(msg)))
	b.SetParallelism(4) // 4 × GOMAXPROCS goroutines
	b.ResetTimer()
	start, cpu0, mp0 := time.Now(), processCPU(), s.CPUTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := cl.Send(context.Background(), env, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "client-cpu-µs/msg")
	b.ReportMetric(float64((s.CPUTime()-mp0).Microseconds())/float64(b.N), "mailpit-cpu-µs/msg")
}

// processCPU is the processor time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
