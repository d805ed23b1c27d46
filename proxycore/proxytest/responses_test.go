package proxytest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

func respParams(model string) responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model: model,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	}
}

func TestResponsesNonStream(t *testing.T) {
	u := NewOpenAI(t, WithAPIKey(testKey))
	c := openAIClient(u, testKey, 0)
	u.Enqueue(Reply{Text: "scripted", Reasoning: "because", ToolCalls: []ToolCall{{Name: "f", Arguments: `{"a":1}`}},
		Usage: Usage{InputTokens: 8, OutputTokens: 6, CachedTokens: 2, ReasoningTokens: 3}})
	p := respParams("gpt-5")
	p.Include = []responses.ResponseIncludable{"reasoning.encrypted_content"}
	got, err := c.Responses.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "gpt-5" || got.Status != "completed" || !strings.HasPrefix(got.ID, "resp_") || got.OutputText() != "scripted" {
		t.Errorf("response = %q %q %q %q", got.Model, got.Status, got.ID, got.OutputText())
	}
	if len(got.Output) != 3 {
		t.Fatalf("output = %+v", got.Output)
	}
	rs, msg, fc := got.Output[0], got.Output[1], got.Output[2]
	if rs.Type != "reasoning" || len(rs.Summary) != 1 || rs.Summary[0].Text != "because" || rs.EncryptedContent == "" {
		t.Errorf("reasoning item = %+v", rs)
	}
	if msg.Type != "message" || msg.Status != "completed" {
		t.Errorf("message item = %+v", msg)
	}
	if fc.Type != "function_call" || fc.Name != "f" || fc.Arguments.OfString != `{"a":1}` || !strings.HasPrefix(fc.CallID, "call_") {
		t.Errorf("function_call item = %+v", fc)
	}
	us := got.Usage
	if us.InputTokens != 8 || us.OutputTokens != 6 || us.TotalTokens != 14 ||
		us.InputTokensDetails.CachedTokens != 2 || us.OutputTokensDetails.ReasoningTokens != 3 {
		t.Errorf("usage = %+v", us)
	}
	if u.Requests()[0].Path != "/v1/responses" {
		t.Errorf("path = %q", u.Requests()[0].Path)
	}
}

func TestResponsesStream(t *testing.T) {
	u := NewOpenAI(t)
	c := openAIClient(u, testKey, 0)
	u.Enqueue(Reply{Text: "hello world", StreamChunks: 2, Reasoning: "r1", ToolCalls: []ToolCall{{ID: "call_z", Name: "g", Arguments: `{"x":"y"}`}},
		Usage: Usage{InputTokens: 3, OutputTokens: 4}})
	st := c.Responses.NewStreaming(context.Background(), respParams("gpt-5"))
	var types []string
	var text, args strings.Builder
	var final responses.Response
	for i := 0; st.Next(); i++ {
		ev := st.Current()
		if ev.SequenceNumber != int64(i) {
			t.Errorf("event %d (%s) has sequence_number %d", i, ev.Type, ev.SequenceNumber)
		}
		types = append(types, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.function_call_arguments.delta":
			args.WriteString(ev.Delta)
		case "response.completed":
			final = ev.Response
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.reasoning_summary_part.added",
		"response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
		"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added",
		"response.function_call_arguments.delta", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.completed",
	}
	if strings.Join(types, "\n") != strings.Join(want, "\n") {
		t.Errorf("events\n got %v\nwant %v", types, want)
	}
	if text.String() != "hello world" || args.String() != `{"x":"y"}` {
		t.Errorf("text %q args %q", text.String(), args.String())
	}
	if final.Status != "completed" || final.OutputText() != "hello world" || final.Usage.TotalTokens != 7 || final.Model != "gpt-5" {
		t.Errorf("final = %q %q %+v", final.Status, final.OutputText(), final.Usage)
	}
}

func TestResponsesIncomplete(t *testing.T) {
	u := NewOpenAI(t)
	c := openAIClient(u, testKey, 0)
	u.Enqueue(Reply{Text: "cut short", FinishReason: "max_output_tokens"})
	st := c.Responses.NewStreaming(context.Background(), respParams("m"))
	var last responses.ResponseStreamEventUnion
	for st.Next() {
		last = st.Current()
	}
	if st.Err() != nil || last.Type != "response.incomplete" || last.Response.IncompleteDetails.Reason != "max_output_tokens" {
		t.Errorf("last event %q %+v err %v", last.Type, last.Response.IncompleteDetails, st.Err())
	}
}

func TestResponsesErrorsAndBrokenStreams(t *testing.T) {
	u := NewOpenAI(t)
	c := openAIClient(u, testKey, 0)
	u.Enqueue(Reply{Status: 429, RetryAfter: 3 * time.Second})
	_, err := c.Responses.New(context.Background(), respParams("m"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Response.Header.Get("retry-after") != "3" {
		t.Fatalf("err = %v", err)
	}
	for _, rep := range []Reply{{CutAfter: 4}, {MalformedAfter: 4}} {
		u.Enqueue(rep)
		st := c.Responses.NewStreaming(context.Background(), respParams("m"))
		n := 0
		for st.Next() {
			n++
		}
		if st.Err() == nil || n != 4 {
			t.Errorf("%+v: %d events, err %v; want 4 and an error", rep, n, st.Err())
		}
	}
}
