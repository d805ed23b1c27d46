package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// These tests route through the real server across several credentials of one provider, each credential
// pointing at its own scripted fake, so every attempt is visible as a hit on one fake.

const mgmtKeyForTests = "mgmt-secret-7e6d5c4b3a2f1e0d"

// fastRetriesWith retries at once (1 ms backoff, no jitter) so tests do not wait, with extra [retry-policy]
// lines; the management API is on.
func fastRetriesWith(extra string) string {
	maxRetries := "max-retries = 3\n"
	if strings.Contains(extra, "max-retries") {
		maxRetries = ""
	}
	return "[retry-policy]\n" + maxRetries + "initial-backoff-ms = 1\nmax-backoff-ms = 1\njitter = 0.0\n" + extra +
		"[remote-management]\nsecret-key = \"" + mgmtKeyForTests + "\"\n"
}

var fastRetries = fastRetriesWith("")

// pool is one provider's credentials, one fake upstream each.
type pool struct {
	kind  string // openai, anthropic, gemini
	model string
	ups   []*proxytest.Upstream
}

func newPool(t *testing.T, kind string, n int, opts ...proxytest.Option) *pool {
	t.Helper()
	p := &pool{kind: kind}
	opts = append([]proxytest.Option{proxytest.WithAPIKey(upstreamKey)}, opts...)
	for i := 0; i < n; i++ {
		switch kind {
		case "openai":
			p.ups, p.model = append(p.ups, proxytest.NewOpenAI(t, opts...)), "gpt-4o"
		case "anthropic":
			p.ups, p.model = append(p.ups, proxytest.NewAnthropic(t, opts...)), "claude-sonnet-4-5"
		case "gemini":
			p.ups, p.model = append(p.ups, proxytest.NewGemini(t, opts...)), "gemini-2.5-flash"
		}
	}
	return p
}

// config lists the pool's credentials; their ids are kind-1, kind-2, ...
func (p *pool) config() string {
	var b strings.Builder
	for _, u := range p.ups {
		base := u.URL
		if p.kind == "openai" {
			base += "/v1"
		}
		b.WriteString("[[" + p.kind + "]]\napi-key = \"" + upstreamKey + "\"\nbase-url = \"" + base + "\"\nmodels = [\"" + p.model + "\"]\n")
	}
	return b.String()
}

func (p *pool) id(i int) string { return p.kind + "-" + strconv.Itoa(i+1) }

func (p *pool) hits() []int {
	out := make([]int, len(p.ups))
	for i, u := range p.ups {
		out[i] = u.Hits()
	}
	return out
}

// healthView is the part of GET /v0/management/health the tests read.
type healthView struct {
	Credentials []struct {
		CredentialID  string    `json:"credential_id"`
		State         string    `json:"state"`
		CooldownUntil time.Time `json:"cooldown_until"`
		Failures      int       `json:"failures"`
		LastStatus    int       `json:"last_status"`
		Models        []struct {
			Model         string    `json:"model"`
			State         string    `json:"state"`
			CooldownUntil time.Time `json:"cooldown_until"`
		} `json:"models"`
	} `json:"credentials"`
}

func (p *testProxy) health(t *testing.T) healthView {
	t.Helper()
	resp := p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", mgmtKeyForTests)
	body := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	var h healthView
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("health body: %v: %s", err, body)
	}
	return h
}

// cooldownOf returns the latest cooldown the health view shows for a credential (itself or any model).
func (h healthView) cooldownOf(id string) time.Time {
	var until time.Time
	for _, c := range h.Credentials {
		if c.CredentialID != id {
			continue
		}
		until = c.CooldownUntil
		for _, m := range c.Models {
			if m.CooldownUntil.After(until) {
				until = m.CooldownUntil
			}
		}
	}
	return until
}

func TestRetryNextCredentialBeforeFirstByte(t *testing.T) {
	cases := []struct {
		name, kind, client string
		stream             bool
		first              proxytest.Reply
	}{
		{"openai 429 chat", "openai", "chat", false, proxytest.Reply{Status: 429, RetryAfter: 9 * time.Second}},
		{"openai 500 chat stream", "openai", "chat", true, proxytest.Reply{Status: 500}},
		{"openai 503 to claude client", "openai", "claude", true, proxytest.Reply{Status: 503}},
		{"anthropic 529 overloaded", "anthropic", "claude", false, proxytest.Reply{Status: 529}},
		{"anthropic 429 to responses client", "anthropic", "responses", true, proxytest.Reply{Status: 429, RetryAfter: 4 * time.Second}},
		{"gemini 429 RetryInfo to gemini client", "gemini", "gemini", true, proxytest.Reply{Status: 429, RetryAfter: 6 * time.Second}},
		{"gemini 502 to chat client", "gemini", "chat", false, proxytest.Reply{Status: 502}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pl := newPool(t, tc.kind, 3)
			retryOn := "retry-on = [408, 429, 500, 502, 503, 504, 529]\n"
			p := startProxy(t, pl.config()+fastRetriesWith(retryOn))
			pl.ups[0].Enqueue(tc.first)
			pl.ups[1].Enqueue(proxytest.Reply{Status: 503})
			pl.ups[2].Enqueue(proxytest.Reply{Text: "third time lucky", StreamChunks: 1})
			rq := rawRequest(tc.client, pl.model, tc.stream)
			resp := p.do(t, "POST", rq.path, rq.body)
			body := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if !strings.Contains(body, "third time lucky") {
				t.Errorf("the answer of the third credential is missing: %.500s", body)
			}
			if strings.Contains(body, `"error":{`) || strings.Contains(body, "event: error") {
				t.Errorf("an upstream failure leaked to the client: %.500s", body)
			}
			if got := pl.hits(); got[0] != 1 || got[1] != 1 || got[2] != 1 {
				t.Errorf("hits = %v, want one attempt on each credential", got)
			}
		})
	}
}

// TestRetryStopsAtMaxRetries: with max-retries = 1 only two credentials are tried, and the client gets the
// last upstream failure in its own format.
func TestRetryStopsAtMaxRetries(t *testing.T) {
	pl := newPool(t, "anthropic", 3)
	p := startProxy(t, pl.config()+fastRetriesWith("max-retries = 1\n"))
	for _, u := range pl.ups {
		u.SetDefault(proxytest.Reply{Status: 503})
	}
	rq := rawRequest("chat", pl.model, false)
	resp := p.do(t, "POST", rq.path, rq.body)
	body := readAll(t, resp)
	if resp.StatusCode != 503 || !strings.Contains(body, `"error"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := pl.hits(); got[0]+got[1]+got[2] != 2 {
		t.Errorf("hits = %v, want 2 attempts in all", got)
	}
}

// TestNoRetryAfterFirstByte: once the stream has started, an upstream failure ends the client's stream
// with an error event of its format and no other credential is tried.
func TestNoRetryAfterFirstByte(t *testing.T) {
	cases := []struct {
		kind, client string
		reply        proxytest.Reply
		wantEnd      string // the client-format error event
	}{
		{"openai", "chat", proxytest.Reply{CutAfter: 3}, `data: {"error"`},
		{"openai", "chat", proxytest.Reply{ErrorAfter: 3}, `data: {"error"`},
		{"openai", "claude", proxytest.Reply{CutAfter: 3}, "event: error"},
		{"openai", "responses", proxytest.Reply{MalformedAfter: 3}, `"type":"response.failed"`},
		{"openai", "gemini", proxytest.Reply{CutAfter: 3}, `"error"`},
		{"anthropic", "claude", proxytest.Reply{ErrorAfter: 3}, "event: error"},
		{"anthropic", "chat", proxytest.Reply{CutAfter: 3}, `data: {"error"`},
		{"anthropic", "gemini", proxytest.Reply{MalformedAfter: 5}, `"error"`},
		{"gemini", "chat", proxytest.Reply{CutAfter: 2}, `data: {"error"`},
		{"gemini", "claude", proxytest.Reply{ErrorAfter: 2}, "event: error"},
		{"gemini", "responses", proxytest.Reply{CutAfter: 2}, `"type":"response.failed"`},
	}
	for _, tc := range cases {
		name := tc.kind + " to " + tc.client
		switch {
		case tc.reply.CutAfter > 0:
			name += " cut"
		case tc.reply.ErrorAfter > 0:
			name += " in-stream error"
		default:
			name += " malformed"
		}
		t.Run(name, func(t *testing.T) {
			pl := newPool(t, tc.kind, 2)
			p := startProxy(t, pl.config()+fastRetries)
			pl.ups[0].Enqueue(tc.reply)
			rq := rawRequest(tc.client, pl.model, true)
			resp := p.do(t, "POST", rq.path, rq.body)
			body := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if pl.ups[1].Hits() != 0 {
				t.Errorf("a second credential was tried after the stream had started")
			}
			frames := strings.Split(strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n")), "\n\n")
			last := frames[len(frames)-1]
			if !strings.Contains(last, tc.wantEnd) {
				t.Errorf("the stream does not end with %s; last frame %q", tc.wantEnd, last)
			}
			for _, normal := range []string{"data: [DONE]", "event: message_stop", "event: response.completed"} {
				if strings.Contains(body, normal) {
					t.Errorf("a failed stream looks finished (%s): %s", normal, body)
				}
			}
			if tc.client == "gemini" && strings.Contains(body, `"finishReason":"STOP"`) {
				t.Errorf("a failed Gemini stream finished with STOP: %s", body)
			}
		})
	}
}

// TestCooldownFromUpstreamHints: each vendor's rate-limit hint puts the credential into a cooldown that ends
// exactly when the upstream said, visible in GET /v0/management/health and cleared by the reset endpoint.
func TestCooldownFromUpstreamHints(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	cases := []struct {
		name, kind string
		reply      proxytest.Reply
		want       time.Duration
	}{
		{"openai retry-after", "openai", proxytest.Reply{Status: 429, RetryAfter: 30 * time.Second}, 30 * time.Second},
		{"openai x-ratelimit-reset", "openai", proxytest.Reply{Status: 429}, 120 * time.Millisecond},
		{"anthropic retry-after", "anthropic", proxytest.Reply{Status: 429, RetryAfter: 45 * time.Second}, 45 * time.Second},
		{"anthropic-ratelimit reset", "anthropic", proxytest.Reply{Status: 429}, time.Second},
		{"gemini RetryInfo", "gemini", proxytest.Reply{Status: 429, RetryAfter: 20 * time.Second}, 20 * time.Second},
		{"5xx retry-after", "openai", proxytest.Reply{Status: 503, Headers: http.Header{"Retry-After": {"12"}}}, 12 * time.Second},
		{"plain delay capped", "gemini", proxytest.Reply{Status: 429, RetryAfter: 2 * time.Hour}, 30 * time.Minute},
		{"named reset beyond the cap", "anthropic", proxytest.Reply{Status: 429, RetryAfter: 2 * time.Hour}, 2 * time.Hour},
		{"hintless 429", "gemini", proxytest.Reply{Status: 429}, 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			pl := newPool(t, tc.kind, 2, proxytest.WithClock(clk))
			p := startProxy(t, pl.config()+fastRetries, func(o *Options) { o.Clock = clk })
			pl.ups[0].Enqueue(tc.reply)
			rq := rawRequest("chat", pl.model, false)
			if resp := p.do(t, "POST", rq.path, rq.body); resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp))
			} else {
				readAll(t, resp)
			}
			h := p.health(t)
			if got := h.cooldownOf(pl.id(0)); !got.Equal(t0.Add(tc.want)) {
				t.Fatalf("cooldown of %s = %v, want %v (health %+v)", pl.id(0), got, t0.Add(tc.want), h)
			}
			if got := h.cooldownOf(pl.id(1)); !got.IsZero() {
				t.Errorf("the healthy credential cools down until %v", got)
			}
			// While it cools down, fill-first skips it.
			rq = rawRequest("chat", pl.model, false)
			readAll(t, p.do(t, "POST", rq.path, rq.body))
			if got := pl.hits(); got[0] != 1 || got[1] != 2 {
				t.Errorf("hits during the cooldown = %v, want [1 2]", got)
			}
			// A manual reset clears it and the first credential serves again.
			resp := p.do(t, "POST", "/v0/management/credentials/"+pl.id(0)+"/reset", "", "X-Management-Key", mgmtKeyForTests)
			if body := readAll(t, resp); resp.StatusCode != 200 {
				t.Fatalf("reset: %d %s", resp.StatusCode, body)
			}
			if got := p.health(t).cooldownOf(pl.id(0)); !got.IsZero() {
				t.Errorf("cooldown after reset = %v", got)
			}
			readAll(t, p.do(t, "POST", rq.path, rq.body))
			if got := pl.hits(); got[0] != 2 {
				t.Errorf("hits after reset = %v, want the first credential used again", got)
			}
		})
	}
}

// TestCooldownEndsByItself: when the hinted time passes the credential serves again without a probe.
func TestCooldownEndsByItself(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	pl := newPool(t, "openai", 2, proxytest.WithClock(clk))
	p := startProxy(t, pl.config()+fastRetries, func(o *Options) { o.Clock = clk })
	pl.ups[0].Enqueue(proxytest.Reply{Status: 429, RetryAfter: 30 * time.Second})
	rq := rawRequest("chat", pl.model, false)
	readAll(t, p.do(t, "POST", rq.path, rq.body))
	clk.Advance(29 * time.Second)
	readAll(t, p.do(t, "POST", rq.path, rq.body))
	if got := pl.hits(); got[0] != 1 {
		t.Fatalf("hits = %v: the credential served before its reset time", got)
	}
	clk.Advance(2 * time.Second)
	readAll(t, p.do(t, "POST", rq.path, rq.body))
	if got := pl.hits(); got[0] != 2 {
		t.Errorf("hits = %v: the credential did not come back after its reset time", got)
	}
}

// TestAllCoolingDownAnswers429: when every credential of a model cools down the client gets a 429 in its
// own format naming the model, with Retry-After set to the earliest recovery.
func TestAllCoolingDownAnswers429(t *testing.T) {
	for _, cl := range []string{"chat", "responses", "claude", "gemini"} {
		t.Run(cl, func(t *testing.T) {
			t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
			clk := clock.NewFake(t0)
			pl := newPool(t, "openai", 2, proxytest.WithClock(clk))
			p := startProxy(t, pl.config()+fastRetries, func(o *Options) { o.Clock = clk })
			pl.ups[0].Enqueue(proxytest.Reply{Status: 429, RetryAfter: 50 * time.Second})
			pl.ups[1].Enqueue(proxytest.Reply{Status: 429, RetryAfter: 30 * time.Second})
			rq := rawRequest(cl, pl.model, false)
			resp := p.do(t, "POST", rq.path, rq.body)
			if body := readAll(t, resp); resp.StatusCode != 429 {
				t.Fatalf("first request: %d %s", resp.StatusCode, body)
			}
			clk.Advance(10 * time.Second)
			for _, stream := range []bool{false, true} {
				rq := rawRequest(cl, pl.model, stream)
				resp := p.do(t, "POST", rq.path, rq.body)
				body := readAll(t, resp)
				if resp.StatusCode != 429 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				if ra := resp.Header.Get("Retry-After"); ra != "20" {
					t.Errorf("Retry-After = %q, want 20 (the earliest recovery)", ra)
				}
				checkErrorShape(t, cl, 429, body)
				if !strings.Contains(body, "gpt-4o") {
					t.Errorf("the error does not name the model: %s", body)
				}
			}
			if got := pl.hits(); got[0] != 1 || got[1] != 1 {
				t.Errorf("hits = %v: a cooling credential was called", got)
			}
		})
	}
}

// TestFallbackChainToOtherFormat: when every credential of a model fails, the chain's next model is served
// by another provider in its own format, and the response says so.
func TestFallbackChainToOtherFormat(t *testing.T) {
	cases := []struct {
		client, from, to string
		stream           bool
	}{
		{"chat", "openai", "anthropic", false},
		{"chat", "openai", "anthropic", true},
		{"claude", "anthropic", "gemini", true},
		{"gemini", "gemini", "openai", false},
		{"responses", "openai", "gemini", true},
	}
	for _, tc := range cases {
		name := tc.client + " " + tc.from + " to " + tc.to
		if tc.stream {
			name += " stream"
		}
		t.Run(name, func(t *testing.T) {
			from := newPool(t, tc.from, 2)
			to := newPool(t, tc.to, 1)
			for _, u := range from.ups {
				u.SetDefault(proxytest.Reply{Status: 503})
			}
			to.ups[0].Enqueue(proxytest.Reply{Text: "from the fallback", StreamChunks: 1})
			chain := "[[fallback-chains]]\nmodel = \"" + from.model + "\"\nfallbacks = [\"" + to.model + "\"]\n"
			p := startProxy(t, from.config()+to.config()+fastRetries+chain)
			rq := rawRequest(tc.client, from.model, tc.stream)
			resp := p.do(t, "POST", rq.path, rq.body)
			body := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("X-CLIProxy-Fallback"); got != to.model {
				t.Errorf("X-CLIProxy-Fallback = %q, want %q", got, to.model)
			}
			if !strings.Contains(body, "fallback") {
				t.Errorf("the fallback's answer is missing: %.400s", body)
			}
			if got := from.hits(); got[0] != 1 || got[1] != 1 {
				t.Errorf("first model hits = %v, want both credentials tried", got)
			}
			if to.ups[0].Hits() != 1 {
				t.Errorf("the fallback model was not called")
			}
		})
	}
	t.Run("no fallback header without a fallback", func(t *testing.T) {
		from := newPool(t, "openai", 1)
		to := newPool(t, "anthropic", 1)
		chain := "[[fallback-chains]]\nmodel = \"gpt-4o\"\nfallbacks = [\"claude-sonnet-4-5\"]\n"
		p := startProxy(t, from.config()+to.config()+fastRetries+chain)
		rq := rawRequest("chat", "gpt-4o", false)
		resp := p.do(t, "POST", rq.path, rq.body)
		readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("X-CLIProxy-Fallback") != "" || to.ups[0].Hits() != 0 {
			t.Errorf("status %d, fallback header %q, fallback hits %d", resp.StatusCode, resp.Header.Get("X-CLIProxy-Fallback"), to.ups[0].Hits())
		}
	})
}

// TestKeepaliveWhileUpstreamSilent: SSE comment lines keep the client's stream alive while the upstream
// pauses; the stream then completes normally. The test waits for the comment itself, not for time.
func TestKeepaliveWhileUpstreamSilent(t *testing.T) {
	for _, cl := range []string{"chat", "claude"} {
		t.Run(cl, func(t *testing.T) {
			up := proxytest.NewOpenAI(t, proxytest.WithAPIKey(upstreamKey))
			p := startProxy(t, openAIConfig(up)+"[streaming]\nkeepalive-seconds = 1\n")
			resume := make(chan struct{})
			up.Enqueue(proxytest.Reply{Text: "after the pause", PauseAfter: 2, Resume: resume})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a guard against hangs only
			defer cancel()
			rq := rawRequest(cl, "gpt-4o", true)
			req, _ := http.NewRequestWithContext(ctx, "POST", p.URL+rq.path, strings.NewReader(rq.body))
			req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			var before, after strings.Builder
			sawKeepalive := false
			for sc.Scan() {
				line := sc.Text()
				if !sawKeepalive {
					if strings.HasPrefix(line, ":") {
						sawKeepalive = true
						close(resume)
						continue
					}
					before.WriteString(line + "\n")
					continue
				}
				after.WriteString(line + "\n")
			}
			if err := sc.Err(); err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			if !sawKeepalive {
				close(resume)
				t.Fatalf("no keepalive comment while the upstream was silent: %s", before.String())
			}
			if strings.Contains(before.String(), "pause") {
				t.Errorf("text after the pause arrived before the keepalive")
			}
			end := "[DONE]"
			if cl == "claude" {
				end = "message_stop"
			}
			if !strings.Contains(after.String(), end) {
				t.Errorf("the stream did not complete after the pause: %s", after.String())
			}
		})
	}
}

// TestBootstrapRetries: a stream that fails before its first byte reached the client is retried on the next
// credential ([streaming] bootstrap-retries); with none left the client gets a plain error response.
func TestBootstrapRetries(t *testing.T) {
	for _, cl := range []string{"chat", "claude"} {
		t.Run(cl+" retried", func(t *testing.T) {
			pl := newPool(t, "openai", 2)
			p := startProxy(t, pl.config()+fastRetries+"[streaming]\nbootstrap-retries = 1\n")
			pl.ups[0].Enqueue(proxytest.Reply{CutAtStart: true})
			pl.ups[1].Enqueue(proxytest.Reply{Text: "second credential", StreamChunks: 1})
			rq := rawRequest(cl, pl.model, true)
			resp := p.do(t, "POST", rq.path, rq.body)
			body := readAll(t, resp)
			if resp.StatusCode != 200 || strings.Contains(body, `"error":{`) || !strings.Contains(body, "second credential") {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := pl.hits(); got[0] != 1 || got[1] != 1 {
				t.Errorf("hits = %v", got)
			}
		})
		t.Run(cl+" off", func(t *testing.T) {
			pl := newPool(t, "openai", 2)
			p := startProxy(t, pl.config()+fastRetries+"[streaming]\nbootstrap-retries = 0\n")
			pl.ups[0].Enqueue(proxytest.Reply{CutAtStart: true})
			rq := rawRequest(cl, pl.model, true)
			resp := p.do(t, "POST", rq.path, rq.body)
			body := readAll(t, resp)
			if pl.ups[1].Hits() != 0 {
				t.Errorf("retried although bootstrap-retries = 0")
			}
			if !strings.Contains(body, "error") {
				t.Errorf("status %d, body %s: the failure is not reported", resp.StatusCode, body)
			}
		})
	}
	t.Run("exhausted gives a plain error", func(t *testing.T) {
		pl := newPool(t, "openai", 3)
		p := startProxy(t, pl.config()+fastRetries+"[streaming]\nbootstrap-retries = 1\n")
		for _, u := range pl.ups {
			u.SetDefault(proxytest.Reply{CutAtStart: true})
		}
		rq := rawRequest("claude", pl.model, true)
		resp := p.do(t, "POST", rq.path, rq.body)
		body := readAll(t, resp)
		if resp.StatusCode < 500 || !strings.Contains(body, `"type":"error"`) {
			t.Errorf("status %d body %s, want a 5xx Anthropic error", resp.StatusCode, body)
		}
		if got := pl.hits(); got[0]+got[1]+got[2] != 2 {
			t.Errorf("hits = %v, want 2 attempts (one bootstrap retry)", got)
		}
	})
}

// TestClientDisconnectCancelsTranslatedUpstream: a client that goes away mid-stream cancels the upstream
// request on the translated path too.
func TestClientDisconnectCancelsTranslatedUpstream(t *testing.T) {
	for _, kind := range []string{"openai", "anthropic", "gemini"} {
		t.Run(kind, func(t *testing.T) {
			pl := newPool(t, kind, 1)
			p := startProxy(t, pl.config())
			resume := make(chan struct{})
			defer close(resume)
			pl.ups[0].Enqueue(proxytest.Reply{PauseAfter: 2, Resume: resume})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rq := rawRequest("responses", pl.model, true)
			if kind == "openai" {
				rq = rawRequest("claude", pl.model, true)
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", p.URL+rq.path, strings.NewReader(rq.body))
			req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			// Read the first event so the stream is known to be flowing, then go away.
			br := bufio.NewReader(resp.Body)
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatalf("no first event: %v", err)
			}
			cancel()
			resp.Body.Close()
			wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer wcancel()
			if err := pl.ups[0].WaitCanceled(wctx, 1); err != nil {
				t.Fatalf("the upstream request was not cancelled: %v", err)
			}
		})
	}
}

// TestStrategiesThroughServer: round-robin spreads requests evenly; fill-first drains the first credential.
func TestStrategiesThroughServer(t *testing.T) {
	cases := []struct {
		strategy string
		want     []int
	}{
		{"round-robin", []int{3, 3, 3}},
		{"fill-first", []int{9, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.strategy, func(t *testing.T) {
			pl := newPool(t, "anthropic", 3)
			p := startProxy(t, pl.config()+"[routing]\nstrategy = \""+tc.strategy+"\"\n")
			for i := 0; i < 9; i++ {
				rq := rawRequest([]string{"chat", "claude", "gemini"}[i%3], pl.model, i%2 == 0)
				resp := p.do(t, "POST", rq.path, rq.body)
				if body := readAll(t, resp); resp.StatusCode != 200 {
					t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
				}
			}
			if got := pl.hits(); got[0] != tc.want[0] || got[1] != tc.want[1] || got[2] != tc.want[2] {
				t.Errorf("hits = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestModelListingSkipsCoolingModels: /v1/models lists only what is routable now, so a model whose every
// credential cools down after 429s (a per-model cooldown) drops out until one recovers.
func TestModelListingSkipsCoolingModels(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	oa := newPool(t, "openai", 2, proxytest.WithClock(clk))
	an := newPool(t, "anthropic", 1, proxytest.WithClock(clk))
	p := startProxy(t, oa.config()+an.config()+fastRetries, func(o *Options) { o.Clock = clk })
	listed := func() map[string]bool {
		var list struct{ Data []struct{ ID string } }
		if err := json.Unmarshal([]byte(readAll(t, p.do(t, "GET", "/v1/models", ""))), &list); err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, d := range list.Data {
			ids[d.ID] = true
		}
		return ids
	}
	if ids := listed(); !ids["gpt-4o"] || !ids["claude-sonnet-4-5"] {
		t.Fatalf("listing before any failure: %v", ids)
	}
	for _, u := range oa.ups {
		u.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 40 * time.Second})
	}
	rq := rawRequest("chat", "gpt-4o", false)
	if resp := p.do(t, "POST", rq.path, rq.body); readAll(t, resp) == "" || resp.StatusCode != 429 {
		t.Fatalf("status %d, want 429 from both credentials", resp.StatusCode)
	}
	if ids := listed(); ids["gpt-4o"] || !ids["claude-sonnet-4-5"] {
		t.Errorf("listing while every gpt-4o credential cools down: %v", ids)
	}
	clk.Advance(41 * time.Second)
	if ids := listed(); !ids["gpt-4o"] {
		t.Errorf("gpt-4o is not listed again after its cooldown: %v", ids)
	}
}

// TestAuthFailureMovesOnAndMarksCredential: a 401 from one credential is not the client's fault; the next
// credential answers and the health view tells the user what to do about the first.
func TestAuthFailureMovesOnAndMarksCredential(t *testing.T) {
	pl := newPool(t, "anthropic", 2)
	p := startProxy(t, pl.config()+fastRetries)
	pl.ups[0].Enqueue(proxytest.Reply{Status: 401})
	rq := rawRequest("chat", pl.model, false)
	resp := p.do(t, "POST", rq.path, rq.body)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	resp = p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", mgmtKeyForTests)
	body := readAll(t, resp)
	var h struct {
		Credentials []struct {
			CredentialID string `json:"credential_id"`
			State        string `json:"state"`
			Message      string `json:"message"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	for _, c := range h.Credentials {
		if c.CredentialID == pl.id(0) && (c.Message == "" || c.State != "ERROR") {
			t.Errorf("the failed credential shows state %q message %q", c.State, c.Message)
		}
		if c.CredentialID == pl.id(1) && c.Message != "" {
			t.Errorf("the working credential shows message %q", c.Message)
		}
	}
	if strings.Contains(body, upstreamKey) {
		t.Errorf("the health view shows the upstream key")
	}
	// Later requests go straight to the working credential.
	readAll(t, p.do(t, "POST", rq.path, rq.body))
	if got := pl.hits(); got[0] != 1 || got[1] != 2 {
		t.Errorf("hits = %v, want [1 2]", got)
	}
}

// TestFallbackWhileCoolingDown: a model whose credentials all cool down falls back at once, without
// calling the cooling credentials.
func TestFallbackWhileCoolingDown(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	from := newPool(t, "openai", 1, proxytest.WithClock(clk))
	to := newPool(t, "gemini", 1, proxytest.WithClock(clk))
	chain := "[[fallback-chains]]\nmodel = \"gpt-4o\"\nfallbacks = [\"gemini-2.5-flash\"]\n"
	p := startProxy(t, from.config()+to.config()+fastRetries+chain, func(o *Options) { o.Clock = clk })
	from.ups[0].Enqueue(proxytest.Reply{Status: 429, RetryAfter: time.Minute})
	for i := 0; i < 2; i++ {
		rq := rawRequest("claude", "gpt-4o", i == 1)
		resp := p.do(t, "POST", rq.path, rq.body)
		body := readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("X-CLIProxy-Fallback") != "gemini-2.5-flash" {
			t.Fatalf("request %d: status %d, fallback %q: %s", i, resp.StatusCode, resp.Header.Get("X-CLIProxy-Fallback"), body)
		}
	}
	if from.ups[0].Hits() != 1 || to.ups[0].Hits() != 2 {
		t.Errorf("hits: cooling %d (want 1), fallback %d (want 2)", from.ups[0].Hits(), to.ups[0].Hits())
	}
}

// TestFallbackOnTheSameCredential: a fallback model that the failing credential also serves is tried on
// it (an overloaded model, then a smaller one on the same account), instead of giving up because the
// credential was already tried for the first model.
func TestFallbackOnTheSameCredential(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	up.Enqueue(proxytest.Reply{Status: 503})
	up.Enqueue(proxytest.Reply{Text: "from the smaller model"})
	chain := "[[fallback-chains]]\nmodel = \"gpt-4o\"\nfallbacks = [\"small\"]\n"
	p := startProxy(t, openAIConfig(up)+fastRetries+chain)
	resp := p.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, "from the smaller model") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-CLIProxy-Fallback"); got != "small" {
		t.Errorf("X-CLIProxy-Fallback = %q, want small", got)
	}
	reqs := up.Requests()
	if len(reqs) != 2 || !strings.Contains(string(reqs[1].Body), `"gpt-4o-mini"`) {
		t.Fatalf("upstream saw %d requests; the second should ask for gpt-4o-mini", len(reqs))
	}
}

// TestUpstreamAdviceToRetry: Anthropic's 529 overloaded is not in the default retry-on list, but it comes
// with x-should-retry: true, so the request goes to the next credential; a 429 with x-should-retry:
// false (one key out of quota) still goes to the next credential, which may have quota left.
func TestUpstreamAdviceToRetry(t *testing.T) {
	for _, tc := range []struct {
		status int
		advice string
	}{{529, "true"}, {429, "false"}} {
		t.Run(fmt.Sprint(tc.status, " x-should-retry ", tc.advice), func(t *testing.T) {
			pl := newPool(t, "anthropic", 2)
			pl.ups[0].SetDefault(proxytest.Reply{Status: tc.status, Headers: http.Header{"X-Should-Retry": {tc.advice}}})
			pl.ups[1].Enqueue(proxytest.Reply{Text: "from the second account"})
			p := startProxy(t, pl.config()+fastRetries)
			resp := p.do(t, "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`,
				"Anthropic-Version", "2023-06-01")
			body := readAll(t, resp)
			if resp.StatusCode != 200 || !strings.Contains(body, "from the second account") {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := pl.hits(); got[0] != 1 || got[1] != 1 {
				t.Errorf("hits = %v, want one call to each credential", got)
			}
		})
	}
}
