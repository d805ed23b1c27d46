package ui

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// TestMain isolates Fyne from the developer's home and locale.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cliproxy-ui-test-")
	if err != nil {
		panic(err)
	}
	for k, v := range map[string]string{
		"HOME":            dir,
		"XDG_CONFIG_HOME": filepath.Join(dir, "config"),
		"XDG_CACHE_HOME":  filepath.Join(dir, "cache"),
		"XDG_DATA_HOME":   filepath.Join(dir, "data"),
		"LANG":            "en_US.UTF-8",
		"LC_ALL":          "en_US.UTF-8",
	} {
		os.Setenv(k, v)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// harness is a UI on the test driver whose background work runs inline, so taps complete before
// they return and the race detector sees one goroutine.
type harness struct {
	t    *testing.T
	app  fyne.App
	ui   *UI
	demo *Demo

	mu   sync.Mutex // guards sent
	sent []*fyne.Notification
}

func newHarness(t *testing.T, b Backend, demo *Demo) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	// The light theme (not the test theme) so golden images look like the app; set before New because
	// widgets read theme colours when they are built.
	test.ApplyTheme(t, theme.LightTheme())
	u, err := New(a, b, Options{Now: demoNow, ShowWindow: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, app: a, ui: u, demo: demo}
	u.async = func(f func()) { f() }
	u.send = func(n *fyne.Notification) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.sent = append(h.sent, n)
	}
	u.refresh(partAll)
	return h
}

func newDemoHarness(t *testing.T) *harness {
	d := DemoBackend()
	return newHarness(t, d, d)
}

func (h *harness) notifications() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.sent))
	for i, n := range h.sent {
		out[i] = n.Title
	}
	return out
}

// emptyBackend is a fresh install: no accounts, keys, traffic or spend.
type emptyBackend struct{ *Demo }

func (emptyBackend) Accounts() []AccountView          { return nil }
func (emptyBackend) Health() []HealthView             { return nil }
func (emptyBackend) Keys() []KeyView                  { return nil }
func (emptyBackend) RequestsPerMinute(int) []Point    { return nil }
func (emptyBackend) LatencyP95PerMinute(int) []Point  { return nil }
func (emptyBackend) RecentRequests(int) []RequestView { return nil }
func (emptyBackend) RequestBodies(string) (RequestBodies, error) {
	return RequestBodies{}, nil
}
func (emptyBackend) SpendDaily(int) []SpendDay     { return nil }
func (emptyBackend) SpendByModel(int) []SpendShare { return nil }
func (emptyBackend) SpendByKey(int) []SpendShare   { return nil }
func (e emptyBackend) Status() StatusView {
	s := e.Demo.Status()
	s.RequestsToday, s.SpendToday = 0, 0
	return s
}
