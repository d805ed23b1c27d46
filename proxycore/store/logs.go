package store

import (
	"context"
	"fmt"
	"time"
)

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
