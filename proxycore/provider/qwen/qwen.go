// Package qwen calls the Qwen OAuth (portal.qwen.ai / DashScope) OpenAI-compatible chat API with a
// Qwen Code device-flow token, sending the headers Qwen Code sends.
package qwen

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
)

// ID is the provider id.
const ID = "qwen"

// DefaultBaseURL is the API base when the token names no resource_url (PROVIDERS.md "qwen").
const DefaultBaseURL = "https://portal.qwen.ai/v1"

// ClientVersion is the Qwen Code version put in the user agent (QwenLM/qwen-code builds
// "QwenCode/<version> (<platform>; <arch>)" from the CLI version and Node's process.platform and
// process.arch). The number is not verified against the current release.
const ClientVersion = "0.24.4"

// executor is the Executor of one Qwen account. Qwen's OAuth API reports no quota headers, so it does
// not implement provider.QuotaReporter.
type executor struct {
	acct.Base
	fallback string // base URL used when the token has no resource_url
	ua       []string
}

var (
	_ provider.Executor = (*executor)(nil)
	_ provider.Labeled  = (*executor)(nil)
)

// New returns the executor of one Qwen account. Settings: base-url (used when the token has no
// resource_url; default DefaultBaseURL), user-agent (default "QwenCode/<ClientVersion> (<os>; <arch>)").
func New(o provider.AccountOptions) (provider.Executor, error) {
	b, err := acct.NewBase(ID, o, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	fallback := b.BaseURL
	return &executor{
		Base:     b,
		fallback: fallback,
		ua:       []string{acct.Setting(o.Settings, "user-agent", userAgent())},
	}, nil
}

func (e *executor) Format() llm.Format           { return llm.FormatOpenAIChat }
func (e *executor) Supports(op provider.Op) bool { return op == provider.OpChat }

// Do sends a chat completion to the account's resource URL.
func (e *executor) Do(ctx context.Context, c *provider.Call) (*http.Response, error) {
	if c.Op != provider.OpChat {
		return nil, fmt.Errorf("%s: %s is not supported", ID, c.Op)
	}
	return e.Call.Do(ctx, func(ctx context.Context, tok oauth.Token) (*http.Request, error) {
		// The resource URL comes with each token, so it is resolved per attempt (a refresh may move it).
		u := strings.TrimRight(oauth.QwenBaseURL(tok, e.fallback), "/") + "/chat/completions"
		req, err := acct.NewRequest(ctx, u, c.Body, c.Stream, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		h := req.Header
		// The DashScope headers Qwen Code's provider sets for OAuth accounts (QwenLM/qwen-code
		// dashscope provider buildHeaders: User-Agent, X-DashScope-CacheControl: enable,
		// X-DashScope-UserAgent, X-DashScope-AuthType: qwen-oauth).
		h["User-Agent"] = e.ua
		h["X-Dashscope-Useragent"] = e.ua
		h["X-Dashscope-Cachecontrol"] = []string{"enable"}
		h["X-Dashscope-Authtype"] = []string{"qwen-oauth"}
		return req, nil
	})
}

// userAgent spells the platform the way Node does (process.platform, process.arch), as Qwen Code does.
func userAgent() string {
	platform, arch := runtime.GOOS, runtime.GOARCH
	if platform == "windows" {
		platform = "win32"
	}
	if arch == "amd64" {
		arch = "x64"
	}
	return "QwenCode/" + ClientVersion + " (" + platform + "; " + arch + ")"
}
