package kiro

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/cliproxy/cliproxy/proxycore/provider/internal/exectest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const proxyKey = "sk-proxy-client-key-1234567890"

// TestThroughProxy sends OpenAI Chat and Anthropic clients through the proxy to a Kiro account.
func TestThroughProxy(t *testing.T) {
	up := proxytest.NewKiro(t)
	url := exectest.Proxy(t, proxyKey, newExec(t, up.URL, good(), nil))
	ctx := context.Background()

	oc := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(proxyKey), option.WithMaxRetries(0))
	up.Enqueue(proxytest.Reply{Text: "from kiro via chat", StreamChunks: 3})
	st := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hi")}})
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		acc.AddChunk(st.Current())
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "from kiro via chat" {
		t.Errorf("chat stream content = %q", got)
	}
	if body := string(up.Requests()[0].Body); !strings.Contains(body, `"content":"be brief\n\nhi"`) {
		t.Errorf("system prompt not folded into the first user turn: %s", body)
	}

	up.Enqueue(proxytest.Reply{ToolCalls: []proxytest.ToolCall{{ID: "tu9", Name: "lookup", Arguments: `{"k":"v"}`}}})
	cc, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("use the tool")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: "lookup", Description: openai.String("Look a key up"),
			Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"k": map[string]any{"type": "string"}}},
		})}})
	if err != nil {
		t.Fatal(err)
	}
	if tc := cc.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Name != "lookup" || tc[0].Function.Arguments != `{"k":"v"}` ||
		cc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("chat tool calls = %+v finish %q", tc, cc.Choices[0].FinishReason)
	}

	ac := anthropic.NewClient(aoption.WithBaseURL(url), aoption.WithAPIKey(proxyKey), aoption.WithMaxRetries(0))
	up.Enqueue(proxytest.Reply{Text: "from kiro via messages"})
	m, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 50,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Content[0].Text != "from kiro via messages" {
		t.Errorf("messages content = %+v", m.Content)
	}

	// An upstream throttle reaches the Anthropic client as a 429 rate_limit_error.
	up.Enqueue(proxytest.Reply{Status: 429})
	up.Enqueue(proxytest.Reply{Status: 429})
	up.Enqueue(proxytest.Reply{Status: 429})
	_, err = ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 50,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var ae *anthropic.Error
	if err == nil || !errors.As(err, &ae) || ae.StatusCode != 429 || !strings.Contains(ae.RawJSON(), "rate_limit_error") {
		t.Errorf("throttled call: %v", err)
	}
}
