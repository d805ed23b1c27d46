package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// chatCodec is the OpenAI Chat Completions format (WIRE.md §1).
type chatCodec struct{ env *env }

var _ Codec = (*chatCodec)(nil)

func (c *chatCodec) Format() llm.Format { return llm.FormatOpenAIChat }

type chatRequest struct {
	Model               string             `json:"model"`
	Messages            []chatMessage      `json:"messages"`
	Stream              bool               `json:"stream,omitempty"`
	StreamOptions       *chatStreamOptions `json:"stream_options,omitempty"`
	Temperature         *float64           `json:"temperature,omitempty"`
	TopP                *float64           `json:"top_p,omitempty"`
	MaxCompletionTokens *int               `json:"max_completion_tokens,omitempty"`
	MaxTokens           *int               `json:"max_tokens,omitempty"`
	Stop                json.RawMessage    `json:"stop,omitempty"`
	N                   *int               `json:"n,omitempty"`
	Seed                *int64             `json:"seed,omitempty"`
	ResponseFormat      *chatRespFormat    `json:"response_format,omitempty"`
	ReasoningEffort     string             `json:"reasoning_effort,omitempty"`
	Tools               []chatTool         `json:"tools,omitempty"`
	ToolChoice          json.RawMessage    `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool              `json:"parallel_tool_calls,omitempty"`
	User                string             `json:"user,omitempty"`
}

var chatKnown = map[string]bool{"model": true, "messages": true, "stream": true, "stream_options": true,
	"temperature": true, "top_p": true, "max_completion_tokens": true, "max_tokens": true, "stop": true,
	"n": true, "seed": true, "response_format": true, "reasoning_effort": true, "tools": true,
	"tool_choice": true, "parallel_tool_calls": true, "user": true}

type chatStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatRespFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name,omitempty"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	} `json:"json_schema,omitempty"`
}

type chatMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content,omitempty"`
	Name             string          `json:"name,omitempty"`
	ToolCalls        []chatToolCall  `json:"tool_calls,omitempty"`
	ToolCallID       string          `json:"tool_call_id,omitempty"`
	ReasoningContent *string         `json:"reasoning_content,omitempty"`
	Refusal          *string         `json:"refusal,omitempty"`
}

type chatPart struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Refusal  string `json:"refusal,omitempty"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail,omitempty"`
	} `json:"image_url,omitempty"`
	InputAudio *struct {
		Data   string `json:"data"`
		Format string `json:"format"`
	} `json:"input_audio,omitempty"`
	File *struct {
		FileID   string `json:"file_id,omitempty"`
		FileData string `json:"file_data,omitempty"`
		Filename string `json:"filename,omitempty"`
	} `json:"file,omitempty"`
}

type chatToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	} `json:"function"`
}

func (c *chatCodec) DecodeRequest(body []byte) (*llm.Request, error) {
	var in chatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, llm.BadRequest("invalid chat completions request: %v", err)
	}
	if in.Model == "" {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "model", Message: "you must provide a model parameter"}
	}
	req := &llm.Request{
		Model: in.Model, Stream: in.Stream, Temperature: in.Temperature, TopP: in.TopP, N: in.N, Seed: in.Seed,
		ParallelToolCalls: in.ParallelToolCalls, User: in.User, SourceFormat: llm.FormatOpenAIChat,
		Extra: extraFields(body, chatKnown),
	}
	req.MaxTokens = in.MaxCompletionTokens
	if req.MaxTokens == nil {
		req.MaxTokens = in.MaxTokens
	}
	if in.StreamOptions != nil {
		req.IncludeUsage = in.StreamOptions.IncludeUsage
	}
	var err error
	if req.Stop, err = stringOrStrings(in.Stop); err != nil {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "stop", Message: "stop must be a string or an array of strings"}
	}
	if in.ReasoningEffort != "" {
		req.Reasoning = &llm.Reasoning{Effort: in.ReasoningEffort, IncludeThoughts: in.ReasoningEffort != "none"}
	}
	if rf := in.ResponseFormat; rf != nil {
		req.ResponseFormat = &llm.ResponseFormat{Type: rf.Type}
		if rf.JSONSchema != nil {
			req.ResponseFormat.Name, req.ResponseFormat.Description = rf.JSONSchema.Name, rf.JSONSchema.Description
			req.ResponseFormat.Schema, req.ResponseFormat.Strict = rf.JSONSchema.Schema, rf.JSONSchema.Strict
		}
	}
	for _, t := range in.Tools {
		if t.Type != "" && t.Type != "function" {
			req.Tools = append(req.Tools, llm.Tool{Type: t.Type})
			continue
		}
		req.Tools = append(req.Tools, llm.Tool{Type: "function", Name: t.Function.Name, Description: t.Function.Description,
			Parameters: t.Function.Parameters, Strict: t.Function.Strict})
	}
	if req.ToolChoice, err = decodeChatToolChoice(in.ToolChoice); err != nil {
		return nil, err
	}
	for i, m := range in.Messages {
		msg, err := decodeChatMessage(&m)
		if err != nil {
			return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: fmt.Sprintf("messages[%d]", i), Message: fmt.Sprintf("messages[%d]: %v", i, err)}
		}
		if msg.Role == llm.RoleSystem && len(req.Messages) == 0 {
			req.System = append(req.System, msg.Parts...)
			continue
		}
		req.Messages = append(req.Messages, msg)
	}
	return req, nil
}

func decodeChatToolChoice(raw json.RawMessage) (*llm.ToolChoice, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if isString(raw) {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto":
			return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
		case "none":
			return &llm.ToolChoice{Mode: llm.ToolChoiceNone}, nil
		case "required":
			return &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, nil
		}
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "tool_choice", Message: fmt.Sprintf("unknown tool_choice %q", s)}
	}
	var o struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
		Custom struct {
			Name string `json:"name"`
		} `json:"custom"`
		AllowedTools struct {
			Mode  string     `json:"mode"`
			Tools []chatTool `json:"tools"`
		} `json:"allowed_tools"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "tool_choice", Message: "invalid tool_choice: " + err.Error()}
	}
	switch o.Type {
	case "function":
		return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: o.Function.Name}, nil
	case "custom":
		return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: o.Custom.Name}, nil
	case "allowed_tools":
		tc := &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		if o.AllowedTools.Mode == "required" {
			tc.Mode = llm.ToolChoiceRequired
		}
		for _, t := range o.AllowedTools.Tools {
			tc.Allowed = append(tc.Allowed, t.Function.Name)
		}
		return tc, nil
	}
	return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "tool_choice", Message: fmt.Sprintf("unknown tool_choice type %q", o.Type)}
}

func decodeChatMessage(m *chatMessage) (llm.Message, error) {
	msg := llm.Message{Name: m.Name}
	switch m.Role {
	case "system", "developer":
		msg.Role = llm.RoleSystem
	case "user":
		msg.Role = llm.RoleUser
	case "assistant":
		msg.Role = llm.RoleAssistant
	case "tool", "function":
		msg.Role = llm.RoleTool
		parts, err := decodeChatContent(m.Content)
		if err != nil {
			return msg, err
		}
		msg.Parts = []llm.Part{{Kind: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: m.ToolCallID, Name: m.Name, Content: parts}}}
		return msg, nil
	default:
		return msg, fmt.Errorf("unknown role %q", m.Role)
	}
	if m.ReasoningContent != nil && *m.ReasoningContent != "" {
		msg.Parts = append(msg.Parts, llm.Part{Kind: llm.PartThinking, Thinking: &llm.Thinking{Text: *m.ReasoningContent}})
	}
	parts, err := decodeChatContent(m.Content)
	if err != nil {
		return msg, err
	}
	msg.Parts = append(msg.Parts, parts...)
	if m.Refusal != nil && *m.Refusal != "" {
		msg.Parts = append(msg.Parts, llm.Part{Kind: llm.PartRefusal, Text: *m.Refusal})
	}
	for _, tc := range m.ToolCalls {
		msg.Parts = append(msg.Parts, llm.Part{Kind: llm.PartToolCall, ToolCall: &llm.ToolCall{
			ID: tc.ID, Name: tc.Function.Name, Arguments: argsObject(tc.Function.Arguments)}})
	}
	return msg, nil
}

func decodeChatContent(raw json.RawMessage) ([]llm.Part, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if isString(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []llm.Part{{Kind: llm.PartText, Text: s}}, nil
	}
	var parts []chatPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, fmt.Errorf("content must be a string or an array of parts: %w", err)
	}
	out := make([]llm.Part, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case "text":
			out = append(out, llm.Part{Kind: llm.PartText, Text: p.Text})
		case "refusal":
			out = append(out, llm.Part{Kind: llm.PartRefusal, Text: p.Refusal})
		case "image_url":
			if p.ImageURL == nil {
				return nil, fmt.Errorf("image_url part without image_url")
			}
			out = append(out, llm.Part{Kind: llm.PartImage, Media: mediaFromURL(p.ImageURL.URL, p.ImageURL.Detail)})
		case "input_audio":
			if p.InputAudio == nil {
				return nil, fmt.Errorf("input_audio part without input_audio")
			}
			out = append(out, llm.Part{Kind: llm.PartAudio, Media: &llm.Media{MIME: "audio/" + p.InputAudio.Format, Data: p.InputAudio.Data}})
		case "file":
			if p.File == nil {
				return nil, fmt.Errorf("file part without file")
			}
			m := &llm.Media{FileID: p.File.FileID, Filename: p.File.Filename}
			if mime, data, ok := parseDataURL(p.File.FileData); ok {
				m.MIME, m.Data = mime, data
			} else if p.File.FileData != "" {
				m.MIME, m.Data = "application/pdf", p.File.FileData
			}
			out = append(out, llm.Part{Kind: llm.PartFile, Media: m})
		default:
			return nil, fmt.Errorf("unsupported content part type %q", p.Type)
		}
	}
	return out, nil
}

// mediaFromURL turns an OpenAI image URL (https or data URL) into canonical media.
func mediaFromURL(u, detail string) *llm.Media {
	if mime, data, ok := parseDataURL(u); ok {
		return &llm.Media{MIME: mime, Data: data, Detail: detail}
	}
	return &llm.Media{URL: u, Detail: detail}
}

// mediaURL renders media as an OpenAI image URL.
func mediaURL(m *llm.Media) string {
	if m.Data != "" {
		return dataURL(m.MIME, m.Data)
	}
	return m.URL
}

type chatOutMessage struct {
	Role             string         `json:"role"`
	Content          any            `json:"content"`
	Name             string         `json:"name,omitempty"`
	ToolCalls        []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID       string         `json:"tool_call_id,omitempty"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
}

func (c *chatCodec) EncodeRequest(req *llm.Request) ([]byte, error) {
	req = shortenToolNames(req, openAIMaxToolName)
	if err := checkPortable(req, "the OpenAI chat upstream"); err != nil {
		return nil, err
	}
	out := chatRequest{Model: req.Model, Stream: req.Stream, Temperature: req.Temperature, TopP: req.TopP,
		MaxCompletionTokens: req.MaxTokens, N: req.N, Seed: req.Seed, ParallelToolCalls: req.ParallelToolCalls, User: portableUser(req)}
	if req.Stream {
		out.StreamOptions = &chatStreamOptions{IncludeUsage: true} // always ask: spend accounting needs usage
	}
	if len(req.Stop) > 0 {
		out.Stop = mustMarshal(req.Stop)
	}
	out.ReasoningEffort = reasoningEffort(req.Reasoning)
	if rf := req.ResponseFormat; rf != nil {
		out.ResponseFormat = &chatRespFormat{Type: rf.Type}
		if rf.Type == "json_schema" {
			out.ResponseFormat.JSONSchema = &struct {
				Name        string          `json:"name,omitempty"`
				Description string          `json:"description,omitempty"`
				Schema      json.RawMessage `json:"schema,omitempty"`
				Strict      *bool           `json:"strict,omitempty"`
			}{Name: orDefault(rf.Name, "response"), Description: rf.Description, Schema: rf.Schema, Strict: rf.Strict}
		}
	}
	for _, t := range functionTools(req.Tools) {
		var ct chatTool
		ct.Type = "function"
		ct.Function.Name, ct.Function.Description, ct.Function.Parameters, ct.Function.Strict = t.Name, t.Description, t.Parameters, t.Strict
		out.Tools = append(out.Tools, ct)
	}
	if tc := req.ToolChoice; tc != nil {
		out.ToolChoice = encodeChatToolChoice(tc)
	}
	msgs := make([]chatOutMessage, 0, len(req.Messages)+1)
	if len(req.System) > 0 {
		msgs = append(msgs, chatOutMessage{Role: "system", Content: joinText(req.System)})
	}
	for i := range req.Messages {
		var err error
		if msgs, err = appendChatMessages(msgs, &req.Messages[i], req.SourceFormat == llm.FormatOpenAIChat); err != nil {
			return nil, err
		}
	}
	type wire struct {
		chatRequest
		Messages []chatOutMessage `json:"messages"`
	}
	b, err := marshalNoEscape(wire{chatRequest: out, Messages: msgs})
	if err != nil {
		return nil, fmt.Errorf("encoding chat request: %w", err)
	}
	if req.SourceFormat == llm.FormatOpenAIChat {
		b = mergeExtra(b, req.Extra)
	}
	return b, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// functionTools returns the function tools; hosted and custom (free-form) tools of other formats
// (web_search, apply_patch grammars, ...) have no equivalent in the target and are dropped deliberately.
func functionTools(tools []llm.Tool) []llm.Tool {
	out := tools[:0:0]
	for _, t := range tools {
		if t.Type == "" || t.Type == "function" {
			out = append(out, t)
		}
	}
	return out
}

func encodeChatToolChoice(tc *llm.ToolChoice) json.RawMessage {
	if len(tc.Allowed) > 0 {
		mode := "auto"
		if tc.Mode == llm.ToolChoiceRequired || tc.Mode == llm.ToolChoiceTool {
			mode = "required"
		}
		b := []byte(`{"type":"allowed_tools","allowed_tools":{"mode":"` + mode + `","tools":[`)
		for i, n := range tc.Allowed {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"function","function":{"name":`...)
			b = appendString(b, n)
			b = append(b, "}}"...)
		}
		return append(b, "]}}"...)
	}
	switch tc.Mode {
	case llm.ToolChoiceNone:
		return json.RawMessage(`"none"`)
	case llm.ToolChoiceRequired:
		return json.RawMessage(`"required"`)
	case llm.ToolChoiceTool:
		return append(appendString([]byte(`{"type":"function","function":{"name":`), tc.Name), "}}"...)
	}
	return json.RawMessage(`"auto"`)
}

// appendChatMessages converts one canonical message. Reasoning text goes back as reasoning_content only
// when the client itself sent it that way: some OpenAI-compatible servers reject the field in input.
func appendChatMessages(msgs []chatOutMessage, m *llm.Message, keepReasoning bool) ([]chatOutMessage, error) {
	switch m.Role {
	case llm.RoleSystem:
		return append(msgs, chatOutMessage{Role: "system", Content: joinText(m.Parts)}), nil
	case llm.RoleTool:
		for _, p := range m.Parts {
			if p.Kind != llm.PartToolResult {
				continue
			}
			msgs = append(msgs, chatOutMessage{Role: "tool", ToolCallID: p.ToolResult.CallID, Content: toolResultText(p.ToolResult)})
		}
		var rest []llm.Part
		for _, p := range m.Parts {
			if p.Kind != llm.PartToolResult {
				rest = append(rest, p)
			}
		}
		if len(rest) > 0 {
			return appendChatMessages(msgs, &llm.Message{Role: llm.RoleUser, Parts: rest}, keepReasoning)
		}
		return msgs, nil
	case llm.RoleAssistant:
		om := chatOutMessage{Role: "assistant", Name: m.Name}
		var text strings.Builder
		for _, p := range m.Parts {
			switch p.Kind {
			case llm.PartText:
				text.WriteString(p.Text)
			case llm.PartThinking:
				if keepReasoning {
					om.ReasoningContent += p.Thinking.Text
				}
			case llm.PartToolCall:
				var tc chatToolCall
				tc.ID, tc.Type = p.ToolCall.ID, "function"
				tc.Function.Name, tc.Function.Arguments = p.ToolCall.Name, argsString(p.ToolCall.Arguments)
				om.ToolCalls = append(om.ToolCalls, tc)
			}
		}
		if text.Len() > 0 || len(om.ToolCalls) == 0 {
			om.Content = text.String()
		}
		return append(msgs, om), nil
	}
	om := chatOutMessage{Role: "user", Name: m.Name}
	if len(m.Parts) == 1 && m.Parts[0].Kind == llm.PartText {
		om.Content = m.Parts[0].Text
		return append(msgs, om), nil
	}
	parts := make([]map[string]any, 0, len(m.Parts))
	var toolMsgs []chatOutMessage
	for _, p := range m.Parts {
		switch p.Kind {
		case llm.PartText:
			parts = append(parts, map[string]any{"type": "text", "text": p.Text})
		case llm.PartImage:
			iu := map[string]any{"url": mediaURL(p.Media)}
			if p.Media.Detail != "" {
				iu["detail"] = p.Media.Detail
			}
			if p.Media.FileID != "" && p.Media.URL == "" && p.Media.Data == "" {
				return nil, llm.BadRequest("image file ids are not supported by the OpenAI chat upstream")
			}
			parts = append(parts, map[string]any{"type": "image_url", "image_url": iu})
		case llm.PartAudio:
			parts = append(parts, map[string]any{"type": "input_audio", "input_audio": map[string]any{
				"data": p.Media.Data, "format": strings.TrimPrefix(p.Media.MIME, "audio/")}})
		case llm.PartFile:
			f := map[string]any{}
			if p.Media.FileID != "" {
				f["file_id"] = p.Media.FileID
			}
			if p.Media.Data != "" {
				f["file_data"] = dataURL(p.Media.MIME, p.Media.Data)
			}
			if p.Media.Filename != "" {
				f["filename"] = p.Media.Filename
			}
			if p.Media.URL != "" && p.Media.Data == "" {
				return nil, llm.BadRequest("file URLs are not supported by the OpenAI chat upstream")
			}
			parts = append(parts, map[string]any{"type": "file", "file": f})
		case llm.PartToolResult:
			toolMsgs = append(toolMsgs, chatOutMessage{Role: "tool", ToolCallID: p.ToolResult.CallID, Content: toolResultText(p.ToolResult)})
		}
	}
	msgs = append(msgs, toolMsgs...)
	if len(parts) > 0 {
		om.Content = parts
		msgs = append(msgs, om)
	}
	return msgs, nil
}

// toolResultText flattens a tool result for formats whose results are text only. Non-text parts are
// replaced by a short marker so the model knows something was there.
func toolResultText(r *llm.ToolResult) string {
	var b strings.Builder
	for _, p := range r.Content {
		switch p.Kind {
		case llm.PartText:
			b.WriteString(p.Text)
		case llm.PartImage, llm.PartFile:
			b.WriteString("[non-text tool output omitted]")
		}
	}
	return b.String()
}

// mergeExtra adds extra top-level fields to the JSON object b, for same-format re-encoding.
func mergeExtra(b []byte, extra map[string]json.RawMessage) []byte {
	if len(extra) == 0 {
		return b
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	for k, v := range extra {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	out, err := marshalNoEscape(m)
	if err != nil {
		return b
	}
	return out
}
