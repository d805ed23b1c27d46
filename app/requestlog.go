package app

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// requestLogFile is the request log's SQLite file (store.RequestLogPath beside the main database),
// opened when the first row is written: a proxy that never enables [request-log] never creates it. The
// first open also moves the log an earlier version kept in the main database. A file that cannot be
// opened is retried at most once a minute; meanwhile the rows are dropped and counted by
// spend.RequestLog, and the error is logged once per attempt.
type requestLogFile struct {
	path string
	main *store.Store
	log  *slog.Logger
	clk  clock.Clock

	mu      sync.Mutex
	db      *store.RequestLogDB
	err     error
	retryAt time.Time
	closed  bool
}

// requestLogRetry is how long a failed open waits before the next attempt.
const requestLogRetry = time.Minute

var errRequestLogClosed = errors.New("the request log is closed")

// open returns the open file, opening it (create says whether a missing file may be created).
func (f *requestLogFile) open(create bool) (*store.RequestLogDB, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return nil, errRequestLogClosed
	case f.db != nil:
		return f.db, nil
	case f.err != nil && f.clk.Now().Before(f.retryAt):
		return nil, f.err
	}
	if !create {
		if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	db, err := store.OpenRequestLog(f.path, f.log, store.WithClock(f.clk))
	if err != nil {
		f.err, f.retryAt = err, f.clk.Now().Add(requestLogRetry)
		f.log.Error("the request log cannot be opened; requests are not logged until it can", "err", err)
		return nil, err
	}
	f.db, f.err = db, nil
	if f.main != nil {
		// Only the first open finds the old table; later ones cost one sqlite_master lookup.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if n, err := f.main.MoveRequestLog(ctx, db); err != nil {
			f.log.Warn("moving the request log out of the main database failed; it is tried again at the next start",
				"err", err, "moved", n)
		} else if n > 0 {
			f.log.Info("moved the request log to its own file", "rows", n, "path", f.path)
		}
	}
	return db, nil
}

// InsertRequestLog implements spend.RequestLogSink.
func (f *requestLogFile) InsertRequestLog(ctx context.Context, rows []store.RequestLogRow) error {
	db, err := f.open(true)
	if err != nil {
		return err
	}
	return db.InsertRequestLog(ctx, rows)
}

// recent returns up to limit entries, newest first, before beforeID (0: from the newest); none when
// nothing was ever logged.
func (f *requestLogFile) recent(ctx context.Context, limit int, beforeID int64) ([]store.RequestLogRow, error) {
	db, err := f.open(false)
	if err != nil || db == nil {
		return nil, err
	}
	return db.RecentRequestLog(ctx, limit, beforeID)
}

// find returns the logged entry of request id among the last requestLogSearch entries.
func (f *requestLogFile) find(ctx context.Context, id string) (store.RequestLogRow, bool, error) {
	db, err := f.open(false)
	if err != nil || db == nil {
		return store.RequestLogRow{}, false, err
	}
	return db.FindRequestLog(ctx, id, requestLogSearch)
}

// requestLogSearch is how many of the newest entries a lookup by request id reads.
const requestLogSearch = 5000

// RequestLogEntry returns the request log's entry for a request (masked bodies, cut to max-body-kb)
// when the log holds it among its latest entries.
func (c *Core) RequestLogEntry(ctx context.Context, requestID string) (store.RequestLogRow, bool, error) {
	return c.reqLogFile.find(ctx, requestID)
}

// RequestLogEnabled reports whether requests are being logged ([request-log] enable).
func (c *Core) RequestLogEnabled() bool { return c.Config().RequestLog.Enable }

// prune applies the retention; a log that was never written is left alone.
func (f *requestLogFile) prune(ctx context.Context, retentionDays int) (int64, error) {
	db, err := f.open(false)
	if err != nil || db == nil {
		return 0, err
	}
	return db.PruneRequestLog(ctx, retentionDays)
}

// close closes the file; later writes fail.
func (f *requestLogFile) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	return err
}
