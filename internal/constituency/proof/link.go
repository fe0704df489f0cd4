package proof

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/event"
)

// Errors of ParseLinkToken.
var (
	// ErrBadToken: the token is not one tocsin made with this key (typed
	// wrong, cut short, altered, or made under a key since replaced).
	ErrBadToken = errors.New("not a valid confirmation token")
	// ErrExpired: the token was valid until its expiry, which has passed.
	ErrExpired = errors.New("confirmation link expired")
)

// LinkPath is the path under the base URL where confirmation links point:
// <base URL>/confirm/<token>.
const LinkPath = "/confirm/"

// macLen is the length of a link token's MAC in bytes (128 bits).
const macLen = 16

// Link is what a confirmation link confirms: that Org holds a network or
// an AS number, until Expires.
type Link struct {
	Org     string
	Kind    constituency.AssetKind // AssetNetwork or AssetASN
	Prefix  netip.Prefix           // AssetNetwork
	ASN     uint32                 // AssetASN
	Expires time.Time              // to the second, UTC
}

// Asset is the self-registered (manual) asset the link confirms, as the
// registry keys it.
func (l Link) Asset() constituency.Asset {
	return constituency.Asset{Org: l.Org, Kind: l.Kind, Prefix: l.Prefix, ASN: l.ASN, Source: constituency.SourceManual}
}

// Resource names the asset: "192.0.2.0/24" or "AS64500".
func (l Link) Resource() string { return resource(l.Kind, l.Prefix, l.ASN) }

func resource(kind constituency.AssetKind, p netip.Prefix, asn uint32) string {
	if kind == constituency.AssetASN {
		return "AS" + strconv.FormatUint(uint64(asn), 10)
	}
	return p.String()
}

// LinkToken returns the token of a link confirming that a.Org holds a (a
// network or an AS number) until expires. The token is URL-safe; it
// carries the organisation, the asset and the expiry in the clear, and a
// MAC under k over them.
func (k *Key) LinkToken(a constituency.Asset, expires time.Time) (string, error) {
	if a.Kind != constituency.AssetNetwork && a.Kind != constituency.AssetASN {
		return "", fmt.Errorf("confirmation link for %s asset of %s: only networks and AS numbers are confirmed by mail; a domain is confirmed by its DNS challenge", a.Kind, a.Org)
	}
	if a.Org == "" || strings.ContainsRune(a.Org, 0) {
		return "", fmt.Errorf("confirmation link: organisation %q is not an ID", a.Org)
	}
	if a.Kind == constituency.AssetNetwork && !a.Prefix.IsValid() {
		return "", fmt.Errorf("confirmation link for a network of %s: no valid prefix", a.Org)
	}
	exp := strconv.FormatInt(expires.Unix(), 10)
	res := resource(a.Kind, a.Prefix.Masked(), a.ASN)
	payload := a.Org + "\x00" + res + "\x00" + exp
	sum := k.mac("confirm-link", a.Org, res, exp)[:macLen]
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sum), nil
}

// ParseLinkToken checks token (or a link that ends in one: TokenOf) and
// returns what it confirms. The error wraps ErrBadToken when the token is
// not k's, whatever was changed in it, and ErrExpired when its expiry is
// before now. It does not look whether the asset is still registered.
func (k *Key) ParseLinkToken(token string, now time.Time) (Link, error) {
	token = TokenOf(token)
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(token, ".")
	payload, err1 := enc.DecodeString(p64)
	sum, err2 := enc.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil || len(sum) != macLen {
		return Link{}, fmt.Errorf("%w: it is cut short or altered; copy the whole link from the mail", ErrBadToken)
	}
	parts := strings.Split(string(payload), "\x00")
	if len(parts) != 3 {
		return Link{}, fmt.Errorf("%w: it is cut short or altered; copy the whole link from the mail", ErrBadToken)
	}
	org, res, exp := parts[0], parts[1], parts[2]
	if !hmac.Equal(sum, k.mac("confirm-link", org, res, exp)[:macLen]) {
		return Link{}, fmt.Errorf("%w: it was altered, or made under another key (a replaced %s); ask for a new link", ErrBadToken, KeyFile)
	}
	// The MAC holds: the fields are as LinkToken wrote them.
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return Link{}, fmt.Errorf("%w: expiry %q", ErrBadToken, exp)
	}
	l := Link{Org: org, Expires: time.Unix(secs, 0).UTC()}
	if n, err := event.ParseASN(res); err == nil && strings.HasPrefix(res, "AS") {
		l.Kind, l.ASN = constituency.AssetASN, n
	} else if p, err := netip.ParsePrefix(res); err == nil {
		l.Kind, l.Prefix = constituency.AssetNetwork, p
	} else {
		return Link{}, fmt.Errorf("%w: resource %q", ErrBadToken, res)
	}
	if now.After(l.Expires) {
		return l, fmt.Errorf("%w on %s: request a new one (tocsin constituents request-confirmation %s %s)", ErrExpired, l.Expires.Format(time.RFC3339), l.Org, l.Resource())
	}
	return l, nil
}

// LinkURL returns the confirmation link for token under base, an
// absolute URL ("https://cert.example/portal").
func LinkURL(base, token string) string {
	return strings.TrimRight(base, "/") + LinkPath + token
}

// TokenOf returns the token in s: s itself, or what follows "/confirm/"
// in a link (a query or fragment after it dropped). White space and the
// angle brackets of a link copied from a mail are taken away.
func TokenOf(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "<>")
	if i := strings.LastIndex(s, LinkPath); i >= 0 {
		s = s[i+len(LinkPath):]
	}
	if i := strings.IndexAny(s, "?#/"); i >= 0 {
		s = s[:i]
	}
	return s
}
