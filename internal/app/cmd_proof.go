package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/tocsin/tocsin/internal/config"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/constituency/proof"
	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/store"
)

// The proof of ownership of self-registered assets: a domain by a DNS TXT
// challenge (challenge, verify), a network or an AS number by a link
// mailed to its RIPE abuse-c (request-confirmation, confirm). The
// settings come from flags, else from these environment variables.
const (
	envResolver = "TOCSIN_RESOLVER" // DNS server for verify, "host:port"
	envBaseURL  = "TOCSIN_BASE_URL" // where confirmation links point
	envMailFrom = "TOCSIN_MAIL_FROM"
)

// defaultLinkValidity is how long a confirmation link works.
const defaultLinkValidity = 7 * 24 * time.Hour

// proofKey loads (or makes) the proof key of a's data directory.
func (a *App) proofKey() (*proof.Key, error) { return proof.LoadKey(a.DataDir) }

// findOrg returns the organisation id, trying "manual:id" when id has no
// source prefix.
func findOrg(ctx context.Context, reg store.Registry, id string) (*constituency.Org, error) {
	o, err := reg.Org(ctx, id)
	if errors.Is(err, store.ErrNotFound) && !strings.Contains(id, ":") {
		o, err = reg.Org(ctx, manualID(id))
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no organisation %s (see 'tocsin constituents list')", id)
	}
	return o, err
}

// findAsset returns the manual asset of org with want's kind and value, or
// nil.
func findAsset(ctx context.Context, reg store.Registry, org string, want constituency.Asset) (*constituency.Asset, error) {
	for x, err := range reg.Assets(ctx, store.AssetFilter{Org: org, Source: constituency.SourceManual}) {
		if err != nil {
			return nil, err
		}
		if x.Kind != want.Kind {
			continue
		}
		if want.Kind == constituency.AssetNetwork && x.Prefix == want.Prefix ||
			want.Kind == constituency.AssetASN && x.ASN == want.ASN ||
			want.Kind == constituency.AssetDomain && x.Domain == want.Domain {
			return x, nil
		}
	}
	return nil, nil
}

// selfRegistered finds the manual asset s (as parseAsset reads it) of the
// organisation orgID, with an error that says how to register it when
// there is none. It returns the organisation too.
func selfRegistered(ctx context.Context, reg store.Registry, orgID, s string) (*constituency.Org, *constituency.Asset, error) {
	o, err := findOrg(ctx, reg, orgID)
	if err != nil {
		return nil, nil, err
	}
	as, err := parseAsset(o.ID, s)
	if err != nil {
		return nil, nil, err
	}
	if len(as) != 1 {
		return nil, nil, fmt.Errorf("%s is %d networks; name each CIDR prefix on its own", s, len(as))
	}
	x, err := findAsset(ctx, reg, o.ID, as[0])
	if err != nil {
		return nil, nil, err
	}
	if x == nil {
		return nil, nil, fmt.Errorf("%s has no asset %s entered by hand; register it first (tocsin constituents add --id %s --name NAME --asset %s --unconfirmed)",
			o.ID, s, strings.TrimPrefix(o.ID, "manual:"), s)
	}
	return o, x, nil
}

func constituentsChallenge(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents challenge", "ORG-ID DOMAIN",
		"Prints the DNS record the organisation publishes to prove it holds DOMAIN:\n"+
			"  _tocsin-challenge.DOMAIN. TXT \"tocsin-domain-verification=TOKEN\"\n"+
			"The record is the same every time; then run 'tocsin constituents verify ORG-ID DOMAIN'.")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) != 2 {
		fs.Usage()
		return exitUsage
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "tocsin constituents challenge: %v\n", err)
		return exitFail
	}
	o, x, err := selfRegistered(ctx, reg, pos[0], pos[1])
	if err != nil {
		return fail(err)
	}
	if x.Kind != constituency.AssetDomain {
		return fail(fmt.Errorf("%s is not a domain; a network or an AS number is confirmed by its RIPE abuse-c (tocsin constituents request-confirmation %s %s)", pos[1], o.ID, pos[1]))
	}
	k, err := a.proofKey()
	if err != nil {
		return fail(err)
	}
	c, err := k.Challenge(o.ID, x.Domain)
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		json.NewEncoder(env.Stdout).Encode(map[string]any{"org": o.ID, "domain": c.Domain, "name": c.Name, "type": "TXT", "value": c.Value,
			"record": c.Record(), "confirmed": x.Confirmed})
		return exitOK
	}
	fmt.Fprintln(env.Stdout, c.Record())
	return exitOK
}

func constituentsVerify(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents verify", "ORG-ID DOMAIN",
		"Looks up the organisation's DNS challenge record for DOMAIN ('tocsin constituents challenge') and,\n"+
			"when it is there, confirms the domain: events are attributed to it from then on.")
	resolver := fs.String("resolver", "", "DNS server to ask, `host:port` (else $"+envResolver+", else the system's resolver)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) != 2 {
		fs.Usage()
		return exitUsage
	}
	if *resolver == "" {
		*resolver = env.Getenv(envResolver)
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	if *resolver == "" {
		*resolver = a.Config.Proof.Resolver
	}
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "tocsin constituents verify: %v\n", err)
		return exitFail
	}
	o, x, err := selfRegistered(ctx, reg, pos[0], pos[1])
	if err != nil {
		return fail(err)
	}
	if x.Kind != constituency.AssetDomain {
		return fail(fmt.Errorf("%s is not a domain; a network or an AS number is confirmed by its RIPE abuse-c (tocsin constituents request-confirmation %s %s)", pos[1], o.ID, pos[1]))
	}
	k, err := a.proofKey()
	if err != nil {
		return fail(err)
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := k.Verify(lctx, proof.Resolver(*resolver), o.ID, x.Domain); err != nil {
		if *resolver != "" && !errors.Is(err, proof.ErrNoRecord) && !errors.Is(err, proof.ErrMismatch) {
			// The Go resolver names the system's server in its errors.
			err = fmt.Errorf("%w [asked %s]", err, *resolver)
		}
		return fail(err)
	}
	was := x.Confirmed
	if err := reg.ConfirmAsset(ctx, *x); err != nil {
		return fail(err)
	}
	if *asJSON {
		json.NewEncoder(env.Stdout).Encode(map[string]any{"org": o.ID, "domain": x.Domain, "confirmed": true, "was_confirmed": was})
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "confirmed: %s holds %s (its challenge record is published)\n", o.ID, x.Domain)
	return exitOK
}

func constituentsRequestConfirmation(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents request-confirmation", "ORG-ID PREFIX|ASN",
		"Mails a confirmation link to the RIPE abuse-c of a network or an AS number the organisation registered\n"+
			"itself (as imported by 'tocsin constituents import ripe'); following the link (or 'tocsin constituents\n"+
			"confirm LINK') confirms it. The mail goes to the outbox, DATA_DIR/outbox.")
	baseURL := fs.String("base-url", "", "`URL` the links point under, <URL>/confirm/<token> (else $"+envBaseURL+")")
	from := fs.String("from", "", "sender `address` (else $"+envMailFrom+", else noreply@ the base URL's host)")
	valid := fs.Duration("valid", defaultLinkValidity, "how long the link works (else proof.link_validity)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) != 2 {
		fs.Usage()
		return exitUsage
	}
	validSet := false
	fs.Visit(func(f *flag.Flag) { validSet = validSet || f.Name == "valid" })
	if *baseURL == "" {
		*baseURL = env.Getenv(envBaseURL)
	}
	if *from == "" {
		*from = env.Getenv(envMailFrom)
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	if *baseURL == "" {
		*baseURL = a.Config.Proof.BaseURL
	}
	if *from == "" && a.Config.Notify.Sender.Email != config.DefaultSenderEmail {
		*from = a.Config.Notify.Sender.Email
	}
	if !validSet {
		*valid = a.Config.Proof.LinkValidity
	}
	u, err := url.Parse(*baseURL)
	if *baseURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		fmt.Fprintf(env.Stderr, "tocsin constituents request-confirmation: --base-url (or $%s, or proof.base_url in the config) must be the absolute http(s) URL where tocsin's web server answers, such as https://cert.example/tocsin\n", envBaseURL)
		return exitUsage
	}
	if *from == "" {
		*from = "noreply@" + u.Hostname()
	}
	if *valid <= 0 {
		fmt.Fprintln(env.Stderr, "tocsin constituents request-confirmation: --valid must be positive")
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "tocsin constituents request-confirmation: %v\n", err)
		return exitFail
	}
	o, x, err := selfRegistered(ctx, reg, pos[0], pos[1])
	if err != nil {
		return fail(err)
	}
	if x.Kind == constituency.AssetDomain {
		return fail(fmt.Errorf("%s is a domain: it is confirmed by a DNS record (tocsin constituents challenge %s %s)", x.Domain, o.ID, x.Domain))
	}
	if x.Confirmed {
		fmt.Fprintf(env.Stdout, "%s is already confirmed for %s; no mail sent\n", pos[1], o.ID)
		return exitOK
	}
	abuse, err := proof.RIPEAbuseC(ctx, reg, *x)
	if err != nil {
		return fail(err)
	}
	k, err := a.proofKey()
	if err != nil {
		return fail(err)
	}
	now := time.Now()
	tok, err := k.LinkToken(*x, now.Add(*valid))
	if err != nil {
		return fail(err)
	}
	link, err := k.ParseLinkToken(tok, now)
	if err != nil {
		return fail(err)
	}
	m := proof.Mail{From: *from, To: abuse.Emails, Org: *o, Link: link, URL: proof.LinkURL(*baseURL, tok), Holder: abuse.Holder, Date: now}
	// The configured way out: the SMTP server, else the outbox.
	out, closeOut, err := a.mailSender()
	if err != nil {
		return fail(err)
	}
	defer closeOut()
	ident := "confirm-" + now.UTC().Format("20060102-150405") + "-" + randHex(4)
	file := filepath.Join(a.outboxDir(), ident+".eml")
	if a.Config.Notify.SMTP.Addr != "" {
		file = "sent via " + a.Config.Notify.SMTP.Addr
	}
	if err := out.Send(ctx, mail.Envelope{From: *from, To: abuse.Emails, Ident: ident}, m.Bytes()); err != nil {
		return fail(err)
	}
	if *asJSON {
		json.NewEncoder(env.Stdout).Encode(map[string]any{"org": o.ID, "asset": link.Resource(), "to": abuse.Emails, "abuse_c_of": abuse.Holder,
			"via": store.AssetString(&abuse.Via), "expires": link.Expires, "file": file})
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "confirmation link for %s of %s sent to %s, the RIPE abuse-c of %s (%s); it works until %s\nmail: %s\n",
		link.Resource(), o.ID, strings.Join(abuse.Emails, ", "), abuse.Holder, store.AssetString(&abuse.Via), link.Expires.Format(time.RFC3339), file)
	return exitOK
}

func constituentsConfirm(ctx context.Context, env *Env, args []string) int {
	fs, g := newFlags(env, "constituents confirm", "TOKEN|URL",
		"Confirms the network or AS number a confirmation link names (as mailed by request-confirmation),\n"+
			"if the link is genuine, has not expired and the asset is still registered.")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	a, reg, code := openRegistry(ctx, env, g)
	if a == nil {
		return code
	}
	defer a.Close()
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "tocsin constituents confirm: %v\n", err)
		return exitFail
	}
	k, err := a.proofKey()
	if err != nil {
		return fail(err)
	}
	link, err := k.ParseLinkToken(pos[0], time.Now())
	if err != nil {
		return fail(err)
	}
	x, err := findAsset(ctx, reg, link.Org, link.Asset())
	if err != nil {
		return fail(err)
	}
	if x == nil {
		return fail(fmt.Errorf("%s no longer registers %s: it was removed after the link was sent; nothing confirmed", link.Org, link.Resource()))
	}
	was := x.Confirmed
	if !was {
		if err := reg.ConfirmAsset(ctx, *x); err != nil {
			return fail(err)
		}
	}
	if *asJSON {
		json.NewEncoder(env.Stdout).Encode(map[string]any{"org": link.Org, "asset": link.Resource(), "confirmed": true, "was_confirmed": was})
		return exitOK
	}
	if was {
		fmt.Fprintf(env.Stdout, "%s of %s was already confirmed\n", link.Resource(), link.Org)
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "confirmed: %s holds %s\n", link.Org, link.Resource())
	return exitOK
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
