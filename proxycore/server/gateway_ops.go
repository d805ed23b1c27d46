package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/cliproxy/cliproxy/proxycore/cache"
	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/limit"
	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/metrics"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// gatewayState is the part of the gateway that outlives configuration reloads: counters and cached
// answers must survive an edit of an unrelated key.
type gatewayState struct {
	reg     *prometheus.Registry
	metrics *metrics.Metrics

	limitBackend limit.Backend // memory or Redis, shared by every runtime's limiter
	cache        cache.Store
	cacheCfg     config.Cache
	redis        *redis.Client
	redisURL     string
}

// newGatewayState builds the metrics registry. Limits and the cache are attached by attachGateway, per
// configuration.
func newGatewayState() *gatewayState {
	reg := prometheus.NewRegistry()
	_ = metrics.RegisterRuntime(reg)
	return &gatewayState{reg: reg, metrics: metrics.New(reg)}
}

// Metrics returns the server's Prometheus collectors (also served at [metrics] path when enabled).
func (s *Server) Metrics() *metrics.Metrics { return s.gs.metrics }

// MetricsRegistry returns the registry the collectors live on.
func (s *Server) MetricsRegistry() *prometheus.Registry { return s.gs.reg }

// attachGateway derives the runtime's limiter, cache and pricing from cfg, reusing the long-lived
// backends where the relevant settings did not change.
func (s *Server) attachGateway(rt *runtime, cfg *config.Config) error {
	gs := s.gs
	s.gwMu.Lock()
	defer s.gwMu.Unlock()

	// One client for everything [redis] url shares: rate limits (with backend = "redis"), the response
	// cache and cooldowns (shared.go).
	if gs.redisURL != cfg.Redis.URL {
		var next *redis.Client
		if cfg.Redis.URL != "" {
			opt, err := redis.ParseURL(cfg.Redis.URL)
			if err != nil {
				return fmt.Errorf("redis.url: %s", redactURL(err.Error()))
			}
			failFast(opt)
			next = redis.NewClient(opt)
		}
		if gs.redis != nil {
			_ = gs.redis.Close()
		}
		gs.redis, gs.redisURL = next, cfg.Redis.URL
		gs.limitBackend, gs.cache = nil, nil
	}
	wantRedis := gs.redis != nil && cfg.RateLimits.Backend == "redis"
	if _, isRedis := gs.limitBackend.(*limit.Redis); gs.limitBackend != nil && isRedis != wantRedis {
		gs.limitBackend = nil // the backend setting changed
	}

	if rl := cfg.RateLimits; rl.Enable {
		if gs.limitBackend == nil {
			if wantRedis {
				b, err := limit.NewRedis(gs.redis, limit.RedisOptions{})
				if err != nil {
					return fmt.Errorf("rate-limits.backend: %w", err)
				}
				gs.limitBackend = b
			} else {
				gs.limitBackend = limit.NewMemory()
			}
		}
		rt.limiter = limit.New(limit.Options{MaxParallel: rl.MaxParallelRequests, MaxParallelPerKey: rl.MaxParallelPerKey,
			RPMPerKey: rl.RPMPerKey, TPMPerKey: rl.TPMPerKey, Clock: s.clock, Logger: s.log}, gs.limitBackend)
	}

	if c := cfg.Cache; c.Enable {
		if gs.cache == nil || gs.cacheCfg != c {
			if gs.redis != nil {
				rc, err := cache.NewRedis(gs.redis, cache.RedisOptions{TTL: c.TTL(), Clock: s.clock, Logger: s.log})
				if err != nil {
					return fmt.Errorf("cache: %w", err)
				}
				gs.cache = rc
			} else {
				gs.cache = cache.New(cache.Options{MaxEntries: c.MaxEntries, MaxBytes: c.MaxBytes(), TTL: c.TTL(), Clock: s.clock})
			}
			gs.cacheCfg = c
		}
		rt.cache = gs.cache
	}

	rt.pricing = s.gw.Pricing
	if rt.pricing == nil {
		overrides := make([]spend.PriceOverride, 0, len(cfg.Pricing.Models))
		for _, m := range cfg.Pricing.Models {
			o := spend.PriceOverride{Match: m.Match, Input: m.InputPerMillion, Output: m.OutputPerMillion}
			if m.CachedInputPerMillion != nil {
				o.CachedInput = *m.CachedInputPerMillion
			}
			if m.CacheWritePerMillion != nil {
				o.CacheWrite = *m.CacheWritePerMillion
			}
			overrides = append(overrides, o)
		}
		p, err := spend.NewPricing(overrides)
		if err != nil {
			return fmt.Errorf("pricing.models: %w", err)
		}
		rt.pricing = p
	}

	rt.metricsOn = cfg.Metrics.Enable
	rt.metricsPath = cfg.Metrics.Path
	rt.metricsAuth = cfg.Metrics.RequireAuth
	rt.requestLog = cfg.RequestLog.Enable && s.gw.RequestLog != nil
	rt.requestLogMax = int(cfg.RequestLog.MaxBodyBytes())
	rt.masker = newMasker(cfg.Secrets())
	return s.buildPassThrough(rt, cfg)
}

// admit runs the per-request gateway checks before routing: the virtual key's allow-list and budget, then
// the rate limits. It answers the client itself and returns false when the request may not proceed.
func (x *exchange) admit(p *Principal) bool {
	s, rt := x.s, x.rt
	if p.Key != nil && s.gw.Keys != nil {
		model := baseModel(x.model) // a reasoning suffix does not change which model is used
		err := s.gw.Keys.Check(p.Key, model)
		if errors.Is(err, spend.ErrModelNotAllowed) {
			// The allow-list may name the alias's target instead of the alias.
			if _, resolved, rerr := rt.catalog.Resolve(model); rerr == nil && resolved != model {
				err = s.gw.Keys.Check(p.Key, resolved)
			}
		}
		if err != nil {
			var budget *spend.BudgetExceededError
			var model *spend.ModelNotAllowedError
			switch {
			case errors.As(err, &budget):
				x.rec.ErrorClass = "budget_exceeded"
				x.fail(budgetError(budget, s.clock.Now()))
			case errors.As(err, &model):
				x.rec.ErrorClass = "model_not_allowed"
				x.fail(errForbidden("This key may not use model '" + x.model + "'; use a model on the key's allow-list (" + strings.Join(p.Key.Models, ", ") + ") or ask for the model to be added."))
			default:
				x.rec.ErrorClass = "auth"
				x.fail(errUnauthorized("This key can no longer be used: " + err.Error() + ". Create a new key with `cliproxy keys create`."))
			}
			return false
		}
	}
	if rt.limiter != nil {
		t, rej := rt.limiter.Acquire(x.r.Context(), p.KeyID, limit.KeyLimits{MaxParallel: p.MaxParallel, RPM: p.RPM, TPM: p.TPM})
		if rej != nil {
			s.gs.metrics.RateLimitRejected(rej.Reason)
			x.rec.ErrorClass = "rate_limited_local"
			x.fail(errRateLimited(rej.Message, rej.RetryAfter))
			return false
		}
		x.ticket, x.hasTicket = t, true
	}
	return true
}

// budgetError is the 429 of a key whose budget is spent: it says so and when the budget resets.
func budgetError(b *spend.BudgetExceededError, now time.Time) *llm.Error {
	msg := fmt.Sprintf("Budget exhausted: this key spent $%.2f of its $%.2f %s budget.", b.SpentUSD, b.BudgetUSD, b.Period)
	var after time.Duration
	if b.ResetAt.IsZero() {
		msg += " The budget is a total and never resets; raise it or use another key."
	} else {
		msg += " It resets at " + b.ResetAt.UTC().Format(time.RFC3339) + "."
		after = b.ResetAt.Sub(now)
	}
	e := errRateLimited(msg, after)
	e.Code = "budget_exceeded"
	return e
}

// cacheLookup answers from the response cache when it can. It returns true when the client got a cached
// answer. On a miss it remembers the key so cacheStore can fill it.
func (x *exchange) cacheLookup(p *Principal) bool {
	c := x.rt.cache
	if c == nil || x.stream || !isCacheableOp(x) {
		return false
	}
	if cc := x.r.Header.Get("Cache-Control"); cc != "" && (containsToken(cc, "no-cache") || containsToken(cc, "no-store")) {
		x.w.Header().Set("X-Cache", "BYPASS")
		return false
	}
	var key string
	if x.client == llm.FormatGemini { // Gemini streams are chosen by the URL, checked above
		k, err := cache.Key(p.KeyID, x.r.URL.Path, x.body)
		if err != nil {
			return false
		}
		key = k
	} else {
		k, ok := cache.CacheableKey(p.KeyID, x.r.URL.Path, x.body)
		if !ok {
			return false
		}
		key = k
	}
	if e, ok := c.Get(x.r.Context(), key); ok {
		x.s.gs.metrics.CacheHit()
		h := x.w.Header()
		for k, v := range e.Header {
			h[k] = v
		}
		h.Set("X-Cache", "HIT")
		x.rec.CacheHit = true
		x.rec.Status = e.Status
		x.rec.Usage = extractUsage(x.client, e.Body)
		writeBody(x.w, e.Status, e.Body)
		return true
	}
	x.s.gs.metrics.CacheMiss()
	x.w.Header().Set("X-Cache", "MISS")
	x.cacheKey = key
	return false
}

func isCacheableOp(x *exchange) bool {
	switch x.route() {
	case "chat", "completions", "responses", "messages", "generateContent":
		return true
	}
	return false
}

// cacheStore offers a successful non-streaming answer to the response cache.
func (s *Server) cacheStore(x *exchange, status int, body []byte) {
	if x.cacheKey == "" || x.rt.cache == nil {
		return
	}
	h := x.w.Header()
	if !cache.CacheableResponse(status, h) {
		return
	}
	// Set keeps only the headers that describe the body (cache.FilterHeader).
	x.rt.cache.Set(x.r.Context(), x.cacheKey, cache.Entry{Status: status, Header: h, Body: body, StoredAt: s.clock.Now()})
}

// settle runs after the response ended: it releases the rate-limit ticket with the tokens used, prices
// the usage, charges the virtual key, writes the spend row and the request log entry, and updates metrics.
func (s *Server) settle(x *exchange, p *Principal) {
	rec, rt := x.rec, x.rt
	u := rec.Usage
	tokens := int(u.Total())
	row := spend.Record{
		Time: rec.Time.Add(rec.Latency), RequestID: rec.RequestID, KeyID: rec.KeyID, CredentialID: rec.CredentialID,
		Provider: rec.Provider, Model: rec.UpstreamModel, Route: rec.Route,
		InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedTokens: u.CachedInputTokens,
		CacheWriteTokens: u.CacheCreationTokens, ReasoningTokens: u.ReasoningTokens,
		LatencyMS: rec.Latency.Milliseconds(), TTFBMS: rec.TTFB.Milliseconds(), Status: rec.Status,
		ErrorClass: rec.ErrorClass, CacheHit: rec.CacheHit,
	}
	if row.Model == "" {
		row.Model = rec.Model
	}
	if !rec.CacheHit && tokens > 0 {
		rt.pricing.Apply(&row)
	}
	rec.CostUSD = row.CostUSD
	if row.CostUSD > 0 && p.Key != nil && s.gw.Keys != nil {
		if err := s.gw.Keys.Charge(p.Key.ID, row.CostUSD); err != nil {
			s.log.Warn("charging a virtual key failed", "key", p.Key.ID, "err", err)
		}
	}
	// Free the parallel slot only once the key is charged: a request admitted in between would see a budget
	// that does not yet count this one, and the overshoot would no longer be bounded by max-parallel.
	if x.hasTicket {
		x.ticket.Release(tokens)
	}
	if s.gw.Spend != nil && (tokens > 0 || rec.CredentialID != "" || rec.CacheHit) {
		if !s.gw.Spend.Add(row) {
			s.gs.metrics.SpendRowsDropped(1)
		}
	}
	if rt.metricsOn {
		upstream := rec.Upstream
		s.gs.metrics.ObserveRequest(metrics.RequestObservation{Route: x.routePattern(), Provider: rec.Provider, Model: row.Model,
			Status: rec.Status, Total: rec.Latency, Upstream: upstream, TTFT: streamTTFT(rec), InputTokens: int(u.InputTokens),
			OutputTokens: int(u.OutputTokens), SpendUSD: row.CostUSD})
		if rec.ErrorClass != "" && rec.CredentialID != "" {
			s.gs.metrics.UpstreamError(rec.Provider, rec.ErrorClass)
		}
	}
	if rt.requestLog {
		x.logRequest(s.gw.RequestLog)
	}
}

func streamTTFT(rec *Record) time.Duration {
	if rec.Stream {
		return rec.TTFB
	}
	return 0
}

// route returns the record's route name.
func (x *exchange) route() string { return x.rec.Route }

// routePattern is the client endpoint pattern used as the metrics label (never the raw URL).
func (x *exchange) routePattern() string {
	switch x.rec.Route {
	case "chat":
		return "/v1/chat/completions"
	case "completions":
		return "/v1/completions"
	case "responses":
		return "/v1/responses"
	case "embeddings":
		return "/v1/embeddings"
	case "messages":
		return "/v1/messages"
	case "count_tokens":
		return "/v1/messages/count_tokens"
	case "generateContent", "streamGenerateContent", "countTokens":
		return "/v1beta/models/{model}:" + x.rec.Route
	}
	return x.rec.Route
}

// containsToken reports whether a comma-separated header value holds tok (case-insensitive).
func containsToken(v, tok string) bool {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		part := trimSpace(v[:i])
		if len(part) >= len(tok) && equalFold(part[:len(tok)], tok) && (len(part) == len(tok) || part[len(tok)] == '=') {
			return true
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
	return false
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// serveMetrics answers a scrape at [metrics] path. With require-auth a client key, a virtual key or the
// management key is needed.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, rt *runtime) {
	if rt.metricsAuth && !s.metricsAuthorized(r, rt) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cliproxy metrics"`)
		http.Error(w, "metrics need a client or management key ([metrics] require-auth = true): send Authorization: Bearer <key>", http.StatusUnauthorized)
		return
	}
	s.updateHealthGauges()
	if s.gw.Spend != nil {
		s.gs.metrics.SetSpendQueueDepthFunc(func() float64 { return float64(s.gw.Spend.QueueDepth()) })
	}
	metrics.Handler(s.gs.reg).ServeHTTP(w, r)
}

func (s *Server) metricsAuthorized(r *http.Request, rt *runtime) bool {
	key := clientKey(r)
	if k := r.Header.Get("X-Management-Key"); k != "" {
		key = k
	}
	if key == "" {
		return false
	}
	h := hashKey(key)
	if _, ok := rt.clientKeys[h]; ok {
		return true
	}
	if rt.mgmtOn && h == rt.mgmtKey {
		return true
	}
	if s.gw.Keys != nil {
		if _, err := s.gw.Keys.Authenticate(key); err == nil {
			return true
		}
	}
	return false
}

// updateHealthGauges copies the router's credential states into the health gauge before a scrape.
func (s *Server) updateHealthGauges() {
	for _, c := range s.router.Snapshot() {
		s.gs.metrics.SetCredentialHealth(c.CredentialID, c.State.String())
	}
}

// retryAfterSeconds renders a duration as whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10)
}

// registerExtra is kept for routes that need the mux; pass-through and metrics are matched in outer so
// that configuration reloads can change their paths.
func (s *Server) registerExtra(m *mux.Router, api *mux.Router) {}

// components reports the gateway's optional parts for readiness. None of them makes the proxy unready:
// requests are still served when spend tracking is down, and readiness says so.
func (s *Server) components() map[string]any {
	rt := s.rt.Load()
	out := make(map[string]any, 4)
	switch {
	case s.gw.StoreError != nil:
		out["spend"] = map[string]any{"status": "unavailable", "error": s.gw.StoreError.Error()}
	case s.gw.Spend != nil:
		out["spend"] = map[string]any{"status": "ok", "queue_depth": s.gw.Spend.QueueDepth(), "dropped": s.gw.Spend.Dropped()}
	default:
		out["spend"] = map[string]any{"status": "off"}
	}
	out["virtual_keys"] = map[string]any{"status": onOff(s.gw.Keys != nil)}
	out["rate_limits"] = map[string]any{"status": onOff(rt.limiter != nil)}
	if c, ok := rt.cache.(*cache.Cache); ok {
		st := c.Stats()
		out["cache"] = map[string]any{"status": "ok", "entries": st.Entries, "bytes": st.Bytes, "hits": st.Hits, "misses": st.Misses}
	} else {
		out["cache"] = map[string]any{"status": onOff(rt.cache != nil)}
	}
	return out
}

func onOff(on bool) string {
	if on {
		return "ok"
	}
	return "off"
}

// baseModel strips a reasoning suffix ("name(high)", "name(8192)") from a model name.
func baseModel(model string) string {
	base, _, _, _ := translate.ParseModelSuffix(model)
	return base
}

// failFast shortens the Redis client's waits that the url does not set itself. Redis is on the request
// path (the cache's lookup, the limiter's counters), and while it is unreachable the cache must read as a
// miss and the limiter fail open at once: with the client's defaults (five dial attempts per try, three
// tries, 5 s timeouts) every request waited seconds.
func failFast(opt *redis.Options) {
	if opt.DialTimeout == 0 {
		opt.DialTimeout = time.Second
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = time.Second
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = time.Second
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1 // no retry: the caller falls back
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
}
