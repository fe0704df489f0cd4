package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sharedData is ../shared/data seen from this package.
const sharedData = "../../../shared/data"

func samplesDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(sharedData, "feeds", "intelmq", "parsers@d624988", "shadowserver", "testdata")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("needs the Shadowserver samples at %s (../shared/data): %v", dir, err)
	}
	return dir
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs tocsin in-process with a fresh environment whose data directory
// is dataDir.
func run(t *testing.T, dataDir string, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	env := &Env{Stdin: stdin, Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "TOCSIN_DATA_DIR" {
			return dataDir
		}
		return ""
	}}
	t.Setenv("TOCSIN_DATA_DIR", dataDir)
	t.Setenv("TOCSIN_DATABASE", "")
	code := Main(context.Background(), env, args)
	return result{code, out.String(), errb.String()}
}

func ingestJSON(t *testing.T, r result) ingestResult {
	t.Helper()
	var res ingestResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("ingest --json printed %q (stderr %s): %v", r.stdout, r.stderr, err)
	}
	return res
}

// sampleFiles lists IntelMQ's Shadowserver samples but phish_url.csv, a
// report type Shadowserver has retired: the current schema does not know it
// (the shadowserver package tests that it is refused with a clear error).
func sampleFiles(t *testing.T) []string {
	all, _ := filepath.Glob(filepath.Join(samplesDir(t), "*.csv"))
	var files []string
	for _, f := range all {
		if filepath.Base(f) != "phish_url.csv" {
			files = append(files, f)
		}
	}
	if len(files) < 80 {
		t.Fatalf("only %d samples found", len(files))
	}
	return files
}

// TestIngestShadowserverSamples is the contract end to end: every
// real Shadowserver sample ingests with nothing quarantined, a second ingest
// adds nothing, and the events come back with IntelMQ's field names.
func TestIngestShadowserverSamples(t *testing.T) {
	data := t.TempDir()
	files := sampleFiles(t)
	r := run(t, data, nil, append([]string{"ingest", "--json"}, files...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	res := ingestJSON(t, r)
	if res.Reports != int64(len(files)) || res.Quarantined != 0 || res.Events < 500 {
		t.Errorf("first ingest %+v of %d files", res, len(files))
	}
	if q := run(t, data, nil, "quarantine", "list", "--json"); q.stdout != "" {
		t.Errorf("quarantined rows:\n%s", q.stdout)
	}

	again := ingestJSON(t, run(t, data, nil, append([]string{"ingest", "--json", "--feed", "shadowserver"}, files...)...))
	if again.Reports != 0 || again.Events != 0 || again.Duplicates != 0 {
		t.Errorf("second ingest of the same files added %+v", again)
	}

	ev := run(t, data, nil, "events", "--json")
	lines := strings.Split(strings.TrimSpace(ev.stdout), "\n")
	if int64(len(lines)) != res.Events {
		t.Fatalf("events --json printed %d lines, want %d", len(lines), res.Events)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"feed.name", "classification.taxonomy", "classification.type", "time.observation", "tocsin.id", "tocsin.count"} {
		if _, ok := m[k]; !ok {
			t.Errorf("event lacks %s: %s", k, lines[0])
		}
	}
	if n := len(strings.Split(strings.TrimSpace(run(t, data, nil, "events", "--json", "--limit", "7").stdout), "\n")); n != 7 {
		t.Errorf("--limit 7 printed %d", n)
	}
	typ := run(t, data, nil, "events", "--json", "--type", "infected-system")
	for _, l := range strings.Split(strings.TrimSpace(typ.stdout), "\n") {
		if !strings.Contains(l, `"classification.type":"infected-system"`) {
			t.Errorf("--type infected-system printed %s", l)
			break
		}
	}
}

// TestIntelMQRoundTrip: tocsin events --format intelmq re-ingests to
// identical events.
func TestIntelMQRoundTrip(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if r := run(t, a, nil, append([]string{"ingest"}, sampleFiles(t)...)...); r.code != 0 {
		t.Fatalf("ingest: %s", r.stderr)
	}
	out := run(t, a, nil, "events", "--format", "intelmq")
	r := run(t, b, strings.NewReader(out.stdout), "ingest", "--json", "--feed", "intelmq", "-")
	if r.code != 0 {
		t.Fatalf("re-ingest: exit %d %s", r.code, r.stderr)
	}
	res := ingestJSON(t, r)
	if res.Quarantined != 0 {
		t.Errorf("re-ingest quarantined %d: %s", res.Quarantined, run(t, b, nil, "quarantine", "list").stdout)
	}
	back := run(t, b, nil, "events", "--format", "intelmq")
	if sortedLines(back.stdout) != sortedLines(out.stdout) {
		t.Errorf("events differ after the IntelMQ round trip")
		x, y := strings.Split(sortedLines(out.stdout), "\n"), strings.Split(sortedLines(back.stdout), "\n")
		for i := range min(len(x), len(y)) {
			if x[i] != y[i] {
				t.Errorf("first difference:\n%s\n%s", x[i], y[i])
				break
			}
		}
	}
}

func sortedLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// TestBadInput: an unreadable file is an error that names it, the other
// files are still ingested, and bad rows are quarantined with file and line.
func TestBadInput(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	good := filepath.Join(dir, "2026-11-24-scan_ssh-test-asn.csv")
	os.WriteFile(good, []byte("\"timestamp\",\"ip\",\"port\",\"hostname\",\"tag\",\"asn\",\"geo\"\n"+
		"\"2026-11-24 01:02:03\",\"192.0.2.1\",22,,\"ssh\",64500,\"SE\"\n"+
		"\"2026-11-24 01:02:03\",\"192.0.2.2\",\"twenty-two\",,\"ssh\",64500,\"SE\"\n"), 0o644)
	missing := filepath.Join(dir, "nope.csv")
	r := run(t, data, nil, "ingest", "--json", "--feed", "shadowserver", missing, good)
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, missing) {
		t.Errorf("stderr %q does not name %s", r.stderr, missing)
	}
	res := ingestJSON(t, r)
	if res.Reports != 1 || res.Events != 1 || res.Quarantined != 1 {
		t.Errorf("result %+v: the readable file must still be ingested", res)
	}
	q := run(t, data, nil, "quarantine", "list", "--json")
	var row map[string]any
	json.Unmarshal([]byte(strings.TrimSpace(q.stdout)), &row)
	if row["file"] != filepath.Base(good) || row["line"] != float64(3) || !strings.Contains(fmt.Sprint(row["reason"]), "twenty-two") {
		t.Errorf("quarantine row %v", row)
	}
}

func TestUsage(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"ingest"},
		{"ingest", "--no-such-flag", "x"},
		{"events", "--limit", "-1"},
		{"events", "--ip", "999.1.1.1"},
		{"events", "--format", "xml"},
		{"quarantine"},
	} {
		if r := run(t, data, nil, args...); r.code != 2 {
			t.Errorf("tocsin %v: exit %d, want 2 (stderr %s)", args, r.code, r.stderr)
		}
	}
	if r := run(t, data, nil, "ingest", "--feed", "no-such-feed", "x.csv"); r.code != 1 || !strings.Contains(r.stderr, "no-such-feed") {
		t.Errorf("unknown feed: exit %d, %s", r.code, r.stderr)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("database: sqlite\nfeeds:\n  - name: my-list\n    format: list\n    classification: {type: scanner}\n"), 0o644)
	r := run(t, dir, nil, "check-config", good)
	if r.code != 0 || !strings.Contains(r.stdout, "my-list") {
		t.Errorf("good config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("database: sqlite\nfeedz: []\n"), 0o644)
	r = run(t, dir, nil, "check-config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "bad.yaml:2") || !strings.Contains(r.stderr, "feedz") {
		t.Errorf("bad config: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestProgressOnlyOnTerminal: nothing but the result reaches a pipe.
func TestProgressOnlyOnTerminal(t *testing.T) {
	data := t.TempDir()
	r := run(t, data, nil, append([]string{"ingest", "--json"}, sampleFiles(t)[:3]...)...)
	if strings.Contains(r.stderr, "\r") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("non-terminal output has progress: stdout %q stderr %q", r.stdout, r.stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("stdout line is not JSON: %s", sc.Text())
		}
	}
}
