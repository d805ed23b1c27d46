package geminicli

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"

	"github.com/cliproxy/cliproxy/proxycore/provider/internal/exectest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const proxyKey = "sk-proxy-client-key-1234567890"

// TestThroughProxy sends Gemini and OpenAI Chat clients through a real proxy to a Gemini CLI account.
func TestThroughProxy(t *testing.T) {
	up := proxytest.NewCodeAssist(t, proxytest.WithAPIKey(goodToken))
	url := exectest.Proxy(t, proxyKey, newExec(t, up.URL, good(), nil))
	ctx := context.Background()

	gc, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: proxyKey, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: url}})
	if err != nil {
		t.Fatal(err)
	}
	up.Enqueue(proxytest.Reply{Text: "streamed through", StreamChunks: 3})
	var text string
	for resp, err := range gc.Models.GenerateContentStream(ctx, "gemini-2.5-pro", genai.Text("hi"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		text += resp.Text()
	}
	if text != "streamed through" {
		t.Errorf("gemini stream text = %q", text)
	}
	up.Enqueue(proxytest.Reply{Usage: proxytest.Usage{InputTokens: 11}})
	ct, err := gc.Models.CountTokens(ctx, "gemini-2.5-pro", genai.Text("count"), nil)
	if err != nil || ct.TotalTokens != 11 {
		t.Errorf("count = %+v, %v", ct, err)
	}

	oc := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(proxyKey), option.WithMaxRetries(0))
	up.Enqueue(proxytest.Reply{Text: "chat via code assist"})
	cc, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gemini-2.5-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if cc.Choices[0].Message.Content != "chat via code assist" {
		t.Errorf("chat content = %q", cc.Choices[0].Message.Content)
	}
	for _, r := range up.Requests() {
		if r.Header.Get("Authorization") != "Bearer "+goodToken {
			t.Errorf("%s sent without the account token", r.Path)
		}
	}
}
