package mail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// files lists the names in dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestOutboxIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o := Outbox{Dir: dir}
	msg, err := baseMessage().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	env := Envelope{From: "cert@csirt.example", To: []string{"abuse@org.example"}, Ident: "TOCSIN-20261124-000123"}
	ctx := context.Background()
	for i := range 2 {
		if err := o.Send(ctx, env, msg); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	if got := files(t, dir); len(got) != 1 || got[0] != "TOCSIN-20261124-000123.eml" {
		t.Fatalf("outbox holds %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "TOCSIN-20261124-000123.eml")); string(got) != string(msg) {
		t.Fatal("file differs from the message")
	}

	other := append([]byte(nil), msg...)
	other[len(other)-3] ^= 1
	err = o.Send(ctx, env, other)
	if err == nil || Temporary(err) || !strings.Contains(err.Error(), "different message") {
		t.Fatalf("different content: err = %v (temporary %v), want a permanent error", err, Temporary(err))
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "TOCSIN-20261124-000123.eml")); string(got) != string(msg) {
		t.Fatal("a refused send changed the file")
	}
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("temporary files left: %q", got)
	}
}

func TestOutboxConcurrentSameMessage(t *testing.T) {
	o := Outbox{Dir: t.TempDir()}
	msg, _ := baseMessage().Bytes()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- o.Send(context.Background(), Envelope{Ident: "X-1"}, msg) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := files(t, o.Dir); len(got) != 1 {
		t.Fatalf("outbox holds %q", got)
	}
}

func TestOutboxNames(t *testing.T) {
	msg, _ := baseMessage().Bytes() // Message-ID <TOCSIN-20261124-000123@csirt.example>
	for _, tc := range []struct{ ident, want string }{
		{"TOCSIN-20261124-000123", "TOCSIN-20261124-000123.eml"},
		{"", "TOCSIN-20261124-000123@csirt.example.eml"},
		{"../../etc/passwd", "_.._etc_passwd.eml"},
		{"/abs/path", "_abs_path.eml"},
		{"..", "TOCSIN-20261124-000123@csirt.example.eml"},
		{".hidden", "hidden.eml"},
		{`a\b:c*?`, "a_b_c__.eml"},
		{"å", "__.eml"},
		{strings.Repeat("x", 300), strings.Repeat("x", maxFileName) + ".eml"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			root := t.TempDir()
			o := Outbox{Dir: filepath.Join(root, "a", "b")}
			if err := o.Send(context.Background(), Envelope{Ident: tc.ident}, msg); err != nil {
				t.Fatal(err)
			}
			if got := files(t, o.Dir); len(got) != 1 || got[0] != tc.want {
				t.Errorf("ident %q: outbox holds %q, want %q", tc.ident, got, tc.want)
			}
			if got := files(t, root); len(got) != 1 || got[0] != "a" {
				t.Errorf("ident %q: wrote outside the outbox: %q", tc.ident, got)
			}
		})
	}
}

func TestOutboxRefuses(t *testing.T) {
	o := Outbox{Dir: t.TempDir()}
	err := o.Send(context.Background(), Envelope{}, []byte("Subject: no id\r\n\r\nx\r\n"))
	if err == nil || Temporary(err) {
		t.Errorf("no name: err = %v, want a permanent error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Send(ctx, Envelope{Ident: "X"}, []byte("x")); err == nil {
		t.Error("cancelled context: no error")
	}
	if got := files(t, o.Dir); len(got) != 0 {
		t.Errorf("outbox holds %q", got)
	}
	// Something other than a regular file under the name.
	os.Mkdir(filepath.Join(o.Dir, "D.eml"), 0o700)
	if err := o.Send(context.Background(), Envelope{Ident: "D"}, []byte("x")); err == nil || Temporary(err) {
		t.Errorf("directory in the way: err = %v, want a permanent error", err)
	}
}
