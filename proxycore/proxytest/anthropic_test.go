package proxytest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

func anthropicClient(u *Upstream, key string) anthropic.Client {
	return anthropic.NewClient(option.WithBaseURL(u.URL), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func msgParams(model string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     model,
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
}

func TestAnthropicNonStream(t *testing.T) {
	u := NewAnthropic(t, WithAPIKey(testKey))
	c := anthropicClient(u, testKey)
	u.Enqueue(Reply{Text: "scripted", Reasoning: "let me think",
		Usage: Usage{InputTokens: 9, OutputTokens: 5, CachedTokens: 3, CacheCreationTokens: 2, ReasoningTokens: 4}})
	m, err := c.Messages.New(context.Background(), msgParams("claude-x"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Model != "claude-x" || m.Type != "message" || m.Role != "assistant" || !strings.HasPrefix(m.ID, "msg_") {
		t.Errorf("envelope = %q %q %q %q", m.Model, m.Type, m.Role, m.ID)
	}
	if len(m.Content) != 2 || m.Content[0].Type != "thinking" || m.Content[0].Thinking != "let me think" ||
		m.Content[0].Signature == "" || m.Content[1].Type != "text" || m.Content[1].Text != "scripted" {
		t.Fatalf("content = %+v", m.Content)
	}
	if m.StopReason != "end_turn" {
		t.Errorf("stop_reason = %q", m.StopReason)
	}
	us := m.Usage
	if us.InputTokens != 9 || us.OutputTokens != 5 || us.CacheReadInputTokens != 3 ||
		us.CacheCreationInputTokens != 2 || us.OutputTokensDetails.ThinkingTokens != 4 {
		t.Errorf("usage = %+v", us)
	}
	rec := u.Requests()[0]
	if rec.Path != "/v1/messages" || rec.Header.Get("anthropic-version") == "" {
		t.Errorf("recorded %s %v", rec.Path, rec.Header)
	}
}

func TestAnthropicStream(t *testing.T) {
	u := NewAnthropic(t)
	c := anthropicClient(u, testKey)
	u.Enqueue(Reply{Text: "abcdef", StreamChunks: 3, Reasoning: "hmm",
		Usage: Usage{InputTokens: 11, OutputTokens: 6, CachedTokens: 1}})
	st := c.Messages.NewStreaming(context.Background(), msgParams("claude-y"))
	var m anthropic.Message
	var types []string
	for st.Next() {
		ev := st.Current()
		types = append(types, ev.Type)
		if err := m.Accumulate(ev); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 2 || m.Content[0].Thinking != "hmm" || m.Content[0].Signature == "" || m.Content[1].Text != "abcdef" {
		t.Fatalf("content = %+v", m.Content)
	}
	if m.Model != "claude-y" || m.StopReason != "end_turn" || m.Usage.OutputTokens != 6 ||
		m.Usage.InputTokens != 11 || m.Usage.CacheReadInputTokens != 1 {
		t.Errorf("message = %q %q %+v", m.Model, m.StopReason, m.Usage)
	}
	// The SDK swallows ping events; TestAnthropicStreamFraming checks the ping on the wire.
	want := []string{"message_start",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
		"message_delta", "message_stop"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("event order\n got %v\nwant %v", types, want)
	}
}

func TestAnthropicStreamFraming(t *testing.T) {
	u := NewAnthropic(t)
	req, _ := http.NewRequest(http.MethodPost, u.URL+"/v1/messages?beta=true",
		strings.NewReader(`{"model":"m","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("content-type = %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var lastEvent string
	var names []string
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			lastEvent = name
			names = append(names, name)
			continue
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var v struct{ Type string }
			if err := json.Unmarshal([]byte(data), &v); err != nil || v.Type != lastEvent {
				t.Errorf("data type %q under event %q (%v)", v.Type, lastEvent, err)
			}
		}
	}
	if len(names) < 4 || names[0] != "message_start" || names[1] != "content_block_start" || names[2] != "ping" ||
		names[len(names)-2] != "message_delta" || names[len(names)-1] != "message_stop" {
		t.Errorf("events = %v", names)
	}
}

func TestAnthropicToolCalls(t *testing.T) {
	calls := []ToolCall{{ID: "toolu_1", Name: "lookup", Arguments: `{"q":"golang","n":3}`}, {Name: "noop"}}
	u := NewAnthropic(t)
	c := anthropicClient(u, testKey)
	for _, stream := range []bool{false, true} {
		u.Enqueue(Reply{ToolCalls: calls})
		var m anthropic.Message
		if stream {
			st := c.Messages.NewStreaming(context.Background(), msgParams("m"))
			for st.Next() {
				if err := m.Accumulate(st.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
		} else {
			got, err := c.Messages.New(context.Background(), msgParams("m"))
			if err != nil {
				t.Fatal(err)
			}
			m = *got
		}
		if m.StopReason != "tool_use" || len(m.Content) != 2 {
			t.Fatalf("stream=%v: %q %+v", stream, m.StopReason, m.Content)
		}
		b := m.Content[0]
		var in map[string]any
		if err := json.Unmarshal(b.Input, &in); err != nil || b.Type != "tool_use" || b.ID != "toolu_1" ||
			b.Name != "lookup" || in["q"] != "golang" || in["n"] != float64(3) {
			t.Errorf("stream=%v: block 0 = %+v input %s", stream, b, b.Input)
		}
		if b := m.Content[1]; b.Name != "noop" || b.ID == "" || strings.TrimSpace(string(b.Input)) != "{}" {
			t.Errorf("stream=%v: block 1 = %+v input %s", stream, b, b.Input)
		}
	}
}

func TestAnthropicErrors(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	tests := []struct {
		status   int
		wantType string
	}{
		{429, "rate_limit_error"},
		{529, "overloaded_error"},
		{500, "api_error"},
		{400, "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(tt.wantType, func(t *testing.T) {
			u := NewAnthropic(t, WithClock(clk))
			c := anthropicClient(u, testKey)
			u.Enqueue(Reply{Status: tt.status, RetryAfter: 30 * time.Second})
			_, err := c.Messages.New(context.Background(), msgParams("m"))
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v", err)
			}
			if apiErr.StatusCode != tt.status || string(apiErr.Type()) != tt.wantType || apiErr.Message == "" {
				t.Errorf("got %d %q %q", apiErr.StatusCode, apiErr.Type(), apiErr.Message)
			}
			h := apiErr.Response.Header
			if h.Get("retry-after") != "30" || h.Get("anthropic-ratelimit-requests-reset") != "2026-03-04T05:06:37Z" ||
				h.Get("request-id") == "" {
				t.Errorf("headers = %v", h)
			}
		})
	}
}

func TestAnthropicBrokenStreams(t *testing.T) {
	for _, rep := range []Reply{{CutAfter: 3}, {MalformedAfter: 3}} {
		u := NewAnthropic(t)
		u.Enqueue(rep)
		c := anthropicClient(u, testKey)
		st := c.Messages.NewStreaming(context.Background(), msgParams("m"))
		n := 0
		for st.Next() {
			n++
		}
		// The wire events before the failure are message_start, content_block_start and ping; the
		// SDK hides the ping.
		if st.Err() == nil || n != 2 {
			t.Errorf("%+v: %d events, err %v; want 2 and an error", rep, n, st.Err())
		}
	}
}

func TestAnthropicAuthAndValidation(t *testing.T) {
	u := NewAnthropic(t, WithAPIKey(testKey), WithModels("claude-ok"))
	c := anthropicClient(u, "sk-ant-wrong-000000000")
	_, err := c.Messages.New(context.Background(), msgParams("claude-ok"))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type() != "authentication_error" {
		t.Fatalf("wrong key: %v", err)
	}

	const good = `{"model":"claude-ok","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`
	tests := []struct {
		name, path, body string
		hdr              map[string]string
		status           int
		wantType         string
	}{
		{"x-api-key accepted", "/v1/messages", good, map[string]string{"x-api-key": testKey}, 200, ""},
		{"bearer accepted", "/v1/messages?beta=true", good, map[string]string{"Authorization": "Bearer " + testKey}, 200, ""},
		{"missing key", "/v1/messages", good, nil, 401, "authentication_error"},
		{"missing version", "/v1/messages", good, map[string]string{"x-api-key": testKey, "anthropic-version": ""}, 400, "invalid_request_error"},
		{"no max_tokens", "/v1/messages", `{"model":"claude-ok","messages":[]}`, map[string]string{"x-api-key": testKey}, 400, "invalid_request_error"},
		{"bad json", "/v1/messages", `{"model":`, map[string]string{"x-api-key": testKey}, 400, "invalid_request_error"},
		{"unknown model", "/v1/messages", strings.Replace(good, "claude-ok", "claude-nope", 1), map[string]string{"x-api-key": testKey}, 404, "not_found_error"},
		{"extra input", "/v1/messages", strings.Replace(good, `"max_tokens":5`, `"max_tokens":5,"n":2`, 1), map[string]string{"x-api-key": testKey}, 400, "invalid_request_error"},
		{"temperature on 2023-06-01", "/v1/messages", strings.Replace(good, `"max_tokens":5`, `"max_tokens":5,"temperature":0.5`, 1), map[string]string{"x-api-key": testKey}, 200, ""},
		{"temperature on 2026-10-21", "/v1/messages", strings.Replace(good, `"max_tokens":5`, `"max_tokens":5,"temperature":0.5`, 1), map[string]string{"x-api-key": testKey, "anthropic-version": "2026-10-21"}, 400, "invalid_request_error"},
		{"max_tokens in count_tokens", "/v1/messages/count_tokens", good, map[string]string{"x-api-key": testKey}, 400, "invalid_request_error"},
		{"count tokens", "/v1/messages/count_tokens", `{"model":"claude-ok","messages":[{"role":"user","content":"x"}]}`, map[string]string{"x-api-key": testKey}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, u.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("anthropic-version", "2023-06-01")
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
				RequestID   string `json:"request_id"`
				InputTokens *int   `json:"input_tokens"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, body %+v", resp.StatusCode, body)
			}
			if tt.wantType != "" && (body.Type != "error" || body.Error.Type != tt.wantType || body.RequestID == "" || body.Error.Message == "") {
				t.Errorf("error body = %+v", body)
			}
			if strings.HasPrefix(tt.name, "extra") && body.Error.Message != "n: Extra inputs are not permitted" {
				t.Errorf("message = %q", body.Error.Message)
			}
			if tt.name == "count tokens" && (body.InputTokens == nil || *body.InputTokens != defaultInTokens) {
				t.Errorf("count_tokens = %+v", body)
			}
		})
	}
}

func TestAnthropicModels(t *testing.T) {
	u := NewAnthropic(t)
	c := anthropicClient(u, testKey)
	page, err := c.Models.List(context.Background(), anthropic.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != len(defaultAnthropicModels) || page.Data[0].ID != defaultAnthropicModels[0] {
		t.Errorf("models = %+v", page.Data)
	}
}
