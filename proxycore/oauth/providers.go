package oauth

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// FlowKind names how a provider logs in.
type FlowKind string

// Login flows.
const (
	FlowAuthCode  FlowKind = "auth-code"  // PKCE authorization code with a loopback callback
	FlowDevice    FlowKind = "device"     // RFC 8628 device authorization grant
	FlowAWSDevice FlowKind = "aws-device" // AWS SSO-OIDC RegisterClient + StartDeviceAuthorization + CreateToken
)

// Provider ids of the subscription providers (DESIGN.md §4).
const (
	ClaudeCode = "claude-code"
	Codex      = "codex"
	Copilot    = "copilot"
	Kiro       = "kiro"
	Qwen       = "qwen"
	GeminiCLI  = "gemini-cli"
)

// Provider is one subscription provider's login and refresh facts. Settings holds every endpoint
// and tunable by its [providers.<id>] config key (auth-url, token-url, base-url, ...).
type Provider struct {
	ID          string
	Name        string // shown to the user: "log in to <Name> again"
	Flow        FlowKind
	Scopes      []string
	AuthParams  [][2]string // extra authorize URL parameters, in order
	TokenFormat BodyFormat
	// StateInExchange sends the state in the code exchange body.
	StateInExchange bool
	// DevicePKCE adds PKCE to the device flow.
	DevicePKCE bool
	// RefreshLead is how long before expiry the token is refreshed.
	RefreshLead time.Duration
	// Settings maps config keys to values; see Setting.
	Settings map[string]string
}

// Setting returns the value of a [providers.<id>] key, e.g. "token-url" or "client-id".
func (p *Provider) Setting(key string) string { return p.Settings[key] }

// Config keys that hold URLs; they are validated as absolute http(s) URLs.
var urlKeys = map[string]bool{
	"base-url": true, "auth-url": true, "token-url": true, "device-code-url": true, "redirect-url": true,
	"copilot-token-url": true, "register-url": true, "user-url": true, "userinfo-url": true,
	"code-assist-url": true, "start-url": true, "social-refresh-url": true,
}

// Providers is the table of subscription providers, built once by NewProviders. It is read-only
// after construction and safe for concurrent use.
type Providers struct {
	byID map[string]*Provider
}

// NewProviders builds the provider table and applies overrides, keyed by provider id and then by
// [providers.<id>] key. Keys this package does not use (executor settings such as headers) and ids
// of API-key providers are ignored; a URL key with a value that is not an absolute http(s) URL is an
// error naming the key.
func NewProviders(overrides map[string]map[string]string) (*Providers, error) {
	ps := &Providers{byID: map[string]*Provider{}}
	for _, p := range defaultProviders() {
		ps.byID[p.ID] = p
	}
	for id, kv := range overrides {
		p, ok := ps.byID[id]
		if !ok {
			continue
		}
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		sort.Strings(keys) // region before *-url so explicit URLs win over region-derived ones
		sort.SliceStable(keys, func(i, j int) bool { return keys[i] == "region" && keys[j] != "region" })
		for _, k := range keys {
			v := strings.TrimSpace(kv[k])
			if v == "" {
				continue
			}
			if urlKeys[k] {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return nil, fmt.Errorf("providers.%s.%s: %q is not an absolute http(s) URL", id, k, v)
				}
			}
			if k == "region" && id == Kiro {
				for key, val := range kiroURLs(v) {
					p.Settings[key] = val
				}
			}
			p.Settings[k] = v
		}
	}
	return ps, nil
}

// Get returns the provider with the given id.
func (ps *Providers) Get(id string) (*Provider, bool) {
	p, ok := ps.byID[id]
	return p, ok
}

// IDs lists the provider ids in a stable order.
func (ps *Providers) IDs() []string {
	ids := make([]string, 0, len(ps.byID))
	for id := range ps.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// kiroURLs derives the AWS SSO-OIDC endpoints of a region (AWS SSO OIDC API reference: service
// endpoint oidc.<region>.amazonaws.com; operations RegisterClient POST /client/register,
// StartDeviceAuthorization POST /device_authorization, CreateToken POST /token).
func kiroURLs(region string) map[string]string {
	oidc := "https://oidc." + region + ".amazonaws.com"
	return map[string]string{
		"register-url":    oidc + "/client/register",
		"device-code-url": oidc + "/device_authorization",
		"token-url":       oidc + "/token",
		"base-url":        "https://codewhisperer." + region + ".amazonaws.com",
		// Kiro social-login tokens refresh at the Kiro auth service (PROVIDERS.md "kiro"; public Kiro
		// clients POST {"refreshToken": ...} to prod.<region>.auth.desktop.kiro.dev/refreshToken).
		"social-refresh-url": "https://prod." + region + ".auth.desktop.kiro.dev/refreshToken",
	}
}

// defaultProviders is the built-in table. Facts from PROVIDERS.md; sources cited per entry.
func defaultProviders() []*Provider {
	kiro := kiroURLs("us-east-1")
	kiro["region"] = "us-east-1"
	kiro["start-url"] = "https://view.awsapps.com/start"
	kiro["client-name"] = "CLIProxy Desktop"
	return []*Provider{
		{
			// Claude Code's public OAuth client (PROVIDERS.md "claude-code"; the same client id and the
			// platform.claude.com token host appear in public Claude Code refresh helpers). The token
			// endpoint takes JSON and expects the state in the exchange.
			ID: ClaudeCode, Name: "Claude Code", Flow: FlowAuthCode,
			Scopes:      []string{"org:create_api_key", "user:profile", "user:inference"},
			AuthParams:  [][2]string{{"code", "true"}},
			TokenFormat: BodyJSON, StateInExchange: true,
			RefreshLead: 4 * time.Hour, // peers refresh 4 h ahead (PROVIDERS.md)
			Settings: map[string]string{
				"client-id":    "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
				"auth-url":     "https://claude.ai/oauth/authorize",
				"token-url":    "https://platform.claude.com/v1/oauth/token",
				"redirect-url": "http://localhost:54545/callback",
				"base-url":     "https://api.anthropic.com",
			},
		},
		{
			// Codex CLI's public client and authorize extras (PROVIDERS.md "codex", openai/codex login crate).
			ID: Codex, Name: "ChatGPT (Codex)", Flow: FlowAuthCode,
			Scopes: []string{"openid", "email", "profile", "offline_access"},
			AuthParams: [][2]string{
				{"id_token_add_organizations", "true"}, {"codex_cli_simplified_flow", "true"}, {"prompt", "login"},
			},
			TokenFormat: BodyForm,
			RefreshLead: time.Hour,
			Settings: map[string]string{
				"client-id":    "app_EMoamEEZ73f0CkXaXp7hrann",
				"auth-url":     "https://auth.openai.com/oauth/authorize",
				"token-url":    "https://auth.openai.com/oauth/token",
				"redirect-url": "http://localhost:1455/auth/callback",
				"base-url":     "https://chatgpt.com/backend-api/codex",
			},
		},
		{
			// GitHub device flow with the Copilot editor client, then the Copilot token exchange
			// (PROVIDERS.md "copilot"; GitHub docs "Authorizing OAuth apps" device flow).
			ID: Copilot, Name: "GitHub Copilot", Flow: FlowDevice,
			Scopes:      []string{"read:user"},
			RefreshLead: 5 * time.Minute, // Copilot tokens live ~30 min; refresh_in is ~25 min
			Settings: map[string]string{
				"client-id":         "Iv1.b507a08c87ecfe98",
				"device-code-url":   "https://github.com/login/device/code",
				"token-url":         "https://github.com/login/oauth/access_token",
				"user-url":          "https://api.github.com/user",
				"copilot-token-url": "https://api.github.com/copilot_internal/v2/token",
				"base-url":          "https://api.githubcopilot.com",
			},
		},
		{
			// AWS Builder ID through SSO-OIDC (PROVIDERS.md "kiro"; AWS SSO OIDC API reference).
			ID: Kiro, Name: "Kiro (AWS Builder ID)", Flow: FlowAWSDevice,
			Scopes:      []string{"codewhisperer:completions", "codewhisperer:analysis", "codewhisperer:conversations"},
			TokenFormat: BodyJSON,
			RefreshLead: 5 * time.Minute, // PROVIDERS.md: refresh about 5 minutes before expiry
			Settings:    kiro,
		},
		{
			// Qwen Code's device flow with PKCE (PROVIDERS.md "qwen", QwenLM/qwen-code qwenOAuth2.ts).
			ID: Qwen, Name: "Qwen", Flow: FlowDevice, DevicePKCE: true,
			Scopes:      []string{"openid", "profile", "email", "model.completion"},
			RefreshLead: 5 * time.Minute,
			Settings: map[string]string{
				"client-id":       "f0304373b74a44d2b584a3fb70ca9e56",
				"device-code-url": "https://chat.qwen.ai/api/v1/oauth2/device/code",
				"token-url":       "https://chat.qwen.ai/api/v1/oauth2/token",
				"base-url":        "https://portal.qwen.ai/v1",
			},
		},
		{
			// gemini-cli's installed-app client; id and secret are published in google-gemini/gemini-cli
			// packages/core/src/code_assist/oauth2.ts (installed-app secrets are public by design, RFC
			// 8252 §8.5). prompt=consent makes Google return a refresh token on every re-login.
			ID: GeminiCLI, Name: "Gemini CLI (Code Assist)", Flow: FlowAuthCode,
			Scopes: []string{
				"https://www.googleapis.com/auth/cloud-platform",
				"https://www.googleapis.com/auth/userinfo.email",
				"https://www.googleapis.com/auth/userinfo.profile",
			},
			AuthParams:  [][2]string{{"access_type", "offline"}, {"prompt", "consent"}},
			TokenFormat: BodyForm,
			RefreshLead: 5 * time.Minute,
			Settings: map[string]string{
				"client-id":       "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com",
				"client-secret":   "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",
				"auth-url":        "https://accounts.google.com/o/oauth2/v2/auth",
				"token-url":       "https://oauth2.googleapis.com/token",
				"redirect-url":    "http://localhost:8085/oauth2callback",
				"userinfo-url":    "https://www.googleapis.com/oauth2/v1/userinfo?alt=json",
				"code-assist-url": "https://cloudcode-pa.googleapis.com",
				"base-url":        "https://cloudcode-pa.googleapis.com",
			},
		},
	}
}
