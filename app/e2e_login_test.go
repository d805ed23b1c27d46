package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest/oauthfake"
)

// e2eCore is a started Core whose subscription providers log in against an OAuth fake, on a fake clock,
// with its background token-refresh passes run when the test says.
type e2eCore struct {
	*Core
	fake   *oauthfake.Server
	clk    *clock.Fake
	secret func(string)     // registers a value no log line may contain
	passed chan struct{}    // receives when a background refresh pass has finished
	next   chan time.Time   // starts the next background refresh pass
	events <-chan Event     // the Core's events from Start on
	oc     openai.Client    // OpenAI SDK client of the proxy
	ac     anthropic.Client // Anthropic SDK client of the proxy
}

// startE2E starts a Core configured by providerSections(fake, bases) and waits for the refresh pass
// that Start runs.
func startE2E(t *testing.T, fake *oauthfake.Server, bases map[string]string) *e2eCore {
	t.Helper()
	log, secret := newSecretGuard(t)
	x := &e2eCore{fake: fake, clk: clock.NewFake(time.Now()), secret: secret, passed: make(chan struct{}, 1),
		next: make(chan time.Time)}
	x.Core = openTestCore(t, newTestEnv(t, providerSections(fake, bases)), log, func(o *CoreOptions) {
		o.Clock = x.clk
		o.LoginSleep = instantSleep
		o.RefreshAfter = func(time.Duration) <-chan time.Time {
			select {
			case x.passed <- struct{}{}:
			default:
			}
			return x.next
		}
	})
	secret(x.ClientKey())
	events, unsubscribe := x.Subscribe()
	t.Cleanup(unsubscribe)
	x.events = events
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-x.passed
	x.oc = openai.NewClient(option.WithBaseURL(x.BaseURL()+"/v1/"), option.WithAPIKey(x.ClientKey()), option.WithMaxRetries(0))
	x.ac = anthropic.NewClient(aoption.WithBaseURL(x.BaseURL()), aoption.WithAPIKey(x.ClientKey()), aoption.WithMaxRetries(0))
	return x
}

// refreshPass runs one background refresh pass and waits for it to finish.
func (x *e2eCore) refreshPass() {
	x.next <- x.clk.Now()
	<-x.passed
}

// deviceLogin logs in to a device-flow provider through StartLogin (the fake approves after two pending
// polls) and returns the account and the credential it stored.
func (x *e2eCore) deviceLogin(t *testing.T, providerID string) (AccountInfo, oauth.Credential) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := x.StartLogin(ctx, providerID, LoginOptions{NoBrowser: true})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Device || l.UserCode != oauthfake.DeviceUserCode || l.VerificationURI == "" {
		t.Fatalf("device login %+v", l)
	}
	info, err := l.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := x.fake.Polls(providerID); n != 3 {
		t.Fatalf("the fake saw %d device polls, want 2 pending and 1 approved", n)
	}
	cred, err := loadCredential(x.keystore(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	x.secret(cred.Token.AccessToken)
	x.secret(cred.Token.RefreshToken)
	x.secret(cred.Token.Extra[oauth.ExtraClientSecret])
	return info, cred
}

// chat asks model through the OpenAI SDK (non-streaming) and returns the answer's text.
func (x *e2eCore) chat(t *testing.T, model string) (string, error) {
	t.Helper()
	cc, err := x.oc.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if err != nil {
		return "", err
	}
	if len(cc.Choices) != 1 {
		t.Fatalf("chat answer %+v", cc)
	}
	return cc.Choices[0].Message.Content, nil
}

// messages asks model through the Anthropic SDK (streaming) and returns the answer's text.
func (x *e2eCore) messages(t *testing.T, model string) (string, error) {
	t.Helper()
	st := x.ac.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var msg anthropic.Message
	for st.Next() {
		if err := msg.Accumulate(st.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Err(); err != nil {
		return "", err
	}
	var text strings.Builder
	for _, b := range msg.Content {
		text.WriteString(b.Text)
	}
	return text.String(), nil
}

// TestDeviceLoginThenRequestsThroughTheProxy: for each device-flow provider, a login through the app's
// login orchestration against the OAuth fake makes the account routable, and the OpenAI and Anthropic
// SDKs get their answers from that provider's fake upstream, sent with the token the login obtained.
// Copilot and Qwen find their API where the real services say (endpoints.api of the Copilot token
// exchange, resource_url of the Qwen token answer); Kiro's API comes from [providers.kiro] base-url.
func TestDeviceLoginThenRequestsThroughTheProxy(t *testing.T) {
	for _, tc := range []struct {
		provider, model, label string
		path                   string // where the upstream receives the request
		upstream               func(t *testing.T, fake *oauthfake.Server, bases map[string]string) *proxytest.Upstream
	}{
		{oauth.Copilot, "gpt-4.1", oauthfake.GitHubLogin, "/chat/completions",
			func(t *testing.T, fake *oauthfake.Server, _ map[string]string) *proxytest.Upstream {
				up := proxytest.NewCopilot(t, "")
				fake.Set(func(k *oauthfake.Knobs) { k.CopilotAPIURL = up.URL })
				return up.Upstream
			}},
		{oauth.Qwen, "qwen3-coder-plus", "Qwen account", "/v1/chat/completions",
			func(t *testing.T, fake *oauthfake.Server, _ map[string]string) *proxytest.Upstream {
				up := proxytest.NewOpenAICompatible(t)
				fake.Set(func(k *oauthfake.Knobs) { k.QwenResourceURL = up.URL })
				return up
			}},
		{oauth.Kiro, "claude-sonnet-4-5", "AWS Builder ID", "/generateAssistantResponse",
			func(t *testing.T, _ *oauthfake.Server, bases map[string]string) *proxytest.Upstream {
				up := proxytest.NewKiro(t)
				bases[oauth.Kiro] = up.URL
				return up
			}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			fake := oauthfake.New(nil)
			t.Cleanup(fake.Close)
			bases := map[string]string{}
			up := tc.upstream(t, fake, bases)
			x := startE2E(t, fake, bases)
			info, cred := x.deviceLogin(t, tc.provider)
			if info.Provider != tc.provider || info.Label != tc.label || info.Error != "" {
				t.Fatalf("account %+v", info)
			}

			up.Enqueue(proxytest.Reply{Text: "chat answer from " + tc.provider})
			if got, err := x.chat(t, tc.model); err != nil || got != "chat answer from "+tc.provider {
				t.Fatalf("OpenAI client: %q %v", got, err)
			}
			up.Enqueue(proxytest.Reply{Text: "messages answer from " + tc.provider, StreamChunks: 3})
			if got, err := x.messages(t, tc.model); err != nil || got != "messages answer from "+tc.provider {
				t.Fatalf("Anthropic client: %q %v", got, err)
			}
			reqs := up.Requests()
			if len(reqs) != 2 {
				t.Fatalf("upstream saw %d requests, want 2", len(reqs))
			}
			for _, r := range reqs {
				if r.Path != tc.path || r.Header.Get("Authorization") != "Bearer "+cred.Token.AccessToken {
					t.Errorf("upstream request %s with auth %q, want %s with the login's access token",
						r.Path, oauth.Mask(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")), tc.path)
				}
			}
			if got, err := x.account(info.ID); err != nil || got.State != "HEALTHY" || got.LastUsedAt.IsZero() {
				t.Fatalf("account after the requests: %+v %v", got, err)
			}
		})
	}
}

// qwenE2E starts a Core with a Qwen account logged in through the device flow, whose resource_url is a
// fake OpenAI-compatible upstream that has served one request; the OAuth fake then refuses every
// refresh with invalid_grant (RFC 6749 section 5.2).
func qwenE2E(t *testing.T) (*e2eCore, AccountInfo, oauth.Credential, *proxytest.Upstream) {
	t.Helper()
	fake := oauthfake.New(nil)
	t.Cleanup(fake.Close)
	up := proxytest.NewOpenAICompatible(t)
	fake.Set(func(k *oauthfake.Knobs) { k.QwenResourceURL = up.URL })
	x := startE2E(t, fake, nil)
	info, cred := x.deviceLogin(t, oauth.Qwen)
	if _, err := x.chat(t, "qwen3-coder-plus"); err != nil {
		t.Fatalf("before the refresh failed: %v", err)
	}
	fake.Set(func(k *oauthfake.Knobs) { k.RefreshError = "invalid_grant" })
	return x, info, cred, up
}

// waitRelogin waits for the event that asks the user to log in to Qwen again.
func (x *e2eCore) waitRelogin(t *testing.T) {
	t.Helper()
	for {
		if ev := waitEvent(t, x.events, "accounts"); ev.Title == "Log in to Qwen again" {
			return
		}
	}
}

// wantRelogin401 checks that both SDK clients get a 401 in their own API's error shape that names the
// provider and says to log in again, and that the upstream was not called.
func (x *e2eCore) wantRelogin401(t *testing.T, up *proxytest.Upstream) {
	t.Helper()
	hits := up.Hits()
	const want = "log in to Qwen again"
	_, err := x.chat(t, "qwen3-coder-plus")
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 401 || !strings.Contains(oe.Message, want) {
		t.Errorf("OpenAI client: %v %s", err, oe.RawJSON())
	}
	_, err = x.messages(t, "qwen3-coder-plus")
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 401 ||
		!strings.Contains(ae.RawJSON(), `"type":"authentication_error"`) || !strings.Contains(ae.RawJSON(), want) {
		t.Errorf("Anthropic client: %v", err)
	}
	if n := up.Hits() - hits; n != 0 {
		t.Errorf("the account out of service still reached the upstream %d times", n)
	}
}

// TestFailingRefreshAnswers401NamingTheProvider: the background refresher refreshes a token near
// expiry, the OAuth server refuses the refresh token, the account goes to ERROR, and clients are then
// told in their own format to log in to the provider again.
func TestFailingRefreshAnswers401NamingTheProvider(t *testing.T) {
	x, info, cred, up := qwenE2E(t)
	x.clk.Set(cred.Token.Expiry.Add(-4 * time.Minute)) // inside Qwen's 5 minute refresh lead
	x.refreshPass()
	x.waitRelogin(t)
	if n := x.fake.Refreshes(oauth.Qwen); n != 1 {
		t.Fatalf("the OAuth fake saw %d refresh grants, want 1", n)
	}
	refresh := x.fake.Requests("/qwen/api/v1/oauth2/token")
	if last := refresh[len(refresh)-1].Form; last["grant_type"] != "refresh_token" || last["refresh_token"] != cred.Token.RefreshToken {
		t.Fatalf("refresh grant %v", last)
	}
	if got, err := x.account(info.ID); err != nil || got.State != "ERROR" || !strings.Contains(got.Error, "log in to Qwen again") {
		t.Fatalf("account %+v %v", got, err)
	}
	x.wantRelogin401(t, up)
}

// TestRefreshRefusedDuringARequestAnswers401: when a request is what finds the token due (no background
// pass came first, e.g. after the computer slept) and the OAuth server refuses the refresh, clients are
// told to log in again, whether the old token had already expired or was served until it expired.
func TestRefreshRefusedDuringARequestAnswers401(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		x, _, cred, up := qwenE2E(t)
		x.clk.Set(cred.Token.Expiry.Add(time.Minute))
		x.wantRelogin401(t, up)
		x.waitRelogin(t)
		if n := x.fake.Refreshes(oauth.Qwen); n != 1 {
			t.Fatalf("the OAuth fake saw %d refresh grants, want 1", n)
		}
	})
	t.Run("near expiry", func(t *testing.T) {
		x, info, cred, up := qwenE2E(t)
		x.clk.Set(cred.Token.Expiry.Add(-4 * time.Minute))
		// The refresh fails, but the old token still works until it expires.
		if _, err := x.chat(t, "qwen3-coder-plus"); err != nil {
			t.Fatalf("with the old token still valid: %v", err)
		}
		x.waitRelogin(t)
		if got, err := x.account(info.ID); err != nil || got.State != "ERROR" {
			t.Fatalf("account %+v %v", got, err)
		}
		x.clk.Set(cred.Token.Expiry.Add(time.Minute))
		x.wantRelogin401(t, up)
		if n := x.fake.Refreshes(oauth.Qwen); n != 1 {
			t.Fatalf("the OAuth fake saw %d refresh grants, want 1", n)
		}
	})
}
