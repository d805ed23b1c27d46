package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kiro auth methods stored in Token.Extra[ExtraAuthMethod].
const (
	KiroAuthBuilderID = "builder-id" // AWS SSO-OIDC, refreshed with the registered client
	KiroAuthSocial    = "social"     // Kiro's Google/GitHub login, refreshed at the Kiro auth service
)

// ExtraProfileArn is the CodeWhisperer profile ARN a Kiro social token carries.
const ExtraProfileArn = "profile_arn"

// refreshKiroSocial refreshes a Kiro social-login token: POST {"refreshToken": ...} as JSON, answer
// {accessToken, refreshToken, expiresIn, profileArn}.
func (p *Provider) refreshKiroSocial(ctx context.Context, e env, tok Token) (Token, error) {
	if tok.RefreshToken == "" {
		return Token{}, fmt.Errorf("%w: no refresh token stored", ErrInvalidGrant)
	}
	raw, err := postAny(ctx, e, p.Setting("social-refresh-url"), map[string]string{"refreshToken": tok.RefreshToken})
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) && (te.Status == 400 || te.Status == 401) {
			return Token{}, fmt.Errorf("%w: %w", ErrInvalidGrant, err)
		}
		return Token{}, err
	}
	nt, err := tokenFromResponse(raw, e.now())
	if err != nil {
		return Token{}, err
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = tok.RefreshToken
	}
	nt.Extra = make(map[string]string, len(tok.Extra)+1)
	for k, v := range tok.Extra {
		nt.Extra[k] = v
	}
	setIf(nt.Extra, ExtraProfileArn, raw.str("profileArn"))
	return nt, nil
}

// kiroCacheToken is the Kiro IDE's token file, ~/.aws/sso/cache/kiro-auth-token.json
// (PROVIDERS.md "kiro": accessToken, refreshToken, profileArn, expiresAt, authMethod, provider).
type kiroCacheToken struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ProfileArn   string `json:"profileArn"`
	ExpiresAt    string `json:"expiresAt"`
	AuthMethod   string `json:"authMethod"`
	Provider     string `json:"provider"`
	Region       string `json:"region"`
}

// kiroCacheClient is the SSO-OIDC client registration the Kiro IDE caches next to a Builder ID token.
type kiroCacheClient struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// ImportKiroToken converts the Kiro IDE's cached token into a Token and an account label. A Builder
// ID (IdC) token also needs the IDE's cached client registration (clientJSON) to be refreshable; a
// social (Google/GitHub) token does not.
func ImportKiroToken(tokenJSON, clientJSON []byte) (Token, string, error) {
	var c kiroCacheToken
	if err := json.Unmarshal(tokenJSON, &c); err != nil {
		return Token{}, "", fmt.Errorf("reading the Kiro token file: %w", err)
	}
	if c.AccessToken == "" || c.RefreshToken == "" {
		return Token{}, "", errors.New("the Kiro token file has no accessToken or refreshToken: log in to Kiro first")
	}
	t := Token{AccessToken: c.AccessToken, RefreshToken: c.RefreshToken, TokenType: "Bearer", Extra: map[string]string{}}
	if c.ExpiresAt != "" {
		exp, err := time.Parse(time.RFC3339, c.ExpiresAt)
		if err != nil {
			return Token{}, "", fmt.Errorf("reading the Kiro token file: expiresAt %q: %w", c.ExpiresAt, err)
		}
		t.Expiry = exp
	}
	setIf(t.Extra, ExtraProfileArn, c.ProfileArn)
	t.Extra[ExtraRegion] = firstNonEmpty(c.Region, "us-east-1")
	label := "Kiro (" + firstNonEmpty(c.Provider, "social") + ")"
	if strings.EqualFold(c.AuthMethod, "idc") || strings.EqualFold(c.Provider, "BuilderId") {
		var cl kiroCacheClient
		if len(clientJSON) == 0 || json.Unmarshal(clientJSON, &cl) != nil || cl.ClientID == "" || cl.ClientSecret == "" {
			return Token{}, "", errors.New("a Builder ID token needs the Kiro client registration file (clientId, clientSecret) to be refreshed")
		}
		t.Extra[ExtraAuthMethod] = KiroAuthBuilderID
		t.Extra[ExtraClientID], t.Extra[ExtraClientSecret] = cl.ClientID, cl.ClientSecret
		return t, "AWS Builder ID", nil
	}
	t.Extra[ExtraAuthMethod] = KiroAuthSocial
	return t, label, nil
}
