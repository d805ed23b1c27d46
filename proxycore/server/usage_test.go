package server

import (
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
