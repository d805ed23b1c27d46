package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

func TestDemoSeedsTheStore(t *testing.T) {
	dir := t.TempDir()
	cfg, err := SeedDemoVolume(dir, desktopNow, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "127.0.0.1" || cfg.Port <= 0 || cfg.Port == 8317 {
		t.Fatalf("demo listens on %s:%d, want a free loopback port", cfg.Host, cfg.Port)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("demo config: %v", err)
	}
	st, err := store.Open(filepath.Join(dir, "cliproxy.db"), slog.New(slog.DiscardHandler),
		store.WithClock(clock.NewFake(desktopNow)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()

	if n, err := st.CountSpend(ctx); err != nil || n < 1000 {
		t.Fatalf("spend rows = %d, %v", n, err)
	}
	accounts, err := st.ListAccounts(ctx)
	if err != nil || len(accounts) != len(demoAccounts()) {
		t.Fatalf("accounts = %+v, %v", accounts, err)
	}
	keys, err := st.ListKeys(ctx)
	if err != nil || len(keys) != len(demoKeys) {
		t.Fatalf("keys = %+v, %v", keys, err)
	}
	revoked := 0
	for _, k := range keys {
		if k.RevokedAt != nil {
			revoked++
		}
		if k.BudgetUSD > 0 && k.SpentUSD <= 0 {
			t.Errorf("key %s has a budget but no spend", k.Name)
		}
	}
	if revoked != 1 {
		t.Fatalf("%d revoked keys, want 1", revoked)
	}
	samples, err := st.HealthSamples(ctx, "claude-code-demo", desktopNow.Add(-24*time.Hour), desktopNow)
	if err != nil || len(samples) < 100 {
		t.Fatalf("health samples = %d, %v", len(samples), err)
	}
	// The newest requests have bodies in the request log, and the log is on.
	if !cfg.RequestLog.Enable {
		t.Error("the demo's request log is off")
	}
	newest, err := st.RecentRequests(ctx, 1)
	if err != nil || len(newest) != 1 {
		t.Fatal(err)
	}
	l, err := store.OpenRequestLog(store.RequestLogPath(filepath.Join(dir, "cliproxy.db")), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entry, ok, err := l.FindRequestLog(ctx, newest[0].RequestID, 1000)
	if err != nil || !ok || !strings.Contains(entry.RequestBody, `"model":"`+newest[0].Model+`"`) || !json.Valid([]byte(entry.RequestBody)) {
		t.Fatalf("request log entry of %s = %+v, %v, %v", newest[0].RequestID, entry, ok, err)
	}

	for _, days := range []int{7, 30, 90} {
		for _, by := range []string{store.GroupProvider, store.GroupModel, store.GroupKey} {
			points, err := st.DailySeries(ctx, days, by)
			if err != nil {
				t.Fatal(err)
			}
			var total float64
			for _, p := range points {
				total += p.CostUSD
			}
			if len(points) < days || total <= 0 {
				t.Fatalf("DailySeries(%d, %s): %d points, $%.2f", days, by, len(points), total)
			}
		}
	}
	// Weekdays are busier than weekends: compare the last full week's Wednesday and Sunday.
	daily, err := st.DailySeries(ctx, 7, store.GroupNone)
	if err != nil {
		t.Fatal(err)
	}
	var weekday, weekend float64
	for _, p := range daily {
		d, _ := time.Parse(time.DateOnly, p.Day)
		switch d.Weekday() {
		case time.Wednesday:
			weekday = p.CostUSD
		case time.Sunday:
			weekend = p.CostUSD
		}
	}
	if weekday <= weekend {
		t.Fatalf("Wednesday $%.2f not above Sunday $%.2f", weekday, weekend)
	}
}

// desktopNow is the fixed time of the demo seeding tests.
var desktopNow = time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)
