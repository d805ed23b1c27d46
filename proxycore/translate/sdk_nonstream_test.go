package translate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// jsonServer answers every request with the upstream fixture translated for the client format, or,
// when upstreamErr is set, with that upstream error translated for the client.
func jsonServer(t *testing.T, client, upstream llm.Format, path string, upstreamErr *llm.Error) *httptest.Server {
	t.Helper()
	var body []byte
	if path != "" {
		var err error
		if body, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg := testRegistry()
		w.Header().Set("Content-Type", "application/json")
		if upstreamErr != nil {
			for k, v := range ErrorHeaders(upstreamErr) {
				w.Header()[k] = v
			}
			w.WriteHeader(upstreamErr.Status)
			_, _ = w.Write(reg.Codec(client).EncodeError(upstreamErr))
			return
		}
		resp, err := reg.Codec(upstream).DecodeResponse(body)
		if err != nil {
			t.Error(err)
			return
		}
		out, err := reg.Codec(client).EncodeResponse(resp)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSDKsReadTranslatedResponses(t *testing.T) {
	ctx := context.Background()
	t.Run("openai chat from claude", func(t *testing.T) {
		srv := jsonServer(t, llm.FormatOpenAIChat, llm.FormatClaude, "testdata/chat-claude/tools/upstream_response.json", nil)
		c := openai.NewClient(ooption.WithBaseURL(srv.URL), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if err != nil {
			t.Fatal(err)
		}
		m := resp.Choices[0].Message
		if m.Content != "Checking." || len(m.ToolCalls) != 2 || m.ToolCalls[1].Function.Arguments != `{"city":"Bergen"}` || resp.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("%+v", resp.Choices[0])
		}
	})
	t.Run("anthropic from chat", func(t *testing.T) {
		srv := jsonServer(t, llm.FormatClaude, llm.FormatOpenAIChat, "testdata/claude-chat/full/upstream_response.json", nil)
		c := anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
		msg, err := c.Messages.New(ctx, anthropic.MessageNewParams{Model: "m", MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Content) != 3 || msg.StopReason != "tool_use" || msg.Usage.CacheReadInputTokens != 1000 || msg.Usage.InputTokens != 200 {
			t.Fatalf("%+v", msg)
		}
	})
	t.Run("responses from claude", func(t *testing.T) {
		srv := jsonServer(t, llm.FormatResponses, llm.FormatClaude, "testdata/responses-claude/thinking_tools/upstream_response.json", nil)
		c := openai.NewClient(ooption.WithBaseURL(srv.URL), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
		resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "m", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.OutputText() != "Done." || resp.Status != "incomplete" || resp.IncompleteDetails.Reason != "max_output_tokens" {
			t.Fatalf("%+v", resp)
		}
	})
	t.Run("genai from chat", func(t *testing.T) {
		srv := jsonServer(t, llm.FormatGemini, llm.FormatOpenAIChat, "testdata/gemini-chat/basic/upstream_response.json", nil)
		c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Models.GenerateContent(ctx, "m", genai.Text("hi"), nil)
		if err != nil {
			t.Fatal(err)
		}
		calls := resp.FunctionCalls()
		if len(calls) != 1 || calls[0].Args["path"] != "a.go" || resp.UsageMetadata.CachedContentTokenCount != 64 {
			t.Fatalf("%+v", resp)
		}
	})
}

func TestSDKsReadTranslatedErrors(t *testing.T) {
	ctx := context.Background()
	upstream := testRegistry().Codec(llm.FormatClaude).DecodeError(429, http.Header{"Retry-After": {"12"}},
		[]byte(`{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests exceeded"}}`))
	t.Run("openai", func(t *testing.T) {
		srv := jsonServer(t, llm.FormatOpenAIChat, "", "", upstream)
		c := openai.NewClient(ooption.WithBaseURL(srv.URL), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" ||
			!strings.Contains(apiErr.Message, "Number of requests") || apiErr.Response.Header.Get("Retry-After") != "12" {
			t.Fatalf("%v", err)
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		srv := jsonServer(t, llm.FormatClaude, "", "", upstream)
		c := anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
		_, err := c.Messages.New(ctx, anthropic.MessageNewParams{Model: "m", MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || !strings.Contains(apiErr.Error(), "rate_limit_error") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("genai", func(t *testing.T) {
		srv := jsonServer(t, llm.FormatGemini, "", "", upstream)
		c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Models.GenerateContent(ctx, "m", genai.Text("hi"), nil)
		var apiErr genai.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 429 || apiErr.Status != "RESOURCE_EXHAUSTED" || len(apiErr.Details) != 1 {
			t.Fatalf("%#v", err)
		}
	})
}
