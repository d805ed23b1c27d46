package server

import (
	"encoding/json"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

func TestExtractUsageFindsTheResponsesOwnUsage(t *testing.T) {
	cases := []struct {
		name string
		f    llm.Format
		body string
		want llm.Usage
	}{
		{"openai chat", llm.FormatOpenAIChat,
			`{"id":"x","choices":[{"message":{"content":"the \"usage\": {\"prompt_tokens\": 99} is quoted"}}],"usage":{"prompt_tokens":12,"completion_tokens":48,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":5}},"system_fingerprint":"fp"}`,
			llm.Usage{InputTokens: 12, OutputTokens: 48, CachedInputTokens: 3, ReasoningTokens: 5}},
		{"anthropic with a tool input named usage", llm.FormatClaude,
			`{"type":"message","content":[{"type":"tool_use","input":{"usage":{"input_tokens":1000}}}],"usage":{"input_tokens":10,"cache_read_input_tokens":4,"cache_creation_input_tokens":2,"output_tokens":7}}`,
			llm.Usage{InputTokens: 16, OutputTokens: 7, CachedInputTokens: 4, CacheCreationTokens: 2}},
		{"responses", llm.FormatResponses,
			`{"object":"response","output":[],"usage":{"input_tokens":20,"output_tokens":30,"input_tokens_details":{"cached_tokens":1},"output_tokens_details":{"reasoning_tokens":9}}}`,
			llm.Usage{InputTokens: 20, OutputTokens: 30, CachedInputTokens: 1, ReasoningTokens: 9}},
		{"gemini", llm.FormatGemini,
			`{"candidates":[{"content":{"parts":[{"text":"hi"}]}}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":6,"thoughtsTokenCount":2},"modelVersion":"gemini-2.5-flash"}`,
			llm.Usage{InputTokens: 8, OutputTokens: 8, ReasoningTokens: 2}},
		{"no usage", llm.FormatOpenAIChat, `{"id":"x","choices":[]}`, llm.Usage{}},
		{"not json", llm.FormatOpenAIChat, `usage`, llm.Usage{}},
	}
	for _, tc := range cases {
		if got := extractUsage(tc.f, []byte(tc.body)); got != tc.want {
			t.Errorf("%s: usage = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func BenchmarkExtractUsage(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the upstream. This is a plain answer of about a kilobyte, repeated to look like a real reply. Hello from the upstream. This is a plain answer of about a kilobyte, repeated to look like a real reply. Hello from the upstream. This is a plain answer of about a kilobyte, repeated to look like a real reply. Hello from the upstream. This is a plain answer of about a kilobyte, repeated to look like a real reply."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":48,"total_tokens":60}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		_ = extractUsage(llm.FormatOpenAIChat, body)
	}
}

// extractUsageReference is extractUsage as it was before the scan: encoding/json only.
func extractUsageReference(f llm.Format, body []byte) llm.Usage {
	key := usageKey
	if f == llm.FormatGemini {
		key = usageMetadataKey
	}
	if obj := lastObjectFor(body, key); obj != nil {
		var env usageEnvelope
		if f == llm.FormatGemini {
			env.UsageMetadata = new(geminiUsage)
			if json.Unmarshal(obj, env.UsageMetadata) == nil {
				return env.normalize(f)
			}
		} else {
			env.Usage = new(wireUsage)
			if json.Unmarshal(obj, env.Usage) == nil {
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

// usageSeeds are usage objects as the vendors send them (OpenAI chat and Responses, Anthropic with its
// cache_creation and server_tool_use objects, Gemini with its per-modality arrays) and malformed ones.
var usageSeeds = []string{
	`{"usage":{"prompt_tokens":212,"completion_tokens":38,"total_tokens":250,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":12,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`,
	`{"usage":{"input_tokens":10,"cache_creation_input_tokens":2,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":2,"ephemeral_1h_input_tokens":0},"output_tokens":7,"service_tier":"standard","server_tool_use":{"web_search_requests":1}}}`,
	`{"usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":1},"output_tokens":30,"output_tokens_details":{"reasoning_tokens":9},"total_tokens":50}}`,
	`{"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":6,"totalTokenCount":16,"thoughtsTokenCount":2,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]}}`,
	`{"usage":{"Prompt_Tokens":5,"completion_tokens":1}}`, `{"usage":{"prompt_tokens":1.5}}`, `{"usage":{"prompt_tokens":"7"}}`,
	`{"usage":{"prompt_tokens":null,"completion_tokens":-3}}`, `{"usage":{"prompt_tokens":007}}`, `{"usage":{"x":[1,}}`,
	`{"usage":{"x":"\u12G4","prompt_tokens":3}}`, `{"usage":{"prompt_tokens_details":5}}`, `{"usage":{"prompt_tokens":99999999999999999999}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":1},"prompt_tokens_details":{"cache_write_tokens":2}}}`,
	`{"usage" : { "prompt_tokens" : 4 , "completion_tokens" : 2 } }`, `{"usage":{}}`, `{"usage":{"a\"b":1,"prompt_tokens":2}}`,
}

func FuzzExtractUsageMatchesEncodingJSON(f *testing.F) {
	for _, s := range usageSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, format := range []llm.Format{llm.FormatOpenAIChat, llm.FormatClaude, llm.FormatResponses, llm.FormatGemini} {
			if got, want := extractUsage(format, []byte(body)), extractUsageReference(format, []byte(body)); got != want {
				t.Fatalf("format %v, body %q: usage %+v, encoding/json gives %+v", format, body, got, want)
			}
		}
	})
}

func TestExtractUsageScanMatchesEncodingJSON(t *testing.T) {
	for _, body := range usageSeeds {
		for _, format := range []llm.Format{llm.FormatOpenAIChat, llm.FormatClaude, llm.FormatResponses, llm.FormatGemini} {
			if got, want := extractUsage(format, []byte(body)), extractUsageReference(format, []byte(body)); got != want {
				t.Errorf("format %v, body %q: usage %+v, encoding/json gives %+v", format, body, got, want)
			}
		}
	}
	// The scan itself reads the vendors' objects (not only through the fallback).
	var u wireUsage
	if !scanWireUsage([]byte(usageSeeds[1][9:len(usageSeeds[1])-1]), &u) || u.CacheRead != 4 || u.OutputTokens != 7 {
		t.Errorf("scan of the Anthropic usage: %+v", u)
	}
	var g geminiUsage
	if !scanGeminiUsage([]byte(usageSeeds[3][17:len(usageSeeds[3])-1]), &g) || g.Prompt != 8 || g.Thoughts != 2 {
		t.Errorf("scan of the Gemini usage: %+v", g)
	}
}
