package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// mailpitVersion is the mailpit internal/mail/mailpittest builds, and
// where scripts/mailpit.sh puts it.
const mailpitVersion = "v1.27.11"

func defaultMailpit() string {
	if p := os.Getenv("MAILPIT"); p != "" {
		return p
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "mailpit"
	}
	return filepath.Join(d, "tocsin", "mailpit-"+mailpitVersion, "mailpit")
}

// benchNotify measures the notifier: N events for K organisations,
// grouped, rendered, signed and delivered to a local mailpit.
func benchNotify(ctx context.Context, env *Env, args []string) int {
	fs, _ := newFlags(env, "bench notify", "",
		"Builds N Shadowserver events (rows of every sample report type, fresh addresses over the whole IPv4\n"+
			"space) and K organisations that hold the address space between them, ingests them, then times\n"+
			"'tocsin notify run' end to end in a child process delivering into the outbox, over SMTP to a sink that\n"+
			"discards (tocsin's own rate) and to a local mailpit; and mailpit's own ceiling for the same messages,\n"+
			"sent ready-made. Prints messages/s and the child's peak RSS.")
	rows := fs.Int("events", 1_000_000, "how many events to build")
	orgs := fs.Int("orgs", 10_000, "how many organisations")
	shared := fs.String("shared", "../shared/data", "the shared data `directory`")
	mailpit := fs.String("mailpit", defaultMailpit(), "the mailpit `binary` (scripts/mailpit.sh builds it)")
	keep := fs.Bool("keep", false, "keep the work directory")
	if _, err := parseFlags(fs, args); err != nil {
		return usageError(env, fs, err)
	}
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "tocsin bench notify: %v\n", err)
		return exitFail
	}
	if _, err := os.Stat(*mailpit); err != nil {
		return fail(fmt.Errorf("no mailpit at %s: build it with scripts/mailpit.sh or name one with --mailpit", *mailpit))
	}
	samples := filepath.Join(*shared, "feeds", "intelmq", "parsers@d624988", "shadowserver", "testdata")
	work, err := os.MkdirTemp("", "tocsin-bench-notify-")
	if err != nil {
		return fail(err)
	}
	if !*keep {
		defer os.RemoveAll(work)
	}
	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(env.Stderr, "building %d events and %d organisations in %s ...\n", *rows, *orgs, work)
	files, n, err := buildBenchInput(samples, filepath.Join(work, "in"), *rows, false)
	if err != nil {
		return fail(err)
	}
	cons := filepath.Join(work, "constituents.csv")
	if err := writeBenchConstituency(cons, *orgs); err != nil {
		return fail(err)
	}
	sink, err := startSMTPSink()
	if err != nil {
		return fail(err)
	}
	defer sink.Close()
	cfgFor := func(smtpAddr string) string {
		s := "log:\n  level: warn\nnotify:\n  sender: {name: CERT-BENCH, email: cert@cert.example, url: https://cert.example}\n  lookback: 36500d\n  budget: 0\n"
		if smtpAddr != "" {
			s += fmt.Sprintf("  smtp: {addr: %q, tls: none, connections: 4}\n", smtpAddr)
		}
		return s
	}
	fmt.Fprintf(env.Stdout, "tocsin bench notify — %s, %s/%s, %d CPUs, Go %s\n", time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(env.Stdout, "input: %d Shadowserver events, %d organisations holding the IPv4 space between them, SQLite\n\n", n, *orgs)
	// run times one 'tocsin notify run' into a fresh data directory.
	run := func(name, smtpAddr string) (sent int, err error) {
		dataDir := filepath.Join(work, "data-"+name)
		cfg := filepath.Join(work, "bench-"+name+".yaml")
		if err := os.WriteFile(cfg, []byte(cfgFor(smtpAddr)), 0o640); err != nil {
			return 0, err
		}
		base := []string{"--config", cfg, "--data-dir", dataDir}
		for _, step := range [][]string{
			{"constituents", "import", cons},
			{"notify", "keygen"},
			append([]string{"ingest", "--feed", "shadowserver"}, files...),
		} {
			out, err := exec.CommandContext(ctx, self, append(append([]string{}, step...), base...)...).CombinedOutput()
			if err != nil {
				return 0, fmt.Errorf("%s: %v: %s", step[0], err, lastLines(string(out), 5))
			}
		}
		cmd := exec.CommandContext(ctx, self, append([]string{"notify", "run", "--json", "--now", time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}, base...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		stopAnon := make(chan struct{})
		anon := peakAnon(cmd.Process.Pid, stopAnon)
		err = cmd.Wait()
		secs := time.Since(start).Seconds()
		close(stopAnon)
		peak := <-anon
		if err != nil {
			return 0, fmt.Errorf("notify run: %v: %s", err, lastLines(errb.String(), 5))
		}
		var sum struct{ Messages, Events, Recipients, Sent, Failed int }
		if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
			return 0, fmt.Errorf("notify run printed %q", out.String())
		}
		var rss int64
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss
		}
		fmt.Fprintf(env.Stdout, "%-34s %6d messages (%d events, %d recipients), %d sent, %d failed in %.1f s: %5.0f messages/s, peak RSS %.0f MB (anonymous %.0f MB)\n",
			"tocsin → "+name, sum.Messages, sum.Events, sum.Recipients, sum.Sent, sum.Failed, secs, float64(sum.Sent)/secs, float64(rss)/1024, float64(peak)/1024)
		return sum.Sent, nil
	}
	if _, err := run("outbox", ""); err != nil {
		return fail(err)
	}
	if _, err := run("sink", sink.Addr()); err != nil {
		return fail(err)
	}
	fmt.Fprintf(env.Stdout, "%-34s %6d messages accepted\n", "  the sink says", sink.accepted.Load())
	// What mailpit can take of these very messages with nothing else
	// running: the outbox's files, sent by tocsin's SMTP client.
	smtpAddr, _, stop, err := startMailpit(ctx, *mailpit, filepath.Join(work, "mailpit-blast"))
	if err != nil {
		return fail(err)
	}
	m, rate, err := blast(ctx, filepath.Join(work, "data-outbox", "outbox"), smtpAddr, 2000, 4)
	stop()
	if err != nil {
		return fail(fmt.Errorf("blast mailpit: %w", err))
	}
	fmt.Fprintf(env.Stdout, "%-34s %6d of the outbox's messages, already built: %5.0f messages/s (mailpit's ceiling here)\n", "client → mailpit", m, rate)
	smtpAddr, httpURL, stop, err := startMailpit(ctx, *mailpit, filepath.Join(work, "mailpit-tocsin"))
	if err != nil {
		return fail(err)
	}
	defer stop()
	if _, err := run("mailpit", smtpAddr); err != nil {
		return fail(err)
	}
	if got, err := mailpitCount(ctx, httpURL); err == nil {
		fmt.Fprintf(env.Stdout, "%-34s %6d messages received\n", "  mailpit says", got)
	}
	fmt.Fprintln(env.Stdout, "\nmessages/s: messages sent over the wall time of the whole 'tocsin notify run' process (read events, route, group, render, sign, queue, send, log).")
	fmt.Fprintln(env.Stdout, "The sink is an SMTP server in this process that discards what it gets; the outbox writes and fsyncs one .eml file per message.")
	return exitOK
}

// writeBenchConstituency writes k organisations, each holding an equal
// slice of the IPv4 space, as the manual CSV import reads it.
func writeBenchConstituency(path string, k int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"id", "name", "sector", "country", "languages", "contacts", "assets"})
	langs := []string{"en", "sv", "pt", "vi"}
	step := (uint64(1) << 32) / uint64(k)
	for i := range k {
		lo := uint64(i) * step
		hi := lo + step - 1
		if i == k-1 {
			hi = 1<<32 - 1
		}
		id := fmt.Sprintf("org-%05d", i)
		w.Write([]string{id, "Organisation " + strconv.Itoa(i), "", "SE", langs[i%len(langs)],
			"abuse@" + id + ".example", ip4(lo) + "-" + ip4(hi)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func ip4(v uint64) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return net.IP(b[:]).String()
}

// startMailpit runs mailpit on free loopback ports, keeping few messages
// (it prunes older ones), and returns its SMTP address and HTTP URL.
func startMailpit(ctx context.Context, bin, dir string) (smtpAddr, httpURL string, stop func(), err error) {
	if err = os.MkdirAll(dir, 0o750); err != nil {
		return
	}
	free := func() (string, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer l.Close()
		return l.Addr().String(), nil
	}
	if smtpAddr, err = free(); err != nil {
		return
	}
	httpAddr, err := free()
	if err != nil {
		return
	}
	cmd := exec.CommandContext(ctx, bin, "--smtp", smtpAddr, "--listen", httpAddr, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
		"--database", filepath.Join(dir, "mailpit.db"), "--max", "100", "--disable-version-check", "--smtp-disable-rdns", "--quiet")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err = cmd.Start(); err != nil {
		return
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	httpURL = "http://" + httpAddr
	for range 100 {
		if c, err := net.Dial("tcp", smtpAddr); err == nil {
			c.Close()
			return smtpAddr, httpURL, stop, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return "", "", nil, fmt.Errorf("mailpit did not start on %s", smtpAddr)
}

// mailpitCount returns how many messages mailpit received in all.
func mailpitCount(ctx context.Context, url string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/info", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var info struct {
		RuntimeStats struct {
			SMTPAccepted int
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return 0, err
	}
	return info.RuntimeStats.SMTPAccepted, nil
}
