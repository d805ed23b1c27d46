package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

func openAIConfig(u *proxytest.Upstream) string {
	return "[[openai]]\napi-key = \"" + upstreamKey + "\"\nbase-url = \"" + u.URL + "/v1\"\nmodels = [\"gpt-4o\", { name = \"gpt-4o-mini\", alias = \"small\" }]\n"
}

func anthropicConfig(u *proxytest.Upstream) string {
	return "[[anthropic]]\napi-key = \"" + upstreamKey + "\"\nbase-url = \"" + u.URL + "\"\nmodels = [\"claude-sonnet-4-5\"]\n"
}

func geminiConfig(u *proxytest.Upstream) string {
	return "[[gemini]]\napi-key = \"" + upstreamKey + "\"\nbase-url = \"" + u.URL + "\"\nmodels = [\"gemini-2.5-flash\"]\n"
}

func openAISDK(p *testProxy) openai.Client {
	return openai.NewClient(option.WithBaseURL(p.URL+"/v1/"), option.WithAPIKey(clientKeyForTests), option.WithMaxRetries(0))
}

func anthropicSDK(p *testProxy) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(p.URL), aoption.WithAPIKey(clientKeyForTests), aoption.WithMaxRetries(0))
}

func geminiSDK(t testing.TB, p *testProxy) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: clientKeyForTests, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: p.URL}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIdentityOpenAIChat(t *testing.T) {
	up := proxytest.NewOpenAI(t, proxytest.WithAPIKey(upstreamKey))
	p := startProxy(t, openAIConfig(up))
	c := openAISDK(p)
	ctx := context.Background()

	up.Enqueue(proxytest.Reply{Text: "pong", Usage: proxytest.Usage{InputTokens: 11, OutputTokens: 2}})
	got, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "small",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("ping")}})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if got.Choices[0].Message.Content != "pong" || got.Usage.PromptTokens != 11 {
		t.Fatalf("unexpected answer %+v", got)
	}
	req := up.Requests()[0]
	if req.Header.Get("Authorization") != "Bearer "+upstreamKey {
		t.Errorf("upstream auth = %q, want the configured upstream key", req.Header.Get("Authorization"))
	}
	var sent map[string]any
	if err := json.Unmarshal(req.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent["model"] != "gpt-4o-mini" {
		t.Errorf("upstream model = %v, want the alias resolved to gpt-4o-mini", sent["model"])
	}

	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("ping")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var text strings.Builder
	chunks := 0
	for stream.Next() {
		chunks++
		ch := stream.Current()
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if text.String() != proxytest.OpenAIText || chunks < 3 {
		t.Errorf("stream text = %q in %d chunks", text.String(), chunks)
	}
}

func TestIdentityAnthropic(t *testing.T) {
	up := proxytest.NewAnthropic(t, proxytest.WithAPIKey(upstreamKey))
	p := startProxy(t, anthropicConfig(up))
	c := anthropicSDK(p)
	ctx := context.Background()
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("ping"))}}

	msg, err := c.Messages.New(ctx, params)
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	if len(msg.Content) == 0 || msg.Content[0].Text == "" {
		t.Fatalf("empty answer %+v", msg)
	}
	if got := up.Requests()[0].Header.Get("X-Api-Key"); got != upstreamKey {
		t.Errorf("upstream x-api-key = %q", got)
	}

	stream := c.Messages.NewStreaming(ctx, params)
	var text strings.Builder
	var sawStop bool
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "content_block_delta":
			text.WriteString(ev.Delta.Text)
		case "message_stop":
			sawStop = true
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if !sawStop || text.String() != proxytest.AnthropicText {
		t.Errorf("stream text %q, message_stop seen %v", text.String(), sawStop)
	}
}

func TestIdentityGemini(t *testing.T) {
	up := proxytest.NewGemini(t, proxytest.WithAPIKey(upstreamKey))
	p := startProxy(t, geminiConfig(up))
	c := geminiSDK(t, p)
	ctx := context.Background()

	resp, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("ping"), nil)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	if resp.Text() != proxytest.GeminiText {
		t.Errorf("text = %q", resp.Text())
	}
	if got := up.Requests()[0].Header.Get("X-Goog-Api-Key"); got != upstreamKey {
		t.Errorf("upstream key = %q", got)
	}
	var text strings.Builder
	for r, err := range c.Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("ping"), nil) {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		text.WriteString(r.Text())
	}
	if text.String() != proxytest.GeminiText {
		t.Errorf("stream text = %q", text.String())
	}
}

func TestUpstreamErrorKeepsStatusBodyAndHeaders(t *testing.T) {
	up := proxytest.NewOpenAI(t, proxytest.WithAPIKey(upstreamKey))
	// No retries, so the 429 reaches the client as the upstream sent it.
	p := startProxy(t, openAIConfig(up)+"[retry-policy]\nmax-retries = 0\n")
	up.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 7 * time.Second})
	resp := p.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	body := readAll(t, resp)
	if resp.StatusCode != 429 {
		t.Fatalf("status = %d, body %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") != "7" {
		t.Errorf("Retry-After = %q, want 7", resp.Header.Get("Retry-After"))
	}
	if resp.Header.Get("X-Ratelimit-Remaining-Requests") == "" {
		t.Errorf("rate-limit headers were dropped: %v", resp.Header)
	}
	var e struct {
		Error struct {
			Type, Code string
		}
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "rate_limit_exceeded" {
		t.Errorf("body = %s", body)
	}

	// And the SDK sees the status.
	up.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 3 * time.Second})
	sdk := openAISDK(p)
	_, err := sdk.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Errorf("SDK error = %v, want a 429", err)
	}
}

func TestAuthFailuresUseCallerFormat(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up))
	cases := []struct {
		name, path, key, header string
		wantField               string
	}{
		{"openai missing key", "/v1/chat/completions", "", "", `"invalid_api_key"`},
		{"anthropic wrong key", "/v1/messages", "nope", "X-Api-Key", `"authentication_error"`},
		{"gemini wrong key", "/v1beta/models/gemini-2.5-flash:generateContent", "nope", "X-Goog-Api-Key", `"UNAUTHENTICATED"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Authorization", ""}
			if tc.header != "" {
				hdr = append(hdr, tc.header, tc.key)
			}
			resp := p.do(t, "POST", tc.path, `{}`, hdr...)
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401 (%s)", resp.StatusCode, body)
			}
			if !strings.Contains(body, tc.wantField) {
				t.Errorf("body %s lacks %s", body, tc.wantField)
			}
		})
	}
	// Every accepted key location works.
	for _, loc := range []struct{ name, header, query string }{
		{"x-api-key", "X-Api-Key", ""}, {"x-goog-api-key", "X-Goog-Api-Key", ""}, {"query", "", "?key=" + clientKeyForTests},
	} {
		t.Run("accepts "+loc.name, func(t *testing.T) {
			hdr := []string{"Authorization", ""}
			if loc.header != "" {
				hdr = append(hdr, loc.header, clientKeyForTests)
			}
			resp := p.do(t, "GET", "/v1/models"+loc.query, "", hdr...)
			if body := readAll(t, resp); resp.StatusCode != 200 {
				t.Errorf("status = %d: %s", resp.StatusCode, body)
			}
		})
	}
}

func TestHostAndOriginGuard(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, "allowed-origins = [\"http://localhost:3000\"]\n"+openAIConfig(up))
	cases := []struct {
		name       string
		hdr        []string
		wantStatus int
	}{
		{"rebinding host", []string{"Host", "evil.example.com"}, 403},
		{"foreign origin", []string{"Origin", "https://evil.example.com"}, 403},
		{"allowed origin", []string{"Origin", "http://localhost:3000"}, 200},
		{"localhost host", []string{"Host", "localhost:8317"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", p.URL+"/v1/models", nil)
			req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
			if tc.hdr[0] == "Host" {
				req.Host = tc.hdr[1]
			} else {
				req.Header.Set(tc.hdr[0], tc.hdr[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tc.wantStatus, body)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[limits]\nmax-request-size-mb = 1\n")
	t.Run("malformed json", func(t *testing.T) {
		resp := p.do(t, "POST", "/v1/chat/completions", `{"model": "gpt-4o", "messages": [`)
		body := readAll(t, resp)
		if resp.StatusCode != 400 || !strings.Contains(body, "invalid_request_error") {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})
	t.Run("unknown model", func(t *testing.T) {
		resp := p.do(t, "POST", "/v1/chat/completions", `{"model":"no-such-model","messages":[]}`)
		body := readAll(t, resp)
		if resp.StatusCode != 404 || !strings.Contains(body, "no-such-model") || !strings.Contains(body, "/v1/models") {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})
	t.Run("unknown model anthropic shape", func(t *testing.T) {
		resp := p.do(t, "POST", "/v1/messages", `{"model":"nope","max_tokens":5,"messages":[]}`)
		body := readAll(t, resp)
		if resp.StatusCode != 404 || !strings.Contains(body, `"not_found_error"`) {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})
	t.Run("body over limit", func(t *testing.T) {
		big := `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("a", 2<<20) + `"}]}`
		resp := p.do(t, "POST", "/v1/chat/completions", big)
		body := readAll(t, resp)
		if resp.StatusCode != 413 {
			t.Errorf("status %d body %.200s", resp.StatusCode, body)
		}
		if up.Hits() != 0 {
			t.Errorf("the oversized request reached the upstream")
		}
	})
	t.Run("client-side base url refused", func(t *testing.T) {
		resp := p.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o","api_base":"http://evil","messages":[]}`)
		body := readAll(t, resp)
		if resp.StatusCode != 400 || !strings.Contains(body, "api_base") {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})
}

func TestModelsListings(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up))
	var list struct {
		Object string
		Data   []struct{ ID, Object string }
	}
	if err := json.Unmarshal([]byte(readAll(t, p.do(t, "GET", "/v1/models", ""))), &list); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, d := range list.Data {
		ids[d.ID] = true
	}
	if list.Object != "list" || !ids["gpt-4o"] || !ids["small"] {
		t.Errorf("openai listing = %+v", list)
	}
	var anth struct {
		Data []struct{ Type, ID string }
	}
	if err := json.Unmarshal([]byte(readAll(t, p.do(t, "GET", "/v1/models", "", "Anthropic-Version", "2023-06-01"))), &anth); err != nil {
		t.Fatal(err)
	}
	if len(anth.Data) == 0 || anth.Data[0].Type != "model" {
		t.Errorf("anthropic listing = %+v", anth)
	}
	var gem struct {
		Models []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(readAll(t, p.do(t, "GET", "/v1beta/models", ""))), &gem); err != nil {
		t.Fatal(err)
	}
	if len(gem.Models) == 0 || !strings.HasPrefix(gem.Models[0].Name, "models/") {
		t.Errorf("gemini listing = %+v", gem)
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up))
	gate := make(chan struct{})
	defer close(gate)
	up.Enqueue(proxytest.Reply{FirstByteGate: gate})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", p.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := up.WaitHits(wctx, 1); err != nil {
		t.Fatalf("the request never reached the upstream: %v", err)
	}
	cancel()
	<-done
	if err := up.WaitCanceled(wctx, 1); err != nil {
		t.Fatalf("the upstream request was not cancelled after the client went away: %v", err)
	}
}

func TestReadiness(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up))
	resp := p.do(t, "GET", "/health/readiness", "")
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `"usable":1`) {
		t.Errorf("readiness %d %s", resp.StatusCode, body)
	}
	empty := startProxy(t, "")
	resp = empty.do(t, "GET", "/health/readiness", "")
	if body := readAll(t, resp); resp.StatusCode != 503 {
		t.Errorf("readiness without credentials = %d %s", resp.StatusCode, body)
	}
	resp = empty.do(t, "GET", "/health/liveness", "")
	if readAll(t, resp); resp.StatusCode != 200 {
		t.Errorf("liveness = %d", resp.StatusCode)
	}
}

// An identity stream whose events outgrow the relay's read buffer (one 200 KB delta, as a long tool-call
// argument can be) arrives whole, and the streams after it, which reuse pooled buffers, are not corrupted.
func TestIdentityStreamWithEventsLargerThanTheReadBuffer(t *testing.T) {
	up := proxytest.NewOpenAI(t, proxytest.WithAPIKey(upstreamKey))
	p := startProxy(t, openAIConfig(up))
	c := openAISDK(p)
	big := strings.Repeat("0123456789abcdef", 200<<10/16)
	for i, want := range []string{big, "short answer", big[:40<<10] + "!", "after"} {
		up.Enqueue(proxytest.Reply{Text: want, StreamChunks: 2, Usage: proxytest.Usage{InputTokens: 7, OutputTokens: 3}})
		stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("ping")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		var text strings.Builder
		var usage int64
		for stream.Next() {
			ch := stream.Current()
			if len(ch.Choices) > 0 {
				text.WriteString(ch.Choices[0].Delta.Content)
			}
			usage += ch.Usage.PromptTokens
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		if text.String() != want || usage != 7 {
			t.Fatalf("stream %d: %d bytes of text (want %d), prompt tokens %d", i, text.Len(), len(want), usage)
		}
	}
}

// Bodies without an announced length are held to the limits too: a chunked request over
// max-request-size-mb gets 413 and never reaches the upstream; an upstream answer over
// max-response-size-mb gets 502 in the caller's format.
func TestLimitsWithoutContentLength(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[limits]\nmax-request-size-mb = 1\nmax-response-size-mb = 1\n")
	big := `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("a", 2<<20) + `"}]}`
	req, _ := http.NewRequest("POST", p.URL+"/v1/chat/completions", io.MultiReader(strings.NewReader(big))) // no length: chunked
	req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 413 || !strings.Contains(body, "max-request-size-mb") {
		t.Errorf("chunked oversized request: status %d body %.300s", resp.StatusCode, body)
	}
	if up.Hits() != 0 {
		t.Errorf("the oversized request reached the upstream")
	}

	up.Enqueue(proxytest.Reply{Text: strings.Repeat("b", 2<<20)})
	resp = p.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	if body := readAll(t, resp); resp.StatusCode != 502 || !strings.Contains(body, "max-response-size-mb") || !strings.Contains(body, `"error"`) {
		t.Errorf("oversized upstream answer: status %d body %.300s", resp.StatusCode, body)
	}
}
