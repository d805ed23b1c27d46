package ui

import (
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// loginDialog is the dialog of the login flow in progress. UI goroutine.
type loginDialog struct {
	view     LoginView
	name     string // provider display name
	d        dialog.Dialog
	status   *widget.Label
	redirect *widget.Entry  // browser flow
	submit   *widget.Button // browser flow
	code     *canvas.Text   // device flow
	copy     *widget.Button // device flow
	open     *widget.Button // both: (re)open the browser page
	cancel   *widget.Button
}

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }

// startLogin begins a provider login off the UI goroutine and shows its dialog.
func (u *UI) startLogin(provider string) {
	name := u.accounts.providerName(provider)
	u.async(func() {
		lv, err := u.b.StartLogin(provider)
		fyne.Do(func() {
			if err != nil {
				u.showError("Log in to "+name, err)
				return
			}
			u.showLogin(lv, name)
		})
	})
}

// openURL opens a web page in the system browser through Fyne.
func (u *UI) openURL(raw string) {
	p, err := url.Parse(raw)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") {
		u.log.Warn("ui: refusing to open a non-web URL")
		return
	}
	if err := u.app.OpenURL(p); err != nil {
		u.log.Warn("ui: opening browser failed", "err", err)
	}
}

// showLogin shows the browser or device dialog for lv, replacing any earlier login dialog.
func (u *UI) showLogin(lv LoginView, name string) {
	if u.login != nil {
		u.login.d.Hide()
	}
	l := &loginDialog{view: lv, name: name}
	l.status = widget.NewLabel("")
	l.status.Wrapping = fyne.TextWrapWord
	l.cancel = widget.NewButton("Cancel", func() { u.cancelLogin(l) })
	var body fyne.CanvasObject
	switch lv.Kind {
	case LoginDevice:
		l.code = canvas.NewText(lv.UserCode, theme.Color(theme.ColorNameForeground))
		l.code.TextSize = 28
		l.code.TextStyle = fyne.TextStyle{Monospace: true}
		l.code.Alignment = fyne.TextAlignCenter
		code := lv.UserCode
		l.copy = widget.NewButtonWithIcon("Copy code", theme.ContentCopyIcon(), func() { u.copyText(code) })
		uri := lv.VerificationURI
		l.open = widget.NewButtonWithIcon("Open "+hostOf(uri), theme.ComputerIcon(), func() { u.openURL(uri) })
		l.open.Importance = widget.HighImportance
		l.status.SetText("Enter this code on the page that opens, then come back: this window closes by itself.")
		body = container.NewVBox(l.status, l.code,
			container.NewHBox(layoutSpacer(), l.copy, l.open, layoutSpacer()),
			container.NewHBox(layoutSpacer(), l.cancel))
	default:
		authURL := lv.URL
		l.open = widget.NewButtonWithIcon("Open browser again", theme.ComputerIcon(), func() { u.openURL(authURL) })
		l.redirect = widget.NewEntry()
		l.redirect.SetPlaceHolder("http://localhost:.../callback?code=...")
		l.submit = widget.NewButton("Submit", func() { u.submitRedirect(l) })
		l.status.SetText("Finish signing in to " + name + " in your browser. If the browser shows an error page " +
			"after you approve, paste its address here:")
		body = container.NewVBox(l.status,
			container.NewBorder(nil, nil, nil, l.submit, l.redirect),
			container.NewHBox(l.open, layoutSpacer(), l.cancel))
		u.openURL(authURL)
	}
	l.d = dialog.NewCustomWithoutButtons("Log in to "+name, body, u.win)
	l.d.Resize(fyne.NewSize(520, 220))
	u.login = l
	u.win.Show()
	l.d.Show()
}

// hostOf returns the host of a URL for a button label, or "page".
func hostOf(raw string) string {
	if p, err := url.Parse(raw); err == nil && p.Host != "" {
		return p.Host
	}
	return "page"
}

func (u *UI) submitRedirect(l *loginDialog) {
	pasted := strings.TrimSpace(l.redirect.Text)
	if pasted == "" {
		l.status.SetText("Paste the whole address from the browser's address bar first.")
		return
	}
	l.submit.Disable()
	id := l.view.ID
	u.async(func() {
		err := u.b.SubmitRedirect(id, pasted)
		if err != nil {
			fyne.Do(func() {
				l.submit.Enable()
				l.status.SetText(err.Error())
			})
			return
		}
		lv := u.b.LoginStatus(id)
		fyne.Do(func() { u.loginUpdated(lv) })
	})
}

func (u *UI) cancelLogin(l *loginDialog) {
	l.d.Hide()
	if u.login == l {
		u.login = nil
	}
	id := l.view.ID
	u.async(func() { u.b.CancelLogin(id) })
}

// loginUpdated closes the dialog of a finished flow and tells the user how it went. UI goroutine.
func (u *UI) loginUpdated(lv LoginView) {
	l := u.login
	if l == nil || l.view.ID != lv.ID || lv.State == LoginPending || lv.State == "" {
		return
	}
	u.login = nil
	l.d.Hide()
	switch lv.State {
	case LoginSucceeded:
		body := "You can now use it through the proxy."
		if lv.Message != "" {
			body = "Signed in as " + lv.Message + ". " + body
		}
		u.notify("Logged in to "+l.name, body, "login:"+lv.ID)
		u.async(func() { u.refresh(partAccounts | partHealth | partStatus) })
	case LoginFailed:
		u.notify("Login to "+l.name+" failed", lv.Message, "login:"+lv.ID)
		dialog.ShowInformation("Login to "+l.name+" failed", lv.Message, u.win)
	}
}
