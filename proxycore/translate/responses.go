package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// responsesCodec is the OpenAI Responses format (WIRE.md §2).
type responsesCodec struct{ env *env }

var _ Codec = (*responsesCodec)(nil)

func (c *responsesCodec) Format() llm.Format { return llm.FormatResponses }

type responsesRequest struct {
	Model             string            `json:"model"`
	Input             json.RawMessage   `json:"input,omitempty"`
	Instructions      string            `json:"instructions,omitempty"`
	Tools             []json.RawMessage `json:"tools,omitempty"`
	ToolChoice        json.RawMessage   `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool             `json:"parallel_tool_calls,omitempty"`
	MaxOutputTokens   *int              `json:"max_output_tokens,omitempty"`
	Temperature       *float64          `json:"temperature,omitempty"`
	TopP              *float64          `json:"top_p,omitempty"`
	Reasoning         *responsesReason  `json:"reasoning,omitempty"`
	Text              *responsesText    `json:"text,omitempty"`
	Stream            bool              `json:"stream,omitempty"`
	Store             *bool             `json:"store,omitempty"`
	Include           []string          `json:"include,omitempty"`
	User              string            `json:"user,omitempty"`
}

var responsesKnown = map[string]bool{"model": true, "input": true, "instructions": true, "tools": true,
	"tool_choice": true, "parallel_tool_calls": true, "max_output_tokens": true, "temperature": true,
	"top_p": true, "reasoning": true, "text": true, "stream": true, "user": true}

type responsesReason struct {
	Effort          string `json:"effort,omitempty"`
	Summary         string `json:"summary,omitempty"`
	GenerateSummary string `json:"generate_summary,omitempty"`
}

type responsesText struct {
	Format *struct {
		Type        string          `json:"type"`
		Name        string          `json:"name,omitempty"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	} `json:"format,omitempty"`
	Verbosity string `json:"verbosity,omitempty"`
}

type responsesItem struct {
	Type             string             `json:"type"`
	ID               string             `json:"id"`
	Role             string             `json:"role"`
	Content          json.RawMessage    `json:"content"`
	CallID           string             `json:"call_id"`
	Name             string             `json:"name"`
	Arguments        string             `json:"arguments"`
	Namespace        string             `json:"namespace"`
	Input            string             `json:"input"`
	Output           json.RawMessage    `json:"output"`
	Summary          []responsesSummary `json:"summary"`
	EncryptedContent string             `json:"encrypted_content"`
	Status           string             `json:"status"`
}

type responsesSummary struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type responsesPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL string `json:"image_url"`
	FileID   string `json:"file_id"`
	FileData string `json:"file_data"`
	FileURL  string `json:"file_url"`
	Filename string `json:"filename"`
	Detail   string `json:"detail"`
}

type responsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
	Tools       []responsesTool `json:"tools"`
}

func (c *responsesCodec) DecodeRequest(body []byte) (*llm.Request, error) {
	var in responsesRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, llm.BadRequest("invalid responses request: %v", err)
	}
	if in.Model == "" {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "model", Message: "missing required parameter: 'model'"}
	}
	req := &llm.Request{Model: in.Model, Stream: in.Stream, MaxTokens: in.MaxOutputTokens, Temperature: in.Temperature,
		TopP: in.TopP, ParallelToolCalls: in.ParallelToolCalls, User: in.User, IncludeUsage: true,
		SourceFormat: llm.FormatResponses, Extra: extraFields(body, responsesKnown)}
	if in.Instructions != "" {
		req.System = []llm.Part{{Kind: llm.PartText, Text: in.Instructions}}
	}
	if r := in.Reasoning; r != nil {
		summary := r.Summary
		if summary == "" {
			summary = r.GenerateSummary
		}
		req.Reasoning = &llm.Reasoning{Effort: r.Effort, Summary: summary, IncludeThoughts: summary != ""}
	}
	if t := in.Text; t != nil && t.Format != nil {
		f := t.Format
		req.ResponseFormat = &llm.ResponseFormat{Type: f.Type, Name: f.Name, Description: f.Description, Schema: f.Schema, Strict: f.Strict}
	}
	for _, raw := range in.Tools {
		var t responsesTool
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "tools", Message: "invalid tool: " + err.Error()}
		}
		req.Tools = appendResponsesTool(req.Tools, &t, raw)
	}
	tc, err := decodeResponsesToolChoice(in.ToolChoice)
	if err != nil {
		return nil, err
	}
	req.ToolChoice = tc
	if err := decodeResponsesInput(req, in.Input); err != nil {
		return nil, err
	}
	return req, nil
}

// namespaceSep joins a namespace and a function name into one flat tool name other vendors accept.
const namespaceSep = "__"

// appendResponsesTool adds a function tool, flattens the function tools of a namespace tool into
// "<namespace>__<name>" (remembering the namespace so calls can be split again for the client), and keeps
// hosted tools (web_search, ...) as non-function tools that other formats drop.
func appendResponsesTool(tools []llm.Tool, t *responsesTool, raw json.RawMessage) []llm.Tool {
	return appendResponsesToolNS(tools, t, raw, "")
}

func appendResponsesToolNS(tools []llm.Tool, t *responsesTool, raw json.RawMessage, ns string) []llm.Tool {
	switch t.Type {
	case "function":
		tool := llm.Tool{Type: "function", Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}
		if ns != "" {
			tool.Name = ns + namespaceSep + t.Name
			tool.Extra = map[string]json.RawMessage{"namespace": mustMarshal(ns), "function": mustMarshal(t.Name)}
		}
		return append(tools, tool)
	case "namespace":
		first := len(tools)
		for i := range t.Tools {
			tools = appendResponsesToolNS(tools, &t.Tools[i], nil, t.Name)
		}
		for i := first; i < len(tools) && raw != nil; i++ {
			if tools[i].Extra["namespace"] != nil {
				// The whole namespace tool, for re-encoding to the Responses API unchanged.
				tools[i].Extra["namespace_tool"] = raw
				break
			}
		}
		return tools
	}
	return append(tools, llm.Tool{Type: t.Type, Name: t.Name, Extra: map[string]json.RawMessage{"tool": raw}})
}

func decodeResponsesToolChoice(raw json.RawMessage) (*llm.ToolChoice, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if isString(raw) {
		return decodeChatToolChoice(raw)
	}
	var o struct {
		Type  string          `json:"type"`
		Name  string          `json:"name"`
		Mode  string          `json:"mode"`
		Tools []responsesTool `json:"tools"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "tool_choice", Message: "invalid tool_choice: " + err.Error()}
	}
	switch o.Type {
	case "function", "custom":
		return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: o.Name}, nil
	case "allowed_tools":
		tc := &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		if o.Mode == "required" {
			tc.Mode = llm.ToolChoiceRequired
		}
		for _, t := range o.Tools {
			tc.Allowed = append(tc.Allowed, t.Name)
		}
		return tc, nil
	}
	// Hosted tool choices (web_search, mcp, ...) have no cross-vendor form: let the model decide.
	return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
}

func decodeResponsesInput(req *llm.Request, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if isString(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return llm.BadRequest("input: %v", err)
		}
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: s}}})
		return nil
	}
	var items []responsesItem
	if err := json.Unmarshal(raw, &items); err != nil {
		return &llm.Error{Status: 400, Type: "invalid_request_error", Param: "input", Message: "input must be a string or an array of items: " + err.Error()}
	}
	// appendTo adds parts to the last message when it has the same role, so reasoning, text and
	// function_call items of one assistant turn become one canonical message.
	appendTo := func(role llm.Role, parts ...llm.Part) {
		if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == role && (role == llm.RoleAssistant || role == llm.RoleTool) {
			req.Messages[n-1].Parts = append(req.Messages[n-1].Parts, parts...)
			return
		}
		req.Messages = append(req.Messages, llm.Message{Role: role, Parts: parts})
	}
	for i, it := range items {
		switch it.Type {
		case "message", "":
			parts, err := decodeResponsesContent(it.Content)
			if err != nil {
				return &llm.Error{Status: 400, Type: "invalid_request_error", Param: fmt.Sprintf("input[%d].content", i), Message: err.Error()}
			}
			switch it.Role {
			case "system", "developer":
				if len(req.Messages) == 0 {
					req.System = append(req.System, parts...)
				} else {
					req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Parts: parts})
				}
			case "assistant":
				appendTo(llm.RoleAssistant, parts...)
			case "user":
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Parts: parts})
			default:
				return &llm.Error{Status: 400, Type: "invalid_request_error", Param: fmt.Sprintf("input[%d].role", i), Message: fmt.Sprintf("unknown role %q", it.Role)}
			}
		case "function_call":
			name := it.Name
			if it.Namespace != "" {
				name = it.Namespace + namespaceSep + it.Name
			}
			appendTo(llm.RoleAssistant, llm.Part{Kind: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: it.CallID, Name: name, Arguments: argsObject(it.Arguments)}})
		case "custom_tool_call":
			// Free-form tool input has no JSON form elsewhere: keep it as {"input": "..."}.
			args := append(appendString([]byte(`{"input":`), it.Input), '}')
			appendTo(llm.RoleAssistant, llm.Part{Kind: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: args}})
		case "function_call_output", "custom_tool_call_output":
			r := &llm.ToolResult{CallID: it.CallID}
			if isString(it.Output) {
				var s string
				_ = json.Unmarshal(it.Output, &s)
				r.Content = []llm.Part{{Kind: llm.PartText, Text: s}}
			} else if len(it.Output) > 0 {
				parts, err := decodeResponsesContent(it.Output)
				if err != nil {
					return &llm.Error{Status: 400, Type: "invalid_request_error", Param: fmt.Sprintf("input[%d].output", i), Message: err.Error()}
				}
				r.Content = parts
			}
			appendTo(llm.RoleTool, llm.Part{Kind: llm.PartToolResult, ToolResult: r})
		case "reasoning":
			var text []string
			for _, s := range it.Summary {
				text = append(text, s.Text)
			}
			sig, f := it.EncryptedContent, llm.FormatResponses // a bare encrypted_content is OpenAI's own
			if strings.HasPrefix(sig, foreignSigPrefix) {
				sig, f = unwrapSignature(sig)
			}
			if f == redactedFormat {
				appendTo(llm.RoleAssistant, llm.Part{Kind: llm.PartRedactedThinking, Thinking: &llm.Thinking{Data: sig, SignatureFormat: llm.FormatClaude}})
				continue
			}
			appendTo(llm.RoleAssistant, llm.Part{Kind: llm.PartThinking, Thinking: &llm.Thinking{
				Text: strings.Join(text, "\n\n"), Signature: sig, SignatureFormat: sigFormat(sig, f), ID: it.ID}})
		case "item_reference":
			return &llm.Error{Status: 400, Type: "invalid_request_error", Param: fmt.Sprintf("input[%d]", i), Message: "item_reference items need the OpenAI Responses upstream"}
		}
	}
	return nil
}

func decodeResponsesContent(raw json.RawMessage) ([]llm.Part, error) {
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
	var parts []responsesPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, fmt.Errorf("content must be a string or an array of parts: %w", err)
	}
	out := make([]llm.Part, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case "input_text", "output_text", "text", "summary_text":
			out = append(out, llm.Part{Kind: llm.PartText, Text: p.Text})
		case "refusal":
			out = append(out, llm.Part{Kind: llm.PartRefusal, Text: p.Refusal})
		case "input_image":
			m := mediaFromURL(p.ImageURL, p.Detail)
			m.FileID = p.FileID
			out = append(out, llm.Part{Kind: llm.PartImage, Media: m})
		case "input_file":
			m := &llm.Media{FileID: p.FileID, URL: p.FileURL, Filename: p.Filename}
			if mime, data, ok := parseDataURL(p.FileData); ok {
				m.MIME, m.Data = mime, data
			} else if p.FileData != "" {
				m.MIME, m.Data = "application/pdf", p.FileData
			}
			out = append(out, llm.Part{Kind: llm.PartFile, Media: m})
		default:
			return nil, fmt.Errorf("unsupported content part type %q", p.Type)
		}
	}
	return out, nil
}

// checkPortable rejects Responses-only features when the request goes to another format.
func checkPortable(req *llm.Request, target string) error {
	if req.SourceFormat != llm.FormatResponses {
		return nil
	}
	for _, k := range []string{"previous_response_id", "conversation"} {
		if v, ok := req.Extra[k]; ok && string(v) != "null" && string(v) != `""` {
			return &llm.Error{Status: 400, Type: "invalid_request_error", Param: k, Message: k + " is not supported when the model is served by " + target}
		}
	}
	return nil
}

func (c *responsesCodec) EncodeRequest(req *llm.Request) ([]byte, error) {
	req = shortenToolNames(req, openAIMaxToolName)
	if req.N != nil && *req.N > 1 {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "n", Message: "n > 1 (several choices) is not supported by the OpenAI Responses API"}
	}
	if len(req.Stop) > 0 {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "stop", Message: "stop sequences are not supported by the OpenAI Responses API"}
	}
	out := map[string]any{"model": req.Model, "store": false}
	if req.Stream {
		out["stream"] = true
	}
	if s := joinText(req.System); s != "" {
		out["instructions"] = s
	}
	input := make([]map[string]any, 0, len(req.Messages))
	for i := range req.Messages {
		var err error
		if input, err = appendResponsesItems(input, &req.Messages[i], req); err != nil {
			return nil, err
		}
	}
	out["input"] = input
	var tools []map[string]any
	sameFormat := req.SourceFormat == llm.FormatResponses
	for _, t := range req.Tools {
		if sameFormat && t.Extra["namespace"] != nil {
			if raw := t.Extra["namespace_tool"]; raw != nil {
				var m map[string]any
				if json.Unmarshal(raw, &m) == nil {
					tools = append(tools, m)
				}
			}
			continue // the other members of the namespace are inside the raw tool
		}
		if t.Type != "" && t.Type != "function" {
			if sameFormat && t.Extra["tool"] != nil {
				var m map[string]any
				if json.Unmarshal(t.Extra["tool"], &m) == nil {
					tools = append(tools, m)
				}
			}
			continue
		}
		ft := map[string]any{"type": "function", "name": t.Name, "parameters": rawOr(t.Parameters, `{"type":"object","properties":{}}`)}
		if t.Description != "" {
			ft["description"] = t.Description
		}
		// Omitted strict may default to true on Responses (WIRE.md §2.1), which rejects ordinary schemas.
		ft["strict"] = t.Strict != nil && *t.Strict
		tools = append(tools, ft)
	}
	if len(tools) > 0 {
		out["tools"] = tools
	}
	if tc := req.ToolChoice; tc != nil {
		switch {
		case len(tc.Allowed) > 0:
			mode := "auto"
			if tc.Mode == llm.ToolChoiceRequired || tc.Mode == llm.ToolChoiceTool {
				mode = "required"
			}
			var ts []map[string]any
			for _, n := range tc.Allowed {
				ts = append(ts, map[string]any{"type": "function", "name": n})
			}
			out["tool_choice"] = map[string]any{"type": "allowed_tools", "mode": mode, "tools": ts}
		case tc.Mode == llm.ToolChoiceTool:
			out["tool_choice"] = map[string]any{"type": "function", "name": tc.Name}
		default:
			out["tool_choice"] = string(tc.Mode)
		}
	}
	if req.ParallelToolCalls != nil {
		out["parallel_tool_calls"] = *req.ParallelToolCalls
	}
	if req.MaxTokens != nil {
		out["max_output_tokens"] = *req.MaxTokens
	}
	if req.Temperature != nil {
		out["temperature"] = *req.Temperature
	}
	if req.TopP != nil {
		out["top_p"] = *req.TopP
	}
	if eff := reasoningEffort(req.Reasoning); eff != "" {
		r := map[string]any{"effort": eff}
		if s := req.Reasoning.Summary; s != "" {
			r["summary"] = s
		} else if req.Reasoning.IncludeThoughts {
			r["summary"] = "auto"
		}
		out["reasoning"] = r
		// Stateless replay of reasoning needs the encrypted content (WIRE.md §5.6).
		out["include"] = []string{"reasoning.encrypted_content"}
	}
	if rf := req.ResponseFormat; rf != nil {
		f := map[string]any{"type": rf.Type}
		if rf.Type == "json_schema" {
			f["name"], f["schema"] = orDefault(rf.Name, "response"), rf.Schema
			if rf.Description != "" {
				f["description"] = rf.Description
			}
			if rf.Strict != nil {
				f["strict"] = *rf.Strict
			}
		}
		out["text"] = map[string]any{"format": f}
	}
	if u := portableUser(req); u != "" {
		out["user"] = u
	}
	if req.SourceFormat == llm.FormatResponses {
		for k, v := range req.Extra {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	b, err := marshalNoEscape(out)
	if err != nil {
		return nil, fmt.Errorf("encoding responses request: %w", err)
	}
	return b, nil
}

func appendResponsesItems(input []map[string]any, m *llm.Message, req *llm.Request) ([]map[string]any, error) {
	switch m.Role {
	case llm.RoleSystem:
		return append(input, map[string]any{"type": "message", "role": "developer",
			"content": []map[string]any{{"type": "input_text", "text": joinText(m.Parts)}}}), nil
	case llm.RoleAssistant:
		var text []map[string]any
		flush := func() {
			if len(text) > 0 {
				input = append(input, map[string]any{"type": "message", "role": "assistant", "content": text})
				text = nil
			}
		}
		for _, p := range m.Parts {
			switch p.Kind {
			case llm.PartText:
				if p.Text != "" {
					text = append(text, map[string]any{"type": "output_text", "text": p.Text})
				}
			case llm.PartRefusal:
				text = append(text, map[string]any{"type": "refusal", "refusal": p.Text})
			case llm.PartThinking:
				// Only OpenAI's own encrypted reasoning can be replayed; other vendors' are dropped.
				if p.Thinking.SignatureFormat != llm.FormatResponses {
					continue
				}
				flush()
				it := map[string]any{"type": "reasoning", "summary": summaryList(p.Thinking.Text), "encrypted_content": p.Thinking.Signature}
				if p.Thinking.ID != "" {
					it["id"] = p.Thinking.ID
				}
				input = append(input, it)
			case llm.PartToolCall:
				flush()
				it := map[string]any{"type": "function_call", "call_id": p.ToolCall.ID, "name": p.ToolCall.Name,
					"arguments": argsString(p.ToolCall.Arguments)}
				if req.SourceFormat == llm.FormatResponses {
					if ns, fn := splitNamespace(req.Tools, p.ToolCall.Name); ns != "" {
						it["namespace"], it["name"] = ns, fn
					}
				}
				input = append(input, it)
			}
		}
		flush()
		return input, nil
	}
	var content []map[string]any
	for _, p := range m.Parts {
		switch p.Kind {
		case llm.PartText:
			content = append(content, map[string]any{"type": "input_text", "text": p.Text})
		case llm.PartImage:
			im := map[string]any{"type": "input_image", "detail": orDefault(p.Media.Detail, "auto")}
			if p.Media.FileID != "" && p.Media.Data == "" && p.Media.URL == "" {
				im["file_id"] = p.Media.FileID
			} else {
				im["image_url"] = mediaURL(p.Media)
			}
			content = append(content, im)
		case llm.PartFile:
			f := map[string]any{"type": "input_file"}
			switch {
			case p.Media.Data != "":
				f["file_data"] = dataURL(p.Media.MIME, p.Media.Data)
			case p.Media.URL != "":
				f["file_url"] = p.Media.URL
			default:
				f["file_id"] = p.Media.FileID
			}
			if p.Media.Filename != "" {
				f["filename"] = p.Media.Filename
			}
			content = append(content, f)
		case llm.PartAudio:
			return nil, llm.BadRequest("audio input is not supported by the OpenAI Responses API")
		case llm.PartToolResult:
			input = append(input, map[string]any{"type": "function_call_output", "call_id": p.ToolResult.CallID, "output": toolResultText(p.ToolResult)})
		}
	}
	if len(content) > 0 {
		input = append(input, map[string]any{"type": "message", "role": "user", "content": content})
	}
	return input, nil
}

func summaryList(text string) []map[string]any {
	if text == "" {
		return []map[string]any{}
	}
	return []map[string]any{{"type": "summary_text", "text": text}}
}

// maxOpenAIUserLen bounds the end-user id sent to OpenAI formats; Claude Code's metadata.user_id is a
// long JSON document that is not an end-user id and is not forwarded.
const maxOpenAIUserLen = 64

// portableUser returns the end-user id to send to an OpenAI format.
func portableUser(req *llm.Request) string {
	switch req.SourceFormat {
	case llm.FormatOpenAIChat, llm.FormatResponses, llm.FormatOpenAICompletions:
		return req.User
	}
	if len(req.User) > maxOpenAIUserLen {
		return ""
	}
	return req.User
}
