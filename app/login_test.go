package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest/oauthfake"
)

// instantSleep makes device polling immediate (it still honours cancellation).
func instantSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// providersTOML writes [providers.<id>] sections pointing the subscription providers at the fake and
// claude-code's API at claudeBase.
func providersTOML(fake *oauthfake.Server, claudeBase string) string {
	return providerSections(fake, map[string]string{oauth.ClaudeCode: claudeBase})
}

// providerSections writes one [providers.<id>] section per subscription provider: the fake's OAuth
// endpoints (oauthfake.Overrides under the config's key names) and base-url from bases, else a dead
// loopback address, so that an account reaches no upstream but the one its test names.
func providerSections(fake *oauthfake.Server, bases map[string]string) string {
	// The oauth package's setting names that the config spells differently; "" has no config key (Kiro
	// social logins, which only an import creates, refresh at the Kiro service itself).
	configKey := map[string]string{
		"user-url": "user-info-url", "userinfo-url": "user-info-url", "code-assist-url": "api-url", "social-refresh-url": "",
	}
	ov := fake.Overrides()
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(ov)) {
		fmt.Fprintf(&b, "\n[providers.%s]\nbase-url = %q\n", id, cmp.Or(bases[id], "http://127.0.0.1:1"))
		for _, k := range slices.Sorted(maps.Keys(ov[id])) {
			key, renamed := configKey[k]
			if !renamed {
				key = k
			}
			if key != "" {
				fmt.Fprintf(&b, "%s = %q\n", key, ov[id][k])
			}
		}
	}
	return b.String()
}

// visit plays the browser: it follows the authorize page's redirect to the loopback callback.
func visit(t testing.TB) func(string) error {
	return func(u string) error {
		go func() {
			resp, err := http.Get(u)
			if err != nil {
				t.Errorf("browser: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
		return nil
	}
}

func TestBrowserLoginMakesAccountRoutable(t *testing.T) {
	fake := oauthfake.New(nil)
	t.Cleanup(fake.Close)
	fake.Set(func(k *oauthfake.Knobs) { k.AccessTTL = 24 * time.Hour }) // beyond the 4 h refresh lead
	up := proxytest.NewAnthropic(t)
	e := newTestEnv(t, providersTOML(fake, up.URL))
	log, secret := newSecretGuard(t)
	c := openTestCore(t, e, log, nil)
	secret(c.ClientKey())
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	events, unsubscribe := c.Subscribe()
	defer unsubscribe()

	var opened string
	l, err := c.StartLogin(context.Background(), "claude-code", LoginOptions{OpenURL: func(u string) error {
		opened = u
		return visit(t)(u)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Device || l.URL == "" || opened != l.URL {
		t.Fatalf("login %+v opened %q", l, opened)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := l.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Label != oauthfake.Email || info.Provider != "claude-code" || info.Error != "" || l.State() != LoginDone {
		t.Fatalf("account %+v state %s", info, l.State())
	}
	if ev := waitEvent(t, events, "login"); !strings.Contains(ev.Title, "Logged in") {
		t.Fatalf("login event %+v", ev)
	}
	cred, err := loadCredential(c.keystore(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret(cred.Token.AccessToken)
	secret(cred.Token.RefreshToken)

	// The account is routable: the request reaches the fake upstream with the account's bearer token.
	status, body := messages(t, c.BaseURL(), c.ClientKey(), "claude-sonnet-4-5")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	reqs := up.Requests()
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer "+cred.Token.AccessToken {
		t.Fatalf("upstream saw %d requests; auth %q", len(reqs), reqs[0].Header.Get("Authorization"))
	}
	if ev := waitEvent(t, events, "request"); ev.Request.CredentialID != info.ID {
		t.Fatalf("request event %+v", ev.Request)
	}
	if got, _ := c.account(info.ID); got.LastUsedAt.IsZero() {
		t.Fatal("LastUsedAt not set after a request")
	}
	c.saveLastUsed(context.Background())
	if meta, err := c.Store().GetAccount(context.Background(), info.ID); err != nil || meta.LastUsedAt == nil {
		t.Fatalf("stored last use: %+v %v", meta, err)
	}

	// Disabled: no longer routed. Enabled again: routed. Removed: gone with its credential.
	if err := c.SetAccountDisabled(info.ID, true); err != nil {
		t.Fatal(err)
	}
	if status, _ := messages(t, c.BaseURL(), c.ClientKey(), "claude-sonnet-4-5"); status == http.StatusOK {
		t.Fatal("a disabled account still served a request")
	}
	if got := c.Accounts(); len(got) != 1 || !got[0].Disabled {
		t.Fatalf("accounts %+v", got)
	}
	if err := c.SetAccountDisabled(info.ID, false); err != nil {
		t.Fatal(err)
	}
	if status, body := messages(t, c.BaseURL(), c.ClientKey(), "claude-sonnet-4-5"); status != http.StatusOK {
		t.Fatalf("re-enabled account: status %d: %s", status, body)
	}
	if err := c.RemoveAccount(info.ID); err != nil {
		t.Fatal(err)
	}
	if len(c.Accounts()) != 0 {
		t.Fatal("account still listed after removal")
	}
	if _, err := loadCredential(c.keystore(), info.ID); err == nil {
		t.Fatal("credential still in the keystore after removal")
	}
	if err := c.RemoveAccount(info.ID); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("second removal: %v", err)
	}
}

func TestDeviceLoginAndSubmitRedirect(t *testing.T) {
	fake := oauthfake.New(nil)
	t.Cleanup(fake.Close)
	e := newTestEnv(t, providersTOML(fake, "http://127.0.0.1:1"))
	c := openTestCore(t, e, nil, func(o *CoreOptions) { o.LoginSleep = instantSleep })

	var opened []string
	l, err := c.StartLogin(context.Background(), "copilot", LoginOptions{OpenURL: func(u string) error {
		opened = append(opened, u)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Device || l.UserCode != oauthfake.DeviceUserCode || l.VerificationURI == "" {
		t.Fatalf("device login %+v", l)
	}
	if len(opened) != 1 || opened[0] != l.VerificationURI {
		t.Fatalf("opened %v", opened)
	}
	if err := l.SubmitRedirect("http://localhost/x?code=1"); err == nil {
		t.Fatal("a device login accepted a redirect address")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := l.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Label != oauthfake.GitHubLogin || info.Provider != "copilot" || info.ProviderName != "GitHub Copilot" {
		t.Fatalf("account %+v", info)
	}
	got, ok := c.LoginByID(l.ID)
	if !ok || got.State() != LoginDone {
		t.Fatalf("login %v %v", ok, got)
	}

	// The same account logged in again keeps one entry.
	l2, err := c.StartLogin(context.Background(), "copilot", LoginOptions{NoBrowser: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Accounts()); n != 1 {
		t.Fatalf("%d accounts after logging in twice to one account", n)
	}
}

func TestBrowserLoginByPastedRedirectAndCancel(t *testing.T) {
	fake := oauthfake.New(nil)
	t.Cleanup(fake.Close)
	e := newTestEnv(t, providersTOML(fake, "http://127.0.0.1:1"))
	c := openTestCore(t, e, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The browser ends on an address this machine cannot reach; the user pastes it.
	l, err := c.StartLogin(ctx, "claude-code", LoginOptions{NoBrowser: true})
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(l.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := l.SubmitRedirect(resp.Header.Get("Location")); err != nil {
		t.Fatal(err)
	}
	if info, err := l.Wait(ctx); err != nil || info.Label != oauthfake.Email {
		t.Fatalf("pasted login: %+v %v", info, err)
	}

	// Cancel ends a waiting login; a new login of the same provider replaces a waiting one.
	l2, err := c.StartLogin(ctx, "claude-code", LoginOptions{NoBrowser: true})
	if err != nil {
		t.Fatal(err)
	}
	l3, err := c.StartLogin(ctx, "claude-code", LoginOptions{NoBrowser: true})
	if err != nil {
		t.Fatal(err)
	}
	if l2.State() != LoginCanceled || l3.State() != LoginWaiting {
		t.Fatalf("replaced login %s, new login %s", l2.State(), l3.State())
	}
	l3.Cancel()
	if _, err := l3.Wait(ctx); err == nil || l3.State() != LoginCanceled {
		t.Fatalf("cancelled login: %v state %s", err, l3.State())
	}
	if _, err := l2.Wait(ctx); err == nil || l2.State() != LoginCanceled {
		t.Fatalf("cancelled login: %v state %s", err, l2.State())
	}
	if _, err := c.StartLogin(ctx, "nope", LoginOptions{NoBrowser: true}); err == nil {
		t.Fatal("unknown provider accepted")
	}
}

func TestRefreshFailureShowsRelogin(t *testing.T) {
	fake := oauthfake.New(nil)
	t.Cleanup(fake.Close)
	e := newTestEnv(t, providersTOML(fake, "http://127.0.0.1:1"))
	c := openTestCore(t, e, nil, nil)
	ctx := context.Background()
	info, err := c.ImportAccount(ctx, ImportedAccount{Provider: oauth.ClaudeCode, Label: "old@example.com",
		Token: oauth.Token{AccessToken: "sk-ant-oat01-expired", RefreshToken: "sk-ant-ort01-dead", Expiry: time.Unix(1, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	events, unsubscribe := c.Subscribe()
	defer unsubscribe()
	fake.Set(func(k *oauthfake.Knobs) { k.RefreshError = "invalid_grant" })
	if n := c.refresher.RefreshDue(ctx); n != 0 {
		t.Fatalf("refreshed %d", n)
	}
	ev := waitEvent(t, events, "accounts")
	if !strings.Contains(ev.Title, "Log in to Claude Code again") {
		t.Fatalf("event %+v", ev)
	}
	got, err := c.account(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "ERROR" || !strings.Contains(got.Error, "log in to Claude Code again") {
		t.Fatalf("account %+v", got)
	}
}
