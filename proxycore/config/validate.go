package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// FieldError is one validation failure; Key is the TOML key path it concerns.
type FieldError struct {
	// Key is the key path, e.g. "openai[0].base-url".
	Key string
	// Msg says what is wrong and what is expected.
	Msg string
}

// Error returns "KEY: MESSAGE".
func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// Routing strategies accepted in routing.strategy.
const (
	StrategyFillFirst     = "fill-first"
	StrategyRoundRobin    = "round-robin"
	StrategyRandom        = "random"
	StrategyLeastBusy     = "least-busy"
	StrategyLowestLatency = "lowest-latency"
)

// intField names an integer value for table-driven checks.
type intField struct {
	key string
	n   int
}

// validator collects every problem instead of stopping at the first.
type validator struct {
	errs []error
}

func (v *validator) addf(key, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks the configuration and returns every problem joined (errors.Join of *FieldError, each
// naming its key), or nil. Whether models named in fallback chains or aliases exist cannot be known
// here: the router checks that against its catalog.
func (c *Config) Validate() error {
	v := &validator{}
	c.validateServer(v)
	c.validateSections(v)
	c.validateRetryAndHealth(v)
	c.validateFallbackChains(v)
	c.validateAliases(v)
	c.validateProviders(v)
	c.validatePassThrough(v)
	return errors.Join(v.errs...)
}

func (c *Config) validateServer(v *validator) {
	if c.Port < 1 || c.Port > 65535 {
		v.addf("port", "must be between 1 and 65535, got %d", c.Port)
	}
	switch {
	case strings.TrimSpace(c.Host) == "":
		v.addf("host", "must not be empty")
	case !c.AllowRemote && !IsLoopbackHost(c.Host):
		v.addf("host", "%q is not a loopback address; set allow-remote = true to listen on it", c.Host)
	}
	for i, k := range c.APIKeys {
		if strings.TrimSpace(k) == "" {
			v.addf(fmt.Sprintf("api-keys[%d]", i), "must not be empty")
		}
	}
	for i, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			v.addf(fmt.Sprintf("allowed-origins[%d]", i), "%q must be an origin such as \"http://localhost:3000\"", o)
		}
	}
	checkProxyURL(v, "proxy-url", c.ProxyURL)
}

func (c *Config) validateSections(v *validator) {
	switch c.Keystore.Backend {
	case "auto", "keychain", "file":
	default:
		v.addf("keystore.backend", "must be auto, keychain or file, got %q", c.Keystore.Backend)
	}
	if c.Database.SpendFlushIntervalMS <= 0 {
		v.addf("database.spend-flush-interval-ms", "must be greater than 0, got %d", c.Database.SpendFlushIntervalMS)
	}
	if c.Metrics.Enable && !strings.HasPrefix(c.Metrics.Path, "/") {
		v.addf("metrics.path", "must start with \"/\", got %q", c.Metrics.Path)
	}
	if c.Cache.Enable {
		for _, f := range []intField{
			{"cache.max-entries", c.Cache.MaxEntries}, {"cache.max-bytes-mb", c.Cache.MaxBytesMB},
			{"cache.ttl-seconds", c.Cache.TTLSeconds},
		} {
			if f.n < 1 {
				v.addf(f.key, "must be at least 1 when the cache is enabled, got %d", f.n)
			}
		}
	}
	rl := c.RateLimits
	for _, f := range []intField{
		{"rate-limits.max-parallel-requests", rl.MaxParallelRequests}, {"rate-limits.max-parallel-per-key", rl.MaxParallelPerKey},
		{"rate-limits.rpm-per-key", rl.RPMPerKey}, {"rate-limits.tpm-per-key", rl.TPMPerKey},
	} {
		if f.n < 0 {
			v.addf(f.key, "must not be negative (0 = no limit), got %d", f.n)
		}
	}
	switch rl.Backend {
	case "memory":
	case "redis":
		if c.Redis.URL == "" {
			v.addf("rate-limits.backend", "\"redis\" needs redis.url")
		}
	default:
		v.addf("rate-limits.backend", "must be memory or redis, got %q", rl.Backend)
	}
	if c.Redis.URL != "" {
		u, err := url.Parse(c.Redis.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			v.addf("redis.url", "must be a redis://, rediss:// or unix:// URL")
		}
	}
	if c.Limits.MaxRequestSizeMB <= 0 {
		v.addf("limits.max-request-size-mb", "must be greater than 0, got %d", c.Limits.MaxRequestSizeMB)
	}
	if c.Limits.MaxResponseSizeMB <= 0 {
		v.addf("limits.max-response-size-mb", "must be greater than 0, got %d", c.Limits.MaxResponseSizeMB)
	}
	if c.RequestLog.MaxBodyKB < 0 {
		v.addf("request-log.max-body-kb", "must not be negative, got %d", c.RequestLog.MaxBodyKB)
	}
	if c.RequestLog.Enable && c.RequestLog.RetentionDays < 1 {
		v.addf("request-log.retention-days", "must be at least 1, got %d", c.RequestLog.RetentionDays)
	}
	for i, p := range c.Pricing.Models {
		key := fmt.Sprintf("pricing.models[%d]", i)
		if strings.TrimSpace(p.Match) == "" {
			v.addf(key+".match", "must not be empty")
		}
		prices := []struct {
			name string
			f    *float64
		}{
			{"input-per-million", &p.InputPerMillion}, {"output-per-million", &p.OutputPerMillion},
			{"cached-input-per-million", p.CachedInputPerMillion}, {"cache-write-per-million", p.CacheWritePerMillion},
		}
		for _, pr := range prices {
			if pr.f != nil && *pr.f < 0 {
				v.addf(key+"."+pr.name, "must not be negative, got %g", *pr.f)
			}
		}
	}
	switch c.Routing.Strategy {
	case StrategyFillFirst, StrategyRoundRobin, StrategyRandom, StrategyLeastBusy, StrategyLowestLatency:
	default:
		v.addf("routing.strategy", "must be fill-first, round-robin, random, least-busy or lowest-latency, got %q",
			c.Routing.Strategy)
	}
	if c.Streaming.KeepaliveSeconds < 0 {
		v.addf("streaming.keepalive-seconds", "must not be negative (0 = off), got %d", c.Streaming.KeepaliveSeconds)
	}
	if c.Streaming.BootstrapRetries < 0 {
		v.addf("streaming.bootstrap-retries", "must not be negative, got %d", c.Streaming.BootstrapRetries)
	}
}

func (c *Config) validateRetryAndHealth(v *validator) {
	h := c.HealthTracking
	if h.FailureThreshold < 0 || h.FailureThreshold > 1 {
		v.addf("health-tracking.failure-threshold", "must be between 0 and 1, got %g", h.FailureThreshold)
	}
	if h.DegradedThreshold < 0 || h.DegradedThreshold > 1 {
		v.addf("health-tracking.degraded-threshold", "must be between 0 and 1, got %g", h.DegradedThreshold)
	}
	if h.DegradedThreshold > h.FailureThreshold {
		v.addf("health-tracking.degraded-threshold", "must not exceed failure-threshold (%g > %g)",
			h.DegradedThreshold, h.FailureThreshold)
	}
	if h.Enable && h.WindowSeconds < 1 {
		v.addf("health-tracking.window-seconds", "must be at least 1, got %d", h.WindowSeconds)
	}
	if h.MinRequests < 0 {
		v.addf("health-tracking.min-requests", "must not be negative, got %d", h.MinRequests)
	}
	if h.Enable && h.CleanupInterval < 1 {
		v.addf("health-tracking.cleanup-interval", "must be at least 1 second, got %d", h.CleanupInterval)
	}
	if c.Health.BackgroundProbes && c.Health.ProbeIntervalSeconds < 1 {
		v.addf("health.probe-interval-seconds", "must be at least 1, got %d", c.Health.ProbeIntervalSeconds)
	}

	r := c.RetryPolicy
	if r.MaxRetries < 0 {
		v.addf("retry-policy.max-retries", "must not be negative, got %d", r.MaxRetries)
	}
	if r.InitialBackoffMS < 0 {
		v.addf("retry-policy.initial-backoff-ms", "must not be negative, got %d", r.InitialBackoffMS)
	}
	if r.MaxBackoffMS < r.InitialBackoffMS {
		v.addf("retry-policy.max-backoff-ms", "must be at least initial-backoff-ms (%d < %d)", r.MaxBackoffMS, r.InitialBackoffMS)
	}
	if r.Multiplier < 1 {
		v.addf("retry-policy.multiplier", "must be at least 1, got %g", r.Multiplier)
	}
	if r.Jitter < 0 || r.Jitter > 1 {
		v.addf("retry-policy.jitter", "must be between 0 and 1, got %g", r.Jitter)
	}
	for i, code := range r.RetryOn {
		if code < 100 || code > 599 {
			v.addf(fmt.Sprintf("retry-policy.retry-on[%d]", i), "must be an HTTP status between 100 and 599, got %d", code)
		}
	}
}

func (c *Config) validateFallbackChains(v *validator) {
	next := map[string][]string{}
	var order []string
	for i, fc := range c.FallbackChains {
		key := fmt.Sprintf("fallback-chains[%d]", i)
		if strings.TrimSpace(fc.Model) == "" {
			v.addf(key+".model", "must not be empty")
			continue
		}
		if _, dup := next[fc.Model]; dup {
			v.addf(key+".model", "duplicate chain for model %q", fc.Model)
			continue
		}
		if len(fc.Fallbacks) == 0 {
			v.addf(key+".fallbacks", "must name at least one model")
		}
		for j, f := range fc.Fallbacks {
			switch {
			case strings.TrimSpace(f) == "":
				v.addf(fmt.Sprintf("%s.fallbacks[%d]", key, j), "must not be empty")
			case f == fc.Model:
				v.addf(fmt.Sprintf("%s.fallbacks[%d]", key, j), "model %q falls back to itself", f)
			}
		}
		next[fc.Model] = fc.Fallbacks
		order = append(order, fc.Model)
	}
	for _, cycle := range findCycles(order, next) {
		v.addf("fallback-chains", "cycle %s", strings.Join(cycle, " -> "))
	}
}

// findCycles returns each distinct cycle of the fallback graph once (as a -> b -> a), ignoring
// self-references, which are reported separately. roots fixes the search order.
func findCycles(roots []string, next map[string][]string) [][]string {
	const (
		unvisited = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []string
	var cycles [][]string
	var visit func(m string)
	visit = func(m string) {
		state[m] = onStack
		stack = append(stack, m)
		for _, f := range next[m] {
			if f == m {
				continue
			}
			switch state[f] {
			case unvisited:
				visit(f)
			case onStack:
				start := slices.Index(stack, f)
				cycle := append(slices.Clone(stack[start:]), f)
				cycles = append(cycles, cycle)
			}
		}
		stack = stack[:len(stack)-1]
		state[m] = done
	}
	for _, r := range roots {
		if state[r] == unvisited {
			visit(r)
		}
	}
	return cycles
}

func (c *Config) validateAliases(v *validator) {
	seen := map[string]bool{}
	for i, a := range c.ModelAliases {
		key := fmt.Sprintf("model-aliases[%d]", i)
		if strings.TrimSpace(a.Alias) == "" {
			v.addf(key+".alias", "must not be empty")
		} else if seen[a.Alias] {
			v.addf(key+".alias", "duplicate alias %q", a.Alias)
		}
		seen[a.Alias] = true
		if strings.TrimSpace(a.Model) == "" {
			v.addf(key+".model", "must not be empty")
		}
		if a.Alias != "" && a.Alias == a.Model {
			v.addf(key+".alias", "alias %q names itself", a.Alias)
		}
	}
}

func (c *Config) validateProviders(v *validator) {
	lists := []struct {
		name    string
		entries []APIKeyProvider
	}{{"openai", c.OpenAI}, {"anthropic", c.Anthropic}, {"gemini", c.Gemini}}
	for _, l := range lists {
		for i, e := range l.entries {
			validateEntry(v, fmt.Sprintf("%s[%d]", l.name, i), e, false)
		}
	}
	names := map[string]bool{}
	for i, e := range c.OpenAICompatible {
		key := fmt.Sprintf("openai-compatible[%d]", i)
		switch {
		case e.Name == "":
			v.addf(key+".name", "is required")
		case !validCompatName(e.Name):
			v.addf(key+".name", "%q may contain only a-z, 0-9, '.', '_' and '-'", e.Name)
		case names[e.Name]:
			v.addf(key+".name", "duplicate name %q", e.Name)
		case isBuiltinProvider(e.Name):
			v.addf(key+".name", "%q is a built-in provider id", e.Name)
		}
		names[e.Name] = true
		validateEntry(v, key, e.APIKeyProvider, true)
	}
	ids := make([]string, 0, len(c.Providers))
	for id := range c.Providers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		key := "providers." + quoteKey(id)
		if !slices.Contains(SubscriptionProviderIDs(), id) {
			v.addf(key, "unknown provider id %q (valid: %s)", id, strings.Join(SubscriptionProviderIDs(), ", "))
			continue
		}
		walkEndpointURLs(c.Providers[id], func(field, value string) {
			if field != "client-id" && value != "" {
				checkHTTPURL(v, key+"."+field, value)
			}
		})
	}
}

// walkEndpointURLs calls fn with each key name and value of e.
func walkEndpointURLs(e ProviderEndpoints, fn func(field, value string)) {
	fn("base-url", e.BaseURL)
	fn("auth-url", e.AuthURL)
	fn("token-url", e.TokenURL)
	fn("device-code-url", e.DeviceCodeURL)
	fn("copilot-token-url", e.CopilotTokenURL)
	fn("register-url", e.RegisterURL)
	fn("redirect-url", e.RedirectURL)
	fn("client-id", e.ClientID)
	fn("user-info-url", e.UserInfoURL)
	fn("api-url", e.APIURL)
}

func validateEntry(v *validator, key string, e APIKeyProvider, baseRequired bool) {
	if e.BaseURL == "" {
		if baseRequired {
			v.addf(key+".base-url", "is required")
		}
	} else {
		checkHTTPURL(v, key+".base-url", e.BaseURL)
	}
	checkProxyURL(v, key+".proxy-url", e.ProxyURL)
	for j, m := range e.Models {
		if strings.TrimSpace(m.Name) == "" {
			v.addf(fmt.Sprintf("%s.models[%d].name", key, j), "must not be empty")
		}
	}
	for name := range e.Headers {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			v.addf(key+".headers", "%q is not a valid header name", name)
		}
	}
}

func (c *Config) validatePassThrough(v *validator) {
	known := map[string]bool{}
	for _, id := range append(APIKeyProviderIDs(), SubscriptionProviderIDs()...) {
		known[id] = true
	}
	delete(known, "openai-compatible")
	for _, e := range c.OpenAICompatible {
		if e.Name != "" {
			known[e.Name] = true
		}
	}
	paths := map[string]bool{}
	for i, e := range c.PassThrough.Endpoints {
		key := fmt.Sprintf("pass-through.endpoints[%d]", i)
		switch {
		case !strings.HasPrefix(e.Path, "/"):
			v.addf(key+".path", "must start with \"/\", got %q", e.Path)
		case paths[e.Path]:
			v.addf(key+".path", "duplicate path %q", e.Path)
		}
		paths[e.Path] = true
		if e.Target == "" {
			v.addf(key+".target", "is required")
		} else {
			checkHTTPURL(v, key+".target", e.Target)
		}
		if !known[e.Provider] {
			v.addf(key+".provider", "%q is neither a provider id nor an openai-compatible name", e.Provider)
		}
		for j, m := range e.Methods {
			if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " \t/") {
				v.addf(fmt.Sprintf("%s.methods[%d]", key, j), "%q is not an upper-case HTTP method", m)
			}
		}
	}
}

// checkHTTPURL requires an absolute http(s) URL. The value is not echoed: it may carry credentials.
func checkHTTPURL(v *validator, key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf(key, "must be an absolute http:// or https:// URL")
	}
}

// checkProxyURL accepts "" or an absolute http, https, socks5 or socks5h URL.
func checkProxyURL(v *validator, key, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		v.addf(key, "must be an absolute URL such as http://host:port or socks5://host:port")
		return
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		v.addf(key, "scheme must be http, https, socks5 or socks5h, got %q", u.Scheme)
	}
}

func validCompatName(name string) bool {
	for _, r := range name {
		if !(r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return name != ""
}

func isBuiltinProvider(name string) bool {
	return slices.Contains(APIKeyProviderIDs(), name) || slices.Contains(SubscriptionProviderIDs(), name)
}

// IsLoopbackHost reports whether host (a name or an IP, optionally bracketed) is loopback:
// 127.0.0.0/8, ::1 or localhost (any case, with or without a trailing dot or a ".localhost" suffix).
func IsLoopbackHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if i := strings.IndexByte(h, '%'); i >= 0 { // zone, as in fe80::1%eth0
		h = h[:i]
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
