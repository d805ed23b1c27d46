package ui

import (
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestLoginBrowserFlow(t *testing.T) {
	h := newDemoHarness(t)
	test.Tap(h.ui.accounts.loginButtons["claude-code"])
	l := h.ui.login
	if l == nil || l.redirect == nil || l.code != nil {
		t.Fatalf("browser login dialog = %+v", l)
	}
	test.Tap(l.submit)
	if len(h.demo.submitted) != 0 || !strings.Contains(l.status.Text, "Paste") {
		t.Errorf("empty submit: submitted %v, status %q", h.demo.submitted, l.status.Text)
	}
	test.Type(l.redirect, "http://localhost:54545/callback?state=x")
	test.Tap(l.submit)
	if !strings.Contains(l.status.Text, "no code parameter") || h.ui.login != l {
		t.Errorf("bad URL: status %q", l.status.Text)
	}
	l.redirect.SetText("http://localhost:54545/callback?code=abc&state=x")
	test.Tap(l.submit)
	if h.ui.login != nil {
		t.Fatal("dialog still open after a successful login")
	}
	if got := h.notifications(); !reflect.DeepEqual(got, []string{"Logged in to Claude Code"}) {
		t.Errorf("notifications = %q", got)
	}
	// The login event the backend also sends must not notify twice.
	h.ui.loginUpdated(h.demo.LoginStatus(l.view.ID))
	if n := len(h.notifications()); n != 1 {
		t.Errorf("%d notifications after a repeated update, want 1", n)
	}
	if _, ok := h.ui.accounts.rows["acc-"+l.view.ID]; !ok {
		t.Error("new account not listed after login")
	}
}

func TestLoginDeviceFlowCopyAndCancel(t *testing.T) {
	h := newDemoHarness(t)
	test.Tap(h.ui.accounts.loginButtons["copilot"])
	l := h.ui.login
	if l == nil || l.code == nil || l.code.Text != "WDJB-MJHT" {
		t.Fatalf("device dialog = %+v", l)
	}
	if l.open.Text != "Open example.com" {
		t.Errorf("open button = %q", l.open.Text)
	}
	test.Tap(l.copy)
	if got := h.app.Clipboard().Content(); got != "WDJB-MJHT" {
		t.Errorf("clipboard = %q, want the user code", got)
	}
	test.Tap(l.cancel)
	if h.ui.login != nil {
		t.Error("dialog still current after Cancel")
	}
	if !reflect.DeepEqual(h.demo.cancelled, []string{l.view.ID}) {
		t.Errorf("CancelLogin calls = %v", h.demo.cancelled)
	}
	if got := h.demo.LoginStatus(l.view.ID).State; got != LoginCancelled {
		t.Errorf("flow state = %v, want cancelled", got)
	}
}

func TestLoginDeviceFailureNotifies(t *testing.T) {
	h := newDemoHarness(t)
	h.ui.startLogin("kiro")
	l := h.ui.login
	h.demo.CompleteLogin(l.view.ID, LoginFailed, "The code expired: start again")
	h.ui.loginUpdated(h.demo.LoginStatus(l.view.ID))
	if h.ui.login != nil {
		t.Error("dialog still open after failure")
	}
	if got := h.notifications(); !reflect.DeepEqual(got, []string{"Login to Kiro failed"}) {
		t.Errorf("notifications = %q", got)
	}
}

func TestLoginUnknownProviderShowsError(t *testing.T) {
	h := newDemoHarness(t)
	h.ui.startLogin("nope")
	if h.ui.login != nil {
		t.Error("a dialog opened for an unknown provider")
	}
	overlay := h.ui.win.Canvas().Overlays().Top()
	if overlay == nil || !strings.Contains(test.RenderObjectToMarkup(overlay), "unknown provider") {
		t.Error("no error dialog for a failed StartLogin")
	}
}

func TestHostOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/login/device", "github.com"},
		{"not a url", "page"},
		{"", "page"},
	}
	for _, tt := range tests {
		if got := hostOf(tt.in); got != tt.want {
			t.Errorf("hostOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
