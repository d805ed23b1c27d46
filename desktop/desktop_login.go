package desktop

import (
	"context"
	"errors"
	"fmt"

	"github.com/cliproxy/cliproxy/app"
	"github.com/cliproxy/cliproxy/ui"
)

// loginHandle is a running login flow (*Login).
type loginHandle interface {
	Wait(ctx context.Context) (app.AccountInfo, error)
	Cancel()
	SubmitRedirect(rawURL string) error
}

// loginFlow is one login started from the UI. Its fields are guarded by Desktop.mu.
type loginFlow struct {
	login loginHandle
	name  string // provider display name
	view  ui.LoginView
	state ui.LoginState
}

// maxFinishedLogins bounds how many finished flows are remembered for LoginStatus.
const maxFinishedLogins = 32

// Providers lists the providers the user can log in to, in the core's order.
func (d *Desktop) Providers() []ui.ProviderView {
	ps := d.core.LoginProviders()
	out := make([]ui.ProviderView, 0, len(ps))
	for _, p := range ps {
		out = append(out, providerView(p))
	}
	return out
}

// providerView maps a login provider to its menu entry.
func providerView(p app.LoginProvider) ui.ProviderView {
	v := ui.ProviderView{ID: p.ID, Name: p.Name, Login: ui.LoginBrowser}
	if p.Device {
		v.Login = ui.LoginDevice
	}
	if v.Name == "" {
		v.Name = p.ID
	}
	return v
}

// loginView maps a flow that has just started; device flows are those that show a user code.
func loginView(l *app.Login) ui.LoginView {
	v := ui.LoginView{ID: l.ID, Provider: l.Provider, Kind: ui.LoginBrowser, URL: l.URL, State: ui.LoginPending}
	if l.UserCode != "" {
		v.Kind, v.UserCode, v.VerificationURI = ui.LoginDevice, l.UserCode, l.VerificationURI
	}
	return v
}

// StartLogin starts a login flow: the browser flow opens the authorization page (the UI also offers
// the URL and a paste-the-redirect field); the device flow returns the code to show. The flow finishes
// in the background and is reported by an EventLogin and a notification.
func (d *Desktop) StartLogin(providerID string) (ui.LoginView, error) {
	name := providerID
	for _, p := range d.core.LoginProviders() {
		if p.ID == providerID && p.Name != "" {
			name = p.Name
		}
	}
	l, view, err := d.core.startLogin(d.ctx, providerID, app.LoginOptions{OpenURL: d.openURL})
	if err != nil {
		return ui.LoginView{}, fmt.Errorf("starting the %s login: %w", name, err)
	}
	f := &loginFlow{login: l, name: name, view: view, state: ui.LoginPending}
	d.mu.Lock()
	d.forgetFinishedLocked()
	d.logins[view.ID] = f
	d.mu.Unlock()
	go d.waitLogin(f)
	return f.view, nil
}

// forgetFinishedLocked drops finished flows once there are too many. d.mu is held.
func (d *Desktop) forgetFinishedLocked() {
	if len(d.logins) < maxFinishedLogins {
		return
	}
	for id, f := range d.logins {
		if f.state != ui.LoginPending {
			delete(d.logins, id)
		}
	}
}

// waitLogin waits for a flow to end, records the result and tells the UI.
func (d *Desktop) waitLogin(f *loginFlow) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("desktop: login wait panicked", "panic", r)
		}
	}()
	acc, err := f.login.Wait(d.ctx)
	state, msg := loginResult(acc, err)
	d.mu.Lock()
	f.state, f.view.State, f.view.Message = state, state, msg
	d.mu.Unlock()
	d.send(ui.Event{Kind: ui.EventLogin, LoginID: f.view.ID})
	switch state {
	case ui.LoginSucceeded:
		body := "You can now use it through the proxy."
		if msg != "" {
			body = "Signed in as " + msg + ". " + body
		}
		d.notify("Logged in to "+f.name, body, "login:"+f.view.ID)
		d.merge.add(ui.EventAccounts)
	case ui.LoginFailed:
		d.notify("Login to "+f.name+" failed", msg, "login:"+f.view.ID)
	}
}

// loginResult turns the end of a flow into its state and message (the account label, or a reason).
func loginResult(acc app.AccountInfo, err error) (ui.LoginState, string) {
	switch {
	case err == nil:
		label := acc.Label
		if label == "" {
			label = acc.ID
		}
		return ui.LoginSucceeded, label
	case errors.Is(err, context.Canceled):
		return ui.LoginCancelled, "The login was cancelled."
	case errors.Is(err, context.DeadlineExceeded):
		return ui.LoginFailed, "The login timed out: start it again and finish it in the browser."
	}
	return ui.LoginFailed, err.Error()
}

// LoginStatus returns a flow's current view; an unknown id reads as failed.
func (d *Desktop) LoginStatus(id string) ui.LoginView {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.logins[id]; ok {
		return f.view
	}
	return ui.LoginView{ID: id, State: ui.LoginFailed, Message: "This login is no longer known: start it again."}
}

// SubmitRedirect completes a browser flow with the redirect URL the user pasted.
func (d *Desktop) SubmitRedirect(id, rawURL string) error {
	f := d.flow(id)
	if f == nil {
		return errors.New("this login is no longer running: start it again")
	}
	return f.login.SubmitRedirect(rawURL)
}

// CancelLogin stops a flow; its waiter reports it as cancelled.
func (d *Desktop) CancelLogin(id string) {
	if f := d.flow(id); f != nil {
		f.login.Cancel()
	}
}

func (d *Desktop) flow(id string) *loginFlow {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logins[id]
}
