package spend

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

// memSink records every batch it accepts. fail, when set, decides per call whether to refuse it.
type memSink struct {
	mu      sync.Mutex
	rows    []Record
	batches []int
	calls   int
	fail    func(call int) error
	block   chan struct{} // when non-nil, each write waits for a receive-able value or ctx end
	entered chan struct{} // when non-nil, signalled at the start of each write
}

func (s *memSink) WriteSpend(ctx context.Context, recs []Record) error {
	if s.entered != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
	}
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		if err := s.fail(s.calls); err != nil {
			return err
		}
	}
	s.rows = append(s.rows, recs...)
	s.batches = append(s.batches, len(recs))
	return nil
}

func (s *memSink) snapshot() (rows []Record, batches []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.rows...), append([]int(nil), s.batches...)
}

// waitFor polls cond until it holds, failing the test after a generous deadline. It waits on a
// condition; it never asserts on elapsed time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func newTestWriter(t *testing.T, sink Sink, opts WriterOptions) *Writer {
	t.Helper()
	w, err := NewWriter(sink, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

func rec(i int) Record {
	return Record{RequestID: fmt.Sprint("r", i), Model: "m", Time: time.Unix(int64(i), 0)}
}

func TestWriterFlushesOnBatchSize(t *testing.T) {
	sink := &memSink{}
	w := newTestWriter(t, sink, WriterOptions{FlushInterval: time.Hour, BatchSize: 10})
	for i := range 25 {
		if !w.Add(rec(i)) {
			t.Fatalf("Add(%d) refused", i)
		}
	}
	waitFor(t, "two full batches", func() bool { return w.Flushed() == 20 })
	waitFor(t, "queue depth 5", func() bool { return w.QueueDepth() == 5 })
	_, batches := sink.snapshot()
	if len(batches) != 2 || batches[0] != 10 || batches[1] != 10 {
		t.Fatalf("batches = %v, want [10 10]", batches)
	}
}

func TestWriterFlushesOnInterval(t *testing.T) {
	sink := &memSink{}
	w := newTestWriter(t, sink, WriterOptions{FlushInterval: 5 * time.Millisecond})
	for i := range 3 {
		w.Add(rec(i))
	}
	waitFor(t, "the interval flush", func() bool { return w.Flushed() == 3 })
	rows, _ := sink.snapshot()
	for i, r := range rows {
		if r.RequestID != fmt.Sprint("r", i) {
			t.Fatalf("rows out of order: %v", rows)
		}
	}
	if w.QueueDepth() != 0 || w.Dropped() != 0 {
		t.Fatalf("depth %d dropped %d, want 0 0", w.QueueDepth(), w.Dropped())
	}
}

func TestWriterDropsWhenFullWithoutBlocking(t *testing.T) {
	sink := &memSink{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	w := newTestWriter(t, sink, WriterOptions{FlushInterval: time.Hour, BatchSize: 1, QueueSize: 4})
	w.Add(rec(0))
	<-sink.entered // the loop holds record 0 inside the blocked sink
	for i := 1; i <= 4; i++ {
		if !w.Add(rec(i)) {
			t.Fatalf("Add(%d) refused with room in the queue", i)
		}
	}
	if w.Add(rec(5)) {
		t.Fatal("Add accepted a record beyond QueueSize")
	}
	if w.Dropped() != 1 || w.QueueDepth() != 5 {
		t.Fatalf("dropped %d depth %d, want 1 and 5", w.Dropped(), w.QueueDepth())
	}
	close(sink.block)
	waitFor(t, "the backlog", func() bool { return w.Flushed() == 5 })
}

func TestWriterRetriesFailedFlush(t *testing.T) {
	sink := &memSink{fail: func(call int) error {
		if call <= 2 {
			return errors.New("database is locked")
		}
		return nil
	}}
	w := newTestWriter(t, sink, WriterOptions{FlushInterval: time.Millisecond, BatchSize: 100})
	for i := range 7 {
		w.Add(rec(i))
	}
	waitFor(t, "the retried flush", func() bool { return w.Flushed() == 7 })
	rows, _ := sink.snapshot()
	if len(rows) != 7 || w.FailedFlushes() != 2 || w.Dropped() != 0 {
		t.Fatalf("rows %d failed %d dropped %d, want 7 2 0", len(rows), w.FailedFlushes(), w.Dropped())
	}
}

func TestWriterGivesUpAfterMaxAttempts(t *testing.T) {
	sink := &memSink{fail: func(int) error { return errors.New("disk full") }}
	w := newTestWriter(t, sink, WriterOptions{FlushInterval: time.Millisecond, MaxAttempts: 3})
	for i := range 4 {
		w.Add(rec(i))
	}
	waitFor(t, "the batch to be dropped", func() bool { return w.Dropped() == 4 })
	// The four rows may leave in one batch or in several (the flush timer can fire between two Adds);
	// either way every batch is tried exactly MaxAttempts times and nothing is written.
	if f := w.FailedFlushes(); f == 0 || f%3 != 0 || f > 4*3 || w.Flushed() != 0 || w.QueueDepth() != 0 {
		t.Fatalf("failed %d flushed %d depth %d, want a multiple of 3 failures, 0 flushed, 0 queued", f, w.Flushed(), w.QueueDepth())
	}
}

func TestWriterCloseFlushesEverything(t *testing.T) {
	sink := &memSink{}
	w, err := NewWriter(sink, WriterOptions{FlushInterval: time.Hour, BatchSize: 512}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 250 {
				if w.Add(rec(g*1000 + i)) {
					accepted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, batches := sink.snapshot()
	if int64(len(rows)) != accepted.Load() || accepted.Load() != 2000 || w.Flushed() != 2000 {
		t.Fatalf("wrote %d of %d accepted (flushed %d)", len(rows), accepted.Load(), w.Flushed())
	}
	for _, b := range batches {
		if b > 512 {
			t.Fatalf("batch of %d exceeds BatchSize", b)
		}
	}
	if w.Add(rec(1)) {
		t.Fatal("Add after Close accepted a record")
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWriterCloseGivesUpOnHungSink(t *testing.T) {
	sink := &memSink{block: make(chan struct{})} // never released; honours ctx
	w, err := NewWriter(sink, WriterOptions{FlushInterval: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		w.Add(rec(i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	if w.Dropped() != 3 || w.Flushed() != 0 {
		t.Fatalf("dropped %d flushed %d, want 3 0", w.Dropped(), w.Flushed())
	}
}

func TestWriterIntoStore(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "spend.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := NewWriter(st, WriterOptions{FlushInterval: 5 * time.Millisecond, BatchSize: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	for i := range 300 {
		w.Add(Record{Time: now, Provider: "openai", Model: "gpt-5", CostUSD: 0.01, InputTokens: 10})
		_ = i
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, total, err := st.SpendSummary(context.Background(), time.Time{}, time.Time{}, store.GroupNone)
	if err != nil {
		t.Fatal(err)
	}
	if total.Requests != 300 || total.InputTokens != 3000 {
		t.Fatalf("store total = %+v, want 300 requests", total)
	}
}

func TestNewWriterNeedsSink(t *testing.T) {
	if _, err := NewWriter(nil, WriterOptions{}, nil); err == nil {
		t.Fatal("NewWriter(nil) succeeded")
	}
}

// BenchmarkWriter measures sustained throughput into a real SQLite file: Add from the benchmark
// goroutine, then Close, which waits until every row is on disk.
func BenchmarkWriter(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	w, err := NewWriter(st, WriterOptions{FlushInterval: 50 * time.Millisecond}, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := Record{Time: time.Now(), RequestID: "req-0123456789", Provider: "anthropic", Model: "claude-sonnet-4-5",
		KeyID: "key_1", CredentialID: "cc-1", Route: "claude-messages", InputTokens: 1200, OutputTokens: 300,
		CostUSD: 0.0081, PriceKnown: true, Status: 200, LatencyMS: 1400, TTFBMS: 300}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for !w.Add(r) {
			// Queue full: the benchmark measures what the writer sustains, so wait for room.
			time.Sleep(100 * time.Microsecond)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if w.Flushed() != uint64(b.N) {
		b.Fatalf("flushed %d of %d", w.Flushed(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestWriterFlushWritesWhatIsQueued(t *testing.T) {
	sink := &memSink{}
	w := newTestWriter(t, sink, WriterOptions{FlushInterval: time.Hour, BatchSize: 4})
	for i := range 10 {
		w.Add(rec(i))
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, batches := sink.snapshot()
	if len(rows) != 10 || w.QueueDepth() != 0 {
		t.Fatalf("after Flush: %d rows written, depth %d (batches %v)", len(rows), w.QueueDepth(), batches)
	}
	for _, b := range batches {
		if b > 4 {
			t.Fatalf("batch of %d exceeds BatchSize: %v", b, batches)
		}
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush with nothing queued: %v", err)
	}
}
