package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// env is what the provider hooks need from the caller.
type env struct {
	client *http.Client
	now    func() time.Time
	sleep  SleepFunc
}

// postLogin completes a login: it fills tok.Extra with provider facts and returns the account label.
func (p *Provider) postLogin(ctx context.Context, e env, tok *Token, raw rawResponse) (string, error) {
	if tok.Extra == nil {
		tok.Extra = map[string]string{}
	}
	switch p.ID {
	case ClaudeCode:
		// The token answer carries account.email_address and account.uuid (Claude Code OAuth token
		// response as observed by public clients; PROVIDERS.md "claude-code").
		if acct := raw.obj("account"); acct != nil {
			setIf(tok.Extra, ExtraEmail, acct.str("email_address"))
			setIf(tok.Extra, ExtraAccountID, acct.str("uuid"))
		}
		if org := raw.obj("organization"); org != nil {
			setIf(tok.Extra, "organization_id", org.str("uuid"))
		}
		return firstNonEmpty(tok.Extra[ExtraEmail], "Claude account"), nil
	case Codex:
		applyCodexClaims(tok)
		return firstNonEmpty(tok.Extra[ExtraEmail], tok.Extra[ExtraAccountID], "ChatGPT account"), nil
	case Copilot:
		// The device flow yielded the GitHub token: find the login, then mint the Copilot token.
		gh := tok.AccessToken
		u, err := getJSON(ctx, e.client, http.MethodGet, p.Setting("user-url"), "token "+gh, nil)
		if err != nil {
			return "", fmt.Errorf("reading the GitHub user: %w", err)
		}
		login := u.str("login")
		ct, err := p.copilotToken(ctx, e, gh, tok.Extra)
		if err != nil {
			return "", err
		}
		ct.Extra[ExtraLogin] = login
		*tok = ct
		return firstNonEmpty(login, "GitHub account"), nil
	case Kiro:
		tok.Extra[ExtraAuthMethod] = KiroAuthBuilderID
		tok.Extra[ExtraRegion] = p.Setting("region")
		if email := jwtClaims(tok.IDToken).str("email"); email != "" {
			tok.Extra[ExtraEmail] = email
		}
		return firstNonEmpty(tok.Extra[ExtraEmail], "AWS Builder ID"), nil
	case Qwen:
		// resource_url is the API host for this account (PROVIDERS.md "qwen").
		setIf(tok.Extra, ExtraResourceURL, raw.str("resource_url"))
		return firstNonEmpty(jwtClaims(tok.IDToken).str("email"), "Qwen account"), nil
	case GeminiCLI:
		info, err := getJSON(ctx, e.client, http.MethodGet, p.Setting("userinfo-url"), "Bearer "+tok.AccessToken, nil)
		if err != nil {
			return "", fmt.Errorf("reading the Google account: %w", err)
		}
		setIf(tok.Extra, ExtraEmail, info.str("email"))
		project, err := p.codeAssistProject(ctx, e, tok.AccessToken)
		if err != nil {
			return "", err
		}
		tok.Extra[ExtraProjectID] = project
		return firstNonEmpty(tok.Extra[ExtraEmail], "Google account"), nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownProvider, p.ID)
}

// refresh returns a fresh token set for tok. It keeps the old refresh token and extras when the
// answer omits them (RFC 6749 §6: the server MAY issue a new refresh token).
func (p *Provider) refresh(ctx context.Context, e env, tok Token) (Token, error) {
	var params map[string]string
	format := BodyForm
	switch p.ID {
	case Copilot:
		gh := firstNonEmpty(tok.RefreshToken, tok.Extra[ExtraGitHubToken])
		if gh == "" {
			return Token{}, fmt.Errorf("%w: no GitHub token to mint a Copilot token", ErrInvalidGrant)
		}
		nt, err := p.copilotToken(ctx, e, gh, tok.Extra)
		if err != nil {
			return Token{}, err
		}
		return nt, nil
	case Kiro:
		if tok.Extra[ExtraAuthMethod] == KiroAuthSocial {
			return p.refreshKiroSocial(ctx, e, tok)
		}
		// CreateToken with grantType refresh_token and the registered client (SSO OIDC API reference).
		params = map[string]string{
			"clientId": tok.Extra[ExtraClientID], "clientSecret": tok.Extra[ExtraClientSecret],
			"grantType": "refresh_token", "refreshToken": tok.RefreshToken,
		}
		format = BodyJSON
	case ClaudeCode:
		params = map[string]string{"grant_type": "refresh_token", "refresh_token": tok.RefreshToken, "client_id": p.Setting("client-id")}
		format = BodyJSON
	case Codex:
		params = map[string]string{
			"grant_type": "refresh_token", "refresh_token": tok.RefreshToken,
			"client_id": p.Setting("client-id"), "scope": "openid profile email",
		}
	default: // Qwen, Gemini CLI: plain RFC 6749 §6 form refresh
		params = map[string]string{"grant_type": "refresh_token", "refresh_token": tok.RefreshToken, "client_id": p.Setting("client-id")}
		if s := p.Setting("client-secret"); s != "" {
			params["client_secret"] = s
		}
	}
	if tok.RefreshToken == "" {
		return Token{}, fmt.Errorf("%w: no refresh token stored", ErrInvalidGrant)
	}
	raw, err := postJSONOrForm(ctx, e.client, p.Setting("token-url"), format, params, nil)
	if err != nil {
		return Token{}, err
	}
	nt, err := tokenFromResponse(raw, e.now())
	if err != nil {
		return Token{}, err
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = tok.RefreshToken
	}
	if nt.IDToken == "" {
		nt.IDToken = tok.IDToken
	}
	nt.Extra = make(map[string]string, len(tok.Extra))
	for k, v := range tok.Extra {
		nt.Extra[k] = v
	}
	switch p.ID {
	case Codex:
		applyCodexClaims(&nt)
	case Qwen:
		setIf(nt.Extra, ExtraResourceURL, raw.str("resource_url"))
	}
	return nt, nil
}

// copilotToken exchanges a GitHub token for a Copilot API token: GET copilot_internal/v2/token with
// "Authorization: token <gh>" answers {token, expires_at (unix s), refresh_in, endpoints.api}
// (PROVIDERS.md "copilot"). The Copilot token becomes AccessToken; the GitHub token, which does not
// expire, is kept as RefreshToken to mint the next one.
func (p *Provider) copilotToken(ctx context.Context, e env, gh string, extra map[string]string) (Token, error) {
	raw, err := getJSON(ctx, e.client, http.MethodGet, p.Setting("copilot-token-url"), "token "+gh, nil)
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) && (te.Status == http.StatusUnauthorized || te.Status == http.StatusForbidden) {
			return Token{}, fmt.Errorf("%w: GitHub refused the Copilot token exchange (HTTP %d; no Copilot subscription or revoked login)", ErrInvalidGrant, te.Status)
		}
		return Token{}, fmt.Errorf("exchanging the GitHub token for a Copilot token: %w", err)
	}
	t := Token{AccessToken: raw.str("token"), RefreshToken: gh, TokenType: "Bearer", Extra: map[string]string{}}
	if t.AccessToken == "" {
		return Token{}, fmt.Errorf("%w: Copilot token answer has no token", ErrMalformedResponse)
	}
	if exp, ok := raw.num("expires_at"); ok && exp > 0 {
		t.Expiry = time.Unix(int64(exp), 0)
	} else if in, ok := raw.num("refresh_in"); ok && in > 0 {
		t.Expiry = e.now().Add(time.Duration(in) * time.Second)
	}
	for k, v := range extra {
		t.Extra[k] = v
	}
	if ep := raw.obj("endpoints"); ep != nil {
		setIf(t.Extra, ExtraAPIBase, ep.str("api"))
	}
	return t, nil
}

// codeAssistMetadata identifies the client to Code Assist as gemini-cli does (PROVIDERS.md
// "gemini-cli": metadata ideType, platform, pluginType GEMINI).
var codeAssistMetadata = map[string]string{"ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}

// codeAssistProject finds the Code Assist project: loadCodeAssist, then onboardUser (a long-running
// operation repeated until done) when the account has no tier yet. A configured project-id is sent
// along and wins.
func (p *Provider) codeAssistProject(ctx context.Context, e env, access string) (string, error) {
	base := strings.TrimRight(p.Setting("code-assist-url"), "/")
	configured := p.Setting("project-id")
	body := map[string]any{"metadata": codeAssistMetadata}
	if configured != "" {
		body["cloudaicompanionProject"] = configured
	}
	load, err := getJSON(ctx, e.client, http.MethodPost, base+"/v1internal:loadCodeAssist", "Bearer "+access, body)
	if err != nil {
		return "", fmt.Errorf("loading Code Assist: %w", err)
	}
	project := firstNonEmpty(configured, load.str("cloudaicompanionProject"))
	if load.obj("currentTier") != nil && project != "" {
		return project, nil
	}
	tier := "free-tier"
	if tiers, ok := load["allowedTiers"].([]any); ok {
		for _, t := range tiers {
			if m, ok := t.(map[string]any); ok && m["isDefault"] == true {
				tier = rawResponse(m).str("id")
			}
		}
	}
	ob := map[string]any{"tierId": tier, "metadata": codeAssistMetadata}
	if configured != "" {
		ob["cloudaicompanionProject"] = configured
	}
	for attempt := 0; attempt < 12; attempt++ {
		op, err := getJSON(ctx, e.client, http.MethodPost, base+"/v1internal:onboardUser", "Bearer "+access, ob)
		if err != nil {
			return "", fmt.Errorf("onboarding to Code Assist: %w", err)
		}
		if op["done"] == true {
			if r := op.obj("response"); r != nil {
				if cp := r.obj("cloudaicompanionProject"); cp != nil {
					project = firstNonEmpty(cp.str("id"), project)
				} else {
					project = firstNonEmpty(r.str("cloudaicompanionProject"), project)
				}
			}
			if project == "" {
				return "", errors.New("Code Assist set up the account but named no project: set providers.gemini-cli.project-id to your Google Cloud project")
			}
			return project, nil
		}
		if err := e.sleep(ctx, 5*time.Second); err != nil {
			return "", fmt.Errorf("onboarding to Code Assist: %w", err)
		}
	}
	return "", errors.New("Code Assist onboarding did not finish: try the login again later")
}

// applyCodexClaims copies email, chatgpt_account_id and chatgpt_plan_type from the id token. The
// account id lives under the "https://api.openai.com/auth" claim (PROVIDERS.md "codex"). The token
// came straight from the issuer over TLS, so its claims are read without verifying the signature.
func applyCodexClaims(t *Token) {
	if t.Extra == nil {
		t.Extra = map[string]string{}
	}
	c := jwtClaims(t.IDToken)
	setIf(t.Extra, ExtraEmail, c.str("email"))
	if auth := c.obj("https://api.openai.com/auth"); auth != nil {
		setIf(t.Extra, ExtraAccountID, auth.str("chatgpt_account_id"))
		setIf(t.Extra, ExtraPlanType, auth.str("chatgpt_plan_type"))
	}
}

// jwtClaims decodes a JWT payload (RFC 7519 §3); it returns nil for anything that is not one.
func jwtClaims(tok string) rawResponse {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var m rawResponse
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func setIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// QwenBaseURL returns the OpenAI-compatible API base for a Qwen token: https://<resource_url>/v1
// when the token answer named a resource_url, else fallback (PROVIDERS.md "qwen": default
// https://portal.qwen.ai/v1).
func QwenBaseURL(t Token, fallback string) string {
	r := strings.TrimSpace(t.Extra[ExtraResourceURL])
	if r == "" {
		return fallback
	}
	if !strings.HasPrefix(r, "http://") && !strings.HasPrefix(r, "https://") {
		r = "https://" + r
	}
	r = strings.TrimRight(r, "/")
	if !strings.HasSuffix(r, "/v1") {
		r += "/v1"
	}
	return r
}
