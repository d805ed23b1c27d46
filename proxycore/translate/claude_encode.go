package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// claudeImageTypes are the only image types Anthropic accepts (WIRE.md §5.7).
var claudeImageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

func (c *claudeCodec) EncodeRequest(req *llm.Request) ([]byte, error) {
	if err := checkPortable(req, "Anthropic"); err != nil {
		return nil, err
	}
	if req.N != nil && *req.N > 1 {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "n", Message: "n > 1 (several choices) is not supported by Anthropic"}
	}
	out := map[string]any{"model": req.Model}
	if req.Stream {
		out["stream"] = true
	}
	// System: the leading system prompt plus mid-conversation system messages, folded in order
	// (WIRE.md §5.1).
	var sys []map[string]any
	addSys := func(parts []llm.Part) {
		for _, p := range parts {
			if p.Kind == llm.PartText && p.Text != "" {
				sys = append(sys, claudeTextBlock(p, req.SourceFormat == llm.FormatClaude))
			}
		}
	}
	addSys(req.System)
	var msgs []map[string]any
	lastRole := ""
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == llm.RoleSystem {
			addSys(m.Parts)
			continue
		}
		role := "user"
		if m.Role == llm.RoleAssistant {
			role = "assistant"
		}
		blocks, err := claudeBlocks(m, req.SourceFormat == llm.FormatClaude)
		if err != nil {
			return nil, err
		}
		if len(blocks) == 0 {
			continue
		}
		if role == lastRole {
			prev := msgs[len(msgs)-1]
			pb := prev["content"].([]map[string]any)
			prev["content"] = mergeClaudeTurn(pb, blocks)
			continue
		}
		msgs = append(msgs, map[string]any{"role": role, "content": blocks})
		lastRole = role
	}
	if len(sys) > 0 {
		out["system"] = sys
	}
	out["messages"] = msgsOrEmpty(msgs)

	tools := functionTools(req.Tools)
	if tc := req.ToolChoice; tc != nil && len(tc.Allowed) > 0 {
		// Anthropic has no allowed-subset choice: filter the declared tools instead (WIRE.md §5.3).
		tools = filterTools(tools, tc.Allowed)
	}
	sameFormat := req.SourceFormat == llm.FormatClaude
	if sameFormat {
		tools = tools[:0:0]
		for _, t := range req.Tools {
			if t.Extra["claude"] != nil || t.Type == "" || t.Type == "function" {
				tools = append(tools, t)
			}
		}
	}
	if len(tools) > 0 {
		ts := make([]any, 0, len(tools))
		for _, t := range tools {
			if raw := t.Extra["claude"]; sameFormat && raw != nil {
				ts = append(ts, raw)
				continue
			}
			ts = append(ts, claudeTool{Name: t.Name, Description: t.Description, InputSchema: claudeSchema(t.Parameters), Strict: t.Strict})
		}
		out["tools"] = ts
	}
	thinkingBudget := reasoningBudget(req.Reasoning)
	adaptive := req.Reasoning != nil && req.Reasoning.Adaptive && req.SourceFormat == llm.FormatClaude && req.Reasoning.Effort != "none"
	if thinkingBudget != 0 && !adaptive && lastAssistantNeedsThinking(req) {
		// With thinking on, Anthropic requires the last assistant turn of a tool loop to start with a
		// signed thinking block; a history from another vendor cannot have one, and signatures are never
		// forged, so thinking is turned off for this request instead.
		thinkingBudget = 0
	}
	tc := req.ToolChoice
	if thinkingBudget != 0 && tc != nil && (tc.Mode == llm.ToolChoiceRequired || tc.Mode == llm.ToolChoiceTool) {
		thinkingBudget = 0 // forced tool use is rejected with thinking on (WIRE.md §6): keep the forced tool
	}
	if tc != nil || req.ParallelToolCalls != nil && !*req.ParallelToolCalls {
		if ct := claudeToolChoiceFor(tc, req.ParallelToolCalls); ct != nil && (len(tools) > 0 || ct.Type == "none") {
			out["tool_choice"] = ct
		}
	}
	maxTokens := claudeDefaultMaxTokens
	if req.MaxTokens != nil {
		maxTokens = *req.MaxTokens
	}
	thinkingOn := false
	switch {
	case adaptive:
		th := map[string]any{"type": "adaptive"}
		if !req.Reasoning.IncludeThoughts {
			th["display"] = "omitted"
		}
		out["thinking"] = th
		thinkingOn = true
		if req.Reasoning.Effort != "" {
			out["output_config"] = map[string]any{"effort": req.Reasoning.Effort}
		}
	case thinkingBudget != 0:
		budget := thinkingBudget
		if budget < 0 {
			budget, _ = effortBudget("medium")
		}
		budget = max(budget, claudeMinBudget)
		if req.MaxTokens == nil {
			maxTokens = budget + claudeAnswerReserve
		}
		if budget >= maxTokens {
			budget = maxTokens - 1
		}
		if budget >= claudeMinBudget {
			th := map[string]any{"type": "enabled", "budget_tokens": budget}
			if req.Reasoning != nil && !req.Reasoning.IncludeThoughts && req.SourceFormat == llm.FormatClaude {
				th["display"] = "omitted"
			}
			out["thinking"] = th
			thinkingOn = true
		}
	}
	out["max_tokens"] = maxTokens
	if !thinkingOn {
		if t := req.Temperature; t != nil {
			out["temperature"] = min(max(*t, 0), 1) // Anthropic's range is 0-1; OpenAI's 0-2 is clamped
		}
		if req.TopK != nil {
			out["top_k"] = *req.TopK
		}
	}
	if req.TopP != nil {
		out["top_p"] = *req.TopP
	}
	if len(req.Stop) > 0 {
		out["stop_sequences"] = req.Stop
	}
	if req.User != "" {
		out["metadata"] = claudeMetadata{UserID: req.User}
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" && len(rf.Schema) > 0 {
		oc, _ := out["output_config"].(map[string]any)
		if oc == nil {
			oc = map[string]any{}
		}
		oc["format"] = map[string]any{"type": "json_schema", "schema": rf.Schema}
		out["output_config"] = oc
	}
	if req.SourceFormat == llm.FormatClaude {
		for k, v := range req.Extra {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	b, err := marshalNoEscape(out)
	if err != nil {
		return nil, fmt.Errorf("encoding messages request: %w", err)
	}
	return b, nil
}

func msgsOrEmpty(m []map[string]any) any {
	if m == nil {
		return []any{}
	}
	return m
}

func filterTools(tools []llm.Tool, allowed []string) []llm.Tool {
	var out []llm.Tool
	for _, t := range tools {
		for _, n := range allowed {
			if t.Name == n {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// claudeSchema returns an input_schema: the tool's schema, or an empty object schema when it has none
// (Anthropic requires type "object", WIRE.md §5.2).
func claudeSchema(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return raw
}

func claudeToolChoiceFor(tc *llm.ToolChoice, parallel *bool) *claudeToolChoice {
	out := &claudeToolChoice{Type: "auto"}
	if tc != nil {
		switch tc.Mode {
		case llm.ToolChoiceNone:
			return &claudeToolChoice{Type: "none"}
		case llm.ToolChoiceRequired:
			out.Type = "any"
		case llm.ToolChoiceTool:
			out.Type, out.Name = "tool", tc.Name
		}
	}
	if parallel != nil && !*parallel {
		out.DisableParallelToolUse = ptr(true)
	}
	return out
}

// lastAssistantNeedsThinking reports whether the conversation is in a tool loop whose last assistant
// turn lacks the Claude-signed thinking block Anthropic requires when thinking is on.
func lastAssistantNeedsThinking(req *llm.Request) bool {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := &req.Messages[i]
		if m.Role != llm.RoleAssistant {
			continue
		}
		hasCall := false
		for _, p := range m.Parts {
			if p.Kind == llm.PartToolCall {
				hasCall = true
			}
		}
		if !hasCall {
			return false
		}
		for _, p := range m.Parts {
			if (p.Kind == llm.PartThinking || p.Kind == llm.PartRedactedThinking) && p.Thinking.SignatureFormat == llm.FormatClaude &&
				(p.Thinking.Signature != "" || p.Thinking.Data != "") {
				return false
			}
		}
		return true
	}
	return false
}

func claudeTextBlock(p llm.Part, keepExtra bool) map[string]any {
	b := map[string]any{"type": "text", "text": p.Text}
	if keepExtra {
		if cc, ok := p.Extra["cache_control"]; ok {
			b["cache_control"] = cc
		}
	}
	return b
}

func claudeBlocks(m *llm.Message, keepExtra bool) ([]map[string]any, error) {
	var out []map[string]any
	for _, p := range m.Parts {
		b, err := encodeClaudeBlock(p, keepExtra)
		if err != nil {
			return nil, err
		}
		if b != nil {
			if cc, ok := p.Extra["cache_control"]; ok && keepExtra {
				b["cache_control"] = cc
			}
			out = append(out, b)
		}
	}
	return out, nil
}

func claudeMediaBlock(p llm.Part) (map[string]any, error) {
	m := p.Media
	typ := "image"
	if p.Kind == llm.PartFile {
		typ = "document"
	}
	var src map[string]any
	switch {
	case m.Data != "":
		if typ == "image" && !claudeImageTypes[m.MIME] {
			return nil, llm.BadRequest("image type %q is not supported by Anthropic (jpeg, png, gif, webp only)", m.MIME)
		}
		if typ == "document" && m.MIME != "application/pdf" {
			return nil, llm.BadRequest("file type %q is not supported by Anthropic (PDF only)", m.MIME)
		}
		src = map[string]any{"type": "base64", "media_type": m.MIME, "data": m.Data}
	case m.URL != "":
		if !strings.HasPrefix(m.URL, "https://") && !strings.HasPrefix(m.URL, "http://") {
			return nil, llm.BadRequest("%s URL %q is not supported by Anthropic (https URLs only)", typ, m.URL)
		}
		src = map[string]any{"type": "url", "url": m.URL}
	case m.FileID != "":
		src = map[string]any{"type": "file", "file_id": m.FileID}
	default:
		return nil, llm.BadRequest("%s part without data", typ)
	}
	b := map[string]any{"type": typ, "source": src}
	if typ == "document" && m.Filename != "" {
		b["title"] = m.Filename
	}
	return b, nil
}

func encodeClaudeBlock(p llm.Part, keepExtra bool) (map[string]any, error) {
	switch p.Kind {
	case llm.PartText:
		if p.Text == "" {
			return nil, nil // Anthropic rejects empty text blocks
		}
		return claudeTextBlock(p, keepExtra), nil
	case llm.PartRefusal:
		return map[string]any{"type": "text", "text": p.Text}, nil
	case llm.PartImage, llm.PartFile:
		return claudeMediaBlock(p)
	case llm.PartAudio:
		return nil, llm.BadRequest("audio input is not supported by Anthropic")
	case llm.PartToolCall:
		return map[string]any{"type": "tool_use", "id": p.ToolCall.ID, "name": p.ToolCall.Name, "input": rawOr(p.ToolCall.Arguments, "{}")}, nil
	case llm.PartToolResult:
		r := p.ToolResult
		b := map[string]any{"type": "tool_result", "tool_use_id": r.CallID}
		if r.IsError {
			b["is_error"] = true
		}
		onlyText := true
		for _, ip := range r.Content {
			if ip.Kind != llm.PartText {
				onlyText = false
			}
		}
		if onlyText {
			b["content"] = llm.TextOf(r.Content)
		} else {
			var inner []map[string]any
			for _, ip := range r.Content {
				ib, err := encodeClaudeBlock(ip, keepExtra)
				if err != nil {
					return nil, err
				}
				if ib != nil {
					inner = append(inner, ib)
				}
			}
			b["content"] = inner
		}
		return b, nil
	case llm.PartThinking:
		// Only Claude-issued signatures go back to Anthropic, byte-exact; others are dropped, never forged.
		if p.Thinking.SignatureFormat != llm.FormatClaude || p.Thinking.Signature == "" {
			return nil, nil
		}
		return map[string]any{"type": "thinking", "thinking": p.Thinking.Text, "signature": p.Thinking.Signature}, nil
	case llm.PartRedactedThinking:
		if p.Thinking.SignatureFormat != llm.FormatClaude {
			return nil, nil
		}
		return map[string]any{"type": "redacted_thinking", "data": p.Thinking.Data}, nil
	}
	return nil, nil
}

// mergeClaudeTurn appends blocks to a same-role turn, keeping tool_result blocks ahead of all other
// blocks of the turn (WIRE.md §3.2).
func mergeClaudeTurn(prev, blocks []map[string]any) []map[string]any {
	n := 0
	for n < len(prev) && prev[n]["type"] == "tool_result" {
		n++
	}
	out := make([]map[string]any, 0, len(prev)+len(blocks))
	out = append(out, prev[:n]...)
	var rest []map[string]any
	for _, b := range blocks {
		if b["type"] == "tool_result" {
			out = append(out, b)
		} else {
			rest = append(rest, b)
		}
	}
	out = append(out, prev[n:]...)
	return append(out, rest...)
}
