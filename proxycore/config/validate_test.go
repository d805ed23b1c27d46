package config

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	compat := func(name, base string) CompatibleProvider {
		return CompatibleProvider{Name: name, APIKeyProvider: APIKeyProvider{BaseURL: base}}
	}
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // every message expected, in order; nil means valid
	}{
		{"defaults", func(c *Config) {}, nil},
		{"port zero", func(c *Config) { c.Port = 0 }, []string{"port: must be between 1 and 65535, got 0"}},
		{"port too big", func(c *Config) { c.Port = 65536 }, []string{"port: must be between 1 and 65535, got 65536"}},
		{"remote host", func(c *Config) { c.Host = "0.0.0.0" },
			[]string{`host: "0.0.0.0" is not a loopback address; set allow-remote = true to listen on it`}},
		{"remote host allowed", func(c *Config) { c.Host = "0.0.0.0"; c.AllowRemote = true }, nil},
		{"loopback names", func(c *Config) { c.Host = "::1" }, nil},
		{"localhost", func(c *Config) { c.Host = "LOCALHOST" }, nil},
		{"127.1.2.3", func(c *Config) { c.Host = "127.1.2.3" }, nil},
		{"empty host", func(c *Config) { c.Host = "" }, []string{"host: must not be empty"}},
		{"empty api key", func(c *Config) { c.APIKeys = []string{"a", " "} }, []string{"api-keys[1]: must not be empty"}},
		{"bad origin", func(c *Config) { c.AllowedOrigins = []string{"localhost"} },
			[]string{`allowed-origins[0]: "localhost" must be an origin such as "http://localhost:3000"`}},
		{"bad proxy scheme", func(c *Config) { c.ProxyURL = "ftp://h:1" },
			[]string{`proxy-url: scheme must be http, https, socks5 or socks5h, got "ftp"`}},
		{"relative proxy", func(c *Config) { c.ProxyURL = "h:1" },
			[]string{"proxy-url: must be an absolute URL such as http://host:port or socks5://host:port"}},
		{"strategy", func(c *Config) { c.Routing.Strategy = "fastest" },
			[]string{`routing.strategy: must be fill-first, round-robin, random, least-busy or lowest-latency, got "fastest"`}},
		{"every strategy", func(c *Config) { c.Routing.Strategy = StrategyLowestLatency }, nil},
		{"thresholds", func(c *Config) { c.HealthTracking.FailureThreshold = 1.5; c.HealthTracking.DegradedThreshold = -0.1 },
			[]string{"health-tracking.failure-threshold: must be between 0 and 1, got 1.5",
				"health-tracking.degraded-threshold: must be between 0 and 1, got -0.1"}},
		{"degraded above failure", func(c *Config) { c.HealthTracking.DegradedThreshold = 0.6 },
			[]string{"health-tracking.degraded-threshold: must not exceed failure-threshold (0.6 > 0.5)"}},
		{"retry-on", func(c *Config) { c.RetryPolicy.RetryOn = []int{429, 99, 600} },
			[]string{"retry-policy.retry-on[1]: must be an HTTP status between 100 and 599, got 99",
				"retry-policy.retry-on[2]: must be an HTTP status between 100 and 599, got 600"}},
		{"multiplier", func(c *Config) { c.RetryPolicy.Multiplier = 0.5 }, []string{"retry-policy.multiplier: must be at least 1, got 0.5"}},
		{"jitter", func(c *Config) { c.RetryPolicy.Jitter = 1.1 }, []string{"retry-policy.jitter: must be between 0 and 1, got 1.1"}},
		{"backoffs", func(c *Config) { c.RetryPolicy.MaxBackoffMS = 100 },
			[]string{"retry-policy.max-backoff-ms: must be at least initial-backoff-ms (100 < 500)"}},
		{"keystore backend", func(c *Config) { c.Keystore.Backend = "vault" },
			[]string{`keystore.backend: must be auto, keychain or file, got "vault"`}},
		{"rate-limit backend", func(c *Config) { c.RateLimits.Backend = "etcd" },
			[]string{`rate-limits.backend: must be memory or redis, got "etcd"`}},
		{"redis without url", func(c *Config) { c.RateLimits.Backend = "redis" },
			[]string{`rate-limits.backend: "redis" needs redis.url`}},
		{"redis with url", func(c *Config) { c.RateLimits.Backend = "redis"; c.Redis.URL = "redis://127.0.0.1:6379/0" }, nil},
		{"bad redis url", func(c *Config) { c.Redis.URL = "http://x" }, []string{"redis.url: must be a redis://, rediss:// or unix:// URL"}},
		{"negative limits", func(c *Config) { c.RateLimits.RPMPerKey = -1 },
			[]string{"rate-limits.rpm-per-key: must not be negative (0 = no limit), got -1"}},
		{"flush interval", func(c *Config) { c.Database.SpendFlushIntervalMS = 0 },
			[]string{"database.spend-flush-interval-ms: must be greater than 0, got 0"}},
		{"size limits", func(c *Config) { c.Limits.MaxRequestSizeMB = 0; c.Limits.MaxResponseSizeMB = -1 },
			[]string{"limits.max-request-size-mb: must be greater than 0, got 0",
				"limits.max-response-size-mb: must be greater than 0, got -1"}},
		{"cache sizes when enabled", func(c *Config) { c.Cache.Enable = true; c.Cache.MaxEntries = 0; c.Cache.MaxBytesMB = 0 },
			[]string{"cache.max-entries: must be at least 1 when the cache is enabled, got 0",
				"cache.max-bytes-mb: must be at least 1 when the cache is enabled, got 0"}},
		{"cache sizes when disabled", func(c *Config) { c.Cache.MaxEntries = 0 }, nil},
		{"metrics path", func(c *Config) { c.Metrics.Path = "metrics" }, []string{`metrics.path: must start with "/", got "metrics"`}},
		{"pricing", func(c *Config) {
			c.Pricing.Models = []PricingModel{{Match: "", InputPerMillion: -1, CachedInputPerMillion: ptr(-2.0)}}
		}, []string{"pricing.models[0].match: must not be empty",
			"pricing.models[0].input-per-million: must not be negative, got -1",
			"pricing.models[0].cached-input-per-million: must not be negative, got -2"}},
		{"fallback empty model", func(c *Config) { c.FallbackChains = []FallbackChain{{Fallbacks: []string{"b"}}} },
			[]string{"fallback-chains[0].model: must not be empty"}},
		{"fallback self", func(c *Config) { c.FallbackChains = []FallbackChain{{Model: "a", Fallbacks: []string{"b", "a"}}} },
			[]string{`fallback-chains[0].fallbacks[1]: model "a" falls back to itself`}},
		{"fallback duplicate", func(c *Config) {
			c.FallbackChains = []FallbackChain{{Model: "a", Fallbacks: []string{"b"}}, {Model: "a", Fallbacks: []string{"c"}}}
		}, []string{`fallback-chains[1].model: duplicate chain for model "a"`}},
		{"fallback two-cycle", func(c *Config) {
			c.FallbackChains = []FallbackChain{{Model: "a", Fallbacks: []string{"b"}}, {Model: "b", Fallbacks: []string{"a"}}}
		}, []string{"fallback-chains: cycle a -> b -> a"}},
		{"fallback long cycle", func(c *Config) {
			c.FallbackChains = []FallbackChain{
				{Model: "x", Fallbacks: []string{"a"}},
				{Model: "a", Fallbacks: []string{"z", "b"}},
				{Model: "b", Fallbacks: []string{"c"}},
				{Model: "c", Fallbacks: []string{"a"}},
			}
		}, []string{"fallback-chains: cycle a -> b -> c -> a"}},
		{"fallback dag", func(c *Config) {
			c.FallbackChains = []FallbackChain{
				{Model: "a", Fallbacks: []string{"b", "c"}},
				{Model: "b", Fallbacks: []string{"c"}},
				{Model: "c", Fallbacks: []string{"d"}},
			}
		}, nil},
		{"aliases", func(c *Config) {
			c.ModelAliases = []ModelAlias{{Alias: "fast", Model: "m"}, {Alias: "fast", Model: "n"}, {Alias: "", Model: ""}}
		}, []string{`model-aliases[1].alias: duplicate alias "fast"`, "model-aliases[2].alias: must not be empty",
			"model-aliases[2].model: must not be empty"}},
		{"compat name rules", func(c *Config) {
			c.OpenAICompatible = []CompatibleProvider{
				compat("", "http://127.0.0.1:1"), compat("Bad Name", "http://127.0.0.1:1"),
				compat("ok", "http://127.0.0.1:1"), compat("ok", "http://127.0.0.1:1"), compat("openai", "http://127.0.0.1:1"),
			}
		}, []string{"openai-compatible[0].name: is required",
			`openai-compatible[1].name: "Bad Name" may contain only a-z, 0-9, '.', '_' and '-'`,
			`openai-compatible[3].name: duplicate name "ok"`,
			`openai-compatible[4].name: "openai" is a built-in provider id`}},
		{"compat base-url", func(c *Config) {
			c.OpenAICompatible = []CompatibleProvider{compat("a", ""), compat("b", "/v1")}
		}, []string{"openai-compatible[0].base-url: is required",
			"openai-compatible[1].base-url: must be an absolute http:// or https:// URL"}},
		{"provider urls", func(c *Config) {
			c.Anthropic = []APIKeyProvider{{BaseURL: "api.anthropic.com", ProxyURL: "socks4://h:1"}}
		}, []string{"anthropic[0].base-url: must be an absolute http:// or https:// URL",
			`anthropic[0].proxy-url: scheme must be http, https, socks5 or socks5h, got "socks4"`}},
		{"bad header name", func(c *Config) { c.Gemini = []APIKeyProvider{{Headers: map[string]string{"X Bad": "v"}}} },
			[]string{`gemini[0].headers: "X Bad" is not a valid header name`}},
		{"unknown provider id", func(c *Config) {
			c.Providers = map[string]ProviderEndpoints{"claude": {}, "codex": {TokenURL: "not a url"}}
		}, []string{`providers.claude: unknown provider id "claude" (valid: claude-code, codex, copilot, kiro, qwen, gemini-cli)`,
			"providers.codex.token-url: must be an absolute http:// or https:// URL"}},
		{"pass-through", func(c *Config) {
			c.OpenAICompatible = []CompatibleProvider{compat("local", "http://127.0.0.1:1")}
			c.PassThrough.Endpoints = []PassThroughEndpoint{
				{Path: "/ok", Target: "http://127.0.0.1:1", Provider: "local"},
				{Path: "nope", Target: "relative", Provider: "nobody", Methods: []string{"get"}},
				{Path: "/ok", Target: "", Provider: "codex"},
			}
		}, []string{`pass-through.endpoints[1].path: must start with "/", got "nope"`,
			"pass-through.endpoints[1].target: must be an absolute http:// or https:// URL",
			`pass-through.endpoints[1].provider: "nobody" is neither a provider id nor an openai-compatible name`,
			`pass-through.endpoints[1].methods[0]: "get" is not an upper-case HTTP method`,
			`pass-through.endpoints[2].path: duplicate path "/ok"`,
			"pass-through.endpoints[2].target: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.mutate(c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %q, got nil", tt.want)
			}
			errs := unjoin(err)
			var got []string
			for _, e := range errs {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Errorf("error %v is %T, want *FieldError", e, e)
				}
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestValidateDoesNotEchoURLSecrets(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Redis.URL = "http://:redis-pass-secret@h:1"
	c.ProxyURL = "ftp://u:proxy-pass-secret@h:1"
	c.OpenAI = []APIKeyProvider{{BaseURL: "ftp://u:base-pass-secret@h/?key=sk-query-secret"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, s := range []string{"redis-pass-secret", "proxy-pass-secret", "base-pass-secret", "sk-query-secret"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks %q: %v", s, err)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"127.0.0.1": true, "127.255.0.9": true, "::1": true, "[::1]": true, "localhost": true, "localhost.": true,
		"app.localhost": true, "0.0.0.0": false, "::": false, "192.168.1.2": false, "example.com": false,
		"localhost.example.com": false, "": false,
	}
	for host, want := range tests {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
