package translate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

var allFormats = []llm.Format{llm.FormatOpenAIChat, llm.FormatOpenAICompletions, llm.FormatResponses, llm.FormatClaude, llm.FormatGemini}

// addSeeds adds every testdata file with the given name as a fuzz seed.
func addSeeds(f *testing.F, name string, extra ...string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*", name))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// fuzzRequest checks that a request decoder never panics and that whatever it accepts can be encoded
// into every format without panicking.
func fuzzRequest(f *testing.F, format llm.Format) {
	addSeeds(f, "client_request.json", `{}`, `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`,
		`{"model":"m","input":[{"type":"reasoning","encrypted_content":"cliproxy:x"}]}`, `{"contents":[{"parts":[{}]}]}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		reg := testRegistry()
		req, err := reg.Codec(format).DecodeRequest(body)
		if err != nil {
			return
		}
		ApplyModelSuffix(req)
		_ = EstimateTokens(req)
		for _, to := range allFormats {
			_, _ = reg.Codec(to).EncodeRequest(req)
		}
	})
}

func fuzzResponse(f *testing.F, format llm.Format) {
	addSeeds(f, "upstream_response.json", `{}`, `{"choices":[{"message":{"role":"tool"}}]}`, `{"candidates":[{}]}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		reg := testRegistry()
		resp, err := reg.Codec(format).DecodeResponse(body)
		if err != nil {
			return
		}
		for _, to := range allFormats {
			_, _ = reg.Codec(to).EncodeResponse(resp)
		}
		_ = reg.Codec(format).DecodeError(500, nil, body)
	})
}

func fuzzStream(f *testing.F, format llm.Format) {
	addSeeds(f, "upstream_stream.sse", "data: {}\n\n", "event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
		"data: [DONE]\n\n", "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":5,\"delta\":{}}\n\n")
	f.Fuzz(func(t *testing.T, body []byte) {
		reg := testRegistry()
		for _, to := range allFormats {
			out := pumpStream(t, reg.Codec(format).NewStreamDecoder(), reg.Codec(to).NewStreamEncoder(&llm.Request{Model: "m", IncludeUsage: true}), body)
			if len(out) == 0 {
				// Every stream ends with either closing frames or an error frame.
				t.Fatalf("%s -> %s: no output", format, to)
			}
		}
	})
}

func FuzzChatRequest(f *testing.F)        { fuzzRequest(f, llm.FormatOpenAIChat) }
func FuzzClaudeRequest(f *testing.F)      { fuzzRequest(f, llm.FormatClaude) }
func FuzzGeminiRequest(f *testing.F)      { fuzzRequest(f, llm.FormatGemini) }
func FuzzResponsesRequest(f *testing.F)   { fuzzRequest(f, llm.FormatResponses) }
func FuzzCompletionsRequest(f *testing.F) { fuzzRequest(f, llm.FormatOpenAICompletions) }

func FuzzChatResponse(f *testing.F)        { fuzzResponse(f, llm.FormatOpenAIChat) }
func FuzzClaudeResponse(f *testing.F)      { fuzzResponse(f, llm.FormatClaude) }
func FuzzGeminiResponse(f *testing.F)      { fuzzResponse(f, llm.FormatGemini) }
func FuzzResponsesResponse(f *testing.F)   { fuzzResponse(f, llm.FormatResponses) }
func FuzzCompletionsResponse(f *testing.F) { fuzzResponse(f, llm.FormatOpenAICompletions) }

func FuzzChatStream(f *testing.F)        { fuzzStream(f, llm.FormatOpenAIChat) }
func FuzzClaudeStream(f *testing.F)      { fuzzStream(f, llm.FormatClaude) }
func FuzzGeminiStream(f *testing.F)      { fuzzStream(f, llm.FormatGemini) }
func FuzzResponsesStream(f *testing.F)   { fuzzStream(f, llm.FormatResponses) }
func FuzzCompletionsStream(f *testing.F) { fuzzStream(f, llm.FormatOpenAICompletions) }

func FuzzPeekSetModel(f *testing.F) {
	addSeeds(f, "client_request.json", `{"model":"a"}`, `{"a":"\"model\""}`, `{}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, _, err := PeekModelStream(body); err != nil {
			return
		}
		out, err := SetModelChecked(body, "new-model")
		if err != nil {
			t.Fatalf("SetModelChecked failed where PeekModelStream succeeded: %v", err)
		}
		if checked, err := SetModel(body, "new-model"); err != nil || !bytes.Equal(checked, out) {
			t.Fatalf("SetModel = %s, %v; SetModelChecked = %s", checked, err, out)
		}
		m, _, err := PeekModelStream(out)
		if err != nil || m != "new-model" {
			t.Fatalf("after SetModel: model %q err %v\nin:  %s\nout: %s", m, err, body, out)
		}
	})
}
