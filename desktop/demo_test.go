package desktop

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/app"
	"github.com/cliproxy/cliproxy/ui"
)

func TestDesktopOverRealDemoCore(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	t.Setenv("CLIPROXY_CONFIG", "")
	dir := t.TempDir()
	now := time.Now()
	cfg, err := app.SeedDemoVolume(dir, now, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	core, err := app.OpenCore(app.CoreOptions{DataDir: dir, Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := core.Start(context.Background()); err != nil {
		core.Close(context.Background())
		t.Fatal(err)
	}
	app.DemoHealth(core.Server().Router(), now)
	d := New(core, Options{Autostart: &fakeAutostart{}})
	defer d.Quit()

	s := d.Status()
	if !s.Running || s.Paused || s.Port != cfg.Port || s.MaskedKey == "" || s.MaskedKey == d.ClientKey() {
		t.Fatalf("Status = %+v", s)
	}
	if len(d.Accounts()) == 0 || len(d.Accounts()) != len(core.Accounts()) {
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
	if len(d.Keys()) == 0 || len(d.Keys()) != len(core.Keys().List()) || len(d.SpendByModel(30)) == 0 || len(d.SpendDaily(90)) != 90 {
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
