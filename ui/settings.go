package ui

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// settingsTab edits the settings the desktop exposes. UI goroutine.
type settingsTab struct {
	u            *UI
	content      fyne.CanvasObject
	port         *widget.Entry
	strategy     *widget.Select
	healthAware  *widget.Check
	keystore     *widget.Select
	startAtLogin *widget.Check
	apply        *widget.Button
	result       *widget.Label
	current      SettingsView
	// dirty is set when the user edits a field, so refreshes do not overwrite unsaved edits.
	dirty, loading bool
}

func newSettingsTab(u *UI) *settingsTab {
	t := &settingsTab{u: u}
	edited := func() {
		if !t.loading {
			t.dirty = true
		}
	}
	t.port = widget.NewEntry()
	t.port.OnChanged = func(string) { edited() }
	t.strategy = widget.NewSelect(nil, func(string) { edited() })
	t.healthAware = widget.NewCheck("Skip credentials in cooldown or error", func(bool) { edited() })
	t.keystore = widget.NewSelect(nil, func(string) { edited() })
	t.startAtLogin = widget.NewCheck("Start CLIProxy when I log in", func(bool) { edited() })
	t.apply = widget.NewButton("Apply", t.submit)
	t.apply.Importance = widget.HighImportance
	t.result = widget.NewLabel("")
	t.result.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Port", t.port),
		widget.NewFormItem("Routing strategy", t.strategy),
		widget.NewFormItem("Health-aware routing", t.healthAware),
		widget.NewFormItem("Credential storage", t.keystore),
		widget.NewFormItem("Start at login", t.startAtLogin),
	)
	note := widget.NewLabel("Changing the port restarts the proxy: update the base URL in your tools. " +
		"Other settings live in config.toml.")
	note.Wrapping = fyne.TextWrapWord
	t.content = container.NewVBox(form, note, container.NewHBox(t.apply), t.result)
	return t
}

func (t *settingsTab) set(s SettingsView) {
	t.current = s
	if t.dirty {
		return
	}
	t.loading = true
	defer func() { t.loading = false }()
	t.port.SetText(strconv.Itoa(s.Port))
	t.strategy.Options = s.Strategies
	t.strategy.SetSelected(s.Strategy)
	t.healthAware.SetChecked(s.HealthAware)
	t.keystore.Options = s.KeystoreBackends
	t.keystore.SetSelected(s.KeystoreBackend)
	t.startAtLogin.SetChecked(s.StartAtLogin)
}

// parsePort validates the port field.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("Port: %q is not a port number (1-65535)", s)
	}
	return p, nil
}

func (t *settingsTab) submit() {
	port, err := parsePort(t.port.Text)
	if err != nil {
		t.result.Importance = widget.DangerImportance
		t.result.SetText(err.Error())
		return
	}
	s := t.current
	s.Port = port
	s.Strategy = t.strategy.Selected
	s.HealthAware = t.healthAware.Checked
	s.KeystoreBackend = t.keystore.Selected
	s.StartAtLogin = t.startAtLogin.Checked
	t.apply.Disable()
	t.u.async(func() {
		err := t.u.b.ApplySettings(s)
		fyne.Do(func() {
			t.apply.Enable()
			if err != nil {
				t.result.Importance = widget.DangerImportance
				t.result.SetText("Not applied: " + err.Error())
				return
			}
			t.dirty = false
			t.result.Importance = widget.SuccessImportance
			t.result.SetText("Settings applied.")
		})
		if err == nil {
			t.u.refresh(partSettings | partStatus)
		}
	})
}
