package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
)

// trayMenu is the system tray menu. Its items are updated in place from snapshots. UI goroutine.
type trayMenu struct {
	u         *UI
	menu      *fyne.Menu
	status    *fyne.MenuItem
	copyURL   *fyne.MenuItem
	copyKey   *fyne.MenuItem
	dashboard *fyne.MenuItem
	login     *fyne.MenuItem
	pause     *fyne.MenuItem
	autostart *fyne.MenuItem
	quit      *fyne.MenuItem

	paused       bool
	startAtLogin bool
	providers    []ProviderView
}

func newTrayMenu(u *UI) *trayMenu {
	t := &trayMenu{u: u}
	t.status = fyne.NewMenuItem("Starting...", nil)
	t.status.Disabled = true
	t.copyURL = fyne.NewMenuItem("Copy base URL", func() { u.copyText(u.status.BaseURL) })
	t.copyKey = fyne.NewMenuItem("Copy API key", u.copyClientKey)
	t.dashboard = fyne.NewMenuItem("Open dashboard", func() { u.ShowDashboard("") })
	t.login = fyne.NewMenuItem("Log in to...", nil)
	t.login.ChildMenu = fyne.NewMenu("Log in to...")
	t.pause = fyne.NewMenuItem("Pause proxy", t.togglePause)
	t.autostart = fyne.NewMenuItem("Start at login", t.toggleAutostart)
	// The quit item is marked so Fyne does not append a second one (it adds "Quit" to tray menus
	// whose last item is not IsQuit).
	t.quit = fyne.NewMenuItem("Quit", u.Quit)
	t.quit.IsQuit = true
	t.menu = fyne.NewMenu("CLIProxy",
		t.status,
		fyne.NewMenuItemSeparator(),
		t.copyURL, t.copyKey, t.dashboard,
		fyne.NewMenuItemSeparator(),
		t.login,
		fyne.NewMenuItemSeparator(),
		t.pause, t.autostart,
		fyne.NewMenuItemSeparator(),
		t.quit,
	)
	return t
}

// statusLine is the tray's first line: "Running on :8317 - 42 requests, $1.23 today".
func statusLine(s StatusView) string {
	switch {
	case s.LastError != "":
		return "Error: " + s.LastError
	case !s.Running:
		return "Stopped"
	case s.Paused:
		return fmt.Sprintf("Paused on :%d", s.Port)
	}
	noun := "requests"
	if s.RequestsToday == 1 {
		noun = "request"
	}
	return fmt.Sprintf("Running on :%d - %s %s, %s today", s.Port, formatCompact(float64(s.RequestsToday)), noun,
		formatUSD(s.SpendToday))
}

// update applies the parts of a snapshot the tray shows.
func (t *trayMenu) update(s snapshot) {
	changed := false
	if s.parts&partStatus != 0 {
		t.status.Label = statusLine(s.status)
		t.paused = s.status.Paused
		t.pause.Label = "Pause proxy"
		if t.paused {
			t.pause.Label = "Resume proxy"
		}
		t.copyURL.Disabled = s.status.BaseURL == ""
		changed = true
	}
	if s.parts&partSettings != 0 {
		t.startAtLogin = s.settings.StartAtLogin
		t.autostart.Checked = t.startAtLogin
		changed = true
	}
	if s.parts&partProviders != 0 {
		t.providers = s.providers
		items := make([]*fyne.MenuItem, 0, len(s.providers))
		for _, p := range s.providers {
			id := p.ID
			items = append(items, fyne.NewMenuItem(p.Name, func() { t.u.startLogin(id) }))
		}
		t.login.ChildMenu.Items = items
		t.login.Disabled = len(items) == 0
		changed = true
	}
	if changed {
		t.menu.Refresh()
	}
}

func (t *trayMenu) togglePause() {
	if t.paused {
		t.u.do("Resume proxy", func() error { t.u.b.Resume(); return nil }, partStatus, nil)
		return
	}
	t.u.do("Pause proxy", func() error { t.u.b.Pause(); return nil }, partStatus, nil)
}

func (t *trayMenu) toggleAutostart() {
	want := !t.startAtLogin
	t.u.do("Start at login", func() error {
		s := t.u.b.Settings()
		s.StartAtLogin = want
		return t.u.b.ApplySettings(s)
	}, partSettings, nil)
}
