package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pkg/browser"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
)

// Login states reported by Login.State.
const (
	LoginWaiting  = "waiting"
	LoginDone     = "done"
	LoginFailed   = "failed"
	LoginCanceled = "canceled"
)

// keepFinishedLogins is how long a finished login stays visible to GET /logins/{id}.
const keepFinishedLogins = 10 * time.Minute

// LoginProvider is a subscription provider one can log in to.
type LoginProvider struct {
	ID     string
	Name   string
	Device bool // the login shows a code to enter on a web page instead of opening a callback page
}

// LoginProviders lists the subscription providers in a stable order.
func (c *Core) LoginProviders() []LoginProvider {
	ids := c.providers.IDs()
	out := make([]LoginProvider, 0, len(ids))
	for _, id := range ids {
		p, _ := c.providers.Get(id)
		out = append(out, LoginProvider{ID: p.ID, Name: p.Name, Device: p.Flow != oauth.FlowAuthCode})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LoginOptions tunes StartLogin.
type LoginOptions struct {
	// NoBrowser leaves opening the URL to the caller (it is shown or printed instead).
	NoBrowser bool
	// OpenURL opens a URL in the browser; nil means the system browser (github.com/pkg/browser).
	OpenURL func(string) error
}

// Login is one login in progress. For a browser login URL is set (and a pasted redirect URL can finish
// it through SubmitRedirect); for a device login VerificationURI and UserCode are set.
type Login struct {
	ID                      string
	Provider                string
	ProviderName            string
	URL                     string
	VerificationURI         string
	VerificationURIComplete string
	UserCode                string
	ExpiresAt               time.Time
	Device                  bool
	// BrowserError is set when opening the browser failed: show URL to the user instead.
	BrowserError string

	sess *oauth.Session
	done chan struct{}

	mu       sync.Mutex // guards state, info, err, finished
	state    string
	info     AccountInfo
	err      error
	finished time.Time
}

// StartLogin starts a login and returns at once with what to show the user. The login then runs in
// the background under the Core's lifetime (ctx bounds only the start); when it succeeds the account
// is saved, refreshed from then on and routable, and a "login" event is emitted. A login of the same
// provider still waiting is cancelled first: the new one replaces it.
func (c *Core) StartLogin(ctx context.Context, providerID string, o LoginOptions) (*Login, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, ok := c.providers.Get(providerID)
	if !ok {
		return nil, fmt.Errorf("unknown provider %q: choose one of %v", providerID, c.providers.IDs())
	}
	c.cancelWaiting(providerID)
	start, cancel := context.WithCancel(c.lifeCtx)
	stop := context.AfterFunc(ctx, cancel) // the caller giving up before the start ends it
	sess, err := c.providers.Login(start, providerID, oauth.LoginOptions{
		HTTPClient: c.httpClient, Sleep: c.opts.LoginSleep, Clock: c.clk, Logger: c.log,
	})
	if !stop() {
		cancel()
		if sess != nil {
			sess.Cancel()
		}
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	l := &Login{
		ID: sess.ID, Provider: p.ID, ProviderName: p.Name, URL: sess.URL, VerificationURI: sess.VerificationURI,
		VerificationURIComplete: sess.VerificationURIComplete, UserCode: sess.UserCode, ExpiresAt: sess.ExpiresAt,
		Device: p.Flow != oauth.FlowAuthCode, sess: sess, done: make(chan struct{}), state: LoginWaiting,
	}
	if !o.NoBrowser {
		open := o.OpenURL
		if open == nil {
			open = browser.OpenURL
		}
		target := l.URL
		if target == "" {
			target = firstNonEmpty(l.VerificationURIComplete, l.VerificationURI)
		}
		if target != "" {
			if err := open(target); err != nil {
				l.BrowserError = err.Error()
				c.log.Info("could not open the browser; show the address instead", "err", err)
			}
		}
	}
	if !c.addLogin(l) {
		sess.Cancel()
		cancel()
		return nil, errors.New("the proxy core is closed")
	}
	go func() {
		defer c.wg.Done()
		defer cancel()
		c.finishLogin(l)
	}()
	return l, nil
}

// finishLogin waits for the session and saves the account.
func (c *Core) finishLogin(l *Login) {
	res, err := l.sess.Wait(c.lifeCtx)
	var info AccountInfo
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.lifeCtx), 30*time.Second)
		info, err = c.saveAccount(ctx, l.Provider, res.Label, res.Token)
		cancel()
	}
	state := LoginDone
	switch {
	case err == nil:
	case errors.Is(err, oauth.ErrCanceled), errors.Is(err, context.Canceled):
		state, err = LoginCanceled, fmt.Errorf("%s login cancelled", l.ProviderName)
	default:
		state = LoginFailed
	}
	l.mu.Lock()
	l.state, l.info, l.err, l.finished = state, info, err, c.clk.Now()
	l.mu.Unlock()
	close(l.done)
	e := Event{Kind: "login", Key: l.ID}
	switch state {
	case LoginDone:
		e.Title, e.Body = "Logged in to "+l.ProviderName, info.Label
	case LoginCanceled:
		e.Title = l.ProviderName + " login cancelled"
	default:
		e.Title, e.Body = l.ProviderName+" login failed", err.Error()
	}
	c.emit(e)
}

// Wait blocks until the login finishes or ctx ends, and returns the new account.
func (l *Login) Wait(ctx context.Context) (AccountInfo, error) {
	select {
	case <-l.done:
	case <-ctx.Done():
		return AccountInfo{}, ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info, l.err
}

// Done is closed when the login has finished.
func (l *Login) Done() <-chan struct{} { return l.done }

// Cancel stops the login; Wait then reports it cancelled.
func (l *Login) Cancel() { l.sess.Cancel() }

// SubmitRedirect finishes a browser login with the address the browser was sent to (or Claude's
// code#state), for when the loopback callback cannot be reached.
func (l *Login) SubmitRedirect(rawURL string) error { return l.sess.SubmitRedirect(rawURL) }

// State reports "waiting", "done", "failed" or "canceled".
func (l *Login) State() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Err returns why the login failed, or nil.
func (l *Login) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Account returns the account a successful login added.
func (l *Login) Account() AccountInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// addLogin registers a login and counts its watcher in c.wg; it reports false once Close has begun.
func (c *Core) addLogin(l *Login) bool {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.lifeCtx.Err() != nil {
		return false
	}
	c.wg.Add(1)
	now := c.clk.Now()
	for id, old := range c.logins {
		old.mu.Lock()
		stale := !old.finished.IsZero() && now.Sub(old.finished) > keepFinishedLogins
		old.mu.Unlock()
		if stale {
			delete(c.logins, id)
		}
	}
	c.logins[l.ID] = l
	return true
}

// cancelWaiting cancels the logins of providerID still waiting, so that a new login replaces them (a
// browser login's fixed callback port would otherwise still be taken), and waits briefly for them to end.
func (c *Core) cancelWaiting(providerID string) {
	c.loginMu.Lock()
	var prev []*Login
	for _, l := range c.logins {
		if l.Provider == providerID && l.State() == LoginWaiting {
			prev = append(prev, l)
		}
	}
	c.loginMu.Unlock()
	for _, l := range prev {
		l.Cancel()
		select {
		case <-l.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// LoginByID returns a login started by StartLogin (until a while after it finished).
func (c *Core) LoginByID(id string) (*Login, bool) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	l, ok := c.logins[id]
	return l, ok
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
