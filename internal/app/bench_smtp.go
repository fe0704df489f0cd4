package app

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/mail/smtp"
)

// smtpSink is an SMTP server on loopback that accepts every message and
// keeps only a count: the bench's receiver that costs next to nothing,
// to tell tocsin's own rate from a real server's.
type smtpSink struct {
	l        net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
}

func startSMTPSink() (*smtpSink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &smtpSink{l: l}
	s.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	return s, nil
}

func (s *smtpSink) Addr() string { return s.l.Addr().String() }

// peakAnon samples the resident anonymous memory of process pid (its heap
// and stacks, not the file pages it maps) until stop is closed, and
// returns the most it saw, in KiB.
func peakAnon(pid int, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); err == nil {
				for line := range strings.SplitSeq(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
						kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
						peak = max(peak, kb)
					}
				}
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

func (s *smtpSink) Close() {
	s.l.Close()
	s.wg.Wait()
}

// serve speaks enough SMTP for tocsin's client: EHLO, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT.
func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriter(c)
	reply := func(line string) bool {
		w.WriteString(line + "\r\n")
		return w.Flush() == nil
	}
	if !reply("220 sink ESMTP") {
		return
	}
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(string(bytes.TrimSpace(line)))
		if i := strings.IndexAny(verb, " :"); i >= 0 {
			verb = verb[:i]
		}
		switch verb {
		case "EHLO", "HELO":
			if !reply("250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8") {
				return
			}
		case "DATA":
			if !reply("354 go on") {
				return
			}
			for cont := false; ; {
				l, err := r.ReadSlice('\n')
				if err == bufio.ErrBufferFull {
					cont = true // a long line: its rest follows
					continue
				}
				if err != nil {
					return
				}
				if !cont && len(l) == 3 && l[0] == '.' && l[1] == '\r' {
					break
				}
				cont = false
			}
			s.accepted.Add(1)
			if !reply("250 queued") {
				return
			}
		case "QUIT":
			reply("221 bye")
			return
		default: // MAIL, RCPT, RSET, NOOP
			if !reply("250 ok") {
				return
			}
		}
	}
}

// blast sends the .eml files of dir (at most n of them, read into memory
// first) to addr over conns connections with tocsin's SMTP client, and
// returns the rate at which the server took them: what the server can
// accept of these very messages when nothing else runs.
func blast(ctx context.Context, dir, addr string, n, conns int) (msgs int, perSec float64, err error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		return 0, 0, err
	}
	sort.Strings(names)
	if len(names) > n {
		names = names[:n]
	}
	if len(names) == 0 {
		return 0, 0, fmt.Errorf("no .eml files in %s", dir)
	}
	raw := make([][]byte, len(names))
	for i, name := range names {
		if raw[i], err = os.ReadFile(name); err != nil {
			return 0, 0, err
		}
	}
	c, err := smtp.New(smtp.Config{Addr: addr, TLS: smtp.TLSNone, MaxConns: conns})
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(raw) {
					return
				}
				env := mail.Envelope{From: "cert@cert.example", To: []string{"blast-" + strconv.Itoa(i) + "@bench.example"}}
				if err := c.Send(ctx, env, raw[i]); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if first != nil {
		return 0, 0, first
	}
	return len(raw), float64(len(raw)) / secs, nil
}
