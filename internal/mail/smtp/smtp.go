// Package smtp delivers rendered messages to a mail server over SMTP
// (RFC 5321) with STARTTLS (RFC 3207) or implicit TLS, and AUTH PLAIN
// (RFC 4954). A Client keeps a small pool of connections and is safe
// for concurrent use; each connection carries one message at a time and is
// reused for the next.
//
// The SMTP commands are written here over net/textproto rather than with
// net/smtp (frozen upstream), so that the client knows exactly how far a
// transaction got: a connection that dies before the message was handed
// over is retried once on a fresh connection, one that dies after may have
// delivered and is not; a refused recipient is named and the transaction
// reset, so that nothing is delivered unless every recipient was accepted.
package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin/internal/mail"
)

// TLS modes of Config.TLS.
const (
	// TLSStartTLS upgrades the connection with STARTTLS and refuses to
	// send to a server that does not offer it. The default.
	TLSStartTLS = "starttls"
	// TLSOpportunistic uses STARTTLS when the server offers it, and sends
	// in the clear when it does not. The certificate is verified whenever
	// TLS is used.
	TLSOpportunistic = "opportunistic"
	// TLSNone never uses TLS.
	TLSNone = "none"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit = "tls"
)

// ErrConfig is wrapped by errors that no retry can cure, only a change of
// configuration (or of the server's): a certificate that fails
// verification, STARTTLS required but not offered, credentials refused or
// not sendable. They are permanent *mail.SendError values with Recipient
// "", but unlike a refused message they say nothing about the recipients:
// a caller should not move to the next contact on them.
var ErrConfig = errors.New("smtp configuration")

// Config says how to reach the mail server.
type Config struct {
	Addr string // host:port of the server

	// TLS is one of TLSStartTLS (the default when ""), TLSOpportunistic,
	// TLSNone or TLSImplicit.
	TLS string

	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN. The password is
	// sent only over TLS or to a loopback address, and never appears in an
	// error.
	Username string
	Password string

	// HeloName is the name given in EHLO; the host name when "".
	HeloName string

	// RootCAs verifies the server's certificate; the system's roots when
	// nil. InsecureSkipVerify turns verification off (never in
	// production).
	RootCAs            *x509.CertPool
	InsecureSkipVerify bool

	// Timeout bounds the dial and each command's reply; 30s when zero.
	// A Send's context bounds the whole of it besides.
	Timeout time.Duration

	// MaxConns is the most connections open at once; 4 when zero. A Send
	// waits for a free connection when all are busy.
	MaxConns int

	// Dial opens the TCP connection; a net.Dialer with Timeout when nil.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client sends messages over a pool of SMTP connections. It implements
// mail.Sender and is safe for concurrent use. Close it when done.
type Client struct {
	cfg  Config
	host string // Addr's host, for TLS and the loopback check
	tls  *tls.Config

	slots chan struct{} // one token per connection that may be open

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

var _ mail.Sender = (*Client)(nil)

// New checks c and returns a Client. It opens no connection: the first
// Send does.
func New(c Config) (*Client, error) {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp addr %q: want host:port, e.g. mail.example.org:587: %w", c.Addr, err)
	}
	switch c.TLS {
	case "":
		c.TLS = TLSStartTLS
	case TLSStartTLS, TLSOpportunistic, TLSNone, TLSImplicit:
	default:
		return nil, fmt.Errorf("smtp tls %q: want one of starttls, opportunistic, none, tls", c.TLS)
	}
	if c.Username != "" && c.TLS == TLSNone && !isLoopback(host) {
		return nil, fmt.Errorf("smtp username %q with tls none: the password would cross the network in the clear; use tls starttls or tls", c.Username)
	}
	if c.Password != "" && c.Username == "" {
		return nil, errors.New("smtp password without username: set the username too")
	}
	if c.Timeout < 0 || c.MaxConns < 0 {
		return nil, errors.New("smtp timeout and max_conns must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxConns == 0 {
		c.MaxConns = 4
	}
	if c.HeloName == "" {
		c.HeloName, _ = os.Hostname()
		if c.HeloName == "" || strings.ContainsAny(c.HeloName, " \r\n") {
			c.HeloName = "localhost"
		}
	}
	if strings.ContainsAny(c.HeloName, " \r\n") {
		return nil, fmt.Errorf("smtp helo name %q: must be one word", c.HeloName)
	}
	if c.Dial == nil {
		d := &net.Dialer{Timeout: c.Timeout}
		c.Dial = d.DialContext
	}
	return &Client{
		cfg:  c,
		host: host,
		tls: &tls.Config{
			ServerName:         host,
			RootCAs:            c.RootCAs,
			InsecureSkipVerify: c.InsecureSkipVerify,
			MinVersion:         tls.VersionTLS12,
		},
		slots: make(chan struct{}, c.MaxConns),
	}, nil
}

// Send delivers msg, a complete RFC 5322 message with CRLF line ends, to
// every address of env.To with env.From as the return path (MAIL FROM:<>
// when ""). It returns nil only when the server accepted the message for
// every recipient; otherwise the message was delivered to none of them
// (unless the connection failed after the message was handed over, which
// no client can tell apart).
//
// Errors are *mail.SendError: a 4xx reply is Temporary, a 5xx one is not;
// a recipient refused names it in Recipient (when several are, a permanent
// refusal is reported before a temporary one); a failed connection, TLS
// handshake or timeout is Temporary with Code 0; a configuration problem
// wraps ErrConfig and is permanent. When ctx ends first Send returns an
// error wrapping ctx.Err().
//
// A connection whose first command of a reuse fails (the server closed it
// while idle) is replaced by a new one and the message sent again.
func (c *Client) Send(ctx context.Context, env mail.Envelope, msg []byte) error {
	if err := checkEnvelope(env); err != nil {
		return err
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("smtp %s: wait for a connection: %w", c.cfg.Addr, ctx.Err())
	}
	defer func() { <-c.slots }()

	for attempt := 0; ; attempt++ {
		cn, err := c.get(ctx)
		if err != nil {
			return c.ctxErr(ctx, err)
		}
		stop := context.AfterFunc(ctx, cn.cancel)
		reused := cn.used
		err = cn.deliver(env, msg)
		if !stop() {
			cn.broken = true // its deadline is in the past for good
		}
		retry := err != nil && reused && cn.stale && attempt == 0 && ctx.Err() == nil
		c.put(cn) // cn is another Send's from here on
		if retry {
			continue
		}
		return c.ctxErr(ctx, err)
	}
}

// ctxErr prefers ctx's error to a connection failure it caused (a
// deadline in the past); a reply from the server stays what it is.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	var se *mail.SendError
	if err != nil && ctx.Err() != nil && (!errors.As(err, &se) || se.Code == 0 && se.Temporary) {
		return fmt.Errorf("smtp %s: %w", c.cfg.Addr, ctx.Err())
	}
	return err
}

// get returns an idle connection or a new one, set up (TLS, AUTH) under
// ctx. The caller holds a slot.
func (c *Client) get(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &mail.SendError{Temporary: true, Err: errors.New("smtp client closed")}
	}
	if n := len(c.idle); n > 0 {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	return c.dial(ctx)
}

// put keeps cn for the next Send, or closes it when it is broken or the
// client closed.
func (c *Client) put(cn *conn) {
	cn.used = true
	if !cn.broken {
		c.mu.Lock()
		if !c.closed {
			c.idle = append(c.idle, cn)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		cn.quit()
		return
	}
	cn.nc.Close()
}

// Close says QUIT on the idle connections and closes them; connections in
// use close when their Send ends. Send after Close fails.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, cn := range idle {
		cn.quit()
	}
	return nil
}

// checkEnvelope refuses addresses that cannot go into an SMTP command.
func checkEnvelope(env mail.Envelope) error {
	if len(env.To) == 0 {
		return &mail.SendError{Err: errors.New("envelope has no recipient")}
	}
	if badAddr(env.From) {
		return &mail.SendError{Err: fmt.Errorf("envelope sender %q is not a bare address", env.From)}
	}
	for _, to := range env.To {
		if to == "" || badAddr(to) {
			return &mail.SendError{Recipient: to, Err: fmt.Errorf("recipient %q is not a bare address", to)}
		}
	}
	return nil
}

func badAddr(a string) bool {
	return strings.ContainsAny(a, "<> \t\r\n\x00")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
