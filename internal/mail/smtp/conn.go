package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin/internal/mail"
)

// conn is one SMTP session, used by one Send at a time.
type conn struct {
	c    *Client
	nc   net.Conn // the TCP or TLS connection: deadlines and Close
	text *textproto.Conn
	ext  map[string]string // EHLO keywords, upper case, to their parameters
	tls  bool

	mu        sync.Mutex // guards nc's deadline and the change of nc to TLS
	cancelled bool       // the Send's ctx ended: the deadline stays in the past

	used   bool // has been put back after a Send
	dirty  bool // a transaction was begun and not ended: RSET first
	broken bool // unusable: close it
	stale  bool // the first command of this use failed on the connection
}

// dial opens and sets up a connection: banner, EHLO, TLS, AUTH.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	nc, err := c.cfg.Dial(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, &mail.SendError{Temporary: true, Err: fmt.Errorf("connect to %s: %w", c.cfg.Addr, err)}
	}
	cn := &conn{c: c, nc: nc, text: textproto.NewConn(nc)}
	stop := context.AfterFunc(ctx, cn.cancel)
	err = cn.setup(ctx)
	if !stop() || err != nil {
		nc.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	return cn, nil
}

func (cn *conn) setup(ctx context.Context) error {
	if cn.c.cfg.TLS == TLSImplicit {
		if err := cn.handshake(ctx); err != nil {
			return err
		}
	}
	cn.deadline()
	if _, _, err := cn.text.ReadResponse(220); err != nil {
		return cn.fail("greeting", "", err)
	}
	if err := cn.hello(); err != nil {
		return err
	}
	if !cn.tls && cn.c.cfg.TLS != TLSNone {
		if _, ok := cn.ext["STARTTLS"]; ok {
			if _, _, err := cn.cmd(220, "STARTTLS"); err != nil {
				return cn.fail("starttls", "", err)
			}
			if err := cn.handshake(ctx); err != nil {
				return err
			}
			if err := cn.hello(); err != nil {
				return err
			}
		} else if cn.c.cfg.TLS == TLSStartTLS {
			return &mail.SendError{Err: fmt.Errorf("%w: %s does not offer STARTTLS; set tls to opportunistic or none to send in the clear", ErrConfig, cn.c.cfg.Addr)}
		}
	}
	if cn.c.cfg.Username != "" {
		return cn.auth()
	}
	return nil
}

// handshake turns the connection into a TLS one.
func (cn *conn) handshake(ctx context.Context) error {
	tc := tls.Client(cn.nc, cn.c.tls)
	cn.deadline()
	if err := tc.HandshakeContext(ctx); err != nil {
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			return &mail.SendError{Err: fmt.Errorf("%w: certificate of %s: %w; trust its CA (root_cas) or fix the server's certificate", ErrConfig, cn.c.cfg.Addr, verr.Err)}
		}
		return &mail.SendError{Temporary: true, Err: fmt.Errorf("tls handshake with %s: %w", cn.c.cfg.Addr, err)}
	}
	cn.mu.Lock() // cancel may be reading nc
	cn.nc = tc
	cn.mu.Unlock()
	cn.text = textproto.NewConn(tc)
	cn.tls = true
	return nil
}

// hello says EHLO, falling back to HELO, and records the extensions.
func (cn *conn) hello() error {
	cn.ext = map[string]string{}
	_, msg, err := cn.cmd(250, "EHLO %s", cn.c.cfg.HeloName)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code/100 == 5 {
		_, _, err = cn.cmd(250, "HELO %s", cn.c.cfg.HeloName)
		msg = ""
	}
	if err != nil {
		return cn.fail("hello", "", err)
	}
	lines := strings.Split(msg, "\n")
	for _, l := range lines[1:] { // the first is the greeting
		k, v, _ := strings.Cut(l, " ")
		cn.ext[strings.ToUpper(k)] = v
	}
	return nil
}

// auth authenticates with AUTH PLAIN. Nothing it returns contains the password.
func (cn *conn) auth() error {
	cfg := cn.c.cfg
	if !cn.tls && !isLoopback(cn.c.host) {
		return &mail.SendError{Err: fmt.Errorf("%w: %s offers no TLS: refusing to send the password of %q in the clear; use tls starttls or tls", ErrConfig, cfg.Addr, cfg.Username)}
	}
	mechs := strings.Fields(strings.ToUpper(cn.ext["AUTH"]))
	has := func(m string) bool {
		for _, x := range mechs {
			if x == m {
				return true
			}
		}
		return false
	}
	b64 := base64.StdEncoding.EncodeToString
	if !has("PLAIN") {
		return &mail.SendError{Err: fmt.Errorf("%w: %s offers no AUTH PLAIN (it offers %q); remove the username or use another server", ErrConfig, cfg.Addr, cn.ext["AUTH"])}
	}
	_, _, err := cn.cmd(235, "AUTH PLAIN %s", b64([]byte("\x00"+cfg.Username+"\x00"+cfg.Password)))
	if err == nil {
		return nil
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		msg := te.Msg
		if cfg.Password != "" { // in case a server echoes what it got
			msg = strings.ReplaceAll(msg, cfg.Password, "***")
			msg = strings.ReplaceAll(msg, b64([]byte(cfg.Password)), "***")
		}
		if te.Code == 421 {
			cn.broken = true
		}
		if te.Code/100 == 5 {
			return &mail.SendError{Code: te.Code, Err: fmt.Errorf("%w: auth as %q: %s", ErrConfig, cfg.Username, msg)}
		}
		return &mail.SendError{Code: te.Code, Temporary: true, Err: fmt.Errorf("auth as %q: %s", cfg.Username, msg)}
	}
	return cn.fail("auth", "", err)
}

// deliver runs one mail transaction: MAIL, RCPT for each recipient, DATA.
// It sets cn.stale when the first command failed on the connection (not
// with a reply), and cn.broken when the connection is no longer usable.
func (cn *conn) deliver(env mail.Envelope, msg []byte) error {
	cn.stale = false
	if cn.dirty {
		if _, _, err := cn.cmd(250, "RSET"); err != nil {
			cn.stale, cn.broken = true, true
			return cn.fail("rset", "", err)
		}
		cn.dirty = false
	}
	from := "MAIL FROM:<" + env.From + ">"
	if _, ok := cn.ext["SIZE"]; ok {
		if max, err := strconv.Atoi(cn.ext["SIZE"]); err == nil && max > 0 && len(msg) > max {
			return &mail.SendError{Err: fmt.Errorf("message of %d bytes exceeds the server's limit of %d", len(msg), max)}
		}
		from += " SIZE=" + strconv.Itoa(len(msg))
	}
	if _, ok := cn.ext["8BITMIME"]; ok && !isASCII(msg) {
		from += " BODY=8BITMIME"
	}
	if !isASCII([]byte(env.From + strings.Join(env.To, ""))) {
		if _, ok := cn.ext["SMTPUTF8"]; !ok {
			return &mail.SendError{Err: fmt.Errorf("%s does not offer SMTPUTF8, needed for the addresses %q → %q", cn.c.cfg.Addr, env.From, env.To)}
		}
		from += " SMTPUTF8"
	}
	cn.dirty = true
	if _, _, err := cn.cmd(250, "%s", from); err != nil {
		cn.stale = !isReply(err) || isReplyCode(err, 421)
		return cn.fail("mail from", "", err)
	}
	var refused *mail.SendError
	for _, to := range env.To {
		_, _, err := cn.cmd(25, "RCPT TO:<%s>", to)
		if err == nil {
			continue
		}
		if !isReply(err) || isReplyCode(err, 421) {
			return cn.fail("rcpt to", to, err)
		}
		var se *mail.SendError
		errors.As(cn.fail("rcpt to", to, err), &se)
		if refused == nil || refused.Temporary && !se.Temporary {
			refused = se
		}
	}
	if refused != nil {
		return refused
	}
	if _, _, err := cn.cmd(354, "DATA"); err != nil {
		return cn.fail("data", "", err)
	}
	// The text goes straight to the connection through a larger buffer
	// than textproto's: fewer, larger writes (textproto's is empty now,
	// every command having been flushed).
	bw := dataWriters.Get().(*bufio.Writer)
	bw.Reset(cn.nc)
	err := writeData(bw, msg)
	bw.Reset(nil)
	dataWriters.Put(bw)
	if err != nil {
		return cn.fail("data", "", err)
	}
	if _, _, err := cn.text.ReadResponse(250); err != nil {
		return cn.fail("end of data", "", err)
	}
	cn.dirty = false
	return nil
}

// dataWriters are the buffers the text of messages is written through.
var dataWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// writeData writes msg as the text of DATA (RFC 5321 4.5.2), ending with
// the line ".", and flushes: every line ends in CRLF (a bare LF becomes
// CRLF) and a line that begins with '.' gets another. It is what
// textproto's DotWriter writes, a line at a time instead of a byte at a
// time: a notification is ~150 KB.
func writeData(w *bufio.Writer, msg []byte) error {
	if len(msg) == 0 {
		w.WriteString("\r\n") // an empty text is one empty line
	}
	for len(msg) > 0 {
		line := msg
		rest := []byte(nil)
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, rest = msg[:i], msg[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 && line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		w.WriteString("\r\n")
		msg = rest
	}
	w.WriteString(".\r\n")
	return w.Flush()
}

// cmd sends one command and reads its reply, with the Timeout as the
// deadline.
func (cn *conn) cmd(expect int, format string, args ...any) (int, string, error) {
	cn.deadline()
	id, err := cn.text.Cmd(format, args...)
	if err != nil {
		return 0, "", err
	}
	cn.text.StartResponse(id)
	defer cn.text.EndResponse(id)
	return cn.text.ReadResponse(expect)
}

// deadline gives the next exchange Timeout, unless the Send's ctx ended.
func (cn *conn) deadline() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if !cn.cancelled {
		cn.nc.SetDeadline(time.Now().Add(cn.c.cfg.Timeout))
	}
}

// cancel interrupts whatever the connection is doing, for good.
func (cn *conn) cancel() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.cancelled = true
	cn.nc.SetDeadline(time.Unix(1, 0))
}

// fail turns err from a command into a *mail.SendError, and marks the
// connection broken unless the server replied (and did not say 421).
func (cn *conn) fail(what, rcpt string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code == 421 {
			cn.broken = true
		}
		return &mail.SendError{Code: te.Code, Temporary: te.Code < 500, Recipient: rcpt, Err: fmt.Errorf("%s: %s", what, te.Msg)}
	}
	cn.broken = true
	return &mail.SendError{Temporary: true, Recipient: rcpt, Err: fmt.Errorf("%s %s: %w", what, cn.c.cfg.Addr, err)}
}

// quit says goodbye, briefly, and closes.
func (cn *conn) quit() {
	cn.nc.SetDeadline(time.Now().Add(time.Second))
	if _, err := cn.text.Cmd("QUIT"); err == nil {
		cn.text.ReadResponse(221)
	}
	cn.nc.Close()
}

func isReply(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te)
}

func isReplyCode(err error, code int) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code == code
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
