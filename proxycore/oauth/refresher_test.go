package oauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/proxytest/oauthfake"
)

// memStore is an in-memory TokenStore.
type memStore struct {
	mu    sync.Mutex // guards creds, saves, loads
	creds map[string]Credential
	saves int
	loads int
}

func (m *memStore) Load(_ context.Context, id string) (Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	c, ok := m.creds[id]
	if !ok {
		return Credential{}, fmt.Errorf("credential %s: not found", id)
	}
	return c, nil
}

func (m *memStore) Save(_ context.Context, c Credential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creds[c.ID] = c
	m.saves++
	return nil
}

type refreshEnv struct {
	fake  *oauthfake.Server
	ps    *Providers
	clk   *clock.Fake
	store *memStore
}

func newRefreshEnv(t *testing.T) *refreshEnv {
	t.Helper()
	clk := clock.NewFake(time.Time{})
	fake := oauthfake.New(clk.Now)
	t.Cleanup(fake.Close)
	ps, err := NewProviders(fake.Overrides())
	if err != nil {
		t.Fatal(err)
	}
	return &refreshEnv{fake: fake, ps: ps, clk: clk, store: &memStore{creds: map[string]Credential{}}}
}

// credential builds a stored credential for provider whose refresh token the fake accepts.
func (e *refreshEnv) credential(t *testing.T, provider string, expiresIn time.Duration) Credential {
	t.Helper()
	tok := Token{AccessToken: "old-access", Expiry: e.clk.Now().Add(expiresIn), Extra: map[string]string{"keep": "me"}}
	switch provider {
	case Copilot: // the GitHub token comes from a real device login against the fake
		s, err := e.ps.Login(context.Background(), Copilot, LoginOptions{Clock: e.clk, Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tok.RefreshToken = res.Token.RefreshToken
	case Kiro:
		id, secret := e.fake.RegisterAWSClient()
		tok.Extra[ExtraClientID], tok.Extra[ExtraClientSecret] = id, secret
		tok.RefreshToken = e.fake.IssueRefreshToken(provider)
	default:
		tok.RefreshToken = e.fake.IssueRefreshToken(provider)
	}
	c := Credential{ID: provider + ":acct", Provider: provider, Label: "acct", Token: tok}
	if err := e.store.Save(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *refreshEnv) refresher(t *testing.T, mod func(*RefresherOptions)) *Refresher {
	t.Helper()
	opts := RefresherOptions{Store: e.store, Providers: e.ps, Clock: e.clk, Lead: 5 * time.Minute}
	if mod != nil {
		mod(&opts)
	}
	r, err := NewRefresher(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRefreshAheadOfExpiry(t *testing.T) {
	for _, provider := range []string{ClaudeCode, Codex, GeminiCLI, Qwen, Kiro, Copilot} {
		t.Run(provider, func(t *testing.T) {
			e := newRefreshEnv(t)
			cred := e.credential(t, provider, 10*time.Minute)
			r := e.refresher(t, nil)
			before := e.fake.Refreshes(provider)
			tok, err := r.Token(context.Background(), cred.ID)
			if err != nil || tok.AccessToken != "old-access" {
				t.Fatalf("Token outside lead time = %v, %v; want the stored token", tok, err)
			}
			if e.fake.Refreshes(provider) != before {
				t.Fatal("refreshed outside the lead time")
			}
			e.clk.Advance(6 * time.Minute) // now 4 min before expiry: inside the 5 min lead
			tok, err = r.Token(context.Background(), cred.ID)
			if err != nil {
				t.Fatalf("Token inside lead time: %v", err)
			}
			if tok.AccessToken == "old-access" || !tok.Expiry.After(cred.Token.Expiry) {
				t.Fatalf("not refreshed: %v", tok)
			}
			if got := e.fake.Refreshes(provider) - before; got != 1 {
				t.Fatalf("fake saw %d refreshes, want 1", got)
			}
			if tok.RefreshToken == "" || tok.Extra["keep"] != "me" {
				t.Fatalf("refresh lost the refresh token or extras: %v %v", tok, tok.Extra)
			}
			stored, _ := e.store.Load(context.Background(), cred.ID)
			if stored.Token.AccessToken != tok.AccessToken || stored.Label != "acct" {
				t.Fatalf("refreshed token not persisted: %v", stored.Token)
			}
		})
	}
}

func TestRefreshDueInBackground(t *testing.T) {
	e := newRefreshEnv(t)
	soon := e.credential(t, Qwen, 3*time.Minute)
	later := e.credential(t, ClaudeCode, time.Hour)
	r := e.refresher(t, nil)
	r.Track(soon.ID)
	r.Track(later.ID)
	if n := r.RefreshDue(context.Background()); n != 1 {
		t.Fatalf("RefreshDue refreshed %d, want 1", n)
	}
	if e.fake.Refreshes(Qwen) != 1 || e.fake.Refreshes(ClaudeCode) != 0 {
		t.Fatalf("refreshes qwen=%d claude=%d", e.fake.Refreshes(Qwen), e.fake.Refreshes(ClaudeCode))
	}
	// Run: the first pass is immediate, then it waits on After; cancelling ends it.
	e.clk.Advance(56 * time.Minute)
	passes := make(chan struct{}, 1)
	r.opts.After = func(time.Duration) <-chan time.Time {
		passes <- struct{}{}
		return make(chan time.Time)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-passes
	if e.fake.Refreshes(ClaudeCode) != 1 {
		t.Fatalf("Run pass did not refresh the due credential")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}

// gateTransport holds token requests until released.
type gateTransport struct {
	release chan struct{}
	entered chan struct{}
}

func (g *gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	g.entered <- struct{}{}
	<-g.release
	return http.DefaultTransport.RoundTrip(req)
}

func TestRefreshSingleFlight(t *testing.T) {
	e := newRefreshEnv(t)
	cred := e.credential(t, Codex, time.Minute) // due now
	gate := &gateTransport{release: make(chan struct{}), entered: make(chan struct{}, 100)}
	r := e.refresher(t, func(o *RefresherOptions) { o.HTTPClient = &http.Client{Transport: gate} })
	const callers = 16
	type out struct {
		tok Token
		err error
	}
	results := make(chan out, callers)
	for range callers {
		go func() {
			tok, err := r.Token(context.Background(), cred.ID)
			results <- out{tok, err}
		}()
	}
	<-gate.entered // one refresh reached the network...
	for {          // ...and every other caller is waiting for it
		r.mu.Lock()
		c := r.inflight[cred.ID]
		n := c.waiters
		r.mu.Unlock()
		if n == callers-1 {
			break
		}
		runtime.Gosched()
	}
	close(gate.release)
	var first string
	for range callers {
		o := <-results
		if o.err != nil {
			t.Fatal(o.err)
		}
		if first == "" {
			first = o.tok.AccessToken
		}
		if o.tok.AccessToken != first || first == "old-access" {
			t.Fatalf("callers got different or stale tokens: %q vs %q", o.tok.AccessToken, first)
		}
	}
	if n := e.fake.Refreshes(Codex); n != 1 {
		t.Fatalf("fake saw %d refreshes, want 1", n)
	}
	if len(gate.entered) != 0 {
		t.Fatalf("%d extra token requests", len(gate.entered))
	}
}

func TestRefreshKeepsFailing(t *testing.T) {
	cases := []struct {
		name, refreshErr string
		wantCalls        int // refresh attempts until OnFailure
	}{
		{"server errors", "server_error", 3},
		{"invalid_grant", "invalid_grant", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newRefreshEnv(t)
			cred := e.credential(t, ClaudeCode, -time.Minute) // already expired
			e.fake.Set(func(k *oauthfake.Knobs) { k.RefreshError = tc.refreshErr })
			type failure struct {
				id, provider string
				err          error
			}
			var mu sync.Mutex
			var failures []failure
			r := e.refresher(t, func(o *RefresherOptions) {
				o.MaxFailures = 3
				o.OnFailure = func(id, provider string, err error) {
					mu.Lock()
					failures = append(failures, failure{id, provider, err})
					mu.Unlock()
				}
			})
			r.Track(cred.ID)
			for i := 1; i <= tc.wantCalls; i++ {
				_, err := r.Token(context.Background(), cred.ID)
				if err == nil {
					t.Fatal("Token succeeded with a failing refresh and an expired token")
				}
				var rel *ReloginError
				if isLast := i == tc.wantCalls; errors.As(err, &rel) != isLast {
					t.Fatalf("attempt %d: ReloginError=%v, err %v", i, !isLast, err)
				}
			}
			mu.Lock()
			got := append([]failure(nil), failures...)
			mu.Unlock()
			if len(got) != 1 || got[0].id != cred.ID || got[0].provider != ClaudeCode {
				t.Fatalf("OnFailure calls %+v", got)
			}
			if msg := got[0].err.Error(); !strings.Contains(msg, "log in to Claude Code again") {
				t.Fatalf("failure message %q", msg)
			}
			if strings.Contains(got[0].err.Error(), cred.Token.RefreshToken) {
				t.Fatal("failure message leaks the refresh token")
			}
			// A failed credential is not retried until it is tracked again after a new login.
			before := e.fake.Refreshes(ClaudeCode)
			if _, err := r.Token(context.Background(), cred.ID); err == nil {
				t.Fatal("failed credential returned a token")
			}
			r.RefreshDue(context.Background())
			if e.fake.Refreshes(ClaudeCode) != before || r.Failed(cred.ID) == nil {
				t.Fatal("failed credential was refreshed again")
			}
			e.fake.Set(func(k *oauthfake.Knobs) { k.RefreshError = "" })
			r.Track(cred.ID)
			if _, err := r.Token(context.Background(), cred.ID); err != nil {
				t.Fatalf("after re-track: %v", err)
			}
		})
	}
}

func TestRefreshFailureKeepsValidToken(t *testing.T) {
	e := newRefreshEnv(t)
	cred := e.credential(t, Qwen, 2*time.Minute) // due, but still valid
	e.fake.Set(func(k *oauthfake.Knobs) { k.RefreshError = "server_error" })
	r := e.refresher(t, nil)
	tok, err := r.Token(context.Background(), cred.ID)
	if err != nil || tok.AccessToken != "old-access" {
		t.Fatalf("Token = %v, %v; want the still-valid old token", tok, err)
	}
}

func TestMalformedRefreshNotStored(t *testing.T) {
	e := newRefreshEnv(t)
	cred := e.credential(t, GeminiCLI, -time.Minute)
	e.fake.Set(func(k *oauthfake.Knobs) { k.MalformedToken = true })
	r := e.refresher(t, nil)
	saves := e.store.saves
	if _, err := r.Token(context.Background(), cred.ID); !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("Token = %v, want ErrMalformedResponse", err)
	}
	if e.store.saves != saves {
		t.Fatal("a malformed answer was stored")
	}
}

func BenchmarkRefresherTokenCached(b *testing.B) {
	clk := clock.NewFake(time.Time{})
	ps, _ := NewProviders(nil)
	st := &memStore{creds: map[string]Credential{"c": {ID: "c", Provider: Codex, Token: Token{AccessToken: "a", Expiry: clk.Now().Add(24 * time.Hour)}}}}
	r, _ := NewRefresher(RefresherOptions{Store: st, Providers: ps, Clock: clk})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Token(context.Background(), "c"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTokenServedFromCacheUntilTracked(t *testing.T) {
	e := newRefreshEnv(t)
	cred := e.credential(t, ClaudeCode, 24*time.Hour)
	r := e.refresher(t, nil)
	for range 3 {
		if _, err := r.Token(context.Background(), cred.ID); err != nil {
			t.Fatal(err)
		}
	}
	if e.store.loads != 1 {
		t.Fatalf("store loads = %d, want 1 (then cached)", e.store.loads)
	}
	// A re-login replaces the stored credential; Track drops the cached copy.
	relogin := cred
	relogin.Token.AccessToken = "after-relogin"
	_ = e.store.Save(context.Background(), relogin)
	r.Track(cred.ID)
	tok, err := r.Token(context.Background(), cred.ID)
	if err != nil || tok.AccessToken != "after-relogin" {
		t.Fatalf("Token after Track = %v, %v", tok, err)
	}
}

// TestMissingCredentialWarnsOnce: a tracked credential the store cannot load is skipped by every pass
// but logged only when its error first appears (and again after it loaded in between).
func TestMissingCredentialWarnsOnce(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	ps, _ := NewProviders(nil)
	st := &memStore{creds: map[string]Credential{}}
	var logs bytes.Buffer
	r, _ := NewRefresher(RefresherOptions{Store: st, Providers: ps, Clock: clk, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	r.Track("lost")
	for range 3 {
		r.RefreshDue(context.Background())
	}
	if n := strings.Count(logs.String(), "cannot load tracked credential"); n != 1 {
		t.Fatalf("%d warnings over three passes, want 1:\n%s", n, logs.String())
	}
	st.Save(context.Background(), Credential{ID: "lost", Provider: Codex, Token: Token{AccessToken: "a", Expiry: clk.Now().Add(24 * time.Hour)}})
	r.RefreshDue(context.Background())
	delete(st.creds, "lost")
	r.RefreshDue(context.Background())
	if n := strings.Count(logs.String(), "cannot load tracked credential"); n != 2 {
		t.Fatalf("%d warnings, want a second one after the credential loaded in between:\n%s", n, logs.String())
	}
}
