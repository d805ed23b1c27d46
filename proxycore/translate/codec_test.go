package translate

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// sampleRequest is a canonical conversation using every portable feature.
func sampleRequest() *llm.Request {
	return &llm.Request{
		Model:     "m",
		MaxTokens: ptr(1000),
		System:    []llm.Part{{Kind: llm.PartText, Text: "be brief"}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "hi"},
				{Kind: llm.PartImage, Media: &llm.Media{MIME: "image/png", Data: "iVBORw0KGgo="}}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartText, Text: "calling"},
				{Kind: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_1", Name: "f", Arguments: json.RawMessage(`{"a":1}`)}},
				{Kind: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_2", Name: "g", Arguments: json.RawMessage(`{}`)}}}},
			{Role: llm.RoleTool, Parts: []llm.Part{
				{Kind: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "call_1", Content: []llm.Part{{Kind: llm.PartText, Text: "one"}}}},
				{Kind: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "call_2", Content: []llm.Part{{Kind: llm.PartText, Text: "two"}}}}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "thanks"}}},
		},
		Tools: []llm.Tool{{Type: "function", Name: "f", Parameters: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}}}`)},
			{Type: "function", Name: "g"}},
	}
}

// summary flattens a request into comparable facts: system text, per-message role and text, tool
// calls (name + args) and tool results (content), in order.
func summary(req *llm.Request) []string {
	out := []string{"system:" + joinText(req.System)}
	for _, m := range req.Messages {
		for _, p := range m.Parts {
			switch p.Kind {
			case llm.PartText:
				out = append(out, string(m.Role)+":"+p.Text)
			case llm.PartImage:
				out = append(out, string(m.Role)+":image:"+p.Media.MIME+":"+p.Media.Data)
			case llm.PartToolCall:
				var v any
				_ = json.Unmarshal(p.ToolCall.Arguments, &v)
				b, _ := json.Marshal(v)
				out = append(out, "call:"+p.ToolCall.Name+string(b))
			case llm.PartToolResult:
				out = append(out, "result:"+llm.TextOf(p.ToolResult.Content))
			}
		}
	}
	return out
}

func TestRequestRoundTrip(t *testing.T) {
	reg := testRegistry()
	want := summary(sampleRequest())
	for _, f := range []llm.Format{llm.FormatOpenAIChat, llm.FormatClaude, llm.FormatGemini, llm.FormatResponses} {
		t.Run(string(f), func(t *testing.T) {
			c := reg.Codec(f)
			body, err := c.EncodeRequest(sampleRequest())
			if err != nil {
				t.Fatal(err)
			}
			back, err := c.DecodeRequest(body)
			if err != nil {
				t.Fatalf("decode own encoding: %v\n%s", err, body)
			}
			got := summary(back)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("round trip changed the conversation\n got: %q\nwant: %q", got, want)
			}
			if len(back.Tools) != 2 || back.Tools[0].Name != "f" {
				t.Fatalf("tools: %+v", back.Tools)
			}
		})
	}
}

func TestResponseRoundTrip(t *testing.T) {
	reg := testRegistry()
	resp := &llm.Response{ID: "x", Model: "m", Finish: llm.FinishToolCalls,
		Usage: llm.Usage{InputTokens: 100, OutputTokens: 50, CachedInputTokens: 40, ReasoningTokens: 20},
		Message: llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Kind: llm.PartText, Text: "answer"},
			{Kind: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_1", Name: "f", Arguments: json.RawMessage(`{"a":1}`)}}}}}
	for _, f := range []llm.Format{llm.FormatOpenAIChat, llm.FormatClaude, llm.FormatGemini, llm.FormatResponses} {
		t.Run(string(f), func(t *testing.T) {
			c := reg.Codec(f)
			body, err := c.EncodeResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			back, err := c.DecodeResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			if back.Usage != resp.Usage {
				t.Errorf("usage %+v, want %+v", back.Usage, resp.Usage)
			}
			if back.Finish != llm.FinishToolCalls {
				t.Errorf("finish %q", back.Finish)
			}
			if llm.TextOf(back.Message.Parts) != "answer" {
				t.Errorf("text %q", llm.TextOf(back.Message.Parts))
			}
		})
	}
}

func TestSignaturesNeverCrossVendors(t *testing.T) {
	reg := testRegistry()
	req := sampleRequest()
	req.Reasoning = &llm.Reasoning{Effort: "high", IncludeThoughts: true}
	req.MaxTokens = nil
	req.Messages[1].Parts = append([]llm.Part{
		{Kind: llm.PartThinking, Thinking: &llm.Thinking{Text: "claude", Signature: "CLAUDE_SIG", SignatureFormat: llm.FormatClaude}},
		{Kind: llm.PartThinking, Thinking: &llm.Thinking{Text: "gemini", Signature: "GEMINI_SIG", SignatureFormat: llm.FormatGemini}},
		{Kind: llm.PartThinking, Thinking: &llm.Thinking{Text: "openai", Signature: "OPENAI_ENC", SignatureFormat: llm.FormatResponses}},
		{Kind: llm.PartThinking, Thinking: &llm.Thinking{Text: "unsigned"}},
	}, req.Messages[1].Parts...)
	tests := []struct {
		to      llm.Format
		allowed string
	}{
		{llm.FormatClaude, "CLAUDE_SIG"}, {llm.FormatGemini, "GEMINI_SIG"}, {llm.FormatResponses, "OPENAI_ENC"},
	}
	for _, tt := range tests {
		t.Run(string(tt.to), func(t *testing.T) {
			body, err := reg.Codec(tt.to).EncodeRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			for _, sig := range []string{"CLAUDE_SIG", "GEMINI_SIG", "OPENAI_ENC"} {
				if has := strings.Contains(string(body), sig); has != (sig == tt.allowed) {
					t.Errorf("signature %s present=%v in %s request:\n%s", sig, has, tt.to, body)
				}
			}
			if tt.to == llm.FormatClaude && strings.Contains(string(body), "unsigned") {
				t.Error("unsigned thinking forwarded to Anthropic")
			}
		})
	}
}

func TestClaudeThinkingBudget(t *testing.T) {
	reg := testRegistry()
	tests := []struct {
		name       string
		maxTokens  *int
		effort     string
		wantMax    float64
		wantBudget float64 // 0 = thinking absent
	}{
		{"default max grows with budget", nil, "high", 16384 + 8192, 16384},
		{"budget clamped below max", ptr(4000), "high", 4000, 3999},
		{"too small for thinking", ptr(1000), "high", 1000, 0},
		{"effort none", ptr(5000), "none", 5000, 0},
		{"minimal", ptr(5000), "minimal", 5000, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &llm.Request{Model: "c", MaxTokens: tt.maxTokens, Reasoning: &llm.Reasoning{Effort: tt.effort},
				Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "x"}}}}}
			body, err := reg.Codec(llm.FormatClaude).EncodeRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				MaxTokens float64 `json:"max_tokens"`
				Thinking  *struct {
					BudgetTokens float64 `json:"budget_tokens"`
				} `json:"thinking"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			if out.MaxTokens != tt.wantMax {
				t.Errorf("max_tokens %v, want %v", out.MaxTokens, tt.wantMax)
			}
			got := 0.0
			if out.Thinking != nil {
				got = out.Thinking.BudgetTokens
			}
			if got != tt.wantBudget {
				t.Errorf("budget %v, want %v (%s)", got, tt.wantBudget, body)
			}
		})
	}
}

func TestErrorTranslation(t *testing.T) {
	reg := testRegistry()
	h := http.Header{"Retry-After": {"7"}, "Anthropic-Ratelimit-Requests-Remaining": {"0"}, "Content-Type": {"application/json"}}
	tests := []struct {
		name      string
		from      llm.Format
		status    int
		header    http.Header
		body      string
		wantRetry time.Duration
		wantMsg   string
	}{
		{"claude 429", llm.FormatClaude, 429, h, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_1"}`, 7 * time.Second, "slow down"},
		{"openai 429 ms", llm.FormatOpenAIChat, 429, http.Header{"Retry-After-Ms": {"1500"}}, `{"error":{"message":"Rate limit","type":"requests","param":null,"code":"rate_limit_exceeded"}}`, 1500 * time.Millisecond, "Rate limit"},
		{"gemini RetryInfo", llm.FormatGemini, 429, nil, `{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"30s"}]}}`, 30 * time.Second, "Quota"},
		{"html body", llm.FormatClaude, 429, nil, `<html>bad gateway</html>`, 0, "Too Many Requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := reg.Codec(tt.from).DecodeError(tt.status, tt.header, []byte(tt.body))
			if e.Status != tt.status || e.RetryAfter != tt.wantRetry || e.Message != tt.wantMsg {
				t.Fatalf("decoded %+v", e)
			}
			if tt.header != nil && tt.header.Get("Content-Type") != "" && e.Header.Get("Content-Type") != "" {
				t.Error("kept a non rate-limit header")
			}
			checks := map[llm.Format]string{
				llm.FormatOpenAIChat: `rate_limit_exceeded`,
				llm.FormatResponses:  `"code":`,
				llm.FormatClaude:     `"type":"rate_limit_error"`,
				llm.FormatGemini:     `"status":"RESOURCE_EXHAUSTED"`,
			}
			for f, want := range checks {
				body := reg.Codec(f).EncodeError(e)
				if !json.Valid(body) || !strings.Contains(string(body), want) || !strings.Contains(string(body), tt.wantMsg) {
					t.Errorf("%s body %s lacks %s", f, body, want)
				}
			}
			if tt.wantRetry > 0 && ErrorHeaders(e).Get("Retry-After") == "" {
				t.Error("no Retry-After header for the client")
			}
			if tt.from == llm.FormatGemini && !strings.Contains(string(reg.Codec(llm.FormatGemini).EncodeError(e)), `"retryDelay":"30s"`) {
				t.Error("RetryInfo lost")
			}
		})
	}
}

func TestCutStreamsNeverLookFinished(t *testing.T) {
	reg := testRegistry()
	cut := map[llm.Format]string{
		llm.FormatOpenAIChat:        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n",
		llm.FormatOpenAICompletions: "data: {\"id\":\"c\",\"choices\":[{\"text\":\"hi\"}]}\n\n",
		llm.FormatClaude:            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{}}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n",
		llm.FormatGemini:            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}]}\r\n\r\n",
		llm.FormatResponses:         "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n",
	}
	failMarks := map[llm.Format]string{
		llm.FormatOpenAIChat: "data: {\"error\":", llm.FormatOpenAICompletions: "data: {\"error\":",
		llm.FormatClaude: "event: error\n", llm.FormatGemini: "data: {\"error\":", llm.FormatResponses: "event: response.failed\n",
	}
	normalEnds := []string{"data: [DONE]", "event: message_stop", "event: response.completed", `"finishReason":`}
	for from, body := range cut {
		for _, to := range allFormats {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				dec := reg.Codec(from).NewStreamDecoder()
				var evs []llm.Event
				var err error
				for _, ev := range parseTestSSE(t, body) {
					if evs, err = dec.Decode(evs, ev[0], []byte(ev[1])); err != nil {
						t.Fatal(err)
					}
				}
				_, err = dec.End(nil)
				var le *llm.Error
				if !errors.As(err, &le) || le.Status < 500 {
					t.Fatalf("End() = %v, want a 5xx *llm.Error", err)
				}
				out := string(pumpStream(t, reg.Codec(from).NewStreamDecoder(), reg.Codec(to).NewStreamEncoder(&llm.Request{Model: "m", IncludeUsage: true}), []byte(body)))
				if !strings.HasSuffix(strings.TrimRight(out, "\r\n"), "}") || !strings.Contains(out, failMarks[to]) {
					t.Fatalf("client stream does not end with an error event:\n%s", out)
				}
				for _, end := range normalEnds {
					if strings.Contains(out, end) {
						t.Fatalf("cut stream contains normal end %q:\n%s", end, out)
					}
				}
			})
		}
	}
}

func parseTestSSE(t *testing.T, body string) [][2]string {
	t.Helper()
	var out [][2]string
	for _, frame := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n") {
		var ev, data string
		for _, line := range strings.Split(frame, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				data = v
			}
		}
		if data != "" {
			out = append(out, [2]string{ev, data})
		}
	}
	return out
}

func TestChatIncludeUsage(t *testing.T) {
	reg := testRegistry()
	body := chatTextStreamForTest()
	for _, include := range []bool{false, true} {
		out := string(pumpStream(t, reg.Codec(llm.FormatOpenAIChat).NewStreamDecoder(),
			reg.Codec(llm.FormatOpenAIChat).NewStreamEncoder(&llm.Request{Model: "m", IncludeUsage: include}), body))
		if got := strings.Contains(out, `"prompt_tokens":`); got != include {
			t.Errorf("include_usage=%v: usage chunk present=%v\n%s", include, got, out)
		}
		if !strings.HasSuffix(out, "data: [DONE]\n\n") {
			t.Errorf("no [DONE]: %s", out)
		}
	}
}

func chatTextStreamForTest() []byte {
	return []byte("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n")
}

func TestBadRequests(t *testing.T) {
	reg := testRegistry()
	tests := []struct {
		name string
		f    llm.Format
		body string
		want string
	}{
		{"chat bad json", llm.FormatOpenAIChat, `{"model":`, "invalid chat completions request"},
		{"chat no model", llm.FormatOpenAIChat, `{"messages":[]}`, "model"},
		{"chat bad role", llm.FormatOpenAIChat, `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, "unknown role"},
		{"chat bad part", llm.FormatOpenAIChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}`, "video"},
		{"claude bad tool_choice", llm.FormatClaude, `{"model":"m","messages":[],"tool_choice":{"type":"maybe"}}`, "tool_choice"},
		{"claude bad content", llm.FormatClaude, `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages.0.content"},
		{"gemini bad json", llm.FormatGemini, `{"contents":[}`, "Invalid JSON"},
		{"responses item_reference", llm.FormatResponses, `{"model":"m","input":[{"type":"item_reference","id":"x"}]}`, "item_reference"},
		{"completions token prompt", llm.FormatOpenAICompletions, `{"model":"m","prompt":[[1,2]]}`, "prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reg.Codec(tt.f).DecodeRequest([]byte(tt.body))
			var le *llm.Error
			if !errors.As(err, &le) || le.Status != 400 || !strings.Contains(le.Error(), tt.want) {
				t.Fatalf("err = %v, want 400 mentioning %q", err, tt.want)
			}
		})
	}
	// Inexpressible features are named in a 400.
	req := sampleRequest()
	req.SourceFormat, req.Extra = llm.FormatResponses, map[string]json.RawMessage{"previous_response_id": json.RawMessage(`"resp_1"`)}
	for _, f := range []llm.Format{llm.FormatClaude, llm.FormatGemini, llm.FormatOpenAIChat} {
		_, err := reg.Codec(f).EncodeRequest(req)
		if err == nil || !strings.Contains(err.Error(), "previous_response_id") {
			t.Errorf("%s: err = %v", f, err)
		}
	}
	audio := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartAudio, Media: &llm.Media{MIME: "audio/wav", Data: "AA"}}}}}}
	if _, err := reg.Codec(llm.FormatClaude).EncodeRequest(audio); err == nil || !strings.Contains(err.Error(), "audio") {
		t.Errorf("claude audio: %v", err)
	}
	bmp := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartImage, Media: &llm.Media{MIME: "image/bmp", Data: "AA"}}}}}}
	if _, err := reg.Codec(llm.FormatClaude).EncodeRequest(bmp); err == nil || !strings.Contains(err.Error(), "image/bmp") {
		t.Errorf("claude bmp: %v", err)
	}
}

func TestGeminiToolResultNeedsName(t *testing.T) {
	reg := testRegistry()
	req := &llm.Request{Model: "g", Messages: []llm.Message{{Role: llm.RoleTool, Parts: []llm.Part{
		{Kind: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "unknown", Content: []llm.Part{{Kind: llm.PartText, Text: "x"}}}}}}}}
	_, err := reg.Codec(llm.FormatGemini).EncodeRequest(req)
	if err == nil || !strings.Contains(err.Error(), "function name") {
		t.Fatalf("err = %v", err)
	}
}

func TestSanitizeGeminiSchemaNoParams(t *testing.T) {
	for _, in := range []string{``, `{}`, `{"type":"object","properties":{}}`, `{"type":"object","additionalProperties":false}`} {
		out, err := sanitizeGeminiSchema(json.RawMessage(in))
		if err != nil || out != nil {
			t.Errorf("%q -> %s, %v; want omitted parameters", in, out, err)
		}
	}
	deep := strings.Repeat(`{"type":"object","properties":{"a":`, 50) + `{"type":"string"}` + strings.Repeat(`}}`, 50)
	if _, err := sanitizeGeminiSchema(json.RawMessage(deep)); err != nil {
		t.Fatal(err)
	}
	loop := `{"$defs":{"A":{"$ref":"#/$defs/A"}},"type":"object","properties":{"x":{"$ref":"#/$defs/A"}}}`
	if _, err := sanitizeGeminiSchema(json.RawMessage(loop)); err != nil {
		t.Fatal(err)
	}
}
