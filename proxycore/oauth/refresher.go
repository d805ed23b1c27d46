package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// RefresherOptions configures NewRefresher. Store and Providers are required.
type RefresherOptions struct {
	// Store loads and saves credentials.
	Store TokenStore
	// Providers tells how each provider refreshes.
	Providers *Providers
	// HTTPClient; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Clock; nil means the system clock.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// Lead overrides every provider's RefreshLead when > 0.
	Lead time.Duration
	// MaxFailures is how many consecutive failed refreshes mark a credential failed (default 3).
	// invalid_grant marks it failed at once.
	MaxFailures int
	// CheckInterval is how often Run looks for credentials due for refresh (default 30 s).
	CheckInterval time.Duration
	// After returns a channel that fires after d; nil means time.After. Tests drive Run with it.
	After func(d time.Duration) <-chan time.Time
	// OnFailure is called once when a credential becomes failed; err's message tells the user to
	// "log in to <provider> again". Nil means no callback.
	OnFailure func(id, provider string, err error)
}

// Refresher keeps tracked credentials fresh: ahead of expiry in the background (Run) and on demand
// (Token). At most one refresh per credential runs at a time; concurrent callers share its result.
type Refresher struct {
	opts RefresherOptions
	clk  clock.Clock
	e    env

	mu       sync.Mutex // guards tracked, cache, inflight, failures, failed, loadErr
	tracked  map[string]bool
	cache    map[string]Credential // last loaded or saved credential, so Token needs no store read
	inflight map[string]*refreshCall
	failures map[string]int
	failed   map[string]error
	loadErr  map[string]string // the last error loading a tracked credential, logged once
}

type refreshCall struct {
	done    chan struct{}
	waiters int // callers sharing this refresh (guarded by Refresher.mu)
	tok     Token
	err     error
}

// ReloginError is reported when a credential cannot be refreshed any more.
type ReloginError struct {
	Provider string // display name
	Err      error
}

// Error tells the user what to do.
func (e *ReloginError) Error() string {
	return fmt.Sprintf("log in to %s again: %v", e.Provider, e.Err)
}

// Unwrap returns the cause.
func (e *ReloginError) Unwrap() error { return e.Err }

// NewRefresher validates opts and returns a Refresher with no tracked credentials.
func NewRefresher(opts RefresherOptions) (*Refresher, error) {
	if opts.Store == nil || opts.Providers == nil {
		return nil, errors.New("oauth refresher: Store and Providers are required")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 3
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = 30 * time.Second
	}
	if opts.After == nil {
		opts.After = time.After
	}
	clk := clock.Or(opts.Clock)
	return &Refresher{
		opts: opts, clk: clk,
		e:        env{client: opts.HTTPClient, now: clk.Now, sleep: realSleep},
		tracked:  map[string]bool{},
		cache:    map[string]Credential{},
		inflight: map[string]*refreshCall{},
		failures: map[string]int{},
		failed:   map[string]error{},
		loadErr:  map[string]string{},
	}, nil
}

// Track adds a credential to the background refresh set and clears any failed state and cached
// copy (call it again after a re-login replaced the stored credential).
func (r *Refresher) Track(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tracked[id] = true
	delete(r.cache, id)
	delete(r.failures, id)
	delete(r.failed, id)
	delete(r.loadErr, id)
}

// Untrack removes a credential from the background refresh set.
func (r *Refresher) Untrack(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.tracked, id)
	delete(r.cache, id)
	delete(r.failures, id)
	delete(r.failed, id)
	delete(r.loadErr, id)
}

// Failed returns the error that marked id failed, or nil.
func (r *Refresher) Failed(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed[id]
}

func (r *Refresher) lead(p *Provider) time.Duration {
	if r.opts.Lead > 0 {
		return r.opts.Lead
	}
	return p.RefreshLead
}

// due reports whether tok should be refreshed now.
func (r *Refresher) due(p *Provider, tok Token) bool {
	if tok.Expiry.IsZero() {
		return tok.AccessToken == ""
	}
	return !r.clk.Now().Before(tok.Expiry.Add(-r.lead(p)))
}

// Token returns a usable token for id, refreshing first when it is within the lead time of expiry.
// If that refresh fails but the old token has not expired yet, the old token is returned.
func (r *Refresher) Token(ctx context.Context, id string) (Token, error) {
	r.mu.Lock()
	cred, ok := r.cache[id]
	r.mu.Unlock()
	if !ok {
		var err error
		if cred, err = r.opts.Store.Load(ctx, id); err != nil {
			return Token{}, fmt.Errorf("loading credential %s: %w", id, err)
		}
		r.remember(cred)
	}
	p, ok := r.opts.Providers.Get(cred.Provider)
	if !ok {
		return Token{}, fmt.Errorf("credential %s: %w %q", id, ErrUnknownProvider, cred.Provider)
	}
	if !r.due(p, cred.Token) {
		return cred.Token, nil
	}
	tok, err := r.Refresh(ctx, id)
	if err != nil {
		if cred.Token.Valid(r.clk.Now()) {
			return cred.Token, nil
		}
		return Token{}, err
	}
	return tok, nil
}

// Refresh refreshes id now. Concurrent calls for the same id wait for one shared refresh.
func (r *Refresher) Refresh(ctx context.Context, id string) (Token, error) {
	r.mu.Lock()
	if c, ok := r.inflight[id]; ok {
		c.waiters++
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.tok, c.err
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
	}
	if err := r.failed[id]; err != nil {
		r.mu.Unlock()
		return Token{}, err
	}
	c := &refreshCall{done: make(chan struct{})}
	r.inflight[id] = c
	r.mu.Unlock()

	// The refresh outlives a caller that gives up: others may be waiting on it.
	c.tok, c.err = r.doRefresh(context.WithoutCancel(ctx), id)

	r.mu.Lock()
	delete(r.inflight, id)
	r.mu.Unlock()
	close(c.done)
	return c.tok, c.err
}

func (r *Refresher) doRefresh(ctx context.Context, id string) (Token, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cred, err := r.opts.Store.Load(ctx, id)
	if err != nil {
		return Token{}, fmt.Errorf("loading credential %s: %w", id, err)
	}
	p, ok := r.opts.Providers.Get(cred.Provider)
	if !ok {
		return Token{}, fmt.Errorf("credential %s: %w %q", id, ErrUnknownProvider, cred.Provider)
	}
	// Another process or an earlier call may have refreshed it already.
	if !r.due(p, cred.Token) {
		r.remember(cred)
		r.recordSuccess(id)
		return cred.Token, nil
	}
	tok, err := p.refresh(ctx, r.e, cred.Token)
	if err != nil {
		return Token{}, r.recordFailure(id, p, fmt.Errorf("refreshing %s token: %w", p.ID, err))
	}
	cred.Token = tok
	if err := r.opts.Store.Save(ctx, cred); err != nil {
		return Token{}, fmt.Errorf("saving refreshed %s token: %w", p.ID, err)
	}
	r.remember(cred)
	r.recordSuccess(id)
	r.opts.Logger.Info("oauth: token refreshed", "credential", id, "provider", p.ID, "expiry", tok.Expiry)
	return tok, nil
}

func (r *Refresher) remember(cred Credential) {
	r.mu.Lock()
	r.cache[cred.ID] = cred
	r.mu.Unlock()
}

func (r *Refresher) recordSuccess(id string) {
	r.mu.Lock()
	delete(r.failures, id)
	r.mu.Unlock()
}

// recordFailure counts a failed refresh and marks the credential failed after MaxFailures in a row
// or at once on invalid_grant, calling OnFailure exactly once.
func (r *Refresher) recordFailure(id string, p *Provider, err error) error {
	r.mu.Lock()
	r.failures[id]++
	n := r.failures[id]
	fatal := errors.Is(err, ErrInvalidGrant) || n >= r.opts.MaxFailures
	var rel error
	if fatal && r.failed[id] == nil {
		rel = &ReloginError{Provider: p.Name, Err: err}
		r.failed[id] = rel
	}
	r.mu.Unlock()
	r.opts.Logger.Warn("oauth: token refresh failed", "credential", id, "provider", p.ID, "attempt", n, "err", err.Error())
	if rel != nil {
		if r.opts.OnFailure != nil {
			r.opts.OnFailure(id, p.ID, rel)
		}
		return rel
	}
	return err
}

// noteLoad records the outcome of loading tracked credential id for a refresh pass and reports whether
// it loaded. A failure is logged when it first happens or changes, not on every pass (a credential the
// keystore lost would otherwise log a warning every pass until the account is removed).
func (r *Refresher) noteLoad(id string, err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.loadErr, id)
		return true
	}
	if r.loadErr[id] != err.Error() {
		r.loadErr[id] = err.Error()
		r.opts.Logger.Warn("oauth: cannot load tracked credential", "credential", id, "err", err.Error())
	}
	return false
}

// RefreshDue refreshes every tracked, non-failed credential within its lead time of expiry, one
// after another, and returns how many it refreshed.
func (r *Refresher) RefreshDue(ctx context.Context) int {
	r.mu.Lock()
	ids := make([]string, 0, len(r.tracked))
	for id := range r.tracked {
		if r.failed[id] == nil {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	sort.Strings(ids)
	n := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			return n
		}
		cred, err := r.opts.Store.Load(ctx, id)
		if !r.noteLoad(id, err) {
			continue
		}
		p, ok := r.opts.Providers.Get(cred.Provider)
		if !ok || !r.due(p, cred.Token) {
			continue
		}
		if _, err := r.Refresh(ctx, id); err == nil {
			n++
		}
	}
	return n
}

// Run refreshes due credentials every CheckInterval until ctx ends. It recovers from panics in a
// pass and logs them, so one bad credential cannot stop the loop.
func (r *Refresher) Run(ctx context.Context) error {
	for {
		func() {
			defer func() {
				if p := recover(); p != nil {
					r.opts.Logger.Error("oauth: refresh pass panicked", "panic", p)
				}
			}()
			r.RefreshDue(ctx)
		}()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.opts.After(r.opts.CheckInterval):
		}
	}
}
