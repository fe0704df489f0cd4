package proof

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"strings"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/store"
)

// ErrNoAbuseC: the registry knows no RIPE abuse-c for a resource.
var ErrNoAbuseC = errors.New("no RIPE abuse-c known")

// Holdings is the part of the registry RIPEAbuseC reads; store.Registry
// is one.
type Holdings interface {
	Assets(ctx context.Context, f store.AssetFilter) iter.Seq2[*constituency.Asset, error]
	Contacts(ctx context.Context, org string) iter.Seq2[*constituency.Contact, error]
}

// AbuseC is the RIPE abuse contact of a resource.
type AbuseC struct {
	Emails []string           // its abuse-mailboxes, at least one
	Holder string             // ID of the RIPE organisation it is the abuse-c of
	Via    constituency.Asset // the RIPE asset that holds the resource: the same, or a network enclosing it
}

// RIPEAbuseC returns the abuse-c of network or AS number a as imported
// from RIPE: the ripe contacts of role abuse (else all its ripe contacts)
// of the organisation whose
// ripe asset holds it — for a network, the most specific ripe network
// that contains all of a.Prefix, and if its organisation has no ripe
// contact, the next enclosing one; for an AS number, the ripe aut-num.
// It reads every ripe asset once. With none, the error wraps ErrNoAbuseC
// and says what to do.
func RIPEAbuseC(ctx context.Context, h Holdings, a constituency.Asset) (AbuseC, error) {
	var what string
	var holders []constituency.Asset // most specific first
	switch a.Kind {
	case constituency.AssetNetwork:
		what = a.Prefix.String()
		p := a.Prefix.Masked()
		for x, err := range h.Assets(ctx, store.AssetFilter{Source: constituency.SourceRIPE}) {
			if err != nil {
				return AbuseC{}, fmt.Errorf("abuse-c of %s: %w", what, err)
			}
			if x.Kind == constituency.AssetNetwork && encloses(x.Prefix, p) {
				holders = append(holders, *x)
			}
		}
		// Longest prefix first; equal lengths keep the registry's order.
		for i := 1; i < len(holders); i++ {
			for j := i; j > 0 && holders[j].Prefix.Bits() > holders[j-1].Prefix.Bits(); j-- {
				holders[j], holders[j-1] = holders[j-1], holders[j]
			}
		}
	case constituency.AssetASN:
		what = resource(a.Kind, a.Prefix, a.ASN)
		for x, err := range h.Assets(ctx, store.AssetFilter{Source: constituency.SourceRIPE}) {
			if err != nil {
				return AbuseC{}, fmt.Errorf("abuse-c of %s: %w", what, err)
			}
			if x.Kind == constituency.AssetASN && x.ASN == a.ASN {
				holders = append(holders, *x)
			}
		}
	default:
		return AbuseC{}, fmt.Errorf("abuse-c of a %s asset: only networks and AS numbers have one", a.Kind)
	}
	for _, x := range holders {
		var abuse, other []string
		for c, err := range h.Contacts(ctx, x.Org) {
			if err != nil {
				return AbuseC{}, fmt.Errorf("abuse-c of %s: %w", what, err)
			}
			if c.Source != constituency.SourceRIPE {
				continue
			}
			if strings.EqualFold(c.Role, "abuse") {
				abuse = append(abuse, c.Email)
			}
			other = append(other, c.Email)
		}
		if len(abuse) == 0 {
			abuse = other
		}
		if len(abuse) > 0 {
			return AbuseC{Emails: abuse, Holder: x.Org, Via: x}, nil
		}
	}
	if len(holders) == 0 {
		return AbuseC{}, fmt.Errorf("%w for %s: no RIPE data imported holds it; import the RIPE database (tocsin constituents import ripe FILE...), or confirm it by hand if you know the organisation holds it (tocsin constituents add ... --asset %s)", ErrNoAbuseC, what, what)
	}
	return AbuseC{}, fmt.Errorf("%w for %s: %s holds it in the RIPE data but has no abuse-c there; confirm it by hand if you know the organisation holds it (tocsin constituents add ... --asset %s)", ErrNoAbuseC, what, holders[0].Org, what)
}

// encloses reports whether outer contains all of inner.
func encloses(outer, inner netip.Prefix) bool {
	return outer.IsValid() && inner.IsValid() && outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}
