package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// geminiCodec is the Gemini generateContent format (WIRE.md §4). The model and the stream flag live in
// the URL, not the body: the server sets Request.Model and Request.Stream after DecodeRequest.
type geminiCodec struct{ env *env }

var _ Codec = (*geminiCodec)(nil)

func (c *geminiCodec) Format() llm.Format { return llm.FormatGemini }

// geminiDummySignature is the documented placeholder that skips thought-signature validation for
// replayed function calls that never had a Gemini signature (WIRE.md §4.3, unverified).
const geminiDummySignature = "skip_thought_signature_validator"

type geminiRequest struct {
	Contents          []geminiContent   `json:"contents"`
	SystemInstruction *geminiContent    `json:"systemInstruction,omitempty"`
	Tools             []json.RawMessage `json:"tools,omitempty"`
	ToolConfig        *geminiToolConfig `json:"toolConfig,omitempty"`
	GenerationConfig  *geminiGenConfig  `json:"generationConfig,omitempty"`
	SafetySettings    json.RawMessage   `json:"safetySettings,omitempty"`
	CachedContent     string            `json:"cachedContent,omitempty"`
}

var geminiKnown = map[string]bool{"contents": true, "systemInstruction": true, "system_instruction": true,
	"tools": true, "toolConfig": true, "tool_config": true, "generationConfig": true, "generation_config": true,
	"model": true}

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

type geminiPart struct {
	Text             *string             `json:"text,omitempty"`
	Thought          bool                `json:"thought,omitempty"`
	ThoughtSignature string              `json:"thoughtSignature,omitempty"`
	InlineData       *geminiBlob         `json:"inlineData,omitempty"`
	FileData         *geminiFileData     `json:"fileData,omitempty"`
	FunctionCall     *geminiFunctionCall `json:"functionCall,omitempty"`
	FunctionResponse *geminiFunctionResp `json:"functionResponse,omitempty"`
}

type geminiBlob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type geminiFileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type geminiFunctionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type geminiFunctionResp struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type geminiToolConfig struct {
	FunctionCallingConfig *struct {
		Mode                 string   `json:"mode,omitempty"`
		AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
	} `json:"functionCallingConfig,omitempty"`
}

type geminiGenConfig struct {
	Temperature        *float64              `json:"temperature,omitempty"`
	TopP               *float64              `json:"topP,omitempty"`
	TopK               *int                  `json:"topK,omitempty"`
	MaxOutputTokens    *int                  `json:"maxOutputTokens,omitempty"`
	StopSequences      []string              `json:"stopSequences,omitempty"`
	CandidateCount     *int                  `json:"candidateCount,omitempty"`
	Seed               *int64                `json:"seed,omitempty"`
	ResponseMimeType   string                `json:"responseMimeType,omitempty"`
	ResponseSchema     json.RawMessage       `json:"responseSchema,omitempty"`
	ResponseJSONSchema json.RawMessage       `json:"responseJsonSchema,omitempty"`
	ThinkingConfig     *geminiThinkingConfig `json:"thinkingConfig,omitempty"`
}

type geminiThinkingConfig struct {
	ThinkingBudget  *int   `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
}

type geminiFunctionDecl struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

func (c *geminiCodec) DecodeRequest(body []byte) (*llm.Request, error) {
	var in geminiRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, llm.BadRequest("Invalid JSON payload received: %v", err)
	}
	req := &llm.Request{SourceFormat: llm.FormatGemini, Extra: extraFields(body, geminiKnown), IncludeUsage: true}
	if in.SystemInstruction != nil {
		for _, p := range in.SystemInstruction.Parts {
			if p.Text != nil {
				req.System = append(req.System, llm.Part{Kind: llm.PartText, Text: *p.Text})
			}
		}
	}
	for _, raw := range in.Tools {
		var t struct {
			FunctionDeclarations []geminiFunctionDecl `json:"functionDeclarations"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, llm.BadRequest("tools: %v", err)
		}
		if len(t.FunctionDeclarations) == 0 {
			req.Tools = append(req.Tools, llm.Tool{Type: "gemini", Extra: map[string]json.RawMessage{"tool": raw}})
			continue
		}
		for _, d := range t.FunctionDeclarations {
			tool := llm.Tool{Type: "function", Name: d.Name, Description: d.Description, Parameters: lowerSchemaTypes(d.Parameters)}
			if len(d.ParametersJSONSchema) > 0 {
				tool.Parameters = d.ParametersJSONSchema
				tool.Extra = map[string]json.RawMessage{"parametersJsonSchema": json.RawMessage("true")}
			}
			req.Tools = append(req.Tools, tool)
		}
	}
	if tc := in.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		fc := tc.FunctionCallingConfig
		choice := &llm.ToolChoice{Mode: llm.ToolChoiceAuto, Allowed: fc.AllowedFunctionNames}
		switch strings.ToUpper(fc.Mode) {
		case "ANY":
			choice.Mode = llm.ToolChoiceRequired
			if len(fc.AllowedFunctionNames) == 1 {
				choice.Mode, choice.Name, choice.Allowed = llm.ToolChoiceTool, fc.AllowedFunctionNames[0], nil
			}
		case "NONE":
			choice.Mode = llm.ToolChoiceNone
		}
		req.ToolChoice = choice
	}
	if g := in.GenerationConfig; g != nil {
		req.Temperature, req.TopP, req.TopK, req.MaxTokens = g.Temperature, g.TopP, g.TopK, g.MaxOutputTokens
		req.Stop, req.N, req.Seed = g.StopSequences, g.CandidateCount, g.Seed
		if g.ResponseMimeType == "application/json" {
			rf := &llm.ResponseFormat{Type: "json_object"}
			if s := g.ResponseJSONSchema; len(s) > 0 {
				rf.Type, rf.Schema = "json_schema", s
			} else if s := g.ResponseSchema; len(s) > 0 {
				rf.Type, rf.Schema = "json_schema", s
			}
			req.ResponseFormat = rf
		}
		if tc := g.ThinkingConfig; tc != nil {
			r := &llm.Reasoning{IncludeThoughts: tc.IncludeThoughts, BudgetTokens: tc.ThinkingBudget}
			if tc.ThinkingLevel != "" {
				r.Effort = strings.ToLower(tc.ThinkingLevel)
			}
			if r.BudgetTokens != nil && *r.BudgetTokens == 0 {
				r.Effort, r.BudgetTokens = "none", nil
			}
			req.Reasoning = r
		}
	}
	pending := map[string][]string{} // function name -> unanswered synthesized call ids, in order
	for i, content := range in.Contents {
		if err := c.decodeContent(req, &content, pending); err != nil {
			return nil, llm.BadRequest("contents[%d]: %v", i, err)
		}
	}
	return req, nil
}

// decodeContent converts one Gemini content. Function calls without ids get synthesized ids, and
// function responses are paired with them by name and order (WIRE.md §4.3).
func (c *geminiCodec) decodeContent(req *llm.Request, content *geminiContent, pending map[string][]string) error {
	role := llm.RoleUser
	switch content.Role {
	case "model":
		role = llm.RoleAssistant
	case "user", "", "function":
	default:
		return fmt.Errorf("unknown role %q", content.Role)
	}
	var parts, results []llm.Part
	for _, p := range content.Parts {
		switch {
		case p.FunctionCall != nil:
			id := p.FunctionCall.ID
			if id == "" {
				id = c.env.newID("call_")
				pending[p.FunctionCall.Name] = append(pending[p.FunctionCall.Name], id)
			}
			parts = append(parts, llm.Part{Kind: llm.PartToolCall, ThoughtSignature: p.ThoughtSignature,
				ToolCall: &llm.ToolCall{ID: id, Name: p.FunctionCall.Name, Arguments: rawOr(p.FunctionCall.Args, "{}")}})
		case p.FunctionResponse != nil:
			fr := p.FunctionResponse
			id := fr.ID
			if q := pending[fr.Name]; id == "" && len(q) > 0 {
				id, pending[fr.Name] = q[0], q[1:]
			}
			r := &llm.ToolResult{CallID: id, Name: fr.Name}
			r.Content, r.IsError = geminiResponseContent(fr.Response)
			results = append(results, llm.Part{Kind: llm.PartToolResult, ToolResult: r})
		case p.Text != nil && p.Thought:
			parts = append(parts, llm.Part{Kind: llm.PartThinking, Thinking: &llm.Thinking{Text: *p.Text,
				Signature: p.ThoughtSignature, SignatureFormat: sigFormat(p.ThoughtSignature, llm.FormatGemini)}})
		case p.Text != nil:
			parts = append(parts, llm.Part{Kind: llm.PartText, Text: *p.Text, ThoughtSignature: p.ThoughtSignature})
		case p.InlineData != nil:
			parts = append(parts, llm.Part{Kind: mediaKind(p.InlineData.MimeType), Media: &llm.Media{MIME: p.InlineData.MimeType, Data: p.InlineData.Data}})
		case p.FileData != nil:
			parts = append(parts, llm.Part{Kind: mediaKind(p.FileData.MimeType), Media: &llm.Media{MIME: p.FileData.MimeType, URL: p.FileData.FileURI}})
		}
	}
	if len(results) > 0 {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, Parts: results})
	}
	if len(parts) > 0 {
		req.Messages = append(req.Messages, llm.Message{Role: role, Parts: parts})
	}
	return nil
}

func sigFormat(sig string, f llm.Format) llm.Format {
	if sig == "" {
		return ""
	}
	return f
}

func mediaKind(mime string) llm.PartKind {
	switch {
	case strings.HasPrefix(mime, "image/"):
		return llm.PartImage
	case strings.HasPrefix(mime, "audio/"):
		return llm.PartAudio
	}
	return llm.PartFile
}

// geminiResponseContent reads functionResponse.response: {output: …} is the result, {error: …} a failure,
// anything else is the output as a whole (WIRE.md §4.1).
func geminiResponseContent(raw json.RawMessage) ([]llm.Part, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		if v, ok := obj["error"]; ok && len(obj) == 1 {
			return []llm.Part{{Kind: llm.PartText, Text: jsonText(v)}}, true
		}
		if v, ok := obj["output"]; ok && len(obj) == 1 {
			return []llm.Part{{Kind: llm.PartText, Text: jsonText(v)}}, false
		}
	}
	return []llm.Part{{Kind: llm.PartText, Text: string(raw)}}, false
}

// jsonText returns a JSON string's value, or the JSON text of any other value.
func jsonText(raw json.RawMessage) string {
	if isString(raw) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// isGeminiFileURI reports whether u is a Files API URI that fileData.fileUri accepts.
func isGeminiFileURI(u string) bool {
	return strings.HasPrefix(u, "https://generativelanguage.googleapis.com/") || strings.HasPrefix(u, "gs://")
}

func (c *geminiCodec) EncodeRequest(req *llm.Request) ([]byte, error) {
	if err := checkPortable(req, "Gemini"); err != nil {
		return nil, err
	}
	var out geminiRequest
	sys := joinText(req.System)
	names := map[string]string{} // call id -> function name, to name function responses (WIRE.md §5.2)
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == llm.RoleSystem {
			if t := joinText(m.Parts); t != "" {
				if sys != "" {
					sys += "\n"
				}
				sys += t
			}
			continue
		}
		role := "user"
		if m.Role == llm.RoleAssistant {
			role = "model"
		}
		parts, err := c.encodeParts(m, names)
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 {
			continue
		}
		if n := len(out.Contents); n > 0 && out.Contents[n-1].Role == role {
			out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, parts...)
			continue
		}
		out.Contents = append(out.Contents, geminiContent{Role: role, Parts: parts})
	}
	for i := range out.Contents {
		if out.Contents[i].Role == "model" {
			signFirstCall(out.Contents[i].Parts)
		}
	}
	if out.Contents == nil {
		out.Contents = []geminiContent{}
	}
	if sys != "" {
		out.SystemInstruction = &geminiContent{Parts: []geminiPart{{Text: &sys}}}
	}
	var decls []geminiFunctionDecl
	for _, t := range req.Tools {
		if t.Type == "gemini" && req.SourceFormat == llm.FormatGemini {
			out.Tools = append(out.Tools, t.Extra["tool"])
			continue
		}
		if t.Type != "" && t.Type != "function" {
			continue // hosted tools of other vendors have no Gemini equivalent
		}
		d := geminiFunctionDecl{Name: t.Name, Description: t.Description}
		if _, ok := t.Extra["parametersJsonSchema"]; ok && req.SourceFormat == llm.FormatGemini {
			d.ParametersJSONSchema = t.Parameters
		} else {
			s, err := sanitizeGeminiSchema(t.Parameters)
			if err != nil {
				return nil, llm.BadRequest("tool %q: %v", t.Name, err)
			}
			d.Parameters = s
		}
		decls = append(decls, d)
	}
	if len(decls) > 0 {
		out.Tools = append(out.Tools, mustMarshal(map[string]any{"functionDeclarations": decls}))
	}
	if tc := req.ToolChoice; tc != nil {
		out.ToolConfig = &geminiToolConfig{}
		fc := &struct {
			Mode                 string   `json:"mode,omitempty"`
			AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
		}{Mode: "AUTO"}
		switch tc.Mode {
		case llm.ToolChoiceNone:
			fc.Mode = "NONE"
		case llm.ToolChoiceRequired:
			fc.Mode = "ANY"
		case llm.ToolChoiceTool:
			fc.Mode, fc.AllowedFunctionNames = "ANY", []string{tc.Name}
		}
		if len(tc.Allowed) > 0 && tc.Mode != llm.ToolChoiceNone {
			fc.AllowedFunctionNames = tc.Allowed
			if fc.Mode == "AUTO" {
				fc.Mode = "VALIDATED" // may answer in text, calls limited to the subset (WIRE.md §5.3)
			}
		}
		out.ToolConfig.FunctionCallingConfig = fc
	}
	g := &geminiGenConfig{Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK, MaxOutputTokens: req.MaxTokens,
		StopSequences: req.Stop, CandidateCount: req.N, Seed: req.Seed}
	if rf := req.ResponseFormat; rf != nil && (rf.Type == "json_object" || rf.Type == "json_schema") {
		g.ResponseMimeType = "application/json"
		if len(rf.Schema) > 0 {
			g.ResponseJSONSchema = rf.Schema
		}
	}
	if r := req.Reasoning; r != nil {
		tc := &geminiThinkingConfig{IncludeThoughts: r.IncludeThoughts}
		level := strings.ToUpper(r.Effort)
		switch {
		case req.SourceFormat == llm.FormatGemini && r.BudgetTokens == nil && (level == "MINIMAL" || level == "LOW" || level == "MEDIUM" || level == "HIGH"):
			tc.ThinkingLevel = level
		case r.Effort == "none":
			tc.ThinkingBudget, tc.IncludeThoughts = ptr(0), false
		default:
			b := reasoningBudget(r)
			if r.Adaptive && r.BudgetTokens == nil && r.Effort == "" {
				b = -1
			}
			tc.ThinkingBudget = ptr(b)
		}
		g.ThinkingConfig = tc
	}
	if g.Temperature != nil || g.TopP != nil || g.TopK != nil || g.MaxOutputTokens != nil || g.StopSequences != nil ||
		g.CandidateCount != nil || g.Seed != nil || g.ResponseMimeType != "" || g.ThinkingConfig != nil {
		out.GenerationConfig = g
	}
	if req.SourceFormat == llm.FormatGemini {
		if v, ok := req.Extra["safetySettings"]; ok {
			out.SafetySettings = v
		}
		if v, ok := req.Extra["cachedContent"]; ok {
			_ = json.Unmarshal(v, &out.CachedContent)
		}
	}
	b, err := marshalNoEscape(out)
	if err != nil {
		return nil, fmt.Errorf("encoding gemini request: %w", err)
	}
	return b, nil
}

// signFirstCall gives the first functionCall of a model turn the placeholder signature when no part of
// the turn carries a real one, since Gemini 3 rejects replayed calls without (WIRE.md §4.3).
func signFirstCall(parts []geminiPart) {
	for _, p := range parts {
		if p.ThoughtSignature != "" {
			return
		}
	}
	for i := range parts {
		if parts[i].FunctionCall != nil {
			parts[i].ThoughtSignature = geminiDummySignature
			return
		}
	}
}

func (c *geminiCodec) encodeParts(m *llm.Message, names map[string]string) ([]geminiPart, error) {
	var out []geminiPart
	for _, p := range m.Parts {
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			if p.Text == "" && p.ThoughtSignature == "" {
				continue
			}
			t := p.Text
			gp := geminiPart{Text: &t}
			if m.Role == llm.RoleAssistant {
				gp.ThoughtSignature = p.ThoughtSignature
			}
			out = append(out, gp)
		case llm.PartThinking:
			// Only Gemini's own thought parts go back, with their signature; others are dropped.
			if p.Thinking.SignatureFormat != llm.FormatGemini {
				continue
			}
			t := p.Thinking.Text
			out = append(out, geminiPart{Text: &t, Thought: true, ThoughtSignature: p.Thinking.Signature})
		case llm.PartImage, llm.PartFile, llm.PartAudio:
			gp, err := geminiMediaPart(p)
			if err != nil {
				return nil, err
			}
			out = append(out, gp)
		case llm.PartToolCall:
			names[p.ToolCall.ID] = p.ToolCall.Name
			out = append(out, geminiPart{ThoughtSignature: p.ThoughtSignature,
				FunctionCall: &geminiFunctionCall{Name: p.ToolCall.Name, Args: rawOr(p.ToolCall.Arguments, "{}")}})
		case llm.PartToolResult:
			r := p.ToolResult
			name := r.Name
			if name == "" {
				name = names[r.CallID]
			}
			if name == "" {
				return nil, llm.BadRequest("tool result %q does not answer a known tool call; Gemini needs the function name", r.CallID)
			}
			key := "output"
			if r.IsError {
				key = "error"
			}
			resp := []byte(`{"` + key + `":`)
			text := toolResultText(r)
			if b := strings.TrimSpace(text); b != "" && (b[0] == '{' || b[0] == '[') && ValidJSON([]byte(b)) {
				resp = append(resp, b...)
			} else {
				resp = appendString(resp, text)
			}
			out = append(out, geminiPart{FunctionResponse: &geminiFunctionResp{Name: name, Response: append(resp, '}')}})
		}
	}
	return out, nil
}

func geminiMediaPart(p llm.Part) (geminiPart, error) {
	m := p.Media
	switch {
	case m.Data != "":
		return geminiPart{InlineData: &geminiBlob{MimeType: m.MIME, Data: m.Data}}, nil
	case m.URL != "" && isGeminiFileURI(m.URL):
		return geminiPart{FileData: &geminiFileData{MimeType: m.MIME, FileURI: m.URL}}, nil
	case m.URL != "":
		return geminiPart{}, llm.BadRequest("%s URLs are not supported by Gemini (send a data URL or a Files API URI)", p.Kind)
	}
	return geminiPart{}, llm.BadRequest("%s file ids are not supported by Gemini", p.Kind)
}
