package bounce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fixture returns the bytes of testdata/name.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// classified is what a test remembers of one message read from a mailbox.
type classified struct {
	key string
	raw []byte
	res *Result
}

// readAll runs mb.Each, classifying every message.
func readAll(t *testing.T, mb Mailbox) []classified {
	t.Helper()
	var out []classified
	err := mb.Each(context.Background(), func(key string, r io.Reader) error {
		raw, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		res, err := Classify(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("classify %s: %w", key, err)
		}
		out = append(out, classified{key, raw, res})
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	return out
}

// checkAllFixtures asserts that got holds each fixture once, classified
// as in fixtureCases.
func checkAllFixtures(t *testing.T, got []classified) {
	t.Helper()
	if len(got) != len(fixtureCases) {
		t.Fatalf("read %d messages, want %d", len(got), len(fixtureCases))
	}
	keys := map[string]bool{}
	for _, c := range got {
		if keys[c.key] {
			t.Errorf("key %q given twice", c.key)
		}
		keys[c.key] = true
	}
	for _, tc := range fixtureCases {
		want := fixture(t, tc.file)
		i := slices.IndexFunc(got, func(c classified) bool { return sameMessage(c.raw, want) })
		if i < 0 {
			t.Errorf("%s: not read back unchanged", tc.file)
			continue
		}
		t.Run(tc.file, func(t *testing.T) {
			checkResult(t, got[i].res, tc.kind, tc.recipients, tc.origID, tc.ident, tc.from, tc.reason)
		})
	}
}

// sameMessage compares messages whatever their line ends.
func sameMessage(a, b []byte) bool {
	norm := func(b []byte) []byte {
		return bytes.TrimRight(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), "\n")
	}
	return bytes.Equal(norm(a), norm(b))
}

// writeMaildir puts every fixture into dir/new, as a delivery agent
// would, and returns their file names in the order written.
func writeMaildir(t *testing.T, dir string) []string {
	t.Helper()
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for i, tc := range fixtureCases {
		name := fmt.Sprintf("17640000%02d.M%dP1.csirt-test", i, i)
		if err := os.WriteFile(filepath.Join(dir, "new", name), fixture(t, tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func TestMaildir(t *testing.T) {
	dir := t.TempDir()
	names := writeMaildir(t, dir)
	// One message was read by a mail client already, one was answered
	// but not read.
	seen := filepath.Join(dir, "cur", "1763999999.M0P1.csirt-test:2,S")
	if err := os.WriteFile(seen, []byte("From: a@example.org\n\nold\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, "new", names[0])
	replied := filepath.Join(dir, "cur", names[0]+":2,R")
	if err := os.Rename(first, replied); err != nil {
		t.Fatal(err)
	}

	got := readAll(t, Maildir(dir))
	checkAllFixtures(t, got)
	if got[0].key != names[0] {
		t.Errorf("first key = %q, want the oldest message %q", got[0].key, names[0])
	}

	// All are in cur/ with the seen flag now, the other flags kept.
	newLeft, _ := os.ReadDir(filepath.Join(dir, "new"))
	if len(newLeft) != 0 {
		t.Errorf("new/ still holds %d messages", len(newLeft))
	}
	for _, name := range names[1:] {
		if _, err := os.Stat(filepath.Join(dir, "cur", name+":2,S")); err != nil {
			t.Errorf("not marked seen: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", names[0]+":2,RS")); err != nil {
		t.Errorf("replied message not marked seen with its flag kept: %v", err)
	}
	if again := readAll(t, Maildir(dir)); len(again) != 0 {
		t.Errorf("second read yielded %d messages, want 0", len(again))
	}
}

func TestMaildirStopsOnError(t *testing.T) {
	dir := t.TempDir()
	names := writeMaildir(t, dir)
	stop := errors.New("stop here")
	calls := 0
	err := Maildir(dir).Each(context.Background(), func(key string, r io.Reader) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("Each = %v after %d calls, want %v after 2", err, calls, stop)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", names[0]+":2,S")); err != nil {
		t.Errorf("first message not marked seen: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new", names[1])); err != nil {
		t.Errorf("failed message not left in new/: %v", err)
	}
	if left := readAll(t, Maildir(dir)); len(left) != len(names)-1 {
		t.Errorf("next run read %d messages, want %d", len(left), len(names)-1)
	}
}

func TestMaildirErrors(t *testing.T) {
	err := Maildir(filepath.Join(t.TempDir(), "missing")).Each(context.Background(), func(string, io.Reader) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "new/ and cur/") {
		t.Errorf("missing maildir: err = %v, want one that says what a maildir needs", err)
	}
	dir := t.TempDir()
	writeMaildir(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Maildir(dir).Each(ctx, func(string, io.Reader) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

// fromLine matches the lines mboxrd quotes: ">"s then "From ".
var fromLine = regexp.MustCompile(`(?m)^(>*From )`)

// writeMbox writes every fixture into one mboxrd file, and adds to each
// a body line that needs quoting.
func writeMbox(t *testing.T, path string) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	var want [][]byte
	for _, tc := range fixtureCases {
		msg := append(fixture(t, tc.file), "From here on, and\n>From there, quoted.\n"...)
		want = append(want, msg)
		buf.WriteString("From MAILER-DAEMON Tue Nov 24 11:02:03 2026\n")
		buf.Write(fromLine.ReplaceAll(msg, []byte(">$1")))
		buf.WriteString("\n")
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return want
}

func TestMbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bounces.mbox")
	want := writeMbox(t, path)
	got := readAll(t, Mbox(path))
	if len(got) != len(want) {
		t.Fatalf("read %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].raw, want[i]) {
			t.Errorf("message %d (%s) not unquoted back to the original:\n%s", i, fixtureCases[i].file, got[i].raw)
		}
		tc := fixtureCases[i]
		checkResult(t, got[i].res, tc.kind, tc.recipients, tc.origID, tc.ident, tc.from, tc.reason)
	}
	// An mbox marks nothing: the next run sees the same messages under
	// the same keys.
	again := readAll(t, Mbox(path))
	for i := range again {
		if again[i].key != got[i].key {
			t.Errorf("message %d: key %q, then %q", i, got[i].key, again[i].key)
		}
	}
}

func TestMboxEdges(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		bodies        []string
		err           string
	}{
		{"empty file", "", nil, ""},
		{"crlf and no final newline", "From a Tue Nov 24 11:02:03 2026\r\nSubject: x\r\n\r\none\r\n\r\nFrom b Tue Nov 24 11:02:04 2026\r\nSubject: y\r\n\r\ntwo",
			[]string{"Subject: x\r\n\r\none\r\n", "Subject: y\r\n\r\ntwo"}, ""},
		{"mboxo quoting", "From a\nSubject: x\n\n>From me\n>>From you\n", []string{"Subject: x\n\nFrom me\n>From you\n"}, ""},
		{"not an mbox", "Subject: x\n\nbody\n", nil, "first message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var bodies []string
			err := Mbox(path).Each(context.Background(), func(key string, r io.Reader) error {
				b, _ := io.ReadAll(r)
				bodies = append(bodies, string(b))
				return nil
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(bodies, tc.bodies) {
				t.Errorf("messages = %q, want %q", bodies, tc.bodies)
			}
		})
	}
	if err := Mbox(filepath.Join(dir, "missing")).Each(context.Background(), func(string, io.Reader) error { return nil }); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzMbox(f *testing.F) {
	f.Add([]byte("From a\nSubject: x\n\n>From me\n\nFrom b\r\n\r\n"))
	f.Add([]byte(""))
	f.Add([]byte("From \n>\n>>From \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		err := eachMbox(context.Background(), bytes.NewReader(b), func(key string, r io.Reader) error {
			n++
			if !strings.HasPrefix(key, "sha256:") {
				t.Fatalf("key %q", key)
			}
			_, err := io.ReadAll(r)
			return err
		})
		if err == nil && n > bytes.Count(b, []byte("From ")) {
			t.Fatalf("%d messages from %d From lines", n, bytes.Count(b, []byte("From ")))
		}
	})
}
