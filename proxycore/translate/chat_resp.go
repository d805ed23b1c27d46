package translate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
	} `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details,omitempty"`
}

func (u *chatUsage) canonical() llm.Usage {
	out := llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		out.CachedInputTokens, out.CacheCreationTokens = d.CachedTokens, d.CacheWriteTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

// appendChatUsage writes the Chat usage object (WIRE.md §1.4).
func appendChatUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, u.InputTokens)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, u.Total())
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, u.CachedInputTokens)
	if u.CacheCreationTokens > 0 {
		b = append(b, `,"cache_write_tokens":`...)
		b = appendInt(b, u.CacheCreationTokens)
	}
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, u.ReasoningTokens)
	return append(b, "}}"...)
}

type chatResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int         `json:"index"`
		Message      chatMessage `json:"message"`
		FinishReason string      `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage `json:"usage"`
}

func (c *chatCodec) DecodeResponse(body []byte) (*llm.Response, error) {
	var in chatResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decoding chat response: %w", err)
	}
	resp := &llm.Response{ID: in.ID, Model: in.Model, Created: in.Created, Message: llm.Message{Role: llm.RoleAssistant}}
	if len(in.Choices) > 0 {
		ch := &in.Choices[0]
		msg, err := decodeChatMessage(&ch.Message)
		if err != nil {
			return nil, fmt.Errorf("decoding chat response message: %w", err)
		}
		msg.Role = llm.RoleAssistant
		resp.Message = msg
		resp.Finish = chatFinish(ch.FinishReason)
	}
	if in.Usage != nil {
		resp.Usage = in.Usage.canonical()
	}
	return resp, nil
}

// chatFinish maps a Chat finish_reason (WIRE.md §5.4).
func chatFinish(s string) llm.FinishReason {
	switch s {
	case "length":
		return llm.FinishLength
	case "tool_calls", "function_call":
		return llm.FinishToolCalls
	case "content_filter":
		return llm.FinishContentFilter
	case "":
		return ""
	}
	return llm.FinishStop
}

func chatFinishString(f llm.FinishReason) string {
	switch f {
	case llm.FinishLength:
		return "length"
	case llm.FinishToolCalls:
		return "tool_calls"
	case llm.FinishContentFilter:
		return "content_filter"
	}
	return "stop"
}

func (c *chatCodec) chatID(id string) string {
	if id == "" {
		return c.env.newID("chatcmpl-")
	}
	if strings.HasPrefix(id, "chatcmpl-") {
		return id
	}
	return "chatcmpl-" + id
}

func (c *chatCodec) EncodeResponse(resp *llm.Response) ([]byte, error) {
	msg := chatOutMessage{Role: "assistant"}
	var text strings.Builder
	var refusal string
	for _, p := range resp.Message.Parts {
		switch p.Kind {
		case llm.PartText:
			text.WriteString(p.Text)
		case llm.PartRefusal:
			refusal += p.Text
		case llm.PartThinking:
			msg.ReasoningContent += p.Thinking.Text
		case llm.PartToolCall:
			var tc chatToolCall
			tc.ID, tc.Type = p.ToolCall.ID, "function"
			tc.Function.Name, tc.Function.Arguments = p.ToolCall.Name, argsString(p.ToolCall.Arguments)
			msg.ToolCalls = append(msg.ToolCalls, tc)
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 && refusal == "" {
		msg.Content = text.String()
	}
	finish := resp.Finish
	if finish == llm.FinishStop && len(msg.ToolCalls) > 0 {
		finish = llm.FinishToolCalls
	}
	created := resp.Created
	if created == 0 {
		created = c.env.now()
	}
	type choice struct {
		Index   int `json:"index"`
		Message struct {
			chatOutMessage
			Refusal *string `json:"refusal"`
		} `json:"message"`
		Logprobs     *struct{} `json:"logprobs"`
		FinishReason string    `json:"finish_reason"`
	}
	ch := choice{FinishReason: chatFinishString(finish)}
	ch.Message.chatOutMessage = msg
	if refusal != "" {
		ch.Message.Refusal = &refusal
	}
	out := struct {
		ID      string          `json:"id"`
		Object  string          `json:"object"`
		Created int64           `json:"created"`
		Model   string          `json:"model"`
		Choices []choice        `json:"choices"`
		Usage   json.RawMessage `json:"usage"`
	}{c.chatID(resp.ID), "chat.completion", created, resp.Model, []choice{ch}, appendChatUsage(nil, resp.Usage)}
	return marshalNoEscape(out)
}

func (c *chatCodec) DecodeError(status int, h http.Header, body []byte) *llm.Error {
	return decodeOpenAIError(status, h, body, c.env)
}

func (c *chatCodec) EncodeError(e *llm.Error) []byte { return openAIErrorBody(e) }

// joinText joins the text parts of a system prompt with newlines.
func joinText(parts []llm.Part) string {
	var b strings.Builder
	for _, p := range parts {
		if p.Kind != llm.PartText || p.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.Text)
	}
	return b.String()
}
