// Package oauthfake runs fake OAuth servers for the subscription providers on one loopback
// httptest server: Anthropic (Claude Code), OpenAI (Codex), Google (gemini-cli, with userinfo and
// Code Assist), GitHub (device flow, user, Copilot token exchange), Qwen (device flow with PKCE) and
// AWS SSO-OIDC (Kiro Builder ID). Answers use each vendor's field names, status codes and error
// bodies, so the oauth package is tested against the wire format it meets in production.
package oauthfake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Knobs steer the fake's behaviour; change them with Server.Set.
type Knobs struct {
	// DenyConsent makes the authorize endpoints redirect with error=access_denied.
	DenyConsent bool
	// WrongState makes the authorize endpoints redirect with a state the client did not send.
	WrongState bool
	// PendingPolls is how many device polls answer authorization_pending before approval.
	PendingPolls int
	// SlowDownOnce makes the first device poll answer slow_down.
	SlowDownOnce bool
	// ExpireDevice makes device polls answer expired_token.
	ExpireDevice bool
	// DenyDevice makes device polls answer access_denied.
	DenyDevice bool
	// MalformedToken makes every token endpoint answer 200 with a body that is not a token.
	MalformedToken bool
	// RefreshError makes refresh grants fail: "invalid_grant" (400) or "server_error" (500).
	RefreshError string
	// AccessTTL is the access token lifetime (default 1 h).
	AccessTTL time.Duration
	// OnboardPolls is how many onboardUser calls answer done=false; with NeedOnboarding the
	// loadCodeAssist answer has no current tier.
	OnboardPolls   int
	NeedOnboarding bool
	// QwenResourceURL is the resource_url of Qwen token answers, the account's API host (default
	// ResourceURL, a bare host as the real service sends). Qwen Code keeps a value that starts with
	// http as it is (QwenLM/qwen-code getCurrentEndpoint), so an end-to-end test sets a loopback
	// fake's URL here.
	QwenResourceURL string
	// CopilotAPIURL is endpoints.api of the Copilot token exchange, the account's API base (default
	// CopilotAPI); an end-to-end test sets a loopback fake's URL here.
	CopilotAPIURL string
}

// Identity facts the fake reports.
const (
	Email       = "user@example.com"
	GitHubLogin = "octocat"
	ProjectID   = "fake-project-123"
	AccountID   = "acct-0000-1111"
	ResourceURL = "portal.qwen.example"
	CopilotAPI  = "https://api.individual.githubcopilot.example"
)

// Client ids the fake accepts, matching the oauth package defaults.
const (
	ClaudeClientID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
	CodexClientID  = "app_EMoamEEZ73f0CkXaXp7hrann"
	GoogleClientID = "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"
	GoogleSecret   = "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"
	GitHubClientID = "Iv1.b507a08c87ecfe98"
	QwenClientID   = "f0304373b74a44d2b584a3fb70ca9e56"
	DeviceUserCode = "WDJB-MJHT"
)

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	ts  *httptest.Server
	now func() time.Time

	mu        sync.Mutex // guards everything below
	knobs     Knobs
	codes     map[string]authCode
	devices   map[string]*device
	access    map[string]string // access token -> provider
	refresh   map[string]string // refresh token -> provider
	clients   map[string]string // AWS clientId -> clientSecret
	refreshes map[string]int
	polls     map[string]int
	onboards  int
	requests  []Request
}

// Request records one call to the fake (for assertions on what the client sent).
type Request struct {
	Path        string
	ContentType string
	Form        map[string]string // form or flat JSON body fields
	Auth        string
}

type authCode struct {
	provider, clientID, redirect, challenge, state string
}

type device struct {
	provider, clientID, challenge string
	polls                         int
	slowed, used                  bool
}

// New starts the fake; now may be nil for the system clock. Close it when done.
func New(now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{
		now: now, codes: map[string]authCode{}, devices: map[string]*device{},
		access: map[string]string{}, refresh: map[string]string{}, clients: map[string]string{},
		refreshes: map[string]int{}, polls: map[string]int{},
		knobs: Knobs{PendingPolls: 2},
	}
	mux := http.NewServeMux()
	s.routesAuthCode(mux)
	s.routesDevice(mux)
	s.ts = httptest.NewServer(mux)
	return s
}

// URL is the fake's base URL.
func (s *Server) URL() string { return s.ts.URL }

// Close stops the fake.
func (s *Server) Close() { s.ts.Close() }

// Set changes the knobs under the lock.
func (s *Server) Set(fn func(*Knobs)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.knobs)
}

func (s *Server) getKnobs() Knobs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.knobs
}

// Refreshes returns how many refresh grants (Copilot: token exchanges) provider received.
func (s *Server) Refreshes(provider string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes[provider]
}

// Polls returns how many device-token polls provider received.
func (s *Server) Polls(provider string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls[provider]
}

// Requests returns the calls received on path, oldest first.
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// IssueRefreshToken registers a refresh token for provider, for refresh tests that skip the login.
func (s *Server) IssueRefreshToken(provider string) string {
	rt := "rt-" + randHex(8)
	s.mu.Lock()
	s.refresh[rt] = provider
	s.mu.Unlock()
	return rt
}

// RegisterAWSClient registers an SSO-OIDC client for refresh tests that skip the login.
func (s *Server) RegisterAWSClient() (id, secret string) {
	id, secret = "cid-"+randHex(6), "csec-"+randHex(12)
	s.mu.Lock()
	s.clients[id] = secret
	s.mu.Unlock()
	return id, secret
}

// Overrides returns [providers.<id>] settings that point the oauth package at this fake, with
// loopback redirect URLs on port 0 (a free port per login).
func (s *Server) Overrides() map[string]map[string]string {
	u := s.ts.URL
	return map[string]map[string]string{
		"claude-code": {
			"auth-url": u + "/claude/oauth/authorize", "token-url": u + "/claude/v1/oauth/token",
			"redirect-url": "http://127.0.0.1:0/callback",
		},
		"codex": {
			"auth-url": u + "/codex/oauth/authorize", "token-url": u + "/codex/oauth/token",
			"redirect-url": "http://127.0.0.1:0/auth/callback",
		},
		"gemini-cli": {
			"auth-url": u + "/google/o/oauth2/v2/auth", "token-url": u + "/google/token",
			"redirect-url": "http://127.0.0.1:0/oauth2callback", "userinfo-url": u + "/google/oauth2/v1/userinfo?alt=json",
			"code-assist-url": u + "/google",
		},
		"copilot": {
			"device-code-url": u + "/github/login/device/code", "token-url": u + "/github/login/oauth/access_token",
			"user-url": u + "/github/api/user", "copilot-token-url": u + "/github/api/copilot_internal/v2/token",
		},
		"qwen": {
			"device-code-url": u + "/qwen/api/v1/oauth2/device/code", "token-url": u + "/qwen/api/v1/oauth2/token",
		},
		"kiro": {
			"register-url": u + "/aws/client/register", "device-code-url": u + "/aws/device_authorization",
			"token-url": u + "/aws/token", "social-refresh-url": u + "/kiro/refreshToken",
		},
	}
}

func (s *Server) record(r *http.Request, fields map[string]string) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Form: fields, Auth: r.Header.Get("Authorization")})
	s.mu.Unlock()
}

// newTokens issues an access/refresh pair for provider.
func (s *Server) newTokens(provider, prefixA, prefixR string) (access, refresh string, ttl time.Duration) {
	access, refresh = prefixA+randHex(16), prefixR+randHex(16)
	s.mu.Lock()
	s.access[access] = provider
	s.refresh[refresh] = provider
	ttl = s.knobs.AccessTTL
	s.mu.Unlock()
	if ttl <= 0 {
		ttl = time.Hour
	}
	return access, refresh, ttl
}

// useRefresh validates and consumes a refresh token, counting the grant and honouring RefreshError.
// It returns (status, errorCode) when the grant must fail.
func (s *Server) useRefresh(provider, rt string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshes[provider]++
	switch s.knobs.RefreshError {
	case "invalid_grant":
		return http.StatusBadRequest, "invalid_grant"
	case "server_error":
		return http.StatusInternalServerError, "server_error"
	}
	if s.refresh[rt] != provider {
		return http.StatusBadRequest, "invalid_grant"
	}
	delete(s.refresh, rt) // rotation: a refresh token works once
	return 0, ""
}

func (s *Server) validAccess(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access[token] != ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oauthError writes an RFC 6749 §5.2 error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// malformed writes a 200 answer that is not a token (an HTML error page, as proxies produce).
func malformed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("<html><body>Bad gateway</body></html>"))
}

func pkceOK(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// unsignedJWT builds a JWT with the given claims and a dummy signature.
func unsignedJWT(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	b, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString([]byte("sig"))
}
