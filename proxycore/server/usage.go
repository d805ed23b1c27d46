package server

import (
	"bytes"
	"encoding/json"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// wireUsage unmarshals the usage object of every format (WIRE.md section 5.5); only the fields of one
// format are set at a time.
type wireUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	PromptDetails    struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`

	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	InputDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"input_tokens_details"`
	OutputDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
		ThinkingTokens  int64 `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
	CacheCreation int64 `json:"cache_creation_input_tokens"`
	CacheRead     int64 `json:"cache_read_input_tokens"`
}

type geminiUsage struct {
	Prompt     int64 `json:"promptTokenCount"`
	Candidates int64 `json:"candidatesTokenCount"`
	Cached     int64 `json:"cachedContentTokenCount"`
	Thoughts   int64 `json:"thoughtsTokenCount"`
	ToolPrompt int64 `json:"toolUsePromptTokenCount"`
}

type usageEnvelope struct {
	Usage   *wireUsage `json:"usage"`
	Message *struct {
		Usage *wireUsage `json:"usage"`
	} `json:"message"`
	Response *struct {
		Usage *wireUsage `json:"usage"`
	} `json:"response"`
	UsageMetadata *geminiUsage `json:"usageMetadata"`
}

// extractUsage reads the usage of a non-streaming response body of format f. Unknown shapes give zero usage.
// Every format puts its usage object after the content, so the last "usage" (or "usageMetadata") key is
// the response's own; only that small object is decoded, which keeps large answers cheap. Bodies where
// that does not work go through the full decode.
func extractUsage(f llm.Format, body []byte) llm.Usage {
	key := usageKey
	if f == llm.FormatGemini {
		key = usageMetadataKey
	}
	if obj := lastObjectFor(body, key); obj != nil {
		var env usageEnvelope
		if f == llm.FormatGemini {
			var g geminiUsage
			if scanGeminiUsage(obj, &g) || json.Unmarshal(obj, zeroed(&g)) == nil {
				env.UsageMetadata = &g
				return env.normalize(f)
			}
		} else {
			var u wireUsage
			if scanWireUsage(obj, &u) || json.Unmarshal(obj, zeroed(&u)) == nil {
				env.Usage = &u
				return env.normalize(f)
			}
		}
	}
	var env usageEnvelope
	if json.Unmarshal(body, &env) != nil {
		return llm.Usage{}
	}
	return env.normalize(f)
}

// zeroed resets *p (what a scan that gave up may have set) and returns p.
func zeroed[T any](p *T) *T {
	var zero T
	*p = zero
	return p
}

// lastObjectFor returns the JSON object that is the value of the last unescaped occurrence of key
// ("\"usage\"") in body, or nil when there is none or it is not an object.
func lastObjectFor(body, key []byte) []byte {
	i := bytes.LastIndex(body, key)
	for i > 0 && body[i-1] == '\\' { // inside a string: an escaped quote
		i = bytes.LastIndex(body[:i], key)
	}
	if i < 0 {
		return nil
	}
	j := i + len(key)
	for j < len(body) && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r') {
		j++
	}
	if j >= len(body) || body[j] != ':' {
		return nil
	}
	j++
	for j < len(body) && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r') {
		j++
	}
	if j >= len(body) || body[j] != '{' {
		return nil
	}
	depth, inStr := 0, false
	for k := j; k < len(body); k++ {
		c := body[k]
		switch {
		case inStr:
			if c == '\\' {
				k++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return body[j : k+1]
			}
		}
	}
	return nil
}

func (env *usageEnvelope) normalize(f llm.Format) llm.Usage {
	if env.UsageMetadata != nil {
		g := env.UsageMetadata
		return llm.Usage{InputTokens: g.Prompt + g.ToolPrompt, OutputTokens: g.Candidates + g.Thoughts,
			CachedInputTokens: g.Cached, ReasoningTokens: g.Thoughts}
	}
	u := env.Usage
	if u == nil && env.Message != nil {
		u = env.Message.Usage
	}
	if u == nil && env.Response != nil {
		u = env.Response.Usage
	}
	if u == nil {
		return llm.Usage{}
	}
	switch f {
	case llm.FormatClaude:
		// Anthropic's input_tokens excludes cache reads and writes; the canonical input is the full prompt.
		return llm.Usage{InputTokens: u.InputTokens + u.CacheCreation + u.CacheRead, OutputTokens: u.OutputTokens,
			CachedInputTokens: u.CacheRead, CacheCreationTokens: u.CacheCreation, ReasoningTokens: u.OutputDetails.ThinkingTokens}
	case llm.FormatResponses:
		return llm.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedInputTokens: u.InputDetails.CachedTokens,
			CacheCreationTokens: u.InputDetails.CacheWriteTokens, ReasoningTokens: u.OutputDetails.ReasoningTokens}
	}
	return llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, CachedInputTokens: u.PromptDetails.CachedTokens,
		CacheCreationTokens: u.PromptDetails.CacheWriteTokens, ReasoningTokens: u.CompletionDetails.ReasoningTokens}
}

// usageSniffer picks the usage out of an identity stream without decoding every event: only frames that
// mention usage are parsed, and for Gemini (whose chunks repeat running totals) only the last one.
type usageSniffer struct {
	format    llm.Format
	u         llm.Usage
	last      []byte // Gemini: the last frame carrying usageMetadata
	sawFinish bool
}

var (
	usageKey         = []byte(`"usage"`)
	usageMetadataKey = []byte(`"usageMetadata"`)
)

func (s *usageSniffer) observe(frame []byte) {
	if s.format == llm.FormatGemini {
		if bytes.Contains(frame, geminiFinishMarker) {
			s.sawFinish = true
		}
		if bytes.Contains(frame, usageMetadataKey) {
			s.last = append(s.last[:0], frame...)
		}
		return
	}
	if !bytes.Contains(frame, usageKey) {
		return
	}
	data := frameData(frame)
	if len(data) == 0 || data[0] != '{' {
		return
	}
	if lastObjectFor(data, usageKey) == nil {
		return // "usage":null, as OpenAI sends on every chunk but the last with include_usage
	}
	var env usageEnvelope
	if json.Unmarshal(data, &env) != nil {
		return
	}
	got := env.normalize(s.format)
	if s.format == llm.FormatClaude {
		// message_start carries the input side; message_delta the cumulative output (WIRE.md 3.5).
		if env.Message != nil {
			s.u.InputTokens, s.u.CachedInputTokens, s.u.CacheCreationTokens = got.InputTokens, got.CachedInputTokens, got.CacheCreationTokens
		} else if env.Usage != nil {
			if env.Usage.InputTokens+env.Usage.CacheRead+env.Usage.CacheCreation > 0 {
				s.u.InputTokens, s.u.CachedInputTokens, s.u.CacheCreationTokens = got.InputTokens, got.CachedInputTokens, got.CacheCreationTokens
			}
			s.u.OutputTokens, s.u.ReasoningTokens = got.OutputTokens, got.ReasoningTokens
		}
		return
	}
	if got != (llm.Usage{}) {
		s.u = got
	}
}

func (s *usageSniffer) usage() llm.Usage {
	if s.format == llm.FormatGemini && len(s.last) > 0 {
		var env usageEnvelope
		if json.Unmarshal(frameData(s.last), &env) == nil {
			return env.normalize(s.format)
		}
	}
	return s.u
}

// frameData returns the payload of the data: lines of one SSE frame (joined as the SSE spec says).
func frameData(frame []byte) []byte {
	var out []byte
	n := 0
	for len(frame) > 0 {
		line := frame
		if i := bytes.IndexByte(frame, '\n'); i >= 0 {
			line, frame = frame[:i], frame[i+1:]
		} else {
			frame = nil
		}
		line = bytes.TrimRight(line, "\r")
		if bytes.HasPrefix(line, dataPrefix) {
			v := line[len(dataPrefix):]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			if n == 0 {
				out = v
			} else {
				out = append(append(append([]byte(nil), out...), '\n'), v...)
			}
			n++
		}
	}
	return out
}

var dataPrefix = []byte("data:")
