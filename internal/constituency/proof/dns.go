package proof

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/tocsin/tocsin/internal/constituency/index"
)

// The DNS challenge: the record's owner name is ChallengeLabel under the
// domain, its text ChallengePrefix followed by the token.
const (
	ChallengeLabel  = "_tocsin-challenge"
	ChallengePrefix = "tocsin-domain-verification="
)

// tokenLen is the length of a DNS challenge token: 26 base32 characters,
// 130 bits of the HMAC.
const tokenLen = 26

// Errors of Verify.
var (
	// ErrNoRecord: there is no TXT record at the challenge name.
	ErrNoRecord = errors.New("challenge record missing")
	// ErrMismatch: there are TXT records at the challenge name, none with
	// the expected token.
	ErrMismatch = errors.New("challenge record does not match")
)

// Challenge is the DNS record that proves that an organisation holds a
// domain.
type Challenge struct {
	Org    string // organisation ID
	Domain string // normal form: lower case ASCII (IDNA), no final dot
	Name   string // owner name of the record, with the final dot
	Value  string // the record's text: ChallengePrefix + token
}

// Record is the record in zone file form:
//
//	_tocsin-challenge.example.se. TXT "tocsin-domain-verification=..."
func (c Challenge) Record() string { return c.Name + " TXT " + strconv.Quote(c.Value) }

// Challenge returns the record that org publishes to prove it holds
// domain. It is the same every time for the same key, org and domain (in
// any case, with or without a final dot, in Unicode or in IDNA form); it
// is an error only when domain is not a valid domain name.
func (k *Key) Challenge(org, domain string) (Challenge, error) {
	d, err := index.NormalizeDomain(strings.TrimSpace(domain))
	if err != nil {
		return Challenge{}, fmt.Errorf("challenge for %q: %w", domain, err)
	}
	sum := k.mac("dns-challenge", org, d)
	tok := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum))[:tokenLen]
	return Challenge{Org: org, Domain: d, Name: ChallengeLabel + "." + d + ".", Value: ChallengePrefix + tok}, nil
}

// TXTResolver looks up TXT records; *net.Resolver is one. LookupTXT
// returns one string per record, the record's strings joined without a
// separator (as RFC 7208 reads SPF records longer than 255 bytes).
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Resolver returns a resolver that sends its queries to the DNS server at
// addr ("127.0.0.1:5353", or a host without a port for port 53), or the
// system's resolver when addr is "".
func Resolver(addr string) *net.Resolver {
	if addr == "" {
		return net.DefaultResolver
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "53")
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// Verify looks up the TXT records at org's challenge name for domain and
// returns nil when one of them is the challenge's value, compared without
// regard to case and surrounding white space or quotes. Otherwise the
// error wraps ErrNoRecord (nothing at the name: NXDOMAIN or no TXT),
// ErrMismatch (it says what was found and what was expected) or the
// lookup's error (a server that fails or does not answer); each says
// what to publish.
func (k *Key) Verify(ctx context.Context, r TXTResolver, org, domain string) error {
	c, err := k.Challenge(org, domain)
	if err != nil {
		return err
	}
	txts, err := r.LookupTXT(ctx, c.Name)
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return fmt.Errorf("%w: no TXT record at %s; publish %s in the zone of %s, then verify again (a change may take the zone's TTL to show)", ErrNoRecord, c.Name, c.Record(), c.Domain)
	case err != nil:
		return fmt.Errorf("look up TXT %s: %w (try again later, or name a DNS server that answers for %s)", c.Name, err, c.Domain)
	case len(txts) == 0:
		return fmt.Errorf("%w: no TXT record at %s; publish %s in the zone of %s, then verify again", ErrNoRecord, c.Name, c.Record(), c.Domain)
	}
	for _, t := range txts {
		if strings.EqualFold(normalizeTXT(t), c.Value) {
			return nil
		}
	}
	quoted := make([]string, len(txts))
	for i, t := range txts {
		quoted[i] = strconv.Quote(t)
	}
	return fmt.Errorf("%w: %s has TXT %s, but %s expects %q; publish %s (a challenge of another organisation or for another domain does not count)",
		ErrMismatch, c.Name, strings.Join(quoted, ", "), org, c.Value, c.Record())
}

// normalizeTXT takes away white space around the text and inside it
// around "=", and quotes that were published as part of the text.
func normalizeTXT(t string) string {
	t = strings.TrimSpace(t)
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		t = strings.TrimSpace(t[1 : len(t)-1])
	}
	if k, v, ok := strings.Cut(t, "="); ok {
		t = strings.TrimSpace(k) + "=" + strings.TrimSpace(v)
	}
	return t
}
