// Package kiro is the executor of Kiro accounts (AWS CodeWhisperer's generateAssistantResponse). Kiro
// speaks none of the client formats, so the executor presents itself as an Anthropic Messages upstream:
// it takes a Claude Messages body, maps it to a CodeWhisperer conversationState, sends it, and turns
// the AWS event-stream answer back into a Claude Messages SSE stream or JSON response.
//
// What does not carry over: Kiro counts no tokens, so usage is an estimate (input from the context-usage
// percentage Kiro reports, else the local estimate; output at four characters a token); sampling
// parameters, max_tokens, stop sequences and tool_choice have no CodeWhisperer field and are not sent;
// token counting is left to the server's local estimate. Thinking uses the tagged form described in
// thinking.go.
package kiro

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// ID is the provider id of Kiro accounts.
const ID = "kiro"

// DefaultBaseURL is the CodeWhisperer endpoint of us-east-1 (PROVIDERS.md "kiro").
const DefaultBaseURL = "https://codewhisperer.us-east-1.amazonaws.com"

// defaultKiroVersion is the Kiro IDE version named in the user agent; [providers.kiro] kiro-version
// overrides it. Public proxies send the IDE's current version (AIClient-2-API: 0.8.140).
const defaultKiroVersion = "0.8.140"

// maxErrorBody bounds how much of an upstream error body is read.
const maxErrorBody = 1 << 20

// executor sends calls for one Kiro account. It is immutable after New and safe for concurrent use.
type executor struct {
	acct.Base
	url        string
	profileArn string // [providers.kiro] profile-arn; wins over the token's
	userAgent  []string
	amzAgent   []string
	codec      translate.Codec
}

var (
	_ provider.Executor = (*executor)(nil)
	_ provider.Labeled  = (*executor)(nil)
)

// New returns the executor of one Kiro account. Settings used: base-url (default DefaultBaseURL),
// profile-arn, kiro-version.
func New(o provider.AccountOptions) (provider.Executor, error) {
	b, err := acct.NewBase(ID, o, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	// The IDE names its machine in the user agent; a hash of the credential id is stable per account
	// and reveals nothing.
	sum := sha256.Sum256([]byte("cliproxy-kiro:" + o.ID))
	ide := "KiroIDE-" + acct.Setting(o.Settings, "kiro-version", defaultKiroVersion) + "-" + hex.EncodeToString(sum[:])
	return &executor{
		Base:       b,
		url:        b.BaseURL + "/generateAssistantResponse",
		profileArn: acct.Setting(o.Settings, "profile-arn", ""),
		// The Kiro IDE calls through the AWS SDK for JavaScript; these are the agent strings public
		// proxies copy from it (AIClient-2-API claude-kiro.js; the SDK and Node versions are theirs,
		// not verified against a current Kiro build).
		userAgent: []string{"aws-sdk-js/1.0.0 ua/2.1 os/" + osName() + " lang/js md/nodejs#22.21.1 api/codewhispererruntime#1.0.0 m/E " + ide},
		amzAgent:  []string{"aws-sdk-js/1.0.0 " + ide},
		codec:     translate.New().Codec(llm.FormatClaude),
	}, nil
}

func (e *executor) Format() llm.Format { return llm.FormatClaude }

// Supports reports Messages only: token counting has no Kiro endpoint and is estimated by the server.
func (e *executor) Supports(op provider.Op) bool { return op == provider.OpMessages }

// Do maps the Claude Messages body to CodeWhisperer, sends it (refreshing the token once after a 401 or
// 403) and answers in the Claude format: SSE when the call streams, one JSON message otherwise.
func (e *executor) Do(ctx context.Context, c *provider.Call) (*http.Response, error) {
	if c.Op != provider.OpMessages {
		return nil, fmt.Errorf("kiro: %s is not supported", c.Op)
	}
	req, err := e.codec.DecodeRequest(c.Body)
	if err != nil {
		return errorResponse(e.codec, asLLMError(err)), nil
	}
	model := firstNonEmpty(c.Model, req.Model)
	stream := c.Stream || req.Stream
	body, err := buildRequest(req, ModelID(model))
	if err != nil {
		return errorResponse(e.codec, asLLMError(err)), nil
	}
	resp, err := e.Call.Do(ctx, func(ctx context.Context, tok oauth.Token) (*http.Request, error) {
		return e.newRequest(ctx, body, tok)
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return e.upstreamError(resp), nil
	}
	out := &claudeOut{codec: e.codec, model: model, req: req, inTokens: int64(translate.EstimateTokens(req)),
		thinking: thinkingPrefix(req.Reasoning) != ""}
	if stream {
		return out.stream(ctx, resp)
	}
	return out.aggregate(ctx, resp)
}

// newRequest builds the POST for one token. The profile ARN is per token: social logins carry one,
// Builder ID logins must not send one.
func (e *executor) newRequest(ctx context.Context, body *cwRequest, tok oauth.Token) (*http.Request, error) {
	arn := e.profileArn
	if arn == "" && tok.Extra[oauth.ExtraAuthMethod] != oauth.KiroAuthBuilderID {
		arn = tok.Extra[oauth.ExtraProfileArn]
	}
	cp := *body
	cp.ProfileArn = arn
	b, err := json.Marshal(&cp)
	if err != nil {
		return nil, err
	}
	hr, err := acct.NewRequest(ctx, e.url, b, false, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	h := hr.Header
	h["X-Amz-Target"] = amzTarget
	h["User-Agent"] = e.userAgent
	h["X-Amz-User-Agent"] = e.amzAgent
	h["Amz-Sdk-Invocation-Id"] = []string{acct.NewUUID()}
	h["Amz-Sdk-Request"] = sdkRequest
	h["X-Amzn-Kiro-Agent-Mode"] = agentMode
	return hr, nil
}

// Header values sent with every request (PROVIDERS.md "kiro"; AIClient-2-API claude-kiro.js); never
// modified.
var (
	amzTarget  = []string{"AmazonCodeWhispererStreamingService.GenerateAssistantResponse"}
	sdkRequest = []string{"attempt=1; max=1"}
	agentMode  = []string{"vibe"}
)

// upstreamError turns a CodeWhisperer error answer ({"message", "reason"} or {"__type", "message"},
// with the exception name in x-amzn-ErrorType) into an Anthropic error with the same status.
func (e *executor) upstreamError(resp *http.Response) *http.Response {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var aws struct {
		Message string  `json:"message"`
		Msg     string  `json:"Message"`
		Type    string  `json:"__type"`
		Reason  *string `json:"reason"`
	}
	_ = json.Unmarshal(raw, &aws)
	name := resp.Header.Get("X-Amzn-Errortype")
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	if name == "" {
		name = aws.Type[strings.LastIndexByte(aws.Type, '#')+1:]
	}
	msg := firstNonEmpty(aws.Message, aws.Msg)
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
		if len(msg) > 300 {
			msg = msg[:300]
		}
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	msg = "Kiro: " + msg
	if aws.Reason != nil && *aws.Reason != "" {
		msg += " (" + *aws.Reason + ")"
		if *aws.Reason == "CONTENT_LENGTH_EXCEEDS_THRESHOLD" {
			// Anthropic words an oversized request "prompt is too long"; clients such as Claude Code
			// look for that phrase to offer compaction.
			msg = "prompt is too long (" + msg + ")"
		}
	}
	le := &llm.Error{Status: resp.StatusCode, Code: name, Message: msg}
	e.Call.Logger.Debug("kiro upstream error", "credential", e.Call.ID, "status", resp.StatusCode, "exception", name)
	out := errorResponse(e.codec, le)
	for _, k := range []string{"Retry-After", "X-Amzn-Requestid"} {
		if v := resp.Header.Get(k); v != "" {
			out.Header.Set(k, v)
		}
	}
	return out
}

// errorResponse renders e as an Anthropic error answer with e's status.
func errorResponse(codec translate.Codec, e *llm.Error) *http.Response {
	body := codec.EncodeError(e)
	h := http.Header{"Content-Type": []string{"application/json"}}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
	return &http.Response{
		Status: strconv.Itoa(e.Status) + " " + http.StatusText(e.Status), StatusCode: e.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
}

func asLLMError(err error) *llm.Error {
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	return llm.BadRequest("%v", err)
}
