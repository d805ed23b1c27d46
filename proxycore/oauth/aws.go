package oauth

import (
	"context"
	"fmt"
	"time"
)

// awsDevice is a started AWS SSO-OIDC device login: the registered client plus the device answer.
type awsDevice struct {
	clientID, clientSecret string
	auth                   *DeviceAuth
}

// startAWSDevice registers a public client and starts device authorization (AWS SSO OIDC API
// reference: RegisterClient {clientName, clientType, scopes} -> {clientId, clientSecret, ...};
// StartDeviceAuthorization {clientId, clientSecret, startUrl} -> {deviceCode, userCode,
// verificationUri, verificationUriComplete, expiresIn, interval}). Bodies and answers are camelCase JSON.
func (p *Provider) startAWSDevice(ctx context.Context, e env) (*awsDevice, error) {
	reg, err := postAny(ctx, e, p.Setting("register-url"), map[string]any{
		"clientName": p.Setting("client-name"),
		"clientType": "public",
		"scopes":     p.Scopes,
	})
	if err != nil {
		return nil, fmt.Errorf("registering with AWS SSO-OIDC: %w", err)
	}
	d := &awsDevice{clientID: reg.str("clientId"), clientSecret: reg.str("clientSecret")}
	if d.clientID == "" || d.clientSecret == "" {
		return nil, fmt.Errorf("registering with AWS SSO-OIDC: %w: clientId or clientSecret missing", ErrMalformedResponse)
	}
	raw, err := postAny(ctx, e, p.Setting("device-code-url"), map[string]any{
		"clientId": d.clientID, "clientSecret": d.clientSecret, "startUrl": p.Setting("start-url"),
	})
	if err != nil {
		return nil, fmt.Errorf("starting AWS device authorization: %w", err)
	}
	d.auth = deviceAuthFrom(raw, e.now())
	if d.auth.DeviceCode == "" || d.auth.UserCode == "" || d.auth.VerificationURI == "" {
		return nil, fmt.Errorf("starting AWS device authorization: %w: deviceCode, userCode or verificationUri missing", ErrMalformedResponse)
	}
	return d, nil
}

// pollAWSDevice polls CreateToken with the device_code grant; AWS reports pending and slow-down as
// AuthorizationPendingException / SlowDownException, which doJSON maps to the RFC 8628 codes.
func (p *Provider) pollAWSDevice(ctx context.Context, e env, d *awsDevice) (Token, rawResponse, error) {
	body := map[string]any{
		"clientId": d.clientID, "clientSecret": d.clientSecret,
		"grantType":  "urn:ietf:params:oauth:grant-type:device_code",
		"deviceCode": d.auth.DeviceCode,
	}
	raw, err := pollLoop(ctx, e.sleep, e.now, d.auth, func(ctx context.Context) (rawResponse, error) {
		return postAny(ctx, e, p.Setting("token-url"), body)
	})
	if err != nil {
		return Token{}, nil, err
	}
	tok, err := tokenFromResponse(raw, e.now())
	if err != nil {
		return Token{}, nil, err
	}
	tok.Extra = map[string]string{ExtraClientID: d.clientID, ExtraClientSecret: d.clientSecret}
	return tok, raw, nil
}

// postAny posts a JSON body of any shape.
func postAny(ctx context.Context, e env, endpoint string, body any) (rawResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return getJSON(ctx, e.client, "POST", endpoint, "", body)
}
