package proxytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

const testKey = "sk-test-0123456789abcdef"

func openAIClient(u *Upstream, key string, retries int) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(u.URL+"/v1/"),
		option.WithAPIKey(key),
		option.WithMaxRetries(retries),
	)
}

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
}

func TestOpenAIChatNonStream(t *testing.T) {
	u := NewOpenAI(t, WithAPIKey(testKey))
	c := openAIClient(u, testKey, 0)
	u.Enqueue(Reply{Text: "scripted", Usage: Usage{InputTokens: 7, OutputTokens: 3, CachedTokens: 2, ReasoningTokens: 1}})
	got, err := c.Chat.Completions.New(context.Background(), chatParams("my-model"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got.Model != "my-model" || got.Object != "chat.completion" || !strings.HasPrefix(got.ID, "chatcmpl-") {
		t.Errorf("envelope = %q %q %q", got.Model, got.Object, got.ID)
	}
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != "scripted" || got.Choices[0].FinishReason != "stop" {
		t.Fatalf("choices = %+v", got.Choices)
	}
	us := got.Usage
	if us.PromptTokens != 7 || us.CompletionTokens != 3 || us.TotalTokens != 10 ||
		us.PromptTokensDetails.CachedTokens != 2 || us.CompletionTokensDetails.ReasoningTokens != 1 {
		t.Errorf("usage = %+v", us)
	}
	// The default reply is the about-1-KB benchmark body.
	def, err := c.Chat.Completions.New(context.Background(), chatParams("gpt-4o"))
	if err != nil {
		t.Fatalf("New default: %v", err)
	}
	if def.Choices[0].Message.Content != OpenAIText {
		t.Errorf("default content = %q", def.Choices[0].Message.Content)
	}
	if n := len(def.RawJSON()); n < 900 || n > 1300 {
		t.Errorf("default body is %d bytes, want about 1 KB", n)
	}
	reqs := u.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v1/chat/completions" || reqs[0].Method != http.MethodPost ||
		reqs[0].Header.Get("Authorization") != "Bearer "+testKey || !bytes.Contains(reqs[0].Body, []byte(`"my-model"`)) {
		t.Errorf("recorded = %+v", reqs)
	}
	if u.Hits() != 2 {
		t.Errorf("Hits = %d", u.Hits())
	}
}

func TestOpenAIChatStream(t *testing.T) {
	tests := []struct {
		name         string
		includeUsage bool
	}{
		{"with usage", true},
		{"without usage", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewOpenAI(t)
			c := openAIClient(u, testKey, 0)
			u.Enqueue(Reply{Text: "one two three four", StreamChunks: 4, Usage: Usage{InputTokens: 5, OutputTokens: 4}})
			p := chatParams("gpt-x")
			if tt.includeUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			st := c.Chat.Completions.NewStreaming(context.Background(), p)
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for st.Next() {
				acc.AddChunk(st.Current())
				chunks++
			}
			if err := st.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			// role + 4 content + finish (+ usage)
			want := 6
			if tt.includeUsage {
				want = 7
			}
			if chunks != want {
				t.Errorf("chunks = %d, want %d", chunks, want)
			}
			if got := acc.Choices[0].Message.Content; got != "one two three four" {
				t.Errorf("content = %q", got)
			}
			if acc.Model != "gpt-x" || acc.Choices[0].FinishReason != "stop" {
				t.Errorf("model %q finish %q", acc.Model, acc.Choices[0].FinishReason)
			}
			if tt.includeUsage && (acc.Usage.PromptTokens != 5 || acc.Usage.CompletionTokens != 4) {
				t.Errorf("usage = %+v", acc.Usage)
			}
			if !tt.includeUsage && acc.Usage.TotalTokens != 0 {
				t.Errorf("usage sent without include_usage: %+v", acc.Usage)
			}
		})
	}
}

// sseLines posts body and returns the data payloads of the event stream.
func sseData(t *testing.T, url, body string, hdr map[string]string) []string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestOpenAIChatStreamFraming(t *testing.T) {
	u := NewOpenAI(t)
	data := sseData(t, u.URL+"/v1/chat/completions",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`, nil)
	if len(data) < 4 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", data)
	}
	var first, finish, usage map[string]any
	for i, d := range []*map[string]any{&first, &finish, &usage} {
		idx := []int{0, len(data) - 3, len(data) - 2}[i]
		if err := json.Unmarshal([]byte(data[idx]), d); err != nil {
			t.Fatalf("chunk %d: %v", idx, err)
		}
	}
	delta := first["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)
	if delta["role"] != "assistant" || first["usage"] != nil {
		t.Errorf("first chunk = %v", first)
	}
	fc := finish["choices"].([]any)[0].(map[string]any)
	if fc["finish_reason"] != "stop" || len(fc["delta"].(map[string]any)) != 0 {
		t.Errorf("finish chunk = %v", finish)
	}
	if len(usage["choices"].([]any)) != 0 || usage["usage"] == nil {
		t.Errorf("usage chunk = %v", usage)
	}
}

func TestOpenAIToolCalls(t *testing.T) {
	calls := []ToolCall{
		{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris","unit":"c"}`},
		{Name: "noop"},
	}
	u := NewOpenAI(t)
	c := openAIClient(u, testKey, 0)

	u.Enqueue(Reply{ToolCalls: calls})
	got, err := c.Chat.Completions.New(context.Background(), chatParams("m"))
	if err != nil {
		t.Fatal(err)
	}
	msg := got.Choices[0].Message
	if got.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 2 || msg.Content != "" {
		t.Fatalf("non-stream = %+v", got.Choices[0])
	}
	if tc := msg.ToolCalls[0]; tc.ID != "call_a" || tc.Function.Name != "get_weather" || tc.Function.Arguments != calls[0].Arguments {
		t.Errorf("call 0 = %+v", tc)
	}
	if tc := msg.ToolCalls[1]; tc.ID == "" || tc.Function.Arguments != "{}" {
		t.Errorf("call 1 = %+v", tc)
	}

	u.Enqueue(Reply{ToolCalls: calls})
	st := c.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		acc.AddChunk(st.Current())
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	sc := acc.Choices[0]
	if sc.FinishReason != "tool_calls" || len(sc.Message.ToolCalls) != 2 ||
		sc.Message.ToolCalls[0].Function.Arguments != calls[0].Arguments || sc.Message.ToolCalls[1].Function.Name != "noop" {
		t.Errorf("stream = %+v", sc)
	}
}

func TestOpenAIErrors(t *testing.T) {
	tests := []struct {
		name     string
		reply    Reply
		wantCode string
		wantType string
	}{
		{"rate limited", Reply{Status: 429, RetryAfter: 2 * time.Second}, "rate_limit_exceeded", "requests"},
		{"server error", Reply{Status: 500, ErrorMessage: "boom"}, "", "server_error"},
		{"not found", Reply{Status: 404}, "model_not_found", "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewOpenAI(t)
			c := openAIClient(u, testKey, 0)
			u.Enqueue(tt.reply)
			_, err := c.Chat.Completions.New(context.Background(), chatParams("m"))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if apiErr.StatusCode != tt.reply.Status || apiErr.Code != tt.wantCode || apiErr.Type != tt.wantType {
				t.Errorf("got %d %q %q", apiErr.StatusCode, apiErr.Code, apiErr.Type)
			}
			if tt.reply.ErrorMessage != "" && apiErr.Message != tt.reply.ErrorMessage {
				t.Errorf("message = %q", apiErr.Message)
			}
			if tt.reply.RetryAfter > 0 {
				h := apiErr.Response.Header
				if h.Get("retry-after") != "2" || h.Get("retry-after-ms") != "2000" ||
					h.Get("x-ratelimit-remaining-requests") != "0" || h.Get("x-ratelimit-reset-requests") != "2s" {
					t.Errorf("headers = %v", h)
				}
			}
		})
	}
}

func TestOpenAISDKRetriesAfterRetryAfter(t *testing.T) {
	u := NewOpenAI(t)
	c := openAIClient(u, testKey, 1)
	u.Enqueue(Reply{Status: 429, RetryAfter: 5 * time.Millisecond})
	got, err := c.Chat.Completions.New(context.Background(), chatParams("m"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got.Choices[0].Message.Content != OpenAIText || u.Hits() != 2 {
		t.Errorf("content %q hits %d", got.Choices[0].Message.Content, u.Hits())
	}
}

func TestOpenAIBrokenStreams(t *testing.T) {
	tests := []struct {
		name  string
		reply Reply
	}{
		{"cut", Reply{CutAfter: 2}},
		{"malformed", Reply{MalformedAfter: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewOpenAI(t)
			c := openAIClient(u, testKey, 0)
			u.Enqueue(tt.reply)
			st := c.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))
			n := 0
			for st.Next() {
				n++
			}
			if st.Err() == nil {
				t.Fatalf("stream ended cleanly after %d chunks, want an error", n)
			}
			if n != 2 {
				t.Errorf("got %d chunks before the failure, want 2", n)
			}
		})
	}
}

func TestOpenAIAuth(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		wantCode string
	}{
		{"wrong key", "sk-wrong-key-999999999", "invalid_api_key"},
		{"missing key", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewOpenAI(t, WithAPIKey(testKey))
			c := openAIClient(u, tt.key, 0)
			_, err := c.Chat.Completions.New(context.Background(), chatParams("m"))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
				t.Fatalf("err = %v, want 401", err)
			}
			if apiErr.Code != tt.wantCode || apiErr.Type != "invalid_request_error" {
				t.Errorf("code %q type %q", apiErr.Code, apiErr.Type)
			}
			if tt.key != "" && strings.Contains(apiErr.Message, tt.key) {
				t.Errorf("error echoes the key unmasked: %q", apiErr.Message)
			}
		})
	}
}

func TestOpenAIValidation(t *testing.T) {
	u := NewOpenAI(t, WithModels("gpt-4o"))
	tests := []struct {
		name, path, body string
		status           int
		wantParam        string
		wantCode         string
	}{
		{"bad json", "/v1/chat/completions", `{"model":`, 400, "", ""},
		{"no messages", "/v1/chat/completions", `{"model":"gpt-4o"}`, 400, "messages", "missing_required_parameter"},
		{"stream_options without stream", "/v1/chat/completions",
			`{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`, 400, "stream_options", ""},
		{"unknown model", "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "", "model_not_found"},
		{"unknown route", "/v1/nothing", `{}`, 404, "", ""},
		{"unrecognized argument", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"top_k":3}`, 400, "", ""},
		{"unrecognized embeddings argument", "/v1/embeddings", `{"model":"gpt-4o","input":"x","task":"q"}`, 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(u.URL+tt.path, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
				t.Errorf("status %d body %+v", resp.StatusCode, e)
			}
			if p := deref(e.Error.Param); p != tt.wantParam {
				t.Errorf("param = %q", p)
			}
			if c := deref(e.Error.Code); c != tt.wantCode {
				t.Errorf("code = %q", c)
			}
			if strings.HasPrefix(tt.name, "unrecognized") && !strings.HasPrefix(e.Error.Message, "Unrecognized request argument supplied: ") {
				t.Errorf("message = %q", e.Error.Message)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestOpenAICompletionsEmbeddingsModels(t *testing.T) {
	u := NewOpenAI(t)
	c := openAIClient(u, testKey, 0)
	ctx := context.Background()

	comp, err := c.Completions.New(ctx, openai.CompletionNewParams{
		Model: "gpt-3.5-turbo-instruct", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if comp.Object != "text_completion" || comp.Choices[0].Text != OpenAIText || comp.Model != "gpt-3.5-turbo-instruct" {
		t.Errorf("completion = %+v", comp)
	}
	st := c.Completions.NewStreaming(ctx, openai.CompletionNewParams{
		Model: "m", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("x")},
	})
	var text strings.Builder
	var finish string
	for st.Next() {
		ch := st.Current()
		text.WriteString(ch.Choices[0].Text)
		if f := ch.Choices[0].FinishReason; f != "" {
			finish = string(f)
		}
	}
	if st.Err() != nil || text.String() != OpenAIText || finish != "stop" {
		t.Errorf("stream err %v text %q finish %q", st.Err(), text.String(), finish)
	}

	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{"float", "base64"} {
		emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "text-embedding-3-small", EncodingFormat: format, Dimensions: openai.Int(4),
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b", "a"}},
		})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(emb.Data) != 3 || len(emb.Data[0].Embedding) != 4 {
			t.Fatalf("%s: data = %+v", format, emb.Data)
		}
		if emb.Data[0].Embedding[0] != emb.Data[2].Embedding[0] || emb.Data[0].Embedding[0] == emb.Data[1].Embedding[0] {
			t.Errorf("%s: vectors not deterministic per input: %+v", format, emb.Data)
		}
	}

	page, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) == 0 || page.Data[0].Object != "model" {
		t.Errorf("models = %+v", page.Data)
	}
}

func TestOpenAIClientDisconnectCancels(t *testing.T) {
	u := NewOpenAI(t)
	gate := make(chan struct{}) // never opened: the fake waits until the client goes away
	u.Enqueue(Reply{FirstByteGate: gate})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		c := openAIClient(u, testKey, 0)
		_, err := c.Chat.Completions.New(ctx, chatParams("m"))
		errc <- err
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := u.WaitHits(wctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client err = %v", err)
	}
	if err := u.WaitCanceled(wctx, 1); err != nil {
		t.Fatalf("upstream never saw the cancellation: %v", err)
	}
}

func TestPauseAndResume(t *testing.T) {
	u := NewOpenAI(t)
	resume := make(chan struct{})
	u.Enqueue(Reply{PauseAfter: 1, Resume: resume})
	c := openAIClient(u, testKey, 0)
	st := c.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))
	if !st.Next() {
		t.Fatalf("no first chunk: %v", st.Err())
	}
	close(resume)
	n := 1
	for st.Next() {
		n++
	}
	if st.Err() != nil || n != 7 {
		t.Errorf("n = %d err = %v", n, st.Err())
	}
}

func BenchmarkOpenAIChatDefault(b *testing.B) {
	u := NewOpenAI(b)
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Post(u.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkOpenAIChatHandler measures the fake's own cost per default chat request, without the
// network, so proxy benchmarks can subtract it.
func BenchmarkOpenAIChatHandler(b *testing.B) {
	u, err := StartOpenAI(WithRecordLimit(-1))
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func BenchmarkOpenAIChatStream(b *testing.B) {
	u, err := StartOpenAI(WithRecordLimit(-1))
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	body := []byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func TestOpenAICompatibleAcceptsExtraFields(t *testing.T) {
	u := NewOpenAICompatible(t)
	resp, err := http.Post(u.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"qwen","messages":[{"role":"user","content":"x"}],"top_k":3,"repetition_penalty":1.1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}
