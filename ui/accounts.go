package ui

import (
	"fmt"
	"reflect"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// accountsTab lists accounts with their health and usage, and starts logins. UI goroutine.
type accountsTab struct {
	u         *UI
	content   fyne.CanvasObject
	loginBar  *fyne.Container
	list      *fyne.Container
	providers []ProviderView
	accounts  []AccountView
	// loginButtons and rows are kept for tests and in-place updates, keyed by provider and account id.
	loginButtons map[string]*widget.Button
	rows         map[string]*accountRow
	empty        *widget.Button // the "Log in to <first provider>" button of the empty state
}

// accountRow holds one account's action buttons.
type accountRow struct {
	relogin, disable, remove *widget.Button
}

func newAccountsTab(u *UI) *accountsTab {
	t := &accountsTab{u: u, loginButtons: map[string]*widget.Button{}, rows: map[string]*accountRow{}}
	t.loginBar = container.NewHBox()
	t.list = container.NewVBox()
	top := container.NewVBox(
		container.NewHBox(widget.NewLabelWithStyle("Log in to:", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			t.loginBar),
		widget.NewSeparator(),
	)
	t.content = container.NewBorder(top, nil, nil, nil, container.NewVScroll(t.list))
	t.render()
	return t
}

// providerName returns the display name of a provider id, or the id.
func (t *accountsTab) providerName(id string) string {
	for _, p := range t.providers {
		if p.ID == id {
			return p.Name
		}
	}
	return id
}

func (t *accountsTab) setProviders(ps []ProviderView) {
	if t.providers != nil && reflect.DeepEqual(ps, t.providers) {
		return
	}
	t.providers = ps
	t.loginButtons = map[string]*widget.Button{}
	objs := make([]fyne.CanvasObject, 0, len(ps))
	for _, p := range ps {
		id := p.ID
		b := widget.NewButtonWithIcon(p.Name, theme.LoginIcon(), func() { t.u.startLogin(id) })
		t.loginButtons[id] = b
		objs = append(objs, b)
	}
	t.loginBar.Objects = objs
	t.loginBar.Refresh()
	t.render()
}

func (t *accountsTab) setAccounts(as []AccountView) {
	if t.accounts != nil && reflect.DeepEqual(as, t.accounts) {
		return
	}
	t.accounts = as
	t.render()
}

func (t *accountsTab) render() {
	t.rows = map[string]*accountRow{}
	t.empty = nil
	if len(t.accounts) == 0 {
		msg := widget.NewLabel("No accounts yet.")
		objs := []fyne.CanvasObject{msg}
		if len(t.providers) > 0 {
			p := t.providers[0]
			msg.SetText("No accounts yet: Log in to " + p.Name + ", or add an API key to config.toml.")
			t.empty = widget.NewButtonWithIcon("Log in to "+p.Name, theme.LoginIcon(), func() { t.u.startLogin(p.ID) })
			t.empty.Importance = widget.HighImportance
			objs = append(objs, container.NewHBox(t.empty))
		}
		t.list.Objects = objs
		t.list.Refresh()
		return
	}
	objs := make([]fyne.CanvasObject, 0, 2*len(t.accounts))
	for _, a := range t.accounts {
		objs = append(objs, t.accountCard(a), widget.NewSeparator())
	}
	t.list.Objects = objs
	t.list.Refresh()
}

func (t *accountsTab) accountCard(a AccountView) fyne.CanvasObject {
	title := widget.NewLabelWithStyle(fmt.Sprintf("%s - %s", t.providerName(a.Provider), a.Label),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	state := a.State
	stateText := string(state)
	if a.Disabled {
		stateText = "DISABLED"
	}
	lines := []fyne.CanvasObject{container.NewHBox(stateBadge(state, stateText), title)}
	if a.Message != "" {
		m := widget.NewLabel(a.Message)
		m.Wrapping = fyne.TextWrapWord
		lines = append(lines, m)
	}
	usage := fmt.Sprintf("Today: %s requests, %s", formatCompact(float64(a.RequestsToday)), formatUSD(a.SpendToday))
	if a.QuotaHint != "" {
		usage += "   Quota: " + a.QuotaHint
	}
	u := canvas.NewText(usage, theme.Color(theme.ColorNamePlaceHolder))
	u.TextSize = 12
	lines = append(lines, u)

	id := a.ID
	row := &accountRow{}
	var buttons []fyne.CanvasObject
	if a.CanRelogin {
		provider := a.Provider
		row.relogin = widget.NewButtonWithIcon("Re-login", theme.ViewRefreshIcon(), func() { t.u.startLogin(provider) })
		buttons = append(buttons, row.relogin)
	}
	disabled := a.Disabled
	label := "Disable"
	if disabled {
		label = "Enable"
	}
	row.disable = widget.NewButton(label, func() {
		t.u.do(label+" account", func() error { return t.u.b.DisableAccount(id, !disabled) },
			partAccounts|partHealth, nil)
	})
	name := t.providerName(a.Provider) + " - " + a.Label
	row.remove = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() {
		t.u.confirm("Remove account", fmt.Sprintf("Remove %s? Its stored credentials are deleted; "+
			"you can log in again later.", name), "Remove", func() {
			t.u.do("Remove account", func() error { return t.u.b.RemoveAccount(id) }, partAccounts|partHealth|partStatus, nil)
		})
	})
	row.remove.Importance = widget.DangerImportance
	buttons = append(buttons, row.disable, row.remove)
	t.rows[id] = row
	return container.NewBorder(nil, nil, nil, container.NewVBox(container.NewHBox(buttons...)),
		container.NewVBox(lines...))
}

// confirmDialog is a yes/no dialog whose buttons tests can tap.
type confirmDialog struct {
	d          dialog.Dialog
	ok, cancel *widget.Button
}

// confirm asks before a destructive action. UI goroutine.
func (u *UI) confirm(title, msg, okLabel string, onOK func()) *confirmDialog {
	c := &confirmDialog{}
	body := widget.NewLabel(msg)
	body.Wrapping = fyne.TextWrapWord
	c.cancel = widget.NewButton("Cancel", func() { c.d.Hide() })
	c.ok = widget.NewButton(okLabel, func() {
		c.d.Hide()
		onOK()
	})
	c.ok.Importance = widget.DangerImportance
	c.d = dialog.NewCustomWithoutButtons(title, container.NewVBox(body,
		container.NewHBox(layoutSpacer(), c.cancel, c.ok)), u.win)
	c.d.Resize(fyne.NewSize(420, 160))
	c.d.Show()
	u.lastConfirm = c
	return c
}
