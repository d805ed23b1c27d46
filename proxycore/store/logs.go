package store

import (
	"context"
	"fmt"
	"time"
)

// RequestLogRow is one entry of the optional request log. Bodies must already be masked and truncated
// by the caller: the store writes what it is given.
type RequestLogRow struct {
	Time         time.Time
	RequestID    string
	Method       string
	Path         string
	Status       int
	RequestBody  string // masked snippet
	ResponseBody string // masked snippet
	LatencyMS    int64
}

// InsertRequestLog appends request log entries in one transaction, several rows per statement.
func (s *Store) InsertRequestLog(ctx context.Context, rows []RequestLogRow) (err error) {
	if len(rows) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("inserting request log: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	err = requestLogInsert.insert(ctx, tx, s.stmts.logRows, len(rows), func(args []any, i int) []any {
		r := &rows[i]
		return append(args, unixMilli(r.Time), r.RequestID, r.Method, r.Path, r.Status, r.RequestBody,
			r.ResponseBody, r.LatencyMS)
	})
	if err != nil {
		return fmt.Errorf("inserting request log: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("inserting request log: %w", err)
	}
	return nil
}

// RecentRequestLog returns the newest request log entries first (limit <= 0 means 100).
func (s *Store) RecentRequestLog(ctx context.Context, limit int) ([]RequestLogRow, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ts, request_id, method, path, status, request_body,
		response_body, latency_ms FROM request_log ORDER BY ts DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("reading request log: %w", err)
	}
	defer rows.Close()
	var out []RequestLogRow
	for rows.Next() {
		var r RequestLogRow
		var ts int64
		if err := rows.Scan(&ts, &r.RequestID, &r.Method, &r.Path, &r.Status, &r.RequestBody,
			&r.ResponseBody, &r.LatencyMS); err != nil {
			return nil, fmt.Errorf("reading request log: %w", err)
		}
		r.Time = fromMilli(ts)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading request log: %w", err)
	}
	return out, nil
}

// PruneRequestLog deletes request log entries older than retentionDays days (by the store's clock) and
// reports how many went. retentionDays <= 0 keeps everything.
func (s *Store) PruneRequestLog(ctx context.Context, retentionDays int) (int64, error) {
	if retentionDays <= 0 {
		return 0, nil
	}
	cutoff := s.clock.Now().Add(-time.Duration(retentionDays) * 24 * time.Hour)
	res, err := s.db.ExecContext(ctx, `DELETE FROM request_log WHERE ts < ?`, unixMilli(cutoff))
	if err != nil {
		return 0, fmt.Errorf("pruning request log: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// HealthSample is a periodic snapshot of one credential's health, for charts.
type HealthSample struct {
	Time         time.Time
	CredentialID string
	State        string // HEALTHY, DEGRADED, COOLDOWN, ERROR, ...
	Requests     int64  // in the sampling window
	Failures     int64
	P95MS        int64
}

// InsertHealthSamples appends samples in one transaction.
func (s *Store) InsertHealthSamples(ctx context.Context, samples []HealthSample) (err error) {
	if len(samples) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("inserting health samples: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	st, err := tx.PrepareContext(ctx, `INSERT INTO health_samples (ts, credential_id, state, requests,
		failures, p95_ms) VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("inserting health samples: %w", err)
	}
	defer st.Close()
	for _, h := range samples {
		if _, err := st.ExecContext(ctx, unixMilli(h.Time), h.CredentialID, h.State, h.Requests,
			h.Failures, h.P95MS); err != nil {
			return fmt.Errorf("inserting health samples: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("inserting health samples: %w", err)
	}
	return nil
}

// HealthSamples returns samples with from <= time < to, oldest first, for one credential or for all
// when credentialID is "". A zero to means no upper bound.
func (s *Store) HealthSamples(ctx context.Context, credentialID string, from, to time.Time) ([]HealthSample, error) {
	var hi int64 = 1<<63 - 1
	if !to.IsZero() {
		hi = to.UnixMilli()
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ts, credential_id, state, requests, failures, p95_ms
		FROM health_samples WHERE ts >= ? AND ts < ? AND (? = '' OR credential_id = ?)
		ORDER BY ts, id`, unixMilli(from), hi, credentialID, credentialID)
	if err != nil {
		return nil, fmt.Errorf("reading health samples: %w", err)
	}
	defer rows.Close()
	var out []HealthSample
	for rows.Next() {
		var h HealthSample
		var ts int64
		if err := rows.Scan(&ts, &h.CredentialID, &h.State, &h.Requests, &h.Failures, &h.P95MS); err != nil {
			return nil, fmt.Errorf("reading health samples: %w", err)
		}
		h.Time = fromMilli(ts)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading health samples: %w", err)
	}
	return out, nil
}

// PruneHealthSamples deletes samples older than before.
func (s *Store) PruneHealthSamples(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM health_samples WHERE ts < ?`, unixMilli(before))
	if err != nil {
		return 0, fmt.Errorf("pruning health samples: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
