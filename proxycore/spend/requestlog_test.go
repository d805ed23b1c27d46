package spend

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

func TestRequestLogWritesEverythingOnClose(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "log.db"), nil)
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
	rows, err := st.RecentRequestLog(context.Background(), 100)
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
