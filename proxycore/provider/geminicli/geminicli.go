// Package geminicli is the executor of Gemini CLI accounts: Google Code Assist (cloudcode-pa), which
// serves Gemini generateContent inside an envelope. It wraps the Gemini request as gemini-cli does and
// unwraps the answers, so the server sees the plain Gemini wire format in both directions.
//
// Code Assist needs the account's Cloud project. The login hook (proxycore/oauth, codeAssistProject)
// finds it with loadCodeAssist and, for accounts without a tier yet, onboardUser, and stores it in the
// token's Extra["project_id"]; [providers.gemini-cli] project-id overrides it. When neither names a
// project the envelope is sent without one, as gemini-cli itself does for tiers that need none; Code
// Assist then answers with its own error, which reaches the client unchanged. Logging in again runs the
// onboarding once more. Free consumer access through this path was reported discontinued in mid-2026;
// paid Code Assist tiers still use it (PROVIDERS.md "gemini-cli").
package geminicli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// ID is the provider id of Gemini CLI accounts.
const ID = "gemini-cli"

// DefaultBaseURL is the Code Assist endpoint (gemini-cli code_assist/server.ts CODE_ASSIST_ENDPOINT).
const DefaultBaseURL = "https://cloudcode-pa.googleapis.com"

// ClientVersion is the gemini-cli version named in the user agent; [providers.gemini-cli]
// client-version overrides it. Not verified against the current release.
const ClientVersion = "0.18.4"

// nodeVersion goes into X-Goog-Api-Client as google-auth-library reports the Node runtime ("gl-node/<v>").
const nodeVersion = "22.17.0"

// maxResponse bounds a non-streaming answer read for unwrapping.
const maxResponse = 64 << 20

// defaultModels is what a Gemini CLI account serves when the config names no models.
var defaultModels = []string{"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-3-pro-preview"}

// DefaultModels returns the Gemini models a Code Assist account serves by default.
func DefaultModels() []string { return append([]string(nil), defaultModels...) }

// executor sends calls for one Gemini CLI account. It is immutable after New and safe for concurrent
// use.
type executor struct {
	acct.Base
	project string // project-id setting; wins over the token's
	version string
	ua      string // user agent after the model: " (<platform>; <arch>)"
}

var (
	_ provider.Executor = (*executor)(nil)
	_ provider.Labeled  = (*executor)(nil)
)

// New returns the executor of one Gemini CLI account. Settings used: base-url (default
// DefaultBaseURL), project-id, client-version.
func New(o provider.AccountOptions) (provider.Executor, error) {
	b, err := acct.NewBase(ID, o, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	return &executor{
		Base:    b,
		project: acct.Setting(o.Settings, "project-id", ""),
		version: acct.Setting(o.Settings, "client-version", ClientVersion),
		ua:      " (" + lookup(nodePlatform, runtime.GOOS) + "; " + lookup(nodeArch, runtime.GOARCH) + ")",
	}, nil
}

func (e *executor) Format() llm.Format { return llm.FormatGemini }

// Supports reports the three Gemini operations Code Assist serves.
func (e *executor) Supports(op provider.Op) bool {
	return op == provider.OpGenerate || op == provider.OpStreamGenerate || op == provider.OpGeminiCountTokens
}

// Do wraps the Gemini body in the Code Assist envelope, sends it (refreshing the token once after a 401
// or 403) and unwraps the answer. Error answers keep their status and Google error body, RetryInfo
// included, so the router can read the cooldown.
func (e *executor) Do(ctx context.Context, c *provider.Call) (*http.Response, error) {
	var method string
	switch c.Op {
	case provider.OpGenerate:
		method = ":generateContent"
	case provider.OpStreamGenerate:
		method = ":streamGenerateContent?alt=sse"
	case provider.OpGeminiCountTokens:
		method = ":countTokens"
	default:
		return nil, fmt.Errorf("gemini-cli: %s is not supported", c.Op)
	}
	if !translate.ValidJSON(c.Body) || bytes.TrimSpace(c.Body)[0] != '{' { // valid JSON is never empty
		return geminiError(http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received: the request body is not a JSON object."), nil
	}
	stream := c.Op == provider.OpStreamGenerate
	model := strings.TrimPrefix(c.Model, "models/")
	url := e.BaseURL + "/v1internal" + method
	ua := []string{"GeminiCLI/" + e.version + "/" + model + e.ua}
	resp, err := e.Call.Do(ctx, func(ctx context.Context, tok oauth.Token) (*http.Request, error) {
		var body []byte
		if c.Op == provider.OpGeminiCountTokens {
			body = countEnvelope(model, c.Body)
		} else {
			project := e.project
			if project == "" {
				project = tok.Extra[oauth.ExtraProjectID]
			}
			body = generateEnvelope(model, project, acct.NewUUID(), c.Body)
		}
		req, err := acct.NewRequest(ctx, url, body, stream, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		h := req.Header
		h["User-Agent"] = ua
		h["X-Goog-Api-Client"] = apiClient
		h["Client-Metadata"] = clientMetadata
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, nil
	}
	if stream {
		resp.Body = newUnwrapReader(resp.Body)
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
		return resp, nil
	}
	return unwrapBody(ctx, resp)
}

// Header values sent with every call; never modified. X-Goog-Api-Client is the runtime tag Google's Node
// client libraries add ("gl-node/<version>"); Client-Metadata carries, as public Code Assist proxies
// send it, the client metadata gemini-cli puts in its loadCodeAssist bodies (code_assist/setup.ts:
// ideType, platform, pluginType GEMINI). Neither header was verified against gemini-cli's own traffic.
var (
	apiClient      = []string{"gl-node/" + nodeVersion}
	clientMetadata = []string{"ideType=IDE_UNSPECIFIED,platform=PLATFORM_UNSPECIFIED,pluginType=GEMINI"}
)

// Node's process.platform and process.arch words, which gemini-cli puts in its user agent.
var (
	nodePlatform = map[string]string{"darwin": "darwin", "linux": "linux", "windows": "win32", "freebsd": "freebsd"}
	nodeArch     = map[string]string{"amd64": "x64", "arm64": "arm64", "386": "ia32", "arm": "arm"}
)

func lookup(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// generateEnvelope builds CAGenerateContentRequest {model, project?, user_prompt_id, request} (gemini-cli
// code_assist/converter.ts toGenerateContentRequest). The Gemini body goes in byte for byte.
func generateEnvelope(model, project, promptID string, body []byte) []byte {
	out := make([]byte, 0, len(body)+len(model)+len(project)+96)
	out = append(out, `{"model":`...)
	out = strconv.AppendQuote(out, model)
	if project != "" {
		out = append(out, `,"project":`...)
		out = strconv.AppendQuote(out, project)
	}
	out = append(out, `,"user_prompt_id":`...)
	out = strconv.AppendQuote(out, promptID)
	out = append(out, `,"request":`...)
	out = append(out, bytes.TrimSpace(body)...)
	return append(out, '}')
}

// countEnvelope builds CaCountTokenRequest {request: {model: "models/<m>", contents}} (converter.ts
// toCountTokenRequest). A Gemini countTokens body names contents directly or inside
// generateContentRequest.
func countEnvelope(model string, body []byte) []byte {
	contents, ok := acct.Member(body, "contents")
	if !ok {
		if gcr, ok := acct.Member(body, "generateContentRequest"); ok {
			contents, _ = acct.Member(gcr, "contents")
		}
	}
	if len(contents) == 0 {
		contents = []byte("[]")
	}
	out := make([]byte, 0, len(contents)+len(model)+48)
	out = append(out, `{"request":{"model":`...)
	out = strconv.AppendQuote(out, "models/"+model)
	out = append(out, `,"contents":`...)
	out = append(out, contents...)
	return append(out, "}}"...)
}

// unwrapBody answers a non-streaming call with the inner Gemini object.
func unwrapBody(ctx context.Context, resp *http.Response) (*http.Response, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("gemini-cli: %w", ctx.Err())
		}
		return nil, fmt.Errorf("gemini-cli: reading the answer: %w", err)
	}
	if len(b) > maxResponse {
		return geminiError(http.StatusBadGateway, "INTERNAL", "The Code Assist answer is larger than 64 MiB."), nil
	}
	b = Unwrap(b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	resp.Header.Set("Content-Type", "application/json; charset=UTF-8")
	return resp, nil
}

// geminiError builds a Google error answer {"error":{"code","message","status"}}.
func geminiError(code int, status, msg string) *http.Response {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
	return &http.Response{
		Status: strconv.Itoa(code) + " " + http.StatusText(code), StatusCode: code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": []string{"application/json; charset=UTF-8"}},
		Body:   io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
}

// DefaultModels is the list an account serves when its config names none (provider.ModelLister).
func (e *executor) DefaultModels() []string { return DefaultModels() }
