package proxytest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// send posts body to url with headers (pairs) and returns the status, headers and body.
func send(t *testing.T, url, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestCodexRefusals(t *testing.T) {
	u := NewCodex(t, WithAPIKey("tok"))
	url := u.URL + CodexPath + "/responses"
	ok := `"model":"gpt-5","input":"hi","instructions":"x"`
	cases := []struct {
		name, body, detail string
		status             int
	}{
		{"not streamed", `{` + ok + `,"store":false}`, "Stream must be set to true", 400},
		{"stored", `{` + ok + `,"stream":true}`, "Store must be set to false", 400},
		{"no instructions", `{"model":"gpt-5","input":"hi","stream":true,"store":false}`, "Instructions are required", 400},
		{"token cap", `{` + ok + `,"stream":true,"store":false,"max_output_tokens":5}`, "Unsupported parameter: max_output_tokens", 400},
		{"accepted", `{` + ok + `,"stream":true,"store":false}`, "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := send(t, url, tc.body, "Authorization", "Bearer tok")
			if status != tc.status || !strings.Contains(body, tc.detail) {
				t.Fatalf("status %d body %s", status, body)
			}
			if status == 200 {
				if h.Get("x-codex-primary-used-percent") == "" {
					t.Error("no usage headers")
				}
				// response.completed leaves the output empty, as the backend does with store=false.
				i := strings.Index(body, "event: response.completed")
				if i < 0 || !strings.Contains(body[i:], `"output":[]`) {
					t.Errorf("terminal event: %s", body[max(i, 0):])
				}
			}
		})
	}
	u.Enqueue(Reply{Status: 429, RetryAfter: 2 * time.Minute})
	status, _, body := send(t, url, `{`+ok+`,"stream":true,"store":false}`, "Authorization", "Bearer tok")
	if status != 429 || !strings.Contains(body, `"type":"usage_limit_reached"`) || !strings.Contains(body, `"resets_in_seconds":120`) {
		t.Errorf("usage limit: %d %s", status, body)
	}
}

func TestClaudeCodeGate(t *testing.T) {
	cc := NewClaudeCode(t, "oat")
	url := cc.URL + "/v1/messages?beta=true"
	body := `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	status, _, got := send(t, url, body, "Authorization", "Bearer oat", "anthropic-version", "2023-06-01")
	if status != 401 || !strings.Contains(got, "OAuth authentication is currently not supported") || cc.Hits() != 0 {
		t.Errorf("without the beta: %d %s (hits %d)", status, got, cc.Hits())
	}
	status, h, got := send(t, url, body, "Authorization", "Bearer oat", "anthropic-version", "2023-06-01",
		"anthropic-beta", "claude-code-20250219,"+ClaudeOAuthBeta)
	if status != 200 || h.Get("anthropic-ratelimit-unified-5h-utilization") != "0.25" {
		t.Errorf("with the beta: %d %v %s", status, h, got)
	}
}

func TestCopilotGate(t *testing.T) {
	c := NewCopilot(t, "cop")
	url := c.URL + "/chat/completions"
	body := `{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}`
	if status, _, got := send(t, url, body, "Authorization", "Bearer cop"); status != 400 || !strings.Contains(got, "Editor-Version") {
		t.Errorf("without Editor-Version: %d %s", status, got)
	}
	status, h, got := send(t, url, body, "Authorization", "Bearer cop", "Editor-Version", "vscode/1.0")
	if status != 200 || !strings.Contains(h.Get("x-quota-snapshot-premium_interactions"), "rem=80.0") {
		t.Errorf("with Editor-Version: %d %v %s", status, h, got)
	}
}
