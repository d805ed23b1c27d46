package proxytest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Anthropic wire facts: WIRE.md §0, §3 (Messages request, response, streaming, errors, rate-limit
// headers, count_tokens, models) and the anthropic-sdk-go v2.15.0 types Message, Usage,
// MessageDeltaUsage, MessageStreamEventUnion and apierror.Error.

// defaultAnthropicModels is the catalog GET /v1/models lists when WithModels is not used.
var defaultAnthropicModels = []string{"claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"}

func (u *Upstream) routeAnthropic() {
	u.anthropicMessage, u.anthropicCount = anthropicMessageFields(), anthropicCountFields()
	u.anthropicMessageV2 = anthropicMessageFields()
	for _, f := range []string{"temperature", "top_p", "top_k"} {
		delete(u.anthropicMessageV2, f)
	}
	u.mux.HandleFunc("POST /v1/messages", u.anthropicAuth(u.anthropicMessages))
	u.mux.HandleFunc("POST /v1/messages/count_tokens", u.anthropicAuth(u.anthropicCountTokens))
	u.mux.HandleFunc("GET /v1/models", u.anthropicAuth(u.anthropicModels))
	u.mux.HandleFunc("GET /v1/models/{id...}", u.anthropicAuth(u.anthropicModel))
	u.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAnthropicError(w, http.StatusNotFound, "not_found_error", "Not Found")
	})
}

// anthropicAuth accepts x-api-key or Authorization: Bearer (WIRE.md §0) and requires the
// anthropic-version header, as the API does.
func (u *Upstream) anthropicAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if u.cfg.apiKey != "" {
			got := r.Header.Get("x-api-key")
			if got == "" {
				got, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			}
			switch {
			case got == "":
				writeAnthropicError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
				return
			case got != u.cfg.apiKey:
				writeAnthropicError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
				return
			}
		}
		if r.Header.Get("anthropic-version") == "" {
			writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
			return
		}
		next(w, r)
	}
}

// writeAnthropicError writes {"type":"error","error":{"type","message"},"request_id"} (WIRE.md §3.6).
func writeAnthropicError(w http.ResponseWriter, status int, typ, msg string) {
	const reqID = "req_fake011CSHoEeqs5C35K2UUqR7Fy"
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("request-id", reqID)
	writeJSON(w, status, encode(obj{
		{"type", "error"},
		{"error", obj{{"type", typ}, {"message", msg}}},
		{"request_id", reqID},
	}))
}

// anthropicErrorType maps a status to error.type (WIRE.md §3.6).
func anthropicErrorType(status int) (string, string) {
	switch status {
	case 400:
		return "invalid_request_error", "Invalid request."
	case 401:
		return "authentication_error", "invalid x-api-key"
	case 402:
		return "billing_error", "Your credit balance is too low to access the Anthropic API."
	case 403:
		return "permission_error", "Your API key does not have permission to use the specified resource."
	case 404:
		return "not_found_error", "The requested resource could not be found."
	case 413:
		return "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case 429:
		return "rate_limit_error", "This request would exceed your organization's rate limit. Please try again later."
	case 500:
		return "api_error", "Internal server error"
	case 504:
		return "timeout_error", "Request timed out"
	case 529:
		return "overloaded_error", "Overloaded"
	}
	if status >= 500 {
		return "api_error", "Internal server error"
	}
	return "invalid_request_error", "Invalid request."
}

// anthropicRateHeaders sets anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-* with
// RFC 3339 resets and, with RetryAfter, retry-after in seconds (WIRE.md §3.6).
func (u *Upstream) anthropicRateHeaders(h http.Header, rep *Reply) {
	remaining, wait := "49", time.Second
	if rep.Status == http.StatusTooManyRequests {
		remaining = "0"
	}
	if rep.RetryAfter > 0 {
		wait = rep.RetryAfter
		h.Set("retry-after", durationSeconds(rep.RetryAfter))
	}
	reset := u.clk.Now().Add(wait).UTC().Format(time.RFC3339)
	for _, kind := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		limit := "50"
		if kind != "requests" {
			limit = "40000"
		}
		h.Set("anthropic-ratelimit-"+kind+"-limit", limit)
		h.Set("anthropic-ratelimit-"+kind+"-remaining", remaining)
		h.Set("anthropic-ratelimit-"+kind+"-reset", reset)
	}
}

func (u *Upstream) anthropicReplyError(w http.ResponseWriter, rep *Reply) {
	typ, msg := anthropicErrorType(rep.Status)
	if rep.ErrorMessage != "" {
		msg = rep.ErrorMessage
	}
	rep.copyHeaders(w)
	u.anthropicRateHeaders(w.Header(), rep)
	writeAnthropicError(w, rep.Status, typ, msg)
}

// anthropicMessageFields lists the top-level Messages fields: the union of anthropic-sdk-go v2.15.0
// MessageNewParams and BetaMessageNewParams, plus stream and the 2023-06-01 sampling fields
// (WIRE.md §3.1). Anything else is rejected, as the API rejects extra inputs.
func anthropicMessageFields() fieldSet {
	return setOf([]string{"model", "max_tokens", "messages", "system", "stream", "stop_sequences",
		"metadata", "tools", "tool_choice", "thinking", "output_config", "output_format", "service_tier",
		"cache_control", "container", "inference_geo", "speed", "diagnostics", "mcp_servers", "context_management",
		"compaction", "thread", "billing_policy", "fallbacks", "fallback_credit_token", "temperature", "top_p", "top_k"})
}

// anthropicCountFields lists the count_tokens fields (SDK MessageCountTokensParams plus betas).
func anthropicCountFields() fieldSet {
	return setOf([]string{"model", "messages", "system", "tools", "tool_choice", "thinking",
		"output_config", "cache_control", "speed", "mcp_servers", "context_management"})
}

// anthropicV2Version is the API version anthropic-sdk-go v2 sends; it has no sampling fields
// (WIRE.md §0, from third-party summaries: unverified wording of the error).
const anthropicV2Version = "2026-10-21"

// extraInput returns the first top-level name of body that the endpoint does not accept (for the
// 2026-10-21 version that includes the sampling fields), in document order.
func (u *Upstream) extraInput(body []byte, messages bool, version string) string {
	switch {
	case !messages:
		return unknownMember(body, u.anthropicCount)
	case version == anthropicV2Version:
		return unknownMember(body, u.anthropicMessageV2)
	default:
		return unknownMember(body, u.anthropicMessage)
	}
}

// anthropicRequest holds the request fields the fake looks at.
type anthropicRequest struct {
	Model     *string         `json:"model"`
	MaxTokens *int            `json:"max_tokens"`
	Messages  json.RawMessage `json:"messages"`
	Stream    bool            `json:"stream"`
}

// parseAnthropic decodes and minimally validates a body; needMax requires max_tokens (Messages, not
// count_tokens). Tool schemas are deliberately not checked. It writes the 400/404 and returns false.
func (u *Upstream) parseAnthropic(w http.ResponseWriter, r *http.Request, needMax bool) (anthropicRequest, bool) {
	var req anthropicRequest
	if err := json.Unmarshal(bodyOf(r), &req); err != nil {
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error",
			"There was an issue with the formatting or content of your request body: invalid JSON.")
		return req, false
	}
	if name := u.extraInput(bodyOf(r), needMax, r.Header.Get("anthropic-version")); name != "" {
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", name+": Extra inputs are not permitted")
		return req, false
	}
	var missing string
	switch {
	case req.Model == nil:
		missing = "model"
	case needMax && req.MaxTokens == nil:
		missing = "max_tokens"
	case len(req.Messages) == 0 || string(req.Messages) == "null":
		missing = "messages"
	}
	if missing != "" {
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", missing+": Field required")
		return req, false
	}
	if !u.modelAllowed(*req.Model) {
		writeAnthropicError(w, http.StatusNotFound, "not_found_error", "model: "+*req.Model)
		return req, false
	}
	return req, true
}

func anthropicStop(rep *Reply) string {
	switch {
	case rep.FinishReason != "":
		return rep.FinishReason
	case len(rep.ToolCalls) > 0:
		return "tool_use"
	default:
		return "end_turn"
	}
}

// thinkingSignature is an opaque base64 blob standing in for Claude's thinking-block signature.
func thinkingSignature(thinking string) string {
	return base64.StdEncoding.EncodeToString([]byte("fake-signature:" + strconv.Itoa(len(thinking))))
}

// anthropicUsage is the message usage object (WIRE.md §3.4); outputTokens is what to report so
// that message_start can carry a small running count.
func anthropicUsage(us Usage, outputTokens int) obj {
	o := obj{
		{"input_tokens", us.InputTokens},
		{"cache_creation_input_tokens", us.CacheCreationTokens},
		{"cache_read_input_tokens", us.CachedTokens},
		{"cache_creation", obj{{"ephemeral_5m_input_tokens", us.CacheCreationTokens}, {"ephemeral_1h_input_tokens", 0}}},
		{"output_tokens", outputTokens},
	}
	if us.ReasoningTokens > 0 {
		o = append(o, kv{"output_tokens_details", obj{{"thinking_tokens", us.ReasoningTokens}}})
	}
	return append(o, kv{"service_tier", "standard"})
}

func (u *Upstream) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	req, ok := u.parseAnthropic(w, r, true)
	if !ok {
		return
	}
	model := *req.Model
	rep, _, ok := u.begin(w, r, model, func(rep *Reply) { u.anthropicReplyError(w, rep) })
	if !ok {
		return
	}
	h := w.Header()
	h.Set("request-id", "req_fake"+strconv.FormatInt(u.seq.Add(1), 36))
	u.anthropicRateHeaders(h, &rep)
	id := u.newID("msg_")
	if req.Stream {
		u.anthropicStream(w, r, &rep, model, id)
		return
	}
	var content []any
	if rep.Reasoning != "" {
		content = append(content, obj{{"type", "thinking"}, {"thinking", rep.Reasoning}, {"signature", thinkingSignature(rep.Reasoning)}})
	}
	if rep.Text != "" {
		content = append(content, obj{{"type", "text"}, {"text", rep.Text}})
	}
	for i, tc := range rep.ToolCalls {
		content = append(content, obj{{"type", "tool_use"}, {"id", u.toolID(tc, i, "toolu_")}, {"name", tc.Name},
			{"input", raw(argsOrEmpty(tc.Arguments))}})
	}
	if content == nil {
		content = []any{}
	}
	writeJSON(w, http.StatusOK, encode(obj{
		{"id", id}, {"type", "message"}, {"role", "assistant"}, {"model", model},
		{"content", content},
		{"stop_reason", anthropicStop(&rep)}, {"stop_sequence", nil},
		{"usage", anthropicUsage(rep.Usage, rep.Usage.OutputTokens)},
	}))
}

// anthropicStream writes message_start, then per block content_block_start / content_block_delta… /
// content_block_stop (a ping after the first block start), then message_delta with cumulative usage
// and message_stop (WIRE.md §3.5).
func (u *Upstream) anthropicStream(w http.ResponseWriter, r *http.Request, rep *Reply, model, id string) {
	s := startStream(w, r, rep, false)
	s.inStreamError = func(int) (string, []byte) {
		// WIRE.md §3.5: event: error with {"type":"error","error":{"type":"overloaded_error",…}}.
		msg := rep.ErrorMessage
		if msg == "" {
			msg = "Overloaded"
		}
		return "error", encode(obj{{"type", "error"}, {"error", obj{{"type", "overloaded_error"}, {"message", msg}}}})
	}
	ev := func(name string, body obj) bool {
		return s.event(name, encode(append(obj{{"type", name}}, body...)))
	}
	if !ev("message_start", obj{{"message", obj{
		{"id", id}, {"type", "message"}, {"role", "assistant"}, {"model", model},
		{"content", []any{}}, {"stop_reason", nil}, {"stop_sequence", nil},
		{"usage", anthropicUsage(rep.Usage, 1)},
	}}}) {
		return
	}
	index, pinged := 0, false
	block := func(start obj, deltas []obj) bool {
		if !ev("content_block_start", obj{{"index", index}, {"content_block", start}}) {
			return false
		}
		if !pinged {
			pinged = true
			if !s.event("ping", []byte(`{"type": "ping"}`)) {
				return false
			}
		}
		for _, d := range deltas {
			if !ev("content_block_delta", obj{{"index", index}, {"delta", d}}) {
				return false
			}
		}
		ok := ev("content_block_stop", obj{{"index", index}})
		index++
		return ok
	}
	if rep.Reasoning != "" {
		var deltas []obj
		for _, p := range splitText(rep.Reasoning, rep.StreamChunks) {
			deltas = append(deltas, obj{{"type", "thinking_delta"}, {"thinking", p}})
		}
		deltas = append(deltas, obj{{"type", "signature_delta"}, {"signature", thinkingSignature(rep.Reasoning)}})
		if !block(obj{{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, deltas) {
			return
		}
	}
	if rep.Text != "" {
		var deltas []obj
		for _, p := range splitText(rep.Text, rep.StreamChunks) {
			deltas = append(deltas, obj{{"type", "text_delta"}, {"text", p}})
		}
		if !block(obj{{"type", "text"}, {"text", ""}}, deltas) {
			return
		}
	}
	for i, tc := range rep.ToolCalls {
		// The first input_json_delta fragment is often empty (WIRE.md §3.5).
		deltas := []obj{{{"type", "input_json_delta"}, {"partial_json", ""}}}
		for _, p := range splitText(argsOrEmpty(tc.Arguments), 3) {
			deltas = append(deltas, obj{{"type", "input_json_delta"}, {"partial_json", p}})
		}
		start := obj{{"type", "tool_use"}, {"id", u.toolID(tc, i, "toolu_")}, {"name", tc.Name}, {"input", obj{}}}
		if !block(start, deltas) {
			return
		}
	}
	us := rep.Usage
	usage := obj{
		{"input_tokens", us.InputTokens},
		{"cache_creation_input_tokens", us.CacheCreationTokens},
		{"cache_read_input_tokens", us.CachedTokens},
		{"output_tokens", us.OutputTokens},
	}
	if us.ReasoningTokens > 0 {
		usage = append(usage, kv{"output_tokens_details", obj{{"thinking_tokens", us.ReasoningTokens}}})
	}
	if !ev("message_delta", obj{{"delta", obj{{"stop_reason", anthropicStop(rep)}, {"stop_sequence", nil}}}, {"usage", usage}}) {
		return
	}
	ev("message_stop", nil)
}

// anthropicCountTokens answers {"input_tokens": N} with the reply's InputTokens (WIRE.md §3.7).
func (u *Upstream) anthropicCountTokens(w http.ResponseWriter, r *http.Request) {
	req, ok := u.parseAnthropic(w, r, false)
	if !ok {
		return
	}
	rep, _, ok := u.begin(w, r, *req.Model, func(rep *Reply) { u.anthropicReplyError(w, rep) })
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, encode(obj{{"input_tokens", rep.Usage.InputTokens}}))
}

func (u *Upstream) anthropicModelList() []string {
	if len(u.cfg.models) > 0 {
		return u.cfg.models
	}
	return defaultAnthropicModels
}

func anthropicModelObj(id string) obj {
	return obj{{"type", "model"}, {"id", id}, {"display_name", id}, {"created_at", "2025-09-29T00:00:00Z"}}
}

// anthropicModels lists the catalog (WIRE.md §3.7); it does not consume scripted replies.
func (u *Upstream) anthropicModels(w http.ResponseWriter, _ *http.Request) {
	ids := u.anthropicModelList()
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = anthropicModelObj(id)
	}
	writeJSON(w, http.StatusOK, encode(obj{{"data", data}, {"has_more", false},
		{"first_id", ids[0]}, {"last_id", ids[len(ids)-1]}}))
}

func (u *Upstream) anthropicModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !u.modelAllowed(id) {
		writeAnthropicError(w, http.StatusNotFound, "not_found_error", fmt.Sprintf("model: %s", id))
		return
	}
	writeJSON(w, http.StatusOK, encode(anthropicModelObj(id)))
}
