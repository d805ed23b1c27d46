package proxytest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OpenAI wire facts: WIRE.md §1 (Chat, legacy Completions, models, errors) and the openai-go v3.98.0
// types ChatCompletion, ChatCompletionChunk, Completion, CreateEmbeddingResponse and Model.

const (
	openAIFingerprint = "fp_cliproxyfake"
	openAIObfuscation = "Qx7"
	// openAIBadJSON is the message OpenAI returns for an unparsable body.
	openAIBadJSON = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)"
	openAINoKey   = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys."
)

// openAIKnownFields lists the request fields of openai-go v3.98.0 ChatCompletionNewParams,
// CompletionNewParams and EmbeddingNewParams (plus stream); OpenAI answers any other top-level
// field with 400 "Unrecognized request argument supplied: NAME". Responses is not checked: its
// parameter set moves fast and coding agents send extras.
func openAIKnownFields() map[string]fieldSet {
	return map[string]fieldSet{
		"messages": setOf([]string{"model", "messages", "stream", "stream_options", "audio", "frequency_penalty", "function_call",
			"functions", "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities",
			"moderation", "n", "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key",
			"prompt_cache_options", "prompt_cache_retention", "reasoning_effort", "response_format",
			"safety_identifier", "seed", "service_tier", "stop", "store", "temperature", "tool_choice", "tools",
			"top_logprobs", "top_p", "user", "verbosity", "web_search_options"}),
		"prompt": setOf([]string{"model", "prompt", "stream", "stream_options", "best_of", "echo", "frequency_penalty", "logit_bias",
			"logprobs", "max_tokens", "n", "presence_penalty", "seed", "stop", "suffix", "temperature", "top_p", "user"}),
		"input": setOf([]string{"model", "input", "dimensions", "encoding_format", "user"}),
	}
}

// defaultOpenAIModels is the catalog GET /v1/models lists when WithModels is not used.
var defaultOpenAIModels = []string{"gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "text-embedding-3-small"}

func (u *Upstream) routeOpenAI() {
	u.openAIKnown = openAIKnownFields()
	u.okHeaders = http.Header{}
	for _, kv := range [][2]string{
		{"x-ratelimit-limit-requests", "500"}, {"x-ratelimit-remaining-requests", "499"}, {"x-ratelimit-reset-requests", "120ms"},
		{"x-ratelimit-limit-tokens", "30000"}, {"x-ratelimit-remaining-tokens", "499"}, {"x-ratelimit-reset-tokens", "120ms"},
	} {
		u.okHeaders.Set(kv[0], kv[1])
	}
	base := strings.TrimSuffix(u.cfg.basePath, "/")
	u.mux.HandleFunc("POST "+base+"/chat/completions", u.openAIAuth(u.openAIChat))
	u.mux.HandleFunc("POST "+base+"/completions", u.openAIAuth(u.openAICompletions))
	u.mux.HandleFunc("POST "+base+"/responses", u.openAIAuth(u.openAIResponses))
	u.mux.HandleFunc("POST "+base+"/embeddings", u.openAIAuth(u.openAIEmbeddings))
	u.mux.HandleFunc("GET "+base+"/models", u.openAIAuth(u.openAIModels))
	u.mux.HandleFunc("GET "+base+"/models/{id...}", u.openAIAuth(u.openAIModel))
	u.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// OpenAI answers unknown routes with 404 "Invalid URL (METHOD /path)".
		writeOpenAIError(w, http.StatusNotFound, "invalid_request_error",
			fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), nil, nil)
	})
}

// openAIAuth checks "Authorization: Bearer KEY" (WIRE.md §0, §1.6): missing or wrong -> 401.
func (u *Upstream) openAIAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if u.cfg.apiKey != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			switch {
			case !ok || got == "":
				writeOpenAIError(w, http.StatusUnauthorized, "invalid_request_error", openAINoKey, nil, nil)
				return
			case got != u.cfg.apiKey:
				msg := "Incorrect API key provided: " + maskKey(got) +
					". You can find your API key at https://platform.openai.com/account/api-keys."
				writeOpenAIError(w, http.StatusUnauthorized, "invalid_request_error", msg, nil, "invalid_api_key")
				return
			}
		}
		next(w, r)
	}
}

// maskKey shows only the ends of a key, the way vendors echo a wrong key back.
func maskKey(k string) string {
	if len(k) < 12 {
		return "****"
	}
	return k[:3] + strings.Repeat("*", 8) + k[len(k)-4:]
}

// writeOpenAIError writes {"error":{"message","type","param","code"}} (WIRE.md §1.6). param and code
// are nil or strings.
func writeOpenAIError(w http.ResponseWriter, status int, typ, msg string, param, code any) {
	body := encode(obj{{"error", obj{{"message", msg}, {"type", typ}, {"param", param}, {"code", code}}}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if h.Get("x-request-id") == "" {
		h.Set("x-request-id", "req_fake")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// openAIReplyError writes the error a scripted reply asks for, with retry and rate-limit headers.
func (u *Upstream) openAIReplyError(w http.ResponseWriter, rep *Reply, model string) {
	typ, code := "invalid_request_error", any(nil)
	msg := rep.ErrorMessage
	var def string
	switch s := rep.Status; {
	case s == http.StatusUnauthorized:
		code, def = "invalid_api_key", "Incorrect API key provided."
	case s == http.StatusForbidden:
		code, def = "unsupported_country_region_territory", "Country, region, or territory not supported"
	case s == http.StatusNotFound:
		code, def = "model_not_found", fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model)
	case s == http.StatusTooManyRequests:
		typ, code = "requests", "rate_limit_exceeded"
		def = fmt.Sprintf("Rate limit reached for %s on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in %s.", model, rep.RetryAfter)
	case s == http.StatusServiceUnavailable:
		typ, def = "server_error", "The engine is currently overloaded, please try again later"
	case s >= 500:
		typ, def = "server_error", "The server had an error while processing your request. Sorry about that!"
	default:
		def = "Invalid request."
	}
	if msg == "" {
		msg = def
	}
	rep.copyHeaders(w)
	u.openAIRateHeaders(w.Header(), rep)
	writeOpenAIError(w, rep.Status, typ, msg, nil, code)
}

// openAIRateHeaders sets x-ratelimit-* (reset values are Go-style durations) and, with RetryAfter,
// retry-after (seconds) and retry-after-ms (WIRE.md §1.6). On success, headers the reply scripted
// through Reply.Headers win.
func (u *Upstream) openAIRateHeaders(h http.Header, rep *Reply) {
	if rep.RetryAfter == 0 && rep.Status != http.StatusTooManyRequests {
		// The common case: share precomputed, never-mutated values (one-element slices, so a later
		// Header.Add reallocates instead of writing into them).
		for k, v := range u.okHeaders {
			if _, scripted := h[k]; !scripted {
				h[k] = v
			}
		}
		return
	}
	remaining, reset := "499", "120ms"
	if rep.Status == http.StatusTooManyRequests {
		remaining = "0"
	}
	if rep.RetryAfter > 0 {
		reset = rep.RetryAfter.String()
		h.Set("retry-after", durationSeconds(rep.RetryAfter))
		h.Set("retry-after-ms", strconv.FormatInt(rep.RetryAfter.Milliseconds(), 10))
	}
	h.Set("x-ratelimit-limit-requests", "500")
	h.Set("x-ratelimit-remaining-requests", remaining)
	h.Set("x-ratelimit-reset-requests", reset)
	h.Set("x-ratelimit-limit-tokens", "30000")
	h.Set("x-ratelimit-remaining-tokens", remaining)
	h.Set("x-ratelimit-reset-tokens", reset)
}

// openAIRequest holds the request fields the fakes look at.
type openAIRequest struct {
	Model         *string         `json:"model"`
	Messages      json.RawMessage `json:"messages"`
	Prompt        json.RawMessage `json:"prompt"`
	Input         json.RawMessage `json:"input"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage       bool  `json:"include_usage"`
		IncludeObfuscation *bool `json:"include_obfuscation"`
	} `json:"stream_options"`
	EncodingFormat string `json:"encoding_format"`
	Dimensions     int    `json:"dimensions"`
}

// parseOpenAI decodes and minimally validates a request body; required names the field that must be
// present ("messages", "prompt", "input", or "" for none). It writes the 400/404 itself and returns false.
func (u *Upstream) parseOpenAI(w http.ResponseWriter, r *http.Request, required string) (openAIRequest, bool) {
	var req openAIRequest
	if err := json.Unmarshal(bodyOf(r), &req); err != nil {
		writeOpenAIError(w, http.StatusBadRequest, "invalid_request_error", openAIBadJSON, nil, nil)
		return req, false
	}
	if known := u.openAIKnown[required]; known != nil && !u.cfg.lenient {
		if name := unknownMember(bodyOf(r), known); name != "" {
			writeOpenAIError(w, http.StatusBadRequest, "invalid_request_error",
				"Unrecognized request argument supplied: "+name, nil, nil)
			return req, false
		}
	}
	if req.Model == nil || *req.Model == "" {
		writeOpenAIError(w, http.StatusBadRequest, "invalid_request_error", "you must provide a model parameter", nil, nil)
		return req, false
	}
	var field json.RawMessage
	switch required {
	case "messages":
		field = req.Messages
	case "prompt":
		field = req.Prompt
	case "input":
		field = req.Input
	}
	if required != "" && (len(field) == 0 || string(field) == "null") {
		writeOpenAIError(w, http.StatusBadRequest, "invalid_request_error",
			fmt.Sprintf("Missing required parameter: '%s'.", required), required, "missing_required_parameter")
		return req, false
	}
	if required == "messages" && strings.TrimSpace(string(field)) == "[]" {
		writeOpenAIError(w, http.StatusBadRequest, "invalid_request_error",
			"Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
			"messages", "empty_array")
		return req, false
	}
	if req.StreamOptions != nil && !req.Stream {
		writeOpenAIError(w, http.StatusBadRequest, "invalid_request_error",
			"The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", nil)
		return req, false
	}
	if !u.modelAllowed(*req.Model) {
		writeOpenAIError(w, http.StatusNotFound, "invalid_request_error",
			fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", *req.Model), nil, "model_not_found")
		return req, false
	}
	return req, true
}

// fieldSet is a read-only set of JSON member names.
type fieldSet map[string]bool

func setOf(names []string) fieldSet {
	s := make(fieldSet, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

// unknownMember returns the first top-level member name of body (valid JSON) that is not in known,
// in document order. It scans the bytes without allocating, since it runs on every request.
func unknownMember(body []byte, known fieldSet) string {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return "" // only objects have members
	}
	depth, expectKey := 0, false
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			j := i + 1
			for j < len(body) && body[j] != '"' {
				if body[j] == '\\' {
					j++
				}
				j++
			}
			if expectKey && j <= len(body) {
				if key := body[i+1 : min(j, len(body))]; !known[string(key)] {
					return string(key)
				}
				expectKey = false
			}
			i = j
		}
	}
	return ""
}

// begin pops the scripted reply, waits for its gate, and writes an error reply if scripted. It
// returns false when the request is finished.
func (u *Upstream) begin(w http.ResponseWriter, r *http.Request, model string, onError func(*Reply)) (Reply, bool, bool) {
	rep, isDefault := u.next()
	rep = rep.withDefaults(u.vendor)
	if !rep.gate(r.Context()) {
		markCanceled(r)
		return rep, false, false
	}
	if rep.isError() {
		onError(&rep)
		return rep, false, false
	}
	rep.copyHeaders(w)
	return rep, isDefault, true
}

func (u *Upstream) newID(prefix string) string {
	return prefix + "fake" + strconv.FormatInt(u.seq.Add(1), 36)
}

func (u *Upstream) openAIChat(w http.ResponseWriter, r *http.Request) {
	req, ok := u.parseOpenAI(w, r, "messages")
	if !ok {
		return
	}
	model := *req.Model
	rep, isDefault, ok := u.begin(w, r, model, func(rep *Reply) { u.openAIReplyError(w, rep, model) })
	if !ok {
		return
	}
	h := w.Header()
	u.openAIRateHeaders(h, &rep)
	h.Set("openai-version", "2020-10-01")
	h.Set("openai-processing-ms", "1")
	h.Set("x-request-id", "req_fake")
	if req.Stream {
		u.openAIChatStream(w, r, &rep, model, req)
		return
	}
	var body []byte
	if isDefault {
		body = u.cached("chat\x00"+model, func() []byte { return u.chatBody(&rep, model, "chatcmpl-fakedefault") })
	} else {
		body = u.chatBody(&rep, model, u.newID("chatcmpl-"))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func chatFinish(rep *Reply) string {
	switch {
	case rep.FinishReason != "":
		return rep.FinishReason
	case len(rep.ToolCalls) > 0:
		return "tool_calls"
	default:
		return "stop"
	}
}

// chatUsage is the Chat usage object (WIRE.md §1.4; openai-go CompletionUsage).
func chatUsage(us Usage) obj {
	prompt := obj{{"cached_tokens", us.CachedTokens}, {"audio_tokens", 0}}
	if us.CacheCreationTokens > 0 {
		prompt = append(prompt, kv{"cache_write_tokens", us.CacheCreationTokens})
	}
	return obj{
		{"prompt_tokens", us.InputTokens},
		{"completion_tokens", us.OutputTokens},
		{"total_tokens", us.InputTokens + us.OutputTokens},
		{"prompt_tokens_details", prompt},
		{"completion_tokens_details", obj{
			{"reasoning_tokens", us.ReasoningTokens}, {"audio_tokens", 0},
			{"accepted_prediction_tokens", 0}, {"rejected_prediction_tokens", 0},
		}},
	}
}

func (u *Upstream) toolID(tc ToolCall, i int, prefix string) string {
	if tc.ID != "" {
		return tc.ID
	}
	return prefix + "fake" + strconv.Itoa(i)
}

// chatBody builds a non-stream chat.completion (WIRE.md §1.4).
func (u *Upstream) chatBody(rep *Reply, model, id string) []byte {
	msg := obj{{"role", "assistant"}}
	if rep.Text != "" {
		msg = append(msg, kv{"content", rep.Text})
	} else {
		msg = append(msg, kv{"content", nil})
	}
	msg = append(msg, kv{"refusal", nil}, kv{"annotations", []any{}})
	if rep.Reasoning != "" {
		// Not in official OpenAI Chat; OpenAI-compatible servers (DeepSeek, vLLM) send it (WIRE.md §1.4).
		msg = append(msg, kv{"reasoning_content", rep.Reasoning})
	}
	if len(rep.ToolCalls) > 0 {
		calls := make([]any, len(rep.ToolCalls))
		for i, tc := range rep.ToolCalls {
			calls[i] = obj{{"id", u.toolID(tc, i, "call_")}, {"type", "function"},
				{"function", obj{{"name", tc.Name}, {"arguments", argsOrEmpty(tc.Arguments)}}}}
		}
		msg = append(msg, kv{"tool_calls", calls})
	}
	return encode(obj{
		{"id", id},
		{"object", "chat.completion"},
		{"created", u.started.Unix()},
		{"model", model},
		{"choices", []any{obj{{"index", 0}, {"message", msg}, {"logprobs", nil}, {"finish_reason", chatFinish(rep)}}}},
		{"usage", chatUsage(rep.Usage)},
		{"service_tier", "default"},
		{"system_fingerprint", openAIFingerprint},
	})
}

// openAIChatStream streams chat.completion.chunk events (WIRE.md §1.5): a role chunk, content
// chunks, tool call chunks (start, then argument fragments), a finish chunk with delta {}, a usage
// chunk with choices [] only when stream_options.include_usage, then data: [DONE].
func (u *Upstream) openAIChatStream(w http.ResponseWriter, r *http.Request, rep *Reply, model string, req openAIRequest) {
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	obfuscate := req.StreamOptions == nil || req.StreamOptions.IncludeObfuscation == nil || *req.StreamOptions.IncludeObfuscation
	id, created := u.newID("chatcmpl-"), u.clk.Now().Unix()
	s := startStream(w, r, rep, false)
	s.inStreamError = openAIStreamError(rep)
	chunk := func(delta obj, finish any) bool {
		c := obj{
			{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
			{"service_tier", "default"}, {"system_fingerprint", openAIFingerprint},
			{"choices", []any{obj{{"index", 0}, {"delta", delta}, {"logprobs", nil}, {"finish_reason", finish}}}},
		}
		if includeUsage {
			c = append(c, kv{"usage", nil})
		}
		if obfuscate {
			c = append(c, kv{"obfuscation", openAIObfuscation})
		}
		return s.event("", encode(c))
	}
	if !chunk(obj{{"role", "assistant"}, {"content", ""}, {"refusal", nil}}, nil) {
		return
	}
	for _, p := range splitText(rep.Reasoning, rep.StreamChunks) {
		if !chunk(obj{{"reasoning_content", p}}, nil) {
			return
		}
	}
	for _, p := range splitText(rep.Text, rep.StreamChunks) {
		if !chunk(obj{{"content", p}}, nil) {
			return
		}
	}
	for i, tc := range rep.ToolCalls {
		start := obj{{"index", i}, {"id", u.toolID(tc, i, "call_")}, {"type", "function"},
			{"function", obj{{"name", tc.Name}, {"arguments", ""}}}}
		if !chunk(obj{{"tool_calls", []any{start}}}, nil) {
			return
		}
		for _, frag := range splitText(argsOrEmpty(tc.Arguments), 3) {
			if !chunk(obj{{"tool_calls", []any{obj{{"index", i}, {"function", obj{{"arguments", frag}}}}}}}, nil) {
				return
			}
		}
	}
	if !chunk(obj{}, chatFinish(rep)) {
		return
	}
	if includeUsage {
		c := obj{
			{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
			{"service_tier", "default"}, {"system_fingerprint", openAIFingerprint},
			{"choices", []any{}}, {"usage", chatUsage(rep.Usage)},
		}
		if obfuscate {
			c = append(c, kv{"obfuscation", openAIObfuscation})
		}
		if !s.event("", encode(c)) {
			return
		}
	}
	s.event("", []byte("[DONE]"))
}

// openAIStreamError is the Chat/Completions in-stream error: a data line whose JSON has a top-level
// error object (WIRE.md §1.5).
func openAIStreamError(rep *Reply) func(int) (string, []byte) {
	return func(int) (string, []byte) {
		msg := rep.ErrorMessage
		if msg == "" {
			msg = "The server had an error while processing your request. Sorry about that!"
		}
		return "", encode(obj{{"error", obj{{"message", msg}, {"type", "server_error"}, {"param", nil}, {"code", nil}}}})
	}
}

// openAICompletions serves the legacy text_completion API (WIRE.md §1.7).
func (u *Upstream) openAICompletions(w http.ResponseWriter, r *http.Request) {
	req, ok := u.parseOpenAI(w, r, "prompt")
	if !ok {
		return
	}
	model := *req.Model
	rep, _, ok := u.begin(w, r, model, func(rep *Reply) { u.openAIReplyError(w, rep, model) })
	if !ok {
		return
	}
	h := w.Header()
	h.Set("openai-version", "2020-10-01")
	h.Set("x-request-id", "req_fake")
	u.openAIRateHeaders(h, &rep)
	id, created := u.newID("cmpl-"), u.clk.Now().Unix()
	finish := rep.FinishReason
	if finish == "" {
		finish = "stop"
	}
	usage := obj{{"prompt_tokens", rep.Usage.InputTokens}, {"completion_tokens", rep.Usage.OutputTokens},
		{"total_tokens", rep.Usage.InputTokens + rep.Usage.OutputTokens}}
	chunk := func(text string, fin any, withUsage bool) obj {
		c := obj{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
			{"system_fingerprint", openAIFingerprint},
			{"choices", []any{obj{{"text", text}, {"index", 0}, {"logprobs", nil}, {"finish_reason", fin}}}}}
		if withUsage {
			c = append(c, kv{"usage", usage})
		}
		return c
	}
	if !req.Stream {
		writeJSON(w, http.StatusOK, encode(chunk(rep.Text, finish, true)))
		return
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	s := startStream(w, r, &rep, false)
	s.inStreamError = openAIStreamError(&rep)
	for _, p := range splitText(rep.Text, rep.StreamChunks) {
		if !s.event("", encode(chunk(p, nil, false))) {
			return
		}
	}
	if !s.event("", encode(chunk("", finish, false))) {
		return
	}
	if includeUsage {
		c := obj{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
			{"choices", []any{}}, {"usage", usage}}
		if !s.event("", encode(c)) {
			return
		}
	}
	s.event("", []byte("[DONE]"))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// openAIEmbeddings returns deterministic vectors, one per input, as floats or base64 little-endian
// float32 per encoding_format (openai-go EmbeddingNewParams; CreateEmbeddingResponse).
func (u *Upstream) openAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	req, ok := u.parseOpenAI(w, r, "input")
	if !ok {
		return
	}
	model := *req.Model
	rep, _, ok := u.begin(w, r, model, func(rep *Reply) { u.openAIReplyError(w, rep, model) })
	if !ok {
		return
	}
	u.openAIRateHeaders(w.Header(), &rep)
	inputs := embeddingInputs(req.Input)
	dims := req.Dimensions
	if dims <= 0 {
		dims = 8
	}
	data := make([]any, len(inputs))
	for i, in := range inputs {
		vec := fakeVector(in, dims)
		var emb any = vec
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(vec))
			for j, f := range vec {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(f)))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = obj{{"object", "embedding"}, {"index", i}, {"embedding", emb}}
	}
	writeJSON(w, http.StatusOK, encode(obj{
		{"object", "list"}, {"data", data}, {"model", model},
		{"usage", obj{{"prompt_tokens", rep.Usage.InputTokens}, {"total_tokens", rep.Usage.InputTokens}}},
	}))
}

// embeddingInputs splits input (string, string[], int[] or int[][]) into one raw item per vector.
func embeddingInputs(in json.RawMessage) []string {
	var list []json.RawMessage
	if err := json.Unmarshal(in, &list); err != nil || len(list) == 0 {
		return []string{string(in)}
	}
	var n float64
	if json.Unmarshal(list[0], &n) == nil {
		return []string{string(in)} // one tokenized input
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = string(e)
	}
	return out
}

// fakeVector derives a unit-length vector from s, so equal inputs embed equally.
func fakeVector(s string, dims int) []float64 {
	v := make([]float64, dims)
	var norm float64
	for i := range v {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{byte(i), byte(i >> 8)})
		v[i] = float64(int64(h.Sum64()%2001)-1000) / 1000
		norm += v[i] * v[i]
	}
	if norm == 0 {
		v[0], norm = 1, 1
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float64(float32(v[i] / norm))
	}
	return v
}

func (u *Upstream) openAIModelList() []string {
	if len(u.cfg.models) > 0 {
		return u.cfg.models
	}
	return defaultOpenAIModels
}

func openAIModelObj(id string) obj {
	return obj{{"id", id}, {"object", "model"}, {"created", int64(1715367049)}, {"owned_by", "system"}}
}

// openAIModels lists the catalog (WIRE.md §1.7). Model listing does not consume scripted replies.
func (u *Upstream) openAIModels(w http.ResponseWriter, _ *http.Request) {
	ids := u.openAIModelList()
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = openAIModelObj(id)
	}
	writeJSON(w, http.StatusOK, encode(obj{{"object", "list"}, {"data", data}}))
}

func (u *Upstream) openAIModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, m := range u.openAIModelList() {
		if m == id {
			writeJSON(w, http.StatusOK, encode(openAIModelObj(id)))
			return
		}
	}
	if len(u.cfg.models) == 0 {
		writeJSON(w, http.StatusOK, encode(openAIModelObj(id)))
		return
	}
	writeOpenAIError(w, http.StatusNotFound, "invalid_request_error",
		fmt.Sprintf("The model '%s' does not exist", id), "model", "model_not_found")
}

// durationSeconds formats d as whole seconds, rounding up, for retry-after headers.
func durationSeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
