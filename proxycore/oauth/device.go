package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DeviceConfig describes an RFC 8628 device authorization grant.
type DeviceConfig struct {
	// DeviceCodeURL and TokenURL are the device authorization and token endpoints; ClientID is required.
	DeviceCodeURL, TokenURL, ClientID string
	// Scopes are joined with spaces.
	Scopes []string
	// PKCE adds an S256 code_challenge to the device request and the verifier to the token polls
	// (Qwen's device flow requires it).
	PKCE bool
	// HTTPClient; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Sleep waits between polls; nil means a real timer. Tests inject a fake that advances a clock.
	Sleep SleepFunc
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

func (c *DeviceConfig) defaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.Sleep == nil {
		c.Sleep = realSleep
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// DeviceAuth is the answer of a device authorization request: what the user must see.
type DeviceAuth struct {
	DeviceCode              string
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	Interval                time.Duration
	ExpiresAt               time.Time
	verifier                string
}

// defaultInterval is the RFC 8628 §3.2 default polling interval when the server sends none.
const defaultInterval = 5 * time.Second

// slowDownStep is added to the interval on every slow_down answer (RFC 8628 §3.5).
const slowDownStep = 5 * time.Second

// RequestDeviceCode starts a device login (RFC 8628 §3.1-3.2).
func RequestDeviceCode(ctx context.Context, cfg DeviceConfig) (*DeviceAuth, error) {
	cfg.defaults()
	params := map[string]string{"client_id": cfg.ClientID}
	if len(cfg.Scopes) > 0 {
		params["scope"] = strings.Join(cfg.Scopes, " ")
	}
	var verifier string
	if cfg.PKCE {
		var challenge string
		verifier, challenge = newPKCE()
		params["code_challenge"] = challenge
		params["code_challenge_method"] = "S256"
	}
	raw, err := postJSONOrForm(ctx, cfg.HTTPClient, cfg.DeviceCodeURL, BodyForm, params, nil)
	if err != nil {
		return nil, fmt.Errorf("requesting a device code: %w", err)
	}
	da := deviceAuthFrom(raw, cfg.Now())
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, fmt.Errorf("requesting a device code: %w: device_code, user_code or verification_uri missing", ErrMalformedResponse)
	}
	da.verifier = verifier
	return da, nil
}

// deviceAuthFrom reads RFC 8628 (snake_case) or AWS SSO-OIDC (camelCase) device answers.
func deviceAuthFrom(raw rawResponse, now time.Time) *DeviceAuth {
	da := &DeviceAuth{
		DeviceCode:              raw.str("device_code", "deviceCode"),
		UserCode:                raw.str("user_code", "userCode"),
		VerificationURI:         raw.str("verification_uri", "verificationUri", "verification_url"),
		VerificationURIComplete: raw.str("verification_uri_complete", "verificationUriComplete"),
		Interval:                defaultInterval,
		ExpiresAt:               now.Add(15 * time.Minute),
	}
	if iv, ok := raw.num("interval"); ok && iv > 0 {
		da.Interval = time.Duration(iv) * time.Second
	}
	if ex, ok := raw.num("expires_in", "expiresIn"); ok && ex > 0 {
		da.ExpiresAt = now.Add(time.Duration(ex) * time.Second)
	}
	return da
}

// PollDeviceToken polls the token endpoint until the user approves (RFC 8628 §3.4-3.5).
func PollDeviceToken(ctx context.Context, cfg DeviceConfig, da *DeviceAuth) (Token, error) {
	tok, _, err := pollDevice(ctx, cfg, da)
	return tok, err
}

func pollDevice(ctx context.Context, cfg DeviceConfig, da *DeviceAuth) (Token, rawResponse, error) {
	cfg.defaults()
	params := map[string]string{
		"grant_type":  "urn:ietf:params:oauth:grant-type:device_code",
		"client_id":   cfg.ClientID,
		"device_code": da.DeviceCode,
	}
	if da.verifier != "" {
		params["code_verifier"] = da.verifier
	}
	raw, err := pollLoop(ctx, cfg.Sleep, cfg.Now, da, func(ctx context.Context) (rawResponse, error) {
		return postJSONOrForm(ctx, cfg.HTTPClient, cfg.TokenURL, BodyForm, params, nil)
	})
	if err != nil {
		return Token{}, nil, err
	}
	tok, err := tokenFromResponse(raw, cfg.Now())
	if err != nil {
		return Token{}, nil, err
	}
	return tok, raw, nil
}

// pollLoop calls poll every interval until it yields a token answer, honouring authorization_pending
// (keep polling), slow_down (interval + 5 s), expired_token and access_denied (RFC 8628 §3.5).
func pollLoop(ctx context.Context, sleep SleepFunc, now func() time.Time, da *DeviceAuth, poll func(context.Context) (rawResponse, error)) (rawResponse, error) {
	interval := da.Interval
	if interval <= 0 {
		interval = defaultInterval
	}
	for {
		if !now().Before(da.ExpiresAt) {
			return nil, fmt.Errorf("%w: start the login again", ErrExpired)
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, fmt.Errorf("waiting for device approval: %w", err)
		}
		raw, err := poll(ctx)
		var te *TokenError
		switch {
		case err == nil:
			return raw, nil
		case errors.As(err, &te) && te.Code == "authorization_pending":
			continue
		case errors.As(err, &te) && te.Code == "slow_down":
			interval += slowDownStep
			continue
		case errors.Is(err, ErrExpired):
			return nil, fmt.Errorf("%w: start the login again", ErrExpired)
		case errors.Is(err, ErrConsentDenied):
			return nil, ErrConsentDenied
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			return nil, fmt.Errorf("polling for the device token: %w", err)
		}
	}
}
