package kiro

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/exectest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

type tokens = accttest.Tokens

const (
	goodToken  = "aoa-fresh-access-token-123456"
	staleToken = "aoa-stale-access-token-654321"
)

func newExec(t *testing.T, base string, ts provider.TokenSource, settings map[string]string) provider.Executor {
	t.Helper()
	s := map[string]string{"base-url": base}
	for k, v := range settings {
		s[k] = v
	}
	e, err := New(provider.AccountOptions{ID: "kiro-1", Label: "dev@example.com", Tokens: ts, Settings: s, Client: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func good() *tokens {
	return &accttest.Tokens{Current: oauth.Token{AccessToken: goodToken, Extra: map[string]string{oauth.ExtraAuthMethod: oauth.KiroAuthBuilderID}}}
}

func call(stream bool, body string) *provider.Call {
	return &provider.Call{Op: provider.OpMessages, Model: "claude-sonnet-4-5", Stream: stream, Body: []byte(body)}
}

const simpleBody = `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`

// relay serves the executor's answers on a loopback server, so the Anthropic SDK can read them.
func relay(t *testing.T, e provider.Executor) *httptest.Server {
	return exectest.Relay(t, func(r *http.Request, body []byte) (*http.Response, error) {
		var peek struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.Unmarshal(body, &peek)
		return e.Do(r.Context(), &provider.Call{Op: provider.OpMessages, Model: peek.Model, Stream: peek.Stream, Body: body})
	})
}

func sdk(srv *httptest.Server) anthropic.Client {
	return anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("client-key"), option.WithMaxRetries(0))
}

func TestStreamTextAndToolUseWithSDK(t *testing.T) {
	up := proxytest.NewKiro(t, proxytest.WithAPIKey(goodToken))
	up.Enqueue(proxytest.Reply{Text: "Let me look.", ToolCalls: []proxytest.ToolCall{
		{ID: "tooluse_1", Name: "read_file", Arguments: `{"path":"/tmp/a.txt","lines":[1,2]}`},
		{ID: "tooluse_2", Name: "list", Arguments: ``},
	}, Usage: proxytest.Usage{InputTokens: 3000}})
	c := sdk(relay(t, newExec(t, up.URL, good(), nil)))
	st := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("read it"))},
	})
	var msg anthropic.Message
	var names []string
	for st.Next() {
		ev := st.Current()
		names = append(names, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if names[0] != "message_start" || names[len(names)-1] != "message_stop" || names[len(names)-2] != "message_delta" {
		t.Errorf("event order = %v", names)
	}
	if len(msg.Content) != 3 || msg.Content[0].Text != "Let me look." {
		t.Fatalf("content = %+v", msg.Content)
	}
	tu := msg.Content[1]
	if tu.Type != "tool_use" || tu.ID != "tooluse_1" || tu.Name != "read_file" || string(tu.Input) != `{"path":"/tmp/a.txt","lines":[1,2]}` {
		t.Errorf("tool use = %+v input %s", tu, tu.Input)
	}
	if in := string(msg.Content[2].Input); msg.Content[2].Name != "list" || in != "{}" {
		t.Errorf("second tool = %s %s", msg.Content[2].Name, in)
	}
	if msg.StopReason != "tool_use" {
		t.Errorf("stop_reason = %q", msg.StopReason)
	}
	if msg.Usage.InputTokens != 3000 || msg.Usage.OutputTokens < 1 {
		t.Errorf("usage = %+v", msg.Usage)
	}
}

func TestNonStreamAggregationWithSDK(t *testing.T) {
	up := proxytest.NewKiro(t)
	up.Enqueue(proxytest.Reply{Text: "Sure.", ToolCalls: []proxytest.ToolCall{{ID: "tu1", Name: "grep", Arguments: `{"q":"x"}`}}})
	up.Enqueue(proxytest.Reply{Text: "plain answer", StreamChunks: 7})
	c := sdk(relay(t, newExec(t, up.URL, good(), nil)))
	params := anthropic.MessageNewParams{Model: "claude-haiku-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("go"))}}
	m, err := c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if m.Model != "claude-haiku-4-5" || len(m.Content) != 2 || m.Content[0].Text != "Sure." ||
		m.Content[1].Type != "tool_use" || string(m.Content[1].Input) != `{"q":"x"}` || m.StopReason != "tool_use" {
		t.Fatalf("message = %+v", m)
	}
	m, err = c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 1 || m.Content[0].Text != "plain answer" || m.StopReason != "end_turn" {
		t.Fatalf("message = %+v", m)
	}
	var req map[string]any
	_ = json.Unmarshal(up.Requests()[0].Body, &req)
	cm := req["conversationState"].(map[string]any)["currentMessage"].(map[string]any)["userInputMessage"].(map[string]any)
	if cm["modelId"] != "claude-haiku-4.5" || cm["origin"] != "AI_EDITOR" {
		t.Errorf("current message = %v", cm)
	}
}

func TestRequestMapping(t *testing.T) {
	up := proxytest.NewKiro(t)
	e := newExec(t, up.URL, good(), nil)
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,
	 "system":[{"type":"text","text":"You are terse."}],
	 "tools":[{"name":"read_file","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}}}},
	          {"name":"no_desc","input_schema":{"type":"object"}},
	          {"type":"web_search_20250305","name":"web_search"}],
	 "messages":[
	  {"role":"user","content":[{"type":"text","text":"Read a.txt"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
	  {"role":"assistant","content":[{"type":"text","text":"Reading."},{"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"a.txt"}}]},
	  {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"file body"}]},
	  {"role":"assistant","content":"It says file body."},
	  {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":[{"type":"text","text":"again"}]},{"type":"text","text":"Thanks, now summarise."}]},
	  {"role":"assistant","content":[{"type":"tool_use","id":"toolu_2","name":"read_file","input":{"path":"b.txt"}}]},
	  {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_2","content":"b body"}]}
	 ]}`
	resp, err := e.Do(context.Background(), call(true, body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	rec := up.Requests()[0]
	if rec.Path != "/generateAssistantResponse" || rec.Header.Get("Authorization") != "Bearer "+goodToken ||
		rec.Header.Get("X-Amz-Target") != "AmazonCodeWhispererStreamingService.GenerateAssistantResponse" ||
		!strings.Contains(rec.Header.Get("User-Agent"), "KiroIDE-") || rec.Header.Get("Amz-Sdk-Invocation-Id") == "" {
		t.Errorf("request %s headers %v", rec.Path, rec.Header)
	}
	var got cwRequest
	if err := json.Unmarshal(rec.Body, &got); err != nil {
		t.Fatal(err)
	}
	cs := got.ConversationState
	if got.ProfileArn != "" || cs.ChatTriggerType != "MANUAL" || len(cs.ConversationID) != 36 {
		t.Errorf("envelope = %+v", got)
	}
	h := cs.History
	if len(h) != 6 {
		t.Fatalf("history has %d turns: %s", len(h), rec.Body)
	}
	u0 := h[0].UserInputMessage
	if u0 == nil || u0.Content != "You are terse.\n\nRead a.txt" || u0.ModelID != "CLAUDE_SONNET_4_5_20250929_V1_0" ||
		len(u0.Images) != 1 || u0.Images[0].Format != "png" || u0.Images[0].Source.Bytes != "iVBORw0KGgo=" {
		t.Errorf("first user turn = %+v", u0)
	}
	a1 := h[1].AssistantResponseMessage
	if a1 == nil || a1.Content != "Reading." || len(a1.ToolUses) != 1 || a1.ToolUses[0].ToolUseID != "toolu_1" ||
		string(a1.ToolUses[0].Input) != `{"path":"a.txt"}` {
		t.Errorf("assistant turn = %+v", a1)
	}
	u2 := h[2].UserInputMessage
	if u2 == nil || u2.Content != toolResultsContent || u2.UserInputMessageContext == nil ||
		u2.UserInputMessageContext.ToolResults[0].Content[0].Text != "file body" || u2.UserInputMessageContext.ToolResults[0].Status != "success" {
		t.Errorf("tool result turn = %+v", u2)
	}
	u4 := h[4].UserInputMessage
	if u4 == nil || u4.Content != "Thanks, now summarise." || u4.UserInputMessageContext.ToolResults[0].Status != "error" {
		t.Errorf("mixed turn = %+v", u4)
	}
	if a5 := h[5].AssistantResponseMessage; a5 == nil || a5.Content != "" || len(a5.ToolUses) != 1 {
		t.Errorf("tool-only assistant turn = %+v", a5)
	}
	cur := cs.CurrentMessage.UserInputMessage
	ctx := cur.UserInputMessageContext
	if cur.Content != toolResultsContent || ctx == nil || len(ctx.ToolResults) != 1 || ctx.ToolResults[0].ToolUseID != "toolu_2" {
		t.Fatalf("current = %+v", cur)
	}
	if len(ctx.Tools) != 2 || ctx.Tools[0].ToolSpecification.Name != "read_file" ||
		ctx.Tools[1].ToolSpecification.Description != "no_desc" ||
		!strings.Contains(string(ctx.Tools[0].ToolSpecification.InputSchema.JSON), `"path"`) {
		t.Errorf("tools = %+v", ctx.Tools)
	}
}

func TestRequestEdgeCases(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, r *cwRequest)
	}{
		{"single user turn with system", `{"model":"m","max_tokens":1,"system":"Sys","messages":[{"role":"user","content":"Hi"}]}`,
			func(t *testing.T, r *cwRequest) {
				if len(r.ConversationState.History) != 0 || r.ConversationState.CurrentMessage.UserInputMessage.Content != "Sys\n\nHi" {
					t.Errorf("got %+v", r.ConversationState)
				}
			}},
		{"assistant prefill", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Sure,"}]}`,
			func(t *testing.T, r *cwRequest) {
				h := r.ConversationState.History
				if len(h) != 2 || h[1].AssistantResponseMessage.Content != "Sure," ||
					r.ConversationState.CurrentMessage.UserInputMessage.Content != emptyUserContent {
					t.Errorf("got %+v", r.ConversationState)
				}
			}},
		{"repeated tool result ids", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"go"},
			{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"a"},{"type":"tool_result","tool_use_id":"t1","content":"b"}]}]}`,
			func(t *testing.T, r *cwRequest) {
				rs := r.ConversationState.CurrentMessage.UserInputMessage.UserInputMessageContext.ToolResults
				if len(rs) != 1 || rs[0].Content[0].Text != "a" {
					t.Errorf("tool results = %+v", rs)
				}
			}},
		{"adjacent user turns merge", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`,
			func(t *testing.T, r *cwRequest) {
				if c := r.ConversationState.CurrentMessage.UserInputMessage.Content; c != "a\n\nb" {
					t.Errorf("content = %q", c)
				}
			}},
	}
	up := proxytest.NewKiro(t)
	e := newExec(t, up.URL, good(), nil)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.Do(context.Background(), call(false, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d %s", resp.StatusCode, b)
			}
			var r cwRequest
			if err := json.Unmarshal(up.Requests()[i].Body, &r); err != nil {
				t.Fatal(err)
			}
			tc.check(t, &r)
		})
	}
}

func TestBadRequestsAnswerWithAnthropicErrors(t *testing.T) {
	up := proxytest.NewKiro(t)
	e := newExec(t, up.URL, good(), nil)
	for name, body := range map[string]string{
		"not json":  `{"model":`,
		"url image": `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := e.Do(context.Background(), call(false, body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 400 || !strings.Contains(string(b), `"type":"invalid_request_error"`) {
				t.Fatalf("status %d body %s", resp.StatusCode, b)
			}
		})
	}
	if up.Hits() != 0 {
		t.Errorf("upstream was called %d times", up.Hits())
	}
}

func TestProfileArn(t *testing.T) {
	up := proxytest.NewKiro(t)
	social := &accttest.Tokens{Current: oauth.Token{AccessToken: goodToken, Extra: map[string]string{
		oauth.ExtraAuthMethod: oauth.KiroAuthSocial, oauth.ExtraProfileArn: "arn:aws:codewhisperer:us-east-1:1:profile/P"}}}
	for _, tc := range []struct {
		name     string
		ts       *tokens
		settings map[string]string
		want     string
	}{
		{"social token", social, nil, "arn:aws:codewhisperer:us-east-1:1:profile/P"},
		{"builder id", good(), nil, ""},
		{"configured", good(), map[string]string{"profile-arn": "arn:cfg"}, "arn:cfg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := newExec(t, up.URL, tc.ts, tc.settings).Do(context.Background(), call(false, simpleBody))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reqs := up.Requests()
			var r cwRequest
			_ = json.Unmarshal(reqs[len(reqs)-1].Body, &r)
			if r.ProfileArn != tc.want {
				t.Errorf("profileArn = %q, want %q", r.ProfileArn, tc.want)
			}
		})
	}
}

func TestRefreshOnceAfterAuthFailure(t *testing.T) {
	up := proxytest.NewKiro(t, proxytest.WithAPIKey(goodToken))
	ts := good()
	ts.Refreshed = []oauth.Token{ts.Current}
	ts.Current.AccessToken = staleToken
	resp, err := newExec(t, up.URL, ts, nil).Do(context.Background(), call(false, simpleBody))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || ts.Refreshes() != 1 || up.Hits() != 2 {
		t.Fatalf("status %d refreshes %d hits %d body %s", resp.StatusCode, ts.Refreshes(), up.Hits(), b)
	}

	// A refresh that does not help: the second 403 is returned as an Anthropic permission error.
	ts2 := good()
	ts2.Refreshed = []oauth.Token{ts2.Current}
	ts2.Current.AccessToken, ts2.Refreshed[0].AccessToken = staleToken, "still-wrong-token-000000"
	resp, err = newExec(t, up.URL, ts2, nil).Do(context.Background(), call(true, simpleBody))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || ts2.Refreshes() != 1 || !strings.Contains(string(b), `"permission_error"`) ||
		!strings.Contains(string(b), "bearer token included in the request is invalid") {
		t.Fatalf("status %d refreshes %d body %s", resp.StatusCode, ts2.Refreshes(), b)
	}
	if strings.Contains(string(b), staleToken) || strings.Contains(string(b), "still-wrong") {
		t.Error("the error body leaks a token")
	}

	// A refresh that fails (rejected login, unreachable token endpoint): the first 403 is returned.
	for _, rerr := range []error{oauth.ErrInvalidGrant, errors.New("dial tcp: connection refused")} {
		ts3 := good()
		ts3.Current.AccessToken, ts3.RefreshErr = staleToken, rerr
		resp, err = newExec(t, up.URL, ts3, nil).Do(context.Background(), call(false, simpleBody))
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != 403 || ts3.Refreshes() != 1 || !strings.Contains(string(b), `"permission_error"`) || strings.Contains(string(b), staleToken) {
			t.Fatalf("refresh error %v: status %d body %s", rerr, resp.StatusCode, b)
		}
	}
}

func TestUpstreamErrorsKeepStatus(t *testing.T) {
	up := proxytest.NewKiro(t)
	e := newExec(t, up.URL, good(), nil)
	tests := []struct {
		status int
		typ    string
		retry  string
	}{
		{429, "rate_limit_error", "7"},
		{400, "invalid_request_error", ""},
		{500, "api_error", ""},
	}
	up.Enqueue(proxytest.Reply{Status: 400, ErrorMessage: proxytest.KiroInputTooLong})
	resp, err := e.Do(context.Background(), call(false, simpleBody))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"message":"prompt is too long (Kiro: Input is too long. (CONTENT_LENGTH_EXCEEDS_THRESHOLD))"`) {
		t.Errorf("too long: status %d body %s", resp.StatusCode, b)
	}
	for _, tc := range tests {
		rep := proxytest.Reply{Status: tc.status}
		if tc.retry != "" {
			rep.RetryAfter = 7 * time.Second
		}
		up.Enqueue(rep)
		resp, err := e.Do(context.Background(), call(true, simpleBody))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		var env struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &env); err != nil || resp.StatusCode != tc.status || env.Type != "error" ||
			env.Error.Type != tc.typ || !strings.HasPrefix(env.Error.Message, "Kiro: ") ||
			resp.Header.Get("Retry-After") != tc.retry {
			t.Errorf("status %d headers %v body %s", resp.StatusCode, resp.Header, b)
		}
	}
}

// readSSE returns the event names and the raw stream.
func readSSE(t *testing.T, r io.Reader) ([]string, string) {
	t.Helper()
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			names = append(names, n)
		}
	}
	return names, string(raw)
}

func TestCorruptFrameEndsStreamWithError(t *testing.T) {
	up := proxytest.NewKiro(t)
	up.Enqueue(proxytest.Reply{Text: "abcdef", StreamChunks: 3, MalformedAfter: 2})
	resp, err := newExec(t, up.URL, good(), nil).Do(context.Background(), call(true, simpleBody))
	if err != nil {
		t.Fatal(err)
	}
	names, raw := readSSE(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || names[len(names)-1] != "error" || strings.Contains(raw, "message_stop") ||
		!strings.Contains(raw, "CRC") || !strings.Contains(raw, `"type":"api_error"`) {
		t.Fatalf("status %d stream:\n%s", resp.StatusCode, raw)
	}
	if !strings.Contains(raw, `"text":"ab"`) {
		t.Errorf("frames before the corrupt one were lost:\n%s", raw)
	}

	// Non-stream: the corrupt frame turns the whole answer into a 502.
	up.Enqueue(proxytest.Reply{Text: "abcdef", StreamChunks: 3, MalformedAfter: 1})
	resp, err = newExec(t, up.URL, good(), nil).Do(context.Background(), call(false, simpleBody))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 502 || !strings.Contains(string(b), "corrupt") {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
}

func TestExceptionFrames(t *testing.T) {
	up := proxytest.NewKiro(t)
	e := newExec(t, up.URL, good(), nil)
	// Mid-stream: an Anthropic error event after the text so far.
	up.Enqueue(proxytest.Reply{Text: "abcdef", StreamChunks: 3, ErrorAfter: 2})
	resp, err := e.Do(context.Background(), call(true, simpleBody))
	if err != nil {
		t.Fatal(err)
	}
	names, raw := readSSE(t, resp.Body)
	if names[len(names)-1] != "error" || !strings.Contains(raw, `"rate_limit_error"`) || strings.Contains(raw, "message_stop") {
		t.Fatalf("stream:\n%s", raw)
	}

	// First frame: answered with the exception's status before any byte of a stream.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		_, _ = w.Write(proxytest.KiroException("ValidationException", "Input is too long."))
	}))
	defer srv.Close()
	for _, stream := range []bool{true, false} {
		resp, err = newExec(t, srv.URL, good(), nil).Do(context.Background(), call(stream, simpleBody))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), "Input is too long.") {
			t.Fatalf("stream=%v status %d body %s", stream, resp.StatusCode, b)
		}
	}
}

func TestCutStreamEndsWithError(t *testing.T) {
	up := proxytest.NewKiro(t)
	up.Enqueue(proxytest.Reply{Text: "abcdef", StreamChunks: 3, CutAfter: 2})
	resp, err := newExec(t, up.URL, good(), nil).Do(context.Background(), call(true, simpleBody))
	if err != nil {
		t.Fatal(err)
	}
	names, raw := readSSE(t, resp.Body)
	if names[len(names)-1] != "error" || strings.Contains(raw, "message_stop") {
		t.Fatalf("stream:\n%s", raw)
	}
}

func TestCancellationStopsUpstream(t *testing.T) {
	up := proxytest.NewKiro(t)
	resume := make(chan struct{})
	defer close(resume)
	up.Enqueue(proxytest.Reply{Text: "abcdef", StreamChunks: 3, PauseAfter: 1, Resume: resume})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := newExec(t, up.URL, good(), nil).Do(ctx, call(true, simpleBody))
	if err != nil {
		t.Fatal(err)
	}
	if first := exectest.CancelMidStream(t, resp.Body, cancel, up.WaitCanceled); !strings.Contains(first, "message_start") {
		t.Errorf("first chunk = %q", first)
	}

	// A context cancelled before the call is an error, not a response.
	if _, err := newExec(t, up.URL, good(), nil).Do(ctx, call(true, simpleBody)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestModelID(t *testing.T) {
	for in, want := range map[string]string{
		"claude-sonnet-4-5":               "CLAUDE_SONNET_4_5_20250929_V1_0",
		"claude-sonnet-4-20250514":        "CLAUDE_SONNET_4_20250514_V1_0",
		"claude-haiku-4-5":                "claude-haiku-4.5",
		"claude-opus-4-5-20251101":        "claude-opus-4.5",
		"claude-opus-4-7":                 "claude-opus-4.7",
		"claude-opus-4-7-20260101":        "claude-opus-4.7",
		"claude-sonnet-4.5":               "claude-sonnet-4.5",
		"CLAUDE_3_7_SONNET_20250219_V1_0": "CLAUDE_3_7_SONNET_20250219_V1_0",
		"auto":                            "auto",
		"":                                "CLAUDE_SONNET_4_5_20250929_V1_0",
	} {
		if got := ModelID(in); got != want {
			t.Errorf("ModelID(%q) = %q, want %q", in, got, want)
		}
	}
	if len(DefaultModels()) == 0 {
		t.Error("no default models")
	}
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]provider.AccountOptions{
		"no id":     {Tokens: good(), Client: http.DefaultClient},
		"no tokens": {ID: "x", Client: http.DefaultClient},
		"no client": {ID: "x", Tokens: good()},
		"bad url":   {ID: "x", Tokens: good(), Client: http.DefaultClient, Settings: map[string]string{"base-url": "ftp://x"}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	e := newExec(t, "http://127.0.0.1:1", good(), nil)
	if e.Provider() != ID || e.CredentialID() != "kiro-1" || e.(provider.Labeled).Label() != "dev@example.com" ||
		!e.Supports(provider.OpMessages) || e.Supports(provider.OpCountTokens) || e.Supports(provider.OpChat) {
		t.Error("identity methods")
	}
	if _, err := e.Do(context.Background(), &provider.Call{Op: provider.OpChat}); err == nil {
		t.Error("unsupported op accepted")
	}
}

func TestTokensStayOutOfLogs(t *testing.T) {
	up := proxytest.NewKiro(t, proxytest.WithAPIKey(goodToken))
	var logs bytes.Buffer
	ts := good()
	ts.Refreshed = []oauth.Token{ts.Current}
	ts.Current.AccessToken = staleToken
	e, err := New(provider.AccountOptions{ID: "kiro-1", Tokens: ts, Client: &http.Client{},
		Settings: map[string]string{"base-url": up.URL},
		Logger:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	up.Enqueue(proxytest.Reply{Status: 429})
	for range 2 {
		resp, err := e.Do(context.Background(), call(true, simpleBody))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged at debug level")
	}
	if s := logs.String(); strings.Contains(s, goodToken) || strings.Contains(s, staleToken) {
		t.Errorf("a token reached the log:\n%s", s)
	}
}
