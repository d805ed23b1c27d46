package translate

import (
	"context"
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

// These tests feed translated streams to the official SDKs over loopback HTTP, so the client side of
// every encoder is checked by the vendors' own parsers, not only by golden bytes.

// translatedServer serves upstream fixture path (in format upstream) translated for client format.
func translatedServer(t *testing.T, client, upstream llm.Format, path string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg := testRegistry()
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = Pump(strings.NewReader(string(body)), reg.Codec(upstream).NewStreamDecoder(),
			reg.Codec(client).NewStreamEncoder(&llm.Request{Model: "client-model", IncludeUsage: true}),
			func(b []byte) error { _, err := w.Write(b); return err })
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOpenAISDKReadsChatStream(t *testing.T) {
	tests := []struct {
		name, upstream, path string
		format               llm.Format
		wantText             string
		wantCalls            int
		wantFinish           string
		wantErr              bool
	}{
		{"from claude tools", "claude", "testdata/chat-claude/tools/upstream_stream.sse", llm.FormatClaude, "", 2, "tool_calls", false},
		{"from gemini", "gemini", "testdata/chat-gemini/tools_images/upstream_stream.sse", llm.FormatGemini, "Hello world", 2, "tool_calls", false},
		{"from responses", "responses", "testdata/chat-responses/basic/upstream_stream.sse", llm.FormatResponses, "Hi", 1, "tool_calls", false},
		{"upstream error", "claude", "testdata/gemini-claude/basic/upstream_stream.sse", llm.FormatClaude, "", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := translatedServer(t, llm.FormatOpenAIChat, tt.format, tt.path)
			c := openai.NewClient(ooption.WithBaseURL(srv.URL), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
			stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model: "client-model", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if tt.wantErr {
				if stream.Err() == nil {
					t.Fatal("SDK saw no error for a failed stream")
				}
				return
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("SDK stream error: %v", err)
			}
			ch := acc.Choices[0]
			if ch.Message.Content != tt.wantText || len(ch.Message.ToolCalls) != tt.wantCalls || ch.FinishReason != tt.wantFinish {
				t.Fatalf("content %q calls %d finish %q", ch.Message.Content, len(ch.Message.ToolCalls), ch.FinishReason)
			}
			if acc.Usage.TotalTokens == 0 {
				t.Error("no usage")
			}
		})
	}
}

func TestAnthropicSDKReadsClaudeStream(t *testing.T) {
	tests := []struct {
		name, path string
		format     llm.Format
		wantBlocks []string
		wantStop   string
		wantErr    bool
	}{
		{"from chat", "testdata/claude-chat/full/upstream_stream.sse", llm.FormatOpenAIChat, []string{"thinking", "text", "tool_use", "tool_use"}, "tool_use", false},
		{"from gemini", "testdata/claude-gemini/thinking_tools/upstream_stream.sse", llm.FormatGemini, []string{"thinking", "tool_use"}, "tool_use", false},
		{"cut", "testdata/claude-chat/cut_stream/upstream_stream.sse", llm.FormatOpenAIChat, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := translatedServer(t, llm.FormatClaude, tt.format, tt.path)
			c := anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
			stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
				Model: "client-model", MaxTokens: 100,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			})
			msg := anthropic.Message{}
			for stream.Next() {
				if err := msg.Accumulate(stream.Current()); err != nil {
					t.Fatalf("accumulate: %v", err)
				}
			}
			if tt.wantErr {
				if stream.Err() == nil {
					t.Fatal("SDK saw no error for a cut stream")
				}
				return
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("SDK stream error: %v", err)
			}
			var kinds []string
			for _, b := range msg.Content {
				kinds = append(kinds, b.Type)
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantBlocks, ",") || string(msg.StopReason) != tt.wantStop {
				t.Fatalf("blocks %v stop %q", kinds, msg.StopReason)
			}
			for _, b := range msg.Content {
				if b.Type == "tool_use" && !strings.HasPrefix(string(b.Input), "{") {
					t.Errorf("tool input %s", b.Input)
				}
			}
			if msg.Usage.OutputTokens == 0 {
				t.Error("no usage")
			}
		})
	}
}

func TestOpenAISDKReadsResponsesStream(t *testing.T) {
	srv := translatedServer(t, llm.FormatResponses, llm.FormatOpenAIChat, "testdata/responses-chat/codex/upstream_stream.sse")
	c := openai.NewClient(ooption.WithBaseURL(srv.URL), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
	stream := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model: "client-model", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	})
	var types []string
	var final responses.Response
	lastSeq := int64(-1)
	for stream.Next() {
		ev := stream.Current()
		if ev.SequenceNumber != lastSeq+1 {
			t.Fatalf("sequence_number %d after %d", ev.SequenceNumber, lastSeq)
		}
		lastSeq = ev.SequenceNumber
		types = append(types, ev.Type)
		if ev.Type == "response.completed" {
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("SDK stream error: %v", err)
	}
	if types[0] != "response.created" || types[len(types)-1] != "response.completed" {
		t.Fatalf("event types %v", types)
	}
	if final.OutputText() != "Sure." || len(final.Output) != 3 || final.Usage.InputTokensDetails.CachedTokens != 200 {
		t.Fatalf("final response: text %q, %d items, usage %+v", final.OutputText(), len(final.Output), final.Usage)
	}
	if fc := final.Output[2]; fc.Type != "function_call" || fc.CallID != "call_9" || fc.Arguments.OfString != `{"command":["pwd"]}` {
		t.Fatalf("function call item %+v", fc)
	}
}

func TestGenaiSDKReadsGeminiStream(t *testing.T) {
	srv := translatedServer(t, llm.FormatGemini, llm.FormatOpenAIChat, "testdata/gemini-chat/basic/upstream_stream.sse")
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var calls []*genai.FunctionCall
	var last *genai.GenerateContentResponse
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "client-model", genai.Text("hi"), nil) {
		if err != nil {
			t.Fatalf("SDK stream error: %v", err)
		}
		last = resp
		for _, p := range resp.Candidates[0].Content.Parts {
			text.WriteString(p.Text)
			if p.FunctionCall != nil {
				calls = append(calls, p.FunctionCall)
			}
		}
	}
	if text.String() != "Done" || len(calls) != 1 || calls[0].Name != "read_file" || calls[0].Args["path"] != "a.go" {
		t.Fatalf("text %q calls %+v", text.String(), calls)
	}
	if last.Candidates[0].FinishReason != genai.FinishReasonStop || last.UsageMetadata.TotalTokenCount != 120 {
		t.Fatalf("finish %q usage %+v", last.Candidates[0].FinishReason, last.UsageMetadata)
	}
}
