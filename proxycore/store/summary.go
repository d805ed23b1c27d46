package store

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Group-by dimensions accepted by SpendSummary and DailySeries.
const (
	GroupNone       = ""           // totals only
	GroupDay        = "day"        // UTC calendar day, YYYY-MM-DD
	GroupModel      = "model"      // billed model
	GroupProvider   = "provider"   // provider id
	GroupKey        = "key"        // virtual key id ("" for the static client key)
	GroupCredential = "credential" // upstream credential id (read from the spend log, not rollups)
)

// SpendTotal sums requests, tokens and cost over a set of spend rows.
type SpendTotal struct {
	Requests         int64
	Errors           int64
	InputTokens      int64
	OutputTokens     int64
	CachedTokens     int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	CostUSD          float64
}

func (t *SpendTotal) add(o SpendTotal) {
	t.Requests += o.Requests
	t.Errors += o.Errors
	t.InputTokens += o.InputTokens
	t.OutputTokens += o.OutputTokens
	t.CachedTokens += o.CachedTokens
	t.CacheWriteTokens += o.CacheWriteTokens
	t.ReasoningTokens += o.ReasoningTokens
	t.CostUSD += o.CostUSD
}

// SpendGroup is the total of one group (one day, model, provider, key or credential).
type SpendGroup struct {
	Key string // the group's value: a day, a model name, a provider id, a key id or a credential id
	SpendTotal
}

// SeriesPoint is one bar of a daily chart.
type SeriesPoint struct {
	Day      string // YYYY-MM-DD, UTC
	Key      string // the series' value (model, provider or key id); "" for the total series
	Requests int64
	Tokens   int64 // input + output
	CostUSD  float64
}

// rollupColumns and logColumns map a group-by name to the column that holds it in each table.
func rollupColumn(groupBy string) (string, bool) {
	switch groupBy {
	case GroupNone:
		return "''", true
	case GroupDay:
		return "day", true
	case GroupModel:
		return "model", true
	case GroupProvider:
		return "provider", true
	case GroupKey:
		return "key_id", true
	}
	return "", false
}

func logColumn(groupBy string) (string, bool) {
	switch groupBy {
	case GroupNone:
		return "''", true
	case GroupDay:
		return "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')", true
	case GroupModel:
		return "model", true
	case GroupProvider:
		return "provider", true
	case GroupKey:
		return "key_id", true
	case GroupCredential:
		return "credential_id", true
	}
	return "", false
}

// SpendSummary totals spend for requests with from <= time < to, grouped by groupBy (one of the Group
// constants). A zero from or to leaves that side open. When both bounds fall on UTC midnight the daily
// rollup table answers, which costs one row per day and group instead of one per request. Groups come
// ordered by day for GroupDay, otherwise by cost, highest first.
func (s *Store) SpendSummary(ctx context.Context, from, to time.Time, groupBy string) ([]SpendGroup, SpendTotal, error) {
	var (
		query string
		args  []any
	)
	if col, ok := rollupColumn(groupBy); ok && midnight(from) && midnight(to) {
		query = `SELECT ` + col + `, SUM(requests), SUM(errors), SUM(input_tokens), SUM(output_tokens),
			SUM(cached_tokens), SUM(cache_write_tokens), SUM(reasoning_tokens), SUM(cost_usd)
			FROM spend_daily WHERE day >= ? AND day < ? GROUP BY 1`
		lo, hi := "0000-00-00", "9999-99-99"
		if !from.IsZero() {
			lo = dayOf(from)
		}
		if !to.IsZero() {
			hi = dayOf(to)
		}
		args = []any{lo, hi}
	} else if col, ok := logColumn(groupBy); ok {
		query = `SELECT ` + col + `, COUNT(*),
			SUM(CASE WHEN error_class != '' OR status >= 400 THEN 1 ELSE 0 END),
			SUM(input_tokens), SUM(output_tokens), SUM(cached_tokens), SUM(cache_write_tokens),
			SUM(reasoning_tokens), SUM(cost_usd)
			FROM spend_log WHERE ts >= ? AND ts < ? GROUP BY 1`
		var hi int64 = 1<<63 - 1
		if !to.IsZero() {
			hi = to.UnixMilli()
		}
		args = []any{unixMilli(from), hi}
	} else {
		return nil, SpendTotal{}, fmt.Errorf("spend summary: unknown group-by %q (want day, model, provider, key or credential)", groupBy)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, SpendTotal{}, fmt.Errorf("spend summary: %w", err)
	}
	defer rows.Close()
	var (
		groups []SpendGroup
		total  SpendTotal
	)
	for rows.Next() {
		var g SpendGroup
		if err := rows.Scan(&g.Key, &g.Requests, &g.Errors, &g.InputTokens, &g.OutputTokens,
			&g.CachedTokens, &g.CacheWriteTokens, &g.ReasoningTokens, &g.CostUSD); err != nil {
			return nil, SpendTotal{}, fmt.Errorf("spend summary: %w", err)
		}
		total.add(g.SpendTotal)
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, SpendTotal{}, fmt.Errorf("spend summary: %w", err)
	}
	if groupBy == GroupNone {
		groups = nil
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if groupBy == GroupDay {
			return groups[i].Key < groups[j].Key
		}
		if groups[i].CostUSD != groups[j].CostUSD {
			return groups[i].CostUSD > groups[j].CostUSD
		}
		return groups[i].Key < groups[j].Key
	})
	return groups, total, nil
}

// midnight reports whether t is unset or exactly 00:00 UTC, so the rollup table can answer.
func midnight(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	u := t.UTC()
	return u.Equal(u.Truncate(24 * time.Hour))
}

// DailySeries returns per-day totals for the last days days up to and including today (UTC, by the
// store's clock), split by by (GroupNone, GroupModel, GroupProvider or GroupKey). Every series has a
// point for every day, zero when nothing happened, so charts need no gap handling. Points are ordered
// by day, then series key.
func (s *Store) DailySeries(ctx context.Context, days int, by string) ([]SeriesPoint, error) {
	if days <= 0 {
		return nil, nil
	}
	col, ok := rollupColumn(by)
	if !ok || by == GroupDay {
		return nil, fmt.Errorf("daily series: unknown split %q (want model, provider, key or empty)", by)
	}
	today := s.clock.Now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	rows, err := s.db.QueryContext(ctx, `SELECT day, `+col+`, SUM(requests),
		SUM(input_tokens + output_tokens), SUM(cost_usd)
		FROM spend_daily WHERE day >= ? AND day <= ? GROUP BY 1, 2`, dayOf(first), dayOf(today))
	if err != nil {
		return nil, fmt.Errorf("daily series: %w", err)
	}
	defer rows.Close()
	type cell struct{ day, key string }
	got := make(map[cell]SeriesPoint)
	keys := map[string]bool{}
	if by == GroupNone {
		keys[""] = true
	}
	for rows.Next() {
		var p SeriesPoint
		if err := rows.Scan(&p.Day, &p.Key, &p.Requests, &p.Tokens, &p.CostUSD); err != nil {
			return nil, fmt.Errorf("daily series: %w", err)
		}
		got[cell{p.Day, p.Key}] = p
		keys[p.Key] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily series: %w", err)
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	out := make([]SeriesPoint, 0, days*len(sorted))
	for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
		day := dayOf(d)
		for _, k := range sorted {
			p, ok := got[cell{day, k}]
			if !ok {
				p = SeriesPoint{Day: day, Key: k}
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// Today returns today's totals (UTC day, by the store's clock) from the rollup table.
func (s *Store) Today(ctx context.Context) (SpendTotal, error) {
	today := s.clock.Now().UTC().Truncate(24 * time.Hour)
	_, total, err := s.SpendSummary(ctx, today, today.AddDate(0, 0, 1), GroupNone)
	if err != nil {
		return SpendTotal{}, fmt.Errorf("today's spend: %w", err)
	}
	return total, nil
}

// RequestsToday returns how many requests were recorded today (UTC).
func (s *Store) RequestsToday(ctx context.Context) (int64, error) {
	t, err := s.Today(ctx)
	return t.Requests, err
}

// SpendToday returns today's cost in USD (UTC day).
func (s *Store) SpendToday(ctx context.Context) (float64, error) {
	t, err := s.Today(ctx)
	return t.CostUSD, err
}
