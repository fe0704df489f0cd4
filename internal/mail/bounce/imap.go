package bounce

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPConfig says where the CSIRT's mailbox is and how to log in.
type IMAPConfig struct {
	Addr     string // host:port, e.g. "imap.csirt.example:993"
	Security string // "tls" (implicit TLS, port 993), "starttls" (port 143) or "none"
	Username string
	Password string
	Folder   string // "INBOX" when empty
	// TLSConfig is used for "tls" and "starttls"; nil means the system's
	// roots and Addr's host as server name.
	TLSConfig *tls.Config
	// Timeout bounds the dial and each read and write; 30 s when zero.
	Timeout time.Duration
}

// Security modes of IMAPConfig.
const (
	SecurityTLS      = "tls"
	SecurityStartTLS = "starttls"
	SecurityNone     = "none"
)

// IMAP reads a folder on an IMAP server. Each logs in, selects the
// folder, and yields the messages without the \Seen flag, oldest first,
// fetched with BODY.PEEK[] so that reading alone marks nothing. After fn
// returns nil for a message, Each sets its \Seen flag. The key is
// "UIDVALIDITY/UID", stable while the server keeps the folder's
// UIDVALIDITY. Each connection lasts one call of Each.
func IMAP(cfg IMAPConfig) Mailbox { return imapBox{cfg: cfg} }

type imapBox struct{ cfg IMAPConfig }

func (m imapBox) Each(ctx context.Context, fn func(key string, r io.Reader) error) error {
	c, err := m.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	// Close the connection when ctx ends so that a blocked command returns.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	err = m.each(ctx, c, fn)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if err == nil {
		if lerr := c.Logout().Wait(); lerr != nil {
			return fmt.Errorf("imap %s: logout: %w", m.cfg.Addr, lerr)
		}
	}
	return err
}

func (m imapBox) dial() (*imapclient.Client, error) {
	timeout := m.cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	tlsConfig := m.cfg.TLSConfig
	if tlsConfig == nil {
		host, _, err := net.SplitHostPort(m.cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("imap addr %q: %w (want host:port)", m.cfg.Addr, err)
		}
		tlsConfig = &tls.Config{ServerName: host}
	}
	opts := &imapclient.Options{
		TLSConfig: tlsConfig,
		Dialer:    &net.Dialer{Timeout: timeout},
	}
	var c *imapclient.Client
	var err error
	switch m.cfg.Security {
	case SecurityTLS:
		c, err = imapclient.DialTLS(m.cfg.Addr, opts)
	case SecurityStartTLS:
		c, err = imapclient.DialStartTLS(m.cfg.Addr, opts)
	case SecurityNone:
		c, err = imapclient.DialInsecure(m.cfg.Addr, opts)
	default:
		return nil, fmt.Errorf("imap security %q: want %q, %q or %q", m.cfg.Security, SecurityTLS, SecurityStartTLS, SecurityNone)
	}
	if err != nil {
		return nil, fmt.Errorf("imap %s: connect: %w", m.cfg.Addr, err)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap %s: greeting: %w", m.cfg.Addr, err)
	}
	if err := c.Login(m.cfg.Username, m.cfg.Password).Wait(); err != nil {
		c.Close()
		// The error is the server's answer; it never holds the password.
		return nil, fmt.Errorf("imap %s: login as %q: %w", m.cfg.Addr, m.cfg.Username, err)
	}
	return c, nil
}

func (m imapBox) each(ctx context.Context, c *imapclient.Client, fn func(key string, r io.Reader) error) error {
	folder := m.cfg.Folder
	if folder == "" {
		folder = "INBOX"
	}
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		return fmt.Errorf("imap %s: select %q: %w", m.cfg.Addr, folder, err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("imap %s: search unseen in %q: %w", m.cfg.Addr, folder, err)
	}
	for _, uid := range found.AllUIDs() { // ascending: oldest first
		if err := ctx.Err(); err != nil {
			return err
		}
		key := fmt.Sprintf("%d/%d", sel.UIDValidity, uid)
		handled, err := fetchOne(c, uid, key, fn)
		if err != nil {
			return err
		}
		if !handled {
			continue // expunged meanwhile
		}
		store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
		if err := c.Store(imap.UIDSetNum(uid), store, nil).Close(); err != nil {
			return fmt.Errorf("imap %s: mark %s seen: %w", m.cfg.Addr, key, err)
		}
	}
	return nil
}

// errNoBody is returned when the server answers a fetch without the
// message text.
var errNoBody = errors.New("server sent no message body")

// fetchOne streams the message uid to fn. It reports false when the
// server no longer has it.
func fetchOne(c *imapclient.Client, uid imap.UID, key string, fn func(key string, r io.Reader) error) (bool, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	msg := cmd.Next()
	if msg == nil {
		return false, cmd.Close()
	}
	var fnErr error
	var sawBody bool
	for item := msg.Next(); item != nil; item = msg.Next() {
		body, ok := item.(imapclient.FetchItemDataBodySection)
		if !ok || body.Literal == nil || sawBody {
			continue
		}
		sawBody = true
		fnErr = fn(key, body.Literal)
		// Whatever fn left unread is discarded by the client.
	}
	if err := cmd.Close(); err != nil {
		return false, fmt.Errorf("imap: fetch %s: %w", key, err)
	}
	if fnErr != nil {
		return false, fnErr
	}
	if !sawBody {
		return false, fmt.Errorf("imap: fetch %s: %w", key, errNoBody)
	}
	return true, nil
}
