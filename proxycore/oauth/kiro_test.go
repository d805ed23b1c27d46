package oauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestImportKiroToken(t *testing.T) {
	cases := []struct {
		name, token, client string
		wantMethod, label   string
		wantErr             string
	}{
		{"social", `{"accessToken":"aoa1","refreshToken":"aor1","profileArn":"arn:x","expiresAt":"2026-01-02T04:04:05Z","authMethod":"social","provider":"Google"}`,
			"", KiroAuthSocial, "Kiro (Google)", ""},
		{"builder id", `{"accessToken":"aoa1","refreshToken":"aor1","expiresAt":"2026-01-02T04:04:05Z","authMethod":"IdC","provider":"BuilderId"}`,
			`{"clientId":"cid","clientSecret":"sec","expiresAt":"2026-04-01T00:00:00Z"}`, KiroAuthBuilderID, "AWS Builder ID", ""},
		{"builder id without client", `{"accessToken":"a","refreshToken":"r","authMethod":"IdC"}`, "", "", "", "client registration"},
		{"no tokens", `{"authMethod":"social"}`, "", "", "", "log in to Kiro first"},
		{"bad expiry", `{"accessToken":"a","refreshToken":"r","expiresAt":"tomorrow"}`, "", "", "", "expiresAt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, label, err := ImportKiroToken([]byte(tc.token), []byte(tc.client))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.Extra[ExtraAuthMethod] != tc.wantMethod || label != tc.label || tok.Expiry.IsZero() {
				t.Fatalf("token %v extra %v label %q", tok, tok.Extra, label)
			}
		})
	}
}

func TestKiroSocialRefresh(t *testing.T) {
	e := newRefreshEnv(t)
	rt := e.fake.IssueRefreshToken("kiro")
	tok, _, err := ImportKiroToken([]byte(`{"accessToken":"old-access","refreshToken":"`+rt+`","authMethod":"social","provider":"Github"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = e.clk.Now().Add(time.Minute)
	if err := e.store.Save(context.Background(), Credential{ID: "kiro:gh", Provider: Kiro, Token: tok}); err != nil {
		t.Fatal(err)
	}
	r := e.refresher(t, nil)
	got, err := r.Token(context.Background(), "kiro:gh")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken == "old-access" || got.Extra[ExtraProfileArn] == "" || got.Extra[ExtraAuthMethod] != KiroAuthSocial {
		t.Fatalf("refreshed %v %v", got, got.Extra)
	}
	if reqs := e.fake.Requests("/kiro/refreshToken"); len(reqs) != 1 || reqs[0].Form["refreshToken"] != rt {
		t.Fatalf("social refresh requests %+v", reqs)
	}
	// The old refresh token was rotated away: using it again is a dead credential.
	e.clk.Advance(2 * time.Hour)
	stale := got
	stale.RefreshToken = rt
	_ = e.store.Save(context.Background(), Credential{ID: "kiro:gh", Provider: Kiro, Token: stale})
	if _, err := r.Refresh(context.Background(), "kiro:gh"); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("stale refresh = %v, want invalid_grant", err)
	}
}
