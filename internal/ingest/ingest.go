// Package ingest turns input files into stored events: it finds the reports
// in a file (gzip, bzip2 and zip are read transparently), keys each by the
// SHA-256 of its content so a report is stored once, parses it with the
// feed's parser, validates and deduplicates every event and stores it, and
// puts what cannot be parsed in the quarantine with its line number.
//
// A report is one store transaction: an unreadable report leaves nothing
// behind and touches nothing already stored.
//
// The work is split over two goroutines so that both cores work: the parser
// goroutine reads, parses, validates and encodes events into batches; the
// writer goroutine stores batches. Batches are recycled, so memory is
// bounded by a few batches whatever the input size.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tocsin/tocsin/internal/event"
	"github.com/tocsin/tocsin/internal/feed"
	"github.com/tocsin/tocsin/internal/parse"
	"github.com/tocsin/tocsin/internal/store"
)

// Ingester stores reports. Its fields are set once, before use.
type Ingester struct {
	Store store.Store
	Feeds *feed.Set
	// Parsers maps a feed format to its parser.
	Parsers map[string]parse.Parser
	// RawDir keeps every new raw report as it came, named by its SHA-256;
	// "" keeps none.
	RawDir string
	// Detect picks a feed for a file when none is named; it returns "" when
	// it cannot tell. Optional.
	Detect func(name string) string
	Log    *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Progress, when set, is told how far each report is.
	Progress Progress
	// BatchSize is how many events go from the parser to the store at
	// once; DefaultBatchSize when 0.
	BatchSize int
	// Enrich, when set, adds what tocsin knows to each event before it is
	// validated and stored (enrich.Enricher.Event).
	Enrich func(*event.Event)

	mu    sync.Mutex
	spare []*batch
}

// Progress is told how far ingest is. Its methods are called from the
// parser goroutine.
type Progress interface {
	Start(name string, size int64)
	Advance(bytes int64, events int64)
	Done()
}

// Options are what a user says about the files of one ingest.
type Options struct {
	Feed   string // feed name; "" to detect from the file name
	Report string // report type (e.g. Shadowserver's scan_ssl); "" to detect
}

// Result counts what an ingest did.
type Result struct {
	Reports     int64 `json:"reports"`     // new reports stored
	Known       int64 `json:"known"`       // reports skipped: already stored
	Events      int64 `json:"events"`      // new events stored
	Duplicates  int64 `json:"duplicates"`  // events that matched a stored one
	Quarantined int64 `json:"quarantined"` // rows that could not be parsed
}

func (r *Result) add(o Result) {
	r.Reports += o.Reports
	r.Known += o.Known
	r.Events += o.Events
	r.Duplicates += o.Duplicates
	r.Quarantined += o.Quarantined
}

// FileError is an input that could not be read or parsed as a whole.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Files ingests every file and returns the summed result. A file that cannot
// be read does not stop the others: its error is returned, joined with the
// others', once all files are done.
func (in *Ingester) Files(ctx context.Context, paths []string, opts Options) (Result, error) {
	if opts.Feed != "" {
		if _, err := in.Feeds.Get(opts.Feed); err != nil {
			return Result{}, err
		}
	}
	var total Result
	var errs []error
	for _, p := range paths {
		r, err := in.File(ctx, p, opts)
		total.add(r)
		if err != nil {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// File ingests one input file (which may hold several reports, if it is a
// zip archive).
func (in *Ingester) File(ctx context.Context, path string, opts Options) (Result, error) {
	srcs, err := sources(path)
	if err != nil {
		return Result{}, &FileError{path, err}
	}
	var total Result
	var errs []error
	for _, src := range srcs {
		r, err := in.report(ctx, path, src, opts)
		total.add(r)
		if err != nil {
			name := path
			if !src.whole {
				name = path + ":" + src.name
			}
			errs = append(errs, &FileError{name, err})
		}
	}
	return total, errors.Join(errs...)
}

func (in *Ingester) now() time.Time {
	if in.Now != nil {
		return in.Now().UTC()
	}
	return time.Now().UTC()
}

func (in *Ingester) log() *slog.Logger {
	if in.Log != nil {
		return in.Log
	}
	return slog.New(slog.DiscardHandler)
}

// report ingests one report.
func (in *Ingester) report(ctx context.Context, path string, src source, opts Options) (Result, error) {
	feedName := opts.Feed
	if feedName == "" && in.Detect != nil {
		feedName = in.Detect(src.name)
	}
	if feedName == "" {
		return Result{}, fmt.Errorf("cannot tell the feed from the name %q: name it with --feed (one of %v)", src.name, in.Feeds.Names())
	}
	fd, err := in.Feeds.Get(feedName)
	if err != nil {
		return Result{}, err
	}
	p := in.Parsers[fd.Format]
	if p == nil {
		return Result{}, fmt.Errorf("feed %s: no parser for format %q", fd.Name, fd.Format)
	}

	// Pass 1: hash the content, and keep a copy of the raw bytes.
	sum, size, rawTmp, err := in.hash(path, src)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if rawTmp != "" {
			os.Remove(rawTmp)
		}
	}()
	now := in.now()
	rep := store.Report{SHA256: sum, Name: src.name, Feed: fd.Name, Type: opts.Report, Size: size, ReceivedAt: now}
	tx, err := in.Store.Begin(ctx, rep)
	if errors.Is(err, store.ErrKnownReport) {
		in.log().Debug("report already stored, skipped", "file", path, "report", src.name, "sha256", sum)
		return Result{Known: 1}, nil
	}
	if err != nil {
		return Result{}, err
	}
	defer tx.Rollback()

	// Keep the raw bytes of a whole file while it is parsed.
	var rawDone chan error
	if in.RawDir != "" && src.whole {
		rawDone = make(chan error, 1)
		go func() {
			tmp, err := copyRaw(path, in.RawDir)
			rawTmp = tmp
			rawDone <- err
		}()
	}
	waitRaw := func() error {
		if rawDone == nil {
			return nil
		}
		err := <-rawDone
		rawDone = nil
		return err
	}
	defer waitRaw()

	// Pass 2: parse and store.
	rc, err := src.open()
	if err != nil {
		return Result{}, err
	}
	defer rc.Close()
	tot, err := in.run(ctx, tx, rc, size, parse.Input{Name: src.name, Report: opts.Report, Feed: fd, Now: now}, p)
	if err != nil {
		return Result{}, err
	}
	if err := waitRaw(); err != nil {
		return Result{}, fmt.Errorf("keep raw report: %w", err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		return Result{}, err
	}
	if rawTmp != "" {
		final := filepath.Join(in.RawDir, sum[:2], sum+src.ext)
		if err := os.MkdirAll(filepath.Dir(final), 0o750); err == nil {
			if err := os.Rename(rawTmp, final); err == nil {
				rawTmp = ""
			}
		}
		if rawTmp != "" {
			in.log().Warn("raw report not kept", "file", path, "sha256", sum)
		}
	}
	in.log().Debug("report stored", "file", path, "report", src.name, "feed", fd.Name, "events", tot.Events, "duplicates", tot.Duplicates, "quarantined", tot.Quarantined)
	return Result{Reports: 1, Events: tot.Events, Duplicates: tot.Duplicates, Quarantined: tot.Quarantined}, nil
}

// hash reads the report once to compute the SHA-256 and size of its
// content. A zip member's content is kept in RawDir on the way; a whole
// file is copied as it is once the report is known to be new (keepRaw).
func (in *Ingester) hash(path string, src source) (sum string, size int64, rawTmp string, err error) {
	rc, err := src.open()
	if err != nil {
		return "", 0, rawTmp, err
	}
	defer rc.Close()
	h := sha256.New()
	var w io.Writer = h
	var tmpFile *os.File
	if in.RawDir != "" && !src.whole {
		// A zip member is kept decompressed: it has no bytes of its own.
		if tmpFile, err = tempIn(in.RawDir); err != nil {
			return "", 0, rawTmp, fmt.Errorf("keep raw report: %w", err)
		}
		rawTmp = tmpFile.Name()
		defer tmpFile.Close()
		w = io.MultiWriter(h, tmpFile)
	}
	size, err = io.Copy(w, rc)
	if err != nil {
		return "", 0, rawTmp, fmt.Errorf("read: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, rawTmp, nil
}

func tempIn(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, ".incoming-*")
}

func copyRaw(path, dir string) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := tempIn(dir)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), out.Close()
}

// DefaultBatchSize is how many events travel from the parser to the
// writer at once: small enough that both goroutines work while a small
// report is read, large enough to amortise the hand-over.
// batchesInFlight batches are in flight at most.
const (
	DefaultBatchSize = 256
	batchesInFlight  = 4
)

func (in *Ingester) batchSize() int {
	if in.BatchSize > 0 {
		return in.BatchSize
	}
	return DefaultBatchSize
}

// getBatch returns a recycled batch or a new one: batches outlive a report,
// so that ingesting many small reports does not allocate megabytes each.
func (in *Ingester) getBatch() *batch {
	in.mu.Lock()
	defer in.mu.Unlock()
	if n := len(in.spare); n > 0 {
		b := in.spare[n-1]
		in.spare = in.spare[:n-1]
		return b
	}
	n := in.batchSize()
	return &batch{recs: make([]store.Record, 0, n), arena: make([]byte, 0, n*512)}
}

func (in *Ingester) putBatch(b *batch) {
	b.recs, b.arena, b.quar, b.base = b.recs[:0], b.arena[:0], b.quar[:0], nil
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.spare) < batchesInFlight {
		in.spare = append(in.spare, b)
	}
}

type batch struct {
	recs  []store.Record
	arena []byte
	quar  []store.Quarantined
	base  []byte // the report's base, on the batch with its first event
}

// run parses r into tx. The parser goroutine (the caller's) fills batches;
// one writer goroutine stores them.
func (in *Ingester) run(ctx context.Context, tx store.Tx, r io.Reader, size int64, pin parse.Input, p parse.Parser) (store.Totals, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	free := make(chan *batch, batchesInFlight)
	for range cap(free) {
		free <- in.getBatch()
	}
	defer func() {
		for range cap(free) {
			in.putBatch(<-free)
		}
	}()
	full := make(chan *batch, cap(free))
	var tot store.Totals
	writerDone := make(chan error, 1)
	go func() {
		for b := range full {
			if b.base != nil {
				if err := tx.SetBase(ctx, b.base); err != nil {
					writerDone <- err
					cancel(err)
					return
				}
			}
			if len(b.recs) > 0 {
				a, err := tx.Add(ctx, b.recs)
				if err != nil {
					writerDone <- err
					cancel(err)
					return
				}
				tot.Events += int64(a.Events)
				tot.Duplicates += int64(a.Duplicates)
			}
			if len(b.quar) > 0 {
				if err := tx.Quarantine(ctx, b.quar); err != nil {
					writerDone <- err
					cancel(err)
					return
				}
				tot.Quarantined += int64(len(b.quar))
			}
			b.recs, b.arena, b.quar, b.base = b.recs[:0], b.arena[:0], b.quar[:0], nil
			free <- b
		}
		writerDone <- nil
	}()

	cr := &countingReader{r: r}
	pin.R = cr
	if in.Progress != nil {
		in.Progress.Start(pin.Name, size)
		defer in.Progress.Done()
	}
	out := &output{ctx: ctx, in: in, pin: &pin, free: free, full: full, cr: cr, keyFields: keyFields(pin.Feed), window: int64(pin.Feed.Window() / time.Second)}
	perr := p.Parse(ctx, pin, out)
	if perr == nil {
		perr = out.flush()
	}
	close(full)
	werr := <-writerDone
	if werr != nil {
		return tot, werr
	}
	if perr != nil {
		return tot, perr
	}
	return tot, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func keyFields(f *feed.Feed) []*event.Field {
	var out []*event.Field
	for _, name := range f.DedupFields() {
		if fl := event.Lookup(name); fl != nil {
			out = append(out, fl)
		}
	}
	return out
}

// output is the parse.Output that validates, encodes and batches events.
type output struct {
	ctx       context.Context
	in        *Ingester
	pin       *parse.Input
	free      chan *batch
	full      chan *batch
	cur       *batch
	cr        *countingReader
	keyFields []*event.Field
	window    int64
	scratch   []byte
	events    int64
	base      *event.Base // the first event: the others are stored as differences
}

func (o *output) batch() (*batch, error) {
	if o.cur != nil {
		return o.cur, nil
	}
	select {
	case b := <-o.free:
		o.cur = b
		return b, nil
	case <-o.ctx.Done():
		return nil, context.Cause(o.ctx)
	}
}

func (o *output) send() error {
	if o.cur == nil {
		return nil
	}
	select {
	case o.full <- o.cur:
		o.cur = nil
		if o.in.Progress != nil {
			o.in.Progress.Advance(o.cr.n, o.events)
		}
		return nil
	case <-o.ctx.Done():
		return context.Cause(o.ctx)
	}
}

func (o *output) flush() error { return o.send() }

// Event implements parse.Output.
func (o *output) Event(e *event.Event, line int) error {
	if o.in.Enrich != nil {
		o.in.Enrich(e)
	}
	if err := e.Validate(); err != nil {
		return o.Reject(line, e.Raw, err)
	}
	b, err := o.batch()
	if err != nil {
		return err
	}
	t := e.TimeSource
	if t.IsZero() {
		t = e.TimeObservation
	}
	ts := t.Unix()
	bucket := ts - ts%o.window
	if ts < 0 && ts%o.window != 0 {
		bucket -= o.window
	}
	if o.pin.Feed.Format != "intelmq" {
		// The raw report is kept whole, and each event knows its line.
		e.Raw = nil
	}
	if o.base == nil {
		o.base = event.NewBase(e)
		b.base = o.base.Bytes()
	}
	start := len(b.arena)
	b.arena = e.AppendBinaryDelta(b.arena, o.base)
	var ip string
	if e.Source.IP.IsValid() {
		ip = e.Source.IP.String()
	}
	org, _ := e.Extra["source.org"].(string)
	if org == "" {
		org, _ = e.Extra["destination.org"].(string)
	}
	b.recs = append(b.recs, store.Record{
		Org:      org,
		Part:     store.Part{Feed: e.Feed.Name, Type: e.Classification.Type, Bucket: bucket},
		Key:      o.key(e),
		Time:     ts,
		SourceIP: ip,
		Line:     line,
		Doc:      b.arena[start:len(b.arena):len(b.arena)],
	})
	o.events++
	if len(b.recs) >= o.in.batchSize() {
		return o.send()
	}
	return nil
}

// key hashes the identity of e: its deduplication fields' values, each
// preceded by its index so that moving a value between fields changes it.
func (o *output) key(e *event.Event) uint64 {
	buf := o.scratch[:0]
	for i, f := range o.keyFields {
		mark := len(buf)
		buf = append(buf, byte(i), 0)
		var ok bool
		if buf, ok = f.AppendValue(e, buf); !ok {
			buf = buf[:mark]
		}
	}
	o.scratch = buf
	// FNV-1a: stable across processes and versions, which the stored keys
	// need; hash/maphash is seeded per process.
	h := uint64(14695981039346656037)
	for _, c := range buf {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Reject implements parse.Output.
func (o *output) Reject(line int, raw []byte, reason error) error {
	b, err := o.batch()
	if err != nil {
		return err
	}
	b.quar = append(b.quar, store.Quarantined{
		File: o.pin.Name, Feed: o.pin.Feed.Name, Line: line, Reason: reason.Error(),
		Raw: append([]byte(nil), raw...), At: o.pin.Now,
	})
	if len(b.quar) >= o.in.batchSize() {
		return o.send()
	}
	return nil
}
