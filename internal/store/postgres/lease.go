package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tocsin/tocsin/internal/store"
)

var _ store.Leaser = (*Store)(nil)

// AcquireLease implements store.Leaser.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) error {
	what := "take the lease " + name
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
			WHERE leases.holder = excluded.holder OR leases.until <= $4`,
			name, holder, nanos(until), nanos(now))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var who string
		var till int64
		if err := tx.QueryRow(ctx, `SELECT holder, until FROM leases WHERE name = $1`, name).Scan(&who, &till); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, err)
		}
		return fmt.Errorf("lease %s: %w (%s, until %s)", name, store.ErrLeaseHeld, who, fromNanos(till).Format(time.RFC3339))
	})
}

// ReleaseLease implements store.Leaser.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	what := "release the lease " + name
	return s.writeTx(ctx, what, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}
