// Package oauth logs subscription accounts in (PKCE loopback authorization-code flow, RFC 8628 device
// flow, AWS SSO-OIDC device flow), keeps their tokens fresh in the background and hands out valid
// access tokens. It persists through the TokenStore interface and never touches a keychain itself.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Token is one provider token set as stored at rest. Extra carries provider facts the executors need
// (account id, email, project id, resource_url, copilot api base, registered client ...).
type Token struct {
	AccessToken  string            `json:"access_token"`
	RefreshToken string            `json:"refresh_token,omitempty"`
	IDToken      string            `json:"id_token,omitempty"`
	TokenType    string            `json:"token_type,omitempty"`
	Expiry       time.Time         `json:"expiry,omitzero"`
	Scope        string            `json:"scope,omitempty"`
	Extra        map[string]string `json:"extra,omitempty"`
}

// Extra keys set by the provider hooks.
const (
	ExtraEmail        = "email"
	ExtraLogin        = "login"
	ExtraAccountID    = "account_id"
	ExtraPlanType     = "plan_type"
	ExtraProjectID    = "project_id"
	ExtraResourceURL  = "resource_url"
	ExtraAPIBase      = "api_base"
	ExtraClientID     = "client_id"
	ExtraClientSecret = "client_secret"
	ExtraRegion       = "region"
	ExtraAuthMethod   = "auth_method"
	ExtraGitHubToken  = "github_token"
)

// Valid reports whether the access token is present and not expired at now (zero Expiry never expires).
func (t Token) Valid(now time.Time) bool {
	return t.AccessToken != "" && (t.Expiry.IsZero() || now.Before(t.Expiry))
}

// String masks every secret, so a Token printed by mistake leaks nothing.
func (t Token) String() string {
	exp := "never"
	if !t.Expiry.IsZero() {
		exp = t.Expiry.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("Token{access=%s refresh=%s expiry=%s}", Mask(t.AccessToken), Mask(t.RefreshToken), exp)
}

// LogValue keeps secrets out of structured logs.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// Mask shows at most the first 4 characters of a secret.
func Mask(s string) string {
	switch {
	case s == "":
		return "<empty>"
	case len(s) <= 8:
		return "****"
	default:
		return s[:4] + "****"
	}
}

// Credential is a logged-in account: what the TokenStore persists.
type Credential struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Label    string `json:"label,omitempty"`
	Token    Token  `json:"token"`
}

// TokenStore persists credentials. The app satisfies it with an adapter over the keystore.
type TokenStore interface {
	// Load returns the credential stored under id.
	Load(ctx context.Context, id string) (Credential, error)
	// Save stores cred under cred.ID, replacing the previous value.
	Save(ctx context.Context, cred Credential) error
}

// Errors callers classify with errors.Is.
var (
	// ErrConsentDenied means the user declined the authorization (error=access_denied).
	ErrConsentDenied = errors.New("the sign-in was declined in the browser")
	// ErrStateMismatch means a callback carried a state the flow did not issue.
	ErrStateMismatch = errors.New("the sign-in answer does not belong to this login (state mismatch)")
	// ErrExpired means the device code or login session expired before the user finished.
	ErrExpired = errors.New("the login code expired before it was approved")
	// ErrInvalidGrant means the provider rejected the refresh token or code for good.
	ErrInvalidGrant = errors.New("the provider rejected the credential (invalid_grant)")
	// ErrMalformedResponse means the token endpoint answered with something that is not a token.
	ErrMalformedResponse = errors.New("malformed token response")
	// ErrCanceled means the login was cancelled.
	ErrCanceled = errors.New("login cancelled")
	// ErrPortInUse means the loopback callback port is taken.
	ErrPortInUse = errors.New("callback port in use")
	// ErrUnknownProvider means the provider id is not in the table.
	ErrUnknownProvider = errors.New("unknown provider")
)

// TokenError is an OAuth error answer ({"error": "...", "error_description": "..."}) from a token
// or device endpoint; Code is the RFC 6749 §5.2 / RFC 8628 §3.5 error code.
type TokenError struct {
	Status      int
	Code        string
	Description string
}

// Error implements error. The description comes from the provider and never contains our secrets.
func (e *TokenError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("token endpoint: %s (HTTP %d): %s", e.Code, e.Status, e.Description)
	}
	return fmt.Sprintf("token endpoint: %s (HTTP %d)", e.Code, e.Status)
}

// Is makes invalid_grant match ErrInvalidGrant, access_denied ErrConsentDenied and expired_token ErrExpired.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrInvalidGrant:
		// OpenAI reports dead refresh tokens with its own codes (Codex CLI surfaces
		// refresh_token_expired / _reused / _invalidated as "log in again").
		switch e.Code {
		case "invalid_grant", "refresh_token_expired", "refresh_token_reused", "refresh_token_invalidated":
			return true
		}
		return false
	case ErrConsentDenied:
		return e.Code == "access_denied"
	case ErrExpired:
		return e.Code == "expired_token"
	}
	return false
}

// SleepFunc waits d or until ctx is done; device polling and onboarding use it so tests need no
// real sleeps.
type SleepFunc func(ctx context.Context, d time.Duration) error

// realSleep waits on a timer.
func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
