package copilot

import (
	"context"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/cliproxy/cliproxy/proxycore/provider/internal/exectest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const proxyKey = "sk-proxy-client-key-copilot-e2e"

// TestThroughProxy: an Anthropic client (Claude Code's format) reaches a GitHub Copilot account.
func TestThroughProxy(t *testing.T) {
	up := proxytest.NewCopilot(t, goodToken)
	url := exectest.Proxy(t, proxyKey, newExec(t, tokens(goodToken, up.URL)))
	ac := anthropic.NewClient(aoption.WithBaseURL(url), aoption.WithAPIKey(proxyKey), aoption.WithMaxRetries(0))
	up.Enqueue(proxytest.Reply{Text: "messages via copilot"})
	m, err := ac.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "gpt-4.1", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 1 || m.Content[0].Text != "messages via copilot" || m.Usage.InputTokens == 0 {
		t.Errorf("answer = %+v usage %+v", m.Content, m.Usage)
	}
}
