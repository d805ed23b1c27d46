package provider

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// Default upstream base URLs of the API-key providers.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	DefaultGeminiBaseURL    = "https://generativelanguage.googleapis.com"

	// DefaultAnthropicVersion is sent when the client did not name one. 2023-06-01 still accepts the sampling
	// parameters (temperature, top_p, top_k) that translated requests carry (WIRE.md section 0).
	DefaultAnthropicVersion = "2023-06-01"
)

// Kind selects the wire protocol of an API-key credential.
type Kind uint8

// The API-key provider kinds.
const (
	KindOpenAI           Kind = iota + 1 // OpenAI: chat, completions, responses, embeddings
	KindOpenAICompatible                 // any OpenAI-compatible server: chat, completions, embeddings
	KindAnthropic                        // Anthropic Messages
	KindGemini                           // Gemini generateContent
)

// APIKeyConfig describes one API-key credential.
type APIKeyConfig struct {
	ID       string            // credential id, unique
	Provider string            // provider id; for openai-compatible entries their configured name
	Kind     Kind              // wire protocol
	Label    string            // shown in the UI
	APIKey   string            // may be empty for keyless local servers (Ollama, vLLM)
	BaseURL  string            // "" = the vendor default
	Headers  map[string]string // extra upstream headers, set last
	Client   *http.Client      // shared client over a shared transport
}

// apiKeyExecutor is the Executor of every API-key provider; the kind decides URLs and auth headers.
type apiKeyExecutor struct {
	cfg   APIKeyConfig
	base  string // base URL without trailing slash
	urls  [OpGeminiCountTokens + 1]string
	extra http.Header
}

var _ Executor = (*apiKeyExecutor)(nil)

// NewAPIKey returns the executor for an API-key credential.
func NewAPIKey(cfg APIKeyConfig) (Executor, error) {
	if cfg.ID == "" || cfg.Provider == "" {
		return nil, fmt.Errorf("provider: credential id and provider are required")
	}
	if cfg.Client == nil {
		return nil, fmt.Errorf("provider %s: an HTTP client is required", cfg.ID)
	}
	base := cfg.BaseURL
	if base == "" {
		switch cfg.Kind {
		case KindOpenAI:
			base = DefaultOpenAIBaseURL
		case KindAnthropic:
			base = DefaultAnthropicBaseURL
		case KindGemini:
			base = DefaultGeminiBaseURL
		default:
			return nil, fmt.Errorf("provider %s: base-url is required", cfg.ID)
		}
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("provider %s: base-url: %w", cfg.ID, err)
	}
	e := &apiKeyExecutor{cfg: cfg, base: strings.TrimRight(base, "/")}
	switch cfg.Kind {
	case KindOpenAI, KindOpenAICompatible:
		e.urls[OpChat] = e.base + "/chat/completions"
		e.urls[OpCompletions] = e.base + "/completions"
		e.urls[OpEmbeddings] = e.base + "/embeddings"
		if cfg.Kind == KindOpenAI {
			e.urls[OpResponses] = e.base + "/responses"
		}
	case KindAnthropic:
		e.urls[OpMessages] = e.base + "/v1/messages"
		e.urls[OpCountTokens] = e.base + "/v1/messages/count_tokens"
	case KindGemini:
		e.urls[OpGenerate] = e.base + "/v1beta/models/"
		e.urls[OpStreamGenerate] = e.urls[OpGenerate]
		e.urls[OpGeminiCountTokens] = e.urls[OpGenerate]
	default:
		return nil, fmt.Errorf("provider %s: unknown kind %d", cfg.ID, cfg.Kind)
	}
	if len(cfg.Headers) > 0 {
		e.extra = make(http.Header, len(cfg.Headers))
		for k, v := range cfg.Headers {
			e.extra.Set(k, v)
		}
	}
	return e, nil
}

func (e *apiKeyExecutor) CredentialID() string { return e.cfg.ID }
func (e *apiKeyExecutor) Provider() string     { return e.cfg.Provider }
func (e *apiKeyExecutor) Label() string        { return e.cfg.Label }

func (e *apiKeyExecutor) Format() llm.Format {
	switch e.cfg.Kind {
	case KindAnthropic:
		return llm.FormatClaude
	case KindGemini:
		return llm.FormatGemini
	}
	return llm.FormatOpenAIChat
}

func (e *apiKeyExecutor) Supports(op Op) bool {
	return int(op) < len(e.urls) && e.urls[op] != ""
}

func (e *apiKeyExecutor) Do(ctx context.Context, c *Call) (*http.Response, error) {
	if !e.Supports(c.Op) {
		return nil, fmt.Errorf("provider %s: %s is not supported", e.cfg.Provider, c.Op)
	}
	u := e.urls[c.Op]
	if e.cfg.Kind == KindGemini {
		// Gemini names the model in the path (WIRE.md section 0); streaming needs alt=sse for SSE framing.
		switch c.Op {
		case OpGenerate:
			u = u + url.PathEscape(c.Model) + ":generateContent"
		case OpStreamGenerate:
			u = u + url.PathEscape(c.Model) + ":streamGenerateContent?alt=sse"
		case OpGeminiCountTokens:
			u = u + url.PathEscape(c.Model) + ":countTokens"
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(c.Body))
	if err != nil {
		return nil, fmt.Errorf("provider %s: building request: %w", e.cfg.Provider, err)
	}
	h := req.Header
	h["Content-Type"] = jsonContentType
	if c.Stream {
		h["Accept"] = sseAccept
	}
	switch e.cfg.Kind {
	case KindOpenAI, KindOpenAICompatible:
		if e.cfg.APIKey != "" {
			h["Authorization"] = []string{"Bearer " + e.cfg.APIKey}
		}
	case KindAnthropic:
		h["X-Api-Key"] = []string{e.cfg.APIKey}
		version := DefaultAnthropicVersion
		if c.Header != nil {
			if v := c.Header.Get("Anthropic-Version"); v != "" {
				version = v
			}
			if v := c.Header.Values("Anthropic-Beta"); len(v) > 0 {
				h["Anthropic-Beta"] = v
			}
		}
		h["Anthropic-Version"] = []string{version}
	case KindGemini:
		h["X-Goog-Api-Key"] = []string{e.cfg.APIKey}
	}
	for k, v := range e.extra {
		h[k] = v
	}
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", e.cfg.Provider, err)
	}
	return resp, nil
}

var (
	jsonContentType = []string{"application/json"}
	sseAccept       = []string{"text/event-stream"}
)

// Authorize sets the credential header this provider kind expects.
func (e *apiKeyExecutor) Authorize(h http.Header) {
	if e.cfg.APIKey == "" {
		return
	}
	switch e.cfg.Kind {
	case KindOpenAI, KindOpenAICompatible:
		h["Authorization"] = []string{"Bearer " + e.cfg.APIKey}
	case KindAnthropic:
		h["X-Api-Key"] = []string{e.cfg.APIKey}
		if h.Get("Anthropic-Version") == "" {
			h["Anthropic-Version"] = []string{DefaultAnthropicVersion}
		}
	case KindGemini:
		h["X-Goog-Api-Key"] = []string{e.cfg.APIKey}
	}
	for k, v := range e.extra {
		h[k] = v
	}
}
