package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// RequestLogDB is the optional request log: one row per request with its bodies (masked and cut by the
// caller). It lives in a SQLite file of its own, beside the main database (see RequestLogPath), because
// its rows are big and many:
//
//   - The file is created with 32 KiB pages. A log row is one to tens of kilobytes, and with the 4 KiB
//     pages that suit the spend log's small rows, writing the log cost about half again as much CPU
//     (more pages, WAL frames and checkpoint writes per row).
//   - Rows are kept in insertion order by their rowid and have no other index: the newest are read
//     from the end, and pruning deletes from the start. Rows are logged when their request ends, and ts
//     is when it began, so ts is almost but not strictly increasing along the rowid (see Prune).
//   - Its writes do not wait for the spend writer's, and the main database stays small; removing the
//     file loses the log and nothing else.
//   - A request body that begins like one logged shortly before is stored as the rest after that shared
//     start (see prefixes.go). Coding tools send the whole conversation, system prompt and tool list
//     with every turn, so most of each body repeats the previous one; stored whole, a session of 50 KB
//     requests would write 50 KB a turn.
type RequestLogDB struct {
	db     *sql.DB
	path   string
	clock  clock.Clock
	logger *slog.Logger
	w      *writeConn // the inserts' connection

	mu    sync.Mutex // guards bases; held by writers for their whole transaction
	bases baseSet
}

// RequestLogRow is one entry of the request log. Bodies must already be masked and truncated by the
// caller: the store writes what it is given.
type RequestLogRow struct {
	ID           int64 // assigned by the store, increasing in the order rows were written
	Time         time.Time
	RequestID    string
	Method       string
	Path         string
	Status       int
	LatencyMS    int64
	RequestBody  string // masked snippet
	ResponseBody string // masked snippet
}

// requestLogPageSize is the page size of a new request-log file.
const requestLogPageSize = 32 << 10

// requestLogMigrations is the request-log file's schema history, append-only like migrations().
func requestLogMigrations() []string {
	return []string{
		// 1: the log, small columns first so that reading them never touches a body's overflow pages.
		// request_base is the id of the entry whose request body this one's begins with (0: none), for
		// its first request_prefix bytes; request_body holds the rest.
		`
CREATE TABLE request_log (
	id             INTEGER PRIMARY KEY,
	ts             INTEGER NOT NULL,
	request_id     TEXT    NOT NULL DEFAULT '',
	method         TEXT    NOT NULL DEFAULT '',
	path           TEXT    NOT NULL DEFAULT '',
	status         INTEGER NOT NULL DEFAULT 0,
	latency_ms     INTEGER NOT NULL DEFAULT 0,
	request_base   INTEGER NOT NULL DEFAULT 0,
	request_prefix INTEGER NOT NULL DEFAULT 0,
	request_body   TEXT    NOT NULL DEFAULT '',
	response_body  TEXT    NOT NULL DEFAULT ''
);
`,
	}
}

// requestLogInsert writes request-log rows, several per statement: fewer statements per batch also
// save SQLite's per-statement work (stepping, resetting).
var requestLogInsert = newMultiInsert(`INSERT OR FAIL INTO request_log (ts, request_id, method, path,
		status, latency_ms, request_base, request_prefix, request_body, response_body) VALUES `,
	`(?,?,?,?,?,?,?,?,?,?)`, [3]int{16, 4, 1})

// RequestLogPath is where the request log of the main database at mainPath lives: the same directory
// and name with "-requests" before the extension (cliproxy.db: cliproxy-requests.db).
func RequestLogPath(mainPath string) string {
	ext := filepath.Ext(mainPath)
	return strings.TrimSuffix(mainPath, ext) + "-requests" + ext
}

// OpenRequestLog opens (creating when missing) the request-log file at path, with the settings and
// errors of Open. WithClock sets the clock retention is measured by.
func OpenRequestLog(path string, logger *slog.Logger, opts ...Option) (*RequestLogDB, error) {
	if path == "" {
		return nil, errors.New("opening request log: empty path")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := options{busyTimeout: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := openDB(path, o, requestLogPageSize)
	if err != nil {
		return nil, err
	}
	// One writer and the occasional reader.
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(0)
	l := &RequestLogDB{db: db, path: path, clock: clock.Or(o.clock), logger: logger}
	ctx, cancel := context.WithTimeout(context.Background(), o.busyTimeout+10*time.Second)
	defer cancel()
	if err := applyMigrations(ctx, db, logger, path, requestLogMigrations()); err != nil {
		_ = db.Close()
		return nil, explainOpenError(path, err)
	}
	if l.w, err = openWriteConn(path, o.busyTimeout); err != nil {
		_ = db.Close()
		return nil, explainOpenError(path, err)
	}
	return l, nil
}

// Path returns the file the log was opened on.
func (l *RequestLogDB) Path() string { return l.path }

// Close closes the file.
func (l *RequestLogDB) Close() error {
	if err := errors.Join(l.w.close(), l.db.Close()); err != nil {
		return fmt.Errorf("closing request log %s: %w", l.path, err)
	}
	return nil
}

// InsertRequestLog appends rows in one transaction, several rows per statement. A request body that
// begins like a recent one is stored as the rest after the shared start.
func (l *RequestLogDB) InsertRequestLog(ctx context.Context, rows []RequestLogRow) error {
	if len(rows) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	bases := l.bases.clone()
	err := l.w.transaction(ctx, func(t *writeTx) error {
		// The write lock is held from BEGIN (IMMEDIATE), and SQLite gives each new row the largest id
		// plus one, so these are the ids the rows get (checked below). The ids are not inserted
		// explicitly: with an explicit INTEGER PRIMARY KEY even INSERT OR FAIL keeps a statement journal.
		next, err := t.queryInt64(`SELECT coalesce(max(id), 0) + 1 FROM request_log`)
		if err != nil {
			return err
		}
		stored := make([]storedBody, len(rows))
		for i := range rows {
			stored[i] = bases.add(next+int64(i), rows[i].RequestBody)
		}
		err = requestLogInsert.insert(t, len(rows), func(b *binder, i int) {
			r, s := &rows[i], &stored[i]
			b.int(unixMilli(r.Time))
			b.text(r.RequestID)
			b.text(r.Method)
			b.text(r.Path)
			b.int(int64(r.Status))
			b.int(r.LatencyMS)
			b.int(s.base)
			b.int(int64(s.prefix))
			b.text(s.rest)
			b.text(r.ResponseBody)
		})
		if err != nil {
			return err
		}
		last, err := t.queryInt64(`SELECT max(id) FROM request_log`)
		if err != nil {
			return err
		}
		if want := next + int64(len(rows)) - 1; last != want {
			return fmt.Errorf("the rows got ids up to %d, not %d", last, want)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing the request log: %w", err)
	}
	l.bases = bases // only once the rows they name exist
	return nil
}

// RecentRequestLog returns up to limit entries (limit <= 0 means 100), the most recently written first.
// beforeID > 0 pages back: only entries with a smaller ID are returned.
func (l *RequestLogDB) RecentRequestLog(ctx context.Context, limit int, beforeID int64) ([]RequestLogRow, error) {
	if limit <= 0 {
		limit = 100
	}
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := l.db.QueryContext(ctx, `SELECT id, ts, request_id, method, path, status, latency_ms,
		request_base, request_prefix, request_body, response_body FROM request_log WHERE id < ?
		ORDER BY id DESC LIMIT ?`, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the request log: %w", err)
	}
	var out []RequestLogRow
	var parts []storedBody
	for rows.Next() {
		var r RequestLogRow
		var b storedBody
		var ts int64
		if err := rows.Scan(&r.ID, &ts, &r.RequestID, &r.Method, &r.Path, &r.Status, &r.LatencyMS,
			&b.base, &b.prefix, &b.rest, &r.ResponseBody); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the request log: %w", err)
		}
		r.Time = fromMilli(ts)
		out = append(out, r)
		parts = append(parts, b)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the request log: %w", err)
	}
	bodies := bodyReader{q: l.db, known: map[int64]string{}}
	for i := range out {
		if out[i].RequestBody, err = bodies.full(ctx, parts[i], 0); err != nil {
			return nil, fmt.Errorf("reading the request log: %w", err)
		}
		bodies.known[out[i].ID] = out[i].RequestBody
	}
	return out, nil
}

// FindRequestLog returns the entry of the request requestID among the last within entries written
// (there is no index on request ids: the scan reads those rows), and whether there was one.
func (l *RequestLogDB) FindRequestLog(ctx context.Context, requestID string, within int) (RequestLogRow, bool, error) {
	var r RequestLogRow
	var b storedBody
	var ts int64
	err := l.db.QueryRowContext(ctx, `SELECT id, ts, request_id, method, path, status, latency_ms,
		request_base, request_prefix, request_body, response_body FROM request_log
		WHERE id > (SELECT coalesce(max(id), 0) FROM request_log) - ? AND request_id = ?
		ORDER BY id DESC LIMIT 1`, within, requestID).Scan(&r.ID, &ts, &r.RequestID, &r.Method, &r.Path,
		&r.Status, &r.LatencyMS, &b.base, &b.prefix, &b.rest, &r.ResponseBody)
	if errors.Is(err, sql.ErrNoRows) {
		return RequestLogRow{}, false, nil
	}
	if err != nil {
		return RequestLogRow{}, false, fmt.Errorf("reading the request log: %w", err)
	}
	r.Time = fromMilli(ts)
	bodies := bodyReader{q: l.db, known: map[int64]string{}}
	if r.RequestBody, err = bodies.full(ctx, b, 0); err != nil {
		return RequestLogRow{}, false, fmt.Errorf("reading the request log: %w", err)
	}
	return r, true, nil
}

// PruneRequestLog deletes the entries older than retentionDays days (by the log's clock) and reports
// how many went; retentionDays <= 0 keeps everything. It deletes from the oldest row up to the first
// one inside the retention, without an index on ts: the cost is that of the rows deleted. A row that
// was written after a newer one (a request that ran for minutes) may outlive the cutoff until the rows
// before it go. A kept entry whose request body continues a deleted one's is stored whole first.
func (l *RequestLogDB) PruneRequestLog(ctx context.Context, retentionDays int) (n int64, err error) {
	if retentionDays <= 0 {
		return 0, nil
	}
	cutoff := unixMilli(l.clock.Now().Add(-time.Duration(retentionDays) * 24 * time.Hour))
	l.mu.Lock()
	defer l.mu.Unlock()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("pruning the request log: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var first int64 // the first id kept
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(
		(SELECT id FROM request_log WHERE ts >= ? ORDER BY id LIMIT 1),
		(SELECT max(id) + 1 FROM request_log), 0)`, cutoff).Scan(&first); err != nil {
		return 0, fmt.Errorf("pruning the request log: %w", err)
	}
	if err := materializeBefore(ctx, tx, first); err != nil {
		return 0, fmt.Errorf("pruning the request log: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM request_log WHERE id < ?`, first)
	if err != nil {
		return 0, fmt.Errorf("pruning the request log: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("pruning the request log: %w", err)
	}
	l.bases.dropBefore(first)
	n, _ = res.RowsAffected()
	return n, nil
}

// materializeBefore stores whole every request body kept (id >= first) that continues one about to be
// deleted (id < first). Bases are at most baseWindow rows back, so only the rows just after first can
// name one. Chains stay whole: a row whose base is kept reaches, through it, only kept rows.
func materializeBefore(ctx context.Context, tx *sql.Tx, first int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, request_base, request_prefix, request_body FROM request_log
		WHERE id >= ? AND id < ? AND request_base != 0 AND request_base < ?`, first, first+baseWindow, first)
	if err != nil {
		return err
	}
	type fix struct {
		id   int64
		body storedBody
	}
	var fixes []fix
	for rows.Next() {
		var f fix
		if err := rows.Scan(&f.id, &f.body.base, &f.body.prefix, &f.body.rest); err != nil {
			rows.Close()
			return err
		}
		fixes = append(fixes, f)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return err
	}
	bodies := bodyReader{q: tx, known: map[int64]string{}}
	for _, f := range fixes {
		full, err := bodies.full(ctx, f.body, 0)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE request_log SET request_base = 0, request_prefix = 0,
			request_body = ? WHERE id = ?`, full, f.id); err != nil {
			return err
		}
	}
	return nil
}

// MoveRequestLog moves the request log that earlier versions kept in the main database into to, oldest
// rows first, and drops the old table. It works in chunks, each inserted into to and then deleted here,
// so an interruption repeats at most one chunk on the next run. It reports how many rows moved; a
// database without the old table moves nothing.
func (s *Store) MoveRequestLog(ctx context.Context, to *RequestLogDB) (int64, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND
		name = 'request_log'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("moving the request log: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var moved int64
	for {
		chunk, last, err := s.oldRequestLogChunk(ctx, 256)
		if err != nil {
			return moved, fmt.Errorf("moving the request log: %w", err)
		}
		if len(chunk) == 0 {
			break
		}
		if err := to.InsertRequestLog(ctx, chunk); err != nil {
			return moved, fmt.Errorf("moving the request log: %w", err)
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM request_log WHERE id <= ?`, last); err != nil {
			return moved, fmt.Errorf("moving the request log: %w", err)
		}
		moved += int64(len(chunk))
	}
	if _, err := s.db.ExecContext(ctx, `DROP TABLE request_log`); err != nil {
		return moved, fmt.Errorf("moving the request log: dropping the old table: %w", err)
	}
	return moved, nil
}

// oldRequestLogChunk reads up to n of the oldest rows of the main database's old request_log table, in
// the order they were written, and the id of the last.
func (s *Store) oldRequestLogChunk(ctx context.Context, n int) ([]RequestLogRow, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, ts, request_id, method, path, status, latency_ms,
		request_body, response_body FROM request_log ORDER BY id LIMIT ?`, n)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []RequestLogRow
	var last int64
	for rows.Next() {
		var r RequestLogRow
		var ts int64
		if err := rows.Scan(&last, &ts, &r.RequestID, &r.Method, &r.Path, &r.Status, &r.LatencyMS,
			&r.RequestBody, &r.ResponseBody); err != nil {
			return nil, 0, err
		}
		r.Time = fromMilli(ts)
		out = append(out, r)
	}
	return out, last, rows.Err()
}
