package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/store"
)

// The registry's tables are orgs, assets and contacts (migration 2).
//
// An Import is one transaction at READ COMMITTED. It first takes a
// transaction-scoped advisory lock on its schema and source, so imports of
// one source run one after the other and each loads what the previous one
// committed; imports of different sources, manual edits, event ingest and
// readers go on meanwhile. New rows are copied into a temporary table and
// inserted at the end in key order (see staging); changed ones are updated
// by one UPDATE ... FROM unnest(...) per 2048 rows.
//
// Readers page through the tables by their sort key, 1000 rows a query, as
// the event iterators do: a consumer holds no connection between pages,
// and each page is a snapshot; an import that commits during an iteration
// shows in the pages read after it.

var _ store.Registry = (*Store)(nil)

const manual = constituency.SourceManual

// Import implements store.Registry.
func (s *Store) Import(ctx context.Context, source constituency.Source,
	orgs iter.Seq2[constituency.Org, error],
	assets iter.Seq2[constituency.Asset, error],
	contacts iter.Seq2[constituency.Contact, error]) (store.ImportDiff, error) {
	var d store.ImportDiff
	if err := store.CheckImportSource(source); err != nil {
		return d, err
	}
	what := "import " + string(source)
	err := s.writeTx(ctx, what, func(tx pgx.Tx) error {
		h := fnv.New64a()
		h.Write([]byte("tocsin registry import\x00" + s.schema + "\x00" + string(source)))
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
			return fmt.Errorf("%s: wait for other imports of it: %w", what, err)
		}
		t := table{tx: tx, source: source}
		var err error
		if d.Orgs, err = store.ImportRows(ctx, &orgTable{t}, source, orgs); err != nil {
			return fmt.Errorf("%s organisations: %w", what, err)
		}
		if d.Assets, err = store.ImportRows(ctx, &assetTable{t}, source, assets); err != nil {
			return fmt.Errorf("%s assets: %w", what, err)
		}
		if d.Contacts, err = store.ImportRows(ctx, &contactTable{t}, source, contacts); err != nil {
			return fmt.Errorf("%s contacts: %w", what, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
	return d, err
}

// writeTx runs fn in a transaction on a pooled connection and commits it
// when fn succeeds. Errors of fn are returned as they are, the others
// prefixed with what.
func (s *Store) writeTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	if tx, ok := ctx.Value(batchKey{s}).(pgx.Tx); ok {
		return fn(tx) // inside Batch: its transaction
	}
	c, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer s.pool.release(c)
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tx.Rollback(ctx)
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// batchKey carries a Batch's transaction in its context.
type batchKey struct{ s *Store }

// Batch implements store.Registry.
func (s *Store) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	c, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	defer s.pool.release(c)
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tx.Rollback(ctx)
	}()
	if err := fn(context.WithValue(ctx, batchKey{s}, tx)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	return nil
}

// table is what the three import tables share.
type table struct {
	tx     pgx.Tx
	source constituency.Source
	staged bool  // the staging table exists
	seq    int64 // rows staged
}

// staging is where an import gathers its new rows of one table, a
// temporary table, to insert them at the end in one statement ordered by
// the table's unique key: the key's index then fills page after page
// instead of taking each row at a random place. A first import of 5M
// assets took 46 s so, 85 s with batches of 2048 rows inserted through
// unnest (1M: 9.4 s against 12.6 s; default shared_buffers of 128 MB).
type staging struct {
	table   string   // the table the rows go to
	create  string   // CREATE TEMP TABLE import_<table>
	cols    []string // of the staging table, seq first
	orderBy string   // the unique key
}

func (st *staging) name() string { return "import_" + st.table }

// stage copies n rows, given by row(i) without their seq, into the
// staging table.
func (t *table) stage(ctx context.Context, st *staging, n int, row func(i int, v []any)) error {
	if !t.staged {
		if _, err := t.tx.Exec(ctx, st.create); err != nil {
			return fmt.Errorf("create %s: %w", st.name(), err)
		}
		t.staged = true
	}
	v := make([]any, len(st.cols))
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{st.name()}, st.cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		t.seq++
		v[0] = t.seq
		row(i, v[1:])
		return v, nil
	}))
	return err
}

// flush inserts the staged rows, in key order, the first of each key
// only, and those only where the key is free.
func (t *table) flush(ctx context.Context, st *staging) (int64, error) {
	if !t.staged {
		return 0, nil
	}
	cols := strings.Join(st.cols[1:], ", ")
	tag, err := t.tx.Exec(ctx, `INSERT INTO `+st.table+` (`+cols+`) SELECT `+cols+` FROM `+st.name()+
		` ORDER BY `+st.orderBy+`, seq ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, err
	}
	if _, err := t.tx.Exec(ctx, `DROP TABLE `+st.name()); err != nil {
		return 0, err
	}
	t.staged = false
	return tag.RowsAffected(), nil
}

func (t *table) count(ctx context.Context, name string) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM `+name+` WHERE source = $1`, string(t.source)).Scan(&n)
	return n, err
}

// load scans every row of the source selected by q into dest and calls fn.
func (t *table) load(ctx context.Context, q string, dest []any, fn func() error) error {
	rows, err := t.tx.Query(ctx, q, string(t.source))
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, fn)
	return err
}

// update runs q, an UPDATE ... RETURNING the ordinality (from 1) of each
// row it changed.
func (t *table) update(ctx context.Context, n int, q string, args ...any) ([]bool, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	done := make([]bool, n)
	var ord int64
	_, err = pgx.ForEachRow(rows, []any{&ord}, func() error {
		if ord < 1 || ord > int64(n) {
			return fmt.Errorf("update returned row %d of %d", ord, n)
		}
		done[ord-1] = true
		return nil
	})
	return done, err
}

func (t *table) delete(ctx context.Context, name string, ids []int64) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM `+name+` WHERE n = ANY($1)`, ids)
	return err
}

// Organisations.

const orgCols = `id, name, sector, country, languages, source, notify_opt_out, notify_time_zone, notify_format, notify_monthly`

type orgTable struct{ table }

func (t *orgTable) Count(ctx context.Context) (int, error) { return t.count(ctx, "orgs") }

func (t *orgTable) Load(ctx context.Context, fn func(int64, *constituency.Org)) error {
	var o orgRow
	var n int64
	return t.load(ctx, `SELECT n, `+orgCols+` FROM orgs WHERE source = $1`, append([]any{&n}, o.dest()...), func() error {
		fn(n, o.org())
		return nil
	})
}

var orgStaging = staging{
	table: "orgs",
	create: `CREATE TEMP TABLE import_orgs (seq bigint, id text COLLATE "C", name text, sector text, country text,
		languages text, source text COLLATE "C", notify_opt_out boolean, notify_time_zone text, notify_format text,
		notify_monthly boolean) ON COMMIT DROP`,
	cols:    append([]string{"seq"}, strings.Split(orgCols, ", ")...),
	orderBy: "id",
}

func (t *orgTable) Insert(ctx context.Context, rows []constituency.Org) error {
	return t.stage(ctx, &orgStaging, len(rows), func(i int, v []any) {
		o := &rows[i]
		p := &o.Notify
		v[0], v[1], v[2], v[3], v[4], v[5] = o.ID, o.Name, o.Sector, o.Country, strings.Join(o.Languages, ","), string(o.Source)
		v[6], v[7], v[8], v[9] = p.OptOut, p.TimeZone, p.Format, p.Monthly
	})
}

func (t *orgTable) Flush(ctx context.Context) (int64, error) { return t.flush(ctx, &orgStaging) }

func (t *orgTable) Update(ctx context.Context, ids []int64, rows []constituency.Org) ([]bool, error) {
	c := orgColumns(rows)
	return t.update(ctx, len(rows), `UPDATE orgs o SET name = u.name, sector = u.sector, country = u.country, languages = u.languages,
			notify_opt_out = u.opt_out, notify_time_zone = u.time_zone, notify_format = u.format, notify_monthly = u.monthly
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::boolean[], $9::text[], $10::text[], $11::boolean[])
			WITH ORDINALITY AS u(n, id, name, sector, country, languages, source, opt_out, time_zone, format, monthly, ord)
		WHERE o.n = u.n AND o.id = u.id AND o.source = u.source RETURNING u.ord`,
		ids, c.id, c.name, c.sector, c.country, c.languages, c.source, c.optOut, c.timeZone, c.format, c.monthly)
}

func (t *orgTable) Delete(ctx context.Context, ids []int64) error { return t.delete(ctx, "orgs", ids) }

type orgArrays struct {
	id, name, sector, country, languages, source []string
	optOut, monthly                              []bool
	timeZone, format                             []string
}

func orgColumns(rows []constituency.Org) orgArrays {
	n := len(rows)
	c := orgArrays{make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]bool, n), make([]bool, n), make([]string, n), make([]string, n)}
	for i := range rows {
		o := &rows[i]
		c.id[i], c.name[i], c.sector[i], c.country[i] = o.ID, o.Name, o.Sector, o.Country
		c.languages[i], c.source[i] = strings.Join(o.Languages, ","), string(o.Source)
		c.optOut[i], c.timeZone[i], c.format[i], c.monthly[i] = o.Notify.OptOut, o.Notify.TimeZone, o.Notify.Format, o.Notify.Monthly
	}
	return c
}

// orgRow is where a row of orgCols is scanned.
type orgRow struct {
	o             constituency.Org
	langs, source string
}

func (r *orgRow) dest() []any {
	p := &r.o.Notify
	return []any{&r.o.ID, &r.o.Name, &r.o.Sector, &r.o.Country, &r.langs, &r.source, &p.OptOut, &p.TimeZone, &p.Format, &p.Monthly}
}

func (r *orgRow) org() *constituency.Org {
	r.o.Source = constituency.Source(r.source)
	r.o.Languages = nil
	if r.langs != "" {
		r.o.Languages = strings.Split(r.langs, ",")
	}
	return &r.o
}

// Assets.

const assetCols = `org, kind, family, addr, bits, prefix, asn, domain, name, source, confirmed`

// assetKeyCols are the columns of an asset's key, in the table's sort order.
const assetKeyCols = `org, kind, family, addr, bits, asn, domain, source`

type assetTable struct{ table }

func (t *assetTable) Count(ctx context.Context) (int, error) { return t.count(ctx, "assets") }

func (t *assetTable) Load(ctx context.Context, fn func(int64, *constituency.Asset)) error {
	var a assetRow
	var n int64
	return t.load(ctx, `SELECT n, `+assetCols+` FROM assets WHERE source = $1`, append([]any{&n}, a.dest()...), func() error {
		v, err := a.asset()
		if err != nil {
			return err
		}
		fn(n, v)
		return nil
	})
}

var assetStaging = staging{
	table: "assets",
	create: `CREATE TEMP TABLE import_assets (seq bigint, org text COLLATE "C", kind text COLLATE "C", family smallint,
		addr bytea, bits smallint, prefix text, asn bigint, domain text COLLATE "C", name text, source text COLLATE "C",
		confirmed boolean) ON COMMIT DROP`,
	cols:    append([]string{"seq"}, strings.Split(assetCols, ", ")...),
	orderBy: assetKeyCols,
}

func (t *assetTable) Insert(ctx context.Context, rows []constituency.Asset) error {
	return t.stage(ctx, &assetStaging, len(rows), func(i int, v []any) {
		a := &rows[i]
		k := keyOf(a)
		v[0], v[1], v[2], v[3], v[4], v[5] = k.org, k.kind, k.family, k.addr, k.bits, prefixText(a)
		v[6], v[7], v[8], v[9], v[10] = k.asn, k.domain, a.Name, k.source, a.Confirmed
	})
}

func (t *assetTable) Flush(ctx context.Context) (int64, error) { return t.flush(ctx, &assetStaging) }

func (t *assetTable) Update(ctx context.Context, ids []int64, rows []constituency.Asset) ([]bool, error) {
	c := assetColumns(rows)
	return t.update(ctx, len(rows), `UPDATE assets a SET name = u.name, confirmed = u.confirmed
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::smallint[], $5::bytea[], $6::smallint[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::boolean[])
			WITH ORDINALITY AS u(n, org, kind, family, addr, bits, asn, domain, source, name, confirmed, ord)
		WHERE a.n = u.n AND a.org = u.org AND a.kind = u.kind AND a.family = u.family AND a.addr = u.addr AND a.bits = u.bits
			AND a.asn = u.asn AND a.domain = u.domain AND a.source = u.source
		RETURNING u.ord`,
		ids, c.org, c.kind, c.family, c.addr, c.bits, c.asn, c.domain, c.source, c.name, c.confirmed)
}

func (t *assetTable) Delete(ctx context.Context, ids []int64) error {
	return t.delete(ctx, "assets", ids)
}

type assetArrays struct {
	org, kind, prefix, domain, name, source []string
	family, bits                            []int16
	addr                                    [][]byte
	asn                                     []int64
	confirmed                               []bool
}

func assetColumns(rows []constituency.Asset) assetArrays {
	n := len(rows)
	c := assetArrays{
		org: make([]string, n), kind: make([]string, n), prefix: make([]string, n), domain: make([]string, n),
		name: make([]string, n), source: make([]string, n), family: make([]int16, n), bits: make([]int16, n),
		addr: make([][]byte, n), asn: make([]int64, n), confirmed: make([]bool, n),
	}
	for i := range rows {
		a := &rows[i]
		k := keyOf(a)
		c.org[i], c.kind[i], c.family[i], c.addr[i], c.bits[i], c.asn[i], c.domain[i], c.source[i] = k.org, k.kind, k.family, k.addr, k.bits, k.asn, k.domain, k.source
		c.prefix[i], c.name[i], c.confirmed[i] = prefixText(a), a.Name, a.Confirmed
	}
	return c
}

// assetKey is the values of assetKeyCols of an asset.
type assetKey struct {
	org, kind    string
	family, bits int16
	addr         []byte
	asn          int64
	domain       string
	source       string
}

func keyOf(a *constituency.Asset) assetKey {
	k := assetKey{org: a.Org, kind: string(a.Kind), addr: []byte{}, asn: int64(a.ASN), domain: a.Domain, source: string(a.Source)}
	if a.Kind == constituency.AssetNetwork && a.Prefix.IsValid() {
		k.family = 6
		if a.Prefix.Addr().Is4() {
			k.family = 4
		}
		k.addr, k.bits = a.Prefix.Addr().AsSlice(), int16(a.Prefix.Bits())
	}
	return k
}

// args are k's values in the order of assetKeyCols.
func (k assetKey) args() []any {
	return []any{k.org, k.kind, k.family, k.addr, k.bits, k.asn, k.domain, k.source}
}

func prefixText(a *constituency.Asset) string {
	if a.Kind == constituency.AssetNetwork && a.Prefix.IsValid() {
		return a.Prefix.String()
	}
	return ""
}

// assetRow is where a row of assetCols is scanned.
type assetRow struct {
	a                    constituency.Asset
	kind, prefix, source string
	family, bits         int16
	addr                 []byte
	asn                  int64
}

func (r *assetRow) dest() []any {
	return []any{&r.a.Org, &r.kind, &r.family, &r.addr, &r.bits, &r.prefix, &r.asn, &r.a.Domain, &r.a.Name, &r.source, &r.a.Confirmed}
}

func (r *assetRow) asset() (*constituency.Asset, error) {
	a := &r.a
	a.Kind, a.Source, a.ASN = constituency.AssetKind(r.kind), constituency.Source(r.source), uint32(r.asn)
	a.Prefix = netip.Prefix{}
	if r.family != 0 {
		ad, ok := netip.AddrFromSlice(r.addr)
		if !ok {
			return nil, fmt.Errorf("asset %s of %s: stored address %x is not 4 or 16 bytes", r.prefix, a.Org, r.addr)
		}
		a.Prefix = netip.PrefixFrom(ad, int(r.bits))
	}
	return a, nil
}

// Contacts.

const contactCols = `org, email, role, pgp_key, source, last_verified`

type contactTable struct{ table }

func (t *contactTable) Count(ctx context.Context) (int, error) { return t.count(ctx, "contacts") }

func (t *contactTable) Load(ctx context.Context, fn func(int64, *constituency.Contact)) error {
	var c contactRow
	var n int64
	return t.load(ctx, `SELECT n, `+contactCols+` FROM contacts WHERE source = $1`, append([]any{&n}, c.dest()...), func() error {
		fn(n, c.contact())
		return nil
	})
}

var contactStaging = staging{
	table: "contacts",
	create: `CREATE TEMP TABLE import_contacts (seq bigint, org text COLLATE "C", email text COLLATE "C", role text,
		pgp_key text, source text COLLATE "C", last_verified bigint) ON COMMIT DROP`,
	cols:    append([]string{"seq"}, strings.Split(contactCols, ", ")...),
	orderBy: "org, email, source",
}

func (t *contactTable) Insert(ctx context.Context, rows []constituency.Contact) error {
	return t.stage(ctx, &contactStaging, len(rows), func(i int, v []any) {
		c := &rows[i]
		v[0], v[1], v[2], v[3], v[4], v[5] = c.Org, c.Email, c.Role, c.PGPKey, string(c.Source), micros(c.LastVerified)
	})
}

func (t *contactTable) Flush(ctx context.Context) (int64, error) {
	return t.flush(ctx, &contactStaging)
}

func (t *contactTable) Update(ctx context.Context, ids []int64, rows []constituency.Contact) ([]bool, error) {
	c := contactColumns(rows)
	return t.update(ctx, len(rows), `UPDATE contacts c SET role = u.role, pgp_key = u.pgp_key, last_verified = u.last_verified
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
			WITH ORDINALITY AS u(n, org, email, role, pgp_key, source, last_verified, ord)
		WHERE c.n = u.n AND c.org = u.org AND c.email = u.email AND c.source = u.source RETURNING u.ord`,
		ids, c.org, c.email, c.role, c.pgpKey, c.source, c.verified)
}

func (t *contactTable) Delete(ctx context.Context, ids []int64) error {
	return t.delete(ctx, "contacts", ids)
}

type contactArrays struct {
	org, email, role, pgpKey, source []string
	verified                         []*int64
}

func contactColumns(rows []constituency.Contact) contactArrays {
	n := len(rows)
	c := contactArrays{make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*int64, n)}
	for i := range rows {
		r := &rows[i]
		c.org[i], c.email[i], c.role[i], c.pgpKey[i], c.source[i], c.verified[i] = r.Org, r.Email, r.Role, r.PGPKey, string(r.Source), micros(r.LastVerified)
	}
	return c
}

// micros is t as stored: Unix microseconds, nil (NULL) for the zero time.
func micros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.UnixMicro()
	return &v
}

// contactRow is where a row of contactCols is scanned.
type contactRow struct {
	c        constituency.Contact
	source   string
	verified *int64
}

func (r *contactRow) dest() []any {
	return []any{&r.c.Org, &r.c.Email, &r.c.Role, &r.c.PGPKey, &r.source, &r.verified}
}

func (r *contactRow) contact() *constituency.Contact {
	r.c.Source = constituency.Source(r.source)
	r.c.LastVerified = time.Time{}
	if r.verified != nil {
		r.c.LastVerified = time.UnixMicro(*r.verified).UTC()
	}
	return &r.c
}

// Manual editing.

// importedOrg returns the error for a manual edit of organisation id,
// which an import holds.
func importedOrg(ctx context.Context, tx pgx.Tx, what, id string) error {
	var source string
	if err := tx.QueryRow(ctx, `SELECT source FROM orgs WHERE id = $1`, id).Scan(&source); err != nil {
		return fmt.Errorf("%s organisation %s: %w", what, id, err)
	}
	return fmt.Errorf("%s organisation %s: it comes from %s: %w of %s (or add a manual organisation with another ID)", what, id, source, store.ErrImported, source)
}

func manualOnly(s constituency.Source) error {
	if s != "" && s != manual {
		return fmt.Errorf("source %s: %w of %s; only manual data is edited", s, store.ErrImported, s)
	}
	return nil
}

// PutOrg implements store.Registry.
func (s *Store) PutOrg(ctx context.Context, o constituency.Org) error {
	if err := manualOnly(o.Source); err != nil {
		return fmt.Errorf("put organisation %s: %w", o.ID, err)
	}
	if err := store.NormalizeOrg(&o, manual); err != nil {
		return fmt.Errorf("put %w", err)
	}
	what := "put organisation " + o.ID
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		var n int64
		p := &o.Notify
		err := tx.QueryRow(ctx, `INSERT INTO orgs (`+orgCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, sector = excluded.sector, country = excluded.country, languages = excluded.languages,
				notify_opt_out = excluded.notify_opt_out, notify_time_zone = excluded.notify_time_zone,
				notify_format = excluded.notify_format, notify_monthly = excluded.notify_monthly
			WHERE orgs.source = excluded.source RETURNING n`,
			o.ID, o.Name, o.Sector, o.Country, strings.Join(o.Languages, ","), string(o.Source),
			p.OptOut, p.TimeZone, p.Format, p.Monthly).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return importedOrg(ctx, tx, "put", o.ID)
		}
		if err != nil {
			return fmt.Errorf("put organisation %s: %w", o.ID, err)
		}
		return nil
	})
}

// DeleteOrg implements store.Registry.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	what := "delete organisation " + id
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		var source string
		err := tx.QueryRow(ctx, `SELECT source FROM orgs WHERE id = $1 FOR UPDATE`, id).Scan(&source)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("delete organisation %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delete organisation %s: %w", id, err)
		}
		if source != string(manual) {
			return importedOrg(ctx, tx, "delete", id)
		}
		for _, q := range []string{
			`DELETE FROM assets WHERE org = $1 AND source = 'manual'`,
			`DELETE FROM contacts WHERE org = $1 AND source = 'manual'`,
			`DELETE FROM orgs WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return fmt.Errorf("delete organisation %s: %w", id, err)
			}
		}
		return nil
	})
}

// orgExists returns ErrNotFound, wrapped, when organisation id is not
// stored; else it keeps the organisation from being deleted until tx ends.
func orgExists(ctx context.Context, tx pgx.Tx, what, id string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM orgs WHERE id = $1 FOR KEY SHARE`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: organisation %s: %w", what, id, store.ErrNotFound)
	}
	return err
}

const assetKeyWhere = `org = $1 AND kind = $2 AND family = $3 AND addr = $4 AND bits = $5 AND asn = $6 AND domain = $7 AND source = $8`

// PutAsset implements store.Registry.
func (s *Store) PutAsset(ctx context.Context, a constituency.Asset) error {
	if err := manualOnly(a.Source); err != nil {
		return fmt.Errorf("put asset %s: %w", store.AssetString(&a), err)
	}
	if err := store.NormalizeAsset(&a, manual); err != nil {
		return fmt.Errorf("put %w", err)
	}
	what := "put asset " + store.AssetString(&a)
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		if err := orgExists(ctx, tx, what, a.Org); err != nil {
			return err
		}
		args := append(keyOf(&a).args(), prefixText(&a), a.Name, a.Confirmed)
		_, err := tx.Exec(ctx, `INSERT INTO assets (`+assetKeyCols+`, prefix, name, confirmed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (`+assetKeyCols+`) DO UPDATE SET name = excluded.name, confirmed = excluded.confirmed`, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// DeleteAsset implements store.Registry.
func (s *Store) DeleteAsset(ctx context.Context, a constituency.Asset) error {
	if err := manualOnly(a.Source); err != nil {
		return fmt.Errorf("delete asset %s: %w", store.AssetString(&a), err)
	}
	if err := store.NormalizeAsset(&a, manual); err != nil {
		return fmt.Errorf("delete %w", err)
	}
	what := "delete asset " + store.AssetString(&a)
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		key := keyOf(&a).args()
		tag, err := tx.Exec(ctx, `DELETE FROM assets WHERE `+assetKeyWhere, key...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var source string
		err = tx.QueryRow(ctx, `SELECT source FROM assets WHERE org = $1 AND kind = $2 AND family = $3 AND addr = $4 AND bits = $5 AND asn = $6 AND domain = $7
			ORDER BY source LIMIT 1`, key[:7]...).Scan(&source)
		return notManual(what, source, err)
	})
}

// notManual returns the error for deleting a manual row that is not
// stored, given the source of the imported row with its key (if err is nil).
func notManual(what, source string, err error) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: it comes from %s, not manual: %w of %s without it", what, source, store.ErrImported, source)
}

// ConfirmAsset implements store.Registry.
func (s *Store) ConfirmAsset(ctx context.Context, a constituency.Asset) error {
	if a.Source == "" {
		a.Source = manual
	}
	if err := store.NormalizeAsset(&a, a.Source); err != nil {
		return fmt.Errorf("confirm %w", err)
	}
	what := "confirm asset " + store.AssetString(&a)
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE assets SET confirmed = true WHERE `+assetKeyWhere, keyOf(&a).args()...)
		if err != nil {
			return fmt.Errorf("confirm asset %s: %w", store.AssetString(&a), err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("confirm asset %s: %w", store.AssetString(&a), store.ErrNotFound)
		}
		return nil
	})
}

// PutContact implements store.Registry.
func (s *Store) PutContact(ctx context.Context, c constituency.Contact) error {
	if err := manualOnly(c.Source); err != nil {
		return fmt.Errorf("put contact %s of %s: %w", c.Email, c.Org, err)
	}
	if err := store.NormalizeContact(&c, manual); err != nil {
		return fmt.Errorf("put %w", err)
	}
	what := "put contact " + c.Email + " of " + c.Org
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		if err := orgExists(ctx, tx, what, c.Org); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contacts (`+contactCols+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (org, email, source) DO UPDATE SET role = excluded.role, pgp_key = excluded.pgp_key, last_verified = excluded.last_verified`,
			c.Org, c.Email, c.Role, c.PGPKey, string(c.Source), micros(c.LastVerified))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// DeleteContact implements store.Registry.
func (s *Store) DeleteContact(ctx context.Context, org, email string) error {
	what := "delete contact " + email + " of " + org
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM contacts WHERE org = $1 AND email = $2 AND source = 'manual'`, cleanText(org), cleanText(email))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var source string
		err = tx.QueryRow(ctx, `SELECT source FROM contacts WHERE org = $1 AND email = $2 ORDER BY source LIMIT 1`, cleanText(org), cleanText(email)).Scan(&source)
		return notManual(what, source, err)
	})
}

// Reading.

// keyset yields the rows of table that match w, in the order of the
// columns key, page by page: each page starts after the key of the last
// row of the one before. scan reads one row and returns the values of key.
func keyset[T any](ctx context.Context, s *Store, what, cols, table string, key []string, w where,
	scan func(pgx.Rows) (*T, []any, error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		var after []any
		var page []*T
		for {
			q := w
			q.conds, q.args = append([]string(nil), w.conds...), append([]any(nil), w.args...)
			if after != nil {
				ph := make([]string, len(after))
				for i, v := range after {
					q.args = append(q.args, v)
					ph[i] = fmt.Sprintf("$%d", len(q.args))
				}
				q.conds = append(q.conds, "("+strings.Join(key, ", ")+") > ("+strings.Join(ph, ", ")+")")
			}
			sql := `SELECT ` + cols + ` FROM ` + table
			if len(q.conds) > 0 {
				sql += " WHERE " + strings.Join(q.conds, " AND ")
			}
			q.args = append(q.args, pageSize)
			sql += fmt.Sprintf(" ORDER BY %s LIMIT $%d", strings.Join(key, ", "), len(q.args))
			page = page[:0]
			var last []any
			err := s.read(ctx, sql, q.args, func(rows pgx.Rows) error {
				v, k, err := scan(rows)
				if err != nil {
					return err
				}
				page, last = append(page, v), k
				return nil
			})
			if err != nil {
				yield(nil, fmt.Errorf("query %s: %w", what, err))
				return
			}
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
			after = last
		}
	}
}

// Orgs implements store.Registry.
func (s *Store) Orgs(ctx context.Context) iter.Seq2[*constituency.Org, error] {
	return keyset(ctx, s, "organisations", orgCols, "orgs", []string{"id"}, where{}, scanOrg)
}

func scanOrg(rows pgx.Rows) (*constituency.Org, []any, error) {
	var r orgRow
	if err := rows.Scan(r.dest()...); err != nil {
		return nil, nil, err
	}
	o := r.org()
	return o, []any{o.ID}, nil
}

// Org implements store.Registry.
func (s *Store) Org(ctx context.Context, id string) (*constituency.Org, error) {
	var w where
	w.add("id", "=", cleanText(id))
	for o, err := range keyset(ctx, s, "organisation "+id, orgCols, "orgs", []string{"id"}, w, scanOrg) {
		return o, err
	}
	return nil, fmt.Errorf("organisation %s: %w", id, store.ErrNotFound)
}

// Assets implements store.Registry.
func (s *Store) Assets(ctx context.Context, f store.AssetFilter) iter.Seq2[*constituency.Asset, error] {
	var w where
	if f.Org != "" {
		w.add("org", "=", cleanText(f.Org))
	}
	if f.Source != "" {
		w.add("source", "=", cleanText(string(f.Source)))
	}
	return keyset(ctx, s, "assets", assetCols, "assets", strings.Split(assetKeyCols, ", "), w,
		func(rows pgx.Rows) (*constituency.Asset, []any, error) {
			var r assetRow
			if err := rows.Scan(r.dest()...); err != nil {
				return nil, nil, err
			}
			a, err := r.asset()
			if err != nil {
				return nil, nil, err
			}
			return a, []any{a.Org, r.kind, r.family, r.addr, r.bits, r.asn, a.Domain, r.source}, nil
		})
}

// Contacts implements store.Registry.
func (s *Store) Contacts(ctx context.Context, org string) iter.Seq2[*constituency.Contact, error] {
	var w where
	if org != "" {
		w.add("org", "=", cleanText(org))
	}
	return keyset(ctx, s, "contacts", contactCols, "contacts", []string{"org", "email", "source"}, w,
		func(rows pgx.Rows) (*constituency.Contact, []any, error) {
			var r contactRow
			if err := rows.Scan(r.dest()...); err != nil {
				return nil, nil, err
			}
			c := r.contact()
			return c, []any{c.Org, c.Email, r.source}, nil
		})
}
