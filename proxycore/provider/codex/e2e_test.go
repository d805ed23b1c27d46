package codex

import (
	"context"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/cliproxy/cliproxy/proxycore/provider/internal/exectest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const proxyKey = "sk-proxy-client-key-codex-e2e"

// TestThroughProxy: Chat and Anthropic clients reach a ChatGPT (Codex) account, whose backend only
// streams Responses events: a non-streaming Chat answer is folded from the stream, and an Anthropic
// stream is translated event by event.
func TestThroughProxy(t *testing.T) {
	up := proxytest.NewCodex(t, proxytest.WithAPIKey(goodToken))
	url := exectest.Proxy(t, proxyKey, newExec(t, up.URL+proxytest.CodexPath, goodTokens()))
	ctx := context.Background()

	oc := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(proxyKey), option.WithMaxRetries(0))
	up.Enqueue(proxytest.Reply{Text: "chat via codex"})
	cc, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-5-codex",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if cc.Choices[0].Message.Content != "chat via codex" || cc.Usage.TotalTokens == 0 {
		t.Errorf("chat answer = %q, usage %+v", cc.Choices[0].Message.Content, cc.Usage)
	}
	if body := string(up.Requests()[0].Body); !strings.Contains(body, `"stream":true`) || !strings.Contains(body, `"store":false`) {
		t.Errorf("the backend must be asked for a stream without storage: %s", body)
	}

	ac := anthropic.NewClient(aoption.WithBaseURL(url), aoption.WithAPIKey(proxyKey), aoption.WithMaxRetries(0))
	up.Enqueue(proxytest.Reply{Text: "messages via codex", StreamChunks: 4})
	st := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "gpt-5-codex", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var msg anthropic.Message
	for st.Next() {
		if err := msg.Accumulate(st.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "messages via codex" || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("anthropic stream = %+v stop %q", msg.Content, msg.StopReason)
	}
}
