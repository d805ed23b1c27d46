package translate

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// captureServer records the first request body the SDK sends and answers with an error so the call ends.
func captureServer(t *testing.T) (*httptest.Server, <-chan []byte) {
	t.Helper()
	ch := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case ch <- b:
		default:
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"captured","type":"invalid_request_error"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestDecodeSDKRequests decodes request bodies produced by the official SDKs and checks the canonical
// conversation.
func TestDecodeSDKRequests(t *testing.T) {
	ctx := context.Background()
	reg := testRegistry()
	schema := map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}
	tests := []struct {
		name   string
		format llm.Format
		send   func(url string)
		want   string
	}{
		{"openai chat", llm.FormatOpenAIChat, func(url string) {
			c := openai.NewClient(ooption.WithBaseURL(url), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
			_, _ = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "m",
				Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "weather", Parameters: schema})},
				Messages: []openai.ChatCompletionMessageParamUnion{
					openai.SystemMessage("sys"),
					openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{openai.TextContentPart("look"),
						openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,AAAA"})}),
					{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{
						{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_1",
							Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "weather", Arguments: `{"city":"Oslo"}`}}}}}},
					openai.ToolMessage("rainy", "call_1"),
				}})
		}, `system:sys|user:look|user:image:image/png:AAAA|call:weather{"city":"Oslo"}|result:rainy`},
		{"anthropic", llm.FormatClaude, func(url string) {
			c := anthropic.NewClient(aoption.WithBaseURL(url), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
			_, _ = c.Messages.New(ctx, anthropic.MessageNewParams{Model: "m", MaxTokens: 100,
				System: []anthropic.TextBlockParam{{Text: "sys"}},
				Tools:  []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "weather", InputSchema: anthropic.ToolInputSchemaParam{Properties: schema["properties"]}}}},
				Messages: []anthropic.MessageParam{
					anthropic.NewUserMessage(anthropic.NewTextBlock("look")),
					anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_1", map[string]any{"city": "Oslo"}, "weather")),
					anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", "rainy", false)),
				}})
		}, `system:sys|user:look|call:weather{"city":"Oslo"}|result:rainy`},
		{"responses", llm.FormatResponses, func(url string) {
			c := openai.NewClient(ooption.WithBaseURL(url), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
			_, _ = c.Responses.New(ctx, responses.ResponseNewParams{Model: "m", Instructions: openai.String("sys"),
				Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{Name: "weather", Parameters: schema}}},
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
					responses.ResponseInputItemParamOfMessage("look", responses.EasyInputMessageRoleUser),
					responses.ResponseInputItemParamOfFunctionCall(`{"city":"Oslo"}`, "call_1", "weather"),
					functionCallOutput("call_1", "rainy"),
				}}})
		}, `system:sys|user:look|call:weather{"city":"Oslo"}|result:rainy`},
		{"genai", llm.FormatGemini, func(url string) {
			c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: url}})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = c.Models.GenerateContent(ctx, "m", []*genai.Content{
				genai.NewContentFromText("look", genai.RoleUser),
				genai.NewContentFromFunctionCall("weather", map[string]any{"city": "Oslo"}, genai.RoleModel),
				genai.NewContentFromFunctionResponse("weather", map[string]any{"output": "rainy"}, genai.RoleUser),
			}, &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText("sys", genai.RoleUser),
				Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{Name: "weather", ParametersJsonSchema: schema}}}}})
		}, `system:sys|user:look|call:weather{"city":"Oslo"}|result:rainy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, ch := captureServer(t)
			tt.send(srv.URL)
			body := <-ch
			req, err := reg.Codec(tt.format).DecodeRequest(body)
			if err != nil {
				t.Fatalf("decode SDK body: %v\n%s", err, body)
			}
			if got := strings.Join(summary(req), "|"); got != tt.want {
				t.Fatalf("got  %s\nwant %s\nbody %s", got, tt.want, body)
			}
			if len(req.Tools) != 1 || req.Tools[0].Name != "weather" || !strings.Contains(string(req.Tools[0].Parameters), "city") {
				t.Fatalf("tools %+v", req.Tools)
			}
		})
	}
}

// functionCallOutput builds a function_call_output item; SDK v3.98 types call_id as optional.
func functionCallOutput(callID, output string) responses.ResponseInputItemUnionParam {
	item := responses.ResponseInputItemParamOfFunctionCallOutput(output)
	item.OfFunctionCallOutput.CallID = openai.String(callID)
	return item
}
