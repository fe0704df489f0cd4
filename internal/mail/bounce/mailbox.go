package bounce

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A Mailbox is where bounces and replies arrive: a maildir, an mbox file
// or an IMAP folder.
type Mailbox interface {
	// Each calls fn once for each message not yet marked seen, oldest
	// first, with a key that names the message for as long as it stays
	// in the mailbox, across runs. r is valid only until fn returns.
	//
	// When fn returns nil the message is marked seen, where the mailbox
	// can (see each implementation), so that the next Each skips it. When
	// fn returns an error, Each stops and returns that error; the message
	// stays unseen. Each also stops when ctx is done.
	Each(ctx context.Context, fn func(key string, r io.Reader) error) error
}

// Maildir reads the maildir at dir (with new/, cur/ and tmp/). Messages
// in new/ and those in cur/ without the S (seen) flag are yielded; after
// fn returns nil, a message in new/ is moved to cur/ with ":2,S" and one
// in cur/ gets the S flag, as a mail client does. The key is the unique
// part of the file name, before the ":2," info. tmp/ is never read.
func Maildir(dir string) Mailbox { return maildir{dir: dir} }

type maildir struct{ dir string }

func (m maildir) Each(ctx context.Context, fn func(key string, r io.Reader) error) error {
	type entry struct{ sub, name string }
	var list []entry
	for _, sub := range []string{"new", "cur"} {
		des, err := os.ReadDir(filepath.Join(m.dir, sub))
		if err != nil {
			return fmt.Errorf("read maildir %s: %w (is it a maildir with new/ and cur/?)", m.dir, err)
		}
		for _, de := range des {
			if de.IsDir() || strings.HasPrefix(de.Name(), ".") {
				continue
			}
			if sub == "cur" && strings.ContainsRune(maildirFlags(de.Name()), 'S') {
				continue
			}
			list = append(list, entry{sub, de.Name()})
		}
	}
	// Maildir names start with the delivery time in seconds.
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	for _, e := range list {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(m.dir, e.sub, e.name)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // another reader took it
		}
		if err != nil {
			return fmt.Errorf("read maildir: %w", err)
		}
		key, _, _ := strings.Cut(e.name, ":")
		err = fn(key, f)
		f.Close()
		if err != nil {
			return err
		}
		seen := filepath.Join(m.dir, "cur", key+":2,"+addFlag(maildirFlags(e.name), 'S'))
		if err := os.Rename(path, seen); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("mark %s seen: %w", key, err)
		}
	}
	return nil
}

// maildirFlags returns the flags of a maildir file name, "x:2,RS" → "RS".
func maildirFlags(name string) string {
	if _, flags, ok := strings.Cut(name, ":2,"); ok {
		return flags
	}
	return ""
}

// addFlag adds flag to flags, which stay in ASCII order as maildir wants.
func addFlag(flags string, flag rune) string {
	if strings.ContainsRune(flags, flag) {
		return flags
	}
	b := []byte(flags + string(flag))
	slices.Sort(b)
	return string(b)
}

// Mbox reads the mbox file at path: messages separated by lines that
// begin "From ", with ">From " quoting undone (mboxrd: one ">" is taken
// from any line that is ">"s followed by "From "; this also reads mboxo).
// An mbox cannot mark messages: Each yields every message every time, and
// the key, "sha256:" and a hash of the message, lets the caller remember
// which it has handled.
func Mbox(path string) Mailbox { return mbox{path: path} }

type mbox struct{ path string }

func (m mbox) Each(ctx context.Context, fn func(key string, r io.Reader) error) error {
	f, err := os.Open(m.path)
	if err != nil {
		return fmt.Errorf("read mbox: %w", err)
	}
	defer f.Close()
	if err := eachMbox(ctx, f, fn); err != nil {
		return fmt.Errorf("read mbox %s: %w", m.path, err)
	}
	return nil
}

// errNotMbox is returned for a file whose first line is not "From ".
var errNotMbox = errors.New("want a \"From \" line to start the first message (is it an mbox file?)")

// eachMbox splits r into messages; see Mbox. An error of fn is returned
// as it is.
func eachMbox(ctx context.Context, r io.Reader, fn func(key string, r io.Reader) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var msg bytes.Buffer
	started := false
	var fnErr error
	emit := func() bool {
		if !started {
			return true
		}
		if err := ctx.Err(); err != nil {
			fnErr = err
			return false
		}
		b := msg.Bytes()
		// The empty line before the next "From " line belongs to the format.
		if bytes.HasSuffix(b, []byte("\r\n\r\n")) {
			b = b[:len(b)-2]
		} else if bytes.HasSuffix(b, []byte("\n\n")) {
			b = b[:len(b)-1]
		}
		sum := sha256.Sum256(b)
		fnErr = fn("sha256:"+hex.EncodeToString(sum[:16]), bytes.NewReader(b))
		return fnErr == nil
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: keep it whole.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			switch {
			case bytes.HasPrefix(line, []byte("From ")):
				if !emit() {
					return fnErr
				}
				msg.Reset()
				started = true
			case !started:
				return errNotMbox
			default:
				if isQuotedFrom(line) {
					line = line[1:]
				}
				msg.Write(line)
			}
		}
		if errors.Is(err, io.EOF) {
			emit()
			return fnErr
		}
		if err != nil {
			return err
		}
	}
}

// isQuotedFrom reports whether line is one or more ">" then "From ".
func isQuotedFrom(line []byte) bool {
	rest := bytes.TrimLeft(line, ">")
	return len(rest) < len(line) && bytes.HasPrefix(rest, []byte("From "))
}
