package qwen

import (
	"context"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/exectest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const proxyKey = "sk-proxy-client-key-qwen-e2e"

// TestThroughProxy: an Anthropic streaming client reaches a Qwen account.
func TestThroughProxy(t *testing.T) {
	up := proxytest.NewOpenAICompatible(t, proxytest.WithAPIKey(goodToken))
	url := exectest.Proxy(t, proxyKey, newExec(t, up.URL+"/v1", &accttest.Tokens{Current: accttest.Bearer(goodToken)}))
	ac := anthropic.NewClient(aoption.WithBaseURL(url), aoption.WithAPIKey(proxyKey), aoption.WithMaxRetries(0))
	up.Enqueue(proxytest.Reply{Text: "messages via qwen", StreamChunks: 3})
	st := ac.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{Model: "qwen3-coder-plus", MaxTokens: 64,
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
	if len(msg.Content) != 1 || msg.Content[0].Text != "messages via qwen" {
		t.Errorf("stream = %+v", msg.Content)
	}
}
