package store

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// fixture returns rows over three days: 2026-03-08 (2 rows), 2026-03-09 (3 rows), 2026-03-10 (1 row).
func fixture() []SpendRow {
	d := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 30, 0, 0, time.UTC) }
	return []SpendRow{
		{Time: d(8, 1), RequestID: "r1", KeyID: "k1", CredentialID: "c1", Provider: "anthropic", Model: "claude-sonnet-4-5",
			Route: "claude-messages", InputTokens: 1000, OutputTokens: 100, CachedTokens: 500, CostUSD: 0.01, PriceKnown: true, Status: 200},
		{Time: d(8, 23), RequestID: "r2", KeyID: "", CredentialID: "c2", Provider: "openai", Model: "gpt-5",
			InputTokens: 2000, OutputTokens: 200, ReasoningTokens: 50, CostUSD: 0.02, PriceKnown: true, Status: 200},
		{Time: d(9, 0), RequestID: "r3", KeyID: "k1", CredentialID: "c1", Provider: "anthropic", Model: "claude-sonnet-4-5",
			InputTokens: 3000, OutputTokens: 300, CacheWriteTokens: 1000, CostUSD: 0.03, PriceKnown: true, Status: 200},
		{Time: d(9, 12), RequestID: "r4", KeyID: "k2", CredentialID: "c3", Provider: "gemini", Model: "gemini-2.5-pro",
			InputTokens: 4000, OutputTokens: 400, CostUSD: 0.04, PriceKnown: true, Status: 200, CacheHit: true},
		{Time: d(9, 13), RequestID: "r5", KeyID: "k2", CredentialID: "c3", Provider: "gemini", Model: "gemini-2.5-pro",
			Status: 429, ErrorClass: "rate_limited"},
		{Time: d(10, 5), RequestID: "r6", KeyID: "k1", CredentialID: "c2", Provider: "openai", Model: "mystery",
			InputTokens: 10, OutputTokens: 1, PriceKnown: false, Status: 200, LatencyMS: 900, TTFBMS: 100},
	}
}

func TestSpendSummary(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	rows := fixture()
	// Two batches, so the rollup upsert path (conflict on an existing day/model/key) is exercised.
	if err := s.InsertSpend(ctx, rows[:3]); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertSpend(ctx, rows[3:]); err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	type want struct {
		groups map[string]float64 // key -> requests
		order  []string
		total  SpendTotal
	}
	all := SpendTotal{Requests: 6, Errors: 1, InputTokens: 10010, OutputTokens: 1001, CachedTokens: 500,
		CacheWriteTokens: 1000, ReasoningTokens: 50, CostUSD: 0.10}
	tests := []struct {
		name     string
		from, to time.Time
		groupBy  string
		want     want
	}{
		{"all time by day", time.Time{}, time.Time{}, GroupDay, want{
			map[string]float64{"2026-03-08": 2, "2026-03-09": 3, "2026-03-10": 1},
			[]string{"2026-03-08", "2026-03-09", "2026-03-10"}, all}},
		{"rollup by model", day(8), day(10), GroupModel, want{
			map[string]float64{"claude-sonnet-4-5": 2, "gpt-5": 1, "gemini-2.5-pro": 2},
			[]string{"claude-sonnet-4-5", "gemini-2.5-pro", "gpt-5"},
			SpendTotal{Requests: 5, Errors: 1, InputTokens: 10000, OutputTokens: 1000, CachedTokens: 500,
				CacheWriteTokens: 1000, ReasoningTokens: 50, CostUSD: 0.10}}},
		{"log by provider (unaligned)", day(8).Add(2 * time.Hour), day(9).Add(13 * time.Hour), GroupProvider, want{
			map[string]float64{"openai": 1, "anthropic": 1, "gemini": 1}, []string{"gemini", "anthropic", "openai"},
			SpendTotal{Requests: 3, InputTokens: 9000, OutputTokens: 900, ReasoningTokens: 50, CacheWriteTokens: 1000, CostUSD: 0.09}}},
		{"by key", time.Time{}, time.Time{}, GroupKey, want{
			map[string]float64{"k1": 3, "": 1, "k2": 2}, []string{"k1", "k2", ""}, all}},
		{"by credential", time.Time{}, time.Time{}, GroupCredential, want{
			map[string]float64{"c1": 2, "c2": 2, "c3": 2}, []string{"c1", "c3", "c2"}, all}},
		{"totals only", day(10), day(11), GroupNone, want{map[string]float64{}, nil,
			SpendTotal{Requests: 1, InputTokens: 10, OutputTokens: 1}}},
		{"empty range", day(20), day(21), GroupModel, want{map[string]float64{}, nil, SpendTotal{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups, total, err := s.SpendSummary(ctx, tt.from, tt.to, tt.groupBy)
			if err != nil {
				t.Fatal(err)
			}
			if !sameTotal(total, tt.want.total) {
				t.Errorf("total = %+v, want %+v", total, tt.want.total)
			}
			if len(groups) != len(tt.want.groups) {
				t.Fatalf("groups = %+v, want %v", groups, tt.want.groups)
			}
			for i, g := range groups {
				if float64(g.Requests) != tt.want.groups[g.Key] {
					t.Errorf("group %q requests = %d, want %v", g.Key, g.Requests, tt.want.groups[g.Key])
				}
				if tt.want.order != nil && g.Key != tt.want.order[i] {
					t.Errorf("group %d = %q, want %q (order %v)", i, g.Key, tt.want.order[i], tt.want.order)
				}
			}
		})
	}
	if _, _, err := s.SpendSummary(ctx, time.Time{}, time.Time{}, "colour"); err == nil {
		t.Error("unknown group-by accepted")
	}
}

func sameTotal(a, b SpendTotal) bool {
	ca, cb := a.CostUSD, b.CostUSD
	a.CostUSD, b.CostUSD = 0, 0
	return a == b && math.Abs(ca-cb) < 1e-9
}

// TestRollupMatchesLog checks that the rollup table and the per-request log agree on every dimension
// both can answer, after many batches.
func TestRollupMatchesLog(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	models := []string{"a", "b", "c"}
	for batch := range 10 {
		var rows []SpendRow
		for i := range 50 {
			n := batch*50 + i
			rows = append(rows, SpendRow{Time: base.Add(time.Duration(n) * 37 * time.Minute),
				Provider: fmt.Sprint("p", n%2), Model: models[n%3], KeyID: fmt.Sprint("k", n%4),
				InputTokens: int64(n), OutputTokens: 1, CostUSD: float64(n) / 1000, Status: 200})
		}
		if err := s.InsertSpend(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	for _, by := range []string{GroupDay, GroupModel, GroupProvider, GroupKey} {
		fromRollup, tr, err := s.SpendSummary(ctx, base, base.AddDate(0, 0, 30), by)
		if err != nil {
			t.Fatal(err)
		}
		// One millisecond off midnight forces the spend-log path.
		fromLog, tl, err := s.SpendSummary(ctx, base.Add(-time.Millisecond), base.AddDate(0, 0, 30), by)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTotal(tr, tl) || tr.Requests != 500 {
			t.Errorf("%s: rollup total %+v != log total %+v", by, tr, tl)
		}
		if len(fromRollup) != len(fromLog) {
			t.Fatalf("%s: %d rollup groups, %d log groups", by, len(fromRollup), len(fromLog))
		}
		for i := range fromRollup {
			if fromRollup[i].Key != fromLog[i].Key || !sameTotal(fromRollup[i].SpendTotal, fromLog[i].SpendTotal) {
				t.Errorf("%s: group %d rollup %+v != log %+v", by, i, fromRollup[i], fromLog[i])
			}
		}
	}
}

func TestDailySeriesAndToday(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC))
	s := openTest(t, WithClock(fc))
	ctx := context.Background()
	if err := s.InsertSpend(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	pts, err := s.DailySeries(ctx, 4, GroupNone)
	if err != nil {
		t.Fatal(err)
	}
	wantDays := []string{"2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"}
	wantReq := []int64{0, 2, 3, 1}
	if len(pts) != 4 {
		t.Fatalf("DailySeries = %+v, want 4 points", pts)
	}
	for i, p := range pts {
		if p.Day != wantDays[i] || p.Requests != wantReq[i] || p.Key != "" {
			t.Errorf("point %d = %+v, want day %s requests %d", i, p, wantDays[i], wantReq[i])
		}
	}
	if pts[1].Tokens != 3300 {
		t.Errorf("tokens on 03-08 = %d, want 3300", pts[1].Tokens)
	}
	byProv, err := s.DailySeries(ctx, 2, GroupProvider)
	if err != nil {
		t.Fatal(err)
	}
	// Three providers appear in the window (anthropic, gemini on the 9th, openai on the 10th): every
	// series gets both days.
	if len(byProv) != 6 {
		t.Fatalf("DailySeries by provider = %+v, want 3 series x 2 days", byProv)
	}
	if p := byProv[0]; p.Day != "2026-03-09" || p.Key != "anthropic" || p.Requests != 1 {
		t.Errorf("first point = %+v", p)
	}
	if p := byProv[3]; p.Day != "2026-03-10" || p.Key != "anthropic" || p.Requests != 0 {
		t.Errorf("zero-filled point = %+v", p)
	}
	if _, err := s.DailySeries(ctx, 3, GroupDay); err == nil {
		t.Error("DailySeries by day accepted")
	}
	if n, err := s.RequestsToday(ctx); err != nil || n != 1 {
		t.Errorf("RequestsToday = %d, %v; want 1", n, err)
	}
	fc.Set(time.Date(2026, 3, 9, 23, 59, 0, 0, time.UTC))
	if usd, err := s.SpendToday(ctx); err != nil || math.Abs(usd-0.07) > 1e-9 {
		t.Errorf("SpendToday = %v, %v; want 0.07", usd, err)
	}
}

func TestRecentRequestsAndPrune(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	rows := fixture()
	if err := s.InsertSpend(ctx, rows); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecentRequests(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].RequestID != "r6" || got[1].RequestID != "r5" {
		t.Fatalf("RecentRequests = %+v", got)
	}
	if r := got[0]; r.PriceKnown || r.LatencyMS != 900 || r.TTFBMS != 100 || !r.Time.Equal(rows[5].Time) || r.CredentialID != "c2" {
		t.Errorf("row did not round-trip: %+v", r)
	}
	if r := got[1]; r.ErrorClass != "rate_limited" || r.Status != 429 {
		t.Errorf("row did not round-trip: %+v", r)
	}
	n, err := s.PruneSpendLog(ctx, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 2 {
		t.Fatalf("PruneSpendLog = %d, %v; want 2", n, err)
	}
	// Rollups survive pruning.
	_, total, err := s.SpendSummary(ctx, time.Time{}, time.Time{}, GroupNone)
	if err != nil || total.Requests != 6 {
		t.Fatalf("total after prune = %+v, %v; want 6 requests", total, err)
	}
}

func BenchmarkInsertSpend(b *testing.B) {
	s, err := Open(b.TempDir()+"/bench.db", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	batch := make([]SpendRow, 512)
	now := time.Now()
	for i := range batch {
		batch[i] = SpendRow{Time: now, RequestID: fmt.Sprint("req-", i), Provider: "anthropic",
			Model: "claude-sonnet-4-5", KeyID: fmt.Sprint("k", i%8), InputTokens: 1200, OutputTokens: 300,
			CostUSD: 0.0081, PriceKnown: true, Status: 200, LatencyMS: 1400}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.InsertSpend(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "rows/s")
}
