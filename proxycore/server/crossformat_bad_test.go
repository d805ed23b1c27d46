package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// TestCrossFormatBadInput: what a target cannot express is refused with a 400 naming the feature before
// any upstream call, and upstream client errors keep their status in the client's error shape.
func TestCrossFormatBadInput(t *testing.T) {
	m := newXMatrix(t, "[retry-policy]\nmax-retries = 0\n")
	byName := map[string]*xUpstream{}
	for _, u := range m.ups {
		byName[u.name] = u
	}
	refused := []struct {
		name, upstream, path, body, mention string
	}{
		{"image URL to gemini", "gemini", "/v1/chat/completions",
			`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`, "image"},
		{"n > 1 to anthropic", "anthropic", "/v1/chat/completions",
			`{"model":"claude-sonnet-4-5","n":3,"messages":[{"role":"user","content":"hi"}]}`, "n"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			up := byName[tc.upstream]
			before := up.up.Hits()
			resp := m.p.do(t, "POST", tc.path, tc.body)
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.mention) || !strings.Contains(body, "invalid_request_error") {
				t.Errorf("status %d: %s; want a 400 naming %q", resp.StatusCode, body, tc.mention)
			}
			if up.up.Hits() != before {
				t.Errorf("the refused request reached the upstream")
			}
		})
	}
	upstreamErrors := []struct {
		name, client, upstream string
		status                 int
		want                   string
	}{
		{"anthropic 400 to chat", "chat", "anthropic", 400, `"invalid_request_error"`},
		{"openai 400 to claude", "claude", "openai", 400, `"invalid_request_error"`},
		{"gemini 400 to responses", "responses", "gemini", 400, `"error"`},
		{"openai 404 to gemini", "gemini", "openai", 404, `"NOT_FOUND"`},
		{"anthropic 401 to gemini", "gemini", "anthropic", 401, `"error"`},
	}
	for _, tc := range upstreamErrors {
		t.Run(tc.name, func(t *testing.T) {
			up := byName[tc.upstream]
			up.up.Enqueue(proxytest.Reply{Status: tc.status, ErrorMessage: "upstream says no"})
			rq := rawRequest(tc.client, up.model, false)
			resp := m.p.do(t, "POST", rq.path, rq.body)
			body := readAll(t, resp)
			wantStatus := tc.status // errors keep the upstream status
			if resp.StatusCode != wantStatus || !strings.Contains(body, tc.want) || !strings.Contains(body, "upstream says no") {
				t.Errorf("status %d: %s; want %d with %s and the upstream's message", resp.StatusCode, body, wantStatus, tc.want)
			}
			m.p.Router().Reset(up.name + "-1") // a 401 marks the credential; the next case needs it
		})
	}
}
