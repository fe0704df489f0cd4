package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin/internal/config"
	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/mail/smtp"
	"github.com/tocsin/tocsin/internal/notify/render"
	"github.com/tocsin/tocsin/internal/store"
)

// flush renders and signs the planned batch, queues it in one
// transaction and sends it.
//
// The batch is processed while planning goes on (one batch at a time):
// flush waits for the previous batch, then starts this one; wait waits
// for it. Planning and processing share only what r.mu guards.
func (r *run) flush(ctx context.Context) error {
	batch := r.batch
	r.batch = nil
	if err := r.wait(); err != nil {
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	done := make(chan error, 1)
	r.inflight = done
	go func() { done <- r.process(ctx, batch) }()
	return nil
}

// wait waits for the batch in flight, if any, and returns its error.
func (r *run) wait() error {
	if r.inflight == nil {
		return nil
	}
	err := <-r.inflight
	r.inflight = nil
	return err
}

// process renders, signs, queues and sends one batch.
func (r *run) process(ctx context.Context, batch []*pending) error {
	r.mu.Lock()
	first := int64(r.sum.Messages + 1) // a dry run shows the IDs as if it were the day's first run
	r.mu.Unlock()
	if !r.opt.DryRun {
		var err error
		if first, err = r.n.Log.AllocateIdents(ctx, r.now, len(batch)); err != nil {
			return fmt.Errorf("allocate notification IDs: %w", err)
		}
	}
	errs := make([]error, len(batch))
	r.parallel(len(batch), func(i int) {
		p := batch[i]
		p.n.Ident = store.FormatIdent(r.n.Config.IdentPrefix, r.now, first+int64(i))
		errs[i] = r.compose(p)
	})
	var ns []*store.Notification
	var mem []store.Remembered
	for i, p := range batch {
		if errs[i] != nil {
			// A message that cannot be built is a bug or a broken
			// template: the others go on, its events stay unmarked.
			r.log.Error("cannot build a notification", "org", p.orgID, "recipient", p.n.Recipient, "err", errs[i])
			r.mu.Lock()
			r.sum.Failed++
			r.mu.Unlock()
			continue
		}
		ns = append(ns, p.n)
		mem = append(mem, p.mem...)
	}
	if !r.opt.DryRun && len(ns) > 0 {
		if err := r.n.Log.QueueNotifications(ctx, ns, mem); err != nil {
			return fmt.Errorf("queue %d notifications: %w", len(ns), err)
		}
	}
	r.mu.Lock()
	for _, n := range ns {
		r.sum.Messages++
		r.sum.Events += len(n.Events)
		r.rcpts[n.Recipient] = true
	}
	r.mu.Unlock()
	if r.opt.Plan != nil {
		for _, n := range ns {
			r.opt.Plan(n)
		}
	}
	if r.opt.DryRun {
		return nil
	}
	return r.sendAll(ctx, ns)
}

// parallel runs f(0..n-1) on the notifier's workers.
func (r *run) parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(r.workers, n) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// compose renders, signs and (when the contact has a key) encrypts one
// notification.
func (r *run) compose(p *pending) error {
	if p.monthly != nil {
		return r.composeMonthly(p)
	}
	cfg := r.n.Config
	format := p.g.route.Format
	if p.org != nil && p.org.Notify.Format != "" {
		format = p.org.Notify.Format
	}
	d := &render.Data{
		Ident: p.n.Ident, Date: r.now, OrgID: p.orgID, Recipient: p.n.Recipient,
		Sender: render.Sender{Name: cfg.Sender.Name, Email: cfg.Sender.Email, URL: cfg.Sender.URL, Phone: cfg.Sender.Phone},
		Items:  p.g.items, Format: format, Section: p.g.route.Template,
	}
	var langs []string
	if p.org != nil {
		d.OrgName = p.org.Name
		langs = p.org.Languages
	}
	out, err := r.n.Renderer.Render(d, langs)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	msg := &mail.Message{
		From:      mail.Address{Name: cfg.Sender.Name, Email: cfg.Sender.Email},
		To:        []mail.Address{{Email: p.n.Recipient}},
		Subject:   out.Subject,
		Date:      r.now,
		MessageID: mail.NewMessageID(p.n.Ident, domainOf(cfg.Sender.Email)),
		Header:    autoHeaders(p.n.Ident),
		Text:      out.Text,
	}
	for _, a := range out.Attachments {
		msg.Attachments = append(msg.Attachments, mail.Attachment{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
	}
	raw, err := r.seal(msg, p.g.contact.PGPKey)
	if err != nil {
		return err
	}
	p.n.Subject, p.n.MessageID, p.n.Message = out.Subject, msg.MessageID, raw
	return nil
}

// autoHeaders mark a notification as automatic (RFC 3834), so that
// well-behaved auto-responders stay silent, and carry its ID.
func autoHeaders(ident string) [][2]string {
	return [][2]string{
		{"X-Tocsin-ID", ident},
		{"Auto-Submitted", "auto-generated"},
		{"X-Auto-Response-Suppress", "OOF, AutoReply"},
	}
}

// seal signs msg, and encrypts it when the recipient has a key.
func (r *run) seal(msg *mail.Message, key string) ([]byte, error) {
	s := r.n.Signer
	switch {
	case s == nil:
		return msg.Bytes()
	case strings.TrimSpace(key) != "":
		pk, err := mail.ReadPublicKey(key)
		if err != nil {
			// The registry holds a key that does not work: sending
			// it signed in clear beats not sending it.
			r.log.Warn("the contact's OpenPGP key is unusable; sending unencrypted", "recipient", msg.To[0].Email, "err", err)
			break
		}
		b, err := s.SignEncrypt(msg, pk)
		if err != nil {
			return nil, fmt.Errorf("sign and encrypt: %w", err)
		}
		return b, nil
	}
	switch {
	case s == nil:
		return msg.Bytes()
	default:
		b, err := s.Sign(msg)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		return b, nil
	}
}

func domainOf(email string) string {
	if _, d, ok := strings.Cut(email, "@"); ok && d != "" {
		return d
	}
	return "tocsin.invalid"
}

// deliver sends every queued or deferred notification that is due.
func (r *run) deliver(ctx context.Context) error {
	var due []*store.Notification
	flush := func() error {
		err := r.sendAll(ctx, due)
		due = due[:0]
		return err
	}
	for n, err := range r.n.Log.DueNotifications(ctx, r.now) {
		if err != nil {
			return fmt.Errorf("read due notifications: %w", err)
		}
		due = append(due, n)
		if len(due) >= r.batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// sendAll sends ns on the workers and records each outcome. The log is
// written twice per batch, not per message: once to claim the batch, once
// to record what the server said of each.
func (r *run) sendAll(ctx context.Context, ns []*store.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	cfg := r.n.Config
	// Claim. The log has no "sending" status, so a run claims a
	// notification by moving it between queued and deferred (whichever it
	// is not) with its NextAttempt past the send: the update fails for
	// another run that read it in its former status, and that run skips
	// it. A run stopped during the send gives it back as it was; one that
	// dies leaves it due when the claim runs out.
	type slot struct {
		n             *store.Notification
		from, claimed string
		due           time.Time
		err           error // what Send said
	}
	slots := make([]slot, len(ns))
	froms := make([]string, len(ns))
	for i, n := range ns {
		sl := slot{n: n, from: n.Status, due: n.NextAttempt, claimed: store.NotifyDeferred}
		if sl.from == store.NotifyDeferred {
			sl.claimed = store.NotifyQueued
		}
		froms[i] = sl.from
		n.Status, n.NextAttempt, n.UpdatedAt = sl.claimed, r.now.Add(time.Since(r.started)+claimFor), r.now
		slots[i] = sl
	}
	errs, err := r.n.Log.UpdateNotifications(ctx, ns, froms)
	if err != nil {
		return fmt.Errorf("claim %d notifications for sending: %w", len(ns), err)
	}
	var mine []int
	for i, e := range errs {
		switch {
		case e == nil:
			mine = append(mine, i)
		case errors.Is(e, store.ErrNotifyState), errors.Is(e, store.ErrNotFound):
			// Another run is sending it or has sent it.
		default:
			return e
		}
	}
	// Send.
	r.parallel(len(mine), func(j int) {
		sl := &slots[mine[j]]
		sl.err = r.n.Sender.Send(ctx, mail.Envelope{From: cfg.Sender.Email, To: []string{sl.n.Recipient}, Ident: sl.n.Ident}, sl.n.Message)
	})
	// Record what the servers answered, even when ctx has ended
	// meanwhile: a message a server accepted must not be sent again.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var stop error
	upd := make([]*store.Notification, 0, len(mine))
	claimedFrom := make([]string, 0, len(mine))
	for _, i := range mine {
		sl := &slots[i]
		n, err := sl.n, sl.err
		switch {
		case err != nil && ctx.Err() != nil:
			n.Status, n.NextAttempt = sl.from, sl.due // given back untried
			stop = ctx.Err()
		case errors.Is(err, smtp.ErrConfig):
			// The server refuses us, not the recipient (certificate,
			// login, STARTTLS): every message would fail alike, and moving
			// on down contact chains would be wrong. Give it back, stop.
			n.Status, n.NextAttempt = sl.from, sl.due
			stop = fmt.Errorf("the mail server refuses tocsin; fix notify.smtp and run again: %w", err)
		default:
			n.Attempts++
			n.UpdatedAt = r.now
			switch {
			case err == nil:
				n.Status, n.LastError = store.NotifySent, ""
			case mail.Temporary(err) && n.Attempts < cfg.Retry.Attempts:
				n.Status, n.LastError = store.NotifyDeferred, err.Error()
				n.NextAttempt = r.now.Add(Backoff(cfg.Retry, n.Attempts))
			default:
				n.Status, n.LastError = store.NotifyFailed, err.Error()
			}
		}
		upd = append(upd, n)
		claimedFrom = append(claimedFrom, sl.claimed)
	}
	uerrs, err := r.n.Log.UpdateNotifications(wctx, upd, claimedFrom)
	if err != nil {
		return errors.Join(stop, fmt.Errorf("record the delivery of %d notifications: %w", len(upd), err))
	}
	for k, i := range mine {
		sl := &slots[i]
		n := sl.n
		if uerrs[k] != nil {
			r.log.Warn("a delivery outcome was not recorded", "id", n.Ident, "status", n.Status, "err", uerrs[k])
			continue
		}
		if sl.err != nil && (n.Status == store.NotifyDeferred || n.Status == store.NotifyFailed) {
			r.log.Warn("delivery failed", "id", n.Ident, "recipient", n.Recipient, "status", n.Status, "err", sl.err)
		}
		r.mu.Lock()
		switch n.Status {
		case store.NotifySent:
			r.sum.Sent++
		case store.NotifyDeferred:
			if sl.err != nil {
				r.sum.Retrying++
			}
		case store.NotifyFailed:
			r.sum.Failed++
		}
		r.mu.Unlock()
		if n.Status == store.NotifyFailed && recipientRefused(sl.err) {
			f := store.ContactFlag{Email: n.Recipient, Flag: store.ContactBouncing, Detail: sl.err.Error(), At: r.now}
			if err := r.n.Log.SetContactFlag(wctx, f); err != nil {
				return errors.Join(stop, fmt.Errorf("flag %s as bouncing: %w", n.Recipient, err))
			}
			r.mu.Lock()
			r.flags[strings.ToLower(f.Email)] = f
			if n.Org != "" {
				r.rerouted[n.Org] = true
			}
			r.mu.Unlock()
		}
	}
	return stop
}

// claimFor is how long a run holds a notification while it sends it:
// another run delivering at the same time leaves it alone, and takes it up
// after that should this run have died in the middle.
const claimFor = 15 * time.Minute

// recipientRefused reports whether a permanent failure was the
// recipient's (its mailbox does not exist or refuses mail), rather than
// the message's or the server's.
func recipientRefused(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) || se.Temporary {
		return false
	}
	return se.Recipient != "" || se.Code >= 550 && se.Code <= 553
}

// Backoff is the wait after the attempts-th temporary failure: Backoff,
// doubling up to MaxBackoff.
func Backoff(c config.Retry, attempts int) time.Duration {
	d := c.Backoff
	for i := 1; i < attempts && d < c.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxBackoff)
}
