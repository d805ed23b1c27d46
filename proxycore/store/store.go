// Package store persists the proxy's operational data in one SQLite file (modernc.org/sqlite, pure Go):
// the spend log and its daily rollups, virtual keys, the optional request log, credential health samples
// and account metadata. Secrets never go into this file: keys are stored as SHA-256 hashes and account
// credentials live in the keystore.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	_ "modernc.org/sqlite" // the database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned when a row looked up by id does not exist.
var ErrNotFound = errors.New("store: not found")

// Store is an open database. It is safe for concurrent use; SQLite serialises writers and, in WAL mode,
// readers never wait for them.
type Store struct {
	db     *sql.DB
	path   string
	clock  clock.Clock
	logger *slog.Logger
	w      *writeConn // the spend writes' connection
}

// Option changes how Open configures a Store.
type Option func(*options)

type options struct {
	clock       clock.Clock
	busyTimeout time.Duration
}

// WithClock sets the clock used for "today" queries and retention pruning (default: the system clock).
func WithClock(c clock.Clock) Option {
	return func(o *options) { o.clock = c }
}

// WithBusyTimeout sets how long a statement waits for a lock held by another connection or process
// before failing (default 5s).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// Open opens (creating when missing) the database at path, creates its parent directory with mode 0700,
// enables WAL, synchronous=NORMAL, a busy timeout and foreign keys, and applies pending migrations.
// A file that is not a database, or one locked by another process, gives an error that names the path
// and says what to do; callers keep serving with spend tracking marked unavailable.
func Open(path string, logger *slog.Logger, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("opening database: empty path")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := options{busyTimeout: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := openDB(path, o, 0)
	if err != nil {
		return nil, err
	}
	// A handful of connections lets dashboard reads run beside the spend writer.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db, path: path, clock: clock.Or(o.clock), logger: logger}
	ctx, cancel := context.WithTimeout(context.Background(), o.busyTimeout+10*time.Second)
	defer cancel()
	if err := applyMigrations(ctx, db, logger, path, migrations()); err != nil {
		_ = db.Close()
		return nil, explainOpenError(path, err)
	}
	if s.w, err = openWriteConn(path, o.busyTimeout); err != nil {
		_ = db.Close()
		return nil, explainOpenError(path, err)
	}
	return s, nil
}

// openDB creates path's directory (mode 0700) and opens the database with WAL, synchronous=NORMAL, the
// busy timeout and foreign keys. pageSize, when not 0, is the page size of a database this creates;
// an existing file keeps its own.
func openDB(path string, o options, pageSize int) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("opening database %s: creating its directory: %w", path, err)
	}
	if pageSize != 0 {
		if err := setPageSize(path, pageSize); err != nil {
			return nil, explainOpenError(path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Write transactions take the write lock up front so that two writers never deadlock on a
	// read-to-write upgrade (SQLite answers that with SQLITE_BUSY regardless of busy_timeout).
	q.Set("_txlock", "immediate")
	dsn := (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, explainOpenError(path, err)
	}
	return db, nil
}

// setPageSize gives a database that does not exist yet (or is empty) the page size n. It needs its own
// connection: the page size must be set before the switch to WAL writes the first page, and the driver
// runs a DSN's pragmas in alphabetical order, journal_mode before page_size.
func setPageSize(path string, n int) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil
	}
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path}).String())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("PRAGMA page_size = " + strconv.Itoa(n) + "; PRAGMA journal_mode = WAL")
	return err
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close closes the database. Pending WAL frames are checkpointed by SQLite on the last close.
func (s *Store) Close() error {
	err := errors.Join(s.w.close(), s.db.Close())
	if err != nil {
		return fmt.Errorf("closing database %s: %w", s.path, err)
	}
	return nil
}

// Ping checks that the database still answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging database %s: %w", s.path, err)
	}
	return nil
}

// explainOpenError turns SQLite's terse result codes into a sentence naming the file and the remedy.
func explainOpenError(path string, err error) error {
	var se interface{ Code() int } // *sqlite.Error from database/sql, *sqliteError from a writeConn
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("database %s is not a valid SQLite database or is corrupt; move it aside "+
				"(or delete it) to start a fresh one, or set [database] path to another file: %w", path, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("database %s is locked by another process; stop the other cliproxy instance "+
				"or set [database] path to another file: %w", path, err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_AUTH:
			return fmt.Errorf("database %s cannot be opened for writing; check the file and directory "+
				"permissions or set [database] path to another file: %w", path, err)
		}
	}
	return fmt.Errorf("opening database %s: %w", path, err)
}

// unixMilli converts t to the INTEGER milliseconds stored in every time column; the zero time is 0.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMilli is the inverse of unixMilli, in UTC.
func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// nullMilli maps an optional time to a nullable column.
func nullMilli(t *time.Time) sql.NullInt64 {
	if t == nil || t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// ptrMilli maps a nullable column back to an optional time.
func ptrMilli(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

// dayOf returns the UTC calendar day of t as YYYY-MM-DD, the key of the rollup table.
func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// boolInt stores a bool as 0/1.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
