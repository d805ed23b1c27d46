package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest/oauthfake"
)

func TestNewProvidersOverrides(t *testing.T) {
	cases := []struct {
		name      string
		overrides map[string]map[string]string
		provider  string
		key, want string
		wantErr   string
	}{
		{"default", nil, "codex", "token-url", "https://auth.openai.com/oauth/token", ""},
		{"claude default token host", nil, "claude-code", "token-url", "https://platform.claude.com/v1/oauth/token", ""},
		{"override", map[string]map[string]string{"codex": {"token-url": "http://127.0.0.1:9/t"}}, "codex", "token-url", "http://127.0.0.1:9/t", ""},
		{"kiro region", map[string]map[string]string{"kiro": {"region": "eu-west-1"}}, "kiro", "token-url", "https://oidc.eu-west-1.amazonaws.com/token", ""},
		{"kiro region with explicit url", map[string]map[string]string{"kiro": {"region": "eu-west-1", "token-url": "http://x.test/token"}}, "kiro", "token-url", "http://x.test/token", ""},
		{"unknown keys and ids ignored", map[string]map[string]string{"openai": {"base-url": "x"}, "qwen": {"headers": "x"}}, "qwen", "client-id", "f0304373b74a44d2b584a3fb70ca9e56", ""},
		{"bad url", map[string]map[string]string{"copilot": {"copilot-token-url": "not a url"}}, "", "", "", "providers.copilot.copilot-token-url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := oauth.NewProviders(tc.overrides)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, ok := ps.Get(tc.provider)
			if !ok {
				t.Fatalf("no provider %s", tc.provider)
			}
			if got := p.Setting(tc.key); got != tc.want {
				t.Fatalf("%s = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
	ps, _ := oauth.NewProviders(nil)
	if got := strings.Join(ps.IDs(), ","); got != "claude-code,codex,copilot,gemini-cli,kiro,qwen" {
		t.Fatalf("IDs = %s", got)
	}
	if _, err := ps.Login(context.Background(), "iflow", oauth.LoginOptions{}); !errors.Is(err, oauth.ErrUnknownProvider) {
		t.Fatalf("Login(iflow) = %v", err)
	}
}

func TestGeminiOnboarding(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.Set(func(k *oauthfake.Knobs) { k.NeedOnboarding, k.OnboardPolls = true, 2 })
	s, err := h.ps.Login(context.Background(), "gemini-cli", h.opts())
	if err != nil {
		t.Fatal(err)
	}
	browse(t, s.URL)
	res, err := wait(t, s)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if res.Token.Extra[oauth.ExtraProjectID] != oauthfake.ProjectID {
		t.Fatalf("project %q", res.Token.Extra[oauth.ExtraProjectID])
	}
	if n := len(h.fake.Requests("/google/v1internal:onboardUser")); n != 3 {
		t.Fatalf("onboardUser calls = %d, want 2 pending + 1 done", n)
	}
}

func TestTokenJSONAndMasking(t *testing.T) {
	exp := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tok := oauth.Token{AccessToken: "sk-ant-oat01-SECRETSECRET", RefreshToken: "sk-ant-ort01-SECRET", TokenType: "Bearer",
		Expiry: exp, Extra: map[string]string{oauth.ExtraEmail: "a@b.c"}}
	b, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	var back oauth.Token
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.AccessToken != tok.AccessToken || !back.Expiry.Equal(exp) || back.Extra[oauth.ExtraEmail] != "a@b.c" {
		t.Fatalf("round trip %s -> %#v", b, back)
	}
	if s := tok.String(); strings.Contains(s, "SECRET") || !strings.Contains(s, "sk-a****") {
		t.Fatalf("String leaks: %s", s)
	}
	if strings.Contains(string(mustJSON(t, oauth.Token{AccessToken: "x"})), "expiry") {
		t.Fatal("zero expiry serialised")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTokenErrorClassification(t *testing.T) {
	cases := []struct {
		code string
		is   error
	}{
		{"invalid_grant", oauth.ErrInvalidGrant},
		{"access_denied", oauth.ErrConsentDenied},
		{"expired_token", oauth.ErrExpired},
	}
	for _, tc := range cases {
		err := error(&oauth.TokenError{Status: 400, Code: tc.code})
		if !errors.Is(err, tc.is) {
			t.Errorf("%s does not match %v", tc.code, tc.is)
		}
		if errors.Is(err, oauth.ErrMalformedResponse) {
			t.Errorf("%s matches ErrMalformedResponse", tc.code)
		}
	}
}

func TestQwenBaseURL(t *testing.T) {
	cases := []struct{ resource, want string }{
		{"", "https://portal.qwen.ai/v1"},
		{"portal.qwen.ai", "https://portal.qwen.ai/v1"},
		{"https://dashscope.example/", "https://dashscope.example/v1"},
		{"https://x.example/v1", "https://x.example/v1"},
	}
	for _, tc := range cases {
		tok := oauth.Token{Extra: map[string]string{oauth.ExtraResourceURL: tc.resource}}
		if got := oauth.QwenBaseURL(tok, "https://portal.qwen.ai/v1"); got != tc.want {
			t.Errorf("QwenBaseURL(%q) = %q, want %q", tc.resource, got, tc.want)
		}
	}
}
