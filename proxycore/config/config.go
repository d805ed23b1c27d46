// Package config owns cliproxy's TOML configuration: the schema, its defaults, loading with strict mode
// and os.environ/NAME expansion, validation with messages that name the key, redaction of secrets for
// logs and the UI, and hot reload of the file.
//
// Key names are kebab-case and follow the reference config.example.toml (a copy lives in testdata).
// Durations are plain integers in the file whose unit is part of the key name (-seconds, -ms); the
// structs expose helper methods returning time.Duration.
package config

import (
	"net"
	"strconv"
	"time"
)

// Config is the whole configuration file. Every key is optional; Default returns the values used for a
// key that the file leaves out. A loaded Config is shared between goroutines: treat it as read-only and
// use Clone to derive a changed copy.
type Config struct {
	// Host is the listen address; it must be a loopback address or name unless AllowRemote is true.
	Host string `toml:"host"`
	// Port is the listen port (1..65535).
	Port int `toml:"port"`
	// StrictConfig turns unknown keys into errors (also on with CLIPROXY_STRICT_CONFIG=1).
	StrictConfig bool `toml:"strict-config"`
	// APIKeys are static client keys; empty means one generated key kept in the keystore.
	APIKeys []string `toml:"api-keys"`
	// RequireAPIKey false lets loopback clients in without a key.
	RequireAPIKey bool `toml:"require-api-key"`
	// AllowRemote must be true to bind a non-loopback host.
	AllowRemote bool `toml:"allow-remote"`
	// AllowedOrigins are the browser Origins allowed to call the API (none by default).
	AllowedOrigins []string `toml:"allowed-origins"`
	// ProxyURL is the upstream HTTP(S)/SOCKS5 proxy for all providers; empty means none.
	ProxyURL string `toml:"proxy-url"`

	// Keystore and the sections below mirror the file's tables of the same names.
	Keystore         Keystore         `toml:"keystore"`
	Database         Database         `toml:"database"`
	RemoteManagement RemoteManagement `toml:"remote-management"`
	Metrics          Metrics          `toml:"metrics"`
	Cache            Cache            `toml:"cache"`
	RateLimits       RateLimits       `toml:"rate-limits"`
	Redis            Redis            `toml:"redis"`
	Limits           Limits           `toml:"limits"`
	Guardrails       Guardrails       `toml:"guardrails"`
	Masking          Masking          `toml:"masking"`
	RequestLog       RequestLog       `toml:"request-log"`
	Pricing          Pricing          `toml:"pricing"`
	Routing          Routing          `toml:"routing"`
	HealthTracking   HealthTracking   `toml:"health-tracking"`
	Health           Health           `toml:"health"`
	RetryPolicy      RetryPolicy      `toml:"retry-policy"`
	Streaming        Streaming        `toml:"streaming"`

	// FallbackChains name the models tried, in order, when every credential of a model failed. Whether
	// the named models exist is checked by the router, not here.
	FallbackChains []FallbackChain `toml:"fallback-chains"`
	// ModelAliases are extra names clients may use for a model.
	ModelAliases []ModelAlias `toml:"model-aliases"`
	// PassThrough forwards raw endpoints to an upstream with a provider's credential attached.
	PassThrough PassThrough `toml:"pass-through"`

	// OpenAI, Anthropic and Gemini are API-key credentials; every entry is one credential.
	OpenAI    []APIKeyProvider `toml:"openai"`
	Anthropic []APIKeyProvider `toml:"anthropic"`
	Gemini    []APIKeyProvider `toml:"gemini"`
	// OpenAICompatible are named OpenAI-chat servers (OpenRouter, DeepSeek, Ollama, vLLM, ...).
	OpenAICompatible []CompatibleProvider `toml:"openai-compatible"`
	// Providers overrides the endpoints of subscription providers, keyed by provider id (see
	// SubscriptionProviderIDs).
	Providers map[string]ProviderEndpoints `toml:"providers"`

	// warnings are the non-fatal findings of parsing (unknown keys outside strict mode).
	warnings []string
}

// Warnings returns the non-fatal findings of parsing, such as unknown keys when strict mode is off, so
// the caller can log them. It is nil for a clean file.
func (c *Config) Warnings() []string {
	return append([]string(nil), c.warnings...)
}

// Addr returns the listen address "host:port" (brackets added for IPv6).
func (c *Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// Keystore configures where credentials are kept.
type Keystore struct {
	// Backend is auto, keychain or file ("auto": keychain when it works, else file).
	Backend string `toml:"backend"`
	// Dir is the file backend directory; empty means <user config dir>/cliproxy/auth.
	Dir string `toml:"dir"`
	// EncryptionKey is the file backend key (a secret; usually os.environ/NAME).
	EncryptionKey string `toml:"encryption-key"`
	// AllowPlaintextFallback permits unencrypted files when no key is available.
	AllowPlaintextFallback bool `toml:"allow-plaintext-fallback"`
}

// Database configures the SQLite store.
type Database struct {
	// Path is the SQLite file; empty means <user data dir>/cliproxy/cliproxy.db.
	Path string `toml:"path"`
	// SpendFlushIntervalMS bounds how long the async spend writer batches rows.
	SpendFlushIntervalMS int `toml:"spend-flush-interval-ms"`
}

// SpendFlushInterval returns SpendFlushIntervalMS as a duration.
func (d Database) SpendFlushInterval() time.Duration {
	return time.Duration(d.SpendFlushIntervalMS) * time.Millisecond
}

// RemoteManagement configures the management API.
type RemoteManagement struct {
	// SecretKey is the management API key (a secret); empty turns the management API off.
	SecretKey string `toml:"secret-key"`
	// AllowRemote lets non-loopback clients use the management API.
	AllowRemote bool `toml:"allow-remote"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	Enable bool `toml:"enable"`
	// Path is where the metrics are served; it starts with "/".
	Path string `toml:"path"`
	// RequireAuth true means a client or management key is needed to scrape.
	RequireAuth bool `toml:"require-auth"`
}

// Cache configures the response cache for non-streaming 2xx JSON answers.
type Cache struct {
	// Enable turns the cache on (off by default).
	Enable bool `toml:"enable"`
	// MaxEntries caps the number of cached responses (LRU eviction).
	MaxEntries int `toml:"max-entries"`
	// MaxBytesMB caps the memory held by cached bodies.
	MaxBytesMB int `toml:"max-bytes-mb"`
	// TTLSeconds is how long an entry stays fresh.
	TTLSeconds int `toml:"ttl-seconds"`
}

// TTL returns TTLSeconds as a duration.
func (c Cache) TTL() time.Duration { return time.Duration(c.TTLSeconds) * time.Second }

// MaxBytes returns MaxBytesMB in bytes.
func (c Cache) MaxBytes() int64 { return int64(c.MaxBytesMB) << 20 }

// RateLimits configures request limits; zero values mean no limit.
type RateLimits struct {
	Enable bool `toml:"enable"`
	// MaxParallelRequests is the global in-flight cap.
	MaxParallelRequests int `toml:"max-parallel-requests"`
	// MaxParallelPerKey caps in-flight requests per client key.
	MaxParallelPerKey int `toml:"max-parallel-per-key"`
	// RPMPerKey caps requests per minute per client key.
	RPMPerKey int `toml:"rpm-per-key"`
	// TPMPerKey caps tokens per minute per client key.
	TPMPerKey int `toml:"tpm-per-key"`
	// Backend is memory or redis (redis needs Redis.URL).
	Backend string `toml:"backend"`
}

// Redis configures the shared state backend (limits, cooldowns, cache).
type Redis struct {
	// URL such as "redis://127.0.0.1:6379/0"; its password is a secret.
	URL string `toml:"url"`
}

// Limits configures size limits.
type Limits struct {
	// MaxRequestSizeMB: larger client bodies get 413.
	MaxRequestSizeMB int `toml:"max-request-size-mb"`
	// MaxResponseSizeMB: larger non-streaming upstream bodies give 502.
	MaxResponseSizeMB int `toml:"max-response-size-mb"`
}

// MaxRequestBytes returns MaxRequestSizeMB in bytes.
func (l Limits) MaxRequestBytes() int64 { return int64(l.MaxRequestSizeMB) << 20 }

// MaxResponseBytes returns MaxResponseSizeMB in bytes.
func (l Limits) MaxResponseBytes() int64 { return int64(l.MaxResponseSizeMB) << 20 }

// Guardrails configures request body checks.
type Guardrails struct {
	// AllowClientSideCredentials false refuses bodies carrying api_base / base_url (400).
	AllowClientSideCredentials bool `toml:"allow-client-side-credentials"`
}

// Masking configures secret masking in request logs and the management config view.
type Masking struct {
	Enable bool `toml:"enable"`
}

// RequestLog configures the recent-requests log.
type RequestLog struct {
	Enable bool `toml:"enable"`
	// MaxBodyKB caps the request and response body kept per entry.
	MaxBodyKB int `toml:"max-body-kb"`
	// RetentionDays is how long entries are kept.
	RetentionDays int `toml:"retention-days"`
}

// MaxBodyBytes returns MaxBodyKB in bytes.
func (r RequestLog) MaxBodyBytes() int64 { return int64(r.MaxBodyKB) << 10 }

// Retention returns RetentionDays as a duration.
func (r RequestLog) Retention() time.Duration {
	return time.Duration(r.RetentionDays) * 24 * time.Hour
}

// Pricing overrides the built-in price table (USD per 1M tokens).
type Pricing struct {
	Models []PricingModel `toml:"models"`
}

// PricingModel is one price override.
type PricingModel struct {
	// Match is a model name or a glob such as "claude-sonnet-*".
	Match string `toml:"match"`
	// InputPerMillion is the price of 1M prompt tokens.
	InputPerMillion float64 `toml:"input-per-million"`
	// OutputPerMillion is the price of 1M completion tokens.
	OutputPerMillion float64 `toml:"output-per-million"`
	// CachedInputPerMillion is the price of cache reads; nil means the spend package's default.
	CachedInputPerMillion *float64 `toml:"cached-input-per-million"`
	// CacheWritePerMillion is the price of cache writes; nil means the spend package's default.
	CacheWritePerMillion *float64 `toml:"cache-write-per-million"`
}

// Routing configures credential selection.
type Routing struct {
	// Strategy is fill-first, round-robin, random, least-busy or lowest-latency.
	Strategy string `toml:"strategy"`
	// HealthAware skips credentials in COOLDOWN or ERROR.
	HealthAware bool `toml:"health-aware"`
	// PreferHealthy tries HEALTHY before DEGRADED credentials.
	PreferHealthy bool `toml:"prefer-healthy"`
}

// HealthTracking configures the passive, failure-rate based health tracker.
type HealthTracking struct {
	Enable bool `toml:"enable"`
	// WindowSeconds is the sliding window over which the failure rate is computed.
	WindowSeconds int `toml:"window-seconds"`
	// FailureThreshold: a failure rate at or above it means ERROR (0..1).
	FailureThreshold float64 `toml:"failure-threshold"`
	// DegradedThreshold: a failure rate at or above it means DEGRADED (0..1, <= FailureThreshold).
	DegradedThreshold float64 `toml:"degraded-threshold"`
	// MinRequests: with fewer requests in the window the state stays HEALTHY.
	MinRequests int `toml:"min-requests"`
	// CleanupInterval is in seconds.
	CleanupInterval int `toml:"cleanup-interval"`
}

// Window returns WindowSeconds as a duration.
func (h HealthTracking) Window() time.Duration {
	return time.Duration(h.WindowSeconds) * time.Second
}

// Cleanup returns CleanupInterval (seconds) as a duration.
func (h HealthTracking) Cleanup() time.Duration {
	return time.Duration(h.CleanupInterval) * time.Second
}

// Health configures active reachability probes (never a billed call).
type Health struct {
	// BackgroundProbes turns on TCP/HTTP reachability probes of provider base URLs.
	BackgroundProbes bool `toml:"background-probes"`
	// ProbeIntervalSeconds is the time between probes.
	ProbeIntervalSeconds int `toml:"probe-interval-seconds"`
}

// ProbeInterval returns ProbeIntervalSeconds as a duration.
func (h Health) ProbeInterval() time.Duration {
	return time.Duration(h.ProbeIntervalSeconds) * time.Second
}

// RetryPolicy configures retries before the first byte reached the client.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt.
	MaxRetries int `toml:"max-retries"`
	// InitialBackoffMS is the wait before the first retry.
	InitialBackoffMS int `toml:"initial-backoff-ms"`
	// MaxBackoffMS caps every wait.
	MaxBackoffMS int `toml:"max-backoff-ms"`
	// Multiplier grows the wait after each retry (>= 1).
	Multiplier float64 `toml:"multiplier"`
	// Jitter is the random fraction (0..1) added to or taken from each backoff.
	Jitter float64 `toml:"jitter"`
	// RetryOn are the upstream HTTP statuses that are retried.
	RetryOn []int `toml:"retry-on"`
}

// InitialBackoff returns InitialBackoffMS as a duration.
func (r RetryPolicy) InitialBackoff() time.Duration {
	return time.Duration(r.InitialBackoffMS) * time.Millisecond
}

// MaxBackoff returns MaxBackoffMS as a duration.
func (r RetryPolicy) MaxBackoff() time.Duration {
	return time.Duration(r.MaxBackoffMS) * time.Millisecond
}

// Streaming configures SSE behaviour.
type Streaming struct {
	// KeepaliveSeconds is the interval of SSE comment lines while the upstream is silent; 0 = off.
	KeepaliveSeconds int `toml:"keepalive-seconds"`
	// BootstrapRetries are the retries allowed before the first byte reaches the client.
	BootstrapRetries int `toml:"bootstrap-retries"`
}

// Keepalive returns KeepaliveSeconds as a duration (0 = off).
func (s Streaming) Keepalive() time.Duration {
	return time.Duration(s.KeepaliveSeconds) * time.Second
}

// FallbackChain lists the models tried after Model failed, in order.
type FallbackChain struct {
	// Model is the model the chain starts from.
	Model string `toml:"model"`
	// Fallbacks are tried in order.
	Fallbacks []string `toml:"fallbacks"`
}

// ModelAlias lets clients call Model by Alias.
type ModelAlias struct {
	// Alias is the extra name.
	Alias string `toml:"alias"`
	// Model is the model it stands for.
	Model string `toml:"model"`
}

// PassThrough holds the raw forwarding routes.
type PassThrough struct {
	Endpoints []PassThroughEndpoint `toml:"endpoints"`
}

// PassThroughEndpoint forwards requests on Path to Target with Provider's credential attached.
type PassThroughEndpoint struct {
	// Path is the local path, starting with "/".
	Path string `toml:"path"`
	// Target is the upstream base URL (absolute).
	Target string `toml:"target"`
	// Provider is a provider id or an openai-compatible name whose credential is attached upstream.
	Provider string `toml:"provider"`
	// Methods limits the HTTP methods forwarded; empty means all.
	Methods []string `toml:"methods"`
}

// APIKeyProvider is one API-key credential of openai, anthropic or gemini.
type APIKeyProvider struct {
	// APIKey is the credential (a secret).
	APIKey string `toml:"api-key"`
	// BaseURL overrides the vendor's default base URL.
	BaseURL string `toml:"base-url"`
	// Models are the names served; empty means the built-in catalog.
	Models []Model `toml:"models"`
	// Headers are extra upstream headers; values of secret-looking names are secrets.
	Headers map[string]string `toml:"headers"`
	// ProxyURL overrides the top-level proxy-url for this credential.
	ProxyURL string `toml:"proxy-url"`
	// Label is a display name.
	Label string `toml:"label"`
	// Disabled keeps the entry in the file but out of routing.
	Disabled bool `toml:"disabled"`
}

// CompatibleProvider is one OpenAI-compatible server; Name is required and unique, and clients may
// force it with "<name>/<model>". BaseURL is required because there is no vendor default.
type CompatibleProvider struct {
	// Name identifies the server: unique, [a-z0-9._-]+.
	Name string `toml:"name"`
	APIKeyProvider
}

// Model is one served model. In the file it is either a "name" string or a
// { name = "upstream-name", alias = "client-name" } table.
type Model struct {
	// Name is the upstream model name.
	Name string `toml:"name"`
	// Alias is the name clients use; empty means Name.
	Alias string `toml:"alias"`
}

// UnmarshalText decodes the plain string form of a models entry.
func (m *Model) UnmarshalText(b []byte) error {
	*m = Model{Name: string(b)}
	return nil
}

// ClientName returns the name clients use for the model: Alias, or Name when there is no alias.
func (m Model) ClientName() string {
	if m.Alias != "" {
		return m.Alias
	}
	return m.Name
}

// ProviderEndpoints overrides the URLs and ids a subscription provider uses (tests point them at fake
// servers). Empty fields keep the provider's built-in value. Not every provider uses every field.
type ProviderEndpoints struct {
	// BaseURL is the upstream API base (e.g. https://api.anthropic.com for claude-code).
	BaseURL string `toml:"base-url"`
	// AuthURL is the OAuth authorize page opened in the browser (PKCE flows).
	AuthURL string `toml:"auth-url"`
	// TokenURL is the OAuth token endpoint (code exchange, device polling and refresh).
	TokenURL string `toml:"token-url"`
	// DeviceCodeURL starts a device-code flow (copilot, qwen, kiro device authorization).
	DeviceCodeURL string `toml:"device-code-url"`
	// CopilotTokenURL exchanges the GitHub token for a Copilot token (copilot only).
	CopilotTokenURL string `toml:"copilot-token-url"`
	// RegisterURL registers the OIDC client (kiro Builder ID only).
	RegisterURL string `toml:"register-url"`
	// RedirectURL is the loopback callback given to the authorize page.
	RedirectURL string `toml:"redirect-url"`
	// ClientID overrides the public OAuth client id.
	ClientID string `toml:"client-id"`
	// UserInfoURL returns the account's name or email (copilot user, gemini-cli userinfo).
	UserInfoURL string `toml:"user-info-url"`
	// APIURL is an auxiliary API base (e.g. api.github.com for copilot quota, Code Assist for gemini-cli).
	APIURL string `toml:"api-url"`
}

// SubscriptionProviderIDs returns the ids accepted under [providers].
func SubscriptionProviderIDs() []string {
	return []string{"claude-code", "codex", "copilot", "kiro", "qwen", "gemini-cli"}
}

// APIKeyProviderIDs returns the ids of the built-in API-key providers (the config's provider lists;
// openai-compatible entries are addressed by their own names).
func APIKeyProviderIDs() []string {
	return []string{"openai", "anthropic", "gemini", "openai-compatible"}
}
