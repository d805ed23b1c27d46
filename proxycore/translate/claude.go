package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// claudeCodec is the Anthropic Messages format (WIRE.md §3).
type claudeCodec struct{ env *env }

var _ Codec = (*claudeCodec)(nil)

func (c *claudeCodec) Format() llm.Format { return llm.FormatClaude }

type claudeRequest struct {
	Model         string             `json:"model"`
	MaxTokens     *int               `json:"max_tokens"`
	Messages      []claudeMessage    `json:"messages"`
	System        json.RawMessage    `json:"system"`
	StopSequences []string           `json:"stop_sequences"`
	Stream        bool               `json:"stream"`
	Temperature   *float64           `json:"temperature"`
	TopP          *float64           `json:"top_p"`
	TopK          *int               `json:"top_k"`
	Metadata      *claudeMetadata    `json:"metadata"`
	Tools         []claudeTool       `json:"tools"`
	ToolChoice    *claudeToolChoice  `json:"tool_choice"`
	Thinking      *claudeThinking    `json:"thinking"`
	OutputConfig  *claudeOutputConfg `json:"output_config"`
}

var claudeKnown = map[string]bool{"model": true, "max_tokens": true, "messages": true, "system": true,
	"stop_sequences": true, "stream": true, "temperature": true, "top_p": true, "top_k": true, "metadata": true,
	"tools": true, "tool_choice": true, "thinking": true, "output_config": true}

type claudeMetadata struct {
	UserID string `json:"user_id,omitempty"`
}

type claudeOutputConfg struct {
	Effort string `json:"effort,omitempty"`
	Format *struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema,omitempty"`
	} `json:"format,omitempty"`
}

type claudeMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type claudeBlock struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	Source       *claudeSource   `json:"source"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"`
	IsError      bool            `json:"is_error"`
	Thinking     string          `json:"thinking"`
	Signature    string          `json:"signature"`
	Data         string          `json:"data"`
	Title        string          `json:"title"`
	CacheControl json.RawMessage `json:"cache_control"`
}

type claudeSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
	FileID    string `json:"file_id,omitempty"`
}

type claudeTool struct {
	Type        string          `json:"type,omitempty"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

type claudeToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse *bool  `json:"disable_parallel_tool_use,omitempty"`
}

type claudeThinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
	Display      string `json:"display,omitempty"`
}

// foreignSigPrefix marks a thinking signature issued by another vendor when it is handed to a Claude
// client, so that it can come back to that vendor; the Claude encoder never sends such a block upstream.
const foreignSigPrefix = "cliproxy:"

// wrapSignature renders a signature for a Claude client.
func wrapSignature(sig string, f llm.Format) string {
	if f == llm.FormatClaude || sig == "" {
		return sig
	}
	return foreignSigPrefix + string(f) + ":" + sig
}

// unwrapSignature reads a Claude client's signature back into (signature, issuer).
func unwrapSignature(sig string) (string, llm.Format) {
	if rest, ok := strings.CutPrefix(sig, foreignSigPrefix); ok {
		if f, s, ok := strings.Cut(rest, ":"); ok {
			return s, llm.Format(f)
		}
	}
	if sig == "" {
		return "", ""
	}
	return sig, llm.FormatClaude
}

func (c *claudeCodec) DecodeRequest(body []byte) (*llm.Request, error) {
	var in claudeRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, llm.BadRequest("invalid messages request: %v", err)
	}
	if in.Model == "" {
		return nil, llm.BadRequest("model: field required")
	}
	req := &llm.Request{Model: in.Model, Stream: in.Stream, MaxTokens: in.MaxTokens, Temperature: in.Temperature,
		TopP: in.TopP, TopK: in.TopK, Stop: in.StopSequences, SourceFormat: llm.FormatClaude,
		Extra: extraFields(body, claudeKnown), IncludeUsage: true}
	if in.Metadata != nil {
		req.User = in.Metadata.UserID
	}
	sys, err := decodeClaudeSystem(in.System)
	if err != nil {
		return nil, err
	}
	req.System = sys
	for _, t := range in.Tools {
		typ := "function"
		if t.Type != "" && t.Type != "custom" {
			typ = t.Type
		}
		req.Tools = append(req.Tools, llm.Tool{Type: typ, Name: t.Name, Description: t.Description, Parameters: t.InputSchema, Strict: t.Strict})
	}
	if tc := in.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto":
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		case "any":
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
		case "tool":
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: tc.Name}
		case "none":
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
		default:
			return nil, llm.BadRequest("tool_choice.type: unknown value %q", tc.Type)
		}
		if tc.DisableParallelToolUse != nil && *tc.DisableParallelToolUse {
			req.ParallelToolCalls = ptr(false)
		}
	}
	if th := in.Thinking; th != nil {
		switch th.Type {
		case "enabled":
			req.Reasoning = &llm.Reasoning{BudgetTokens: ptr(th.BudgetTokens), IncludeThoughts: th.Display != "omitted"}
		case "adaptive":
			req.Reasoning = &llm.Reasoning{Adaptive: true, IncludeThoughts: th.Display != "omitted"}
		}
	}
	if oc := in.OutputConfig; oc != nil {
		if oc.Effort != "" {
			if req.Reasoning == nil {
				req.Reasoning = &llm.Reasoning{}
			}
			req.Reasoning.Effort = oc.Effort
		}
		if oc.Format != nil && oc.Format.Type == "json_schema" {
			req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Schema: oc.Format.Schema}
		}
	}
	for i := range in.Messages {
		if err := decodeClaudeMessage(req, &in.Messages[i], i); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func decodeClaudeSystem(raw json.RawMessage) ([]llm.Part, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if isString(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, llm.BadRequest("system: %v", err)
		}
		return []llm.Part{{Kind: llm.PartText, Text: s}}, nil
	}
	var blocks []claudeBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, llm.BadRequest("system: must be a string or an array of text blocks")
	}
	out := make([]llm.Part, 0, len(blocks))
	for _, b := range blocks {
		if b.Type != "text" {
			return nil, llm.BadRequest("system: unsupported block type %q", b.Type)
		}
		out = append(out, textPart(b.Text, b.CacheControl))
	}
	return out, nil
}

func textPart(text string, cacheControl json.RawMessage) llm.Part {
	p := llm.Part{Kind: llm.PartText, Text: text}
	if len(cacheControl) > 0 && string(cacheControl) != "null" {
		p.Extra = map[string]json.RawMessage{"cache_control": cacheControl}
	}
	return p
}

func decodeClaudeBlocks(raw json.RawMessage) ([]claudeBlock, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if isString(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []claudeBlock{{Type: "text", Text: s}}, nil
	}
	var blocks []claudeBlock
	err := json.Unmarshal(raw, &blocks)
	return blocks, err
}

func decodeClaudeMessage(req *llm.Request, m *claudeMessage, i int) error {
	blocks, err := decodeClaudeBlocks(m.Content)
	if err != nil {
		return llm.BadRequest("messages.%d.content: must be a string or an array of content blocks", i)
	}
	var role llm.Role
	switch m.Role {
	case "user":
		role = llm.RoleUser
	case "assistant":
		role = llm.RoleAssistant
	case "system":
		role = llm.RoleSystem
	default:
		return llm.BadRequest("messages.%d.role: unknown role %q", i, m.Role)
	}
	var results, parts []llm.Part
	for j, b := range blocks {
		p, ok, err := decodeClaudeBlock(&b)
		if err != nil {
			return llm.BadRequest("messages.%d.content.%d: %v", i, j, err)
		}
		if !ok {
			continue
		}
		if p.Kind == llm.PartToolResult {
			results = append(results, p)
		} else {
			parts = append(parts, p)
		}
	}
	if len(results) > 0 {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, Parts: results})
	}
	if len(parts) > 0 || len(results) == 0 {
		req.Messages = append(req.Messages, llm.Message{Role: role, Parts: parts})
	}
	return nil
}

// decodeClaudeBlock converts one content block; ok is false for blocks that have no canonical form
// (server-tool blocks), which are dropped.
func decodeClaudeBlock(b *claudeBlock) (llm.Part, bool, error) {
	switch b.Type {
	case "text":
		return textPart(b.Text, b.CacheControl), true, nil
	case "image", "document":
		if b.Source == nil {
			return llm.Part{}, false, fmt.Errorf("%s block without source", b.Type)
		}
		kind := llm.PartImage
		if b.Type == "document" {
			kind = llm.PartFile
		}
		m := &llm.Media{MIME: b.Source.MediaType, FileID: b.Source.FileID, Filename: b.Title}
		switch b.Source.Type {
		case "base64":
			m.Data = b.Source.Data
		case "url":
			m.URL = b.Source.URL
		case "file":
		case "text":
			kind = llm.PartText
			return llm.Part{Kind: kind, Text: b.Source.Data}, true, nil
		default:
			return llm.Part{}, false, fmt.Errorf("unsupported %s source type %q", b.Type, b.Source.Type)
		}
		return llm.Part{Kind: kind, Media: m}, true, nil
	case "tool_use":
		return llm.Part{Kind: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: rawOr(b.Input, "{}")}}, true, nil
	case "tool_result":
		inner, err := decodeClaudeBlocks(b.Content)
		if err != nil {
			return llm.Part{}, false, fmt.Errorf("tool_result content: %w", err)
		}
		r := &llm.ToolResult{CallID: b.ToolUseID, IsError: b.IsError}
		for _, ib := range inner {
			p, ok, err := decodeClaudeBlock(&ib)
			if err != nil {
				return llm.Part{}, false, err
			}
			if ok {
				r.Content = append(r.Content, p)
			}
		}
		return llm.Part{Kind: llm.PartToolResult, ToolResult: r}, true, nil
	case "thinking":
		sig, f := unwrapSignature(b.Signature)
		return llm.Part{Kind: llm.PartThinking, Thinking: &llm.Thinking{Text: b.Thinking, Signature: sig, SignatureFormat: f}}, true, nil
	case "redacted_thinking":
		return llm.Part{Kind: llm.PartRedactedThinking, Thinking: &llm.Thinking{Data: b.Data, SignatureFormat: llm.FormatClaude}}, true, nil
	}
	return llm.Part{}, false, nil
}

// claudeImageTypes are the only image types Anthropic accepts (WIRE.md §5.7).
var claudeImageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

func (c *claudeCodec) EncodeRequest(req *llm.Request) ([]byte, error) {
	if err := checkPortable(req, "Anthropic"); err != nil {
		return nil, err
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
	if len(tools) > 0 {
		ts := make([]claudeTool, 0, len(tools))
		for _, t := range tools {
			ts = append(ts, claudeTool{Name: t.Name, Description: t.Description, InputSchema: claudeSchema(t.Parameters), Strict: t.Strict})
		}
		out["tools"] = ts
	}
	thinkingBudget := reasoningBudget(req.Reasoning)
	adaptive := req.Reasoning != nil && req.Reasoning.Adaptive && req.SourceFormat == llm.FormatClaude
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
