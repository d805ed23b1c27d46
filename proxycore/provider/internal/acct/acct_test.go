package acct

import (
	"context"
	"net/http"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
)

// tokenFunc is a TokenSource whose Token and Refresh both call f.
type tokenFunc func() (oauth.Token, error)

func (f tokenFunc) Token(context.Context, string) (oauth.Token, error)   { return f() }
func (f tokenFunc) Refresh(context.Context, string) (oauth.Token, error) { return f() }

func TestCallerRefusesEmptyToken(t *testing.T) {
	c := &Caller{Provider: "p", ID: "x", Client: &http.Client{},
		Tokens: tokenFunc(func() (oauth.Token, error) { return oauth.Token{}, nil })}
	_, err := c.Do(t.Context(), func(context.Context, oauth.Token) (*http.Request, error) {
		t.Fatal("built a request without a token")
		return nil, nil
	})
	if err == nil {
		t.Fatal("want an error")
	}
}

func TestQuotaBoxZero(t *testing.T) {
	var b QuotaBox
	if q := b.Quota(); !q.Updated.IsZero() || q.Items != nil {
		t.Errorf("zero box: %+v", q)
	}
}
