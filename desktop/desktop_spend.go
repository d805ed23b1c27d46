package desktop

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/store"
	"github.com/cliproxy/cliproxy/ui"
)

// spendCache answers the Spend tab and the status line from SQLite, caching each query for a few seconds
// so a dashboard refreshing several times a second costs at most one query per view per TTL.
type spendCache struct {
	st    *store.Store
	clock clock.Clock
	ttl   time.Duration
	log   *slog.Logger

	mu      sync.Mutex // guards entries
	entries map[string]spendEntry
}

// spendEntry is one cached answer.
type spendEntry struct {
	at    time.Time
	value any
}

func newSpendCache(st *store.Store, c clock.Clock, ttl time.Duration, log *slog.Logger) *spendCache {
	return &spendCache{st: st, clock: c, ttl: ttl, log: log, entries: map[string]spendEntry{}}
}

// get returns the cached value for key, or computes and caches it. A failed query is logged and cached
// as its zero value for the TTL, so a broken store does not cost a query per refresh.
func (s *spendCache) get(key string, compute func(ctx context.Context) (any, error)) any {
	now := s.clock.Now()
	s.mu.Lock()
	if e, ok := s.entries[key]; ok && now.Sub(e.at) < s.ttl && !now.Before(e.at) {
		s.mu.Unlock()
		return e.value
	}
	s.mu.Unlock()
	var v any
	if s.st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		v, err = compute(ctx)
		cancel()
		if err != nil {
			s.log.Warn("desktop: spend query failed", "query", key, "err", err)
			v = nil
		}
	}
	s.mu.Lock()
	s.entries[key] = spendEntry{at: now, value: v}
	s.mu.Unlock()
	return v
}

// today returns today's totals (UTC day, as the store counts).
func (s *spendCache) today() store.SpendTotal {
	v, _ := s.get("today", func(ctx context.Context) (any, error) { return s.st.Today(ctx) }).(store.SpendTotal)
	return v
}

// todayBy returns today's totals grouped by groupBy (store.GroupCredential for the Accounts tab).
func (s *spendCache) todayBy(groupBy string) map[string]store.SpendTotal {
	v, _ := s.get("today/"+groupBy, func(ctx context.Context) (any, error) {
		from := s.clock.Now().UTC().Truncate(24 * time.Hour)
		groups, _, err := s.st.SpendSummary(ctx, from, from.AddDate(0, 0, 1), groupBy)
		if err != nil {
			return nil, err
		}
		m := make(map[string]store.SpendTotal, len(groups))
		for _, g := range groups {
			m[g.Key] = g.SpendTotal
		}
		return m, nil
	}).(map[string]store.SpendTotal)
	return v
}

// daily returns one entry per day for the last days (UTC days, oldest first), split by provider.
func (s *spendCache) daily(days int) []ui.SpendDay {
	v, _ := s.get("daily/"+strconv.Itoa(days), func(ctx context.Context) (any, error) {
		points, err := s.st.DailySeries(ctx, days, store.GroupProvider)
		if err != nil {
			return nil, err
		}
		return dailyFromSeries(points), nil
	}).([]ui.SpendDay)
	return v
}

// dailyFromSeries folds per-provider points (ordered by day) into one SpendDay per day. Providers with
// no spend on a day are left out of that day's map.
func dailyFromSeries(points []store.SeriesPoint) []ui.SpendDay {
	var out []ui.SpendDay
	for _, p := range points {
		day, err := time.Parse(time.DateOnly, p.Day)
		if err != nil {
			continue
		}
		if len(out) == 0 || !out[len(out)-1].Day.Equal(day) {
			out = append(out, ui.SpendDay{Day: day, ByProvider: map[string]float64{}})
		}
		if p.CostUSD != 0 && p.Key != "" {
			out[len(out)-1].ByProvider[p.Key] += p.CostUSD
		}
	}
	return out
}

// shares returns the spend of the last days grouped by groupBy, highest first, with names mapped by name.
func (s *spendCache) shares(days int, groupBy string, name func(string) string) []ui.SpendShare {
	v, _ := s.get("share/"+groupBy+"/"+strconv.Itoa(days), func(ctx context.Context) (any, error) {
		to := s.clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
		from := to.AddDate(0, 0, -max(days, 1))
		groups, _, err := s.st.SpendSummary(ctx, from, to, groupBy)
		if err != nil {
			return nil, err
		}
		out := make([]ui.SpendShare, 0, len(groups))
		for _, g := range groups {
			out = append(out, ui.SpendShare{Name: name(g.Key), USD: g.CostUSD, Requests: g.Requests})
		}
		return out, nil
	}).([]ui.SpendShare)
	return v
}

// SpendDaily returns daily spend split by provider for the last days, oldest first.
func (d *Desktop) SpendDaily(days int) []ui.SpendDay { return d.spend.daily(days) }

// SpendByModel returns the spend per billed model over the last days, highest first.
func (d *Desktop) SpendByModel(days int) []ui.SpendShare {
	return d.spend.shares(days, store.GroupModel, func(m string) string {
		if m == "" {
			return "(unknown model)"
		}
		return m
	})
}

// SpendByKey returns the spend per client key over the last days, highest first, named by key name.
func (d *Desktop) SpendByKey(days int) []ui.SpendShare {
	return d.spend.shares(days, store.GroupKey, d.names().keyName)
}
