package oauth

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AuthCodeConfig describes one PKCE (S256) authorization-code login with a loopback callback.
type AuthCodeConfig struct {
	// AuthURL, TokenURL, ClientID are required; ClientSecret is sent only when set (installed-app
	// clients such as gemini-cli publish theirs).
	AuthURL, TokenURL, ClientID, ClientSecret string
	// RedirectURL is the registered loopback redirect, e.g. http://localhost:54545/callback. Port 0
	// picks a free port (tests); the actual URL is then sent to the provider.
	RedirectURL string
	// Scopes are joined with spaces into the scope parameter.
	Scopes []string
	// ExtraAuthParams are appended to the authorize URL in order.
	ExtraAuthParams [][2]string
	// TokenFormat selects a form or JSON body for the code exchange.
	TokenFormat BodyFormat
	// StateInExchange adds the state to the exchange body (Claude's token endpoint expects it).
	StateInExchange bool
	// HTTPClient makes the exchange; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds the wait for the user (default 5 minutes).
	Timeout time.Duration
	// Now tells the time for the token expiry; nil means time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// AuthCodeFlow is a started authorization-code login: a loopback server waits for the provider's
// redirect while the user signs in, and SubmitRedirect accepts a pasted redirect URL instead.
type AuthCodeFlow struct {
	cfg      AuthCodeConfig
	state    string
	verifier string
	redirect string
	authURL  string
	ctx      context.Context
	cancel   context.CancelCauseFunc
	servers  []*http.Server

	codeOnce sync.Once
	codeCh   chan codeResult // receives the first callback outcome

	waitMu  sync.Mutex // guards waited, tok, raw, err: Wait runs the exchange once
	waited  bool
	tok     Token
	raw     rawResponse
	waitErr error
}

type codeResult struct {
	code string
	err  error
}

// callbackPage is what the browser shows after the redirect.
const callbackPage = `<!doctype html><html><head><meta charset="utf-8"><title>CLIProxy login</title></head>` +
	`<body style="font-family:sans-serif;margin:3em"><h2>%s</h2><p>%s</p></body></html>`

// StartAuthCode binds the loopback callback listener and prepares the authorize URL. It fails at
// once when the callback port is taken, naming the port. The listener is released when Wait
// returns a result, Cancel is called or ctx ends.
func StartAuthCode(ctx context.Context, cfg AuthCodeConfig) (*AuthCodeFlow, error) {
	if cfg.AuthURL == "" || cfg.TokenURL == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("auth-code login: auth-url, token-url, client-id and redirect-url are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ru, err := url.Parse(cfg.RedirectURL)
	if err != nil || ru.Scheme != "http" || ru.Hostname() == "" {
		return nil, fmt.Errorf("redirect-url %q: want an http loopback URL", cfg.RedirectURL)
	}
	host := ru.Hostname()
	if host != "localhost" && !isLoopbackIP(host) {
		return nil, fmt.Errorf("redirect-url %q: host must be localhost or a loopback address", cfg.RedirectURL)
	}
	port := 0
	if p := ru.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("redirect-url %q: bad port", cfg.RedirectURL)
		}
	}
	listenHost := host
	if host == "localhost" {
		listenHost = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(listenHost, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("%w: cannot listen on %s port %d for the login callback (another login or app may hold it; close it and retry): %w",
			ErrPortInUse, listenHost, port, err)
	}
	actual := ln.Addr().(*net.TCPAddr).Port
	listeners := []net.Listener{ln}
	if host == "localhost" { // browsers may resolve localhost to ::1; best effort
		if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(actual))); err == nil {
			listeners = append(listeners, ln6)
		}
	}
	ru.Host = net.JoinHostPort(host, strconv.Itoa(actual))
	verifier, challenge := newPKCE()
	f := &AuthCodeFlow{
		cfg:      cfg,
		state:    randomString(32),
		verifier: verifier,
		redirect: ru.String(),
		codeCh:   make(chan codeResult, 1),
	}
	f.ctx, f.cancel = context.WithCancelCause(ctx)
	f.authURL, err = f.buildAuthURL(challenge)
	if err != nil {
		for _, l := range listeners {
			_ = l.Close()
		}
		f.cancel(nil)
		return nil, err
	}
	mux := http.NewServeMux()
	path := ru.Path
	if path == "" {
		path = "/"
	}
	mux.HandleFunc(path, f.handleCallback)
	for _, l := range listeners {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		f.servers = append(f.servers, srv)
		go func() { _ = srv.Serve(l) }() // ends when close() shuts the server down
	}
	go func() { // the flow owns its servers: they go when it ends for any reason
		<-f.ctx.Done()
		f.close()
	}()
	return f, nil
}

func isLoopbackIP(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (f *AuthCodeFlow) buildAuthURL(challenge string) (string, error) {
	u, err := url.Parse(f.cfg.AuthURL)
	if err != nil {
		return "", fmt.Errorf("auth-url %q: %w", f.cfg.AuthURL, err)
	}
	q := u.Query()
	q.Set("client_id", f.cfg.ClientID)
	q.Set("response_type", "code")
	q.Set("redirect_uri", f.redirect)
	if len(f.cfg.Scopes) > 0 {
		q.Set("scope", strings.Join(f.cfg.Scopes, " "))
	}
	q.Set("code_challenge", challenge)
	q.Set("code_challenge_method", "S256")
	q.Set("state", f.state)
	for _, kv := range f.cfg.ExtraAuthParams {
		q.Set(kv[0], kv[1])
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// URL is the authorize URL to open in the browser.
func (f *AuthCodeFlow) URL() string { return f.authURL }

// RedirectURL is the loopback redirect actually registered with this flow (with the bound port).
func (f *AuthCodeFlow) RedirectURL() string { return f.redirect }

func (f *AuthCodeFlow) deliver(r codeResult) {
	f.codeOnce.Do(func() { f.codeCh <- r })
}

func (f *AuthCodeFlow) handleCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	page := func(status int, title, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, callbackPage, html.EscapeString(title), html.EscapeString(msg))
	}
	if q.Get("state") != f.state {
		f.deliver(codeResult{err: ErrStateMismatch})
		page(http.StatusBadRequest, "Login failed", "This answer does not belong to the login in progress. Start the login again from CLIProxy.")
		return
	}
	if e := q.Get("error"); e != "" {
		err := ErrConsentDenied
		if e != "access_denied" {
			err = fmt.Errorf("the provider refused the sign-in: %s", e)
		}
		f.deliver(codeResult{err: err})
		page(http.StatusOK, "Login cancelled", "The sign-in was declined. You can close this tab.")
		return
	}
	code := q.Get("code")
	if code == "" {
		page(http.StatusBadRequest, "Login failed", "The answer carried no code. Start the login again from CLIProxy.")
		return
	}
	f.deliver(codeResult{code: code})
	page(http.StatusOK, "Login complete", "You can close this tab and return to CLIProxy.")
}

// SubmitRedirect accepts what the user pasted when the browser could not reach the loopback server:
// the full redirect URL, its query string, or Claude's "code#state" form. A wrong state returns
// ErrStateMismatch and the flow keeps waiting; a bare code without state is accepted because the
// user copied it from their own browser.
func (f *AuthCodeFlow) SubmitRedirect(raw string) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return errors.New("nothing pasted: paste the full address the browser ended on")
	}
	var code, state, errCode string
	switch {
	case strings.Contains(raw, "://") || strings.HasPrefix(raw, "?") || strings.Contains(raw, "code="):
		s := raw
		if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
			s = u.RawQuery
			if s == "" {
				s = u.Fragment
			}
		}
		q, err := url.ParseQuery(strings.TrimPrefix(s, "?"))
		if err != nil {
			return fmt.Errorf("cannot read the pasted address: %w", err)
		}
		code, state, errCode = q.Get("code"), q.Get("state"), q.Get("error")
		if i := strings.IndexByte(code, '#'); i >= 0 && state == "" {
			code, state = code[:i], code[i+1:]
		}
	case strings.Contains(raw, "#"):
		i := strings.IndexByte(raw, '#')
		code, state = raw[:i], raw[i+1:]
	default:
		code = raw
	}
	if errCode == "access_denied" {
		f.deliver(codeResult{err: ErrConsentDenied})
		return ErrConsentDenied
	}
	if code == "" {
		return errors.New("the pasted address has no code: paste the full address the browser ended on")
	}
	if state != "" && state != f.state {
		return ErrStateMismatch
	}
	f.deliver(codeResult{code: code})
	return nil
}

// Cancel stops the flow; Wait returns ErrCanceled.
func (f *AuthCodeFlow) Cancel() { f.cancel(ErrCanceled) }

// close shuts the callback servers down gracefully, so the browser still receives the page that
// answered the callback, then forcibly after a few seconds.
func (f *AuthCodeFlow) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, s := range f.servers {
		if err := s.Shutdown(ctx); err != nil {
			_ = s.Close()
		}
	}
}

// Wait blocks until the callback (or a pasted redirect) delivers a code, then exchanges it for a
// token. It returns ErrCanceled after Cancel, an ErrExpired error after the timeout, and ctx's error
// when ctx ends first (the flow itself keeps running then). Later calls return the same outcome.
func (f *AuthCodeFlow) Wait(ctx context.Context) (Token, error) {
	tok, _, err := f.wait(ctx)
	return tok, err
}

func (f *AuthCodeFlow) wait(ctx context.Context) (Token, rawResponse, error) {
	f.waitMu.Lock()
	if f.waited {
		defer f.waitMu.Unlock()
		return f.tok, f.raw, f.waitErr
	}
	f.waitMu.Unlock()
	timer := time.NewTimer(f.cfg.Timeout)
	defer timer.Stop()
	var res codeResult
	select {
	case res = <-f.codeCh:
		f.codeCh <- res // keep it for a second Wait
	case <-ctx.Done():
		return Token{}, nil, ctx.Err()
	case <-f.ctx.Done():
		cause := context.Cause(f.ctx)
		if errors.Is(cause, ErrCanceled) {
			return Token{}, nil, ErrCanceled
		}
		return Token{}, nil, fmt.Errorf("login stopped: %w", cause)
	case <-timer.C:
		f.cancel(ErrExpired)
		return Token{}, nil, fmt.Errorf("%w: no answer from the browser within %s", ErrExpired, f.cfg.Timeout)
	}
	f.waitMu.Lock()
	defer f.waitMu.Unlock()
	if f.waited {
		return f.tok, f.raw, f.waitErr
	}
	f.waited = true
	defer f.cancel(nil) // the servers are no longer needed
	if res.err != nil {
		f.waitErr = res.err
		return Token{}, nil, res.err
	}
	params := map[string]string{
		"grant_type":    "authorization_code",
		"code":          res.code,
		"redirect_uri":  f.redirect,
		"client_id":     f.cfg.ClientID,
		"code_verifier": f.verifier,
	}
	if f.cfg.ClientSecret != "" {
		params["client_secret"] = f.cfg.ClientSecret
	}
	if f.cfg.StateInExchange {
		params["state"] = f.state
	}
	raw, err := postJSONOrForm(ctx, f.cfg.HTTPClient, f.cfg.TokenURL, f.cfg.TokenFormat, params, nil)
	if err == nil {
		f.tok, err = tokenFromResponse(raw, f.cfg.Now())
	}
	if err != nil {
		f.waitErr = fmt.Errorf("exchanging the login code: %w", err)
		return Token{}, nil, f.waitErr
	}
	f.raw = raw
	return f.tok, raw, nil
}
