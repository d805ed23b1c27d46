package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
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

// TestInsertSpendIsAllOrNothing stops a batch between its statements (41 rows: 32, then 8, then 1) and
// checks that neither the rows the first statement wrote nor any rollup stays.
func TestInsertSpendIsAllOrNothing(t *testing.T) {
	s := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	rows := spendBatch("r", 41)
	calls := 0
	err := s.w.transaction(ctx, func(tx *writeTx) error {
		return spendInsert.insert(tx, len(rows), func(b *binder, i int) {
			if i == 32 {
				cancel() // while binding the second statement, after the first one ran
			}
			calls++
			r := &rows[i]
			b.int(unixMilli(r.Time))
			for _, v := range []string{r.RequestID, r.KeyID, r.CredentialID, r.Provider, r.Model, r.Route} {
				b.text(v)
			}
			for range 10 {
				b.int(0)
			}
			b.text("")
			b.int(0)
		})
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("insert = %v, want context.Canceled", err)
	}
	if calls < 33 {
		t.Fatalf("the batch stopped after %d rows, before its second statement", calls)
	}
	if n, err := s.CountSpend(context.Background()); err != nil || n != 0 {
		t.Fatalf("CountSpend = %d, %v; want 0: the first statement's rows must be rolled back", n, err)
	}
	// The connection is usable afterwards.
	if err := s.InsertSpend(context.Background(), spendBatch("after", 41)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountSpend(context.Background()); err != nil || n != 41 {
		t.Fatalf("CountSpend = %d, %v; want 41", n, err)
	}
}

// TestInsertSpendWaitsForTheWriteLock holds the write lock on another connection: InsertSpend waits up
// to the busy timeout, fails with SQLite's "locked" error and writes nothing, and succeeds once the
// lock is released.
func TestInsertSpendWaitsForTheWriteLock(t *testing.T) {
	s := openTest(t, WithBusyTimeout(50*time.Millisecond))
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock): takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	err = s.InsertSpend(ctx, spendBatch("r", 3))
	var se interface{ Code() int }
	if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("InsertSpend under another writer's lock = %v, want SQLITE_BUSY", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertSpend(ctx, spendBatch("r", 3)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountSpend(ctx); err != nil || n != 3 {
		t.Fatalf("CountSpend = %d, %v; want 3", n, err)
	}
}

// TestInsertSpendAfterClose fails with an error instead of touching a closed connection.
func TestInsertSpendAfterClose(t *testing.T) {
	s := openTest(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertSpend(context.Background(), spendBatch("r", 2)); !errors.Is(err, errClosedWriteConn) {
		t.Fatalf("InsertSpend after Close = %v, want errClosedWriteConn", err)
	}
}

// TestInsertSpendTextAndNumbers round-trips text that is empty, long, non-ASCII and contains NUL bytes,
// and numbers at their limits, through the write connection's bindings.
func TestInsertSpendTextAndNumbers(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	long := strings.Repeat("x\u00e9\x00", 20000) // longer than the first text buffer
	row := SpendRow{Time: time.UnixMilli(1 << 53).UTC(), RequestID: "req\x00nul", KeyID: "", CredentialID: long,
		Provider: "gemini", Model: "模型-é", Route: "gemini-generate", InputTokens: math.MaxInt64,
		OutputTokens: -1, CostUSD: 1e-12, PriceKnown: true, Status: 599, ErrorClass: "upstream_error", CacheHit: true}
	if err := s.InsertSpend(ctx, []SpendRow{row}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecentRequests(ctx, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("RecentRequests = %v, %v", got, err)
	}
	if got[0] != row {
		t.Fatalf("read back %+v\nwant %+v", got[0], row)
	}
}

// TestConcurrentWritesShareStatements runs writers on several goroutines at once: the write connection
// serialises their transactions, and every batch lands whole.
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
