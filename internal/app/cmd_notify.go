package app

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/index"
	"github.com/tocsin/tocsin/internal/enrich"
	"github.com/tocsin/tocsin/internal/enrich/securitytxt"
	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/mail/bounce"
	"github.com/tocsin/tocsin/internal/mail/smtp"
	"github.com/tocsin/tocsin/internal/notify"
	"github.com/tocsin/tocsin/internal/notify/render"
	"github.com/tocsin/tocsin/internal/store"
)

func cmdNotify(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, notifyUsage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return notifyRun(ctx, env, args[1:])
	case "list":
		return notifyList(ctx, env, args[1:])
	case "show":
		return notifyShow(ctx, env, args[1:])
	case "keygen":
		return notifyKeygen(ctx, env, args[1:])
	case "bounces":
		return notifyBounces(ctx, env, args[1:])
	case "flags":
		return notifyFlags(ctx, env, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.Stdout, notifyUsage)
		return exitOK
	}
	fmt.Fprintf(env.Stderr, "tocsin notify: unknown subcommand %q\n%s", args[0], notifyUsage)
	return exitUsage
}

const notifyUsage = `usage: tocsin notify run [--dry-run] [--now RFC3339] [--json]
       tocsin notify list [--json] [--org ID] [--status S] [--limit N]
       tocsin notify show ID
       tocsin notify keygen [--force]
       tocsin notify bounces [--maildir DIR]... [--mbox FILE]... [--json]   (else the notify.imap mailbox)
       tocsin notify flags [--json] [--clear EMAIL]
`

// signingKeyPath is where notify keygen writes the CSIRT's key and notify
// run looks for it when the config names none.
func (a *App) signingKeyPath() string {
	if p := a.Config.Notify.SigningKey; p != "" {
		return p
	}
	return filepath.Join(a.DataDir, "notify", "signing-key.asc")
}

func (a *App) outboxDir() string {
	if p := a.Config.Notify.Outbox; p != "" {
		return p
	}
	return filepath.Join(a.DataDir, "outbox")
}

func (a *App) notifyLog() (store.NotifyLog, error) {
	l, ok := a.Store.(store.NotifyLog)
	if !ok {
		return nil, errors.New("this store keeps no notification log")
	}
	return l, nil
}

// directory is the constituency as the notifier sees it: the owner index
// and the contact chain of the enricher (registered, RIPE, security.txt,
// abuse@).
type directory struct{ x *enrich.Enricher }

func (d directory) OrgIDs() []string {
	if d.x.Owners == nil {
		return nil
	}
	ids := make([]string, 0, d.x.Owners.NumOrgs())
	for i := range d.x.Owners.NumOrgs() {
		ids = append(ids, d.x.Owners.Org(index.OrgRef(i)).ID)
	}
	return ids
}

func (d directory) Org(id string) *constituency.Org {
	if d.x.Owners == nil {
		return nil
	}
	r, ok := d.x.Owners.OrgByID(id)
	if !ok {
		return nil
	}
	return d.x.Owners.Org(r)
}

func (d directory) Contacts(id string) []constituency.Contact {
	if d.x.Owners == nil {
		return nil
	}
	r, ok := d.x.Owners.OrgByID(id)
	if !ok {
		return nil
	}
	return d.x.Contacts(r, "")
}

// notifier wires the notifier of this configuration. Without a signing key
// a dry run renders unsigned previews; a real run refuses.
func (a *App) notifier(ctx context.Context, dryRun bool) (*notify.Notifier, func(), error) {
	cfg := a.Config.Notify
	nl, err := a.notifyLog()
	if err != nil {
		return nil, nil, err
	}
	ix, err := a.ownerIndex(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("owner index: %w", err)
	}
	x := &enrich.Enricher{Owners: ix}
	if x.SecurityTxt, err = securitytxt.OpenSaved(securityTxtPath(a.DataDir)); err != nil {
		a.Log.Warn("security.txt contacts left out", "err", err)
		x.SecurityTxt = nil
	}
	rd, err := render.New(cfg.Templates)
	if err != nil {
		return nil, nil, fmt.Errorf("notify.templates: %w", err)
	}
	tree := notify.NewTree(cfg.Routes)
	for tmpl, route := range tree.Templates() {
		if !slices.Contains(render.Sections, tmpl) {
			return nil, nil, fmt.Errorf("notify.routes: route %s: template %q is not one of %s", route, tmpl, strings.Join(render.Sections, ", "))
		}
	}
	n := &notify.Notifier{
		Config: cfg, Routes: tree, Mutes: notify.CompileMutes(cfg.Mutes),
		Events: a.Store, Log: nl, Dir: directory{x}, Renderer: rd, Logger: a.Log,
		Workers: cfg.SMTP.Connections,
	}
	keyPath := a.signingKeyPath()
	f, err := os.Open(keyPath)
	switch {
	case err == nil:
		s, err := mail.LoadSigner(f, []byte(cfg.SigningKeyPassphrase.Reveal()))
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("signing key %s: %w", keyPath, err)
		}
		n.Signer = s
	case errors.Is(err, os.ErrNotExist) && dryRun:
		a.Log.Warn("no signing key: the dry run shows unsigned messages", "path", keyPath)
	case errors.Is(err, os.ErrNotExist):
		return nil, nil, fmt.Errorf("no signing key at %s: every notification is signed; create one with 'tocsin notify keygen' or set notify.signing_key", keyPath)
	default:
		return nil, nil, fmt.Errorf("signing key: %w", err)
	}
	sender, closeFn, err := a.mailSender()
	if err != nil {
		return nil, nil, err
	}
	n.Sender = sender
	return n, closeFn, nil
}

// mailSender is the configured way out: the SMTP server, else the outbox.
func (a *App) mailSender() (mail.Sender, func(), error) {
	cfg := a.Config.Notify
	if cfg.SMTP.Addr == "" {
		return mail.Outbox{Dir: a.outboxDir()}, func() {}, nil
	}
	sc := smtp.Config{
		Addr: cfg.SMTP.Addr, TLS: cfg.SMTP.TLS, Username: cfg.SMTP.Username,
		Password: cfg.SMTP.Password.Reveal(), MaxConns: cfg.SMTP.Connections,
	}
	if f := cfg.SMTP.CAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("notify.smtp.ca_file: %w", err)
		}
		sc.RootCAs = x509.NewCertPool()
		if !sc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("notify.smtp.ca_file %s: no PEM certificate in it", f)
		}
	}
	c, err := smtp.New(sc)
	if err != nil {
		return nil, nil, fmt.Errorf("notify.smtp: %w", err)
	}
	return c, func() { c.Close() }, nil
}

func notifyRun(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "notify run", "", "Builds the notifications that are due, queues them in the notification log and sends them, with what earlier runs left to retry.")
	dry := fs.Bool("dry-run", false, "print what would be sent; store and send nothing")
	nowFlag := fs.String("now", "", "run as if it were this `time` (RFC 3339); default now")
	asJSON := fs.Bool("json", false, `print {"messages": N, "events": N, "recipients": N, "muted": N, "deferred": N, ...}`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "tocsin notify run: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	now := time.Now()
	if *nowFlag != "" {
		if now, err = time.Parse(time.RFC3339, *nowFlag); err != nil {
			fmt.Fprintf(env.Stderr, "tocsin notify run: --now %q: want an RFC 3339 time such as 2026-11-24T08:00:00Z\n", *nowFlag)
			return exitUsage
		}
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify run: %v\n", err)
		return exitFail
	}
	defer a.Close()
	n, closeSender, err := a.notifier(ctx, *dry)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify run: %v\n", err)
		return exitFail
	}
	defer closeSender()
	opt := notify.Options{Now: now, DryRun: *dry}
	if !*asJSON {
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		defer tw.Flush()
		if *dry {
			fmt.Fprintln(tw, "WOULD SEND\tRECIPIENT\tORG\tROUTE\tEVENTS\tSUBJECT")
		}
		opt.Plan = func(nt *store.Notification) {
			if *dry {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", nt.Ident, nt.Recipient, nt.Org, nt.Route, len(nt.Events), nt.Subject)
			}
		}
	}
	sum, err := n.Run(ctx, opt)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify run: %v\n", err)
		return exitFail
	}
	if *asJSON {
		b, _ := json.Marshal(sum)
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return exitOK
	}
	verb := "queued"
	if *dry {
		verb = "would send"
	}
	fmt.Fprintf(env.Stderr, "%s %d messages with %d events to %d recipients; sent %d, retrying %d, failed %d; %d events muted, %d waiting for a digest or budget, %d already notified, %d without a contact\n",
		verb, sum.Messages, sum.Events, sum.Recipients, sum.Sent, sum.Retrying, sum.Failed, sum.Muted, sum.Deferred, sum.Suppressed, sum.Unowned)
	if n.Sender != nil && a.Config.Notify.SMTP.Addr == "" && !*dry && sum.Sent > 0 {
		fmt.Fprintf(env.Stderr, "no SMTP server configured: the messages are in %s\n", a.outboxDir())
	}
	return exitOK
}

func notifyList(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "notify list", "", "Lists notifications, newest first.")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	org := fs.String("org", "", "only this organisation's `ID`")
	rcpt := fs.String("recipient", "", "only to this `address`")
	status := fs.String("status", "", "only in this status: queued, sent, deferred, failed or bounced")
	limit := fs.Int("limit", 100, "at most `N` (0: all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "tocsin notify list: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify list: %v\n", err)
		return exitFail
	}
	defer a.Close()
	nl, err := a.notifyLog()
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify list: %v\n", err)
		return exitFail
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tDATE\tSTATUS\tTRIES\tRECIPIENT\tORG\tROUTE\tEVENTS\tSUBJECT")
	}
	for nt, err := range nl.Notifications(ctx, store.NotifyFilter{Org: *org, Recipient: *rcpt, Status: *status, Limit: *limit}) {
		if err != nil {
			tw.Flush()
			fmt.Fprintf(env.Stderr, "tocsin notify list: %v\n", err)
			return exitFail
		}
		if *asJSON {
			b, _ := json.Marshal(notificationJSON(nt))
			fmt.Fprintf(env.Stdout, "%s\n", b)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\n", nt.Ident, nt.CreatedAt.Format(time.RFC3339), nt.Status, nt.Attempts,
			nt.Recipient, nt.Org, nt.Route, len(nt.Events), oneLine(nt.Subject, 80))
	}
	tw.Flush()
	return exitOK
}

func notificationJSON(n *store.Notification) map[string]any {
	m := map[string]any{
		"id": n.Ident, "kind": n.Kind, "org": n.Org, "recipient": n.Recipient, "contact_source": n.Contact,
		"route": n.Route, "subject": n.Subject, "message_id": n.MessageID, "status": n.Status,
		"attempts": n.Attempts, "created": n.CreatedAt.Format(time.RFC3339), "updated": n.UpdatedAt.Format(time.RFC3339),
		"events": n.Events,
	}
	if n.LastError != "" {
		m["last_error"] = n.LastError
	}
	if n.Status == store.NotifyQueued || n.Status == store.NotifyDeferred {
		m["next_attempt"] = n.NextAttempt.Format(time.RFC3339)
	}
	return m
}

func notifyShow(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "notify show", "ID", "Prints a notification as it was sent (the whole message), by its ID (TOCSIN-…), number or Message-ID.")
	meta := fs.Bool("json", false, "print the log entry as JSON instead of the message")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "usage: tocsin notify show ID")
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify show: %v\n", err)
		return exitFail
	}
	defer a.Close()
	nl, err := a.notifyLog()
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify show: %v\n", err)
		return exitFail
	}
	nt, err := nl.Notification(ctx, pos[0])
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(env.Stderr, "tocsin notify show: no notification %q (see tocsin notify list)\n", pos[0])
		return exitFail
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify show: %v\n", err)
		return exitFail
	}
	if *meta {
		b, _ := json.Marshal(notificationJSON(nt))
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return exitOK
	}
	env.Stdout.Write(nt.Message)
	return exitOK
}

func notifyKeygen(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "notify keygen", "", "Creates the CSIRT's OpenPGP signing key (Ed25519, no passphrase) at notify.signing_key, default DATA_DIR/notify/signing-key.asc, and prints its public key.")
	force := fs.Bool("force", false, "replace an existing key")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "tocsin notify keygen: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify keygen: %v\n", err)
		return exitFail
	}
	defer a.Close()
	path := a.signingKeyPath()
	if _, err := os.Stat(path); err == nil && !*force {
		fmt.Fprintf(env.Stderr, "tocsin notify keygen: %s exists; --force replaces it (messages signed with it can then no longer be checked against a key you publish anew)\n", path)
		return exitFail
	}
	s := a.Config.Notify.Sender
	priv, pub, err := mail.GenerateKey(s.Name, s.Email, time.Now())
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify keygen: %v\n", err)
		return exitFail
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify keygen: %v\n", err)
		return exitFail
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, priv, 0o600); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify keygen: %v\n", err)
		return exitFail
	}
	if err := os.Rename(tmp, path); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify keygen: %v\n", err)
		return exitFail
	}
	pubPath := strings.TrimSuffix(path, ".asc") + ".pub.asc"
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify keygen: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stderr, "signing key written to %s (keep it secret); its public key, to publish, to %s:\n", path, pubPath)
	env.Stdout.Write(pub)
	return exitOK
}

func notifyBounces(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "notify bounces", "", "Reads what came back to the CSIRT's mailbox: a bounce (RFC 3464 DSN and the common non-standard ones) marks its notification bounced and its recipient as bouncing, so the next run falls back to the next contact; an auto-reply flags the mailbox for the analysts (functional mailboxes must not auto-reply). Messages read are marked seen.")
	var maildirs, mboxes listFlag
	fs.Var(&maildirs, "maildir", "a maildir `folder` to read (repeatable)")
	fs.Var(&mboxes, "mbox", "an mbox `file` to read (repeatable)")
	asJSON := fs.Bool("json", false, "one JSON object per message read")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 0 {
		fmt.Fprintln(env.Stderr, "usage: tocsin notify bounces [--maildir DIR]... [--mbox FILE]... [--json]")
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify bounces: %v\n", err)
		return exitFail
	}
	defer a.Close()
	nl, err := a.notifyLog()
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify bounces: %v\n", err)
		return exitFail
	}
	var boxes []bounce.Mailbox
	var names []string
	for _, d := range maildirs {
		boxes, names = append(boxes, bounce.Maildir(d)), append(names, d)
	}
	for _, f := range mboxes {
		boxes, names = append(boxes, bounce.Mbox(f)), append(names, f)
	}
	if im := a.Config.Notify.IMAP; len(boxes) == 0 && im.Addr != "" {
		boxes = append(boxes, bounce.IMAP(bounce.IMAPConfig{Addr: im.Addr, Security: im.Security, Username: im.Username, Password: im.Password.Reveal(), Folder: im.Folder}))
		names = append(names, "imap://"+im.Addr+"/"+im.Folder)
	}
	if len(boxes) == 0 {
		fmt.Fprintln(env.Stderr, "tocsin notify bounces: nothing to read: give --maildir DIR or --mbox FILE, or set notify.imap in the config")
		return exitUsage
	}
	now := time.Now().UTC()
	counts := map[string]int{}
	for i, box := range boxes {
		err := box.Each(ctx, func(key string, r io.Reader) error {
			res, err := bounce.Classify(r)
			if err != nil {
				// Unreadable mail is reported and passed over, not retried
				// for ever.
				fmt.Fprintf(env.Stderr, "%s: %s: %v\n", names[i], key, err)
				counts["unreadable"]++
				return nil
			}
			out := applyBounce(ctx, nl, res, now)
			counts[out.Outcome]++
			if *asJSON {
				b, _ := json.Marshal(out)
				fmt.Fprintf(env.Stdout, "%s\n", b)
			} else {
				fmt.Fprintf(env.Stdout, "%s\t%s\t%s\t%s\t%s\n", out.Kind, out.Outcome, cmpOr(out.Ident, "-"), cmpOr(strings.Join(out.Flagged, ","), "-"), oneLine(out.Reason, 100))
			}
			return out.err
		})
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin notify bounces: %s: %v\n", names[i], err)
			return exitFail
		}
	}
	fmt.Fprintf(env.Stderr, "%d bounces, %d auto-replies, %d delay notices, %d other messages, %d unreadable\n",
		counts["bounced"]+counts["bounce-unmatched"], counts["auto-reply"], counts["delay"], counts["other"], counts["unreadable"])
	return exitOK
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// bounceOutcome is what one message read from the mailbox did.
type bounceOutcome struct {
	Kind    string   `json:"kind"`
	Outcome string   `json:"outcome"` // bounced, bounce-unmatched, auto-reply, delay, other
	Ident   string   `json:"id,omitempty"`
	Flagged []string `json:"flagged,omitempty"`
	From    string   `json:"from,omitempty"`
	Subject string   `json:"subject,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	err     error
}

// applyBounce records what a classified message means: the notification
// it answers is marked bounced, the mailbox flagged.
func applyBounce(ctx context.Context, nl store.NotifyLog, res *bounce.Result, now time.Time) bounceOutcome {
	out := bounceOutcome{Kind: res.Kind.String(), Ident: res.Ident, From: res.From, Subject: res.Subject, Reason: res.Reason}
	var nt *store.Notification
	for _, key := range []string{res.Ident, "<" + res.OriginalMessageID + ">"} {
		if key == "" || key == "<>" {
			continue
		}
		if n, err := nl.Notification(ctx, key); err == nil {
			nt = n
			out.Ident = n.Ident
			break
		} else if !errors.Is(err, store.ErrNotFound) {
			out.err = err
			return out
		}
	}
	flag := func(email, kind, detail string) {
		if email == "" || out.err != nil {
			return
		}
		out.err = nl.SetContactFlag(ctx, store.ContactFlag{Email: strings.ToLower(email), Flag: kind, Detail: detail, At: now})
		out.Flagged = append(out.Flagged, strings.ToLower(email))
	}
	switch res.Kind {
	case bounce.Bounce:
		if nt == nil {
			// Not ours, or too mangled to tell: nothing to mark.
			out.Outcome = "bounce-unmatched"
			return out
		}
		out.Outcome = "bounced"
		if nt.Status == store.NotifySent {
			nt.Status, nt.LastError, nt.UpdatedAt = store.NotifyBounced, res.Reason, now
			if err := nl.UpdateNotification(ctx, nt, store.NotifySent); err != nil && !errors.Is(err, store.ErrNotifyState) {
				out.err = err
				return out
			}
		}
		flag(nt.Recipient, store.ContactBouncing, res.Reason)
	case bounce.AutoReply:
		out.Outcome = "auto-reply"
		rcpt := res.From
		if nt != nil {
			rcpt = nt.Recipient
		}
		flag(rcpt, store.ContactAutoReply, res.Reason)
	case bounce.Delay:
		out.Outcome = "delay"
	default:
		out.Outcome = "other"
	}
	return out
}

func notifyFlags(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "notify flags", "", "Lists the mailboxes flagged by what came back from them: bouncing ones (skipped; their organisation's next contact gets the mail) and auto-replying ones (to be fixed by their owner). --clear removes a flag, e.g. once the owner fixed the mailbox.")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	clearAddr := fs.String("clear", "", "remove the flag of this `address`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "tocsin notify flags: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	a, err := open(ctx, env, g)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify flags: %v\n", err)
		return exitFail
	}
	defer a.Close()
	nl, err := a.notifyLog()
	if err != nil {
		fmt.Fprintf(env.Stderr, "tocsin notify flags: %v\n", err)
		return exitFail
	}
	if *clearAddr != "" {
		if err := nl.ClearContactFlag(ctx, strings.ToLower(*clearAddr)); err != nil {
			fmt.Fprintf(env.Stderr, "tocsin notify flags: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if !*asJSON {
		fmt.Fprintln(tw, "MAILBOX\tFLAG\tSINCE\tDETAIL")
	}
	for f, err := range nl.ContactFlags(ctx) {
		if err != nil {
			fmt.Fprintf(env.Stderr, "tocsin notify flags: %v\n", err)
			return exitFail
		}
		if *asJSON {
			b, _ := json.Marshal(map[string]string{"email": f.Email, "flag": f.Flag, "at": f.At.Format(time.RFC3339), "detail": f.Detail})
			fmt.Fprintf(env.Stdout, "%s\n", b)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Email, f.Flag, f.At.Format(time.RFC3339), oneLine(f.Detail, 80))
	}
	return exitOK
}
