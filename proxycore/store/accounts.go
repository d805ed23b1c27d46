package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Account is the non-secret metadata of a logged-in provider account or API-key entry. Its tokens and
// keys live in the keystore under the same id.
type Account struct {
	ID         string
	Provider   string
	Label      string
	Disabled   bool
	CreatedAt  time.Time
	LastUsedAt *time.Time
	// LoginAt is when the account last logged in (its credential was saved by a login); zero when not
	// recorded.
	LoginAt time.Time
}

// UpsertAccount creates the account or updates its provider, label and disabled flag, and its LoginAt
// unless a is zero there. CreatedAt and LastUsedAt of an existing account are kept.
func (s *Store) UpsertAccount(ctx context.Context, a Account) error {
	created := a.CreatedAt
	if created.IsZero() {
		created = s.clock.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO accounts (id, provider, label, disabled, created_at, last_used_at,
		login_at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, label = excluded.label,
			disabled = excluded.disabled,
			login_at = CASE WHEN excluded.login_at > 0 THEN excluded.login_at ELSE login_at END`,
		a.ID, a.Provider, a.Label, boolInt(a.Disabled), unixMilli(created), nullMilli(a.LastUsedAt), unixMilli(a.LoginAt))
	if err != nil {
		return fmt.Errorf("saving account %s: %w", a.ID, err)
	}
	return nil
}

// GetAccount returns one account, or ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT id, provider, label, disabled, created_at,
		last_used_at, login_at FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("reading account %s: %w", id, err)
	}
	return a, nil
}

func scanAccount(sc scanner) (Account, error) {
	var (
		a        Account
		disabled int
		created  int64
		lastUsed sql.NullInt64
		login    int64
	)
	if err := sc.Scan(&a.ID, &a.Provider, &a.Label, &disabled, &created, &lastUsed, &login); err != nil {
		return Account{}, err
	}
	a.Disabled, a.CreatedAt, a.LastUsedAt, a.LoginAt = disabled != 0, fromMilli(created), ptrMilli(lastUsed), fromMilli(login)
	return a, nil
}

// ListAccounts returns all accounts ordered by provider, then creation time.
func (s *Store) ListAccounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, provider, label, disabled, created_at, last_used_at,
		login_at FROM accounts ORDER BY provider, created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("listing accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("listing accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing accounts: %w", err)
	}
	return out, nil
}

// SetAccountDisabled turns an account off or on.
func (s *Store) SetAccountDisabled(ctx context.Context, id string, disabled bool) error {
	return s.execOne(ctx, "updating account "+id,
		`UPDATE accounts SET disabled = ? WHERE id = ?`, boolInt(disabled), id)
}

// TouchAccount records that an account served a request at the given time.
func (s *Store) TouchAccount(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "touching account "+id,
		`UPDATE accounts SET last_used_at = ? WHERE id = ?`, unixMilli(at), id)
}

// DeleteAccount removes an account's metadata.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	return s.execOne(ctx, "deleting account "+id, `DELETE FROM accounts WHERE id = ?`, id)
}

// execOne runs a statement that must affect exactly one row, else reports ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
