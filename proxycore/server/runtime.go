package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/cache"
	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/limit"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/proxycore/spend"
)

// runtime is everything derived from one configuration. It is immutable; Reload builds a new one and
// requests in flight keep theirs.
type runtime struct {
	cfg         *config.Config
	catalog     *route.Catalog
	execs       map[string]provider.Executor
	fallbacks   *route.Fallbacks
	retry       route.RetryPolicy
	bootstrap   int
	keepalive   time.Duration
	maxRequest  int64
	maxResponse int64

	requireKey bool
	clientKeys map[[32]byte]*Principal // sha256(key) -> the caller it authenticates
	origins    map[string]struct{}
	guardrail  bool // refuse client-side api_base/base_url

	mgmtKey [32]byte // sha256 of the management key
	mgmtOn  bool

	// gateway features (attachGateway)
	limiter       *limit.Limiter // nil: [rate-limits] off
	cache         cache.Store    // nil: [cache] off
	pricing       *spend.Pricing
	metricsOn     bool
	metricsPath   string
	metricsAuth   bool
	requestLog    bool
	requestLogMax int
	masker        *masker
	passThrough   []passThroughRoute
}

// buildRuntime derives the routing tables and policies from cfg and the logged-in accounts.
func (s *Server) buildRuntime(cfg *config.Config) (*runtime, error) {
	rt := &runtime{
		cfg:         cfg,
		execs:       make(map[string]provider.Executor),
		bootstrap:   cfg.Streaming.BootstrapRetries,
		keepalive:   cfg.Streaming.Keepalive(),
		maxRequest:  cfg.Limits.MaxRequestBytes(),
		maxResponse: cfg.Limits.MaxResponseBytes(),
		requireKey:  cfg.RequireAPIKey,
		clientKeys:  make(map[[32]byte]*Principal),
		origins:     make(map[string]struct{}),
		guardrail:   !cfg.Guardrails.AllowClientSideCredentials,
	}
	rp := cfg.RetryPolicy
	rt.retry = route.RetryPolicy{MaxRetries: rp.MaxRetries, InitialBackoff: rp.InitialBackoff(), MaxBackoff: rp.MaxBackoff(),
		Multiplier: rp.Multiplier, Jitter: rp.Jitter, RetryOn: rp.RetryOn}
	if rt.maxRequest <= 0 {
		rt.maxRequest = 20 << 20
	}
	if rt.maxResponse <= 0 {
		rt.maxResponse = 50 << 20
	}
	keys := cfg.APIKeys
	for i, k := range keys {
		if k != "" {
			rt.clientKeys[hashKey(k)] = &Principal{KeyID: "static-" + strconv.Itoa(i+1)}
		}
	}
	if len(keys) == 0 && s.opts.GeneratedKey != "" {
		rt.clientKeys[hashKey(s.opts.GeneratedKey)] = &Principal{KeyID: "generated"}
	}
	for _, o := range cfg.AllowedOrigins {
		rt.origins[strings.TrimRight(o, "/")] = struct{}{}
	}
	if k := cfg.RemoteManagement.SecretKey; k != "" {
		rt.mgmtKey = hashKey(k)
		rt.mgmtOn = true
	}

	var entries []route.Entry
	add := func(e provider.Executor, models []config.Model, defaults []string) {
		rt.execs[e.CredentialID()] = e
		if len(models) == 0 {
			for _, m := range defaults {
				entries = append(entries, route.Entry{CredentialID: e.CredentialID(), Provider: e.Provider(), Model: m, Upstream: m})
			}
			return
		}
		for _, m := range models {
			entries = append(entries, route.Entry{CredentialID: e.CredentialID(), Provider: e.Provider(), Model: m.ClientName(), Upstream: m.Name})
		}
	}
	lists := []struct {
		id      string
		kind    provider.Kind
		entries []config.APIKeyProvider
	}{
		{"openai", provider.KindOpenAI, cfg.OpenAI},
		{"anthropic", provider.KindAnthropic, cfg.Anthropic},
		{"gemini", provider.KindGemini, cfg.Gemini},
	}
	for _, l := range lists {
		for i, p := range l.entries {
			if p.Disabled {
				continue
			}
			e, err := s.apiKeyExecutor(cfg, l.id, l.id+"-"+strconv.Itoa(i+1), l.kind, p)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", l.id, i, err)
			}
			add(e, p.Models, provider.DefaultModels(l.kind))
		}
	}
	for i, p := range cfg.OpenAICompatible {
		if p.Disabled {
			continue
		}
		e, err := s.apiKeyExecutor(cfg, p.Name, p.Name+"-"+strconv.Itoa(i+1), provider.KindOpenAICompatible, p.APIKeyProvider)
		if err != nil {
			return nil, fmt.Errorf("openai-compatible[%d]: %w", i, err)
		}
		add(e, p.Models, nil)
	}
	if s.opts.Accounts != nil {
		for _, a := range s.opts.Accounts.Accounts() {
			if a.Disabled || a.Executor == nil {
				continue
			}
			add(a.Executor, a.Models, provider.ModelsOf(a.Executor))
		}
	}
	aliases := make(map[string]string, len(cfg.ModelAliases))
	for _, a := range cfg.ModelAliases {
		aliases[a.Alias] = a.Model
	}
	rt.catalog = route.NewCatalog(entries, aliases)
	chains := make(map[string][]string, len(cfg.FallbackChains))
	for _, c := range cfg.FallbackChains {
		chains[c.Model] = c.Fallbacks
	}
	fb, err := route.NewFallbacks(chains, rt.catalog.Has)
	if err != nil {
		return nil, err
	}
	rt.fallbacks = fb
	if err := s.attachGateway(rt, cfg); err != nil {
		return nil, err
	}
	return rt, nil
}

func (s *Server) apiKeyExecutor(cfg *config.Config, providerID, id string, kind provider.Kind, p config.APIKeyProvider) (provider.Executor, error) {
	proxyURL := p.ProxyURL
	if proxyURL == "" {
		proxyURL = cfg.ProxyURL
	}
	tr, err := s.transports.Get(proxyURL)
	if err != nil {
		return nil, err
	}
	label := p.Label
	if label == "" {
		label = providerID
		if p.APIKey != "" {
			label += " " + config.MaskSecret(p.APIKey)
		}
	}
	return provider.NewAPIKey(provider.APIKeyConfig{ID: id, Provider: providerID, Kind: kind, Label: label, APIKey: p.APIKey,
		BaseURL: p.BaseURL, Headers: p.Headers, Client: &http.Client{Transport: tr}})
}

// retryable reports whether an upstream answer (its status and headers) may be retried on another
// credential.
func (s *Server) retryable(rt *runtime, status int, h http.Header) bool {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return true // another credential may well be valid; the failing one is marked by the router
	}
	return rt.retry.RetryableResponse(status, h)
}
