package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
)

// migrations returns the ordered schema changes. Entry i moves the schema from version i to i+1; entries
// are append-only once released, so an existing database replays only what it has not seen.
func migrations() []string {
	return []string{
		// 1: the initial schema. Times are INTEGER Unix milliseconds (UTC); days are 'YYYY-MM-DD' UTC.
		`
CREATE TABLE spend_log (
	id                 INTEGER PRIMARY KEY,
	ts                 INTEGER NOT NULL,
	request_id         TEXT    NOT NULL DEFAULT '',
	key_id             TEXT    NOT NULL DEFAULT '',
	credential_id      TEXT    NOT NULL DEFAULT '',
	provider           TEXT    NOT NULL DEFAULT '',
	model              TEXT    NOT NULL DEFAULT '',
	route              TEXT    NOT NULL DEFAULT '',
	input_tokens       INTEGER NOT NULL DEFAULT 0,
	output_tokens      INTEGER NOT NULL DEFAULT 0,
	cached_tokens      INTEGER NOT NULL DEFAULT 0,
	cache_write_tokens INTEGER NOT NULL DEFAULT 0,
	reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
	cost_usd           REAL    NOT NULL DEFAULT 0,
	price_known        INTEGER NOT NULL DEFAULT 0,
	latency_ms         INTEGER NOT NULL DEFAULT 0,
	ttfb_ms            INTEGER NOT NULL DEFAULT 0,
	status             INTEGER NOT NULL DEFAULT 0,
	error_class        TEXT    NOT NULL DEFAULT '',
	cache_hit          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX spend_log_ts ON spend_log(ts);
CREATE INDEX spend_log_key_ts ON spend_log(key_id, ts);

CREATE TABLE spend_daily (
	day                TEXT    NOT NULL,
	provider           TEXT    NOT NULL,
	model              TEXT    NOT NULL,
	key_id             TEXT    NOT NULL,
	requests           INTEGER NOT NULL DEFAULT 0,
	errors             INTEGER NOT NULL DEFAULT 0,
	input_tokens       INTEGER NOT NULL DEFAULT 0,
	output_tokens      INTEGER NOT NULL DEFAULT 0,
	cached_tokens      INTEGER NOT NULL DEFAULT 0,
	cache_write_tokens INTEGER NOT NULL DEFAULT 0,
	reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
	cost_usd           REAL    NOT NULL DEFAULT 0,
	PRIMARY KEY (day, provider, model, key_id)
) WITHOUT ROWID;

CREATE TABLE virtual_keys (
	id            TEXT    PRIMARY KEY,
	name          TEXT    NOT NULL DEFAULT '',
	key_hash      TEXT    NOT NULL UNIQUE,
	prefix        TEXT    NOT NULL DEFAULT '',
	last4         TEXT    NOT NULL DEFAULT '',
	models_json   TEXT    NOT NULL DEFAULT '[]',
	budget_usd    REAL    NOT NULL DEFAULT 0,
	budget_period TEXT    NOT NULL DEFAULT '',
	period_start  INTEGER NOT NULL DEFAULT 0,
	spent_usd     REAL    NOT NULL DEFAULT 0,
	rpm           INTEGER NOT NULL DEFAULT 0,
	tpm           INTEGER NOT NULL DEFAULT 0,
	max_parallel  INTEGER NOT NULL DEFAULT 0,
	expires_at    INTEGER,
	created_at    INTEGER NOT NULL,
	revoked_at    INTEGER
);

CREATE TABLE request_log (
	id            INTEGER PRIMARY KEY,
	ts            INTEGER NOT NULL,
	request_id    TEXT    NOT NULL DEFAULT '',
	method        TEXT    NOT NULL DEFAULT '',
	path          TEXT    NOT NULL DEFAULT '',
	status        INTEGER NOT NULL DEFAULT 0,
	request_body  TEXT    NOT NULL DEFAULT '',
	response_body TEXT    NOT NULL DEFAULT '',
	latency_ms    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX request_log_ts ON request_log(ts);

CREATE TABLE health_samples (
	id            INTEGER PRIMARY KEY,
	ts            INTEGER NOT NULL,
	credential_id TEXT    NOT NULL,
	state         TEXT    NOT NULL DEFAULT '',
	requests      INTEGER NOT NULL DEFAULT 0,
	failures      INTEGER NOT NULL DEFAULT 0,
	p95_ms        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX health_samples_cred_ts ON health_samples(credential_id, ts);
CREATE INDEX health_samples_ts ON health_samples(ts);

CREATE TABLE accounts (
	id           TEXT    PRIMARY KEY,
	provider     TEXT    NOT NULL,
	label        TEXT    NOT NULL DEFAULT '',
	disabled     INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER
);
`,
		// 2: no query reads the spend log by key (a key's spend lives in virtual_keys and spend_daily),
		// and the index cost every spend row a second B-tree insert.
		`DROP INDEX IF EXISTS spend_log_key_ts`,
		// 3: when each account last logged in, so that a running app notices a login made by another
		// process (a CLI command) for an account it already knows, and forgets the old credential's
		// errors.
		`ALTER TABLE accounts ADD COLUMN login_at INTEGER NOT NULL DEFAULT 0`,
	}
}

// SchemaVersion reports the schema version the database is at.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}

// migrate brings the schema up to date.
func (s *Store) migrate(ctx context.Context) error {
	return applyMigrations(ctx, s.db, s.logger, s.path, migrations())
}

// applyMigrations applies list one migration per transaction, so a failure leaves the database at the
// last version that applied completely.
func applyMigrations(ctx context.Context, db *sql.DB, logger *slog.Logger, path string, list []string) error {
	if _, err := db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("creating schema_version: %w", err)
	}
	for {
		done, err := migrateOne(ctx, db, logger, path, list)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateOne applies the next pending migration, reporting done when none is left. Reading the version
// inside the write transaction makes concurrent openers (two processes starting at once) safe.
func migrateOne(ctx context.Context, db *sql.DB, logger *slog.Logger, path string, list []string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("starting migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var v int
	switch err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version(version) VALUES (0)`); err != nil {
			return false, fmt.Errorf("initialising schema_version: %w", err)
		}
	case err != nil:
		return false, fmt.Errorf("reading schema version: %w", err)
	}
	if v > len(list) {
		return false, fmt.Errorf("schema version %d is newer than this program supports (%d); "+
			"upgrade cliproxy or point [database] path at another file", v, len(list))
	}
	if v == len(list) {
		return true, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, list[v]); err != nil {
		return false, fmt.Errorf("applying migration %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v+1); err != nil {
		return false, fmt.Errorf("recording migration %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("committing migration %d: %w", v+1, err)
	}
	logger.Info("database migrated", "path", path, "version", v+1)
	return false, nil
}
