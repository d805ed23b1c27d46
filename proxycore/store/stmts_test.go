package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// spendBatch returns n distinct spend rows.
func spendBatch(prefix string, n int) []SpendRow {
	rows := make([]SpendRow, n)
	for i := range rows {
		rows[i] = SpendRow{Time: time.Date(2026, 3, 9, 10, 0, i, 0, time.UTC), RequestID: fmt.Sprint(prefix, i),
			KeyID: "k", Provider: "openai", Model: "gpt-4o", InputTokens: int64(i), OutputTokens: 1, CostUSD: 0.5,
			PriceKnown: true, Status: 200}
	}
	return rows
}

// TestInsertSpendEveryBatchSize writes batches that use each multi-row statement and their mixes, and
// checks that every row lands once with its own values.
func TestInsertSpendEveryBatchSize(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	total := 0
	for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 41, 100} {
		if err := s.InsertSpend(ctx, spendBatch(fmt.Sprint("b", n, "-"), n)); err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
		total += n
	}
	got, err := s.RecentRequests(ctx, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("%d rows written, want %d", len(got), total)
	}
	seen := map[string]bool{}
	for _, r := range got {
		var batch, i int
		if _, err := fmt.Sscanf(r.RequestID, "b%d-%d", &batch, &i); err != nil || seen[r.RequestID] || r.InputTokens != int64(i) {
			t.Fatalf("row %+v: duplicated or with another row's values", r)
		}
		seen[r.RequestID] = true
	}
	_, sum, err := s.SpendSummary(ctx, time.Time{}, time.Time{}, GroupNone)
	if err != nil || sum.Requests != int64(total) || sum.CostUSD != 0.5*float64(total) {
		t.Fatalf("rollup = %+v, %v; want %d requests", sum, err, total)
	}
}

// TestWritesWithoutPreparedStatements covers a Store whose statements were not prepared (or were
// closed): the writes prepare them in their transaction instead.
func TestWritesWithoutPreparedStatements(t *testing.T) {
	s := openTest(t)
	s.stmts.close()
	ctx := context.Background()
	if err := s.InsertSpend(ctx, spendBatch("r", 41)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountSpend(ctx); err != nil || n != 41 {
		t.Fatalf("CountSpend = %d, %v; want 41", n, err)
	}
}

// TestConcurrentWritesShareStatements runs writers on several connections at once: each binds the
// prepared statements to its own transaction.
func TestConcurrentWritesShareStatements(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				errs <- s.InsertSpend(ctx, spendBatch(fmt.Sprint("g", g, "-", j, "-"), 20))
			}
		}()
	}
	go func() { wg.Wait(); close(errs) }()
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CountSpend(ctx); err != nil || n != 4*5*20 {
		t.Fatalf("CountSpend = %d, %v; want %d", n, err, 4*5*20)
	}
}
