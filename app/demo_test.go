package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/store"
	"github.com/cliproxy/cliproxy/ui"
)

func TestDemoSeedsTheStore(t *testing.T) {
	dir := t.TempDir()
	cfg, err := seedDemo(dir, desktopNow, 0.05)
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

func TestDesktopOverRealDemoCore(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	t.Setenv("CLIPROXY_CONFIG", "")
	dir := t.TempDir()
	now := time.Now()
	cfg, err := seedDemo(dir, now, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	core, err := OpenCore(CoreOptions{DataDir: dir, Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := core.Start(context.Background()); err != nil {
		core.Close(context.Background())
		t.Fatal(err)
	}
	DemoHealth(core.Server().Router(), now)
	d := NewDesktop(core, DesktopOptions{Autostart: &fakeAutostart{}})
	defer d.Quit()

	s := d.Status()
	if !s.Running || s.Paused || s.Port != cfg.Port || s.MaskedKey == "" || s.MaskedKey == d.ClientKey() {
		t.Fatalf("Status = %+v", s)
	}
	if len(d.Accounts()) != len(demoAccounts()) {
		t.Fatalf("Accounts = %+v", d.Accounts())
	}
	states := map[ui.State]bool{}
	for _, h := range d.Health() {
		states[h.State] = true
	}
	for _, want := range []ui.State{ui.StateHealthy, ui.StateDegraded, ui.StateCooldown, ui.StateError} {
		if !states[want] {
			t.Errorf("the demo health shows no %s row: %+v", want, d.Health())
		}
	}
	if len(d.Keys()) != len(demoKeys) || len(d.SpendByModel(30)) == 0 || len(d.SpendDaily(90)) != 90 {
		t.Fatalf("keys %d, models %d, days %d", len(d.Keys()), len(d.SpendByModel(30)), len(d.SpendDaily(90)))
	}
	if len(d.RecentRequests(50)) != 50 {
		t.Fatalf("the Logs tab was not seeded from the store: %d rows", len(d.RecentRequests(50)))
	}
	var perMinute float64
	for _, p := range d.RequestsPerMinute(60) {
		perMinute += p.Value
	}
	if perMinute == 0 {
		t.Fatal("the traffic chart was not seeded from the store")
	}
	if len(d.Providers()) == 0 {
		t.Fatal("no login providers")
	}

	d.Pause()
	if !d.Status().Paused {
		t.Fatal("Pause did not pause the core")
	}
	d.Resume()
	d.Quit()
	if _, ok := <-d.Events(); ok {
		// Events may still hold batches from before Quit; drain them.
		for range d.Events() {
		}
	}
}
