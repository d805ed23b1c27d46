// Package provider calls upstream LLM APIs. An Executor owns one credential of one provider and knows how to
// turn a Call (an operation plus a body already in the upstream's wire format) into an HTTP request; it never
// translates formats and never retries: the server and the router do that.
package provider

import (
	"context"
	"net/http"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// Op is an upstream operation.
type Op uint8

// The operations a proxy forwards. Each executor supports a subset natively (see Executor.Supports).
const (
	OpChat              Op = iota + 1 // OpenAI POST /chat/completions
	OpCompletions                     // OpenAI POST /completions (legacy)
	OpResponses                       // OpenAI POST /responses
	OpEmbeddings                      // OpenAI POST /embeddings
	OpMessages                        // Anthropic POST /v1/messages
	OpCountTokens                     // Anthropic POST /v1/messages/count_tokens
	OpGenerate                        // Gemini POST /v1beta/models/{m}:generateContent
	OpStreamGenerate                  // Gemini POST /v1beta/models/{m}:streamGenerateContent?alt=sse
	OpGeminiCountTokens               // Gemini POST /v1beta/models/{m}:countTokens
)

var opNames = [...]string{"", "chat", "completions", "responses", "embeddings", "messages", "count_tokens", "generateContent", "streamGenerateContent", "countTokens"}

// String names the operation for logs and metrics.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// OpFor returns the operation that carries a request of format f natively.
func OpFor(f llm.Format, stream bool) Op {
	switch f {
	case llm.FormatOpenAIChat:
		return OpChat
	case llm.FormatOpenAICompletions:
		return OpCompletions
	case llm.FormatResponses:
		return OpResponses
	case llm.FormatClaude:
		return OpMessages
	case llm.FormatGemini:
		if stream {
			return OpStreamGenerate
		}
		return OpGenerate
	}
	return 0
}

// Call is one upstream request. Body is already in the upstream's wire format with the upstream model name.
type Call struct {
	Op     Op
	Model  string      // upstream model name; Gemini puts it in the path
	Stream bool        // the body asks for a stream
	Body   []byte      // request body
	Header http.Header // the client's request headers; executors forward only what their API needs
}

// Executor sends calls for one credential of one provider.
type Executor interface {
	// CredentialID identifies the credential (unique across providers).
	CredentialID() string
	// Provider is the provider id ("openai", "anthropic", "gemini", an openai-compatible name, ...).
	Provider() string
	// Format is the wire format the upstream speaks for generation requests.
	Format() llm.Format
	// Supports reports whether the upstream serves op natively.
	Supports(op Op) bool
	// Do sends the call. A non-2xx status is returned as a response, not an error; errors are network failures.
	Do(ctx context.Context, c *Call) (*http.Response, error)
}

// Labeled is implemented by executors that have a human label (an account e-mail, a config label).
type Labeled interface {
	Label() string
}

// QuotaReporter is implemented by executors whose upstream reports quota or usage hints (Anthropic unified
// rate-limit headers, Codex usage headers, Copilot quota snapshots). The UI shows them per account.
type QuotaReporter interface {
	Quota() Quota
}

// Quota is the latest quota picture an upstream reported for one account.
type Quota struct {
	Updated time.Time   // when the hints were last seen; zero: never
	Items   []QuotaItem // one per window or bucket, e.g. "5h", "weekly", "premium_interactions"
}

// QuotaItem is one quota window.
type QuotaItem struct {
	Name        string
	UsedPercent float64   // 0..100; -1 when unknown
	Remaining   int64     // -1 when unknown
	Limit       int64     // -1 when unknown
	ResetAt     time.Time // zero when unknown
	Status      string    // upstream status word, e.g. "allowed", "allowed_warning", "rejected"
}

// Authorizer is implemented by executors that can attach their credential to an arbitrary upstream
// request (the pass-through endpoints use it).
type Authorizer interface {
	Authorize(h http.Header)
}

// ModelLister is implemented by executors that know their upstream's model list better than the
// provider's built-in list (DefaultModelsFor); it is used when the account names no models.
type ModelLister interface {
	DefaultModels() []string
}

// ModelsOf returns the models e serves by default: its own list when it has one, else the provider's.
func ModelsOf(e Executor) []string {
	if l, ok := e.(ModelLister); ok {
		if m := l.DefaultModels(); len(m) > 0 {
			return m
		}
	}
	return DefaultModelsFor(e.Provider())
}
