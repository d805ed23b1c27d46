package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// These tests drive the proxy with the vendors' official SDKs against fake upstreams of every format and
// compare what the client sees with what the upstream scripted, through the real HTTP server.

// tinyPNG is a 1x1 transparent PNG, sent as a data URI / base64 / inlineData image.
const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

// xUpstream is one upstream of the cross-format matrix.
type xUpstream struct {
	name   string
	model  string // client-visible model routed to this upstream
	format llm.Format
	up     *proxytest.Upstream
	// fragments: the upstream streams tool-call arguments in pieces (Gemini sends whole calls).
	fragments bool
}

// xMatrix is one proxy in front of an OpenAI, an OpenAI-compatible (chat only), an Anthropic and a Gemini fake.
type xMatrix struct {
	p   *testProxy
	ups []*xUpstream
}

func newXMatrix(t *testing.T, extra string) *xMatrix {
	t.Helper()
	oa := proxytest.NewOpenAI(t, proxytest.WithAPIKey(upstreamKey))
	compat := proxytest.NewOpenAICompatible(t, proxytest.WithAPIKey(upstreamKey))
	an := proxytest.NewAnthropic(t, proxytest.WithAPIKey(upstreamKey))
	ge := proxytest.NewGemini(t, proxytest.WithAPIKey(upstreamKey))
	cfg := "[[openai]]\napi-key = \"" + upstreamKey + "\"\nbase-url = \"" + oa.URL + "/v1\"\nmodels = [\"gpt-4o\"]\n" +
		"[[openai-compatible]]\nname = \"compat\"\napi-key = \"" + upstreamKey + "\"\nbase-url = \"" + compat.URL + "/v1\"\nmodels = [\"compat-model\"]\n" +
		anthropicConfig(an) + geminiConfig(ge) + extra
	return &xMatrix{
		p: startProxy(t, cfg),
		ups: []*xUpstream{
			{name: "openai", model: "gpt-4o", format: llm.FormatOpenAIChat, up: oa, fragments: true},
			{name: "compat", model: "compat-model", format: llm.FormatOpenAIChat, up: compat, fragments: true},
			{name: "anthropic", model: "claude-sonnet-4-5", format: llm.FormatClaude, up: an, fragments: true},
			{name: "gemini", model: "gemini-2.5-flash", format: llm.FormatGemini, up: ge},
		},
	}
}

// xCall is a tool call as the client saw it, arguments compacted.
type xCall struct{ name, args string }

// xResult is what a client read, in canonical terms.
type xResult struct {
	text, reasoning string
	calls           []xCall
	usage           llm.Usage
	finish          string // "stop", "tool" or "" where the format has no finish reason worth comparing
	argDeltas       int    // streamed argument fragments seen
}

// xClient runs one request through the proxy with an official SDK.
type xClient struct {
	name string
	run  func(t *testing.T, p *testProxy, model string, stream bool) (xResult, error)
	// reasoningUsage: the client format reports reasoning tokens.
	reasoningUsage bool
	// fragments: the client format streams tool-call arguments in pieces (Gemini sends whole calls).
	fragments bool
}

var xClients = []xClient{
	{name: "chat", run: runChatClient, reasoningUsage: true, fragments: true},
	{name: "responses", run: runResponsesClient, reasoningUsage: true, fragments: true},
	{name: "claude", run: runClaudeClient, fragments: true},
	{name: "gemini", run: runGeminiClient, reasoningUsage: true},
}

const (
	xSystem = "Answer briefly."
	xPrompt = "What is the weather in Paris and Rome? See the picture."
)

var weatherSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string", "description": "City name"}},
	"required":   []string{"city"},
}

func compactJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func runChatClient(t *testing.T, p *testProxy, model string, stream bool) (xResult, error) {
	c := openAISDK(p)
	params := openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(xSystem),
			openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
				openai.TextContentPart(xPrompt),
				openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + tinyPNG}),
			}),
		},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Description: openai.String("Weather for a city"), Parameters: weatherSchema})},
	}
	var res xResult
	var msg openai.ChatCompletionMessage
	var finish string
	var usage openai.CompletionUsage
	if !stream {
		got, err := c.Chat.Completions.New(context.Background(), params)
		if err != nil {
			return res, err
		}
		msg, finish, usage = got.Choices[0].Message, got.Choices[0].FinishReason, got.Usage
		if f, ok := msg.JSON.ExtraFields["reasoning_content"]; ok {
			_ = json.Unmarshal([]byte(f.Raw()), &res.reasoning)
		}
	} else {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		s := c.Chat.Completions.NewStreaming(context.Background(), params)
		acc := openai.ChatCompletionAccumulator{}
		var reasoning strings.Builder
		for s.Next() {
			ch := s.Current()
			acc.AddChunk(ch)
			if len(ch.Choices) == 0 {
				continue
			}
			if f, ok := ch.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
				var r string
				_ = json.Unmarshal([]byte(f.Raw()), &r)
				reasoning.WriteString(r)
			}
			for _, tc := range ch.Choices[0].Delta.ToolCalls {
				if tc.Function.Arguments != "" {
					res.argDeltas++
				}
			}
		}
		if err := s.Err(); err != nil {
			return res, err
		}
		if len(acc.Choices) == 0 {
			return res, errors.New("the stream had no choices")
		}
		msg, finish, usage = acc.Choices[0].Message, acc.Choices[0].FinishReason, acc.Usage
		res.reasoning = reasoning.String()
	}
	res.text = msg.Content
	for _, tc := range msg.ToolCalls {
		res.calls = append(res.calls, xCall{tc.Function.Name, compactJSON(tc.Function.Arguments)})
	}
	switch finish {
	case "tool_calls":
		res.finish = "tool"
	case "stop":
		res.finish = "stop"
	default:
		res.finish = "other:" + finish
	}
	res.usage = llm.Usage{InputTokens: usage.PromptTokens, OutputTokens: usage.CompletionTokens,
		CachedInputTokens: usage.PromptTokensDetails.CachedTokens, ReasoningTokens: usage.CompletionTokensDetails.ReasoningTokens}
	return res, nil
}

func runResponsesClient(t *testing.T, p *testProxy, model string, stream bool) (xResult, error) {
	c := openAISDK(p)
	params := responses.ResponseNewParams{Model: model, Instructions: openai.String(xSystem),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage(responses.ResponseInputMessageContentListParam{
				{OfInputText: &responses.ResponseInputTextParam{Text: xPrompt}},
				{OfInputImage: &responses.ResponseInputImageParam{Detail: responses.ResponseInputImageDetailAuto,
					ImageURL: openai.String("data:image/png;base64," + tinyPNG)}},
			}, responses.EasyInputMessageRoleUser),
		}},
		Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{Name: "get_weather",
			Description: openai.String("Weather for a city"), Parameters: weatherSchema, Strict: openai.Bool(false)}}},
	}
	var res xResult
	var final responses.Response
	if !stream {
		got, err := c.Responses.New(context.Background(), params)
		if err != nil {
			return res, err
		}
		final = *got
	} else {
		s := c.Responses.NewStreaming(context.Background(), params)
		completed := false
		lastSeq := int64(-1)
		for s.Next() {
			ev := s.Current()
			if ev.SequenceNumber != lastSeq+1 {
				return res, fmt.Errorf("sequence_number %d after %d", ev.SequenceNumber, lastSeq)
			}
			lastSeq = ev.SequenceNumber
			switch ev.Type {
			case "response.function_call_arguments.delta":
				res.argDeltas++
			case "response.completed":
				final, completed = ev.Response, true
			case "error", "response.failed":
				return res, fmt.Errorf("stream error event %s", ev.RawJSON())
			}
		}
		if err := s.Err(); err != nil {
			return res, err
		}
		if !completed {
			return res, errors.New("the stream ended without response.completed")
		}
	}
	res.text = final.OutputText()
	for _, it := range final.Output {
		switch it.Type {
		case "function_call":
			res.calls = append(res.calls, xCall{it.Name, compactJSON(it.Arguments.OfString)})
		case "reasoning":
			for _, s := range it.Summary {
				res.reasoning += s.Text
			}
		}
	}
	u := final.Usage
	res.usage = llm.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CachedInputTokens: u.InputTokensDetails.CachedTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}
	return res, nil
}

func runClaudeClient(t *testing.T, p *testProxy, model string, stream bool) (xResult, error) {
	c := anthropicSDK(p)
	params := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 1024,
		System: []anthropic.TextBlockParam{{Text: xSystem}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(xPrompt),
			anthropic.NewImageBlockBase64("image/png", tinyPNG))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather", Description: anthropic.String("Weather for a city"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"], Required: []string{"city"}}}}},
	}
	var res xResult
	var msg anthropic.Message
	if !stream {
		got, err := c.Messages.New(context.Background(), params)
		if err != nil {
			return res, err
		}
		msg = *got
	} else {
		s := c.Messages.NewStreaming(context.Background(), params)
		stopped := false
		for s.Next() {
			ev := s.Current()
			if err := msg.Accumulate(ev); err != nil {
				return res, err
			}
			if ev.Type == "content_block_delta" && ev.Delta.Type == "input_json_delta" && ev.Delta.PartialJSON != "" {
				res.argDeltas++
			}
			if ev.Type == "message_stop" {
				stopped = true
			}
		}
		if err := s.Err(); err != nil {
			return res, err
		}
		if !stopped {
			return res, errors.New("the stream ended without message_stop")
		}
	}
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			res.text += b.Text
		case "thinking":
			res.reasoning += b.Thinking
		case "tool_use":
			res.calls = append(res.calls, xCall{b.Name, compactJSON(string(b.Input))})
		}
	}
	switch msg.StopReason {
	case "tool_use":
		res.finish = "tool"
	case "end_turn":
		res.finish = "stop"
	default:
		res.finish = "other:" + string(msg.StopReason)
	}
	u := msg.Usage
	res.usage = llm.Usage{InputTokens: u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens, OutputTokens: u.OutputTokens,
		CachedInputTokens: u.CacheReadInputTokens}
	return res, nil
}

func runGeminiClient(t *testing.T, p *testProxy, model string, stream bool) (xResult, error) {
	c := geminiSDK(t, p)
	img, _ := base64.StdEncoding.DecodeString(tinyPNG)
	contents := []*genai.Content{{Role: "user", Parts: []*genai.Part{{Text: xPrompt}, {InlineData: &genai.Blob{MIMEType: "image/png", Data: img}}}}}
	cfg := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(xSystem, genai.RoleUser),
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{Name: "get_weather", Description: "Weather for a city",
			Parameters: &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}}, Required: []string{"city"}}}}}}}
	var res xResult
	var chunks []*genai.GenerateContentResponse
	if !stream {
		got, err := c.Models.GenerateContent(context.Background(), model, contents, cfg)
		if err != nil {
			return res, err
		}
		chunks = append(chunks, got)
	} else {
		for r, err := range c.Models.GenerateContentStream(context.Background(), model, contents, cfg) {
			if err != nil {
				return res, err
			}
			chunks = append(chunks, r)
		}
	}
	var last *genai.GenerateContentResponseUsageMetadata
	for _, ch := range chunks {
		if ch.UsageMetadata != nil {
			last = ch.UsageMetadata
		}
		if len(ch.Candidates) == 0 || ch.Candidates[0].Content == nil {
			continue
		}
		for _, part := range ch.Candidates[0].Content.Parts {
			switch {
			case part.FunctionCall != nil:
				b, _ := json.Marshal(part.FunctionCall.Args)
				res.calls = append(res.calls, xCall{part.FunctionCall.Name, string(b)})
			case part.Thought:
				res.reasoning += part.Text
			default:
				res.text += part.Text
			}
		}
	}
	if last != nil {
		res.usage = llm.Usage{InputTokens: int64(last.PromptTokenCount), OutputTokens: int64(last.CandidatesTokenCount + last.ThoughtsTokenCount),
			CachedInputTokens: int64(last.CachedContentTokenCount), ReasoningTokens: int64(last.ThoughtsTokenCount)}
	}
	return res, nil
}

// upstreamUsage is the canonical usage an upstream's scripted Usage stands for: Anthropic's input_tokens
// excludes cache reads, Gemini's candidatesTokenCount excludes thoughts.
func upstreamUsage(f llm.Format, u proxytest.Usage) llm.Usage {
	c := llm.Usage{InputTokens: int64(u.InputTokens), OutputTokens: int64(u.OutputTokens), CachedInputTokens: int64(u.CachedTokens),
		ReasoningTokens: int64(u.ReasoningTokens)}
	switch f {
	case llm.FormatClaude:
		c.InputTokens += int64(u.CachedTokens + u.CacheCreationTokens)
	case llm.FormatGemini:
		c.OutputTokens += int64(u.ReasoningTokens)
	}
	return c
}

type xScenario struct {
	name  string
	reply proxytest.Reply
}

var xScenarios = []xScenario{
	{"text", proxytest.Reply{Text: "It is sunny in Paris.", Reasoning: "The user asks about weather.",
		Usage: proxytest.Usage{InputTokens: 120, OutputTokens: 40, CachedTokens: 30, ReasoningTokens: 10}}},
	{"tool call", proxytest.Reply{NoText: true, ToolCalls: []proxytest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
		Usage: proxytest.Usage{InputTokens: 90, OutputTokens: 20}}},
	{"parallel tool calls", proxytest.Reply{Text: "Checking both.", ToolCalls: []proxytest.ToolCall{
		{Name: "get_weather", Arguments: `{"city":"Paris"}`}, {Name: "get_weather", Arguments: `{"city":"Rome"}`}},
		Usage: proxytest.Usage{InputTokens: 95, OutputTokens: 33, CachedTokens: 64}}},
}

func TestCrossFormatSDKMatrix(t *testing.T) {
	m := newXMatrix(t, "")
	for _, cl := range xClients {
		for _, up := range m.ups {
			for _, sc := range xScenarios {
				for _, stream := range []bool{false, true} {
					mode := "json"
					if stream {
						mode = "stream"
					}
					t.Run(cl.name+"/"+up.name+"/"+sc.name+"/"+mode, func(t *testing.T) {
						before := up.up.Hits()
						up.up.Enqueue(sc.reply)
						got, err := cl.run(t, m.p, up.model, stream)
						if err != nil {
							t.Fatalf("client error: %v", err)
						}
						if up.up.Hits() != before+1 {
							t.Fatalf("upstream hits %d, want %d", up.up.Hits(), before+1)
						}
						checkXResult(t, cl, up, sc, stream, got)
						checkUpstreamRequest(t, up, up.up.Requests()[before].Body)
					})
				}
			}
		}
	}
}

func checkXResult(t *testing.T, cl xClient, up *xUpstream, sc xScenario, stream bool, got xResult) {
	t.Helper()
	r := sc.reply
	if got.text != r.Text {
		t.Errorf("text = %q, want %q", got.text, r.Text)
	}
	if r.Reasoning != "" && got.reasoning != r.Reasoning {
		t.Errorf("reasoning = %q, want %q", got.reasoning, r.Reasoning)
	}
	var want []xCall
	for _, tc := range r.ToolCalls {
		want = append(want, xCall{tc.Name, compactJSON(tc.Arguments)})
	}
	sortCalls := func(c []xCall) {
		sort.Slice(c, func(i, j int) bool { return c[i].args < c[j].args })
	}
	sortCalls(want)
	sortCalls(got.calls)
	if fmt.Sprint(got.calls) != fmt.Sprint(want) {
		t.Errorf("tool calls = %v, want %v", got.calls, want)
	}
	if stream && len(r.ToolCalls) > 0 && up.fragments && cl.fragments && got.argDeltas <= len(r.ToolCalls) {
		t.Errorf("tool-call arguments arrived in %d fragments for %d calls; the upstream streamed them in pieces",
			got.argDeltas, len(r.ToolCalls))
	}
	if cl.name == "chat" || cl.name == "claude" {
		wantFinish := "stop"
		if len(r.ToolCalls) > 0 {
			wantFinish = "tool"
		}
		if got.finish != wantFinish {
			t.Errorf("finish = %q, want %q", got.finish, wantFinish)
		}
	}
	wantU := upstreamUsage(up.format, r.Usage)
	if !cl.reasoningUsage {
		wantU.ReasoningTokens = 0
	}
	if got.usage != wantU {
		t.Errorf("usage = %+v, want %+v", got.usage, wantU)
	}
}

// checkUpstreamRequest checks that the image and the tool reached the upstream in its own format.
func checkUpstreamRequest(t *testing.T, up *xUpstream, body []byte) {
	t.Helper()
	s := string(body)
	if !strings.Contains(s, tinyPNG) {
		t.Errorf("the image did not reach the upstream: %.400s", s)
	}
	if !strings.Contains(s, "get_weather") || !strings.Contains(s, xSystem) {
		t.Errorf("the tool or the system prompt did not reach the upstream: %.400s", s)
	}
	var want string
	switch up.format {
	case llm.FormatClaude:
		want = `"media_type":"image/png"`
	case llm.FormatGemini:
		want = `"inlineData"`
	default:
		if strings.Contains(s, `"input"`) && !strings.Contains(s, `"messages"`) {
			want = `"input_image"`
		} else {
			want = `"image_url"`
		}
	}
	if !strings.Contains(strings.ReplaceAll(s, `": "`, `":"`), want) {
		t.Errorf("upstream image not in the %s shape (%s): %.600s", up.name, want, s)
	}
}
