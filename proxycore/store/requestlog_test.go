package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

func openLogTest(t *testing.T, opts ...Option) *RequestLogDB {
	t.Helper()
	l, err := OpenRequestLog(filepath.Join(t.TempDir(), "db", "cliproxy-requests.db"), nil, opts...)
	if err != nil {
		t.Fatalf("OpenRequestLog: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestRequestLogPath(t *testing.T) {
	for in, want := range map[string]string{
		"/data/cliproxy/cliproxy.db": "/data/cliproxy/cliproxy-requests.db",
		"/srv/team.sqlite":           "/srv/team-requests.sqlite",
		"spend":                      "spend-requests",
	} {
		if got := RequestLogPath(in); got != want {
			t.Errorf("RequestLogPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRequestLogFile checks the file's settings: a new file has 32 KiB pages and WAL, and reopening
// an existing one keeps its rows.
func TestRequestLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cliproxy-requests.db")
	l, err := OpenRequestLog(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var pageSize int
	var mode string
	if err := l.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil || pageSize != 32<<10 {
		t.Errorf("page_size = %d, %v; want 32768", pageSize, err)
	}
	if err := l.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := l.InsertRequestLog(ctx, []RequestLogRow{{Time: time.Now(), RequestID: "kept"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = OpenRequestLog(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, err := l.RecentRequestLog(ctx, 10, 0)
	if err != nil || len(got) != 1 || got[0].RequestID != "kept" {
		t.Fatalf("after reopening: %+v, %v; want the row written before", got, err)
	}
}

func TestRequestLogOpenErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "garbage-requests.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenRequestLog(path, nil)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a valid SQLite database") {
		t.Fatalf("OpenRequestLog on a non-database = %v, want an error naming the file and the remedy", err)
	}
}

// TestInsertRequestLogEveryBatchSize writes batches that use each multi-row statement and their mixes,
// and checks that every row lands once, with its own values, in order.
func TestInsertRequestLogEveryBatchSize(t *testing.T) {
	l := openLogTest(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	var want []string
	for _, n := range []int{1, 3, 4, 5, 16, 17, 21, 40} {
		rows := make([]RequestLogRow, n)
		for i := range rows {
			id := fmt.Sprint("b", n, "-", i)
			rows[i] = RequestLogRow{Time: base.Add(time.Duration(len(want)) * time.Millisecond), RequestID: id, Method: "POST",
				Path: "/v1/" + id, Status: 200 + i, RequestBody: "req " + id, ResponseBody: "resp " + id, LatencyMS: int64(i)}
			want = append(want, id)
		}
		if err := l.InsertRequestLog(ctx, rows); err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
	}
	got, err := l.RecentRequestLog(ctx, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows written, want %d", len(got), len(want))
	}
	for i, r := range got {
		id := want[len(want)-1-i] // newest first
		var n, j int
		fmt.Sscanf(id, "b%d-%d", &n, &j)
		if r.RequestID != id || r.Path != "/v1/"+id || r.RequestBody != "req "+id || r.ResponseBody != "resp "+id ||
			r.Status != 200+j || r.LatencyMS != int64(j) {
			t.Fatalf("row %d = %+v, want request %s with its own values", i, r, id)
		}
	}
}

// TestRecentRequestLogPages reads the log back in pages with beforeID.
func TestRecentRequestLogPages(t *testing.T) {
	l := openLogTest(t)
	ctx := context.Background()
	rows := make([]RequestLogRow, 25)
	for i := range rows {
		rows[i] = RequestLogRow{Time: time.Now(), RequestID: fmt.Sprint("r", i)}
	}
	if err := l.InsertRequestLog(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var seen []string
	var before int64
	for {
		page, err := l.RecentRequestLog(ctx, 10, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			seen = append(seen, r.RequestID)
		}
		before = page[len(page)-1].ID
	}
	if len(seen) != 25 || seen[0] != "r24" || seen[24] != "r0" {
		t.Fatalf("paged through %v; want r24 down to r0, each once", seen)
	}
}

func TestRequestLogPrunedByRetention(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	l := openLogTest(t, WithClock(fc))
	ctx := context.Background()
	now := fc.Now()
	rows := []RequestLogRow{
		{Time: now.Add(-10 * 24 * time.Hour), RequestID: "old", Method: "POST", Path: "/v1/messages", Status: 200},
		{Time: now.Add(-8 * 24 * time.Hour), RequestID: "older-than-7d", Status: 500},
		{Time: now.Add(-6 * 24 * time.Hour), RequestID: "kept", Status: 200, RequestBody: `{"k":"sk-...abcd"}`},
		{Time: now, RequestID: "new", Method: "GET", Path: "/v1/models", Status: 200, LatencyMS: 12},
	}
	if err := l.InsertRequestLog(ctx, rows); err != nil {
		t.Fatal(err)
	}
	n, err := l.PruneRequestLog(ctx, 7)
	if err != nil || n != 2 {
		t.Fatalf("PruneRequestLog = %d, %v; want 2", n, err)
	}
	got, err := l.RecentRequestLog(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].RequestID != "new" || got[1].RequestID != "kept" {
		t.Fatalf("RecentRequestLog = %+v, want new then kept", got)
	}
	if got[0].Path != "/v1/models" || got[0].LatencyMS != 12 || !got[0].Time.Equal(now) {
		t.Errorf("row did not round-trip: %+v", got[0])
	}
	// Everything older: the log empties.
	fc.Advance(30 * 24 * time.Hour)
	if n, err := l.PruneRequestLog(ctx, 7); err != nil || n != 2 {
		t.Errorf("PruneRequestLog after 30 days = %d, %v; want the 2 left", n, err)
	}
	if n, err := l.PruneRequestLog(ctx, 0); err != nil || n != 0 {
		t.Errorf("PruneRequestLog(0) = %d, %v; want a no-op", n, err)
	}
}

// TestMoveRequestLog moves the request log an earlier version kept in the main database into the file
// of its own: every row, in order, with its values; the old table is gone and a second move is a no-op.
func TestMoveRequestLog(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	const n = 600 // more than one chunk
	for i := range n {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO request_log (ts, request_id, method, path, status,
			request_body, response_body, latency_ms) VALUES (?,?,?,?,?,?,?,?)`, unixMilli(base.Add(time.Duration(i)*time.Second)),
			fmt.Sprint("old-", i), "POST", "/v1/messages", 200, fmt.Sprint("req ", i), fmt.Sprint("resp ", i), i); err != nil {
			t.Fatal(err)
		}
	}
	l := openLogTest(t)
	moved, err := s.MoveRequestLog(ctx, l)
	if err != nil || moved != n {
		t.Fatalf("MoveRequestLog = %d, %v; want %d", moved, err, n)
	}
	got, err := l.RecentRequestLog(ctx, 1000, 0)
	if err != nil || len(got) != n {
		t.Fatalf("%d rows in the new file, %v; want %d", len(got), err, n)
	}
	for k, r := range got {
		i := n - 1 - k
		if r.RequestID != fmt.Sprint("old-", i) || r.RequestBody != fmt.Sprint("req ", i) || r.ResponseBody != fmt.Sprint("resp ", i) ||
			r.LatencyMS != int64(i) || r.Status != 200 || !r.Time.Equal(base.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("row %d = %+v, want old-%d with its values", k, r, i)
		}
	}
	var tables int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'request_log'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("old table still there (%d, %v)", tables, err)
	}
	if moved, err := s.MoveRequestLog(ctx, l); err != nil || moved != 0 {
		t.Fatalf("second MoveRequestLog = %d, %v; want a no-op", moved, err)
	}
}

// BenchmarkInsertRequestLog writes request-log rows the size a 1 KB chat request leaves (the masked
// request and response bodies), in batches of 250 like a busy proxy's: bodies that differ from their
// first byte (each stored whole), and bodies that share their start like a conversation's turns.
func BenchmarkInsertRequestLog(b *testing.B) {
	for _, shared := range []bool{false, true} {
		name := "bodies=unrelated"
		if shared {
			name = "bodies=shared-start"
		}
		b.Run(name, func(b *testing.B) {
			l, err := OpenRequestLog(b.TempDir()+"/bench-requests.db", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			ctx := context.Background()
			reqBody := strings.Repeat("Answer briefly and cite the section you used. ", 24)
			respBody := strings.Repeat("the proxy routes requests across accounts. ", 12)
			batch := make([]RequestLogRow, 250)
			now := time.Now()
			n := 0
			fill := func() {
				for i := range batch {
					body := fmt.Sprint(n, " ", reqBody)
					if shared {
						body = reqBody + fmt.Sprint(n)
					}
					n++
					batch[i] = RequestLogRow{Time: now, RequestID: fmt.Sprint("req-", i), Method: "POST",
						Path: "/v1/chat/completions", Status: 200, RequestBody: body, ResponseBody: respBody, LatencyMS: 840}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				fill() // about 0.3 us a row, the same for both
				if err := l.InsertRequestLog(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/row")
		})
	}
}
