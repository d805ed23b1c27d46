package oauth_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest/oauthfake"
)

// harness is a fake OAuth server, a provider table pointing at it, a fake clock and a fake sleep
// that advances the clock instead of waiting.
type harness struct {
	fake   *oauthfake.Server
	ps     *oauth.Providers
	clk    *clock.Fake
	mu     sync.Mutex // guards sleeps
	sleeps []time.Duration
}

func newHarness(t *testing.T, extra map[string]map[string]string) *harness {
	t.Helper()
	h := &harness{clk: clock.NewFake(time.Time{})}
	h.fake = oauthfake.New(h.clk.Now)
	t.Cleanup(h.fake.Close)
	ov := h.fake.Overrides()
	for id, kv := range extra {
		for k, v := range kv {
			ov[id][k] = v
		}
	}
	ps, err := oauth.NewProviders(ov)
	if err != nil {
		t.Fatalf("NewProviders: %v", err)
	}
	h.ps = ps
	return h
}

func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	h.sleeps = append(h.sleeps, d)
	h.mu.Unlock()
	h.clk.Advance(d)
	return ctx.Err()
}

func (h *harness) sleepsSeen() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

func (h *harness) opts() oauth.LoginOptions {
	return oauth.LoginOptions{Sleep: h.sleep, Clock: h.clk, Timeout: time.Minute}
}

// browse plays the browser: it opens the authorize URL and follows the redirect to the loopback
// callback, returning the page the callback served.
func browse(t *testing.T, authURL string) (int, string) {
	t.Helper()
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatalf("following the authorize URL: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func wait(t *testing.T, s *oauth.Session) (oauth.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Wait(ctx)
}

func TestAuthCodeLoginEndToEnd(t *testing.T) {
	cases := []struct {
		provider, label, tokenPath, contentType string
		check                                   func(t *testing.T, tok oauth.Token)
	}{
		{"claude-code", oauthfake.Email, "/claude/v1/oauth/token", "application/json", func(t *testing.T, tok oauth.Token) {
			if !strings.HasPrefix(tok.AccessToken, "sk-ant-oat01-") || tok.Extra[oauth.ExtraAccountID] != oauthfake.AccountID {
				t.Errorf("claude token %v extra %v", tok, tok.Extra)
			}
		}},
		{"codex", oauthfake.Email, "/codex/oauth/token", "application/x-www-form-urlencoded", func(t *testing.T, tok oauth.Token) {
			if tok.Extra[oauth.ExtraAccountID] != oauthfake.AccountID || tok.Extra[oauth.ExtraPlanType] != "plus" || tok.IDToken == "" {
				t.Errorf("codex extra %v", tok.Extra)
			}
		}},
		{"gemini-cli", oauthfake.Email, "/google/token", "application/x-www-form-urlencoded", func(t *testing.T, tok oauth.Token) {
			if tok.Extra[oauth.ExtraProjectID] != oauthfake.ProjectID || !strings.HasPrefix(tok.RefreshToken, "1//") {
				t.Errorf("gemini token %v extra %v", tok, tok.Extra)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.provider, func(t *testing.T) {
			h := newHarness(t, nil)
			s, err := h.ps.Login(context.Background(), tc.provider, h.opts())
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if s.URL == "" || s.UserCode != "" || s.Status().State != oauth.StatePending {
				t.Fatalf("session %+v", s)
			}
			status, page := browse(t, s.URL)
			if status != http.StatusOK || !strings.Contains(page, "You can close this tab") {
				t.Fatalf("callback page %d %q", status, page)
			}
			res, err := wait(t, s)
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if res.Label != tc.label || res.Token.AccessToken == "" || res.Token.RefreshToken == "" {
				t.Fatalf("result label %q token %v", res.Label, res.Token)
			}
			if want := h.clk.Now().Add(time.Hour); !res.Token.Expiry.Equal(want) {
				t.Errorf("expiry %v, want %v", res.Token.Expiry, want)
			}
			if s.Status().State != oauth.StateOK {
				t.Errorf("status %+v", s.Status())
			}
			reqs := h.fake.Requests(tc.tokenPath)
			if len(reqs) != 1 || !strings.HasPrefix(reqs[0].ContentType, tc.contentType) {
				t.Fatalf("token requests %+v", reqs)
			}
			if reqs[0].Form["code_verifier"] == "" || reqs[0].Form["grant_type"] != "authorization_code" {
				t.Errorf("exchange body %v", reqs[0].Form)
			}
			tc.check(t, res.Token)
		})
	}
}

func TestClaudeAuthorizeURLParams(t *testing.T) {
	h := newHarness(t, nil)
	s, err := h.ps.Login(context.Background(), "claude-code", h.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Cancel()
	for _, want := range []string{"code=true", "client_id=9d1c250a-e61b-44d9-88ed-5944d1962f5e", "response_type=code",
		"code_challenge_method=S256", "scope=org%3Acreate_api_key+user%3Aprofile+user%3Ainference", "redirect_uri=http%3A%2F%2F127.0.0.1%3A"} {
		if !strings.Contains(s.URL, want) {
			t.Errorf("authorize URL lacks %s: %s", want, s.URL)
		}
	}
}

func TestAuthCodeFailures(t *testing.T) {
	cases := []struct {
		name  string
		knobs func(*oauthfake.Knobs)
		want  error
	}{
		{"consent denied", func(k *oauthfake.Knobs) { k.DenyConsent = true }, oauth.ErrConsentDenied},
		{"state mismatch", func(k *oauthfake.Knobs) { k.WrongState = true }, oauth.ErrStateMismatch},
		{"malformed token response", func(k *oauthfake.Knobs) { k.MalformedToken = true }, oauth.ErrMalformedResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.Set(tc.knobs)
			s, err := h.ps.Login(context.Background(), "codex", h.opts())
			if err != nil {
				t.Fatal(err)
			}
			browse(t, s.URL)
			res, err := wait(t, s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Wait = %v, want %v", err, tc.want)
			}
			if res.Token.AccessToken != "" || res.Label != "" {
				t.Fatalf("a failed login returned a token: %+v", res)
			}
			st := s.Status()
			if st.State != oauth.StateError || st.Reason == "" {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

func TestCallbackPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	h := newHarness(t, map[string]map[string]string{"claude-code": {"redirect-url": "http://localhost:" + port + "/callback"}})
	_, err = h.ps.Login(context.Background(), "claude-code", h.opts())
	if !errors.Is(err, oauth.ErrPortInUse) {
		t.Fatalf("Login = %v, want ErrPortInUse", err)
	}
	if !strings.Contains(err.Error(), "port "+port) || !strings.Contains(err.Error(), "another login or app") {
		t.Fatalf("error does not name the port and cause: %v", err)
	}
}

// noFollow returns the authorize redirect target without visiting it, like a browser whose
// loopback request never arrived.
func noFollow(t *testing.T, authURL string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}

func TestSubmitRedirect(t *testing.T) {
	cases := []struct {
		name  string
		paste func(loc string) string
	}{
		{"full URL", func(loc string) string { return "  " + loc + "\n" }},
		{"query only", func(loc string) string { return loc[strings.Index(loc, "?"):] }},
		{"claude code#state", func(loc string) string {
			q := loc[strings.Index(loc, "?")+1:]
			vals := map[string]string{}
			for _, kv := range strings.Split(q, "&") {
				k, v, _ := strings.Cut(kv, "=")
				vals[k] = v
			}
			return vals["code"] + "#" + vals["state"]
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			s, err := h.ps.Login(context.Background(), "claude-code", h.opts())
			if err != nil {
				t.Fatal(err)
			}
			loc := noFollow(t, s.URL)
			if err := s.SubmitRedirect("http://127.0.0.1:1/callback?code=x&state=forged"); !errors.Is(err, oauth.ErrStateMismatch) {
				t.Fatalf("forged paste = %v, want ErrStateMismatch", err)
			}
			if s.Status().State != oauth.StatePending {
				t.Fatalf("a bad paste ended the login: %+v", s.Status())
			}
			if err := s.SubmitRedirect(tc.paste(loc)); err != nil {
				t.Fatalf("SubmitRedirect: %v", err)
			}
			res, err := wait(t, s)
			if err != nil || res.Label != oauthfake.Email {
				t.Fatalf("Wait = %+v, %v", res, err)
			}
		})
	}
}

func TestCancelLogin(t *testing.T) {
	h := newHarness(t, nil)
	for _, provider := range []string{"codex", "qwen"} {
		h.fake.Set(func(k *oauthfake.Knobs) { k.PendingPolls = 1 << 30 })
		blocked := make(chan struct{})
		opts := h.opts()
		if provider == "qwen" { // park the poll loop until cancelled
			opts.Sleep = func(ctx context.Context, d time.Duration) error {
				close(blocked)
				<-ctx.Done()
				return ctx.Err()
			}
		} else {
			close(blocked)
		}
		s, err := h.ps.Login(context.Background(), provider, opts)
		if err != nil {
			t.Fatal(err)
		}
		<-blocked
		s.Cancel()
		if _, err := wait(t, s); !errors.Is(err, oauth.ErrCanceled) {
			t.Fatalf("%s: Wait after Cancel = %v", provider, err)
		}
	}
}

// BenchmarkAuthCodeLogin measures a whole loopback login: authorize redirect, callback, PKCE code
// exchange and the account hook, all over loopback HTTP.
func BenchmarkAuthCodeLogin(b *testing.B) {
	fake := oauthfake.New(nil)
	defer fake.Close()
	ps, err := oauth.NewProviders(fake.Overrides())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := ps.Login(context.Background(), "claude-code", oauth.LoginOptions{})
		if err != nil {
			b.Fatal(err)
		}
		resp, err := http.Get(s.URL)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if _, err := s.Wait(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
