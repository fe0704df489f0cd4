package mail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
)

// An Outbox is a Sender that writes each message to a file instead of
// delivering it: for the demo, for review before sending, or for another
// program to pick up. The file is Dir/<name>.eml, where name is the
// envelope's Ident, or else the message's Message-ID without its angle
// brackets, with every character other than letters, digits and ".-_@+="
// replaced by '_' and no leading dot, so that no name leaves Dir.
//
// A file appears whole or not at all (written aside, then linked into
// place). Sending the same message under the same name again succeeds
// without writing; a different message under a name already taken is a
// permanent *SendError, and the file is left as it was. Dir is created
// when missing.
type Outbox struct {
	Dir string
}

var _ Sender = Outbox{}

// maxFileName bounds the name part of an outbox file.
const maxFileName = 200

// Send writes msg to the outbox. Failing to write (a full disk) is an
// error that Temporary reports as worth retrying.
func (o Outbox) Send(ctx context.Context, env Envelope, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := fileName(env.Ident)
	if name == "" {
		name = fileName(strings.Trim(messageID(msg), "<>"))
	}
	if name == "" {
		return &SendError{Err: fmt.Errorf("outbox: no file name: the envelope has no Ident and the message no Message-ID")}
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	path := filepath.Join(o.Dir, name+".eml")

	tmp, err := os.CreateTemp(o.Dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(msg)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("outbox: write %s: %w", tmp.Name(), err)
	}

	// Link, unlike rename, never replaces a file that is already there.
	err = os.Link(tmp.Name(), path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// A file system without hard links: check, then rename.
		if _, serr := os.Lstat(path); errors.Is(serr, fs.ErrNotExist) {
			err = os.Rename(tmp.Name(), path)
		} else {
			err = fs.ErrExist
		}
	}
	switch {
	case err == nil:
		return syncDir(o.Dir)
	case errors.Is(err, fs.ErrExist):
		return sameFile(path, msg)
	default:
		return fmt.Errorf("outbox: %w", err)
	}
}

// sameFile returns nil when the regular file at path holds msg, and a
// permanent *SendError when it holds something else.
func sameFile(path string, msg []byte) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return &SendError{Err: fmt.Errorf("outbox: %s exists and is not a regular file", path)}
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if !bytes.Equal(old, msg) {
		return &SendError{Err: fmt.Errorf("outbox: %s already holds a different message; remove it or use another notification ID", path)}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("outbox: sync %s: %w", dir, err)
	}
	return nil
}

// fileName maps s to a safe file name: letters, digits and ".-_@+=" kept,
// anything else '_', no leading dot, at most maxFileName bytes; "" when
// nothing is left.
func fileName(s string) string {
	b := []byte(s)
	if len(b) > maxFileName {
		b = b[:maxFileName]
	}
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_@+=", c) >= 0) {
			b[i] = '_'
		}
	}
	return strings.TrimLeft(string(b), ".")
}

// messageID returns the Message-ID field of msg's header, or "".
func messageID(msg []byte) string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	return strings.TrimSpace(h.Get("Message-Id"))
}
