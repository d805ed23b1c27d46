// Package codex calls the ChatGPT Codex backend (the Responses API behind a ChatGPT subscription) with
// a Codex CLI OAuth token. The backend only streams; non-stream calls are answered by folding the
// stream into one Responses object. Usage headers are kept as quota hints.
package codex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
)

// ID is the provider id.
const ID = "codex"

// DefaultBaseURL is the Codex backend; calls go to DefaultBaseURL + "/responses" (PROVIDERS.md "codex").
const DefaultBaseURL = "https://chatgpt.com/backend-api/codex"

// Client identity of the Codex CLI (openai/codex codex-rs/core/src/default_client.rs: originator
// "codex_cli_rs", user agent "<originator>/<version> (<os> <os version>; <arch>) <terminal>"). The OS
// version is left out and the terminal is "unknown". The version is not verified against the current
// release; the setting "client-version" overrides it.
const (
	Originator    = "codex_cli_rs"
	ClientVersion = "0.160.0"
)

// DefaultInstructions fills "instructions" when the client sent none: the backend answers 400
// {"detail":"Instructions are required"} without it (reported by several Codex clients in 2026). The
// setting "instructions" overrides it.
const DefaultInstructions = "You are a helpful coding assistant."

// executor is the Executor of one ChatGPT (Codex) account.
type executor struct {
	acct.Base
	url          string
	version      []string
	ua           []string
	instructions []byte // JSON string
	acct.QuotaBox
}

var (
	_ provider.Executor      = (*executor)(nil)
	_ provider.Labeled       = (*executor)(nil)
	_ provider.QuotaReporter = (*executor)(nil)
)

// New returns the executor of one Codex account. Settings: base-url (default DefaultBaseURL),
// client-version (default ClientVersion), instructions (default DefaultInstructions).
func New(o provider.AccountOptions) (provider.Executor, error) {
	b, err := acct.NewBase(ID, o, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	base := b.BaseURL
	version := acct.Setting(o.Settings, "client-version", ClientVersion)
	instr, _ := json.Marshal(acct.Setting(o.Settings, "instructions", DefaultInstructions))
	return &executor{
		Base:         b,
		url:          base + "/responses",
		version:      []string{version},
		ua:           []string{Originator + "/" + version + " (" + osName() + "; " + archName() + ") unknown"},
		instructions: instr,
	}, nil
}

func (e *executor) Format() llm.Format           { return llm.FormatResponses }
func (e *executor) Supports(op provider.Op) bool { return op == provider.OpResponses }

// Do sends a Responses call. The upstream always streams: a stream call gets the upstream SSE body as
// it arrives; a non-stream call gets one application/json Responses object folded from the stream.
// Error statuses are returned as they came (a usage-limit 429 keeps its resets_in_seconds body).
func (e *executor) Do(ctx context.Context, c *provider.Call) (*http.Response, error) {
	if c.Op != provider.OpResponses {
		return nil, fmt.Errorf("%s: %s is not supported", ID, c.Op)
	}
	body, err := e.prepare(c.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ID, err)
	}
	session := sessionID(c.Header, body)
	resp, err := e.Call.Do(ctx, func(ctx context.Context, tok oauth.Token) (*http.Request, error) {
		req, err := acct.NewRequest(ctx, e.url, body, true, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		h := req.Header
		if id := tok.Extra[oauth.ExtraAccountID]; id != "" {
			h["Chatgpt-Account-Id"] = []string{id}
		}
		h["Openai-Beta"] = []string{"responses=experimental"}
		h["Originator"] = []string{Originator}
		h["Session_id"] = []string{session}
		h["Version"] = e.version
		h["User-Agent"] = e.ua
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	if q, ok := parseUsage(resp.Header, e.Now()); ok {
		e.Store(q)
	}
	if c.Stream || resp.StatusCode/100 != 2 {
		return resp, nil
	}
	return aggregate(resp)
}

// prepare sets what the backend insists on (PROVIDERS.md "codex"): stream true, store false and an
// instructions string. It drops max_output_tokens, which the backend refuses with 400 "Unsupported
// parameter: max_output_tokens" (reported by many Codex clients in 2026, e.g. RayBytes/ChatMock #103).
func (e *executor) prepare(body []byte) ([]byte, error) {
	set := map[string][]byte{"stream": []byte("true"), "store": []byte("false")}
	if raw, ok := acct.Member(body, "instructions"); !ok || isBlank(raw) {
		set["instructions"] = e.instructions
	}
	return acct.Patch(body, set, "max_output_tokens")
}

func isBlank(raw []byte) bool {
	s := string(bytes.TrimSpace(raw))
	return s == "null" || s == `""`
}

// sessionID keeps one conversation on one backend session, as the CLI does with its conversation id:
// the client's own session_id header, else the body's prompt_cache_key, else a fresh id.
func sessionID(h http.Header, body []byte) string {
	if h != nil {
		if v := h.Get("Session_id"); v != "" {
			return v
		}
	}
	if raw, ok := acct.Member(body, "prompt_cache_key"); ok {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return s
		}
	}
	return acct.NewUUID()
}

// osName and archName spell the platform as the Rust os_info crate does in the CLI's user agent.
func osName() string {
	switch runtime.GOOS {
	case "darwin":
		return "Mac OS"
	case "windows":
		return "Windows"
	}
	return "Linux"
}

func archName() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "arm64"
	}
	return runtime.GOARCH
}
