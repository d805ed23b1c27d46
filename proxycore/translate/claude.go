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
	var rawTools []json.RawMessage
	if len(in.Tools) > 0 {
		var w struct {
			Tools []json.RawMessage `json:"tools"`
		}
		_ = json.Unmarshal(body, &w)
		rawTools = w.Tools
	}
	for i, t := range in.Tools {
		typ := "function"
		if t.Type != "" && t.Type != "custom" {
			typ = t.Type
		}
		tool := llm.Tool{Type: typ, Name: t.Name, Description: t.Description, Parameters: t.InputSchema, Strict: t.Strict}
		if i < len(rawTools) {
			// Kept whole (cache_control, defer_loading, server tools) for re-encoding to Anthropic.
			tool.Extra = map[string]json.RawMessage{"claude": rawTools[i]}
		}
		req.Tools = append(req.Tools, tool)
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
	p, ok, err := decodeClaudeBlockPayload(b)
	if ok && err == nil && p.Extra == nil && len(b.CacheControl) > 0 && string(b.CacheControl) != "null" {
		p.Extra = map[string]json.RawMessage{"cache_control": b.CacheControl}
	}
	return p, ok, err
}

func decodeClaudeBlockPayload(b *claudeBlock) (llm.Part, bool, error) {
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
