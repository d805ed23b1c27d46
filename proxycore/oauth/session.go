package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// LoginOptions tunes Login. Every field is optional.
type LoginOptions struct {
	// HTTPClient talks to the provider; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds the whole login (default 10 minutes).
	Timeout time.Duration
	// Sleep waits between device polls and onboarding checks; nil means a real timer.
	Sleep SleepFunc
	// Clock tells the time for expiries; nil means the system clock.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// State is a login session's progress.
type State string

// Session states.
const (
	StatePending State = "pending"
	StateOK      State = "ok"
	StateError   State = "error"
)

// Status is a session's state and, for StateError, a sentence for the user.
type Status struct {
	State  State
	Reason string
}

// Result is a finished login: the account label (email or login name) and its token set.
type Result struct {
	Label string
	Token Token
}

// Session is one login in progress, usable from the CLI and the management API alike. For an
// auth-code login URL is set; for a device login VerificationURI and UserCode are. The session runs
// on its own goroutine from Login until it finishes, Cancel is called, its timeout passes or the
// context given to Login ends (callers that outlive a request pass a long-lived context).
type Session struct {
	ID                      string
	Provider                string
	URL                     string
	VerificationURI         string
	VerificationURIComplete string
	UserCode                string
	ExpiresAt               time.Time

	flow   *AuthCodeFlow // nil for device logins
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu     sync.Mutex // guards status, result, err
	status Status
	result Result
	err    error
}

// Login starts a login for providerID and returns at once with the URL or device code to show.
func (ps *Providers) Login(ctx context.Context, providerID string, opts LoginOptions) (*Session, error) {
	p, ok := ps.Get(providerID)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownProvider, providerID)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Minute
	}
	if opts.Sleep == nil {
		opts.Sleep = realSleep
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	clk := clock.Or(opts.Clock)
	e := env{client: opts.HTTPClient, now: clk.Now, sleep: opts.Sleep}
	sctx, cancel := context.WithCancelCause(ctx)
	sctx, cancelTimeout := context.WithTimeoutCause(sctx, opts.Timeout, fmt.Errorf("%w: the login was not finished within %s", ErrExpired, opts.Timeout))
	s := &Session{
		ID: randomString(12), Provider: p.ID,
		cancel: cancel, done: make(chan struct{}),
		status: Status{State: StatePending},
	}
	var run func() (Token, rawResponse, error)
	switch p.Flow {
	case FlowAuthCode:
		flow, err := StartAuthCode(sctx, AuthCodeConfig{
			AuthURL: p.Setting("auth-url"), TokenURL: p.Setting("token-url"),
			ClientID: p.Setting("client-id"), ClientSecret: p.Setting("client-secret"),
			RedirectURL: p.Setting("redirect-url"), Scopes: p.Scopes, ExtraAuthParams: p.AuthParams,
			TokenFormat: p.TokenFormat, StateInExchange: p.StateInExchange,
			HTTPClient: opts.HTTPClient, Timeout: opts.Timeout, Now: clk.Now, Logger: opts.Logger,
		})
		if err != nil {
			cancelTimeout()
			cancel(nil)
			return nil, fmt.Errorf("starting %s login: %w", p.Name, err)
		}
		s.flow, s.URL = flow, flow.URL()
		run = func() (Token, rawResponse, error) { return flow.wait(sctx) }
	case FlowDevice:
		cfg := DeviceConfig{
			DeviceCodeURL: p.Setting("device-code-url"), TokenURL: p.Setting("token-url"),
			ClientID: p.Setting("client-id"), Scopes: p.Scopes, PKCE: p.DevicePKCE,
			HTTPClient: opts.HTTPClient, Sleep: opts.Sleep, Now: clk.Now,
		}
		da, err := RequestDeviceCode(sctx, cfg)
		if err != nil {
			cancelTimeout()
			cancel(nil)
			return nil, fmt.Errorf("starting %s login: %w", p.Name, err)
		}
		s.setDevice(da)
		run = func() (Token, rawResponse, error) { return pollDevice(sctx, cfg, da) }
	case FlowAWSDevice:
		d, err := p.startAWSDevice(sctx, e)
		if err != nil {
			cancelTimeout()
			cancel(nil)
			return nil, fmt.Errorf("starting %s login: %w", p.Name, err)
		}
		s.setDevice(d.auth)
		run = func() (Token, rawResponse, error) { return p.pollAWSDevice(sctx, e, d) }
	default:
		cancelTimeout()
		cancel(nil)
		return nil, fmt.Errorf("provider %s: unknown flow %q", p.ID, p.Flow)
	}
	go func() {
		defer close(s.done)
		defer cancelTimeout()
		defer func() {
			if r := recover(); r != nil {
				opts.Logger.Error("oauth: login panicked", "provider", p.ID, "panic", r)
				s.finish(Result{}, fmt.Errorf("internal error during %s login", p.Name))
			}
		}()
		tok, raw, err := run()
		if err == nil {
			var label string
			label, err = p.postLogin(sctx, e, &tok, raw)
			if err == nil {
				s.finish(Result{Label: label, Token: tok}, nil)
				opts.Logger.Info("oauth: login complete", "provider", p.ID, "account", label)
				return
			}
		}
		if c := context.Cause(sctx); c != nil && errors.Is(err, sctx.Err()) {
			err = c // report "cancelled" or "expired" rather than "context canceled"
		}
		opts.Logger.Warn("oauth: login failed", "provider", p.ID, "err", err.Error())
		s.finish(Result{}, fmt.Errorf("%s login: %w", p.Name, err))
	}()
	return s, nil
}

func (s *Session) setDevice(da *DeviceAuth) {
	s.VerificationURI, s.VerificationURIComplete = da.VerificationURI, da.VerificationURIComplete
	s.UserCode, s.ExpiresAt = da.UserCode, da.ExpiresAt
}

func (s *Session) finish(r Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.State != StatePending {
		return
	}
	s.result, s.err = r, err
	if err != nil {
		s.status = Status{State: StateError, Reason: err.Error()}
	} else {
		s.status = Status{State: StateOK}
	}
}

// Wait blocks until the login finishes or ctx ends (which does not stop the login).
func (s *Session) Wait(ctx context.Context) (Result, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.result, s.err
}

// Done is closed when the login has finished.
func (s *Session) Done() <-chan struct{} { return s.done }

// Cancel stops the login; Wait then returns an error wrapping ErrCanceled.
func (s *Session) Cancel() {
	if s.flow != nil {
		s.flow.Cancel()
	}
	s.cancel(ErrCanceled)
}

// SubmitRedirect hands a pasted redirect URL (or Claude's code#state) to an auth-code login.
func (s *Session) SubmitRedirect(rawURL string) error {
	if s.flow == nil {
		return errors.New("this login uses a device code: there is no redirect address to paste")
	}
	return s.flow.SubmitRedirect(rawURL)
}

// Status reports the session's state.
func (s *Session) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}
