package oauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest/oauthfake"
)

func TestDeviceLoginEndToEnd(t *testing.T) {
	cases := []struct {
		provider, label, pollPath, wantURI string
		wantInterval                       time.Duration
		check                              func(t *testing.T, h *harness, tok oauth.Token)
	}{
		{"copilot", oauthfake.GitHubLogin, "/github/login/oauth/access_token", "https://github.com/login/device", 5 * time.Second,
			func(t *testing.T, h *harness, tok oauth.Token) {
				if !strings.HasPrefix(tok.AccessToken, "tid=") || !strings.HasPrefix(tok.RefreshToken, "gho_") {
					t.Errorf("copilot token %v", tok)
				}
				if tok.Extra[oauth.ExtraAPIBase] != oauthfake.CopilotAPI || tok.Extra[oauth.ExtraLogin] != oauthfake.GitHubLogin {
					t.Errorf("copilot extra %v", tok.Extra)
				}
				if want := h.clk.Now().Add(30 * time.Minute).Truncate(time.Second); !tok.Expiry.Equal(want) {
					t.Errorf("copilot expiry %v, want %v (expires_at)", tok.Expiry, want)
				}
				if r := h.fake.Requests("/github/api/copilot_internal/v2/token"); len(r) != 1 || !strings.HasPrefix(r[0].Auth, "token gho_") {
					t.Errorf("copilot exchange requests %+v", r)
				}
			}},
		{"qwen", "Qwen account", "/qwen/api/v1/oauth2/token", "https://chat.qwen.ai/authorize", 5 * time.Second,
			func(t *testing.T, h *harness, tok oauth.Token) {
				if tok.Extra[oauth.ExtraResourceURL] != oauthfake.ResourceURL {
					t.Errorf("qwen extra %v", tok.Extra)
				}
				dc := h.fake.Requests("/qwen/api/v1/oauth2/device/code")
				if len(dc) != 1 || dc[0].Form["code_challenge_method"] != "S256" {
					t.Errorf("qwen device request %+v", dc)
				}
				if p := h.fake.Requests("/qwen/api/v1/oauth2/token"); p[len(p)-1].Form["code_verifier"] == "" {
					t.Errorf("qwen poll without code_verifier")
				}
			}},
		{"kiro", "AWS Builder ID", "/aws/token", "https://device.sso.us-east-1.amazonaws.com/", time.Second,
			func(t *testing.T, h *harness, tok oauth.Token) {
				if tok.Extra[oauth.ExtraClientID] == "" || tok.Extra[oauth.ExtraClientSecret] == "" || tok.Extra[oauth.ExtraRegion] != "us-east-1" {
					t.Errorf("kiro extra %v", tok.Extra)
				}
				reg := h.fake.Requests("/aws/client/register")
				if len(reg) != 1 || !strings.HasPrefix(reg[0].ContentType, "application/json") {
					t.Errorf("register requests %+v", reg)
				}
				if da := h.fake.Requests("/aws/device_authorization"); da[0].Form["startUrl"] != "https://view.awsapps.com/start" {
					t.Errorf("start URL %q", da[0].Form["startUrl"])
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.provider, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.Set(func(k *oauthfake.Knobs) { k.PendingPolls = 3 })
			s, err := h.ps.Login(context.Background(), tc.provider, h.opts())
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if s.UserCode != oauthfake.DeviceUserCode || s.VerificationURI != tc.wantURI || s.URL != "" {
				t.Fatalf("session %+v", s)
			}
			res, err := wait(t, s)
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if res.Label != tc.label || res.Token.AccessToken == "" {
				t.Fatalf("result %q %v", res.Label, res.Token)
			}
			if n := h.fake.Polls(tc.provider); n != 4 {
				t.Errorf("polls = %d, want 3 pending + 1 approved", n)
			}
			for _, d := range h.sleepsSeen() {
				if d != tc.wantInterval {
					t.Errorf("slept %v, want the server's interval %v", d, tc.wantInterval)
				}
			}
			if err := s.SubmitRedirect("http://x/?code=1"); err == nil {
				t.Error("SubmitRedirect accepted on a device login")
			}
			tc.check(t, h, res.Token)
		})
	}
}

func TestDeviceFailures(t *testing.T) {
	cases := []struct {
		name  string
		knobs func(*oauthfake.Knobs)
		want  error
	}{
		{"expired_token", func(k *oauthfake.Knobs) { k.ExpireDevice = true }, oauth.ErrExpired},
		{"code expires while pending", func(k *oauthfake.Knobs) { k.PendingPolls = 1 << 30 }, oauth.ErrExpired},
		{"access_denied", func(k *oauthfake.Knobs) { k.DenyDevice = true }, oauth.ErrConsentDenied},
		{"malformed token response", func(k *oauthfake.Knobs) { k.MalformedToken = true }, oauth.ErrMalformedResponse},
	}
	for _, provider := range []string{"copilot", "qwen", "kiro"} {
		for _, tc := range cases {
			t.Run(provider+"/"+tc.name, func(t *testing.T) {
				h := newHarness(t, nil)
				h.fake.Set(tc.knobs)
				s, err := h.ps.Login(context.Background(), provider, h.opts())
				if err != nil {
					t.Fatal(err)
				}
				res, err := wait(t, s)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Wait = %v, want %v", err, tc.want)
				}
				if res.Token.AccessToken != "" {
					t.Fatal("token returned from a failed login")
				}
				if st := s.Status(); st.State != oauth.StateError || !strings.Contains(st.Reason, "login") {
					t.Fatalf("status %+v", st)
				}
			})
		}
	}
}

func TestDeviceSlowDown(t *testing.T) {
	for _, provider := range []string{"copilot", "qwen", "kiro"} {
		t.Run(provider, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.Set(func(k *oauthfake.Knobs) { k.SlowDownOnce, k.PendingPolls = true, 2 })
			s, err := h.ps.Login(context.Background(), provider, h.opts())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := wait(t, s); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			sl := h.sleepsSeen()
			if len(sl) < 3 {
				t.Fatalf("sleeps %v", sl)
			}
			base := sl[0]
			for i, d := range sl[1:] {
				if d != base+5*time.Second {
					t.Fatalf("sleep %d = %v after slow_down, want %v (interval + 5 s): %v", i+1, d, base+5*time.Second, sl)
				}
			}
		})
	}
}

func TestDeviceFlowDirect(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.Set(func(k *oauthfake.Knobs) { k.PendingPolls = 1 })
	cfg := oauth.DeviceConfig{
		DeviceCodeURL: h.fake.URL() + "/qwen/api/v1/oauth2/device/code", TokenURL: h.fake.URL() + "/qwen/api/v1/oauth2/token",
		ClientID: oauthfake.QwenClientID, PKCE: true, Sleep: h.sleep, Now: h.clk.Now,
	}
	da, err := oauth.RequestDeviceCode(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURIComplete == "" || !da.ExpiresAt.Equal(h.clk.Now().Add(900*time.Second)) {
		t.Fatalf("device auth %+v", da)
	}
	tok, err := oauth.PollDeviceToken(context.Background(), cfg, da)
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("PollDeviceToken = %v, %v", tok, err)
	}
	// Without PKCE the Qwen fake refuses the device request.
	cfg.PKCE = false
	if _, err := oauth.RequestDeviceCode(context.Background(), cfg); err == nil {
		t.Fatal("device request without PKCE accepted")
	}
}
