package translate

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

type claudeUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	OutputTokensDetails      *struct {
		ThinkingTokens int64 `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
}

// canonical normalises Anthropic usage: input_tokens excludes cache reads and writes, so the full prompt
// is the sum of the three (WIRE.md §3.4, §5.5).
func (u *claudeUsage) canonical() llm.Usage {
	out := llm.Usage{
		InputTokens:         u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		OutputTokens:        u.OutputTokens,
		CachedInputTokens:   u.CacheReadInputTokens,
		CacheCreationTokens: u.CacheCreationInputTokens,
	}
	if u.OutputTokensDetails != nil {
		out.ReasoningTokens = u.OutputTokensDetails.ThinkingTokens
	}
	return out
}

// appendClaudeUsage writes Anthropic usage from canonical usage.
func appendClaudeUsage(b []byte, u llm.Usage) []byte {
	in := u.InputTokens - u.CachedInputTokens - u.CacheCreationTokens
	if in < 0 {
		in = 0
	}
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, in)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, u.CacheCreationTokens)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, u.CachedInputTokens)
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	if u.ReasoningTokens > 0 {
		b = append(b, `,"output_tokens_details":{"thinking_tokens":`...)
		b = appendInt(b, u.ReasoningTokens)
		b = append(b, '}')
	}
	return append(b, '}')
}

// claudeFinish maps stop_reason (WIRE.md §5.4).
func claudeFinish(s string) llm.FinishReason {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	case "pause_turn":
		return llm.FinishPause
	case "":
		return ""
	}
	return llm.FinishStop
}

func claudeStopReason(f llm.FinishReason, stopSeq string) string {
	switch f {
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishToolCalls:
		return "tool_use"
	case llm.FinishContentFilter:
		return "refusal"
	case llm.FinishPause:
		return "pause_turn"
	}
	if stopSeq != "" {
		return "stop_sequence"
	}
	return "end_turn"
}

type claudeResponse struct {
	ID           string        `json:"id"`
	Type         string        `json:"type"`
	Model        string        `json:"model"`
	Content      []claudeBlock `json:"content"`
	StopReason   string        `json:"stop_reason"`
	StopSequence *string       `json:"stop_sequence"`
	Usage        claudeUsage   `json:"usage"`
}

func (c *claudeCodec) DecodeResponse(body []byte) (*llm.Response, error) {
	var in claudeResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decoding messages response: %w", err)
	}
	resp := &llm.Response{ID: in.ID, Model: in.Model, Message: llm.Message{Role: llm.RoleAssistant},
		Finish: claudeFinish(in.StopReason), Usage: in.Usage.canonical()}
	if in.StopSequence != nil {
		resp.StopSequence = *in.StopSequence
	}
	for i := range in.Content {
		p, ok, err := decodeClaudeBlock(&in.Content[i])
		if err != nil {
			return nil, fmt.Errorf("decoding messages response content: %w", err)
		}
		if ok {
			resp.Message.Parts = append(resp.Message.Parts, p)
		}
	}
	return resp, nil
}

func (c *claudeCodec) msgID(id string) string {
	if id == "" {
		return c.env.newID("msg_")
	}
	return id
}

func (c *claudeCodec) EncodeResponse(resp *llm.Response) ([]byte, error) {
	content := make([]map[string]any, 0, len(resp.Message.Parts))
	for _, p := range resp.Message.Parts {
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			content = append(content, map[string]any{"type": "text", "text": p.Text})
		case llm.PartThinking:
			content = append(content, map[string]any{"type": "thinking", "thinking": p.Thinking.Text,
				"signature": wrapSignature(p.Thinking.Signature, p.Thinking.SignatureFormat)})
		case llm.PartRedactedThinking:
			if p.Thinking.SignatureFormat == llm.FormatClaude {
				content = append(content, map[string]any{"type": "redacted_thinking", "data": p.Thinking.Data})
			}
		case llm.PartToolCall:
			content = append(content, map[string]any{"type": "tool_use", "id": p.ToolCall.ID, "name": p.ToolCall.Name,
				"input": rawOr(p.ToolCall.Arguments, "{}")})
		}
	}
	var stopSeq any
	if resp.StopSequence != "" {
		stopSeq = resp.StopSequence
	}
	out := map[string]any{
		"id": c.msgID(resp.ID), "type": "message", "role": "assistant", "model": resp.Model, "content": content,
		"stop_reason": claudeStopReason(resp.Finish, resp.StopSequence), "stop_sequence": stopSeq,
		"usage": json.RawMessage(appendClaudeUsage(nil, resp.Usage)),
	}
	return marshalNoEscape(out)
}

func (c *claudeCodec) DecodeError(status int, h http.Header, body []byte) *llm.Error {
	e := newUpstreamError(status, h, c.env)
	var w struct {
		Error *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &w) == nil && w.Error != nil {
		e.Type, e.Message = w.Error.Type, w.Error.Message
		return e
	}
	e.Type, e.Message = claudeErrorType(status), fallbackMessage(status, body)
	return e
}

func (c *claudeCodec) EncodeError(e *llm.Error) []byte { return claudeErrorBody(e) }

// claudeErrorBody renders {"type":"error","error":{"type","message"}} (WIRE.md §3.6).
func claudeErrorBody(e *llm.Error) []byte {
	typ := claudeErrorType(e.Status)
	if e.Status == 400 && e.Type == "invalid_request_error" {
		typ = e.Type
	}
	b := []byte(`{"type":"error","error":{"type":`)
	b = appendString(b, typ)
	b = append(b, `,"message":`...)
	b = appendString(b, errorMessage(e))
	return append(b, "}}"...)
}
