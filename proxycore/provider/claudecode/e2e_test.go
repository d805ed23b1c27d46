package claudecode

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"

	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/exectest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const proxyKey = "sk-proxy-client-key-claude-e2e"

// TestThroughProxy: OpenAI Chat (streaming) and Gemini clients reach a Claude Code subscription.
func TestThroughProxy(t *testing.T) {
	up := proxytest.NewClaudeCode(t, goodToken)
	url := exectest.Proxy(t, proxyKey, newExec(t, up.URL, &accttest.Tokens{Current: accttest.Bearer(goodToken)}))
	ctx := context.Background()

	oc := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(proxyKey), option.WithMaxRetries(0))
	up.Enqueue(proxytest.Reply{Text: "chat via claude code", StreamChunks: 3})
	st := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "claude-sonnet-4-5",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		acc.AddChunk(st.Current())
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != "chat via claude code" || acc.Usage.PromptTokens == 0 {
		t.Errorf("chat stream = %q usage %+v", acc.Choices[0].Message.Content, acc.Usage)
	}

	gc, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: proxyKey, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: url + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	up.Enqueue(proxytest.Reply{Text: "gemini via claude code"})
	res, err := gc.Models.GenerateContent(ctx, "claude-sonnet-4-5", genai.Text("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text() != "gemini via claude code" {
		t.Errorf("gemini answer = %q", res.Text())
	}
}
