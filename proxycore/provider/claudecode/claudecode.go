// Package claudecode calls the Anthropic Messages API with a Claude subscription (Claude Code OAuth)
// token, sending the headers the official Claude Code client sends and keeping the subscription's
// unified rate-limit headers as quota hints.
package claudecode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
)

// ID is the provider id.
const ID = "claude-code"

// Facts from PROVIDERS.md "claude-code"; the header set matches public Claude Code proxies that mirror
// the client (e.g. the anthropic-beta list "claude-code-20250219,oauth-2025-04-20,
// interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14").
const (
	// DefaultBaseURL is the API host; "?beta=true" is appended to the paths as the client does.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultUserAgent is sent unless the client itself is Claude Code (then its own agent is kept) or
	// the setting "user-agent" overrides it. The version is the newest seen in public 2026 sources, not
	// checked against the current release.
	DefaultUserAgent = "claude-cli/2.1.296 (external, cli)"
	// OAuthBeta is the anthropic-beta value without which the API refuses OAuth bearer tokens.
	OAuthBeta = "oauth-2025-04-20"
	// SystemPrefix is the first system block Anthropic expects for subscription traffic.
	SystemPrefix = "You are Claude Code, Anthropic's official CLI for Claude."
)

// defaultBetas are sent on every call, in the order Claude Code sends them; the client's own values
// follow.
var defaultBetas = []string{"claude-code-20250219", OAuthBeta, "interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14"}

var defaultBetaHeader = []string{strings.Join(defaultBetas, ",")}

// executor is the Executor of one Claude subscription account.
type executor struct {
	acct.Base
	messages  string // full URL of /v1/messages?beta=true
	count     string // full URL of /v1/messages/count_tokens?beta=true
	userAgent []string
	acct.QuotaBox
}

var (
	_ provider.Executor      = (*executor)(nil)
	_ provider.Labeled       = (*executor)(nil)
	_ provider.QuotaReporter = (*executor)(nil)
)

// New returns the executor of one Claude Code account. Settings: base-url (default DefaultBaseURL),
// user-agent (default DefaultUserAgent).
func New(o provider.AccountOptions) (provider.Executor, error) {
	b, err := acct.NewBase(ID, o, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	base := b.BaseURL
	return &executor{
		Base:      b,
		messages:  base + "/v1/messages?beta=true",
		count:     base + "/v1/messages/count_tokens?beta=true",
		userAgent: []string{acct.Setting(o.Settings, "user-agent", DefaultUserAgent)},
	}, nil
}

func (e *executor) Format() llm.Format { return llm.FormatClaude }
func (e *executor) Supports(op provider.Op) bool {
	return op == provider.OpMessages || op == provider.OpCountTokens
}

// Do sends a Messages or count_tokens call. The body gets the Claude Code system prefix when it lacks
// it; nothing else in it changes.
func (e *executor) Do(ctx context.Context, c *provider.Call) (*http.Response, error) {
	var u string
	switch c.Op {
	case provider.OpMessages:
		u = e.messages
	case provider.OpCountTokens:
		u = e.count
	default:
		return nil, fmt.Errorf("%s: %s is not supported", ID, c.Op)
	}
	body, err := withSystemPrefix(c.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ID, err)
	}
	betas := mergeBetas(c.Header)
	version := provider.DefaultAnthropicVersion
	ua := e.userAgent
	if c.Header != nil {
		if v := c.Header.Get("Anthropic-Version"); v != "" {
			version = v
		}
		// A client that is Claude Code itself knows its own version better than we do.
		if v := c.Header.Get("User-Agent"); strings.HasPrefix(v, "claude-cli/") {
			ua = []string{v}
		}
	}
	resp, err := e.Call.Do(ctx, func(ctx context.Context, tok oauth.Token) (*http.Request, error) {
		req, err := acct.NewRequest(ctx, u, body, c.Stream, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		h := req.Header
		h["Anthropic-Version"] = []string{version}
		h["Anthropic-Beta"] = betas
		h["Anthropic-Dangerous-Direct-Browser-Access"] = []string{"true"}
		h["X-App"] = []string{"cli"}
		h["User-Agent"] = ua
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	if q, ok := parseUnified(resp.Header, e.Now()); ok {
		e.Store(q)
	}
	return resp, nil
}

// mergeBetas returns the default betas followed by the client's own (comma-separated, possibly over
// several header lines), without duplicates.
func mergeBetas(h http.Header) []string {
	client := h.Values("Anthropic-Beta")
	if len(client) == 0 {
		return defaultBetaHeader
	}
	out := append([]string(nil), defaultBetas...)
	for _, line := range client {
		for _, b := range strings.Split(line, ",") {
			b = strings.TrimSpace(b)
			if b == "" || contains(out, b) {
				continue
			}
			out = append(out, b)
		}
	}
	return []string{strings.Join(out, ",")}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// textBlock is a system text block; cache_control and other fields of client blocks are kept verbatim.
type textBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

var prefixBlock, _ = json.Marshal(textBlock{Type: "text", Text: SystemPrefix})

// withSystemPrefix makes the Claude Code prefix the first system block (PROVIDERS.md "claude-code":
// expected for subscription traffic). A system string becomes two blocks; a body that already starts
// with the prefix is returned unchanged.
func withSystemPrefix(body []byte) ([]byte, error) {
	raw, ok := acct.Member(body, "system")
	var sys []byte
	switch {
	case !ok || string(raw) == "null":
		sys = append(append([]byte{'['}, prefixBlock...), ']')
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("reading system: %w", err)
		}
		if strings.HasPrefix(s, SystemPrefix) {
			return body, nil
		}
		sys = append(append([]byte{'['}, prefixBlock...), ',')
		if s != "" {
			rest, _ := json.Marshal(textBlock{Type: "text", Text: s})
			sys = append(sys, rest...)
		} else {
			sys = sys[:len(sys)-1]
		}
		sys = append(sys, ']')
	case len(raw) > 0 && raw[0] == '[':
		var first []textBlock
		if err := json.Unmarshal(raw, &first); err != nil {
			return nil, fmt.Errorf("reading system: %w", err)
		}
		if len(first) > 0 && strings.HasPrefix(first[0].Text, SystemPrefix) {
			return body, nil
		}
		inner := bytes.TrimSpace(raw[1 : len(raw)-1])
		sys = append(append([]byte{'['}, prefixBlock...), ']')
		if len(inner) > 0 {
			sys = append(append(append(sys[:len(sys)-1], ','), inner...), ']')
		}
	default:
		return body, nil // not a shape Anthropic accepts; let the API say so
	}
	return acct.Patch(body, map[string][]byte{"system": sys})
}
