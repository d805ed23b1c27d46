// Package copilot calls the GitHub Copilot chat API (OpenAI chat format) with a Copilot token, sending
// the headers the VS Code Copilot Chat extension sends and keeping the quota snapshot headers the API
// returns.
package copilot

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
)

// ID is the provider id.
const ID = "copilot"

// DefaultBaseURL is the Copilot API base when the token exchange named no endpoints.api.
const DefaultBaseURL = "https://api.githubcopilot.com"

// Client identity of VS Code Copilot Chat (PROVIDERS.md "copilot"; the same names and shapes appear in
// ericc-ch/copilot-api src/lib/api-config.ts). The version numbers are not verified against the
// current release; the settings editor-version and plugin-version override them.
const (
	EditorVersion       = "vscode/1.136.1"
	EditorPluginVersion = "copilot-chat/0.48.1"
	IntegrationID       = "vscode-chat"
	GitHubAPIVersion    = "2025-05-01"
)

// executor is the Executor of one Copilot account.
type executor struct {
	acct.Base
	fallback string // base URL when the token has no api_base
	editor   []string
	plugin   []string
	ua       []string
	acct.QuotaBox
}

var (
	_ provider.Executor      = (*executor)(nil)
	_ provider.Labeled       = (*executor)(nil)
	_ provider.QuotaReporter = (*executor)(nil)
)

// New returns the executor of one Copilot account. Settings: base-url (used when the Copilot token
// carries no endpoints.api; default DefaultBaseURL), editor-version, plugin-version.
func New(o provider.AccountOptions) (provider.Executor, error) {
	b, err := acct.NewBase(ID, o, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	fallback := b.BaseURL
	plugin := acct.Setting(o.Settings, "plugin-version", EditorPluginVersion)
	return &executor{
		Base:     b,
		fallback: fallback,
		editor:   []string{acct.Setting(o.Settings, "editor-version", EditorVersion)},
		plugin:   []string{plugin},
		// The extension's user agent is GitHubCopilotChat/<plugin version>.
		ua: []string{"GitHubCopilotChat/" + strings.TrimPrefix(plugin, "copilot-chat/")},
	}, nil
}

func (e *executor) Format() llm.Format           { return llm.FormatOpenAIChat }
func (e *executor) Supports(op provider.Op) bool { return op == provider.OpChat }

// Do sends a chat completion. PROVIDERS.md names only /chat/completions and /models for this API, so
// Responses calls are left to the server's translation.
func (e *executor) Do(ctx context.Context, c *provider.Call) (*http.Response, error) {
	if c.Op != provider.OpChat {
		return nil, fmt.Errorf("%s: %s is not supported", ID, c.Op)
	}
	initiator := []string{initiator(c.Body)}
	vision := bytes.Contains(c.Body, []byte(`"image_url"`))
	resp, err := e.Call.Do(ctx, func(ctx context.Context, tok oauth.Token) (*http.Request, error) {
		base := e.fallback
		if b := strings.TrimSpace(tok.Extra[oauth.ExtraAPIBase]); b != "" {
			base = strings.TrimRight(b, "/")
		}
		req, err := acct.NewRequest(ctx, base+"/chat/completions", c.Body, c.Stream, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		h := req.Header
		h["Editor-Version"] = e.editor
		h["Editor-Plugin-Version"] = e.plugin
		h["Copilot-Integration-Id"] = []string{IntegrationID}
		h["User-Agent"] = e.ua
		h["Openai-Intent"] = []string{"conversation-panel"}
		h["X-Github-Api-Version"] = []string{GitHubAPIVersion}
		h["X-Request-Id"] = []string{acct.NewUUID()}
		h["X-Vscode-User-Agent-Library-Version"] = []string{"electron-fetch"}
		h["X-Initiator"] = initiator
		if vision {
			// Image inputs are refused without it.
			h["Copilot-Vision-Request"] = []string{"true"}
		}
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	if q, ok := parseQuota(resp.Header, e.Now()); ok {
		e.Store(q)
	}
	return resp, nil
}

// initiator tells Copilot who started this request: "user" when the last message is the user's (a
// new prompt, which counts against premium requests), "agent" when it continues a tool loop (the last
// message is a tool result or the assistant's). VS Code sends X-Initiator for the same purpose; the
// "last message" rule follows public discussion of its behaviour (ericc-ch/copilot-api issue #68).
func initiator(body []byte) string {
	role := lastRole(body)
	if role == "" || role == "user" || role == "system" || role == "developer" {
		return "user"
	}
	return "agent"
}

// lastRole returns the value of the last "role" member in body. Inside JSON strings quotes are
// escaped, so the pattern cannot match message text. Only messages carry roles in a chat request.
func lastRole(body []byte) string {
	key := []byte(`"role"`)
	i := bytes.LastIndex(body, key)
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(body[i+len(key):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return ""
	}
	return string(rest[1 : 1+end])
}
