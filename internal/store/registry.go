package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/internal/constituency"
)

// ErrNotFound is returned when an organisation, asset or contact asked for
// by its key is not stored.
var ErrNotFound = errors.New("not found")

// ErrImported is returned when a manual edit would change or delete data
// imported from another source: that data changes only by importing its
// source again.
var ErrImported = errors.New("imported data changes only by a re-import")

// Registry keeps the constituency: organisations, their assets and their
// contacts, each with its source. Its methods are safe for concurrent use.
//
// Rows are keyed so that a fact from two sources is kept twice, once per
// source, and the lookup chooses (manual wins; the registry keeps both):
//
//   - an organisation by its ID, whatever its source (IDs carry their
//     source by convention: "manual:...", "ripe:...");
//   - an asset by (Org, Kind, Prefix, ASN or Domain, Source);
//   - a contact by (Org, Email, Source).
//
// Imported data (any source but manual) changes only by Import, which
// replaces all of one source at once; manual data changes only by the
// Put and Delete methods. No foreign key ties assets and contacts to
// their organisation: a manual asset of an imported organisation outlives
// the organisation when a re-import drops it, and readers must expect an
// Org that is not stored.
//
// Text fields that are not keys (names, sector, role, PGP key, ...) are
// stored as valid UTF-8: invalid bytes and NULs become U+FFFD. Keys (IDs,
// org references, domains, e-mail addresses) with invalid text are errors.
type Registry interface {
	// Import replaces everything stored from source with the given
	// organisations, assets and contacts, in one transaction: readers see
	// the old set until it commits, then the new one. It consumes orgs,
	// then assets, then contacts, each once and as a stream (a nil
	// sequence is an empty set). Rows whose Source is empty get source;
	// any other Source is an error, and so is source manual.
	//
	// A sequence that yields an error ends the import with that error and
	// nothing changed; so does a cancelled ctx. A producer that fails must
	// yield its error rather than stop early: stopping means "that was all"
	// and removes the rest.
	//
	// Rows equal to the stored ones are not written. A key given twice
	// keeps its first row (the others count as Skipped); so does an
	// organisation whose ID a manual organisation holds (manual wins).
	Import(ctx context.Context, source constituency.Source,
		orgs iter.Seq2[constituency.Org, error],
		assets iter.Seq2[constituency.Asset, error],
		contacts iter.Seq2[constituency.Contact, error]) (ImportDiff, error)

	// PutOrg stores a manual organisation, replacing the manual one with
	// its ID. o.Source must be manual or empty. It returns ErrImported when
	// an imported organisation holds the ID.
	PutOrg(ctx context.Context, o constituency.Org) error
	// DeleteOrg deletes the manual organisation id and its manual assets
	// and contacts (imported ones stay until their source is imported
	// again). It returns ErrNotFound when no organisation has the ID and
	// ErrImported when an imported one has.
	DeleteOrg(ctx context.Context, id string) error
	// PutAsset stores a manual asset, replacing the manual one with its
	// key, Confirmed included. a.Source must be manual or empty; its
	// organisation must be stored (else ErrNotFound). Fields of other
	// kinds (an ASN on a network asset, ...) are ignored.
	PutAsset(ctx context.Context, a constituency.Asset) error
	// DeleteAsset deletes the manual asset with a's key. It returns
	// ErrImported when a.Source names another source or only an imported
	// asset has the key, and ErrNotFound when none has.
	DeleteAsset(ctx context.Context, a constituency.Asset) error
	// ConfirmAsset marks the asset with a's key (Source empty means
	// manual) as confirmed: its owner proved it holds it. It returns
	// ErrNotFound when no asset has the key. An import sets Confirmed as
	// its rows say.
	ConfirmAsset(ctx context.Context, a constituency.Asset) error
	// PutContact stores a manual contact, replacing the manual one with its
	// key. c.Source must be manual or empty; its organisation must be
	// stored (else ErrNotFound).
	PutContact(ctx context.Context, c constituency.Contact) error
	// Batch runs fn with a context whose Put, Delete and Confirm calls on
	// this Registry all go into one transaction, committed when fn returns
	// nil and rolled back (nothing changed) when it returns an error. It
	// makes a large manual import one write instead of one per row. Calls
	// with that context must not be made concurrently, nor after fn
	// returns; reads (Orgs, Assets, ...) do not see the batch's writes.
	Batch(ctx context.Context, fn func(ctx context.Context) error) error
	// DeleteContact deletes the manual contact (org, email). It returns
	// ErrImported when only an imported contact has the key and
	// ErrNotFound when none has.
	DeleteContact(ctx context.Context, org, email string) error

	// The iterators read a snapshot: all of it in store/sqlite, each page
	// of 1000 rows in store/postgres, where an import that commits during
	// an iteration shows in the pages read after it.

	// Orgs yields every organisation in ascending ID order (byte order).
	Orgs(ctx context.Context) iter.Seq2[*constituency.Org, error]
	// Org returns the organisation id, or ErrNotFound.
	Org(ctx context.Context, id string) (*constituency.Org, error)
	// Assets yields the assets matching f, ordered by Org, Kind, then the
	// asset itself (networks by address family, address, length; ASNs and
	// domains by value), then Source.
	Assets(ctx context.Context, f AssetFilter) iter.Seq2[*constituency.Asset, error]
	// Contacts yields the contacts of org, or of every organisation when
	// org is "", ordered by Org, Email, Source.
	Contacts(ctx context.Context, org string) iter.Seq2[*constituency.Contact, error]
}

// AssetFilter selects assets. Zero fields match everything.
type AssetFilter struct {
	Org    string
	Source constituency.Source
}

// ImportDiff is what one Import changed, per kind.
type ImportDiff struct {
	Orgs, Assets, Contacts Diff
}

// Changes reports whether the import added, changed or removed anything.
func (d ImportDiff) Changes() bool {
	return d.Orgs.Changes() || d.Assets.Changes() || d.Contacts.Changes()
}

// Diff counts the rows of one kind an Import saw and what it did to them.
type Diff struct {
	Added     int64 // keys not stored before
	Changed   int64 // keys stored before with other values
	Removed   int64 // keys stored before and not given again
	Unchanged int64 // rows equal to the stored ones
	// Skipped counts rows not stored because their key was taken: by an
	// earlier row of the same import (the first wins), or, for an
	// organisation, by a manual one (manual wins).
	Skipped int64
}

// Changes reports whether rows were added, changed or removed.
func (d Diff) Changes() bool { return d.Added+d.Changed+d.Removed > 0 }

func (d Diff) String() string {
	return fmt.Sprintf("%d added, %d changed, %d removed, %d unchanged, %d skipped", d.Added, d.Changed, d.Removed, d.Unchanged, d.Skipped)
}

// The rest of this file is for implementations of Registry.

// RegistryRow is a row of the registry.
type RegistryRow interface {
	constituency.Org | constituency.Asset | constituency.Contact
}

// NormalizeOrg checks o and puts it in the form the registry stores: Source
// set to source when empty, text that is not a key cleaned, an empty
// Languages list nil. Its notification preferences must name a known
// attachment format and a time zone of the IANA database (not "Local").
func NormalizeOrg(o *constituency.Org, source constituency.Source) error {
	if err := setSource(&o.Source, source); err != nil {
		return fmt.Errorf("organisation %q: %w", o.ID, err)
	}
	if err := checkKey("ID", o.ID); err != nil {
		return fmt.Errorf("organisation %q: %w", o.ID, err)
	}
	o.Name, o.Sector, o.Country = cleanText(o.Name), cleanText(o.Sector), cleanText(o.Country)
	if len(o.Languages) == 0 {
		o.Languages = nil
	}
	for _, l := range o.Languages {
		if l == "" || strings.ContainsAny(l, ", ") || checkKey("language", l) != nil {
			return fmt.Errorf("organisation %q: language %q is not a BCP 47 tag", o.ID, l)
		}
	}
	switch o.Notify.Format {
	case "", "csv", "json", "xarf":
	default:
		return fmt.Errorf("organisation %q: notification format %q: use csv, json, xarf or none (the route's)", o.ID, o.Notify.Format)
	}
	if err := checkTimeZone(o.Notify.TimeZone); err != nil {
		return fmt.Errorf("organisation %q: notification time zone: %w", o.ID, err)
	}
	return nil
}

// knownZones caches the time zone names checkTimeZone accepted: loading
// one reads the zone database.
var knownZones sync.Map // string -> struct{}

// checkTimeZone returns an error when name is neither "" nor a time zone
// of the IANA database.
func checkTimeZone(name string) error {
	if name == "" {
		return nil
	}
	if _, ok := knownZones.Load(name); ok {
		return nil
	}
	if name == "Local" || checkKey("time zone", name) != nil {
		return fmt.Errorf("%q is not an IANA time zone name such as Europe/Stockholm", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("%q is not an IANA time zone name such as Europe/Stockholm: %w", name, err)
	}
	knownZones.Store(name, struct{}{})
	return nil
}

// NormalizeAsset checks a and puts it in the form the registry stores:
// Source set to source when empty, the fields of other kinds zeroed, Name
// cleaned. A network must be a valid prefix without host bits; a domain
// lower case without a final dot.
func NormalizeAsset(a *constituency.Asset, source constituency.Source) error {
	if err := setSource(&a.Source, source); err != nil {
		return fmt.Errorf("asset %s: %w", AssetString(a), err)
	}
	if err := checkKey("organisation", a.Org); err != nil {
		return fmt.Errorf("asset %s: %w", AssetString(a), err)
	}
	switch a.Kind {
	case constituency.AssetNetwork:
		a.ASN, a.Domain = 0, ""
		if !a.Prefix.IsValid() {
			return fmt.Errorf("asset %s: a network needs a valid prefix", AssetString(a))
		}
		if a.Prefix.Addr().Zone() != "" {
			return fmt.Errorf("asset %s: a prefix has no zone", AssetString(a))
		}
		if m := a.Prefix.Masked(); m != a.Prefix {
			return fmt.Errorf("asset %s: host bits are set (the network is %s)", AssetString(a), m)
		}
	case constituency.AssetASN:
		a.Prefix, a.Domain = netip.Prefix{}, ""
		if a.ASN == 0 {
			return fmt.Errorf("asset %s: AS number 0 is not an AS", AssetString(a))
		}
	case constituency.AssetDomain:
		a.Prefix, a.ASN = netip.Prefix{}, 0
		if err := checkKey("domain", a.Domain); err != nil {
			return fmt.Errorf("asset %s: %w", AssetString(a), err)
		}
		if strings.HasSuffix(a.Domain, ".") || strings.ToLower(a.Domain) != a.Domain {
			return fmt.Errorf("asset %s: a domain is lower case without a final dot", AssetString(a))
		}
	default:
		return fmt.Errorf("asset %s: unknown kind %q", AssetString(a), a.Kind)
	}
	a.Name = cleanText(a.Name)
	return nil
}

// NormalizeContact checks c and puts it in the form the registry stores:
// Source set to source when empty, Role and PGPKey cleaned, LastVerified
// in UTC, to the microsecond.
func NormalizeContact(c *constituency.Contact, source constituency.Source) error {
	if err := setSource(&c.Source, source); err != nil {
		return fmt.Errorf("contact %s of %s: %w", c.Email, c.Org, err)
	}
	if err := checkKey("organisation", c.Org); err != nil {
		return fmt.Errorf("contact %s of %q: %w", c.Email, c.Org, err)
	}
	if err := checkKey("e-mail address", c.Email); err != nil {
		return fmt.Errorf("contact %q of %s: %w", c.Email, c.Org, err)
	}
	c.Role, c.PGPKey = cleanText(c.Role), cleanText(c.PGPKey)
	if !c.LastVerified.IsZero() {
		c.LastVerified = time.UnixMicro(c.LastVerified.UnixMicro()).UTC()
	}
	return nil
}

// AssetString names an asset in messages: "network 192.0.2.0/24 of
// ripe:ORG-X (ripe)".
func AssetString(a *constituency.Asset) string {
	var v string
	switch a.Kind {
	case constituency.AssetNetwork:
		v = a.Prefix.String()
	case constituency.AssetASN:
		v = "AS" + strconv.FormatUint(uint64(a.ASN), 10)
	default:
		v = a.Domain
	}
	s := string(a.Kind) + " " + v + " of " + a.Org
	if a.Source != "" {
		s += " (" + string(a.Source) + ")"
	}
	return s
}

func setSource(s *constituency.Source, want constituency.Source) error {
	if *s == "" {
		*s = want
	}
	if *s != want {
		return fmt.Errorf("source %q where %q is expected", *s, want)
	}
	return nil
}

func checkKey(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty %s", what)
	case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%s %q is not valid text", what, s)
	}
	return nil
}

// cleanText makes s valid UTF-8 without NULs: invalid bytes and NULs
// become U+FFFD, so that every backend stores it alike.
func cleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// CheckImportSource returns an error when source cannot be imported.
func CheckImportSource(source constituency.Source) error {
	switch {
	case source == constituency.SourceManual:
		return fmt.Errorf("import of source %q: manual data is edited, not imported", source)
	case checkKey("source", string(source)) != nil:
		return fmt.Errorf("import of source %q: not a source name", source)
	}
	return nil
}

// ImportTable is one table of the registry inside an Import's
// transaction, restricted to the import's source, as ImportRows drives it.
type ImportTable[T RegistryRow] interface {
	// Count returns how many rows of the source are stored.
	Count(ctx context.Context) (int, error)
	// Load calls fn with the ID and the value of every stored row of the
	// source. v is only valid during the call.
	Load(ctx context.Context, fn func(id int64, v *T)) error
	// Insert stores each row unless its key is taken, by a stored row or
	// by a row inserted before it (the first row of a key wins). It may
	// hold rows until Flush.
	Insert(ctx context.Context, rows []T) error
	// Flush finishes the Inserts and returns how many rows they stored.
	Flush(ctx context.Context) (int64, error)
	// Update replaces each stored row ids[i] by rows[i] if the stored row
	// has the same key, and reports for each whether it did.
	Update(ctx context.Context, ids []int64, rows []T) ([]bool, error)
	// Delete deletes the rows with these IDs.
	Delete(ctx context.Context, ids []int64) error
}

// importBatch is how many rows ImportRows hands to one Insert or Update.
const importBatch = 2048

// ImportRows replaces the rows of source in t by rows and counts what
// changed. It is the whole of Import for one kind, shared by the
// implementations so that both diff alike.
//
// It keeps in memory three words per stored row (hash of its key, hash of
// its value, its ID), sorted by key hash, and one byte of state; the new
// rows stream through. A row whose key and value hashes match a stored row
// is not written; a row whose key hash matches is an Update, which checks
// the key itself, so a collision of key hashes costs a retry, never a
// wrong row; every other row is an Insert, where the table's unique key
// turns repeats into skips. Stored rows not matched are deleted at the end.
// Hashes are seeded per call (hash/maphash), so no input can be built to
// collide on purpose.
func ImportRows[T RegistryRow](ctx context.Context, t ImportTable[T], source constituency.Source, rows iter.Seq2[T, error]) (Diff, error) {
	im := importer[T]{t: t, source: source, keySeed: maphash.MakeSeed(), sumSeed: maphash.MakeSeed()}
	return im.run(ctx, rows)
}

type importer[T RegistryRow] struct {
	t                ImportTable[T]
	source           constituency.Source
	keySeed, sumSeed maphash.Seed
	h                maphash.Hash

	stored []storedRow // sorted by key
	state  []rowState  // of stored[i]
	d      Diff

	ins      []T
	inserted int64 // rows handed to Insert
	upd      []T
	updIdx   []int // stored index of upd[i]
	ids      []int64
}

type storedRow struct {
	key, sum uint64
	id       int64
}

type rowState uint8

const (
	unseen  rowState = iota
	pending          // an Update with this row is queued
	matched          // given again by the import
)

func (im *importer[T]) run(ctx context.Context, rows iter.Seq2[T, error]) (Diff, error) {
	n, err := im.t.Count(ctx)
	if err != nil {
		return im.d, fmt.Errorf("count stored rows: %w", err)
	}
	// Sized once: growing by appends would need twice the memory.
	im.stored = make([]storedRow, 0, n+n/64)
	err = im.t.Load(ctx, func(id int64, v *T) {
		k, s := im.hash(v)
		im.stored = append(im.stored, storedRow{k, s, id})
	})
	if err != nil {
		return im.d, fmt.Errorf("load stored rows: %w", err)
	}
	slices.SortFunc(im.stored, func(a, b storedRow) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	im.state = make([]rowState, len(im.stored))
	if rows != nil {
		n := 0
		for v, err := range rows {
			if err != nil {
				return im.d, err
			}
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return im.d, err
				}
			}
			if err := im.add(ctx, &v); err != nil {
				return im.d, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return im.d, err
	}
	if err := im.flushUpdates(ctx); err != nil {
		return im.d, err
	}
	if err := im.flushInserts(ctx); err != nil {
		return im.d, err
	}
	if err := im.deleteUnmatched(ctx); err != nil {
		return im.d, err
	}
	added, err := im.t.Flush(ctx)
	if err != nil {
		return im.d, fmt.Errorf("insert: %w", err)
	}
	im.d.Added, im.d.Skipped = added, im.inserted-added
	return im.d, nil
}

func (im *importer[T]) hash(v *T) (key, sum uint64) {
	h := &im.h
	h.SetSeed(im.keySeed)
	writeKey(h, v)
	key = h.Sum64()
	h.SetSeed(im.sumSeed)
	writeKey(h, v)
	writeValue(h, v)
	return key, h.Sum64()
}

// add handles one row of the import.
func (im *importer[T]) add(ctx context.Context, v *T) error {
	if err := normalize(v, im.source); err != nil {
		return err
	}
	key, sum := im.hash(v)
	for {
		lo, hi := im.find(key)
		cand, wait := -1, false
		for i := lo; i < hi; i++ {
			switch im.state[i] {
			case pending:
				wait = true
			case unseen:
				if im.stored[i].sum == sum {
					im.state[i] = matched
					im.d.Unchanged++
					return nil
				}
				if cand < 0 {
					cand = i
				}
			}
		}
		if wait {
			// A queued Update may be this key's: settle it first.
			if err := im.flushUpdates(ctx); err != nil {
				return err
			}
			continue
		}
		if cand < 0 {
			return im.insert(ctx, v)
		}
		im.state[cand] = pending
		im.upd = append(im.upd, *v)
		im.updIdx = append(im.updIdx, cand)
		if len(im.upd) >= importBatch {
			return im.flushUpdates(ctx)
		}
		return nil
	}
}

// find returns the range of stored rows with key hash key.
func (im *importer[T]) find(key uint64) (lo, hi int) {
	lo, _ = slices.BinarySearchFunc(im.stored, key, func(r storedRow, k uint64) int {
		switch {
		case r.key < k:
			return -1
		case r.key > k:
			return 1
		}
		return 0
	})
	hi = lo
	for hi < len(im.stored) && im.stored[hi].key == key {
		hi++
	}
	return lo, hi
}

func (im *importer[T]) insert(ctx context.Context, v *T) error {
	im.ins = append(im.ins, *v)
	if len(im.ins) >= importBatch {
		return im.flushInserts(ctx)
	}
	return nil
}

func (im *importer[T]) flushInserts(ctx context.Context) error {
	if len(im.ins) == 0 {
		return nil
	}
	if err := im.t.Insert(ctx, im.ins); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	im.inserted += int64(len(im.ins))
	clear(im.ins)
	im.ins = im.ins[:0]
	return nil
}

func (im *importer[T]) flushUpdates(ctx context.Context) error {
	if len(im.upd) == 0 {
		return nil
	}
	im.ids = im.ids[:0]
	for _, i := range im.updIdx {
		im.ids = append(im.ids, im.stored[i].id)
	}
	done, err := im.t.Update(ctx, im.ids, im.upd)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	// Rows whose key only shared a hash with the stored row's: try the
	// other stored rows with that hash, then insert.
	var missed []T
	for j, i := range im.updIdx {
		if done[j] {
			im.state[i] = matched
			im.d.Changed++
			continue
		}
		im.state[i] = unseen
		missed = append(missed, im.upd[j])
	}
	clear(im.upd)
	im.upd, im.updIdx = im.upd[:0], im.updIdx[:0]
	for k := range missed {
		if err := im.retry(ctx, &missed[k]); err != nil {
			return err
		}
	}
	return nil
}

// retry places a row whose Update missed, its key hash being another
// key's: one at a time, it tries each unseen stored row with that key hash,
// else inserts it. With 64-bit hashes this runs about once in 10^6
// imports of 5M rows.
func (im *importer[T]) retry(ctx context.Context, v *T) error {
	key, _ := im.hash(v)
	lo, hi := im.find(key)
	for i := lo; i < hi; i++ {
		if im.state[i] != unseen {
			continue
		}
		done, err := im.t.Update(ctx, []int64{im.stored[i].id}, []T{*v})
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if done[0] {
			im.state[i] = matched
			im.d.Changed++
			return nil
		}
	}
	return im.insert(ctx, v)
}

func (im *importer[T]) deleteUnmatched(ctx context.Context) error {
	ids := im.ids[:0]
	for i, st := range im.state {
		if st == unseen {
			ids = append(ids, im.stored[i].id)
		}
	}
	slices.Sort(ids)
	for len(ids) > 0 {
		n := min(len(ids), importBatch)
		if err := im.t.Delete(ctx, ids[:n]); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		im.d.Removed += int64(n)
		ids = ids[n:]
	}
	return nil
}

func normalize[T RegistryRow](v *T, source constituency.Source) error {
	switch v := any(v).(type) {
	case *constituency.Org:
		return NormalizeOrg(v, source)
	case *constituency.Asset:
		return NormalizeAsset(v, source)
	case *constituency.Contact:
		return NormalizeContact(v, source)
	}
	panic("unreachable")
}

// writeKey writes the fields of v's key, writeValue the others; every
// field is length-prefixed or fixed-size, so no two rows write alike.
func writeKey[T RegistryRow](h *maphash.Hash, v *T) {
	switch v := any(v).(type) {
	case *constituency.Org:
		writeString(h, v.ID)
	case *constituency.Asset:
		writeString(h, v.Org)
		writeString(h, string(v.Kind))
		b, _ := v.Prefix.MarshalBinary()
		writeString(h, string(b))
		writeUint(h, uint64(v.ASN))
		writeString(h, v.Domain)
		writeString(h, string(v.Source))
	case *constituency.Contact:
		writeString(h, v.Org)
		writeString(h, v.Email)
		writeString(h, string(v.Source))
	}
}

func writeValue[T RegistryRow](h *maphash.Hash, v *T) {
	switch v := any(v).(type) {
	case *constituency.Org:
		writeString(h, v.Name)
		writeString(h, v.Sector)
		writeString(h, v.Country)
		writeUint(h, uint64(len(v.Languages)))
		for _, l := range v.Languages {
			writeString(h, l)
		}
		writeString(h, string(v.Source))
		writeBool(h, v.Notify.OptOut)
		writeString(h, v.Notify.TimeZone)
		writeString(h, v.Notify.Format)
		writeBool(h, v.Notify.Monthly)
	case *constituency.Asset:
		writeString(h, v.Name)
		writeBool(h, v.Confirmed)
	case *constituency.Contact:
		writeString(h, v.Role)
		writeString(h, v.PGPKey)
		if v.LastVerified.IsZero() {
			h.WriteByte(0)
		} else {
			h.WriteByte(1)
			writeUint(h, uint64(v.LastVerified.UnixMicro()))
		}
	}
}

func writeBool(h *maphash.Hash, b bool) {
	if b {
		h.WriteByte(1)
	} else {
		h.WriteByte(0)
	}
}

func writeString(h *maphash.Hash, s string) {
	writeUint(h, uint64(len(s)))
	h.WriteString(s)
}

func writeUint(h *maphash.Hash, n uint64) {
	var b [8]byte
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	h.Write(b[:])
}
