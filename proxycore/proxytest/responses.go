package proxytest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
)

// Responses API wire facts: WIRE.md §2 (response object, output items, streaming events with
// sequence_number, terminal events) and the openai-go v3.98.0 responses.Response and
// ResponseStreamEventUnion types. Errors and rate-limit headers are the same as Chat (WIRE.md §2.4).

// responsesRequest holds the Responses request fields the fake echoes.
type responsesRequest struct {
	Instructions json.RawMessage `json:"instructions"`
	Tools        json.RawMessage `json:"tools"`
	ToolChoice   json.RawMessage `json:"tool_choice"`
	Include      []string        `json:"include"`
	Store        *bool           `json:"store"`
}

// respRun carries what one Responses reply needs while it is built.
type respRun struct {
	u       *Upstream
	rep     *Reply
	model   string
	id      string
	created int64
	req     responsesRequest
	msgID   string
	rsID    string
	fcIDs   []string
	encrypt bool
	// emptyFinal leaves the terminal event's output empty, as the ChatGPT Codex backend does with
	// store=false (see codex.go); the items still arrive in output_item.done events.
	emptyFinal bool
}

func (u *Upstream) openAIResponses(w http.ResponseWriter, r *http.Request) {
	req, ok := u.parseOpenAI(w, r, "")
	if !ok {
		return
	}
	var extra responsesRequest
	_ = json.Unmarshal(bodyOf(r), &extra) // already known to be valid JSON
	model := *req.Model
	rep, _, ok := u.begin(w, r, model, func(rep *Reply) { u.openAIReplyError(w, rep, model) })
	if !ok {
		return
	}
	h := w.Header()
	h.Set("openai-version", "2020-10-01")
	h.Set("x-request-id", "req_fake")
	u.openAIRateHeaders(h, &rep)
	run := &respRun{
		u: u, rep: &rep, model: model, id: u.newID("resp_"), created: u.clk.Now().Unix(), req: extra,
		msgID: u.newID("msg_"), rsID: u.newID("rs_"),
	}
	for range rep.ToolCalls {
		run.fcIDs = append(run.fcIDs, u.newID("fc_"))
	}
	for _, inc := range extra.Include {
		run.encrypt = run.encrypt || inc == "reasoning.encrypted_content"
	}
	if req.Stream {
		run.stream(w, r)
		return
	}
	writeJSON(w, http.StatusOK, encode(run.response(run.finalStatus(), run.output(), true)))
}

// finalStatus is "completed", or "incomplete" when FinishReason names an incomplete reason.
func (run *respRun) finalStatus() string {
	switch run.rep.FinishReason {
	case "max_output_tokens", "content_filter":
		return "incomplete"
	case "failed":
		return "failed"
	}
	return "completed"
}

func rawOr(v json.RawMessage, def any) any {
	if len(v) == 0 || string(v) == "null" {
		return def
	}
	return v
}

// response builds the response object (WIRE.md §2.3) with the given status and output.
func (run *respRun) response(status string, output []any, final bool) obj {
	var incomplete, errObj, usage, completed any
	if final {
		us := run.rep.Usage
		inDetails := obj{{"cached_tokens", us.CachedTokens}}
		if us.CacheCreationTokens > 0 {
			inDetails = append(inDetails, kv{"cache_write_tokens", us.CacheCreationTokens})
		}
		usage = obj{
			{"input_tokens", us.InputTokens}, {"input_tokens_details", inDetails},
			{"output_tokens", us.OutputTokens}, {"output_tokens_details", obj{{"reasoning_tokens", us.ReasoningTokens}}},
			{"total_tokens", us.InputTokens + us.OutputTokens},
		}
		switch status {
		case "incomplete":
			incomplete = obj{{"reason", run.rep.FinishReason}}
		case "failed":
			errObj = obj{{"code", "server_error"}, {"message", "The model failed to generate a response."}}
		default:
			completed = run.created
		}
	}
	store := true
	if run.req.Store != nil {
		store = *run.req.Store
	}
	return obj{
		{"id", run.id}, {"object", "response"}, {"created_at", run.created}, {"status", status},
		{"background", false}, {"completed_at", completed}, {"error", errObj}, {"incomplete_details", incomplete},
		{"instructions", rawOr(run.req.Instructions, nil)}, {"max_output_tokens", nil}, {"max_tool_calls", nil},
		{"model", run.model}, {"output", output}, {"parallel_tool_calls", true}, {"previous_response_id", nil},
		{"reasoning", obj{{"effort", nil}, {"summary", nil}}}, {"service_tier", "default"}, {"store", store},
		{"temperature", raw("1.0")}, {"text", obj{{"format", obj{{"type", "text"}}}, {"verbosity", "medium"}}},
		{"tool_choice", rawOr(run.req.ToolChoice, "auto")}, {"tools", rawOr(run.req.Tools, []any{})},
		{"top_logprobs", 0}, {"top_p", raw("1.0")}, {"truncation", "disabled"},
		{"usage", usage}, {"user", nil}, {"metadata", obj{}},
	}
}

func (run *respRun) reasoningItem(done bool) obj {
	summary := []any{}
	if done {
		summary = []any{obj{{"type", "summary_text"}, {"text", run.rep.Reasoning}}}
	}
	it := obj{{"id", run.rsID}, {"type", "reasoning"}, {"summary", summary}}
	if run.encrypt {
		it = append(it, kv{"encrypted_content", base64.StdEncoding.EncodeToString([]byte("fake-encrypted:" + run.rsID))})
	}
	return it
}

func outputText(text string) obj {
	return obj{{"type", "output_text"}, {"annotations", []any{}}, {"logprobs", []any{}}, {"text", text}}
}

func (run *respRun) messageItem(done bool) obj {
	status, content := "in_progress", []any{}
	if done {
		status, content = "completed", []any{outputText(run.rep.Text)}
	}
	return obj{{"id", run.msgID}, {"type", "message"}, {"status", status}, {"content", content}, {"role", "assistant"}}
}

func (run *respRun) callItem(i int, done bool) obj {
	tc := run.rep.ToolCalls[i]
	status, args := "in_progress", ""
	if done {
		status, args = "completed", argsOrEmpty(tc.Arguments)
	}
	return obj{{"id", run.fcIDs[i]}, {"type", "function_call"},
		{"status", status}, {"arguments", args}, {"call_id", run.u.toolID(tc, i, "call_")}, {"name", tc.Name}}
}

// output lists the final items: reasoning, message, then function calls (WIRE.md §2.4: reasoning
// precedes the items it leads to).
func (run *respRun) output() []any {
	out := []any{}
	if run.rep.Reasoning != "" {
		out = append(out, run.reasoningItem(true))
	}
	if run.rep.Text != "" {
		out = append(out, run.messageItem(true))
	}
	for i := range run.rep.ToolCalls {
		out = append(out, run.callItem(i, true))
	}
	return out
}

// stream writes the Responses event sequence (WIRE.md §2.4): created, in_progress, per item
// output_item.added … output_item.done, and a terminal response.completed / .incomplete / .failed.
// Every event carries an increasing sequence_number and its type as the SSE event name.
func (run *respRun) stream(w http.ResponseWriter, r *http.Request) {
	rep := run.rep
	s := startStream(w, r, rep, false)
	s.inStreamError = func(n int) (string, []byte) {
		// WIRE.md §2.4: an error event carries code, message, param (and sequence_number).
		msg := rep.ErrorMessage
		if msg == "" {
			msg = "The server had an error while processing your request. Sorry about that!"
		}
		return "error", encode(obj{{"type", "error"}, {"code", "server_error"}, {"message", msg}, {"param", nil}, {"sequence_number", n}})
	}
	seq := 0
	ev := func(typ string, body obj) bool {
		b := encode(append(append(obj{{"type", typ}}, body...), kv{"sequence_number", seq}))
		seq++
		return s.event(typ, b)
	}
	if !ev("response.created", obj{{"response", run.response("in_progress", []any{}, false)}}) ||
		!ev("response.in_progress", obj{{"response", run.response("in_progress", []any{}, false)}}) {
		return
	}
	idx := 0
	if rep.Reasoning != "" {
		at := obj{{"item_id", run.rsID}, {"output_index", idx}, {"summary_index", 0}}
		if !ev("response.output_item.added", obj{{"output_index", idx}, {"item", run.reasoningItem(false)}}) ||
			!ev("response.reasoning_summary_part.added", append(at, kv{"part", obj{{"type", "summary_text"}, {"text", ""}}})) {
			return
		}
		for _, p := range splitText(rep.Reasoning, rep.StreamChunks) {
			if !ev("response.reasoning_summary_text.delta", append(at, kv{"delta", p}, kv{"obfuscation", openAIObfuscation})) {
				return
			}
		}
		if !ev("response.reasoning_summary_text.done", append(at, kv{"text", rep.Reasoning})) ||
			!ev("response.reasoning_summary_part.done", append(at, kv{"part", obj{{"type", "summary_text"}, {"text", rep.Reasoning}}})) ||
			!ev("response.output_item.done", obj{{"output_index", idx}, {"item", run.reasoningItem(true)}}) {
			return
		}
		idx++
	}
	if rep.Text != "" {
		at := obj{{"item_id", run.msgID}, {"output_index", idx}, {"content_index", 0}}
		if !ev("response.output_item.added", obj{{"output_index", idx}, {"item", run.messageItem(false)}}) ||
			!ev("response.content_part.added", append(at, kv{"part", outputText("")})) {
			return
		}
		for _, p := range splitText(rep.Text, rep.StreamChunks) {
			if !ev("response.output_text.delta", append(at, kv{"delta", p}, kv{"logprobs", []any{}}, kv{"obfuscation", openAIObfuscation})) {
				return
			}
		}
		if !ev("response.output_text.done", append(at, kv{"text", rep.Text}, kv{"logprobs", []any{}})) ||
			!ev("response.content_part.done", append(at, kv{"part", outputText(rep.Text)})) ||
			!ev("response.output_item.done", obj{{"output_index", idx}, {"item", run.messageItem(true)}}) {
			return
		}
		idx++
	}
	for i, tc := range rep.ToolCalls {
		at := obj{{"item_id", run.fcIDs[i]}, {"output_index", idx}}
		if !ev("response.output_item.added", obj{{"output_index", idx}, {"item", run.callItem(i, false)}}) {
			return
		}
		for _, frag := range splitText(argsOrEmpty(tc.Arguments), 3) {
			if !ev("response.function_call_arguments.delta", append(at, kv{"delta", frag}, kv{"obfuscation", openAIObfuscation})) {
				return
			}
		}
		if !ev("response.function_call_arguments.done", append(at, kv{"arguments", argsOrEmpty(tc.Arguments)})) ||
			!ev("response.output_item.done", obj{{"output_index", idx}, {"item", run.callItem(i, true)}}) {
			return
		}
		idx++
	}
	status := run.finalStatus()
	terminal := "response." + status
	final := run.output()
	if run.emptyFinal {
		final = []any{}
	}
	ev(terminal, obj{{"response", run.response(status, final, true)}})
}
