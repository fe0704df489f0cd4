package app

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar draws one line on a terminal for a report that takes more
// than a moment: the first draw waits until half a second has passed.
type progressBar struct {
	w      io.Writer
	mu     sync.Mutex
	name   string
	size   int64
	start  time.Time
	last   time.Time
	drawn  bool
	bytes  int64
	events int64
}

func newProgressBar(w io.Writer) *progressBar { return &progressBar{w: w} }

func (p *progressBar) Start(name string, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.name, p.size, p.start, p.last, p.drawn, p.bytes, p.events = name, size, time.Now(), time.Time{}, false, 0, 0
}

func (p *progressBar) Advance(bytes, events int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes, p.events = bytes, events
	now := time.Now()
	if now.Sub(p.start) < 500*time.Millisecond || now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progressBar) draw(now time.Time) {
	frac := 0.0
	if p.size > 0 {
		frac = min(1, float64(p.bytes)/float64(p.size))
	}
	const width = 30
	fill := int(frac * width)
	rate := float64(p.events) / max(now.Sub(p.start).Seconds(), 0.001)
	name := p.name
	if len(name) > 32 {
		name = "…" + name[len(name)-31:]
	}
	fmt.Fprintf(p.w, "\r%-32s [%s%s] %3.0f%%  %d events  %.0f/s ", name, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100, p.events, rate)
	p.drawn = true
}

func (p *progressBar) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
