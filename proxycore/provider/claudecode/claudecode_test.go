package claudecode

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/sse"
)

const goodToken = "sk-ant-oat01-good-access-token"

const messagesBody = `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`

func newExec(t *testing.T, base string, ts provider.TokenSource) provider.Executor {
	t.Helper()
	return accttest.Exec(t, New, "claude-code:me@example.com", base, ts)
}

func TestNewValidates(t *testing.T) {
	ts := &accttest.Tokens{}
	cases := map[string]provider.AccountOptions{
		"no id":     {Tokens: ts, Client: &http.Client{}},
		"no tokens": {ID: "x", Client: &http.Client{}},
		"no client": {ID: "x", Tokens: ts},
		"bad base":  {ID: "x", Tokens: ts, Client: &http.Client{}, Settings: map[string]string{"base-url": "api.anthropic.com"}},
	}
	for name, o := range cases {
		if _, err := New(o); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestMessagesHeadersAndBody(t *testing.T) {
	up := proxytest.NewClaudeCode(t, goodToken)
	e := newExec(t, up.URL, &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	client := http.Header{}
	client.Set("Authorization", "Bearer client-proxy-key")
	client.Set("X-Api-Key", "client-proxy-key")
	client.Add("Anthropic-Beta", "context-1m-2025-08-07, oauth-2025-04-20")
	client.Set("User-Agent", "some-ide/1.0")
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpMessages, Model: "claude-sonnet-4-5", Body: []byte(messagesBody), Header: client})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	reqs := up.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/v1/messages" || r.RawQuery != "beta=true" {
		t.Errorf("sent to %s?%s", r.Path, r.RawQuery)
	}
	want := map[string]string{
		"Authorization":     "Bearer " + goodToken,
		"Anthropic-Version": "2023-06-01",
		"Anthropic-Beta":    "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14,context-1m-2025-08-07",
		"X-App":             "cli",
		"Anthropic-Dangerous-Direct-Browser-Access": "true",
		"User-Agent":   DefaultUserAgent,
		"Content-Type": "application/json",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if v := r.Header.Get("X-Api-Key"); v != "" {
		t.Errorf("the client's x-api-key was forwarded: %q", v)
	}
	var sent struct {
		System []struct{ Type, Text string } `json:"system"`
	}
	if err := json.Unmarshal(r.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.System) != 1 || sent.System[0].Text != SystemPrefix {
		t.Errorf("system = %+v, want the Claude Code prefix block", sent.System)
	}
	if e.(provider.Labeled).Label() != "me@example.com" || e.Provider() != ID || e.CredentialID() != "claude-code:me@example.com" {
		t.Error("identity methods")
	}
}

func TestClientVersionAndUserAgentWin(t *testing.T) {
	up := proxytest.NewClaudeCode(t, goodToken)
	e := newExec(t, up.URL, &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	h := http.Header{}
	h.Set("Anthropic-Version", "2023-06-01")
	h.Set("User-Agent", "claude-cli/9.9.9 (external, cli)")
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpCountTokens, Body: []byte(`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`), Header: h})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r := up.Requests()[0]
	if r.Path != "/v1/messages/count_tokens" {
		t.Errorf("path %s", r.Path)
	}
	if got := r.Header.Get("User-Agent"); got != "claude-cli/9.9.9 (external, cli)" {
		t.Errorf("User-Agent = %q", got)
	}
	if got := r.Header.Get("Anthropic-Beta"); got != defaultBetaHeader[0] {
		t.Errorf("Anthropic-Beta = %q", got)
	}
}

func TestStreamPassesThrough(t *testing.T) {
	up := proxytest.NewClaudeCode(t, goodToken)
	e := newExec(t, up.URL, &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	body := strings.Replace(messagesBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpMessages, Stream: true, Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if up.Requests()[0].Header.Get("Accept") != "text/event-stream" {
		t.Error("stream call did not ask for an event stream")
	}
	r := sse.NewReader(resp.Body)
	var names []string
	for {
		name, _, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, string(name))
	}
	if len(names) < 3 || names[0] != "message_start" || names[len(names)-1] != "message_stop" {
		t.Errorf("events %v", names)
	}
}

func TestAuthRetry(t *testing.T) {
	up := proxytest.NewClaudeCode(t, goodToken)
	accttest.AuthRetry(t, up.Upstream, goodToken, func(t *testing.T, ts provider.TokenSource) provider.Executor {
		return newExec(t, up.URL, ts)
	}, provider.Call{Op: provider.OpMessages, Body: []byte(messagesBody)})
}

func TestCancelStopsUpstream(t *testing.T) {
	up := proxytest.NewClaudeCode(t, goodToken)
	e := newExec(t, up.URL, &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	body := strings.Replace(messagesBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	accttest.Cancel(t, up.Upstream, e, provider.Call{Op: provider.OpMessages, Stream: true, Body: []byte(body)})
}

func TestNetworkErrorHasNoToken(t *testing.T) {
	e := newExec(t, accttest.DeadURL(t), &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	_, err := e.Do(t.Context(), &provider.Call{Op: provider.OpMessages, Body: []byte(messagesBody)})
	accttest.NoSecret(t, err, goodToken)
}

func TestUnsupportedOp(t *testing.T) {
	e := newExec(t, accttest.DeadURL(t), &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	if e.Supports(provider.OpChat) || !e.Supports(provider.OpMessages) || !e.Supports(provider.OpCountTokens) {
		t.Error("Supports")
	}
	if _, err := e.Do(t.Context(), &provider.Call{Op: provider.OpChat}); err == nil {
		t.Error("want an error for chat")
	}
}
