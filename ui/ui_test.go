package ui

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestNewRequiresAppAndBackend(t *testing.T) {
	if _, err := New(nil, DemoBackend(), Options{}); err == nil {
		t.Error("New accepted a nil app")
	}
	if _, err := New(test.NewTempApp(t), nil, Options{}); err == nil {
		t.Error("New accepted a nil backend")
	}
}

func TestTrayMenuItems(t *testing.T) {
	h := newDemoHarness(t)
	m := h.ui.tray.menu
	var labels []string
	for _, it := range m.Items {
		if !it.IsSeparator {
			labels = append(labels, it.Label)
		}
	}
	want := []string{
		"Running on :8317 - 756 requests, $12.43 today",
		"Copy base URL", "Copy API key", "Open dashboard", "Log in to...",
		"Pause proxy", "Start at login", "Quit",
	}
	if !reflect.DeepEqual(labels, want) {
		t.Errorf("tray labels = %q, want %q", labels, want)
	}
	if !m.Items[0].Disabled {
		t.Error("status line is clickable")
	}
	last := m.Items[len(m.Items)-1]
	if !last.IsQuit {
		t.Error("last item is not marked IsQuit (Fyne would add a second Quit)")
	}
	var sub []string
	for _, it := range h.ui.tray.login.ChildMenu.Items {
		sub = append(sub, it.Label)
	}
	if want := []string{"Claude Code", "ChatGPT Codex", "GitHub Copilot", "Gemini CLI", "Kiro", "Qwen Code"}; !reflect.DeepEqual(sub, want) {
		t.Errorf("login submenu = %q, want %q", sub, want)
	}
	if h.ui.tray.autostart.Checked {
		t.Error("Start at login is checked although the setting is off")
	}
}

func TestTrayCopyItems(t *testing.T) {
	h := newDemoHarness(t)
	h.ui.tray.copyURL.Action()
	if got := h.app.Clipboard().Content(); got != "http://127.0.0.1:8317" {
		t.Errorf("clipboard after Copy base URL = %q", got)
	}
	h.ui.tray.copyKey.Action()
	if got := h.app.Clipboard().Content(); got != h.demo.ClientKey() {
		t.Errorf("clipboard after Copy API key = %q, want the real key", got)
	}
}

func TestTrayPauseResume(t *testing.T) {
	h := newDemoHarness(t)
	h.ui.tray.pause.Action()
	if !h.demo.Status().Paused {
		t.Fatal("Pause did not reach the backend")
	}
	if got := h.ui.tray.pause.Label; got != "Resume proxy" {
		t.Errorf("pause item label = %q, want Resume proxy", got)
	}
	if got := h.ui.tray.status.Label; got != "Paused on :8317" {
		t.Errorf("status line = %q", got)
	}
	h.ui.tray.pause.Action()
	if h.demo.Status().Paused {
		t.Fatal("Resume did not reach the backend")
	}
	if got := h.ui.tray.pause.Label; got != "Pause proxy" {
		t.Errorf("pause item label = %q, want Pause proxy", got)
	}
}

func TestTrayStartAtLogin(t *testing.T) {
	h := newDemoHarness(t)
	h.ui.tray.autostart.Action()
	if n := len(h.demo.applied); n != 1 || !h.demo.applied[0].StartAtLogin {
		t.Fatalf("ApplySettings calls = %+v, want one with StartAtLogin", h.demo.applied)
	}
	if !h.ui.tray.autostart.Checked {
		t.Error("Start at login not checked after enabling")
	}
	if !h.ui.settings.startAtLogin.Checked {
		t.Error("Settings tab not refreshed after tray toggle")
	}
	h.ui.tray.autostart.Action()
	if h.ui.tray.autostart.Checked || h.demo.applied[1].StartAtLogin {
		t.Error("second toggle did not turn Start at login off")
	}
}

func TestTrayLoginOpensDialog(t *testing.T) {
	h := newDemoHarness(t)
	h.ui.tray.login.ChildMenu.Items[2].Action() // GitHub Copilot, a device flow
	if h.ui.login == nil || h.ui.login.view.Provider != "copilot" {
		t.Fatalf("login dialog = %+v, want copilot", h.ui.login)
	}
}

func TestStatusLine(t *testing.T) {
	tests := []struct {
		name string
		in   StatusView
		want string
	}{
		{"running", StatusView{Running: true, Port: 8317, RequestsToday: 42, SpendToday: 1.234},
			"Running on :8317 - 42 requests, $1.23 today"},
		{"one request", StatusView{Running: true, Port: 8317, RequestsToday: 1}, "Running on :8317 - 1 request, $0.00 today"},
		{"many", StatusView{Running: true, Port: 9000, RequestsToday: 12500, SpendToday: 1500}, "Running on :9000 - 13k requests, $1.5k today"},
		{"paused", StatusView{Running: true, Paused: true, Port: 8317}, "Paused on :8317"},
		{"stopped", StatusView{}, "Stopped"},
		{"error", StatusView{LastError: "Port 8317 is in use: change it in Settings"}, "Error: Port 8317 is in use: change it in Settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusLine(tt.in); got != tt.want {
				t.Errorf("statusLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOverviewShowsProblem(t *testing.T) {
	h := newDemoHarness(t)
	if h.ui.overview.problem.Visible() {
		t.Fatal("problem banner visible without an error")
	}
	h.ui.overview.setStatus(StatusView{LastError: "Port 8317 is in use: change it in Settings"})
	if !h.ui.overview.problem.Visible() || !strings.Contains(h.ui.overview.problem.Text, "in use") {
		t.Error("problem banner does not show the error")
	}
}

func TestSettingsApply(t *testing.T) {
	h := newDemoHarness(t)
	s := h.ui.settings
	if s.port.Text != "8317" || s.strategy.Selected != "fill-first" || !s.healthAware.Checked {
		t.Fatalf("settings not loaded: port %q strategy %q", s.port.Text, s.strategy.Selected)
	}
	s.port.SetText("9000")
	s.strategy.SetSelected("least-busy")
	s.healthAware.SetChecked(false)
	// A refresh while editing must not undo the edits.
	h.ui.refresh(partSettings)
	if s.port.Text != "9000" {
		t.Fatalf("refresh overwrote the edited port: %q", s.port.Text)
	}
	test.Tap(s.apply)
	if len(h.demo.applied) != 1 {
		t.Fatalf("ApplySettings calls = %d, want 1", len(h.demo.applied))
	}
	got := h.demo.applied[0]
	if got.Port != 9000 || got.Strategy != "least-busy" || got.HealthAware || got.KeystoreBackend != "auto" {
		t.Errorf("ApplySettings(%+v)", got)
	}
	if s.result.Text != "Settings applied." {
		t.Errorf("result = %q", s.result.Text)
	}
	if h.ui.status.Port != 9000 || h.ui.tray.status.Label[:16] != "Running on :9000" {
		t.Errorf("status not refreshed after apply: %q", h.ui.tray.status.Label)
	}
}

func TestSettingsRejectsBadPort(t *testing.T) {
	h := newDemoHarness(t)
	s := h.ui.settings
	for _, bad := range []string{"abc", "0", "70000"} {
		s.port.SetText(bad)
		test.Tap(s.apply)
		if !strings.HasPrefix(s.result.Text, "Port:") {
			t.Errorf("port %q: result = %q, want a Port error", bad, s.result.Text)
		}
	}
	if len(h.demo.applied) != 0 {
		t.Error("ApplySettings called with a bad port")
	}
}

func TestAccountsActions(t *testing.T) {
	h := newDemoHarness(t)
	row := h.ui.accounts.rows["acc-codex"]
	if row == nil || row.relogin == nil {
		t.Fatal("codex row or its Re-login button missing")
	}
	if h.ui.accounts.rows["acc-gemini"].relogin != nil {
		t.Error("an API-key account offers Re-login")
	}
	test.Tap(row.disable)
	if a := findAccount(h.demo.Accounts(), "acc-codex"); !a.Disabled {
		t.Fatal("Disable did not reach the backend")
	}
	if got := h.ui.accounts.rows["acc-codex"].disable.Text; got != "Enable" {
		t.Errorf("button after disabling = %q, want Enable", got)
	}
	test.Tap(h.ui.accounts.rows["acc-codex"].remove)
	test.Tap(h.ui.lastConfirm.ok)
	if _, ok := h.ui.accounts.rows["acc-codex"]; ok {
		t.Error("removed account still listed")
	}
	test.Tap(h.ui.accounts.rows["acc-claude"].relogin)
	if h.ui.login == nil || h.ui.login.view.Provider != "claude-code" {
		t.Error("Re-login did not start a claude-code login")
	}
}

func findAccount(as []AccountView, id string) AccountView {
	for _, a := range as {
		if a.ID == id {
			return a
		}
	}
	return AccountView{}
}

func TestEmptyStates(t *testing.T) {
	d := DemoBackend()
	h := newHarness(t, emptyBackend{d}, d)
	markup := func(o fyne.CanvasObject) string { return test.RenderObjectToMarkup(o) }
	if got := markup(h.ui.accounts.list); !strings.Contains(got, "No accounts yet: Log in to Claude Code") {
		t.Errorf("accounts empty state missing:\n%s", got)
	}
	if h.ui.accounts.empty == nil {
		t.Fatal("no login button in the accounts empty state")
	}
	test.Tap(h.ui.accounts.empty)
	if h.ui.login == nil || h.ui.login.view.Provider != "claude-code" {
		t.Error("empty-state button did not start a Claude Code login")
	}
	h.ui.cancelLogin(h.ui.login)
	if got := markup(h.ui.keys.list); !strings.Contains(got, "No virtual keys yet") {
		t.Errorf("keys empty state missing:\n%s", got)
	}
	if got := markup(h.ui.overview.health); !strings.Contains(got, "No credentials yet") {
		t.Errorf("health empty state missing:\n%s", got)
	}
	if !h.ui.logs.empty.Visible() {
		t.Error("logs empty state hidden")
	}
}

func TestSpendRangeSelector(t *testing.T) {
	h := newDemoHarness(t)
	sp := h.ui.spend
	if sp.rng.Selected != "30 days" {
		t.Fatalf("default range = %q", sp.rng.Selected)
	}
	sp.rng.SetSelected("7 days")
	if got := h.ui.spendDays.Load(); got != 7 {
		t.Errorf("spendDays = %d, want 7", got)
	}
	if !strings.Contains(sp.total.Text, "over 7 days") {
		t.Errorf("total = %q, not refreshed for 7 days", sp.total.Text)
	}
}

func TestShareRows(t *testing.T) {
	rows := shareRows([]SpendShare{{Name: "small", USD: 1}, {Name: "big", USD: 3}})
	want := []shareRow{{label: "big", value: 3, note: "$3.00 (75%)"}, {label: "small", value: 1, note: "$1.00 (25%)"}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("shareRows = %+v, want %+v", rows, want)
	}
}

func TestLogCellsMasked(t *testing.T) {
	r := RequestView{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Status: 429, Error: "rate limited",
		Model: "m", Provider: "codex", Account: "a@b", LatencyMs: 1500, TokensIn: 1200, TokensOut: 30,
		CostUSD: 0.004, Key: "sk-cp-...4c1d"}
	want := []string{"03:04:05", "429 rate limited", "m", "codex / a@b", "1.5 s", "1.2k / 30", "<$0.01", "sk-cp-...4c1d"}
	if got := logCells(r); !reflect.DeepEqual(got, want) {
		t.Errorf("logCells = %q, want %q", got, want)
	}
}

func TestDeduper(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := newDeduper(time.Hour)
	steps := []struct {
		key  string
		at   time.Duration
		want bool
	}{
		{"budget:laptop", 0, true},
		{"budget:laptop", 10 * time.Minute, false},
		{"cooldown:codex", 10 * time.Minute, true},
		{"budget:laptop", 59 * time.Minute, false},
		{"budget:laptop", 60 * time.Minute, true},
		{"budget:laptop", 61 * time.Minute, false},
	}
	for i, s := range steps {
		if got := d.allow(s.key, start.Add(s.at)); got != s.want {
			t.Errorf("step %d: allow(%q, +%v) = %v, want %v", i, s.key, s.at, got, s.want)
		}
	}
}

// chanBackend lets a test drive the event stream.
type chanBackend struct {
	*Demo
	ch chan Event
}

func (c chanBackend) Events() <-chan Event { return c.ch }

func TestLoopCoalescesAndNotifies(t *testing.T) {
	d := DemoBackend()
	b := chanBackend{Demo: d, ch: make(chan Event)}
	h := newHarness(t, b, d)
	timer := make(chan time.Time)
	armed := make(chan time.Duration, 4)
	h.ui.after = func(dur time.Duration) <-chan time.Time {
		armed <- dur
		return timer
	}
	refreshed := make(chan part, 4)
	h.ui.refreshed = func(p part) { refreshed <- p }
	h.ui.Start()
	if p := <-refreshed; p != partAll {
		t.Fatalf("first refresh = %b, want all", p)
	}

	b.ch <- Event{Kind: EventKeys}
	b.ch <- Event{Kind: EventNotification, Title: "Budget reached", Body: "laptop hit $50", Key: "budget:laptop"}
	b.ch <- Event{Kind: EventLogs}
	b.ch <- Event{Kind: EventNotification, Title: "Budget reached", Body: "again", Key: "budget:laptop"}
	b.ch <- Event{Kind: EventKeys}
	if got := <-armed; got != 500*time.Millisecond {
		t.Errorf("rate-limit interval = %v, want the 500ms default", got)
	}
	timer <- time.Time{}
	if p := <-refreshed; p != partKeys|partLogs {
		t.Errorf("coalesced refresh = %b, want keys|logs (%b)", p, partKeys|partLogs)
	}
	select {
	case dur := <-armed:
		t.Errorf("timer armed again (%v) without new events", dur)
	default:
	}
	close(b.ch) // the loop ends when the backend closes its events
	h.ui.Stop()
	if got := h.notifications(); !reflect.DeepEqual(got, []string{"Budget reached"}) {
		t.Errorf("notifications = %q, want one (deduplicated)", got)
	}
}

func TestQuitStopsBackendOnce(t *testing.T) {
	d := DemoBackend()
	h := newHarness(t, d, d)
	h.ui.Quit()
	h.ui.Quit() // a second Quit must not call the backend again
	h.ui.stopBackend()
	d.mu.Lock()
	closed, quits := d.closed, d.quits
	d.mu.Unlock()
	if !closed || quits != 1 {
		t.Fatalf("backend closed %v after %d Quit calls, want closed after exactly 1", closed, quits)
	}
	n := 0
	for range d.Events() { // drains queued events; returns because the channel is closed
		n++
	}
	if n > cap(d.events) {
		t.Errorf("drained %d events from a channel of capacity %d", n, cap(d.events))
	}
}

var _ fyne.Tappable = (*widget.Button)(nil)

func TestSettingsApplyErrorIsShown(t *testing.T) {
	d := DemoBackend()
	h := newHarness(t, failingSettings{d}, d)
	s := h.ui.settings
	s.port.SetText("8318")
	test.Tap(s.apply)
	if !strings.HasPrefix(s.result.Text, "Not applied: port 8318 is in use") {
		t.Errorf("result = %q", s.result.Text)
	}
	if !s.dirty {
		t.Error("the unsaved edit was discarded after a failure")
	}
	if s.apply.Disabled() {
		t.Error("Apply stays disabled after a failure")
	}
}

type failingSettings struct{ *Demo }

func (failingSettings) ApplySettings(s SettingsView) error {
	return fmt.Errorf("port %d is in use: pick another", s.Port)
}

func TestActionErrorShowsDialog(t *testing.T) {
	d := DemoBackend()
	h := newHarness(t, failingSettings{d}, d)
	h.ui.tray.autostart.Action()
	overlay := h.ui.win.Canvas().Overlays().Top()
	if overlay == nil || !strings.Contains(test.RenderObjectToMarkup(overlay), "is in use") {
		t.Fatal("no error dialog after a failed tray action")
	}
	if h.ui.tray.autostart.Checked {
		t.Error("Start at login checked although applying failed")
	}
}

func TestWithoutTrayHostTheWindowIsTheApp(t *testing.T) {
	a := test.NewTempApp(t)
	u, err := New(a, DemoBackend(), Options{NoTrayHost: true})
	if err != nil {
		t.Fatal(err)
	}
	if u.hasTray {
		t.Fatal("the UI counts on a tray although the desktop has no tray host")
	}
	if !u.win.Content().Visible() {
		t.Error("the dashboard is hidden although it is the only window")
	}
}
