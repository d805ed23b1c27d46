package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"google.golang.org/genai"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// xRequest is a minimal request of one client format, for raw HTTP checks.
type xRequest struct {
	client string
	path   string
	body   string
}

// rawRequest builds a request of client format cl for model, streaming or not.
func rawRequest(cl, model string, stream bool) xRequest {
	st := ""
	if stream {
		st = `"stream":true,`
	}
	switch cl {
	case "chat":
		return xRequest{cl, "/v1/chat/completions", `{"model":"` + model + `",` + st + `"messages":[{"role":"user","content":"hi"}]}`}
	case "responses":
		return xRequest{cl, "/v1/responses", `{"model":"` + model + `",` + st + `"input":"hi"}`}
	case "claude":
		return xRequest{cl, "/v1/messages", `{"model":"` + model + `",` + st + `"max_tokens":20000,"messages":[{"role":"user","content":"hi"}]}`}
	case "completions":
		return xRequest{cl, "/v1/completions", `{"model":"` + model + `",` + st + `"prompt":"Say hi"}`}
	default: // gemini
		method := ":generateContent"
		if stream {
			method = ":streamGenerateContent?alt=sse"
		}
		return xRequest{cl, "/v1beta/models/" + model + method, `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`}
	}
}

// checkErrorShape checks that body is the error object of client format cl with the given status.
func checkErrorShape(t *testing.T, cl string, status int, body string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Code    any    `json:"code"`
			Status  string `json:"status"`
			Details []struct {
				Type       string `json:"@type"`
				RetryDelay string `json:"retryDelay"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, body)
	}
	if e.Error.Message == "" {
		t.Errorf("error body has no message: %s", body)
	}
	switch cl {
	case "claude":
		if e.Type != "error" || e.Error.Type != "rate_limit_error" {
			t.Errorf("not an Anthropic rate_limit_error: %s", body)
		}
	case "gemini":
		if e.Error.Status != "RESOURCE_EXHAUSTED" || e.Error.Code != float64(status) {
			t.Errorf("not a Gemini RESOURCE_EXHAUSTED %d error: %s", status, body)
		}
	default:
		if e.Error.Type == "" || e.Type != "" {
			t.Errorf("not an OpenAI error object: %s", body)
		}
	}
}

// TestCrossFormatUpstream429 checks that an upstream 429 reaches every client in its own format with the
// status and the retry hint, whatever the upstream's format.
func TestCrossFormatUpstream429(t *testing.T) {
	ups := []struct {
		name, model string
		start       func(t testing.TB, opts ...proxytest.Option) *proxytest.Upstream
		cfg         func(*proxytest.Upstream) string
	}{
		{"openai", "gpt-4o", proxytest.NewOpenAI, openAIConfig},
		{"anthropic", "claude-sonnet-4-5", proxytest.NewAnthropic, anthropicConfig},
		{"gemini", "gemini-2.5-flash", proxytest.NewGemini, geminiConfig},
	}
	for _, u := range ups {
		for _, cl := range []string{"chat", "responses", "claude", "gemini", "completions"} {
			for _, stream := range []bool{false, true} {
				name := u.name + "/" + cl
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					up := u.start(t, proxytest.WithAPIKey(upstreamKey))
					p := startProxy(t, u.cfg(up)+"[retry-policy]\nmax-retries = 0\n")
					up.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 7 * time.Second, ErrorMessage: "slow down please"})
					rq := rawRequest(cl, u.model, stream)
					resp := p.do(t, "POST", rq.path, rq.body)
					body := readAll(t, resp)
					if resp.StatusCode != http.StatusTooManyRequests {
						t.Fatalf("status = %d, want 429: %s", resp.StatusCode, body)
					}
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("Content-Type = %q, want JSON", ct)
					}
					checkErrorShape(t, cl, 429, body)
					identityGemini := cl == "gemini" && u.name == "gemini"
					if ra := resp.Header.Get("Retry-After"); ra != "7" && !identityGemini {
						t.Errorf("Retry-After = %q, want 7", ra)
					}
					if cl == "gemini" && !strings.Contains(body, `"retryDelay":"7s"`) {
						t.Errorf("Gemini error without RetryInfo 7s: %s", body)
					}
					if !strings.Contains(body, "slow down please") {
						t.Errorf("the upstream's message was lost: %s", body)
					}
				})
			}
		}
	}
}

// TestCrossFormatSDKSees429 checks the status through each official SDK.
func TestCrossFormatSDKSees429(t *testing.T) {
	up := proxytest.NewAnthropic(t, proxytest.WithAPIKey(upstreamKey))
	gup := proxytest.NewGemini(t, proxytest.WithAPIKey(upstreamKey))
	p := startProxy(t, anthropicConfig(up)+geminiConfig(gup)+"[retry-policy]\nmax-retries = 0\n")
	ctx := context.Background()

	up.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 5 * time.Second})
	oc := openAISDK(p)
	_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Response.Header.Get("Retry-After") != "5" {
		t.Errorf("openai SDK error = %v, want 429 with Retry-After 5", err)
	}
	p.Router().Reset("anthropic-1")

	gup.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 4 * time.Second})
	ac := anthropicSDK(p)
	_, err = ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "gemini-2.5-flash", MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.Response.Header.Get("Retry-After") != "4" {
		t.Errorf("anthropic SDK error = %v, want 429 with Retry-After 4", err)
	}

	up.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 3 * time.Second})
	_, err = geminiSDK(t, p).Models.GenerateContent(ctx, "claude-sonnet-4-5", genai.Text("hi"), nil)
	var ge genai.APIError
	if !errors.As(err, &ge) || ge.Code != 429 || ge.Status != "RESOURCE_EXHAUSTED" {
		t.Errorf("genai error = %v, want 429 RESOURCE_EXHAUSTED", err)
	}
}

// TestCrossFormatCompletions drives the legacy completions API against every upstream format.
func TestCrossFormatCompletions(t *testing.T) {
	m := newXMatrix(t, "")
	c := openAISDK(m.p)
	for _, up := range m.ups {
		t.Run(up.name, func(t *testing.T) {
			up.up.Enqueue(proxytest.Reply{Text: "Hi there.", Usage: proxytest.Usage{InputTokens: 7, OutputTokens: 3}})
			got, err := c.Completions.New(context.Background(), openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(up.model),
				Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say hi")}})
			if err != nil {
				t.Fatalf("completions: %v", err)
			}
			if len(got.Choices) != 1 || got.Choices[0].Text != "Hi there." || got.Usage.PromptTokens+got.Usage.CompletionTokens == 0 {
				t.Fatalf("completion = %s", got.RawJSON())
			}
			if !strings.Contains(string(up.up.Requests()[up.up.Hits()-1].Body), "Say hi") {
				t.Errorf("the prompt did not reach the upstream")
			}

			up.up.Enqueue(proxytest.Reply{Text: "Streamed hi.", Usage: proxytest.Usage{InputTokens: 7, OutputTokens: 3}})
			s := c.Completions.NewStreaming(context.Background(), openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(up.model),
				Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say hi")}})
			var text strings.Builder
			finish := ""
			for s.Next() {
				ch := s.Current()
				for _, choice := range ch.Choices {
					text.WriteString(choice.Text)
					if choice.FinishReason != "" {
						finish = string(choice.FinishReason)
					}
				}
			}
			if err := s.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if text.String() != "Streamed hi." || finish != "stop" {
				t.Errorf("stream text %q finish %q", text.String(), finish)
			}
		})
	}
}

// TestCountTokensNativeOrEstimate: count requests go to the upstream's own counter when it has one
// (Anthropic, Gemini; translated when the client speaks the other format) and are estimated locally
// (X-CLIProxy-Token-Count: estimate) otherwise.
func TestCountTokensNativeOrEstimate(t *testing.T) {
	m := newXMatrix(t, "")
	ctx := context.Background()
	ac := anthropicSDK(m.p)
	gc := geminiSDK(t, m.p)
	for _, up := range m.ups {
		native := up.name == "anthropic" || up.name == "gemini"
		t.Run("claude count_tokens/"+up.name, func(t *testing.T) {
			before := up.up.Hits()
			if native {
				up.up.Enqueue(proxytest.Reply{Usage: proxytest.Usage{InputTokens: 321}})
			}
			resp := m.p.do(t, "POST", "/v1/messages/count_tokens",
				`{"model":"`+up.model+`","messages":[{"role":"user","content":"How many tokens is this sentence?"}]}`)
			body := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var n struct {
				InputTokens int `json:"input_tokens"`
			}
			if err := json.Unmarshal([]byte(body), &n); err != nil || n.InputTokens <= 0 {
				t.Fatalf("count body %s", body)
			}
			est := resp.Header.Get("X-CLIProxy-Token-Count")
			if native && (est != "" || up.up.Hits() != before+1 || n.InputTokens != 321) {
				t.Errorf("%s upstream: header %q, hits %d->%d, count %d; want the native count 321", up.name, est, before, up.up.Hits(), n.InputTokens)
			}
			if !native && (est != "estimate" || up.up.Hits() != before) {
				t.Errorf("%s upstream: header %q, hits %d->%d; want a local estimate", up.name, est, before, up.up.Hits())
			}
			// The SDK reads it too.
			got, err := ac.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: anthropic.Model(up.model),
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}})
			if err != nil || got.InputTokens <= 0 {
				t.Errorf("SDK count: %v %+v", err, got)
			}
		})
		t.Run("gemini countTokens/"+up.name, func(t *testing.T) {
			before := up.up.Hits()
			if native {
				up.up.Enqueue(proxytest.Reply{Usage: proxytest.Usage{InputTokens: 321}})
			}
			resp := m.p.do(t, "POST", "/v1beta/models/"+up.model+":countTokens",
				`{"contents":[{"role":"user","parts":[{"text":"How many tokens is this sentence?"}]}]}`)
			body := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var n struct {
				TotalTokens int `json:"totalTokens"`
			}
			if err := json.Unmarshal([]byte(body), &n); err != nil || n.TotalTokens <= 0 {
				t.Fatalf("count body %s", body)
			}
			est := resp.Header.Get("X-CLIProxy-Token-Count")
			if native && (est != "" || up.up.Hits() != before+1 || n.TotalTokens != 321) {
				t.Errorf("%s upstream: header %q, hits %d->%d, count %d; want the native count 321", up.name, est, before, up.up.Hits(), n.TotalTokens)
			}
			if !native && (est != "estimate" || up.up.Hits() != before) {
				t.Errorf("%s upstream: header %q, hits %d->%d; want a local estimate", up.name, est, before, up.up.Hits())
			}
			got, err := gc.Models.CountTokens(ctx, up.model, genai.Text("hello there"), nil)
			if err != nil || got.TotalTokens <= 0 {
				t.Errorf("SDK countTokens: %v %+v", err, got)
			}
		})
	}
}

// TestModelSuffixSetsReasoning: "name(high)" and "name(8192)" set the effort or budget in the upstream's own
// terms and never reach the upstream as part of the model name, on translated and same-format paths.
func TestModelSuffixSetsReasoning(t *testing.T) {
	m := newXMatrix(t, "")
	cases := []struct {
		name, client, model, upstream string
		want                          []string // fragments of the upstream body (spaces removed)
		wantModel                     string
	}{
		{"chat to claude budget", "chat", "claude-sonnet-4-5(8192)", "anthropic", []string{`"budget_tokens":8192`, `"type":"enabled"`}, `"model":"claude-sonnet-4-5"`},
		{"chat to claude effort", "chat", "claude-sonnet-4-5(high)", "anthropic", []string{`"budget_tokens":16384`}, `"model":"claude-sonnet-4-5"`},
		{"chat to gemini budget", "chat", "gemini-2.5-flash(8192)", "gemini", []string{`"thinkingBudget":8192`}, ""},
		{"claude to openai effort", "claude", "gpt-4o(high)", "openai", []string{`"reasoning_effort":"high"`}, `"model":"gpt-4o"`},
		{"responses to compat effort", "responses", "compat-model(low)", "compat", []string{`"reasoning_effort":"low"`}, `"model":"compat-model"`},
		{"chat to openai same format", "chat", "gpt-4o(high)", "openai", []string{`"reasoning_effort":"high"`}, `"model":"gpt-4o"`},
		{"claude to claude same format", "claude", "claude-sonnet-4-5(8192)", "anthropic", []string{`"budget_tokens":8192`}, `"model":"claude-sonnet-4-5"`},
		{"gemini to gemini same format", "gemini", "gemini-2.5-flash(8192)", "gemini", []string{`"thinkingBudget":8192`}, ""},
		{"responses to openai same format", "responses", "gpt-4o(high)", "openai", []string{`"effort":"high"`}, `"model":"gpt-4o"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var up *xUpstream
			for _, u := range m.ups {
				if u.name == tc.upstream {
					up = u
				}
			}
			before := up.up.Hits()
			rq := rawRequest(tc.client, tc.model, false)
			resp := m.p.do(t, "POST", rq.path, rq.body)
			body := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if up.up.Hits() != before+1 {
				t.Fatalf("the %s upstream was not called", up.name)
			}
			rec := up.up.Requests()[before]
			sent := strings.NewReplacer(" ", "", "\n", "").Replace(string(rec.Body))
			for _, w := range tc.want {
				if !strings.Contains(sent, w) {
					t.Errorf("upstream body lacks %s: %s", w, sent)
				}
			}
			if tc.wantModel != "" && !strings.Contains(sent, tc.wantModel) {
				t.Errorf("upstream body lacks %s: %s", tc.wantModel, sent)
			}
			if strings.Contains(rec.Path, "(") || strings.Contains(sent, `(high)`) || strings.Contains(sent, `(8192)`) || strings.Contains(sent, `(low)`) {
				t.Errorf("the suffix reached the upstream: %s %s", rec.Path, sent)
			}
		})
	}
}

// TestGeminiStreamWithoutAltSSE: a Gemini client that does not ask for alt=sse gets one JSON array streamed
// element by element, as the Gemini API answers it, from every upstream format; a failed stream still
// closes the array, with an error element last.
func TestGeminiStreamWithoutAltSSE(t *testing.T) {
	m := newXMatrix(t, "")
	for _, up := range m.ups {
		for _, cut := range []bool{false, true} {
			name := up.name
			if cut {
				name += "/cut"
			}
			t.Run(name, func(t *testing.T) {
				rep := proxytest.Reply{Text: "one two three four", StreamChunks: 6}
				if cut {
					rep.CutAfter = 5 // text has reached the client by then, whatever the upstream format
				}
				up.up.Enqueue(rep)
				resp := m.p.do(t, "POST", "/v1beta/models/"+up.model+":streamGenerateContent",
					`{"contents":[{"role":"user","parts":[{"text":"count"}]}]}`)
				body := readAll(t, resp)
				if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
				}
				var elems []struct {
					Candidates []struct {
						Content struct {
							Parts []struct{ Text string }
						}
						FinishReason string
					}
					Error *struct{ Message string }
				}
				if err := json.Unmarshal([]byte(body), &elems); err != nil || len(elems) < 2 {
					t.Fatalf("not a JSON array of responses (%v): %s", err, body)
				}
				last := elems[len(elems)-1]
				if cut {
					if last.Error == nil {
						t.Errorf("a cut stream does not end with an error element: %s", body)
					}
					return
				}
				var text strings.Builder
				for _, e := range elems {
					for _, c := range e.Candidates {
						for _, p := range c.Content.Parts {
							text.WriteString(p.Text)
						}
					}
				}
				if text.String() != "one two three four" || len(last.Candidates) == 0 || last.Candidates[0].FinishReason != "STOP" {
					t.Errorf("text %q, last element %+v", text.String(), last)
				}
			})
		}
	}
}
