package translate

import (
	"encoding/json"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

func TestEstimateTokens(t *testing.T) {
	text := func(s string) []llm.Part { return []llm.Part{{Kind: llm.PartText, Text: s}} }
	tests := []struct {
		name string
		req  *llm.Request
		want int
	}{
		{"empty", &llm.Request{}, requestBaseOverhead},
		{"one message of 8 chars", &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: text("12345678")}}},
			requestBaseOverhead + perMessageTokens + 2},
		{"runes not bytes", &llm.Request{System: text("éééé")}, requestBaseOverhead + 1},
		{"image", &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartImage, Media: &llm.Media{}}}}}},
			requestBaseOverhead + perMessageTokens + perImageTokens},
		{"tool", &llm.Request{Tools: []llm.Tool{{Name: "abcd", Parameters: json.RawMessage(`{"a":1}`)}}},
			requestBaseOverhead + perToolTokens + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EstimateTokens(tt.req); got != tt.want {
				t.Fatalf("EstimateTokens = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCountTokensBodies(t *testing.T) {
	reg := testRegistry()
	tests := []struct {
		name      string
		f         llm.Format
		body      string
		wantModel string
		wantMsgs  int
	}{
		{"claude", llm.FormatClaude, `{"model":"claude-x","messages":[{"role":"user","content":"hello there"}],"system":"s"}`, "claude-x", 1},
		{"gemini contents", llm.FormatGemini, `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, "", 1},
		{"gemini generateContentRequest", llm.FormatGemini,
			`{"generateContentRequest":{"model":"models/gemini-2.5-pro","contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"yo"}]}],"systemInstruction":{"parts":[{"text":"sys"}]}}}`,
			"gemini-2.5-pro", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := reg.DecodeCountTokensRequest(tt.f, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if req.Model != tt.wantModel || len(req.Messages) != tt.wantMsgs {
				t.Fatalf("model %q msgs %d, want %q %d", req.Model, len(req.Messages), tt.wantModel, tt.wantMsgs)
			}
			if EstimateTokens(req) <= requestBaseOverhead {
				t.Fatal("estimate ignores content")
			}
		})
	}
	if _, err := reg.DecodeCountTokensRequest(llm.FormatGemini, []byte(`{`)); err == nil {
		t.Fatal("want error for bad JSON")
	}
	for f, want := range map[llm.Format]string{
		llm.FormatClaude: `{"input_tokens":42}`, llm.FormatGemini: `{"totalTokens":42}`,
		llm.FormatResponses: `{"object":"response.input_tokens","input_tokens":42}`,
	} {
		if got := string(EncodeCountTokensResponse(f, 42)); got != want {
			t.Errorf("%s: %s, want %s", f, got, want)
		}
	}
}
