package translate

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// Token estimation constants. The estimate is local and deliberately simple, for count_tokens and
// countTokens endpoints whose upstream cannot count: about 4 characters (runes) per token over all text
// (system, messages, tool arguments and results, thinking, tool names, descriptions and schemas), plus
// a fixed overhead per message and per tool, and a flat cost per image or file.
const (
	charsPerToken       = 4
	perMessageTokens    = 4
	perToolTokens       = 8
	perImageTokens      = 1600 // about a 1200x1200 image at Anthropic's (w*h)/750
	perFileTokens       = 3000
	requestBaseOverhead = 3
)

// EstimateTokens returns a local estimate of req's prompt size in tokens (see the constants above for
// the method). It never returns less than 1.
func EstimateTokens(req *llm.Request) int {
	chars := 0
	tokens := requestBaseOverhead
	var countParts func(parts []llm.Part)
	countParts = func(parts []llm.Part) {
		for _, p := range parts {
			switch p.Kind {
			case llm.PartText, llm.PartRefusal:
				chars += utf8.RuneCountInString(p.Text)
			case llm.PartThinking:
				chars += utf8.RuneCountInString(p.Thinking.Text)
			case llm.PartImage:
				tokens += perImageTokens
			case llm.PartFile, llm.PartAudio:
				tokens += perFileTokens
			case llm.PartToolCall:
				chars += len(p.ToolCall.Name) + utf8.RuneCount(p.ToolCall.Arguments)
			case llm.PartToolResult:
				countParts(p.ToolResult.Content)
			}
		}
	}
	countParts(req.System)
	for _, m := range req.Messages {
		tokens += perMessageTokens
		countParts(m.Parts)
	}
	for _, t := range req.Tools {
		tokens += perToolTokens
		chars += len(t.Name) + utf8.RuneCountInString(t.Description) + utf8.RuneCount(t.Parameters)
	}
	tokens += (chars + charsPerToken - 1) / charsPerToken
	return max(tokens, 1)
}

// EncodeCountTokensResponse renders a token count in format f: Anthropic {"input_tokens":n} (WIRE.md
// §3.7), Gemini {"totalTokens":n} (§4.6), Responses {"object":"response.input_tokens","input_tokens":n}.
func EncodeCountTokensResponse(f llm.Format, n int) []byte {
	switch f {
	case llm.FormatGemini:
		return append(appendInt([]byte(`{"totalTokens":`), int64(n)), '}')
	case llm.FormatResponses:
		return append(appendInt([]byte(`{"object":"response.input_tokens","input_tokens":`), int64(n)), '}')
	}
	return append(appendInt([]byte(`{"input_tokens":`), int64(n)), '}')
}

// DecodeCountTokensRequest parses a count-tokens body of format f. Anthropic count_tokens bodies are
// messages requests without max_tokens; Gemini countTokens takes {contents} or {generateContentRequest:
// {model, contents, systemInstruction, tools, generationConfig}} (WIRE.md §4.6), whose model ("models/x")
// is returned in Request.Model.
func (r *Registry) DecodeCountTokensRequest(f llm.Format, body []byte) (*llm.Request, error) {
	c := r.Codec(f)
	if c == nil {
		return nil, llm.BadRequest("token counting is not supported for format %q", f)
	}
	if f != llm.FormatGemini {
		return c.DecodeRequest(body)
	}
	var w struct {
		GenerateContentRequest json.RawMessage `json:"generateContentRequest"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, llm.BadRequest("Invalid JSON payload received: %v", err)
	}
	if len(w.GenerateContentRequest) == 0 || string(w.GenerateContentRequest) == "null" {
		return c.DecodeRequest(body)
	}
	req, err := c.DecodeRequest(w.GenerateContentRequest)
	if err != nil {
		return nil, err
	}
	var m struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(w.GenerateContentRequest, &m)
	req.Model = strings.TrimPrefix(m.Model, "models/")
	return req, nil
}

// claudeCountFields are the top-level members Anthropic's count_tokens accepts (WIRE.md §3.7); a messages
// body has more (max_tokens, stream, sampling) that the endpoint rejects.
var claudeCountFields = map[string]bool{"model": true, "messages": true, "system": true, "tools": true,
	"tool_choice": true, "thinking": true, "output_config": true, "mcp_servers": true, "context_management": true}

// EncodeCountTokensRequest renders req as the native token-count request of format f: an Anthropic
// count_tokens body, or a Gemini countTokens body wrapping the whole generateContentRequest so that the
// system instruction and tools are counted too (WIRE.md §4.6).
func (r *Registry) EncodeCountTokensRequest(f llm.Format, req *llm.Request) ([]byte, error) {
	c := r.Codec(f)
	if c == nil || (f != llm.FormatClaude && f != llm.FormatGemini) {
		return nil, llm.BadRequest("token counting is not supported for format %q", f)
	}
	body, err := c.EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	if f == llm.FormatClaude {
		out := make([]byte, 0, len(body))
		out = append(out, '{')
		topLevel(body, func(key []byte, v span) {
			var name string
			if json.Unmarshal(key, &name) != nil || !claudeCountFields[name] {
				return
			}
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(append(append(out, key...), ':'), body[v.start:v.end]...)
		})
		return append(out, '}'), nil
	}
	out := make([]byte, 0, len(body)+len(req.Model)+48)
	out = append(out, `{"generateContentRequest":{"model":`...)
	out = appendString(out, "models/"+req.Model)
	if i := skipWS(body, skipWS(body, 0)+1); i < len(body) && body[i] != '}' {
		out = append(out, ',')
		out = append(out, body[i:]...)
	} else {
		out = append(out, '}')
	}
	return append(out, '}'), nil
}

// DecodeCountTokensResponse reads the count of a native token-count answer of format f: Anthropic
// {"input_tokens":n}, Gemini {"totalTokens":n}.
func DecodeCountTokensResponse(f llm.Format, body []byte) (int, error) {
	var v struct {
		InputTokens *int `json:"input_tokens"`
		TotalTokens *int `json:"totalTokens"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return 0, fmt.Errorf("reading the token count: %w", err)
	}
	n := v.InputTokens
	if f == llm.FormatGemini {
		n = v.TotalTokens
	}
	if n == nil {
		return 0, fmt.Errorf("the token count answer has no count: %.200s", body)
	}
	return *n, nil
}
