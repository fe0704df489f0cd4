package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/store"
)

// The registry's tables are orgs, assets and contacts (migration 2).
//
// An Import is one write transaction: it holds SQLite's write lock from
// its start, while its producer parses, to its commit, and event ingest
// waits meanwhile (up to busy_timeout). Readers on other connections go on
// and see the registry as it was (WAL).

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
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return d, fmt.Errorf("import %s: %w", source, err)
	}
	defer conn.Close()
	restore, err := setCacheSize(ctx, conn, importCacheKiB)
	if err != nil {
		return d, fmt.Errorf("import %s: %w", source, err)
	}
	defer restore()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("import %s: %w", source, err)
	}
	defer tx.Rollback()
	if d.Orgs, err = store.ImportRows(ctx, &orgTable{table: table{tx: tx, source: source}}, source, orgs); err != nil {
		return d, fmt.Errorf("import %s organisations: %w", source, err)
	}
	if d.Assets, err = store.ImportRows(ctx, &assetTable{table: table{tx: tx, source: source}}, source, assets); err != nil {
		return d, fmt.Errorf("import %s assets: %w", source, err)
	}
	if d.Contacts, err = store.ImportRows(ctx, &contactTable{table: table{tx: tx, source: source}}, source, contacts); err != nil {
		return d, fmt.Errorf("import %s contacts: %w", source, err)
	}
	if err := ctx.Err(); err != nil {
		return d, fmt.Errorf("import %s: %w", source, err)
	}
	if err := tx.Commit(); err != nil {
		return d, fmt.Errorf("import %s: commit: %w", source, err)
	}
	// A large import leaves a large WAL: copy it into the database now.
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return d, nil
}

// importCacheKiB is the page cache of the connection of an Import, twice
// the usual: the unique index of assets takes about 60 bytes a row, and
// new rows land all over it. Measured on a first import of 5M assets (2
// cores): 87 s CPU with 64 MiB, 60 s with 128 MiB (peak RSS 296 MB), 49 s
// with 256 MiB (585 MB); a re-import adds the import's index, 25 bytes a
// stored row, and the garbage of reading them.
const importCacheKiB = 128 << 10

// setCacheSize sets the page cache of conn to kib KiB and returns a
// function that sets it back.
func setCacheSize(ctx context.Context, conn *sql.Conn, kib int) (restore func(), err error) {
	var was int64
	if err := conn.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&was); err != nil {
		return nil, fmt.Errorf("read cache_size: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = %d`, -kib)); err != nil {
		return nil, fmt.Errorf("set cache_size: %w", err)
	}
	return func() {
		conn.ExecContext(context.Background(), fmt.Sprintf(`PRAGMA cache_size = %d`, was))
	}, nil
}

// table is what the three import tables share: the transaction, prepared
// statements and argument buffers.
type table struct {
	tx       *sql.Tx
	source   constituency.Source
	insMany  *sql.Stmt
	upd      *sql.Stmt
	args     []any
	inserted int64
}

// Flush returns how many rows the Inserts stored: they stored them at once.
func (t *table) Flush(context.Context) (int64, error) { return t.inserted, nil }

// regRowsPerInsert is how many rows one INSERT carries.
const regRowsPerInsert = 64

// insert inserts rows of cols columns, appended to t.args by row(i),
// skipping those whose key is taken, and counts those it inserted.
func (t *table) insert(ctx context.Context, name string, cols []string, n int, row func(i int, args []any) []any) error {
	for start := 0; start < n; start += regRowsPerInsert {
		m := min(n-start, regRowsPerInsert)
		t.args = t.args[:0]
		for i := start; i < start+m; i++ {
			t.args = row(i, t.args)
		}
		var res sql.Result
		var err error
		if m == regRowsPerInsert {
			if t.insMany == nil {
				if t.insMany, err = t.tx.PrepareContext(ctx, regInsertSQL(name, cols, m)); err != nil {
					return err
				}
			}
			res, err = t.insMany.ExecContext(ctx, t.args...)
		} else {
			res, err = t.tx.ExecContext(ctx, regInsertSQL(name, cols, m), t.args...)
		}
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return err
		}
		t.inserted += k
	}
	return nil
}

func regInsertSQL(name string, cols []string, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	return "INSERT INTO " + name + " (" + strings.Join(cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+",", rows), ",") + " ON CONFLICT DO NOTHING"
}

// update runs the prepared statement q once per row, with the arguments
// row(i), and reports which rows it changed.
func (t *table) update(ctx context.Context, q string, n int, row func(i int, args []any) []any) ([]bool, error) {
	if t.upd == nil {
		var err error
		if t.upd, err = t.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
	}
	done := make([]bool, n)
	for i := range n {
		t.args = row(i, t.args[:0])
		res, err := t.upd.ExecContext(ctx, t.args...)
		if err != nil {
			return nil, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		done[i] = k == 1
	}
	return done, nil
}

// regIDsPerDelete is how many rows one DELETE names.
const regIDsPerDelete = 256

func (t *table) delete(ctx context.Context, name string, ids []int64) error {
	for len(ids) > 0 {
		m := min(len(ids), regIDsPerDelete)
		t.args = t.args[:0]
		for _, id := range ids[:m] {
			t.args = append(t.args, id)
		}
		q := "DELETE FROM " + name + " WHERE n IN (" + strings.TrimSuffix(strings.Repeat("?,", m), ",") + ")"
		if _, err := t.tx.ExecContext(ctx, q, t.args...); err != nil {
			return err
		}
		ids = ids[m:]
	}
	return nil
}

// count returns how many rows of the source name holds.
func (t *table) count(ctx context.Context, name string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM `+name+` WHERE source = ?`, string(t.source)).Scan(&n)
	return n, err
}

// load calls scan for every row of the source selected by q.
func (t *table) load(ctx context.Context, q string, scan func(*sql.Rows) error) error {
	rows, err := t.tx.QueryContext(ctx, q, string(t.source))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Organisations.

const orgCols = `id, name, sector, country, languages, source, notify_opt_out, notify_time_zone, notify_format, notify_monthly`

var orgInsertCols = strings.Split(orgCols, ", ")

type orgTable struct{ table }

func (t *orgTable) Count(ctx context.Context) (int, error) { return t.count(ctx, "orgs") }

func (t *orgTable) Load(ctx context.Context, fn func(int64, *constituency.Org)) error {
	var o constituency.Org
	return t.load(ctx, `SELECT n, `+orgCols+` FROM orgs WHERE source = ?`, func(rows *sql.Rows) error {
		var n int64
		if err := scanOrg(rows, &o, &n); err != nil {
			return err
		}
		fn(n, &o)
		return nil
	})
}

func (t *orgTable) Insert(ctx context.Context, rows []constituency.Org) error {
	return t.insert(ctx, "orgs", orgInsertCols, len(rows), func(i int, args []any) []any {
		return appendOrg(args, &rows[i])
	})
}

func (t *orgTable) Update(ctx context.Context, ids []int64, rows []constituency.Org) ([]bool, error) {
	return t.update(ctx, `UPDATE orgs SET name = ?, sector = ?, country = ?, languages = ?,
		notify_opt_out = ?, notify_time_zone = ?, notify_format = ?, notify_monthly = ? WHERE n = ? AND id = ? AND source = ?`, len(rows),
		func(i int, args []any) []any {
			o := &rows[i]
			p := &o.Notify
			return append(args, o.Name, o.Sector, o.Country, strings.Join(o.Languages, ","),
				p.OptOut, p.TimeZone, p.Format, p.Monthly, ids[i], o.ID, string(o.Source))
		})
}

func (t *orgTable) Delete(ctx context.Context, ids []int64) error { return t.delete(ctx, "orgs", ids) }

func appendOrg(args []any, o *constituency.Org) []any {
	p := &o.Notify
	return append(args, o.ID, o.Name, o.Sector, o.Country, strings.Join(o.Languages, ","), string(o.Source),
		p.OptOut, p.TimeZone, p.Format, p.Monthly)
}

// scanOrg reads the columns n (when n is not nil) and orgCols into o.
func scanOrg(rows *sql.Rows, o *constituency.Org, n *int64) error {
	var langs, source string
	p := &o.Notify
	dest := []any{&o.ID, &o.Name, &o.Sector, &o.Country, &langs, &source, &p.OptOut, &p.TimeZone, &p.Format, &p.Monthly}
	if n != nil {
		dest = append([]any{n}, dest...)
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	o.Source = constituency.Source(source)
	o.Languages = nil
	if langs != "" {
		o.Languages = strings.Split(langs, ",")
	}
	return nil
}

// Assets.

const assetCols = `org, kind, family, addr, bits, prefix, asn, domain, name, source, confirmed`

var assetInsertCols = strings.Split(assetCols, ", ")

// assetKeyWhere matches the key of an asset given as assetKeyArgs.
const assetKeyWhere = `org = ? AND kind = ? AND family = ? AND addr = ? AND bits = ? AND asn = ? AND domain = ? AND source = ?`

type assetTable struct{ table }

func (t *assetTable) Count(ctx context.Context) (int, error) { return t.count(ctx, "assets") }

func (t *assetTable) Load(ctx context.Context, fn func(int64, *constituency.Asset)) error {
	var a constituency.Asset
	return t.load(ctx, `SELECT n, `+assetCols+` FROM assets WHERE source = ?`, func(rows *sql.Rows) error {
		var n int64
		if err := scanAsset(rows, &a, &n); err != nil {
			return err
		}
		fn(n, &a)
		return nil
	})
}

func (t *assetTable) Insert(ctx context.Context, rows []constituency.Asset) error {
	return t.insert(ctx, "assets", assetInsertCols, len(rows), func(i int, args []any) []any {
		return appendAsset(args, &rows[i])
	})
}

func (t *assetTable) Update(ctx context.Context, ids []int64, rows []constituency.Asset) ([]bool, error) {
	return t.update(ctx, `UPDATE assets SET name = ?, confirmed = ? WHERE n = ? AND `+assetKeyWhere, len(rows),
		func(i int, args []any) []any {
			a := &rows[i]
			args = append(args, a.Name, a.Confirmed, ids[i])
			return appendAssetKey(args, a)
		})
}

func (t *assetTable) Delete(ctx context.Context, ids []int64) error {
	return t.delete(ctx, "assets", ids)
}

// prefixCols are the columns of a network: family, address, length and
// CIDR text; zero for the other kinds.
func prefixCols(a *constituency.Asset) (family int, addr []byte, bits int, text string) {
	if a.Kind != constituency.AssetNetwork || !a.Prefix.IsValid() {
		return 0, []byte{}, 0, ""
	}
	ad := a.Prefix.Addr()
	family = 6
	if ad.Is4() {
		family = 4
	}
	return family, ad.AsSlice(), a.Prefix.Bits(), a.Prefix.String()
}

func appendAsset(args []any, a *constituency.Asset) []any {
	family, addr, bits, text := prefixCols(a)
	return append(args, a.Org, string(a.Kind), family, addr, bits, text, int64(a.ASN), a.Domain, a.Name, string(a.Source), a.Confirmed)
}

func appendAssetKey(args []any, a *constituency.Asset) []any {
	family, addr, bits, _ := prefixCols(a)
	return append(args, a.Org, string(a.Kind), family, addr, bits, int64(a.ASN), a.Domain, string(a.Source))
}

// scanAsset reads the columns n (when n is not nil) and assetCols into a.
func scanAsset(rows *sql.Rows, a *constituency.Asset, n *int64) error {
	var kind, prefix, source string
	var family, bits int
	var addr []byte
	var asn int64
	dest := []any{&a.Org, &kind, &family, &addr, &bits, &prefix, &asn, &a.Domain, &a.Name, &source, &a.Confirmed}
	if n != nil {
		dest = append([]any{n}, dest...)
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	a.Kind, a.Source, a.ASN = constituency.AssetKind(kind), constituency.Source(source), uint32(asn)
	a.Prefix = netip.Prefix{}
	if family != 0 {
		ad, ok := netip.AddrFromSlice(addr)
		if !ok {
			return fmt.Errorf("asset %s of %s: stored address %x is not 4 or 16 bytes", prefix, a.Org, addr)
		}
		a.Prefix = netip.PrefixFrom(ad, bits)
	}
	return nil
}

// Contacts.

const contactCols = `org, email, role, pgp_key, source, last_verified`

var contactInsertCols = strings.Split(contactCols, ", ")

type contactTable struct{ table }

func (t *contactTable) Count(ctx context.Context) (int, error) { return t.count(ctx, "contacts") }

func (t *contactTable) Load(ctx context.Context, fn func(int64, *constituency.Contact)) error {
	var c constituency.Contact
	return t.load(ctx, `SELECT n, `+contactCols+` FROM contacts WHERE source = ?`, func(rows *sql.Rows) error {
		var n int64
		if err := scanContact(rows, &c, &n); err != nil {
			return err
		}
		fn(n, &c)
		return nil
	})
}

func (t *contactTable) Insert(ctx context.Context, rows []constituency.Contact) error {
	return t.insert(ctx, "contacts", contactInsertCols, len(rows), func(i int, args []any) []any {
		return appendContact(args, &rows[i])
	})
}

func (t *contactTable) Update(ctx context.Context, ids []int64, rows []constituency.Contact) ([]bool, error) {
	return t.update(ctx, `UPDATE contacts SET role = ?, pgp_key = ?, last_verified = ? WHERE n = ? AND org = ? AND email = ? AND source = ?`, len(rows),
		func(i int, args []any) []any {
			c := &rows[i]
			return append(args, c.Role, c.PGPKey, micros(c.LastVerified), ids[i], c.Org, c.Email, string(c.Source))
		})
}

func (t *contactTable) Delete(ctx context.Context, ids []int64) error {
	return t.delete(ctx, "contacts", ids)
}

func appendContact(args []any, c *constituency.Contact) []any {
	return append(args, c.Org, c.Email, c.Role, c.PGPKey, string(c.Source), micros(c.LastVerified))
}

// micros is t as stored: Unix microseconds, nil for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// scanContact reads the columns n (when n is not nil) and contactCols into c.
func scanContact(rows *sql.Rows, c *constituency.Contact, n *int64) error {
	var source string
	var verified sql.NullInt64
	dest := []any{&c.Org, &c.Email, &c.Role, &c.PGPKey, &source, &verified}
	if n != nil {
		dest = append([]any{n}, dest...)
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	c.Source = constituency.Source(source)
	c.LastVerified = time.Time{}
	if verified.Valid {
		c.LastVerified = time.UnixMicro(verified.Int64).UTC()
	}
	return nil
}

// Manual editing.

// writeTx runs fn in a write transaction and commits it when fn succeeds.
// Errors of fn are returned as they are, the others prefixed with what.
func (s *Store) writeTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	if tx, ok := ctx.Value(batchKey{s}).(*sql.Tx); ok {
		return fn(tx) // inside Batch: its transaction
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// batchKey carries a Batch's transaction in its context.
type batchKey struct{ s *Store }

// Batch implements store.Registry.
func (s *Store) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	defer tx.Rollback()
	if err := fn(context.WithValue(ctx, batchKey{s}, tx)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("batch: %w", err)
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
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		var n int64
		err := tx.QueryRowContext(ctx, `INSERT INTO orgs (`+orgCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, sector = excluded.sector, country = excluded.country, languages = excluded.languages,
				notify_opt_out = excluded.notify_opt_out, notify_time_zone = excluded.notify_time_zone,
				notify_format = excluded.notify_format, notify_monthly = excluded.notify_monthly
			WHERE orgs.source = excluded.source RETURNING n`, appendOrg(nil, &o)...).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return importedOrg(ctx, tx, "put", o.ID)
		}
		if err != nil {
			return fmt.Errorf("put organisation %s: %w", o.ID, err)
		}
		return nil
	})
}

// importedOrg returns the error for a manual edit of organisation id,
// which an import holds.
func importedOrg(ctx context.Context, tx *sql.Tx, what, id string) error {
	var source string
	if err := tx.QueryRowContext(ctx, `SELECT source FROM orgs WHERE id = ?`, id).Scan(&source); err != nil {
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

// DeleteOrg implements store.Registry.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	what := "delete organisation " + id
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		var source string
		err := tx.QueryRowContext(ctx, `SELECT source FROM orgs WHERE id = ?`, id).Scan(&source)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delete organisation %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delete organisation %s: %w", id, err)
		}
		if source != string(manual) {
			return importedOrg(ctx, tx, "delete", id)
		}
		for _, q := range []string{
			`DELETE FROM assets WHERE org = ? AND source = 'manual'`,
			`DELETE FROM contacts WHERE org = ? AND source = 'manual'`,
			`DELETE FROM orgs WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete organisation %s: %w", id, err)
			}
		}
		return nil
	})
}

// orgExists returns ErrNotFound, wrapped, when organisation id is not stored.
func orgExists(ctx context.Context, tx *sql.Tx, what, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM orgs WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: organisation %s: %w", what, id, store.ErrNotFound)
	}
	return err
}

// PutAsset implements store.Registry.
func (s *Store) PutAsset(ctx context.Context, a constituency.Asset) error {
	if err := manualOnly(a.Source); err != nil {
		return fmt.Errorf("put asset %s: %w", store.AssetString(&a), err)
	}
	if err := store.NormalizeAsset(&a, manual); err != nil {
		return fmt.Errorf("put %w", err)
	}
	what := "put asset " + store.AssetString(&a)
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		if err := orgExists(ctx, tx, what, a.Org); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO assets (`+assetCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org, kind, family, addr, bits, asn, domain, source) DO UPDATE SET name = excluded.name, confirmed = excluded.confirmed`,
			appendAsset(nil, &a)...)
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
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM assets WHERE `+assetKeyWhere, appendAssetKey(nil, &a)...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 1 {
			return err
		}
		family, addr, bits, _ := prefixCols(&a)
		var source string
		err = tx.QueryRowContext(ctx, `SELECT source FROM assets WHERE org = ? AND kind = ? AND family = ? AND addr = ? AND bits = ? AND asn = ? AND domain = ? ORDER BY source LIMIT 1`,
			a.Org, string(a.Kind), family, addr, bits, int64(a.ASN), a.Domain).Scan(&source)
		return notManual(what, source, err)
	})
}

// notManual returns the error for deleting a manual row that is not
// stored, given the source of the imported row with its key (if err is nil).
func notManual(what, source string, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
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
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE assets SET confirmed = 1 WHERE `+assetKeyWhere, appendAssetKey(nil, &a)...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return fmt.Errorf("%s: %w", what, cmpErr(err, store.ErrNotFound))
		}
		return nil
	})
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
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
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		if err := orgExists(ctx, tx, what, c.Org); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO contacts (`+contactCols+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (org, email, source) DO UPDATE SET role = excluded.role, pgp_key = excluded.pgp_key, last_verified = excluded.last_verified`,
			appendContact(nil, &c)...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// DeleteContact implements store.Registry.
func (s *Store) DeleteContact(ctx context.Context, org, email string) error {
	what := "delete contact " + email + " of " + org
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE org = ? AND email = ? AND source = 'manual'`, org, email)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 1 {
			return err
		}
		var source string
		err = tx.QueryRowContext(ctx, `SELECT source FROM contacts WHERE org = ? AND email = ? ORDER BY source LIMIT 1`, org, email).Scan(&source)
		return notManual(what, source, err)
	})
}

// Reading.

// query yields the rows of q read by scan.
func query[T any](ctx context.Context, db *sql.DB, what, q string, args []any, scan func(*sql.Rows, *T) error) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			yield(nil, fmt.Errorf("query %s: %w", what, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			v := new(T)
			if err := scan(rows, v); err != nil {
				yield(nil, fmt.Errorf("query %s: %w", what, err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("query %s: %w", what, err))
		}
	}
}

// Orgs implements store.Registry.
func (s *Store) Orgs(ctx context.Context) iter.Seq2[*constituency.Org, error] {
	return query(ctx, s.db, "organisations", `SELECT `+orgCols+` FROM orgs ORDER BY id`, nil,
		func(rows *sql.Rows, o *constituency.Org) error { return scanOrg(rows, o, nil) })
}

// Org implements store.Registry.
func (s *Store) Org(ctx context.Context, id string) (*constituency.Org, error) {
	for o, err := range query(ctx, s.db, "organisation "+id, `SELECT `+orgCols+` FROM orgs WHERE id = ?`, []any{id},
		func(rows *sql.Rows, o *constituency.Org) error { return scanOrg(rows, o, nil) }) {
		return o, err
	}
	return nil, fmt.Errorf("organisation %s: %w", id, store.ErrNotFound)
}

// Assets implements store.Registry.
func (s *Store) Assets(ctx context.Context, f store.AssetFilter) iter.Seq2[*constituency.Asset, error] {
	var where []string
	var args []any
	if f.Org != "" {
		where, args = append(where, "org = ?"), append(args, f.Org)
	}
	if f.Source != "" {
		// "+source" keeps SQLite from using the index on source, after
		// which it would sort the matching rows in memory (temp_store),
		// all 5M of a RIPE import: it walks the sort key's index instead.
		where, args = append(where, "+source = ?"), append(args, string(f.Source))
	}
	q := `SELECT ` + assetCols + ` FROM assets`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY org, kind, family, addr, bits, asn, domain, source"
	return query(ctx, s.db, "assets", q, args,
		func(rows *sql.Rows, a *constituency.Asset) error { return scanAsset(rows, a, nil) })
}

// Contacts implements store.Registry.
func (s *Store) Contacts(ctx context.Context, org string) iter.Seq2[*constituency.Contact, error] {
	q := `SELECT ` + contactCols + ` FROM contacts`
	var args []any
	if org != "" {
		q += " WHERE org = ?"
		args = append(args, org)
	}
	q += " ORDER BY org, email, source"
	return query(ctx, s.db, "contacts", q, args,
		func(rows *sql.Rows, c *constituency.Contact) error { return scanContact(rows, c, nil) })
}
