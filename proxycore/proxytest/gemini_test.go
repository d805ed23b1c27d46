package proxytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
)

func geminiClient(t *testing.T, u *Upstream, key string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: key, Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: u.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGeminiNonStream(t *testing.T) {
	u := NewGemini(t, WithAPIKey(testKey))
	c := geminiClient(t, u, testKey)
	u.Enqueue(Reply{Text: "scripted", Reasoning: "thinking...",
		Usage: Usage{InputTokens: 10, OutputTokens: 4, CachedTokens: 6, ReasoningTokens: 3}})
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-x", genai.Text("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "scripted" || resp.ModelVersion != "gemini-x" {
		t.Errorf("text %q model %q", resp.Text(), resp.ModelVersion)
	}
	cand := resp.Candidates[0]
	if cand.FinishReason != genai.FinishReasonStop || cand.Content.Role != "model" || len(cand.Content.Parts) != 2 {
		t.Fatalf("candidate = %+v", cand)
	}
	if p := cand.Content.Parts[0]; !p.Thought || p.Text != "thinking..." {
		t.Errorf("thought part = %+v", p)
	}
	if p := cand.Content.Parts[1]; len(p.ThoughtSignature) == 0 {
		t.Errorf("text part lacks thoughtSignature: %+v", p)
	}
	um := resp.UsageMetadata
	if um.PromptTokenCount != 10 || um.CandidatesTokenCount != 4 || um.ThoughtsTokenCount != 3 ||
		um.CachedContentTokenCount != 6 || um.TotalTokenCount != 17 {
		t.Errorf("usage = %+v", um)
	}
	rec := u.Requests()[0]
	if rec.Path != "/v1beta/models/gemini-x:generateContent" || rec.Header.Get("x-goog-api-key") != testKey {
		t.Errorf("recorded %s %v", rec.Path, rec.Header)
	}
}

func TestGeminiStream(t *testing.T) {
	u := NewGemini(t)
	c := geminiClient(t, u, testKey)
	u.Enqueue(Reply{Text: "abcdefgh", StreamChunks: 4, Usage: Usage{InputTokens: 5, OutputTokens: 8}})
	var text strings.Builder
	var last *genai.GenerateContentResponse
	n, prevTotal := 0, 0
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "gemini-s", genai.Text("hi"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		text.WriteString(resp.Text())
		if int(resp.UsageMetadata.TotalTokenCount) < prevTotal {
			t.Errorf("usage totals went down: %+v", resp.UsageMetadata)
		}
		prevTotal = int(resp.UsageMetadata.TotalTokenCount)
		if n < 4 && resp.Candidates[0].FinishReason != "" {
			t.Errorf("finishReason on chunk %d", n)
		}
		last = resp
	}
	if n != 4 || text.String() != "abcdefgh" {
		t.Errorf("chunks %d text %q", n, text.String())
	}
	if last.Candidates[0].FinishReason != genai.FinishReasonStop || last.UsageMetadata.CandidatesTokenCount != 8 ||
		last.UsageMetadata.TotalTokenCount != 13 {
		t.Errorf("last chunk = %+v %+v", last.Candidates[0], last.UsageMetadata)
	}
	if q := u.Requests()[0].RawQuery; q != "alt=sse" {
		t.Errorf("query = %q", q)
	}
}

func TestGeminiStreamFraming(t *testing.T) {
	u := NewGemini(t)
	body := `{"contents":[{"role":"user","parts":[{"text":"x"}]}]}`
	resp, err := http.Post(u.URL+"/v1beta/models/g:streamGenerateContent?alt=sse", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	events := strings.Split(strings.TrimSuffix(string(raw), "\r\n\r\n"), "\r\n\r\n")
	if len(events) != defaultChunks {
		t.Fatalf("%d CRLF-separated events, want %d: %q", len(events), defaultChunks, raw)
	}
	for _, e := range events {
		if !strings.HasPrefix(e, "data: {") || strings.Contains(e, "\n") {
			t.Errorf("bad event framing %q", e)
		}
	}
	// Without alt=sse the body is one JSON array.
	resp, err = http.Post(u.URL+"/v1beta/models/g:streamGenerateContent", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var arr []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&arr); err != nil || len(arr) != defaultChunks {
		t.Errorf("array stream: %d elements, %v", len(arr), err)
	}
}

func TestGeminiToolCalls(t *testing.T) {
	calls := []ToolCall{{Name: "get_weather", Arguments: `{"city":"Oslo"}`}, {ID: "fc-2", Name: "noop"}}
	u := NewGemini(t)
	c := geminiClient(t, u, testKey)
	u.Enqueue(Reply{ToolCalls: calls, Reasoning: "r"})
	resp, err := c.Models.GenerateContent(context.Background(), "g", genai.Text("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fcs := resp.FunctionCalls()
	if len(fcs) != 2 || fcs[0].Name != "get_weather" || fcs[0].Args["city"] != "Oslo" || fcs[1].ID != "fc-2" || len(fcs[1].Args) != 0 {
		t.Fatalf("function calls = %+v", fcs)
	}
	if resp.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Errorf("finish = %q", resp.Candidates[0].FinishReason)
	}
	if p := resp.Candidates[0].Content.Parts[1]; p.FunctionCall == nil || len(p.ThoughtSignature) == 0 {
		t.Errorf("first functionCall part lacks thoughtSignature: %+v", p)
	}

	u.Enqueue(Reply{ToolCalls: calls})
	var got []*genai.FunctionCall
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "g", genai.Text("hi"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.FunctionCalls()...)
	}
	if len(got) != 2 || got[0].Args["city"] != "Oslo" {
		t.Errorf("streamed calls = %+v", got)
	}
}

func TestGeminiRateLimit(t *testing.T) {
	u := NewGemini(t)
	c := geminiClient(t, u, testKey)
	u.Enqueue(Reply{Status: 429, RetryAfter: 30 * time.Second})
	_, err := c.Models.GenerateContent(context.Background(), "g", genai.Text("hi"), nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %T %v", err, err)
	}
	if apiErr.Code != 429 || apiErr.Status != "RESOURCE_EXHAUSTED" {
		t.Errorf("got %d %q", apiErr.Code, apiErr.Status)
	}
	var delay string
	for _, d := range apiErr.Details {
		if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo" {
			delay, _ = d["retryDelay"].(string)
		}
	}
	if delay != "30s" {
		t.Errorf("retryDelay = %q in %v", delay, apiErr.Details)
	}
}

func TestGeminiBrokenStreams(t *testing.T) {
	for _, rep := range []Reply{{CutAfter: 2}, {MalformedAfter: 2}} {
		u := NewGemini(t)
		c := geminiClient(t, u, testKey)
		u.Enqueue(rep)
		n := 0
		var streamErr error
		for _, err := range c.Models.GenerateContentStream(context.Background(), "g", genai.Text("hi"), nil) {
			if err != nil {
				streamErr = err
				break
			}
			n++
		}
		if streamErr == nil || n != 2 {
			t.Errorf("%+v: %d chunks, err %v; want 2 and an error", rep, n, streamErr)
		}
	}
}

func TestGeminiAuthAndValidation(t *testing.T) {
	u := NewGemini(t, WithAPIKey(testKey), WithModels("gemini-ok"))
	c := geminiClient(t, u, "AIza-wrong-key-0000000")
	_, err := c.Models.GenerateContent(context.Background(), "gemini-ok", genai.Text("hi"), nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Status != "INVALID_ARGUMENT" ||
		!strings.Contains(apiErr.Message, "API key not valid") {
		t.Fatalf("wrong key: %v", err)
	}
	good := `{"contents":[{"role":"user","parts":[{"text":"x"}]}]}`
	tests := []struct {
		name, path, body string
		header           bool
		status           int
		wantStatus       string
		wantMsg          string
	}{
		{"header key", "/v1beta/models/gemini-ok:generateContent", good, true, 200, "", ""},
		{"query key", "/v1beta/models/gemini-ok:generateContent?key=" + testKey, good, false, 200, "", ""},
		{"missing key", "/v1beta/models/gemini-ok:generateContent", good, false, 403, "PERMISSION_DENIED", ""},
		{"unknown field", "/v1beta/models/gemini-ok:generateContent",
			`{"contents":[],"temperature":1}`, true, 400, "INVALID_ARGUMENT",
			`Invalid JSON payload received. Unknown name "temperature": Cannot find field.`},
		{"bad json", "/v1beta/models/gemini-ok:generateContent", `{"contents":`, true, 400, "INVALID_ARGUMENT", "Invalid JSON payload received."},
		{"no contents", "/v1beta/models/gemini-ok:generateContent", `{}`, true, 400, "INVALID_ARGUMENT", ""},
		{"unknown model", "/v1beta/models/gemini-nope:generateContent", good, true, 404, "NOT_FOUND", ""},
		{"countTokens rejects systemInstruction", "/v1beta/models/gemini-ok:countTokens",
			`{"contents":[],"systemInstruction":{}}`, true, 400, "INVALID_ARGUMENT", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, u.URL+tt.path, strings.NewReader(tt.body))
			if tt.header {
				req.Header.Set("x-goog-api-key", testKey)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error *genai.APIError `json:"error"`
			}
			b, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if tt.wantStatus == "" {
				return
			}
			if body.Error == nil || body.Error.Code != tt.status || body.Error.Status != tt.wantStatus ||
				!strings.HasPrefix(body.Error.Message, tt.wantMsg) {
				t.Errorf("error = %s", b)
			}
		})
	}
}

func TestGeminiCountTokensAndModels(t *testing.T) {
	u := NewGemini(t)
	c := geminiClient(t, u, testKey)
	u.Enqueue(Reply{Usage: Usage{InputTokens: 42}})
	ct, err := c.Models.CountTokens(context.Background(), "g", genai.Text("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct.TotalTokens != 42 {
		t.Errorf("totalTokens = %d", ct.TotalTokens)
	}
	var names []string
	for m, err := range c.Models.All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m.Name)
	}
	if len(names) != len(defaultGeminiModels) || names[0] != "models/"+defaultGeminiModels[0] {
		t.Errorf("models = %v", names)
	}
	if !bytes.Contains(u.Requests()[0].Body, []byte(`"contents"`)) {
		t.Errorf("countTokens body = %s", u.Requests()[0].Body)
	}
}

func TestGeminiAcceptsWhatTheSDKSends(t *testing.T) {
	u := NewGemini(t)
	c := geminiClient(t, u, testKey)
	budget := int32(1024)
	temp := float32(0.2)
	cfg := &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText("be brief", genai.RoleUser),
		Temperature:       &temp,
		MaxOutputTokens:   100,
		StopSequences:     []string{"END"},
		ResponseMIMEType:  "text/plain",
		ThinkingConfig:    &genai.ThinkingConfig{IncludeThoughts: true, ThinkingBudget: &budget},
		SafetySettings:    []*genai.SafetySetting{{Category: genai.HarmCategoryHarassment, Threshold: genai.HarmBlockThresholdBlockNone}},
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{
			{Name: "weather", Description: "d", Parameters: &genai.Schema{
				Type: genai.TypeObject, Required: []string{"city"},
				Properties: map[string]*genai.Schema{
					"city": {Type: genai.TypeString, Description: "c"},
					"days": {Type: genai.TypeArray, Items: &genai.Schema{Type: genai.TypeInteger}},
				},
			}},
			{Name: "raw", ParametersJsonSchema: map[string]any{"type": "object", "additionalProperties": false, "$schema": "x"}},
		}}},
		ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{
			Mode: genai.FunctionCallingConfigModeAny, AllowedFunctionNames: []string{"weather"},
		}},
	}
	contents := []*genai.Content{
		genai.NewContentFromText("hi", genai.RoleUser),
		{Role: genai.RoleModel, Parts: []*genai.Part{{FunctionCall: &genai.FunctionCall{Name: "weather", Args: map[string]any{"city": "x"}}, ThoughtSignature: []byte("sig")}}},
		{Role: genai.RoleUser, Parts: []*genai.Part{genai.NewPartFromFunctionResponse("weather", map[string]any{"output": "sunny"})}},
	}
	if _, err := c.Models.GenerateContent(context.Background(), "g", contents, cfg); err != nil {
		t.Fatalf("rich SDK request rejected: %v\n%s", err, u.Requests()[0].Body)
	}
}

func TestGeminiUnknownNamesAtDepth(t *testing.T) {
	u := NewGemini(t)
	const tool = `{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":%s}]}]}`
	tests := []struct {
		name string
		body string
		want string // "" means accepted
	}{
		{"additionalProperties in parameters",
			strings.Replace(tool, "%s", `{"type":"object","additionalProperties":false,"properties":{}}`, 1),
			`Invalid JSON payload received. Unknown name "additionalProperties" at 'tools[0].function_declarations[0].parameters': Cannot find field.`},
		{"keyword inside a property",
			strings.Replace(tool, "%s", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"number","exclusiveMinimum":0}}}`, 1),
			`Invalid JSON payload received. Unknown name "exclusiveMinimum" at 'tools[0].function_declarations[0].parameters.properties[1].value': Cannot find field.`},
		{"type as a list",
			strings.Replace(tool, "%s", `{"type":"object","properties":{"a":{"type":["string","null"]}}}`, 1),
			`Invalid JSON payload received. Unknown name "type" at 'tools[0].function_declarations[0].parameters.properties[0].value': Proto field is not repeating, cannot start list.`},
		{"items keyword",
			strings.Replace(tool, "%s", `{"type":"array","items":{"type":"string","const":"x"}}`, 1),
			`Invalid JSON payload received. Unknown name "const" at 'tools[0].function_declarations[0].parameters.items': Cannot find field.`},
		{"clean schema accepted",
			strings.Replace(tool, "%s", `{"type":"OBJECT","properties":{"a":{"type":"STRING","enum":["x","y"],"nullable":true}},"required":["a"]}`, 1), ""},
		{"generationConfig field",
			`{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":5,"max_tokens":5}}`,
			`Invalid JSON payload received. Unknown name "max_tokens" at 'generation_config': Cannot find field.`},
		{"part field",
			`{"contents":[{"role":"user","parts":[{"text":"x"},{"image_url":"u"}]}]}`,
			`Invalid JSON payload received. Unknown name "image_url" at 'contents[0].parts[1]': Cannot find field.`},
		{"snake_case accepted",
			`{"contents":[{"parts":[{"text":"x"}]}],"system_instruction":{"parts":[{"text":"s"}]},"generation_config":{"max_output_tokens":5,"thinking_config":{"include_thoughts":true}}}`, ""},
		{"free-form args accepted",
			`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":{"anything":{"nested":[1]}}},"thoughtSignature":"c2ln"}]}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(u.URL+"/v1beta/models/g:generateContent", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error *genai.APIError `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if resp.StatusCode != 200 {
					t.Fatalf("rejected: %+v", body.Error)
				}
				return
			}
			if resp.StatusCode != 400 || body.Error == nil || body.Error.Status != "INVALID_ARGUMENT" || body.Error.Message != tt.want {
				t.Errorf("status %d error %+v\nwant message %s", resp.StatusCode, body.Error, tt.want)
			}
		})
	}
}
