package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/route"
)

const mgmtSecretForTests = "mgmt-secret-key-for-tests-7c1d"

func TestManagementConfigViewIsRedacted(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[remote-management]\nsecret-key = \""+mgmtSecretForTests+"\"\n")
	if r := p.do(t, "GET", "/v0/management/config", "", "Authorization", ""); r.StatusCode != 401 {
		t.Fatalf("without the management key: %d", r.StatusCode)
	}
	resp := p.do(t, "GET", "/v0/management/config", "", "Authorization", "Bearer "+mgmtSecretForTests)
	body := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("config view: %d %s", resp.StatusCode, body)
	}
	for _, secret := range []string{upstreamKey, clientKeyForTests, mgmtSecretForTests} {
		if strings.Contains(body, secret) {
			t.Errorf("config view shows a secret ending in %s", secret[len(secret)-4:])
		}
	}
	var tree map[string]any
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		t.Fatal(err)
	}
	openai, _ := tree["openai"].([]any)
	if len(openai) != 1 {
		t.Fatalf("config view lacks the [[openai]] entry under its file key name: %s", body)
	}
	if got := openai[0].(map[string]any)["api-key"]; got != "****"+upstreamKey[len(upstreamKey)-4:] {
		t.Errorf("api-key shown as %v, want the last four characters only", got)
	}
	if _, ok := tree["routing"].(map[string]any)["strategy"]; !ok {
		t.Errorf("config view lacks routing.strategy: %s", body)
	}
}

func TestManagementHealthAndReset(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[remote-management]\nsecret-key = \""+mgmtSecretForTests+"\"\n")
	readAll(t, p.do(t, "POST", "/v1/chat/completions", chatBody))
	resp := p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", mgmtSecretForTests)
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `"credential_id": "openai-1"`) || !strings.Contains(body, `"state": "HEALTHY"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	if r := p.do(t, "POST", "/v0/management/credentials/openai-1/reset", "", "X-Management-Key", mgmtSecretForTests); r.StatusCode != 200 {
		t.Errorf("reset: %d", r.StatusCode)
	}
	r := p.do(t, "POST", "/v0/management/credentials/nope/reset", "", "X-Management-Key", mgmtSecretForTests)
	if b := readAll(t, r); r.StatusCode != 404 || !strings.Contains(b, "GET /v0/management/health") {
		t.Errorf("reset unknown: %d %s", r.StatusCode, b)
	}
}

func TestManagementKeyGuessingIsThrottled(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[remote-management]\nsecret-key = \""+mgmtSecretForTests+"\"\n")
	for i := 0; i < 5; i++ {
		if r := p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", "wrong-guess"); r.StatusCode != 401 {
			t.Fatalf("guess %d: %d", i, r.StatusCode)
		}
	}
	r := p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", mgmtSecretForTests)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("after five wrong keys even the right one waits: %d", r.StatusCode)
	}
}

// TestAccountQuotaResetIsHonoured: a subscription-style 429 naming the reset of the account's usage
// window hours ahead parks the whole credential until then, beyond the 30-minute cap on plain retry
// delays, and the next request hears the real wait.
func TestAccountQuotaResetIsHonoured(t *testing.T) {
	clk := clock.NewFake(gatewayStart)
	up := proxytest.NewAnthropic(t, proxytest.WithClock(clk))
	reset := gatewayStart.Add(5 * time.Hour)
	up.Enqueue(proxytest.Reply{Status: 429, Headers: http.Header{
		"Anthropic-Ratelimit-Unified-Status": {"rejected"},
		"Anthropic-Ratelimit-Unified-Reset":  {strconv.FormatInt(reset.Unix(), 10)},
	}})
	p := startProxy(t, anthropicConfig(up)+"[retry-policy]\nmax-retries = 0\n[remote-management]\nsecret-key = \""+mgmtSecretForTests+"\"\n",
		func(o *Options) { o.Clock = clk })
	msg := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	first := p.do(t, "POST", "/v1/messages", msg, "Anthropic-Version", "2023-06-01")
	if b := readAll(t, first); first.StatusCode != 429 {
		t.Fatalf("first: %d %s", first.StatusCode, b)
	}
	second := p.do(t, "POST", "/v1/messages", msg, "Anthropic-Version", "2023-06-01")
	body := readAll(t, second)
	if second.StatusCode != 429 || second.Header.Get("Retry-After") != "18000" || !strings.Contains(body, "claude-sonnet-4-5") {
		t.Fatalf("while cooling down: %d Retry-After=%q %s", second.StatusCode, second.Header.Get("Retry-After"), body)
	}
	if up.Hits() != 1 {
		t.Errorf("the cooling credential was called again: %d hits", up.Hits())
	}
	h := readAll(t, p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", mgmtSecretForTests))
	if !strings.Contains(h, `"state": "COOLDOWN"`) || !strings.Contains(h, reset.Format(time.RFC3339)) {
		t.Errorf("health does not show the credential cooling down until %s: %s", reset.Format(time.RFC3339), h)
	}
	clk.Advance(5*time.Hour + time.Second)
	if r := p.do(t, "POST", "/v1/messages", msg, "Anthropic-Version", "2023-06-01"); r.StatusCode != 200 {
		t.Errorf("after the reset: %d %s", r.StatusCode, readAll(t, r))
	}
}

// TestAccountInErrorAnswers401NamingWhatToDo: when the only account is out of service (its refresh
// failed for good), the client hears a 401 in its own format that says what to do, not a rate limit.
func TestAccountInErrorAnswers401NamingWhatToDo(t *testing.T) {
	up := proxytest.NewAnthropic(t)
	p := startProxy(t, anthropicConfig(up))
	p.Router().MarkError("anthropic-1", "log in to claude-code again")
	msg := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	resp := p.do(t, "POST", "/v1/messages", msg, "Anthropic-Version", "2023-06-01")
	body := readAll(t, resp)
	if resp.StatusCode != 401 || !strings.Contains(body, `"type":"authentication_error"`) || !strings.Contains(body, "log in to claude-code again") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	// An OpenAI-format client hears the same, with a code that does not blame its own key.
	resp = p.do(t, "POST", "/v1/chat/completions", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`)
	body = readAll(t, resp)
	if resp.StatusCode != 401 || !strings.Contains(body, `"code":"account_login_required"`) || !strings.Contains(body, "log in to claude-code again") {
		t.Fatalf("OpenAI format: status %d body %s", resp.StatusCode, body)
	}
	if up.Hits() != 0 {
		t.Errorf("the account in ERROR was called: %d hits", up.Hits())
	}
	p.Router().ClearError("anthropic-1")
	if r := p.do(t, "POST", "/v1/messages", msg, "Anthropic-Version", "2023-06-01"); r.StatusCode != 200 {
		t.Errorf("after the error cleared: %d %s", r.StatusCode, readAll(t, r))
	}
}

// TestClientCancelsAreNotHeldAgainstTheCredential: clients that hang up while the upstream is still
// thinking (a user pressing Esc in a coding tool) leave the credential's failure count at zero, so a
// few cancelled turns never make it DEGRADED or ERROR.
func TestClientCancelsAreNotHeldAgainstTheCredential(t *testing.T) {
	arrived := make(chan struct{})
	// An upstream that holds every request until its caller goes away.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // net/http notices a closed connection only after the body
		select {
		case arrived <- struct{}{}:
		case <-r.Context().Done():
		}
		<-r.Context().Done()
	}))
	t.Cleanup(up.Close)
	p := startProxy(t, "[[openai]]\napi-key = \""+upstreamKey+"\"\nbase-url = \""+up.URL+"/v1\"\nmodels = [\"gpt-4o\"]\n")
	for range 8 {
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, "POST", p.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		<-arrived
		cancel()
		if err := <-done; err == nil {
			t.Fatal("a cancelled request got a response")
		}
	}
	// The proxy ends its attempt after the client left; wait until the router has seen all of them.
	var h route.CredentialHealth
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; <-tick.C {
		for _, c := range p.Router().Snapshot() {
			if c.CredentialID == "openai-1" {
				h = c
			}
		}
		if h.CredentialID != "" && h.InFlight == 0 || time.Now().After(deadline) {
			break
		}
	}
	if h.InFlight != 0 || h.Failures != 0 || h.State != route.Healthy {
		t.Fatalf("after 8 cancelled requests: %+v; want no failures and HEALTHY", h.HealthStats)
	}
}
