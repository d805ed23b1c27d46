package config

import (
	"reflect"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func fullEnv() map[string]string {
	return map[string]string{
		"CLIPROXY_TEST_CLIENT_KEY":      "sk-client-two-0002",
		"CLIPROXY_TEST_ENCRYPTION_KEY":  "encryption-key-0123456789",
		"CLIPROXY_TEST_OPENAI_KEY":      "sk-openai-from-env-0003",
		"CLIPROXY_TEST_OPENROUTER_KEY":  "sk-or-from-env-0004",
		"CLIPROXY_STRICT_CONFIG_UNUSED": "x",
	}
}

func TestFullFileStrict(t *testing.T) {
	t.Parallel()
	cfg, err := parse(readTestdata(t, "full.toml"), "full.toml", mapEnv(fullEnv()))
	if err != nil {
		t.Fatalf("parse full.toml: %v", err)
	}
	want := &Config{
		Host: "localhost", Port: 9000, StrictConfig: true,
		APIKeys:        []string{"sk-client-one-0001", "sk-client-two-0002"},
		RequireAPIKey:  false,
		AllowedOrigins: []string{"http://localhost:3000"},
		ProxyURL:       "socks5h://user:proxy-password-123@127.0.0.1:1080",
		Keystore: Keystore{Backend: "file", Dir: "/tmp/cliproxy-auth", EncryptionKey: "encryption-key-0123456789",
			AllowPlaintextFallback: true},
		Database:         Database{Path: "/tmp/cliproxy.db", SpendFlushIntervalMS: 250},
		RemoteManagement: RemoteManagement{SecretKey: "management-secret-0042", AllowRemote: true},
		Metrics:          Metrics{Enable: true, Path: "/prom", RequireAuth: true},
		Cache:            Cache{Enable: true, MaxEntries: 50, MaxBytesMB: 8, TTLSeconds: 60},
		RateLimits: RateLimits{Enable: true, MaxParallelRequests: 10, MaxParallelPerKey: 2, RPMPerKey: 60,
			TPMPerKey: 100000, Backend: "redis"},
		Redis:      Redis{URL: "redis://:redis-password-77@127.0.0.1:6379/0"},
		Limits:     Limits{MaxRequestSizeMB: 10, MaxResponseSizeMB: 30},
		Guardrails: Guardrails{AllowClientSideCredentials: true},
		Masking:    Masking{Enable: false},
		RequestLog: RequestLog{Enable: true, MaxBodyKB: 16, RetentionDays: 3},
		Pricing: Pricing{Models: []PricingModel{{Match: "claude-sonnet-*", InputPerMillion: 3, OutputPerMillion: 15,
			CachedInputPerMillion: ptr(0.3), CacheWritePerMillion: ptr(3.75)}}},
		Routing: Routing{Strategy: "round-robin"},
		HealthTracking: HealthTracking{Enable: true, WindowSeconds: 120, FailureThreshold: 0.6,
			DegradedThreshold: 0.2, MinRequests: 10, CleanupInterval: 600},
		Health: Health{BackgroundProbes: true, ProbeIntervalSeconds: 60},
		RetryPolicy: RetryPolicy{MaxRetries: 3, InitialBackoffMS: 100, MaxBackoffMS: 2000, Multiplier: 1.5,
			Jitter: 0.1, RetryOn: []int{429, 503}},
		Streaming:      Streaming{KeepaliveSeconds: 0, BootstrapRetries: 1},
		FallbackChains: []FallbackChain{{Model: "claude-sonnet-4-5", Fallbacks: []string{"gpt-5-codex", "gemini-2.5-pro"}}},
		ModelAliases:   []ModelAlias{{Alias: "fast", Model: "gemini-2.5-flash"}},
		PassThrough: PassThrough{Endpoints: []PassThroughEndpoint{
			{Path: "/v1/audio/transcriptions", Target: "https://api.openai.com", Provider: "openai", Methods: []string{"POST"}},
			{Path: "/openrouter/credits", Target: "https://openrouter.ai", Provider: "openrouter"},
		}},
		OpenAI: []APIKeyProvider{{
			APIKey: "sk-openai-from-env-0003", BaseURL: "https://api.openai.com/v1",
			Models:   []Model{{Name: "gpt-5"}, {Name: "gpt-5-codex", Alias: "codex"}},
			Headers:  map[string]string{"OpenAI-Organization": "org-1", "X-Extra-Token": "extra-token-value-9"},
			ProxyURL: "http://127.0.0.1:3128", Label: "work",
		}},
		Anthropic: []APIKeyProvider{{APIKey: "sk-ant-test-key-000001", BaseURL: "https://api.anthropic.com", Label: "personal"}},
		Gemini: []APIKeyProvider{{APIKey: "gemini-test-key-000002", BaseURL: "https://generativelanguage.googleapis.com",
			Disabled: true}},
		OpenAICompatible: []CompatibleProvider{
			{Name: "openrouter", APIKeyProvider: APIKeyProvider{BaseURL: "https://openrouter.ai/api/v1",
				APIKey: "sk-or-from-env-0004", Models: []Model{{Name: "moonshotai/kimi-k2", Alias: "kimi-k2"}}}},
			{Name: "ollama", APIKeyProvider: APIKeyProvider{BaseURL: "http://127.0.0.1:11434/v1",
				Models: []Model{{Name: "llama3.1:8b", Alias: "llama"}}}},
		},
		Providers: map[string]ProviderEndpoints{
			"claude-code": {BaseURL: "https://api.anthropic.com", AuthURL: "https://claude.ai/oauth/authorize",
				TokenURL: "https://api.anthropic.com/v1/oauth/token", RedirectURL: "http://localhost:54545/callback",
				ClientID: "9d1c250a-e61b-44d9-88ed-5944d1962f5e"},
			"codex": {BaseURL: "https://chatgpt.com/backend-api/codex", AuthURL: "https://auth.openai.com/oauth/authorize",
				TokenURL: "https://auth.openai.com/oauth/token"},
			"copilot": {DeviceCodeURL: "https://github.com/login/device/code",
				TokenURL:        "https://github.com/login/oauth/access_token",
				CopilotTokenURL: "https://api.github.com/copilot_internal/v2/token", BaseURL: "https://api.githubcopilot.com",
				UserInfoURL: "https://api.github.com/user", APIURL: "https://api.github.com"},
			"kiro": {RegisterURL: "https://oidc.us-east-1.amazonaws.com/client/register",
				DeviceCodeURL: "https://oidc.us-east-1.amazonaws.com/device_authorization",
				TokenURL:      "https://oidc.us-east-1.amazonaws.com/token", BaseURL: "https://codewhisperer.us-east-1.amazonaws.com"},
			"qwen": {DeviceCodeURL: "https://chat.qwen.ai/api/v1/oauth2/device/code",
				TokenURL: "https://chat.qwen.ai/api/v1/oauth2/token", BaseURL: "https://portal.qwen.ai/v1"},
			"gemini-cli": {AuthURL: "https://accounts.google.com/o/oauth2/v2/auth", TokenURL: "https://oauth2.googleapis.com/token",
				UserInfoURL: "https://www.googleapis.com/oauth2/v1/userinfo", APIURL: "https://cloudcode-pa.googleapis.com"},
		},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("full.toml:\n got %+v\nwant %+v", cfg, want)
	}
}
