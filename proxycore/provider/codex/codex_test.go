package codex

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/proxycore/sse"
)

const goodToken = "eyJhbGciOiJSUzI1NiJ9.good-chatgpt-access-token"

// clientBody is what a Responses client sends: no instructions, a token cap the backend refuses.
const clientBody = `{"model":"gpt-5-codex","input":[{"role":"user","content":"weather in Paris?"}],"max_output_tokens":512,"stream":false}`

func newExec(t *testing.T, base string, ts provider.TokenSource) provider.Executor {
	t.Helper()
	return accttest.Exec(t, New, "codex:me@example.com", base, ts)
}

func goodTokens() *accttest.Tokens {
	return &accttest.Tokens{Current: accttest.Bearer(goodToken, oauth.ExtraAccountID, "acct-123")}
}

func start(t *testing.T) (*proxytest.Upstream, provider.Executor) {
	up := proxytest.NewCodex(t, proxytest.WithAPIKey(goodToken))
	return up, newExec(t, up.URL+proxytest.CodexPath, goodTokens())
}

// responsesObject is the part of a Responses object the tests read.
type responsesObject struct {
	Object string `json:"object"`
	Status string `json:"status"`
	Output []struct {
		Type      string `json:"type"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
		CallID    string `json:"call_id"`
		Content   []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
	Usage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

func TestNonStreamAggregatesTheStream(t *testing.T) {
	up, e := start(t)
	up.Enqueue(proxytest.Reply{
		Text:      "Let me check.",
		ToolCalls: []proxytest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
		Usage:     proxytest.Usage{InputTokens: 21, OutputTokens: 34},
	})
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Model: "gpt-5-codex", Body: []byte(clientBody)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.Header.Get("X-Codex-Primary-Used-Percent") == "" {
		t.Error("upstream headers were dropped")
	}
	var got responsesObject
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	if got.Object != "response" || got.Status != "completed" || len(got.Output) != 2 {
		t.Fatalf("response %+v", got)
	}
	if m := got.Output[0]; m.Type != "message" || len(m.Content) != 1 || m.Content[0].Text != "Let me check." {
		t.Errorf("message item %+v", m)
	}
	if f := got.Output[1]; f.Type != "function_call" || f.Name != "get_weather" || f.Arguments != `{"city":"Paris"}` || f.CallID == "" {
		t.Errorf("function call item %+v", f)
	}
	if got.Usage.InputTokens != 21 || got.Usage.OutputTokens != 34 {
		t.Errorf("usage %+v", got.Usage)
	}
}

func TestRequestHeadersAndBody(t *testing.T) {
	up, e := start(t)
	client := http.Header{}
	client.Set("Authorization", "Bearer client-proxy-key")
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Body: []byte(clientBody), Header: client})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r := up.Requests()[0]
	if r.Path != proxytest.CodexPath+"/responses" {
		t.Errorf("path %s", r.Path)
	}
	want := map[string]string{
		"Authorization":      "Bearer " + goodToken,
		"Chatgpt-Account-Id": "acct-123",
		"Openai-Beta":        "responses=experimental",
		"Originator":         Originator,
		"Version":            ClientVersion,
		"Accept":             "text/event-stream",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(r.Header.Get("User-Agent"), Originator+"/"+ClientVersion+" (") {
		t.Errorf("User-Agent %q", r.Header.Get("User-Agent"))
	}
	if len(r.Header.Get("Session_id")) != 36 {
		t.Errorf("session_id %q is not a UUID", r.Header.Get("Session_id"))
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent["stream"]) != "true" || string(sent["store"]) != "false" || string(sent["instructions"]) != `"`+DefaultInstructions+`"` {
		t.Errorf("stream %s store %s instructions %s", sent["stream"], sent["store"], sent["instructions"])
	}
	if _, ok := sent["max_output_tokens"]; ok {
		t.Error("max_output_tokens was forwarded")
	}
}

func TestSessionIDFollowsTheConversation(t *testing.T) {
	h := http.Header{}
	h.Set("session_id", "from-client")
	cases := []struct {
		name string
		h    http.Header
		body string
		want string
	}{
		{"client header", h, `{}`, "from-client"},
		{"prompt cache key", nil, `{"prompt_cache_key":"conv-42"}`, "conv-42"},
	}
	for _, tc := range cases {
		if got := sessionID(tc.h, []byte(tc.body)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if a, b := sessionID(nil, []byte(`{}`)), sessionID(nil, []byte(`{}`)); a == b {
		t.Error("fresh session ids repeat")
	}
}

func TestClientInstructionsKept(t *testing.T) {
	e := &executor{instructions: []byte(`"default"`)}
	out, err := e.prepare([]byte(`{"instructions":"mine","model":"m","store":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"instructions":"mine","model":"m","store":false,"stream":true}` {
		t.Errorf("prepared %s", out)
	}
}

func TestStreamPassesEventsThroughAsTheyCome(t *testing.T) {
	up, e := start(t)
	resume := make(chan struct{})
	up.Enqueue(proxytest.Reply{Text: "streamed answer", PauseAfter: 2, Resume: resume})
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Stream: true, Body: []byte(strings.Replace(clientBody, `"stream":false`, `"stream":true`, 1))})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	r := sse.NewReader(resp.Body)
	var names []string
	next := func() bool {
		name, data, err := r.Next()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		if eventType(data) != string(name) {
			t.Errorf("event %q carries type %q", name, eventType(data))
		}
		names = append(names, string(name))
		return true
	}
	// The upstream holds the rest until resumed: these two can only arrive if nothing is buffered.
	for range 2 {
		if !next() {
			t.Fatal("stream ended early")
		}
	}
	if names[0] != "response.created" || names[1] != "response.in_progress" {
		t.Fatalf("first events %v", names)
	}
	close(resume)
	for next() {
	}
	if last := names[len(names)-1]; last != "response.completed" {
		t.Errorf("last event %q of %v", last, names)
	}
}

func TestUsageLimitKeepsResetHint(t *testing.T) {
	up, e := start(t)
	up.Enqueue(proxytest.Reply{Status: http.StatusTooManyRequests, RetryAfter: 90 * time.Minute})
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Body: []byte(clientBody)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"resets_in_seconds":5400`) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	now := time.Now()
	until, ok := route.CooldownFromResponse(resp.StatusCode, resp.Header, body, now)
	if !ok || until.Before(now.Add(80*time.Minute)) {
		t.Errorf("cooldown until %v (ok %v)", until, ok)
	}
	q := e.(provider.QuotaReporter).Quota()
	if len(q.Items) != 2 || q.Items[0].Name != "5h" || q.Items[0].UsedPercent != 100 || q.Items[0].Status != "rejected" {
		t.Errorf("quota after the limit %+v", q)
	}
}

func TestInStreamFailureBecomesAnError(t *testing.T) {
	up, e := start(t)
	up.Enqueue(proxytest.Reply{ErrorAfter: 3, ErrorMessage: "upstream broke"})
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Body: []byte(clientBody)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "upstream broke") {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
}

func TestCutStreamIsAnError(t *testing.T) {
	up, e := start(t)
	up.Enqueue(proxytest.Reply{CutAfter: 4})
	if resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Body: []byte(clientBody)}); err == nil {
		resp.Body.Close()
		t.Fatal("want an error for a stream without response.completed")
	}
}

func TestQuotaFromUsageHeaders(t *testing.T) {
	_, e := start(t)
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Body: []byte(clientBody)})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := e.(provider.QuotaReporter).Quota()
	if len(q.Items) != 2 {
		t.Fatalf("quota %+v", q)
	}
	p, s := q.Items[0], q.Items[1]
	if p.Name != "5h" || p.UsedPercent != 12 || s.Name != "7d" || s.UsedPercent != 3 {
		t.Errorf("items %+v %+v", p, s)
	}
	if d := p.ResetAt.Sub(q.Updated); d != 4*time.Hour {
		t.Errorf("primary resets %v after the reading", d)
	}
}

func TestParseUsageResetAt(t *testing.T) {
	h := http.Header{}
	h.Set("x-codex-primary-used-percent", "55.5")
	h.Set("x-codex-primary-window-minutes", "90")
	h.Set("x-codex-primary-reset-at", "1900000000")
	q, ok := parseUsage(h, time.Unix(1, 0))
	if !ok || len(q.Items) != 1 {
		t.Fatalf("%+v %v", q, ok)
	}
	if it := q.Items[0]; it.Name != "90m" || it.UsedPercent != 55.5 || it.ResetAt.Unix() != 1_900_000_000 {
		t.Errorf("%+v", it)
	}
	if _, ok := parseUsage(http.Header{}, time.Unix(1, 0)); ok {
		t.Error("no headers should give no quota")
	}
}

func TestAuthRetry(t *testing.T) {
	up := proxytest.NewCodex(t, proxytest.WithAPIKey(goodToken))
	accttest.AuthRetry(t, up, goodToken, func(t *testing.T, ts provider.TokenSource) provider.Executor {
		return newExec(t, up.URL+proxytest.CodexPath, ts)
	}, provider.Call{Op: provider.OpResponses, Body: []byte(clientBody)})
}

func TestCancelStopsUpstream(t *testing.T) {
	up, e := start(t)
	accttest.Cancel(t, up, e, provider.Call{Op: provider.OpResponses, Stream: true, Body: []byte(clientBody)})
}

func TestNetworkErrorHasNoToken(t *testing.T) {
	e := newExec(t, accttest.DeadURL(t), goodTokens())
	_, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Body: []byte(clientBody)})
	accttest.NoSecret(t, err, goodToken)
}

func TestConcurrentCalls(t *testing.T) {
	_, e := start(t)
	const n = 16
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpResponses, Body: []byte(clientBody)})
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			_ = e.(provider.QuotaReporter).Quota()
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
