// Package accttest provides a scripted provider.TokenSource for the account executors' tests.
package accttest

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
)

// Tokens hands out Current from Token and the scripted tokens from Refresh. It is safe for concurrent
// use; set the fields before the first call.
type Tokens struct {
	Current    oauth.Token   // returned by Token until a refresh replaces it
	Refreshed  []oauth.Token // returned by successive Refresh calls; the last one repeats
	RefreshErr error         // when set, Refresh fails with it

	mu        sync.Mutex // guards Current after the first call, and refreshes
	refreshes int
}

// Token returns the current token.
func (t *Tokens) Token(context.Context, string) (oauth.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Current, nil
}

// Refresh returns the next scripted token and makes it current.
func (t *Tokens) Refresh(context.Context, string) (oauth.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshes++
	if t.RefreshErr != nil {
		return oauth.Token{}, t.RefreshErr
	}
	if len(t.Refreshed) > 0 {
		t.Current = t.Refreshed[0]
		if len(t.Refreshed) > 1 {
			t.Refreshed = t.Refreshed[1:]
		}
	}
	return t.Current, nil
}

// Refreshes counts the Refresh calls.
func (t *Tokens) Refreshes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refreshes
}

// Bearer returns a token with the given access token and extras (key, value pairs).
func Bearer(access string, extra ...string) oauth.Token {
	tok := oauth.Token{AccessToken: access, TokenType: "Bearer"}
	if len(extra) > 0 {
		tok.Extra = map[string]string{}
		for i := 0; i+1 < len(extra); i += 2 {
			tok.Extra[extra[i]] = extra[i+1]
		}
	}
	return tok
}

// Exec builds an executor with factory for credential id, base-url setting base and token source ts,
// over a plain HTTP client; it fails the test on a constructor error.
func Exec(t *testing.T, factory provider.AccountFactory, id, base string, ts provider.TokenSource) provider.Executor {
	t.Helper()
	e, err := factory(provider.AccountOptions{
		ID: id, Label: "me@example.com", Tokens: ts,
		Settings: map[string]string{"base-url": base}, Client: &http.Client{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
