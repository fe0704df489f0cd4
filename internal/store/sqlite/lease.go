package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin/tocsin/internal/store"
)

var _ store.Leaser = (*Store)(nil)

// AcquireLease implements store.Leaser.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) error {
	what := "take the lease " + name
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
			WHERE leases.holder = excluded.holder OR leases.until <= ?`,
			name, holder, nanos(until), nanos(now))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var who string
		var till int64
		if err := tx.QueryRowContext(ctx, `SELECT holder, until FROM leases WHERE name = ?`, name).Scan(&who, &till); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, err)
		}
		return fmt.Errorf("lease %s: %w (%s, until %s)", name, store.ErrLeaseHeld, who, fromNanos(till).Format(time.RFC3339))
	})
}

// ReleaseLease implements store.Leaser.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	what := "release the lease " + name
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}
