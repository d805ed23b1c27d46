package kiro

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

func TestSplitterAnyChunking(t *testing.T) {
	tests := []struct{ in, thinking, text string }{
		{"<thinking>\nplan it</thinking>\n\nThe answer.", "plan it", "The answer."},
		{"  <thinking>a</thinking>b", "a", "b"},
		{"<thinking>x < y and </thinkin is not the end</thinking>\n\nok", "x < y and </thinkin is not the end", "ok"},
		{"No thinking here.", "", "No thinking here."},
		{"<think>close but no</think>", "", "<think>close but no</think>"},
		{"<thinking>never closed", "never closed", ""},
		{"<thin", "", "<thin"},
		{"", "", ""},
	}
	for _, tc := range tests {
		// Every split into two chunks, and one byte at a time.
		var chunkings [][]string
		for i := 0; i <= len(tc.in); i++ {
			chunkings = append(chunkings, []string{tc.in[:i], tc.in[i:]})
		}
		var bytes []string
		for i := range len(tc.in) {
			bytes = append(bytes, tc.in[i:i+1])
		}
		chunkings = append(chunkings, bytes)
		for _, chunks := range chunkings {
			var s splitter
			var ps []piece
			for _, c := range chunks {
				ps = s.feed(ps, c)
			}
			ps = s.flush(ps)
			var th, tx strings.Builder
			seenText := false
			for _, p := range ps {
				if p.thinking {
					if seenText {
						t.Fatalf("%q %q: thinking after text", tc.in, chunks)
					}
					th.WriteString(p.text)
				} else {
					seenText = true
					tx.WriteString(p.text)
				}
			}
			if th.String() != tc.thinking || tx.String() != tc.text {
				t.Fatalf("%q split %q: thinking %q text %q", tc.in, chunks, th.String(), tx.String())
			}
		}
	}
}

func TestThinkingPrefix(t *testing.T) {
	n := func(v int) *int { return &v }
	for _, tc := range []struct {
		r    *llm.Reasoning
		want string
	}{
		{nil, ""},
		{&llm.Reasoning{BudgetTokens: n(2048)}, "<thinking_mode>enabled</thinking_mode><max_thinking_length>2048</max_thinking_length>"},
		{&llm.Reasoning{BudgetTokens: n(100)}, "<thinking_mode>enabled</thinking_mode><max_thinking_length>1024</max_thinking_length>"},
		{&llm.Reasoning{BudgetTokens: n(100000)}, "<thinking_mode>enabled</thinking_mode><max_thinking_length>24576</max_thinking_length>"},
		{&llm.Reasoning{BudgetTokens: n(-1)}, "<thinking_mode>enabled</thinking_mode><max_thinking_length>20000</max_thinking_length>"},
		{&llm.Reasoning{Adaptive: true, Effort: "medium"}, "<thinking_mode>adaptive</thinking_mode><thinking_effort>medium</thinking_effort>"},
		{&llm.Reasoning{Adaptive: true}, "<thinking_mode>adaptive</thinking_mode><thinking_effort>high</thinking_effort>"},
		{&llm.Reasoning{Effort: "none", BudgetTokens: n(2048)}, ""},
	} {
		if got := thinkingPrefix(tc.r); got != tc.want {
			t.Errorf("thinkingPrefix(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestThinkingStreamAndReplay(t *testing.T) {
	up := proxytest.NewKiro(t)
	up.Enqueue(proxytest.Reply{Reasoning: "First I check the file.", Text: "Done.", StreamChunks: 7})
	up.Enqueue(proxytest.Reply{Reasoning: "Short plan.", Text: "Answer two."})
	c := sdk(relay(t, newExec(t, up.URL, good(), nil)))
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 4096,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		System:   []anthropic.TextBlockParam{{Text: "Be careful."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("fix it"))}}
	st := c.Messages.NewStreaming(context.Background(), params)
	var msg anthropic.Message
	for st.Next() {
		if err := msg.Accumulate(st.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking != "First I check the file." ||
		msg.Content[1].Type != "text" || msg.Content[1].Text != "Done." {
		t.Fatalf("content = %+v", msg.Content)
	}
	var sent cwRequest
	_ = json.Unmarshal(up.Requests()[0].Body, &sent)
	if got := sent.ConversationState.CurrentMessage.UserInputMessage.Content; !strings.HasPrefix(got,
		"<thinking_mode>enabled</thinking_mode><max_thinking_length>2048</max_thinking_length>\nBe careful.\n\nfix it") {
		t.Errorf("current content = %q", got)
	}

	// The next turn replays the thinking as tagged text; the non-stream answer splits it off again.
	params.Messages = append(params.Messages, msg.ToParam(), anthropic.NewUserMessage(anthropic.NewTextBlock("and now?")))
	m, err := c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 2 || m.Content[0].Thinking != "Short plan." || m.Content[1].Text != "Answer two." {
		t.Fatalf("content = %+v", m.Content)
	}
	sent = cwRequest{}
	_ = json.Unmarshal(up.Requests()[1].Body, &sent)
	if h := sent.ConversationState.History; len(h) != 2 ||
		h[1].AssistantResponseMessage.Content != "<thinking>First I check the file.</thinking>\n\nDone." {
		t.Errorf("history = %+v", h)
	}
}
