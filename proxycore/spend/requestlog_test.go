package spend

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

func TestRequestLogWritesEverythingOnClose(t *testing.T) {
	st, err := store.OpenRequestLog(filepath.Join(t.TempDir(), "log-requests.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := NewRequestLog(st, WriterOptions{FlushInterval: time.Hour, BatchSize: 7}, nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < 20; i++ {
		l.LogRequest(store.RequestLogRow{Time: now.Add(time.Duration(i) * time.Second), RequestID: "r", Method: "POST", Path: "/v1/messages", Status: 200})
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := st.RecentRequestLog(context.Background(), 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 20 || l.Dropped() != 0 {
		t.Fatalf("%d rows written, %d dropped; want 20 and 0", len(rows), l.Dropped())
	}
	l.LogRequest(store.RequestLogRow{Time: now})
	if l.Dropped() != 1 {
		t.Errorf("a row logged after Close must be counted as dropped")
	}
}

// countingLogSink records the request-log batches it is given.
type countingLogSink struct {
	mu      sync.Mutex
	batches [][]store.RequestLogRow
	written chan int // when set, receives the size of every batch written
}

func (s *countingLogSink) InsertRequestLog(_ context.Context, rows []store.RequestLogRow) error {
	s.mu.Lock()
	s.batches = append(s.batches, append([]store.RequestLogRow(nil), rows...))
	s.mu.Unlock()
	if s.written != nil {
		s.written <- len(rows)
	}
	return nil
}

func (s *countingLogSink) rows() []store.RequestLogRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.RequestLogRow
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func TestRequestLogFlushWritesQueuedRowsAndFillsThemInTheWriter(t *testing.T) {
	sink := &countingLogSink{}
	l := NewRequestLog(sink, WriterOptions{FlushInterval: time.Hour}, nil)
	defer l.Close(context.Background())
	l.LogRequest(store.RequestLogRow{RequestID: "plain", RequestBody: "as given"})
	var filledBy atomic.Int64
	caller := goroutineMarker()
	l.LogRequestFunc(store.RequestLogRow{RequestID: "deferred"}, func(r *store.RequestLogRow) {
		if goroutineMarker() != caller {
			filledBy.Store(1)
		}
		r.RequestBody = "filled"
	})
	l.LogRequestFunc(store.RequestLogRow{RequestID: "broken"}, func(*store.RequestLogRow) { panic("boom") })
	if got := len(sink.rows()); got != 0 {
		t.Fatalf("%d rows written before the tick or a flush; want them queued", got)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := sink.rows()
	if len(rows) != 2 || rows[0].RequestBody != "as given" || rows[1].RequestID != "deferred" || rows[1].RequestBody != "filled" {
		t.Fatalf("rows after Flush = %+v; want the plain row and the filled one", rows)
	}
	if filledBy.Load() != 1 {
		t.Error("fill ran on the caller's goroutine, not the writer's")
	}
	if l.Dropped() != 1 {
		t.Errorf("Dropped = %d; want 1 (the row whose fill panicked)", l.Dropped())
	}
}

func TestRequestLogWritesAFullBatchBeforeTheTick(t *testing.T) {
	sink := &countingLogSink{written: make(chan int, 16)}
	l := NewRequestLog(sink, WriterOptions{FlushInterval: time.Hour, BatchSize: 4}, nil)
	defer l.Close(context.Background())
	for i := 0; i < 4; i++ {
		l.LogRequest(store.RequestLogRow{RequestID: "r"})
	}
	// The tick is an hour away: only the full-batch signal can get the rows written. A missing signal
	// hangs here and the test binary's timeout reports it.
	if n := <-sink.written; n != 4 {
		t.Fatalf("first batch written had %d rows, want the full batch of 4", n)
	}
}

// goroutineMarker identifies the calling goroutine by its stack's first line ("goroutine N [...]").
func goroutineMarker() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	if i := bytes.IndexByte(buf, '['); i > 0 {
		buf = buf[:i]
	}
	return string(buf)
}
