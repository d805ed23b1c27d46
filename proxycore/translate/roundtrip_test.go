package translate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// TestSignaturesSurviveForeignClients checks the multi-turn path: a vendor's signed reasoning goes to a
// client of another format, comes back in that client's next request, and reaches the issuing vendor
// byte-exact.
func TestSignaturesSurviveForeignClients(t *testing.T) {
	reg := testRegistry()
	t.Run("claude via responses client", func(t *testing.T) {
		upstream := `{"id":"msg_1","type":"message","role":"assistant","model":"c","content":[
			{"type":"thinking","thinking":"plan it","signature":"SIG/+="},{"type":"redacted_thinking","data":"REDACTED=="},
			{"type":"tool_use","id":"toolu_1","name":"sh","input":{"c":"ls"}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`
		resp, err := reg.Codec(llm.FormatClaude).DecodeResponse([]byte(upstream))
		if err != nil {
			t.Fatal(err)
		}
		clientBody, err := reg.Codec(llm.FormatResponses).EncodeResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Output []json.RawMessage `json:"output"`
		}
		if err := json.Unmarshal(clientBody, &out); err != nil {
			t.Fatal(err)
		}
		// The client replays the output items and answers the call (what Codex does with store=false).
		input := []json.RawMessage{json.RawMessage(`{"role":"user","content":"go"}`)}
		input = append(input, out.Output...)
		input = append(input, json.RawMessage(`{"type":"function_call_output","call_id":"toolu_1","output":"a.go"}`))
		next, _ := json.Marshal(map[string]any{"model": "c", "reasoning": map[string]any{"effort": "low"}, "input": input,
			"tools": []any{map[string]any{"type": "function", "name": "sh", "parameters": map[string]any{"type": "object"}}}})
		req, err := reg.Codec(llm.FormatResponses).DecodeRequest(next)
		if err != nil {
			t.Fatal(err)
		}
		body, err := reg.Codec(llm.FormatClaude).EncodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"signature":"SIG/+="`, `"thinking":"plan it"`, `"data":"REDACTED=="`, `"type":"enabled"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("Anthropic request lacks %s:\n%s", want, body)
			}
		}
	})
	t.Run("gemini via claude client", func(t *testing.T) {
		upstream := `{"candidates":[{"content":{"role":"model","parts":[{"text":"hmm","thought":true,"thoughtSignature":"R2VtU2ln"},
			{"text":"ok"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}`
		resp, err := reg.Codec(llm.FormatGemini).DecodeResponse([]byte(upstream))
		if err != nil {
			t.Fatal(err)
		}
		clientBody, err := reg.Codec(llm.FormatClaude).EncodeResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Content json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(clientBody, &msg); err != nil {
			t.Fatal(err)
		}
		next := `{"model":"g","max_tokens":100,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":` +
			string(msg.Content) + `},{"role":"user","content":"more"}]}`
		req, err := reg.Codec(llm.FormatClaude).DecodeRequest([]byte(next))
		if err != nil {
			t.Fatal(err)
		}
		gem, err := reg.Codec(llm.FormatGemini).EncodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(gem), `"thoughtSignature":"R2VtU2ln"`) || strings.Contains(string(gem), "cliproxy:") {
			t.Fatalf("Gemini request does not carry its own signature cleanly:\n%s", gem)
		}
		claude, err := reg.Codec(llm.FormatClaude).EncodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(claude), "R2VtU2ln") {
			t.Fatalf("Gemini signature forwarded to Anthropic:\n%s", claude)
		}
	})
}

func TestClaudeMessageStartCarriesPromptTokens(t *testing.T) {
	reg := testRegistry()
	out := string(pumpStream(t, reg.Codec(llm.FormatGemini).NewStreamDecoder(),
		reg.Codec(llm.FormatClaude).NewStreamEncoder(&llm.Request{Model: "m"}), geminiTextStream(2)))
	start, _, _ := strings.Cut(out, "event: content_block_start")
	if !strings.Contains(start, `"input_tokens":10`) {
		t.Fatalf("message_start lacks the prompt size:\n%s", start)
	}
}

func TestChatDecoderIgnoresOtherChoices(t *testing.T) {
	body := []byte("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"}}]}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	evs, errText := decodeAll(testRegistry().Codec(llm.FormatOpenAIChat).NewStreamDecoder(), body)
	var text string
	for _, e := range evs {
		if e.Type == llm.EventTextDelta {
			text += e.Text
		}
	}
	if text != "A" || errText != "" {
		t.Fatalf("text %q err %q", text, errText)
	}
	checkFastMatchesSlow(t, llm.FormatOpenAIChat, body)
}

func TestResponsesNamespaceToolsRoundTrip(t *testing.T) {
	reg := testRegistry()
	body := []byte(`{"model":"m","stream":true,"tools":[{"type":"namespace","name":"mcp","description":"d","tools":[
		{"type":"function","name":"read","parameters":{"type":"object","properties":{}}}]}],
		"input":[{"role":"user","content":"x"},{"type":"function_call","namespace":"mcp","name":"read","call_id":"c1","arguments":"{}"},
		{"type":"function_call_output","call_id":"c1","output":"ok"}]}`)
	req, err := reg.Codec(llm.FormatResponses).DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	up, err := reg.Codec(llm.FormatClaude).EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(up), `"name":"mcp__read"`) != 2 {
		t.Fatalf("flattened names missing from declaration or history:\n%s", up)
	}
	same, err := reg.Codec(llm.FormatResponses).EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(same), `"type":"namespace"`) || !strings.Contains(string(same), `"namespace":"mcp"`) || strings.Contains(string(same), "mcp__read") {
		t.Fatalf("Responses re-encoding lost the namespace:\n%s", same)
	}
	stream := "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"mcp__read\",\"arguments\":\"{}\"}}]}}]}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"
	out := string(pumpStream(t, reg.Codec(llm.FormatOpenAIChat).NewStreamDecoder(), reg.Codec(llm.FormatResponses).NewStreamEncoder(req), []byte(stream)))
	if !strings.Contains(out, `"call_id":"c2","name":"read","namespace":"mcp"`) {
		t.Fatalf("client did not get the namespaced call back:\n%s", out)
	}
}

// TestRegistryConcurrentUse shares one Registry across goroutines, as the server does (run with -race).
func TestRegistryConcurrentUse(t *testing.T) {
	reg := New(WithIDGenerator(SequentialIDs()))
	done := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				req := sampleRequest()
				for _, f := range allFormats[1:] {
					if _, err := reg.Codec(f).EncodeRequest(req); err != nil && f != llm.FormatOpenAICompletions {
						done <- err.Error()
						return
					}
				}
				out := pumpStream(t, reg.Codec(llm.FormatClaude).NewStreamDecoder(),
					reg.Codec(llm.FormatResponses).NewStreamEncoder(req), claudeTextStream(3))
				if !strings.Contains(string(out), "response.completed") {
					done <- "stream did not complete"
					return
				}
			}
			done <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if msg := <-done; msg != "" {
			t.Fatal(msg)
		}
	}
}
