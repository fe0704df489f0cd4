package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/store"
)

// OpenRegistry returns a fresh, empty registry; it closes it when t ends.
type OpenRegistry func(t *testing.T) store.Registry

// RunRegistry runs the conformance suite of store.Registry.
func RunRegistry(t *testing.T, open OpenRegistry) {
	tests := []struct {
		name string
		fn   func(t *testing.T, r store.Registry)
	}{
		{"ImportRoundTrip", testImportRoundTrip},
		{"ImportDiff", testImportDiff},
		{"ReimportIsIdempotent", testReimport},
		{"ImportSkipsRepeatedKeys", testImportSkips},
		{"ImportRefusesBadInput", testImportRefuses},
		{"ImportFailureChangesNothing", testImportFailure},
		{"ManualSurvivesImports", testManualSurvives},
		{"ManualEditing", testManualEditing},
		{"ImportedDataIsNotEditedByHand", testImportedNotEdited},
		{"ConfirmAsset", testConfirmAsset},
		{"Batch", testBatch},
		{"Order", testOrder},
		{"Prefixes", testPrefixes},
		{"Text", testText},
		{"Filters", testRegistryFilters},
		{"NotifyPrefs", testNotifyPrefs},
		{"ConcurrentReadsDuringImport", testReadsDuringImport},
		{"ConcurrentImports", testConcurrentImports},
		{"LargeImport", testLargeImport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

const ripe = constituency.SourceRIPE

var verified = time.Date(2026, 3, 1, 12, 30, 15, 123456000, time.UTC)

func seq[T any](vs ...T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, v := range vs {
			if !yield(v, nil) {
				return
			}
		}
	}
}

// set is what one source holds, or what the registry holds.
type set struct {
	orgs     []constituency.Org
	assets   []constituency.Asset
	contacts []constituency.Contact
}

func org(id, name string) constituency.Org {
	return constituency.Org{ID: id, Name: name, Sector: "energy", Country: "SE", Languages: []string{"sv", "en"}}
}

func network(org, prefix string) constituency.Asset {
	p := netip.MustParsePrefix(prefix)
	return constituency.Asset{Org: org, Kind: constituency.AssetNetwork, Prefix: p, Name: "inetnum " + prefix, Confirmed: true}
}

func asn(org string, n uint32) constituency.Asset {
	return constituency.Asset{Org: org, Kind: constituency.AssetASN, ASN: n, Name: "aut-num AS" + strconv.Itoa(int(n)), Confirmed: true}
}

func domain(org, d string) constituency.Asset {
	return constituency.Asset{Org: org, Kind: constituency.AssetDomain, Domain: d, Confirmed: true}
}

func contact(org, email string) constituency.Contact {
	return constituency.Contact{Org: org, Email: email, Role: "abuse", LastVerified: verified}
}

// ripeA and ripeB are two imports of one source: B changes, removes and
// adds a row of each kind.
func ripeA() set {
	return set{
		orgs: []constituency.Org{org("ripe:ORG-A", "A AB"), org("ripe:ORG-B", "B AB"), org("ripe:ORG-C", "C AB")},
		assets: []constituency.Asset{
			network("ripe:ORG-A", "192.0.2.0/24"), network("ripe:ORG-A", "2001:db8::/32"), asn("ripe:ORG-A", 64500),
			network("ripe:ORG-B", "198.51.100.0/24"), domain("ripe:ORG-B", "b.example"),
		},
		contacts: []constituency.Contact{contact("ripe:ORG-A", "abuse@a.example"), contact("ripe:ORG-B", "abuse@b.example")},
	}
}

func ripeB() set {
	s := ripeA()
	s.orgs[0].Name = "A Aktiebolag"                 // changed
	s.orgs = slices.Delete(s.orgs, 1, 2)            // ORG-B removed
	s.orgs = append(s.orgs, org("ripe:ORG-D", "D")) // added
	s.assets[0].Name = "inetnum 192.0.2.0 - 192.0.2.255"
	s.assets = slices.Delete(s.assets, 4, 5) // b.example removed
	s.assets = append(s.assets, network("ripe:ORG-D", "203.0.113.0/25"))
	s.contacts[0].Role = "security"
	s.contacts = slices.Delete(s.contacts, 1, 2)
	s.contacts = append(s.contacts, contact("ripe:ORG-D", "cert@d.example"), contact("ripe:ORG-C", "noc@c.example"))
	return s
}

func doImport(t *testing.T, r store.Registry, source constituency.Source, s set) store.ImportDiff {
	t.Helper()
	d, err := r.Import(context.Background(), source, seq(s.orgs...), seq(s.assets...), seq(s.contacts...))
	if err != nil {
		t.Fatalf("Import(%s): %v", source, err)
	}
	return d
}

func collect[T any](t *testing.T, what string, it iter.Seq2[*T, error]) []T {
	t.Helper()
	var out []T
	for v, err := range it {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		out = append(out, *v)
	}
	return out
}

func stored(t *testing.T, r store.Registry) set {
	t.Helper()
	ctx := context.Background()
	return set{
		orgs:     collect(t, "Orgs", r.Orgs(ctx)),
		assets:   collect(t, "Assets", r.Assets(ctx, store.AssetFilter{})),
		contacts: collect(t, "Contacts", r.Contacts(ctx, "")),
	}
}

// sorted returns s with Source filled in and each kind in the registry's
// order, as a registry holding exactly s yields it.
func sorted(source constituency.Source, ss ...set) set {
	var s set
	for _, x := range ss {
		for _, o := range x.orgs {
			if o.Source == "" {
				o.Source = source
			}
			s.orgs = append(s.orgs, o)
		}
		for _, a := range x.assets {
			if a.Source == "" {
				a.Source = source
			}
			s.assets = append(s.assets, a)
		}
		for _, c := range x.contacts {
			if c.Source == "" {
				c.Source = source
			}
			s.contacts = append(s.contacts, c)
		}
	}
	slices.SortFunc(s.orgs, func(a, b constituency.Org) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.assets, compareAssets)
	slices.SortFunc(s.contacts, func(a, b constituency.Contact) int {
		return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Email, b.Email), cmp.Compare(a.Source, b.Source))
	})
	return s
}

// compareAssets is the order of Registry.Assets.
func compareAssets(a, b constituency.Asset) int {
	fam := func(x constituency.Asset) int {
		switch {
		case x.Kind != constituency.AssetNetwork:
			return 0
		case x.Prefix.Addr().Is4():
			return 4
		}
		return 6
	}
	addr := func(x constituency.Asset) []byte {
		if x.Kind != constituency.AssetNetwork {
			return nil
		}
		return x.Prefix.Addr().AsSlice()
	}
	return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Kind, b.Kind), cmp.Compare(fam(a), fam(b)),
		bytes.Compare(addr(a), addr(b)), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()),
		cmp.Compare(a.ASN, b.ASN), cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Source, b.Source))
}

func checkStored(t *testing.T, r store.Registry, want set) {
	t.Helper()
	got := stored(t, r)
	diffRows(t, "organisations", got.orgs, want.orgs)
	diffRows(t, "assets", got.assets, want.assets)
	diffRows(t, "contacts", got.contacts, want.contacts)
}

func diffRows[T any](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d %s stored, want %d:\ngot  %+v\nwant %+v", len(got), what, len(want), got, want)
		return
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s[%d] = %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

func testImportRoundTrip(t *testing.T, r store.Registry) {
	a := ripeA()
	d := doImport(t, r, ripe, a)
	want := store.ImportDiff{Orgs: store.Diff{Added: 3}, Assets: store.Diff{Added: 5}, Contacts: store.Diff{Added: 2}}
	if d != want {
		t.Errorf("first import: %+v, want %+v", d, want)
	}
	checkStored(t, r, sorted(ripe, a))
	o, err := r.Org(context.Background(), "ripe:ORG-B")
	if err != nil || !reflect.DeepEqual(*o, sorted(ripe, a).orgs[1]) {
		t.Errorf("Org(ripe:ORG-B) = %+v, %v", o, err)
	}
}

func testImportDiff(t *testing.T, r store.Registry) {
	doImport(t, r, ripe, ripeA())
	d := doImport(t, r, ripe, ripeB())
	want := store.ImportDiff{
		Orgs:     store.Diff{Added: 1, Changed: 1, Removed: 1, Unchanged: 1},
		Assets:   store.Diff{Added: 1, Changed: 1, Removed: 1, Unchanged: 3},
		Contacts: store.Diff{Added: 2, Changed: 1, Removed: 1},
	}
	if d != want {
		t.Errorf("diff\ngot  %+v\nwant %+v", d, want)
	}
	if !d.Changes() {
		t.Error("Changes() = false")
	}
	checkStored(t, r, sorted(ripe, ripeB()))
	// Back to A: the inverse diff.
	d = doImport(t, r, ripe, ripeA())
	want = store.ImportDiff{
		Orgs:     store.Diff{Added: 1, Changed: 1, Removed: 1, Unchanged: 1},
		Assets:   store.Diff{Added: 1, Changed: 1, Removed: 1, Unchanged: 3},
		Contacts: store.Diff{Added: 1, Changed: 1, Removed: 2},
	}
	if d != want {
		t.Errorf("diff back\ngot  %+v\nwant %+v", d, want)
	}
	checkStored(t, r, sorted(ripe, ripeA()))
	// Each value that is not a key counts as a change.
	c := ripeA()
	c.orgs[0].Sector = "finance"
	c.orgs[1].Languages = []string{"en"}
	c.orgs[2].Country = "NO"
	c.assets[1].Confirmed = false
	c.contacts[0].PGPKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	c.contacts[1].LastVerified = verified.Add(time.Microsecond)
	d = doImport(t, r, ripe, c)
	want = store.ImportDiff{
		Orgs:     store.Diff{Changed: 3},
		Assets:   store.Diff{Changed: 1, Unchanged: 4},
		Contacts: store.Diff{Changed: 2},
	}
	if d != want {
		t.Errorf("diff of values\ngot  %+v\nwant %+v", d, want)
	}
	checkStored(t, r, sorted(ripe, c))
	// An empty import removes the source.
	d = doImport(t, r, ripe, set{})
	want = store.ImportDiff{Orgs: store.Diff{Removed: 3}, Assets: store.Diff{Removed: 5}, Contacts: store.Diff{Removed: 2}}
	if d != want {
		t.Errorf("empty import: %+v, want %+v", d, want)
	}
	checkStored(t, r, set{})
}

func testReimport(t *testing.T, r store.Registry) {
	doImport(t, r, ripe, ripeB())
	for i := range 2 {
		d := doImport(t, r, ripe, ripeB())
		want := store.ImportDiff{Orgs: store.Diff{Unchanged: 3}, Assets: store.Diff{Unchanged: 5}, Contacts: store.Diff{Unchanged: 3}}
		if d != want || d.Changes() {
			t.Errorf("re-import %d: %+v, want %+v", i, d, want)
		}
	}
	checkStored(t, r, sorted(ripe, ripeB()))
	// Rows in another order are the same set.
	b := ripeB()
	slices.Reverse(b.orgs)
	slices.Reverse(b.assets)
	slices.Reverse(b.contacts)
	if d := doImport(t, r, ripe, b); d.Changes() {
		t.Errorf("re-import in reverse order: %+v", d)
	}
}

func testImportSkips(t *testing.T, r store.Registry) {
	ctx := context.Background()
	if err := r.PutOrg(ctx, org("ripe:ORG-TAKEN", "held by hand")); err != nil {
		t.Fatal(err)
	}
	s := set{
		orgs: []constituency.Org{org("ripe:ORG-A", "first"), org("ripe:ORG-A", "second"), org("ripe:ORG-TAKEN", "imported")},
		assets: []constituency.Asset{
			network("ripe:ORG-A", "192.0.2.0/24"), asn("ripe:ORG-A", 64500),
			{Org: "ripe:ORG-A", Kind: constituency.AssetNetwork, Prefix: netip.MustParsePrefix("192.0.2.0/24"), Name: "second"},
		},
		contacts: []constituency.Contact{contact("ripe:ORG-A", "a@a.example"), {Org: "ripe:ORG-A", Email: "a@a.example", Role: "second"}},
	}
	d := doImport(t, r, ripe, s)
	want := store.ImportDiff{Orgs: store.Diff{Added: 1, Skipped: 2}, Assets: store.Diff{Added: 2, Skipped: 1}, Contacts: store.Diff{Added: 1, Skipped: 1}}
	if d != want {
		t.Errorf("import with repeats: %+v, want %+v", d, want)
	}
	manualOrg := org("ripe:ORG-TAKEN", "held by hand")
	manualOrg.Source = constituency.SourceManual
	first := set{orgs: []constituency.Org{s.orgs[0]}, assets: s.assets[:2], contacts: s.contacts[:1]}
	checkStored(t, r, sorted(ripe, first, set{orgs: []constituency.Org{manualOrg}}))
	// Again, now that the keys are stored: still the first row wins.
	d = doImport(t, r, ripe, s)
	want = store.ImportDiff{Orgs: store.Diff{Unchanged: 1, Skipped: 2}, Assets: store.Diff{Unchanged: 2, Skipped: 1}, Contacts: store.Diff{Unchanged: 1, Skipped: 1}}
	if d != want {
		t.Errorf("re-import with repeats: %+v, want %+v", d, want)
	}
	checkStored(t, r, sorted(ripe, first, set{orgs: []constituency.Org{manualOrg}}))
}

// testNotifyPrefs: an organisation's notification preferences are stored
// by Import and PutOrg, read back by Orgs and Org, and each of them counts
// as a change on re-import.
func testNotifyPrefs(t *testing.T, r store.Registry) {
	ctx := context.Background()
	a := ripeA()
	a.orgs[0].Notify = constituency.Prefs{OptOut: true, TimeZone: "Europe/Stockholm", Format: "xarf", Monthly: true}
	a.orgs[1].Notify = constituency.Prefs{Format: "json"}
	doImport(t, r, ripe, a)
	checkStored(t, r, sorted(ripe, a))
	o, err := r.Org(ctx, "ripe:ORG-A")
	if err != nil || o.Notify != a.orgs[0].Notify {
		t.Errorf("Org(ripe:ORG-A) = %+v, %v; want preferences %+v", o, err, a.orgs[0].Notify)
	}
	if d := doImport(t, r, ripe, a); d.Changes() {
		t.Errorf("re-import with the same preferences: %+v", d)
	}

	c := ripeA()
	c.orgs[0].Notify = a.orgs[0].Notify
	c.orgs[0].Notify.OptOut = false
	c.orgs[1].Notify = constituency.Prefs{Format: "json", Monthly: true}
	c.orgs[2].Notify = constituency.Prefs{TimeZone: "UTC"}
	d := doImport(t, r, ripe, c)
	if want := (store.Diff{Changed: 3}); d.Orgs != want {
		t.Errorf("import with changed preferences: organisations %v, want %v", d.Orgs, want)
	}
	checkStored(t, r, sorted(ripe, c))
	c.orgs[0].Notify.TimeZone, c.orgs[1].Notify.Format = "America/New_York", "csv"
	if d := doImport(t, r, ripe, c); d.Orgs != (store.Diff{Changed: 2, Unchanged: 1}) {
		t.Errorf("import with a time zone and a format changed: organisations %v, want 2 changed", d.Orgs)
	}
	checkStored(t, r, sorted(ripe, c))

	m := org("manual:acme", "ACME")
	m.Notify = constituency.Prefs{TimeZone: "Asia/Tokyo", Format: "csv"}
	if err := r.PutOrg(ctx, m); err != nil {
		t.Fatal(err)
	}
	m.Source = constituency.SourceManual
	checkStored(t, r, sorted(ripe, c, set{orgs: []constituency.Org{m}}))
	m.Notify = constituency.Prefs{OptOut: true}
	if err := r.PutOrg(ctx, m); err != nil {
		t.Fatal(err)
	}
	checkStored(t, r, sorted(ripe, c, set{orgs: []constituency.Org{m}}))
	for _, p := range []constituency.Prefs{{Format: "CSV"}, {TimeZone: "Mars/Olympus_Mons"}, {TimeZone: "Local"}} {
		bad := m
		bad.Notify = p
		if err := r.PutOrg(ctx, bad); err == nil {
			t.Errorf("PutOrg with preferences %+v succeeded", p)
		}
	}
	checkStored(t, r, sorted(ripe, c, set{orgs: []constituency.Org{m}}))
}

func testImportRefuses(t *testing.T, r store.Registry) {
	ctx := context.Background()
	doImport(t, r, ripe, ripeA())
	bad := []struct {
		name   string
		source constituency.Source
		s      set
	}{
		{"manual source", constituency.SourceManual, set{}},
		{"empty source", "", set{}},
		{"org of another source", ripe, set{orgs: []constituency.Org{{ID: "x", Source: constituency.SourceManual}}}},
		{"org without ID", ripe, set{orgs: []constituency.Org{{Name: "x"}}}},
		{"ID not UTF-8", ripe, set{orgs: []constituency.Org{{ID: "ripe:\xff"}}}},
		{"language with comma", ripe, set{orgs: []constituency.Org{{ID: "x", Languages: []string{"sv,en"}}}}},
		{"asset of another source", ripe, set{assets: []constituency.Asset{{Org: "x", Kind: constituency.AssetASN, ASN: 1, Source: constituency.SourceRFC2142}}}},
		{"asset without org", ripe, set{assets: []constituency.Asset{asn("", 1)}}},
		{"asset of unknown kind", ripe, set{assets: []constituency.Asset{{Org: "x", Kind: "host"}}}},
		{"host bits", ripe, set{assets: []constituency.Asset{network("x", "192.0.2.1/24")}}},
		{"no prefix", ripe, set{assets: []constituency.Asset{{Org: "x", Kind: constituency.AssetNetwork}}}},
		{"AS0", ripe, set{assets: []constituency.Asset{asn("x", 0)}}},
		{"upper-case domain", ripe, set{assets: []constituency.Asset{domain("x", "Example.se")}}},
		{"domain with final dot", ripe, set{assets: []constituency.Asset{domain("x", "example.se.")}}},
		{"empty domain", ripe, set{assets: []constituency.Asset{domain("x", "")}}},
		{"contact without e-mail", ripe, set{contacts: []constituency.Contact{{Org: "x"}}}},
		{"contact without org", ripe, set{contacts: []constituency.Contact{{Email: "a@x"}}}},
		{"e-mail with NUL", ripe, set{contacts: []constituency.Contact{{Org: "x", Email: "a\x00@x"}}}},
		{"unknown notification format", ripe, set{orgs: []constituency.Org{{ID: "x", Notify: constituency.Prefs{Format: "pdf"}}}}},
		{"unknown time zone", ripe, set{orgs: []constituency.Org{{ID: "x", Notify: constituency.Prefs{TimeZone: "Europe/Atlantis"}}}}},
		{"the machine's time zone", ripe, set{orgs: []constituency.Org{{ID: "x", Notify: constituency.Prefs{TimeZone: "Local"}}}}},
	}
	for _, b := range bad {
		// Valid rows first: the bad one must undo them.
		s := ripeB()
		s.orgs = append(s.orgs, b.s.orgs...)
		s.assets = append(s.assets, b.s.assets...)
		s.contacts = append(s.contacts, b.s.contacts...)
		if _, err := r.Import(ctx, b.source, seq(s.orgs...), seq(s.assets...), seq(s.contacts...)); err == nil {
			t.Errorf("%s: import succeeded", b.name)
		} else {
			t.Logf("%s: %v", b.name, err)
		}
	}
	checkStored(t, r, sorted(ripe, ripeA()))
}

func testImportFailure(t *testing.T, r store.Registry) {
	doImport(t, r, ripe, ripeA())
	b := ripeB()
	boom := errors.New("dump truncated at line 12")
	failing := func(yield func(constituency.Contact, error) bool) {
		if yield(b.contacts[0], nil) {
			yield(constituency.Contact{}, boom)
		}
	}
	_, err := r.Import(context.Background(), ripe, seq(b.orgs...), seq(b.assets...), failing)
	if !errors.Is(err, boom) {
		t.Errorf("import of a failing producer: %v, want %v", err, boom)
	}
	checkStored(t, r, sorted(ripe, ripeA()))

	ctx, cancel := context.WithCancel(context.Background())
	cancelling := func(yield func(constituency.Asset, error) bool) {
		for i, a := range b.assets {
			if i == 2 {
				cancel()
			}
			if !yield(a, nil) {
				return
			}
		}
	}
	_, err = r.Import(ctx, ripe, seq(b.orgs...), cancelling, seq(b.contacts...))
	if err == nil {
		t.Error("import with a cancelled context succeeded")
	}
	checkStored(t, r, sorted(ripe, ripeA()))
}

// manualSet is manual data: an organisation with an asset and a contact,
// and an asset and a contact added by hand to an imported organisation,
// one of them with the key of an imported one but for its source.
func manualSet() set {
	m := constituency.SourceManual
	o := org("manual:acme", "ACME")
	o.Source = m
	s := set{
		orgs: []constituency.Org{o},
		assets: []constituency.Asset{
			network("manual:acme", "10.0.0.0/8"), domain("manual:acme", "acme.example"),
			network("ripe:ORG-A", "192.0.2.0/24"), // also imported
			network("ripe:ORG-A", "2001:db8:1::/48"),
		},
		contacts: []constituency.Contact{contact("manual:acme", "cert@acme.example"), contact("ripe:ORG-A", "abuse@a.example")},
	}
	for i := range s.assets {
		s.assets[i].Source = m
	}
	for i := range s.contacts {
		s.contacts[i].Source = m
	}
	return s
}

func putAll(t *testing.T, r store.Registry, s set) {
	t.Helper()
	ctx := context.Background()
	for _, o := range s.orgs {
		if err := r.PutOrg(ctx, o); err != nil {
			t.Fatalf("PutOrg(%+v): %v", o, err)
		}
	}
	for _, a := range s.assets {
		if err := r.PutAsset(ctx, a); err != nil {
			t.Fatalf("PutAsset(%+v): %v", a, err)
		}
	}
	for _, c := range s.contacts {
		if err := r.PutContact(ctx, c); err != nil {
			t.Fatalf("PutContact(%+v): %v", c, err)
		}
	}
}

func testManualSurvives(t *testing.T, r store.Registry) {
	doImport(t, r, ripe, ripeA())
	putAll(t, r, manualSet())
	checkStored(t, r, sorted(ripe, ripeA(), manualSet()))
	// A contact from another source for the same org and address.
	txt := set{contacts: []constituency.Contact{contact("ripe:ORG-A", "abuse@a.example"), contact("manual:acme", "security@acme.example")}}
	d := doImport(t, r, constituency.SourceSecurityTxt, txt)
	if d != (store.ImportDiff{Contacts: store.Diff{Added: 2}}) {
		t.Errorf("security.txt import: %+v", d)
	}
	checkStored(t, r, sorted(ripe, ripeA(), manualSet(), sorted(constituency.SourceSecurityTxt, txt)))
	// Re-imports of any source, even empty ones, leave manual data alone;
	// the manual asset of an organisation the import drops stays.
	d = doImport(t, r, ripe, ripeB())
	want := store.ImportDiff{
		Orgs:     store.Diff{Added: 1, Changed: 1, Removed: 1, Unchanged: 1},
		Assets:   store.Diff{Added: 1, Changed: 1, Removed: 1, Unchanged: 3},
		Contacts: store.Diff{Added: 2, Changed: 1, Removed: 1},
	}
	if d != want {
		t.Errorf("re-import with manual data\ngot  %+v\nwant %+v", d, want)
	}
	checkStored(t, r, sorted(ripe, ripeB(), manualSet(), sorted(constituency.SourceSecurityTxt, txt)))
	doImport(t, r, ripe, set{})
	doImport(t, r, constituency.SourceSecurityTxt, set{})
	checkStored(t, r, sorted(constituency.SourceManual, manualSet()))
}

func testManualEditing(t *testing.T, r store.Registry) {
	ctx := context.Background()
	doImport(t, r, ripe, ripeA())
	m := manualSet()
	putAll(t, r, m)
	// Put replaces by key.
	o := m.orgs[0]
	o.Name, o.Languages = "ACME Corp", nil
	o.Source = "" // means manual
	if err := r.PutOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	a := m.assets[0]
	a.Name, a.Confirmed = "renamed", false
	if err := r.PutAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	c := m.contacts[0]
	c.Role, c.LastVerified = "cert", time.Time{}
	if err := r.PutContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	o.Source = constituency.SourceManual
	m.orgs[0], m.assets[0], m.contacts[0] = o, a, c
	checkStored(t, r, sorted(ripe, ripeA(), m))

	// Deletes.
	if err := r.DeleteAsset(ctx, m.assets[3]); err != nil {
		t.Errorf("DeleteAsset: %v", err)
	}
	if err := r.DeleteContact(ctx, "ripe:ORG-A", "abuse@a.example"); err != nil {
		t.Errorf("DeleteContact: %v", err)
	}
	m.assets = slices.Delete(m.assets, 3, 4)
	m.contacts = slices.Delete(m.contacts, 1, 2)
	checkStored(t, r, sorted(ripe, ripeA(), m))
	if err := r.DeleteAsset(ctx, m.assets[2]); err != nil {
		t.Errorf("DeleteAsset of a manual asset with an imported twin: %v", err)
	}
	if err := r.DeleteAsset(ctx, m.assets[2]); !errors.Is(err, store.ErrImported) {
		t.Errorf("second DeleteAsset, where only the imported twin is left: %v, want ErrImported", err)
	}
	m.assets = slices.Delete(m.assets, 2, 3)
	checkStored(t, r, sorted(ripe, ripeA(), m))

	// An imported asset of the manual org goes when the org does only
	// by re-import.
	imp := ripeA()
	imp.assets = append(imp.assets, network("manual:acme", "172.16.0.0/12"))
	doImport(t, r, ripe, imp)
	if err := r.DeleteOrg(ctx, "manual:acme"); err != nil {
		t.Fatalf("DeleteOrg: %v", err)
	}
	checkStored(t, r, sorted(ripe, imp))
	if _, err := r.Org(ctx, "manual:acme"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Org of a deleted org: %v, want ErrNotFound", err)
	}

	// What is not there.
	for name, err := range map[string]error{
		"DeleteOrg":     r.DeleteOrg(ctx, "manual:nobody"),
		"DeleteAsset":   r.DeleteAsset(ctx, domain("ripe:ORG-A", "nowhere.example")),
		"DeleteContact": r.DeleteContact(ctx, "ripe:ORG-A", "nobody@a.example"),
		"PutAsset":      r.PutAsset(ctx, domain("manual:nobody", "x.example")),
		"PutContact":    r.PutContact(ctx, contact("manual:nobody", "x@x.example")),
		"ConfirmAsset":  r.ConfirmAsset(ctx, domain("ripe:ORG-A", "nowhere.example")),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of a missing row: %v, want ErrNotFound", name, err)
		}
	}
	if _, err := r.Org(ctx, "manual:nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Org of a missing org: %v, want ErrNotFound", err)
	}
	// Invalid manual rows.
	if err := r.PutAsset(ctx, network("ripe:ORG-A", "192.0.2.1/24")); err == nil {
		t.Error("PutAsset with host bits set succeeded")
	}
	if err := r.PutOrg(ctx, constituency.Org{}); err == nil {
		t.Error("PutOrg without ID succeeded")
	}
	checkStored(t, r, sorted(ripe, imp))
}

func testImportedNotEdited(t *testing.T, r store.Registry) {
	ctx := context.Background()
	doImport(t, r, ripe, ripeA())
	a := ripeA()
	imported := a.assets[0]
	imported.Source = ripe
	importedContact := a.contacts[0]
	importedContact.Source = ripe
	overOrg := org("ripe:ORG-A", "hijack")
	for name, err := range map[string]error{
		"PutOrg over an imported org":      r.PutOrg(ctx, overOrg),
		"PutOrg with an imported source":   r.PutOrg(ctx, constituency.Org{ID: "manual:x", Source: ripe}),
		"DeleteOrg of an imported org":     r.DeleteOrg(ctx, "ripe:ORG-A"),
		"PutAsset with an imported source": r.PutAsset(ctx, imported),
		"DeleteAsset of an imported asset": r.DeleteAsset(ctx, imported),
		"DeleteAsset by key only":          r.DeleteAsset(ctx, a.assets[0]),
		"PutContact, imported source":      r.PutContact(ctx, importedContact),
		"DeleteContact of imported":        r.DeleteContact(ctx, "ripe:ORG-A", "abuse@a.example"),
	} {
		if !errors.Is(err, store.ErrImported) {
			t.Errorf("%s: %v, want ErrImported", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	checkStored(t, r, sorted(ripe, ripeA()))
}

func testConfirmAsset(t *testing.T, r store.Registry) {
	ctx := context.Background()
	putAll(t, r, set{orgs: manualSet().orgs})
	a := domain("manual:acme", "acme.example")
	a.Confirmed = false
	if err := r.PutAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	got := collect(t, "Assets", r.Assets(ctx, store.AssetFilter{}))
	if len(got) != 1 || got[0].Confirmed {
		t.Fatalf("before confirmation: %+v", got)
	}
	if err := r.ConfirmAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	got = collect(t, "Assets", r.Assets(ctx, store.AssetFilter{}))
	if len(got) != 1 || !got[0].Confirmed {
		t.Fatalf("after confirmation: %+v", got)
	}
	// Confirming imported assets works too; a re-import sets it as its rows say.
	s := set{orgs: ripeA().orgs[:1], assets: []constituency.Asset{asn("ripe:ORG-A", 64500)}}
	s.assets[0].Confirmed = false
	doImport(t, r, ripe, s)
	imp := s.assets[0]
	imp.Source = ripe
	if err := r.ConfirmAsset(ctx, imp); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, "Assets", r.Assets(ctx, store.AssetFilter{Source: ripe})); len(got) != 1 || !got[0].Confirmed {
		t.Fatalf("imported asset after confirmation: %+v", got)
	}
	if d := doImport(t, r, ripe, s); d.Assets != (store.Diff{Changed: 1}) {
		t.Errorf("re-import after confirmation: %+v", d.Assets)
	}
	if got := collect(t, "Assets", r.Assets(ctx, store.AssetFilter{Source: ripe})); len(got) != 1 || got[0].Confirmed {
		t.Fatalf("imported asset after re-import: %+v", got)
	}
}

func testOrder(t *testing.T, r store.Registry) {
	ids := []string{"ripe:b", "ripe:B", "ripe:a", "ripe:ä", "ripe:Z", "ripe:ab", "ripe:a b", "ripe:10", "ripe:9", "ripe:é", "ripe:~"}
	var s set
	for i, id := range ids {
		s.orgs = append(s.orgs, org(id, id))
		for _, p := range []string{"10.0.0.0/8", "9.0.0.0/8", "10.0.0.0/16", "2001:db8::/32", "::/0", "0.0.0.0/0", "fe80::/10", "::ffff:10.0.0.0/104", "255.255.255.255/32"} {
			s.assets = append(s.assets, network(id, p))
		}
		s.assets = append(s.assets, asn(id, 9), asn(id, 10), asn(id, 4294967295), domain(id, "b.example"), domain(id, "a.example"), domain(id, "ä.example"))
		s.contacts = append(s.contacts, contact(id, "b@x"), contact(id, "a@x"), contact(id, "B@x"), contact(id, strconv.Itoa(i)+"@x"))
	}
	doImport(t, r, ripe, s)
	m := set{assets: []constituency.Asset{network("ripe:a", "10.0.0.0/8"), asn("ripe:b", 10)}, contacts: []constituency.Contact{contact("ripe:ä", "a@x")}}
	for i := range m.assets {
		m.assets[i].Source = constituency.SourceManual
	}
	m.contacts[0].Source = constituency.SourceManual
	putAll(t, r, m)
	doImport(t, r, constituency.SourceRFC2142, set{contacts: []constituency.Contact{contact("ripe:ä", "a@x")}})
	want := sorted(ripe, s, m, sorted(constituency.SourceRFC2142, set{contacts: []constituency.Contact{contact("ripe:ä", "a@x")}}))
	for range 2 {
		checkStored(t, r, want)
	}
}

func testPrefixes(t *testing.T, r store.Registry) {
	prefixes := []string{
		"0.0.0.0/0", "192.0.2.0/24", "192.0.2.128/25", "192.0.2.255/32", "255.255.255.255/32", "10.0.0.0/8",
		"::/0", "2001:db8::/32", "2001:db8::/33", "2001:db8::1/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		"::ffff:192.0.2.0/120", "::ffff:0.0.0.0/96", "::/128", "2a00::/12", "64:ff9b::/96",
	}
	s := set{orgs: []constituency.Org{org("ripe:ORG-P", "P")}}
	for _, p := range prefixes {
		s.assets = append(s.assets, network("ripe:ORG-P", p))
	}
	doImport(t, r, ripe, s)
	got := collect(t, "Assets", r.Assets(context.Background(), store.AssetFilter{}))
	if len(got) != len(prefixes) {
		t.Fatalf("%d assets, want %d", len(got), len(prefixes))
	}
	seen := map[netip.Prefix]bool{}
	for _, a := range got {
		seen[a.Prefix] = true
	}
	for _, p := range prefixes {
		if !seen[netip.MustParsePrefix(p)] {
			t.Errorf("prefix %s did not round-trip", p)
		}
	}
	checkStored(t, r, sorted(ripe, s))
	if d := doImport(t, r, ripe, s); d.Changes() {
		t.Errorf("re-import of the prefixes: %+v", d)
	}
}

func testText(t *testing.T, r store.Registry) {
	o := org("ripe:ORG-Ü", "Ümeå Energi AB — ✓ 北京 🚀")
	o.Sector = "énergie"
	bad := org("ripe:ORG-BAD", "Latin-1 \xe9t\xe9 and a NUL \x00 here")
	a := network("ripe:ORG-Ü", "192.0.2.0/24")
	a.Name = "inetnum für Ümeå"
	d := domain("ripe:ORG-Ü", "ümeå.example")
	c := contact("ripe:ORG-Ü", "säkerhet@ümeå.example")
	c.PGPKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\xff\n-----END PGP PUBLIC KEY BLOCK-----\n"
	s := set{orgs: []constituency.Org{o, bad}, assets: []constituency.Asset{a, d}, contacts: []constituency.Contact{c}}
	doImport(t, r, ripe, s)
	// Invalid bytes and NULs in text that is not a key become U+FFFD.
	want := s
	want.orgs = slices.Clone(s.orgs)
	want.orgs[1].Name = "Latin-1 \uFFFDt\uFFFD and a NUL \uFFFD here"
	want.contacts = slices.Clone(s.contacts)
	want.contacts[0].PGPKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\uFFFD\n-----END PGP PUBLIC KEY BLOCK-----\n"
	checkStored(t, r, sorted(ripe, want))
	if d := doImport(t, r, ripe, s); d.Changes() {
		t.Errorf("re-import of cleaned text: %+v", d)
	}
}

func testRegistryFilters(t *testing.T, r store.Registry) {
	ctx := context.Background()
	doImport(t, r, ripe, ripeA())
	putAll(t, r, manualSet())
	all := sorted(ripe, ripeA(), manualSet())
	for _, f := range []store.AssetFilter{
		{Org: "ripe:ORG-A"}, {Org: "manual:acme"}, {Org: "nobody"}, {Source: ripe}, {Source: constituency.SourceManual},
		{Org: "ripe:ORG-A", Source: constituency.SourceManual}, {Source: constituency.SourceRFC2142},
	} {
		var want []constituency.Asset
		for _, a := range all.assets {
			if (f.Org == "" || a.Org == f.Org) && (f.Source == "" || a.Source == f.Source) {
				want = append(want, a)
			}
		}
		diffRows(t, fmt.Sprintf("Assets(%+v)", f), collect(t, "Assets", r.Assets(ctx, f)), want)
	}
	for _, org := range []string{"ripe:ORG-A", "ripe:ORG-B", "manual:acme", "nobody"} {
		var want []constituency.Contact
		for _, c := range all.contacts {
			if c.Org == org {
				want = append(want, c)
			}
		}
		diffRows(t, "Contacts("+org+")", collect(t, "Contacts", r.Contacts(ctx, org)), want)
	}
	// Stopping an iteration early is fine.
	for range r.Orgs(ctx) {
		break
	}
	for range r.Assets(ctx, store.AssetFilter{}) {
		break
	}
}

// testReadsDuringImport reads while an import is half done: readers see
// the registry as it was, without waiting for the import, and the new set
// once it commits.
func testReadsDuringImport(t *testing.T, r store.Registry) {
	ctx := context.Background()
	old := bigSet(0, 3000, 0)
	doImport(t, r, ripe, old)
	next := bigSet(1000, 3000, 1)
	half, resume := make(chan struct{}), make(chan struct{})
	assets := func(yield func(constituency.Asset, error) bool) {
		for i, a := range next.assets {
			if i == len(next.assets)/2 {
				close(half)
				<-resume
			}
			if !yield(a, nil) {
				return
			}
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Import(ctx, ripe, seq(next.orgs...), assets, seq(next.contacts...))
		done <- err
	}()
	<-half
	wantOld := sorted(ripe, old)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			n := 0
			for a, err := range r.Assets(ctx, store.AssetFilter{}) {
				if err != nil {
					t.Errorf("Assets during import: %v", err)
					return
				}
				if !reflect.DeepEqual(*a, wantOld.assets[n]) {
					t.Errorf("asset %d during import = %+v, want %+v", n, *a, wantOld.assets[n])
					return
				}
				n++
			}
			if n != len(wantOld.assets) {
				t.Errorf("%d assets during import, want %d", n, len(wantOld.assets))
			}
			if o, err := r.Org(ctx, old.orgs[0].ID); err != nil || o.Name != old.orgs[0].Name {
				t.Errorf("Org during import: %+v, %v", o, err)
			}
			n = 0
			for _, err := range r.Orgs(ctx) {
				if err != nil {
					t.Errorf("Orgs during import: %v", err)
					return
				}
				n++
			}
			if n != len(wantOld.orgs) {
				t.Errorf("%d orgs during import, want %d", n, len(wantOld.orgs))
			}
		}()
	}
	wg.Wait()
	close(resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkStored(t, r, sorted(ripe, next))
}

// testConcurrentImports runs imports of one source at once: they must
// serialise, leaving one of the sets whole.
func testConcurrentImports(t *testing.T, r store.Registry) {
	ctx := context.Background()
	sets := []set{bigSet(0, 500, 0), bigSet(200, 500, 1), bigSet(400, 500, 2)}
	var wg sync.WaitGroup
	for _, s := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Import(ctx, ripe, seq(s.orgs...), seq(s.assets...), seq(s.contacts...)); err != nil {
				t.Errorf("Import: %v", err)
			}
		}()
	}
	wg.Wait()
	got := stored(t, r)
	for _, s := range sets {
		w := sorted(ripe, s)
		if reflect.DeepEqual(got.orgs, w.orgs) && reflect.DeepEqual(got.assets, w.assets) && reflect.DeepEqual(got.contacts, w.contacts) {
			return
		}
	}
	t.Errorf("after concurrent imports the registry is none of the imported sets (%d orgs, %d assets, %d contacts)",
		len(got.orgs), len(got.assets), len(got.contacts))
}

// bigSet is n organisations from the from'th, each with a network of
// each family, an AS and a contact; version changes every tenth name.
func bigSet(from, n, version int) set {
	var s set
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("ripe:ORG-%06d-RIPE", i)
		name := "Org " + strconv.Itoa(i)
		if i%10 == 0 {
			name += " v" + strconv.Itoa(version)
		}
		s.orgs = append(s.orgs, org(id, name))
		s.assets = append(s.assets, bigAsset(i, 0), bigAsset(i, 1), asn(id, uint32(64512+i)))
		s.contacts = append(s.contacts, contact(id, "abuse@"+strconv.Itoa(i)+".example"))
	}
	return s
}

// bigAsset is the j'th network (j < 200) of organisation i, IPv4 for
// even j.
func bigAsset(i, j int) constituency.Asset {
	id := fmt.Sprintf("ripe:ORG-%06d-RIPE", i%100_000)
	var p netip.Prefix
	if j%2 == 0 {
		p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(10 + j), byte(i >> 16), byte(i >> 8), byte(i)}), 32)
	} else {
		p = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(j >> 8), byte(j), byte(i >> 16), byte(i >> 8), byte(i)}), 72)
	}
	return constituency.Asset{Org: id, Kind: constituency.AssetNetwork, Prefix: p, Name: "inetnum " + p.String(), Confirmed: true}
}

// testLargeImport imports 200,000 assets and checks that the import
// streams: the live heap grows by a few tens of bytes per stored row (the
// import's index), not by the rows themselves (over 200 bytes each here).
// Under the race detector, which slows SQLite tenfold, it imports 40,000.
func testLargeImport(t *testing.T, r store.Registry) {
	orgs, perOrg := 20_000, 10
	if raceEnabled() {
		orgs = 4_000
		t.Logf("race detector on: %d assets, not 200,000", orgs*perOrg)
	}
	n := orgs * perOrg
	ctx := context.Background()
	var base, peak uint64
	liveHeap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	gen := func(change int) iter.Seq2[constituency.Asset, error] {
		return func(yield func(constituency.Asset, error) bool) {
			for k := range n {
				a := bigAsset(k%orgs, k/orgs)
				a.Name += " " + strings.Repeat("x", 100)
				if change > 0 && k%change == 0 {
					a.Name += " (changed)"
				}
				if k%(n/8) == n/16 {
					peak = max(peak, liveHeap())
				}
				if !yield(a, nil) {
					return
				}
			}
		}
	}
	var os []constituency.Org
	for i := range orgs {
		os = append(os, org(fmt.Sprintf("ripe:ORG-%06d-RIPE", i), "Org "+strconv.Itoa(i)))
	}
	// Holding the rows would take n × 250 bytes; the index takes n × 25.
	// Drivers keep a few megabytes of buffers whatever the size (PostgreSQL's
	// re-import measured 5.5 MB for 40,000 rows as for 200,000).
	limit := uint64(n)*80 + 8<<20
	for _, step := range []struct {
		name   string
		orgs   []constituency.Org
		change int
		want   store.ImportDiff
	}{
		{"first import", os, 0, store.ImportDiff{Orgs: store.Diff{Added: int64(orgs)}, Assets: store.Diff{Added: int64(n)}}},
		{"re-import, 1% changed", os[:orgs-1], 100, store.ImportDiff{
			Orgs:   store.Diff{Removed: 1, Unchanged: int64(orgs - 1)},
			Assets: store.Diff{Changed: int64(n / 100), Unchanged: int64(n - n/100)},
		}},
	} {
		base, peak = liveHeap(), 0
		start := time.Now()
		d, err := r.Import(ctx, ripe, seq(step.orgs...), gen(step.change), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s of %d assets: %v, live heap grew by at most %.1f MB", step.name, n, time.Since(start).Round(time.Millisecond), float64(peak-min(peak, base))/(1<<20))
		if d != step.want {
			t.Errorf("%s: %+v, want %+v", step.name, d, step.want)
		}
		if peak > base+limit {
			t.Errorf("%s: the live heap grew by %d MB, want at most %d MB: does the import hold the rows?", step.name, (peak-base)>>20, limit>>20)
		}
	}
	count := 0
	for a, err := range r.Assets(ctx, store.AssetFilter{Source: ripe}) {
		if err != nil {
			t.Fatal(err)
		}
		if count == 0 && a.Org != "ripe:ORG-000000-RIPE" {
			t.Errorf("first asset %+v", a)
		}
		count++
	}
	if count != n {
		t.Errorf("%d assets stored, want %d", count, n)
	}
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// RIPELike yields n assets as a RIPE import of one country would: ordered
// by address (most IPv4, a quarter IPv6, a few AS numbers), each of one of
// n/10 organisations chosen at random; with version > 0, one in a hundred
// changes its name, one in a hundred is left out and one in a hundred is
// new.
func RIPELike(n, version int) (orgs iter.Seq2[constituency.Org, error], assets iter.Seq2[constituency.Asset, error]) {
	norgs := max(1, n/10)
	orgs = func(yield func(constituency.Org, error) bool) {
		for i := range norgs {
			if !yield(org(fmt.Sprintf("ripe:ORG-%07d-RIPE", i), "Organisation "+strconv.Itoa(i)+" AB"), nil) {
				return
			}
		}
	}
	assets = func(yield func(constituency.Asset, error) bool) {
		for i := range n {
			o := fmt.Sprintf("ripe:ORG-%07d-RIPE", (uint64(i)*0x9E3779B97F4A7C15>>20)%uint64(norgs))
			var a constituency.Asset
			switch m := i % 20; {
			case m == 19:
				a = asn(o, uint32(64512+i))
			case m >= 14:
				p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x2a, 0x00, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}), 48)
				a = constituency.Asset{Org: o, Kind: constituency.AssetNetwork, Prefix: p, Name: "inet6num " + p.String(), Confirmed: true}
			default:
				ad := netip.AddrFrom4([4]byte{byte(16 + i>>16), byte(i >> 8), byte(i), 0})
				p := netip.PrefixFrom(ad, 24)
				a = constituency.Asset{Org: o, Kind: constituency.AssetNetwork, Prefix: p,
					Name: "inetnum " + ad.String() + " - " + netip.AddrFrom4([4]byte{byte(16 + i>>16), byte(i >> 8), byte(i), 255}).String(), Confirmed: true}
			}
			if version > 0 {
				switch i % 100 {
				case 1:
					a.Name += " v" + strconv.Itoa(version)
				case 2:
					continue
				case 3:
					a.Org = fmt.Sprintf("ripe:ORG-%07d-RIPE", (i+version)%norgs)
				}
			}
			if !yield(a, nil) {
				return
			}
		}
	}
	return orgs, assets
}

// ImportSize imports n RIPELike assets into r three times (new, the same,
// 3% changed) and logs the time, the peak heap and the process's peak RSS.
func ImportSize(t *testing.T, r store.Registry, n int) {
	ctx := context.Background()
	for _, version := range []int{0, 0, 1} {
		var peak uint64
		var ms runtime.MemStats
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapAlloc)
				}
			}
		}()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		orgs, assets := RIPELike(n, version)
		start, cpu := time.Now(), cpuTime()
		d, err := r.Import(ctx, ripe, orgs, assets, nil)
		el, cpu := time.Since(start), cpuTime()-cpu
		close(stop)
		<-sampled
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("import %d assets (version %d): %v (this process's CPU: %v), %.0f assets/s, heap peak %d MB (from %d MB), peak RSS %s\n  orgs %v\n  assets %v",
			n, version, el.Round(time.Millisecond), cpu, float64(n)/el.Seconds(), peak>>20, ms.HeapAlloc>>20, peakRSS(), d.Orgs, d.Assets)
	}
}

// cpuTime is the CPU time the process used so far, as Linux reports it;
// 0 elsewhere.
func cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The fields after the command's closing parenthesis; utime and stime
	// are the 12th and 13th, in clock ticks of 1/100 s.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// peakRSS is the process's peak resident set size as Linux reports it.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// testBatch: the writes of a Batch land together, or not at all when fn
// fails; a manual edit error inside it reaches fn.
func testBatch(t *testing.T, r store.Registry) {
	ctx := context.Background()
	org := func(id string) constituency.Org { return constituency.Org{ID: "manual:" + id, Name: id} }
	err := r.Batch(ctx, func(ctx context.Context) error {
		for _, id := range []string{"a", "b"} {
			if err := r.PutOrg(ctx, org(id)); err != nil {
				return err
			}
			a := constituency.Asset{Org: "manual:" + id, Kind: constituency.AssetDomain, Domain: id + ".example"}
			if err := r.PutAsset(ctx, a); err != nil {
				return err
			}
			if err := r.ConfirmAsset(ctx, a); err != nil {
				return err
			}
			if err := r.PutContact(ctx, constituency.Contact{Org: "manual:" + id, Email: "abuse@" + id + ".example"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	if n := count(t, r.Orgs(ctx)); n != 2 {
		t.Errorf("%d organisations after the batch, want 2", n)
	}
	if n := count(t, r.Assets(ctx, store.AssetFilter{})); n != 2 {
		t.Errorf("%d assets after the batch, want 2", n)
	}
	boom := errors.New("boom")
	err = r.Batch(ctx, func(ctx context.Context) error {
		if err := r.PutOrg(ctx, org("c")); err != nil {
			return err
		}
		if err := r.DeleteOrg(ctx, "manual:a"); err != nil {
			return err
		}
		// An asset of an organisation that is not there: the error
		// reaches fn, which gives up.
		if err := r.PutAsset(ctx, constituency.Asset{Org: "manual:nobody", Kind: constituency.AssetASN, ASN: 64500}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("asset of a missing organisation in a batch: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed batch: %v", err)
	}
	if _, err := r.Org(ctx, "manual:c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed batch left its organisation: %v", err)
	}
	if _, err := r.Org(ctx, "manual:a"); err != nil {
		t.Errorf("a failed batch deleted an organisation: %v", err)
	}
}

func count[T any](t *testing.T, seq func(yield func(T, error) bool)) int {
	t.Helper()
	n := 0
	for _, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
