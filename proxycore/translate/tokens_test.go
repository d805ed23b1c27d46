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

func TestEncodeCountTokensRequest(t *testing.T) {
	reg := testRegistry()
	req, err := reg.Codec(llm.FormatOpenAIChat).DecodeRequest([]byte(`{"model":"m","max_tokens":50,"temperature":0.2,"stream":true,
		"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],
		"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Model = "up-model"
	claude, err := reg.EncodeCountTokensRequest(llm.FormatClaude, req)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(claude, &c); err != nil {
		t.Fatalf("%v: %s", err, claude)
	}
	for k := range c {
		if !claudeCountFields[k] {
			t.Errorf("count_tokens body has %q: %s", k, claude)
		}
	}
	if c["messages"] == nil || c["system"] == nil || c["tools"] == nil || string(c["model"]) != `"up-model"` {
		t.Errorf("count_tokens body lost the prompt: %s", claude)
	}
	gem, err := reg.EncodeCountTokensRequest(llm.FormatGemini, req)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		GenerateContentRequest struct {
			Model             string          `json:"model"`
			Contents          json.RawMessage `json:"contents"`
			SystemInstruction json.RawMessage `json:"systemInstruction"`
			Tools             json.RawMessage `json:"tools"`
		} `json:"generateContentRequest"`
	}
	if err := json.Unmarshal(gem, &g); err != nil {
		t.Fatalf("%v: %s", err, gem)
	}
	r := g.GenerateContentRequest
	if r.Model != "models/up-model" || r.Contents == nil || r.SystemInstruction == nil || r.Tools == nil {
		t.Errorf("countTokens body %s", gem)
	}
	back, err := reg.DecodeCountTokensRequest(llm.FormatGemini, gem)
	if err != nil || back.Model != "up-model" || len(back.Messages) != 1 {
		t.Errorf("round trip: %v %+v", err, back)
	}
	if _, err := reg.EncodeCountTokensRequest(llm.FormatOpenAIChat, req); err == nil {
		t.Error("a format without a count endpoint was accepted")
	}
	for _, tc := range []struct {
		f    llm.Format
		body string
		want int
	}{{llm.FormatClaude, `{"input_tokens":42}`, 42}, {llm.FormatGemini, `{"totalTokens":7,"promptTokensDetails":[]}`, 7}} {
		if n, err := DecodeCountTokensResponse(tc.f, []byte(tc.body)); err != nil || n != tc.want {
			t.Errorf("%s: %d %v", tc.body, n, err)
		}
	}
	if _, err := DecodeCountTokensResponse(llm.FormatGemini, []byte(`{"input_tokens":3}`)); err == nil {
		t.Error("a count in the wrong shape was accepted")
	}
}
