package copilot

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const goodToken = "tid=abc;exp=1900000000;sku=copilot_pro;8kp=1:good-copilot-token"

const chatBody = `{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}`

// newExec points base-url at a dead port: the token's api_base (the fake) must win.
func newExec(t *testing.T, ts provider.TokenSource) provider.Executor {
	t.Helper()
	return accttest.Exec(t, New, "copilot:octocat", accttest.DeadURL(t), ts)
}

func tokens(access, apiBase string) *accttest.Tokens {
	return &accttest.Tokens{Current: accttest.Bearer(access, oauth.ExtraAPIBase, apiBase)}
}

func do(t *testing.T, e provider.Executor, body string, stream bool) *http.Response {
	t.Helper()
	client := http.Header{}
	client.Set("Authorization", "Bearer client-proxy-key")
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpChat, Stream: stream, Body: []byte(body), Header: client})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestHeadersAndAPIBase(t *testing.T) {
	up := proxytest.NewCopilot(t, goodToken)
	e := newExec(t, tokens(goodToken, up.URL))
	resp := do(t, e, chatBody, false)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	r := up.Requests()[0]
	if r.Path != "/chat/completions" {
		t.Errorf("path %s", r.Path)
	}
	want := map[string]string{
		"Authorization":          "Bearer " + goodToken,
		"Editor-Version":         EditorVersion,
		"Editor-Plugin-Version":  EditorPluginVersion,
		"Copilot-Integration-Id": "vscode-chat",
		"User-Agent":             "GitHubCopilotChat/0.48.1",
		"Openai-Intent":          "conversation-panel",
		"X-Github-Api-Version":   GitHubAPIVersion,
		"X-Initiator":            "user",
		"Accept":                 "application/json",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(r.Header.Get("X-Request-Id")) != 36 {
		t.Errorf("X-Request-Id %q", r.Header.Get("X-Request-Id"))
	}
	if r.Header.Get("Copilot-Vision-Request") != "" {
		t.Error("vision header on a text-only request")
	}
}

func TestInitiatorAndVision(t *testing.T) {
	up := proxytest.NewCopilot(t, goodToken)
	e := newExec(t, tokens(goodToken, up.URL))
	cases := []struct {
		name, body, initiator, vision string
	}{
		{"new prompt after history", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role": "user","content":"c"}]}`, "user", ""},
		{"tool loop", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[]},{"role":"tool","tool_call_id":"1","content":"{\"role\":\"user\"}"}]}`, "agent", ""},
		{"image", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]}]}`, "user", "true"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, e, tc.body, false)
			resp.Body.Close()
			r := up.Requests()[i]
			if got := r.Header.Get("X-Initiator"); got != tc.initiator {
				t.Errorf("X-Initiator = %q, want %q", got, tc.initiator)
			}
			if got := r.Header.Get("Copilot-Vision-Request"); got != tc.vision {
				t.Errorf("Copilot-Vision-Request = %q, want %q", got, tc.vision)
			}
		})
	}
}

func TestQuotaSnapshots(t *testing.T) {
	up := proxytest.NewCopilot(t, goodToken)
	reset := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	up.SetQuota(proxytest.CopilotQuota{Entitlement: 300, PercentRemaining: 25, Reset: reset, Session: 60, Weekly: 90})
	e := newExec(t, tokens(goodToken, up.URL))
	resp := do(t, e, chatBody, true)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	q := e.(provider.QuotaReporter).Quota()
	byName := map[string]provider.QuotaItem{}
	for _, it := range q.Items {
		byName[it.Name] = it
	}
	p := byName["premium_interactions"]
	if p.UsedPercent != 75 || p.Limit != 300 || p.Remaining != 75 || !p.ResetAt.Equal(reset) {
		t.Errorf("premium %+v", p)
	}
	if c := byName["chat"]; c.Status != "unlimited" || c.Limit != -1 {
		t.Errorf("chat %+v", c)
	}
	if s, w := byName["session"], byName["weekly"]; s.UsedPercent != 40 || w.UsedPercent != 10 || s.Limit != -1 || s.Remaining != -1 {
		t.Errorf("session %+v weekly %+v", s, w)
	}
}

func TestParseSnapshotExhausted(t *testing.T) {
	it, ok := parseSnapshot("premium_interactions", "ent=300&ov=12.0&ovPerm=false&rem=0.0&rst=2026-12-01T00%3A00%3A00Z")
	if !ok || it.Status != "exhausted" || it.UsedPercent != 100 || it.Remaining != 0 {
		t.Errorf("%+v", it)
	}
	if _, ok := parseQuota(http.Header{}, time.Now()); ok {
		t.Error("no headers should give no quota")
	}
}

func TestAuthRetry(t *testing.T) {
	up := proxytest.NewCopilot(t, goodToken)
	accttest.AuthRetry(t, up.Upstream, goodToken, newExec,
		provider.Call{Op: provider.OpChat, Body: []byte(chatBody)}, oauth.ExtraAPIBase, up.URL)
}

func TestCancelStopsUpstream(t *testing.T) {
	up := proxytest.NewCopilot(t, goodToken)
	e := newExec(t, tokens(goodToken, up.URL))
	body := `{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	accttest.Cancel(t, up.Upstream, e, provider.Call{Op: provider.OpChat, Stream: true, Body: []byte(body)})
}

func TestNetworkErrorHasNoToken(t *testing.T) {
	e := newExec(t, tokens(goodToken, ""))
	_, err := e.Do(t.Context(), &provider.Call{Op: provider.OpChat, Body: []byte(chatBody)})
	accttest.NoSecret(t, err, goodToken)
}

func TestOnlyChat(t *testing.T) {
	e := newExec(t, tokens(goodToken, ""))
	if !e.Supports(provider.OpChat) || e.Supports(provider.OpResponses) {
		t.Error("Supports")
	}
}
