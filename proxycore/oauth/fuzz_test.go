package oauth

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// FuzzSubmitRedirect checks that no pasted text panics and that only the flow's own state (or none)
// is accepted.
func FuzzSubmitRedirect(f *testing.F) {
	for _, s := range []string{"http://localhost:1/callback?code=a&state=b", "?code=a", "a#b", "code=x%zz", "", "#", "http://[::1"} {
		f.Add(s)
	}
	flow, err := StartAuthCode(context.Background(), AuthCodeConfig{
		AuthURL: "http://127.0.0.1:1/a", TokenURL: "http://127.0.0.1:1/t", ClientID: "c", RedirectURL: "http://127.0.0.1:0/cb",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(flow.Cancel)
	f.Fuzz(func(t *testing.T, s string) {
		// Keep the flow open for every input: only inspect the error.
		f2 := &AuthCodeFlow{state: flow.state, codeCh: make(chan codeResult, 1)}
		if err := f2.SubmitRedirect(s); err == nil {
			r := <-f2.codeCh
			if r.err == nil && r.code == "" {
				t.Fatalf("accepted %q without a code", s)
			}
		}
	})
}

// FuzzTokenFromResponse checks that arbitrary JSON never yields a token without an access token.
func FuzzTokenFromResponse(f *testing.F) {
	for _, s := range []string{`{"access_token":"a","expires_in":3600}`, `{"accessToken":"a","expiresIn":"60"}`, `{"expires_in":-1,"access_token":"x"}`, `[]`, `{}`} {
		f.Add(s)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		var raw rawResponse
		if json.Unmarshal([]byte(s), &raw) != nil {
			return
		}
		tok, err := tokenFromResponse(raw, now)
		if err == nil && (tok.AccessToken == "" || (!tok.Expiry.IsZero() && !tok.Expiry.After(now))) {
			t.Fatalf("bad token from %s: %v", s, tok)
		}
	})
}
