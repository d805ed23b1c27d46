package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// KeyRow is a virtual key as persisted. Only the SHA-256 hash of the key is stored; Prefix and Last4
// are enough for people to recognise a key in a list.
type KeyRow struct {
	ID           string
	Name         string
	Hash         string // hex SHA-256 of the plaintext key
	Prefix       string // first characters, for display
	Last4        string // last four characters, for display
	Models       []string
	BudgetUSD    float64 // 0 = no budget
	BudgetPeriod string  // daily | weekly | monthly | total
	PeriodStart  time.Time
	SpentUSD     float64 // spent within the current period
	RPM          int
	TPM          int
	MaxParallel  int
	ExpiresAt    *time.Time
	CreatedAt    time.Time
	RevokedAt    *time.Time
}

// KeySpend is the budget state of one key, saved in bulk by UpdateKeySpend.
type KeySpend struct {
	ID          string
	PeriodStart time.Time
	SpentUSD    float64
}

const keyColumns = `id, name, key_hash, prefix, last4, models_json, budget_usd, budget_period,
	period_start, spent_usd, rpm, tpm, max_parallel, expires_at, created_at, revoked_at`

// InsertKey stores a new virtual key.
func (s *Store) InsertKey(ctx context.Context, k KeyRow) error {
	models := k.Models
	if models == nil {
		models = []string{}
	}
	mj, err := json.Marshal(models)
	if err != nil {
		return fmt.Errorf("inserting key %s: %w", k.ID, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO virtual_keys (`+keyColumns+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		k.ID, k.Name, k.Hash, k.Prefix, k.Last4, string(mj), k.BudgetUSD, k.BudgetPeriod,
		unixMilli(k.PeriodStart), k.SpentUSD, k.RPM, k.TPM, k.MaxParallel, nullMilli(k.ExpiresAt),
		unixMilli(k.CreatedAt), nullMilli(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("inserting key %s: %w", k.ID, err)
	}
	return nil
}

func scanKey(sc scanner) (KeyRow, error) {
	var (
		k                      KeyRow
		mj                     string
		periodStart, createdAt int64
		expiresAt, revokedAt   sql.NullInt64
	)
	if err := sc.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.Last4, &mj, &k.BudgetUSD, &k.BudgetPeriod,
		&periodStart, &k.SpentUSD, &k.RPM, &k.TPM, &k.MaxParallel, &expiresAt, &createdAt,
		&revokedAt); err != nil {
		return KeyRow{}, err
	}
	if err := json.Unmarshal([]byte(mj), &k.Models); err != nil {
		return KeyRow{}, fmt.Errorf("key %s: models list: %w", k.ID, err)
	}
	k.PeriodStart, k.CreatedAt = fromMilli(periodStart), fromMilli(createdAt)
	k.ExpiresAt, k.RevokedAt = ptrMilli(expiresAt), ptrMilli(revokedAt)
	return k, nil
}

// GetKey returns one key by id, or ErrNotFound.
func (s *Store) GetKey(ctx context.Context, id string) (KeyRow, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM virtual_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return KeyRow{}, fmt.Errorf("key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return KeyRow{}, fmt.Errorf("reading key %s: %w", id, err)
	}
	return k, nil
}

// ListKeys returns every key, revoked ones included, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]KeyRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyColumns+` FROM virtual_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	defer rows.Close()
	var out []KeyRow
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("listing keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	return out, nil
}

// RevokeKey marks a key revoked at the given time; revoking twice keeps the first time.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE virtual_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, unixMilli(at), id)
	if err != nil {
		return fmt.Errorf("revoking key %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoking key %s: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteKey removes a key for good. Its spend rows keep the id.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM virtual_keys WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("deleting key %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("deleting key %s: %w", id, ErrNotFound)
	}
	return nil
}

// UpdateKeySpend saves the budget state of several keys in one transaction. Unknown ids are ignored
// (the key may have been deleted meanwhile).
func (s *Store) UpdateKeySpend(ctx context.Context, states []KeySpend) (err error) {
	if len(states) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("saving key spend: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	st, err := tx.PrepareContext(ctx, `UPDATE virtual_keys SET period_start = ?, spent_usd = ? WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("saving key spend: %w", err)
	}
	defer st.Close()
	for _, k := range states {
		if _, err := st.ExecContext(ctx, unixMilli(k.PeriodStart), k.SpentUSD, k.ID); err != nil {
			return fmt.Errorf("saving spend of key %s: %w", k.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("saving key spend: %w", err)
	}
	return nil
}
