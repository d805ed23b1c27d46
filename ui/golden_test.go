package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// TestGoldenTabs renders every dashboard tab with the demo data and compares it with testdata/*.png.
// After an intended visual change, copy testdata/failed/*.png over testdata/ and review the diff.
func TestGoldenTabs(t *testing.T) {
	tests := []struct {
		name    string
		backend func(d *Demo) Backend
	}{
		{"demo", func(d *Demo) Backend { return d }},
		{"empty", func(d *Demo) Backend { return emptyBackend{d} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DemoBackend()
			h := newHarness(t, tt.backend(d), d)
			h.ui.win.Resize(fyne.NewSize(920, 640))
			for i, it := range h.ui.tabs.Items {
				if tt.name == "empty" && it.Text == "Settings" {
					continue // identical to the demo's
				}
				h.ui.tabs.SelectIndex(i)
				file := tt.name + "_" + strings.ToLower(it.Text) + ".png"
				test.AssertImageMatches(t, file, h.ui.win.Canvas().Capture())
			}
		})
	}
}

// TestGoldenDialogs renders the login and new-key dialogs.
func TestGoldenDialogs(t *testing.T) {
	h := newDemoHarness(t)
	h.ui.win.Resize(fyne.NewSize(920, 640))

	h.ui.startLogin("copilot")
	test.AssertImageMatches(t, "dialog_device_login.png", h.ui.win.Canvas().Capture())
	h.ui.cancelLogin(h.ui.login)

	h.ui.startLogin("codex")
	test.AssertImageMatches(t, "dialog_browser_login.png", h.ui.win.Canvas().Capture())
	h.ui.cancelLogin(h.ui.login)

	h.ui.tabs.SelectIndex(2)
	h.ui.keys.showKey("editor", "sk-cp-demo00000000000000000000000001")
	test.AssertImageMatches(t, "dialog_new_key.png", h.ui.win.Canvas().Capture())
}
