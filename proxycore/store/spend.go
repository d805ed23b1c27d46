package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SpendRow is one proxied request as recorded in the spend log.
type SpendRow struct {
	Time         time.Time // when the request finished
	RequestID    string
	KeyID        string // virtual key id, or "" for the static client key
	CredentialID string // upstream credential (account or API-key entry) that served it
	Provider     string
	Model        string // model name as billed (the upstream model)
	Route        string // client format/route, e.g. "openai-chat", "claude-messages"

	InputTokens      int64 // full prompt, including cached reads and cache writes
	OutputTokens     int64 // including reasoning
	CachedTokens     int64
	CacheWriteTokens int64
	ReasoningTokens  int64

	CostUSD    float64
	PriceKnown bool // false when the model had no price; CostUSD is then 0

	LatencyMS  int64
	TTFBMS     int64
	Status     int    // HTTP status returned to the client
	ErrorClass string // "" on success, else the routing/error class
	CacheHit   bool   // served from the response cache
}

// InsertSpend writes rows and updates their daily rollups in one transaction: either every row and its
// rollup lands or none does.
func (s *Store) InsertSpend(ctx context.Context, rows []SpendRow) error {
	if len(rows) == 0 {
		return nil
	}
	// Rows of one batch mostly share day/provider/model/key, so rollups are summed in memory first:
	// one upsert per group instead of one per row.
	groups := make(map[rollupKey]*rollup)
	var order []rollupKey
	for i := range rows {
		r := &rows[i]
		y, m, d := r.Time.UTC().Date()
		k := rollupKey{year: y, month: m, day: d, provider: r.Provider, model: r.Model, keyID: r.KeyID}
		g := groups[k]
		if g == nil {
			g = &rollup{}
			groups[k] = g
			order = append(order, k)
		}
		g.add(r)
	}
	err := s.w.transaction(ctx, func(t *writeTx) error {
		err := spendInsert.insert(t, len(rows), func(b *binder, i int) {
			r := &rows[i]
			b.int(unixMilli(r.Time))
			b.text(r.RequestID)
			b.text(r.KeyID)
			b.text(r.CredentialID)
			b.text(r.Provider)
			b.text(r.Model)
			b.text(r.Route)
			b.int(r.InputTokens)
			b.int(r.OutputTokens)
			b.int(r.CachedTokens)
			b.int(r.CacheWriteTokens)
			b.int(r.ReasoningTokens)
			b.float(r.CostUSD)
			b.int(int64(boolInt(r.PriceKnown)))
			b.int(r.LatencyMS)
			b.int(r.TTFBMS)
			b.int(int64(r.Status))
			b.text(r.ErrorClass)
			b.int(int64(boolInt(r.CacheHit)))
		})
		if err != nil {
			return fmt.Errorf("inserting spend rows: %w", err)
		}
		for _, k := range order {
			g := groups[k]
			day := dayOf(time.Date(k.year, k.month, k.day, 0, 0, 0, 0, time.UTC))
			err := t.exec(spendRollupUpsert, func(b *binder) {
				b.text(day)
				b.text(k.provider)
				b.text(k.model)
				b.text(k.keyID)
				b.int(g.requests)
				b.int(g.errors)
				b.int(g.input)
				b.int(g.output)
				b.int(g.cached)
				b.int(g.cacheWrite)
				b.int(g.reasoning)
				b.float(g.cost)
			})
			if err != nil {
				return fmt.Errorf("updating spend rollups: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing spend: %w", err)
	}
	return nil
}

// WriteSpend is InsertSpend under the name the async spend writer's sink interface expects.
func (s *Store) WriteSpend(ctx context.Context, rows []SpendRow) error {
	return s.InsertSpend(ctx, rows)
}

// rollupKey is a rollup row's key; the day is kept as numbers so that grouping a row costs no
// formatting.
type rollupKey struct {
	year                   int
	month                  time.Month
	day                    int
	provider, model, keyID string
}

type rollup struct {
	requests, errors                             int64
	input, output, cached, cacheWrite, reasoning int64
	cost                                         float64
}

func (g *rollup) add(r *SpendRow) {
	g.requests++
	if r.ErrorClass != "" || r.Status >= 400 {
		g.errors++
	}
	g.input += r.InputTokens
	g.output += r.OutputTokens
	g.cached += r.CachedTokens
	g.cacheWrite += r.CacheWriteTokens
	g.reasoning += r.ReasoningTokens
	g.cost += r.CostUSD
}

// RecentRequests returns the newest spend rows first, at most limit of them (limit <= 0 means 100).
func (s *Store) RecentRequests(ctx context.Context, limit int) ([]SpendRow, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ts, request_id, key_id, credential_id, provider, model,
		route, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_usd,
		price_known, latency_ms, ttfb_ms, status, error_class, cache_hit
		FROM spend_log ORDER BY ts DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("reading recent requests: %w", err)
	}
	defer rows.Close()
	var out []SpendRow
	for rows.Next() {
		var r SpendRow
		var ts int64
		var known, hit int
		if err := rows.Scan(&ts, &r.RequestID, &r.KeyID, &r.CredentialID, &r.Provider, &r.Model,
			&r.Route, &r.InputTokens, &r.OutputTokens, &r.CachedTokens, &r.CacheWriteTokens,
			&r.ReasoningTokens, &r.CostUSD, &known, &r.LatencyMS, &r.TTFBMS, &r.Status, &r.ErrorClass,
			&hit); err != nil {
			return nil, fmt.Errorf("reading recent requests: %w", err)
		}
		r.Time, r.PriceKnown, r.CacheHit = fromMilli(ts), known != 0, hit != 0
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading recent requests: %w", err)
	}
	return out, nil
}

// CountSpend returns the number of rows in the spend log.
func (s *Store) CountSpend(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM spend_log`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting spend rows: %w", err)
	}
	return n, nil
}

// PruneSpendLog deletes per-request rows older than before. Daily rollups are kept, so charts and
// summaries over whole days stay correct.
func (s *Store) PruneSpendLog(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM spend_log WHERE ts < ?`, unixMilli(before))
	if err != nil {
		return 0, fmt.Errorf("pruning spend log: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// scanner is the Scan method shared by *sql.Row and *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

var _ scanner = (*sql.Row)(nil)
