package translate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

type geminiUsage struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	TotalTokenCount         int64 `json:"totalTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount"`
}

// canonical maps usageMetadata: prompt includes cached tokens; candidates exclude thoughts (WIRE.md §4.3).
func (u *geminiUsage) canonical() llm.Usage {
	return llm.Usage{
		InputTokens:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		OutputTokens:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CachedInputTokens: u.CachedContentTokenCount,
		ReasoningTokens:   u.ThoughtsTokenCount,
	}
}

func appendGeminiUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"promptTokenCount":`...)
	b = appendInt(b, u.InputTokens)
	b = append(b, `,"candidatesTokenCount":`...)
	b = appendInt(b, u.OutputTokens-u.ReasoningTokens)
	b = append(b, `,"totalTokenCount":`...)
	b = appendInt(b, u.Total())
	if u.CachedInputTokens > 0 {
		b = append(b, `,"cachedContentTokenCount":`...)
		b = appendInt(b, u.CachedInputTokens)
	}
	if u.ReasoningTokens > 0 {
		b = append(b, `,"thoughtsTokenCount":`...)
		b = appendInt(b, u.ReasoningTokens)
	}
	return append(b, '}')
}

type geminiCandidate struct {
	Content      *geminiContent `json:"content"`
	FinishReason string         `json:"finishReason"`
}

type geminiResponse struct {
	Candidates     []geminiCandidate `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *geminiUsage    `json:"usageMetadata"`
	ModelVersion  string          `json:"modelVersion"`
	ResponseID    string          `json:"responseId"`
	Error         json.RawMessage `json:"error"`
}

// geminiFinish maps finishReason (WIRE.md §5.4); a STOP turn with function calls is a tool-call finish.
func geminiFinish(s string, sawCalls bool) llm.FinishReason {
	switch s {
	case "":
		return ""
	case "STOP":
		if sawCalls {
			return llm.FinishToolCalls
		}
		return llm.FinishStop
	case "MAX_TOKENS":
		return llm.FinishLength
	case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "OTHER", "FINISH_REASON_UNSPECIFIED":
		return llm.FinishStop
	}
	return llm.FinishContentFilter
}

func geminiFinishString(f llm.FinishReason) string {
	switch f {
	case llm.FinishLength:
		return "MAX_TOKENS"
	case llm.FinishContentFilter:
		return "SAFETY"
	case llm.FinishError:
		return "OTHER"
	}
	return "STOP"
}

func (c *geminiCodec) DecodeResponse(body []byte) (*llm.Response, error) {
	var in geminiResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decoding gemini response: %w", err)
	}
	resp := &llm.Response{ID: in.ResponseID, Model: in.ModelVersion, Message: llm.Message{Role: llm.RoleAssistant}}
	if in.UsageMetadata != nil {
		resp.Usage = in.UsageMetadata.canonical()
	}
	if len(in.Candidates) == 0 {
		if in.PromptFeedback != nil && in.PromptFeedback.BlockReason != "" {
			resp.Finish = llm.FinishContentFilter
		}
		return resp, nil
	}
	cand := &in.Candidates[0]
	sawCalls := false
	if cand.Content != nil {
		tmp := &llm.Request{}
		if err := c.decodeContent(tmp, &geminiContent{Role: "model", Parts: cand.Content.Parts}, map[string][]string{}); err != nil {
			return nil, fmt.Errorf("decoding gemini response content: %w", err)
		}
		for _, m := range tmp.Messages {
			resp.Message.Parts = append(resp.Message.Parts, m.Parts...)
		}
		for _, p := range resp.Message.Parts {
			if p.Kind == llm.PartToolCall {
				sawCalls = true
			}
		}
	}
	resp.Finish = geminiFinish(cand.FinishReason, sawCalls)
	return resp, nil
}

func (c *geminiCodec) EncodeResponse(resp *llm.Response) ([]byte, error) {
	parts := make([]geminiPart, 0, len(resp.Message.Parts))
	for _, p := range resp.Message.Parts {
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			t := p.Text
			parts = append(parts, geminiPart{Text: &t, ThoughtSignature: p.ThoughtSignature})
		case llm.PartThinking:
			t := p.Thinking.Text
			gp := geminiPart{Text: &t, Thought: true}
			if p.Thinking.SignatureFormat == llm.FormatGemini {
				gp.ThoughtSignature = p.Thinking.Signature
			}
			parts = append(parts, gp)
		case llm.PartToolCall:
			parts = append(parts, geminiPart{ThoughtSignature: p.ThoughtSignature, FunctionCall: &geminiFunctionCall{
				ID: p.ToolCall.ID, Name: p.ToolCall.Name, Args: rawOr(p.ToolCall.Arguments, "{}")}})
		}
	}
	out := map[string]any{
		"candidates": []map[string]any{{
			"content":      geminiContent{Role: "model", Parts: parts},
			"finishReason": geminiFinishString(resp.Finish),
			"index":        0,
		}},
		"usageMetadata": json.RawMessage(appendGeminiUsage(nil, resp.Usage)),
		"modelVersion":  resp.Model,
		"responseId":    resp.ID,
	}
	return marshalNoEscape(out)
}

type geminiErrorBody struct {
	Error *struct {
		Code    int               `json:"code"`
		Message string            `json:"message"`
		Status  string            `json:"status"`
		Details []json.RawMessage `json:"details"`
	} `json:"error"`
}

func (c *geminiCodec) DecodeError(status int, h http.Header, body []byte) *llm.Error {
	e := newUpstreamError(status, h, c.env)
	var w geminiErrorBody
	// Some Gemini errors arrive wrapped in a one-element array.
	if b := strings.TrimSpace(string(body)); strings.HasPrefix(b, "[") {
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) == nil && len(arr) > 0 {
			body = arr[0]
		}
	}
	if json.Unmarshal(body, &w) != nil || w.Error == nil {
		_, e.Type = geminiStatus(status)
		e.Message = fallbackMessage(status, body)
		return e
	}
	fillGeminiError(e, &w)
	return e
}

func fillGeminiError(e *llm.Error, w *geminiErrorBody) {
	e.Message, e.Type = w.Error.Message, w.Error.Status
	if e.Status == 0 {
		e.Status = w.Error.Code
		if e.Status == 0 {
			e.Status = geminiStatusHTTP(w.Error.Status)
		}
	}
	for _, d := range w.Error.Details {
		var det struct {
			Type       string `json:"@type"`
			RetryDelay string `json:"retryDelay"`
			Reason     string `json:"reason"`
		}
		if json.Unmarshal(d, &det) != nil {
			continue
		}
		if strings.HasSuffix(det.Type, "google.rpc.RetryInfo") && det.RetryDelay != "" {
			// retryDelay is a protobuf Duration string such as "30s" or "1.5s" (WIRE.md §4.5).
			if dur, err := time.ParseDuration(det.RetryDelay); err == nil && dur > e.RetryAfter {
				e.RetryAfter = dur
			}
		}
		if det.Reason != "" && e.Code == "" {
			e.Code = det.Reason
		}
	}
}

func (c *geminiCodec) EncodeError(e *llm.Error) []byte { return geminiErrorJSON(e) }

// geminiErrorJSON renders {"error":{code, message, status, details?}} (WIRE.md §4.5) with a RetryInfo
// detail when e has a retry hint.
func geminiErrorJSON(e *llm.Error) []byte {
	code, status := geminiStatus(e.Status)
	if isGeminiStatusName(e.Type) && geminiStatusHTTP(e.Type) == code {
		status = e.Type
	}
	b := []byte(`{"error":{"code":`)
	b = appendInt(b, int64(code))
	b = append(b, `,"message":`...)
	b = appendString(b, errorMessage(e))
	b = append(b, `,"status":`...)
	b = appendString(b, status)
	if e.RetryAfter > 0 {
		b = append(b, `,"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":`...)
		b = appendString(b, fmt.Sprintf("%gs", e.RetryAfter.Seconds()))
		b = append(b, "}]"...)
	}
	return append(b, "}}"...)
}
