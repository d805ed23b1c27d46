package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// gatewayFixture is a proxy wired to a real SQLite store: the async spend writer, virtual keys and a
// request log sink.
type gatewayFixture struct {
	*testProxy
	store  *store.Store
	writer *spend.Writer
	keys   *spend.Keys
	log    requestLogRows
	clock  *clock.Fake
}

// requestLogRows is a request log sink whose rows a test can read back.
type requestLogRows interface {
	RequestLogSink
	all() []store.RequestLogRow
}

type memRequestLog struct {
	mu   sync.Mutex
	rows []store.RequestLogRow
}

func (m *memRequestLog) LogRequest(r store.RequestLogRow) {
	m.mu.Lock()
	m.rows = append(m.rows, r)
	m.mu.Unlock()
}

func (m *memRequestLog) all() []store.RequestLogRow {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.RequestLogRow(nil), m.rows...)
}

var gatewayStart = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newGatewayFixture(t *testing.T, cfgTOML string) *gatewayFixture {
	t.Helper()
	return newGatewayFixtureLog(t, cfgTOML, &memRequestLog{})
}

// asyncRequestLog is the app's request log, spend.RequestLog (which masks the bodies in its writer
// goroutine), over rows kept in memory.
type asyncRequestLog struct {
	*spend.RequestLog
	sink *memRequestLogSink
}

func newAsyncRequestLog(t testing.TB) asyncRequestLog {
	l := asyncRequestLog{sink: &memRequestLogSink{}}
	l.RequestLog = spend.NewRequestLog(l.sink, spend.WriterOptions{FlushInterval: time.Hour}, nil)
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// all flushes the log and returns every row written.
func (l asyncRequestLog) all() []store.RequestLogRow {
	if err := l.Flush(context.Background()); err != nil {
		panic(err)
	}
	return l.sink.all()
}

type memRequestLogSink struct{ memRequestLog }

func (m *memRequestLogSink) InsertRequestLog(_ context.Context, rows []store.RequestLogRow) error {
	for _, r := range rows {
		m.LogRequest(r)
	}
	return nil
}

// newGatewayFixtureLog is newGatewayFixture with the given request log sink.
func newGatewayFixtureLog(t *testing.T, cfgTOML string, log requestLogRows) *gatewayFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "cliproxy.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fc := clock.NewFake(gatewayStart)
	w, err := spend.NewWriter(st, spend.WriterOptions{FlushInterval: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := spend.NewKeys(ctx, st, spend.KeysOptions{Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close(ctx) })
	f := &gatewayFixture{store: st, writer: w, keys: keys, log: log, clock: fc}
	f.testProxy = startProxy(t, cfgTOML, func(o *Options) {
		o.Clock = fc
		o.Gateway = Gateway{Keys: keys, Spend: w, RequestLog: f.log}
	})
	return f
}

// flush waits for every spend row to reach SQLite and returns them, newest first.
func (f *gatewayFixture) flush(t *testing.T) []store.SpendRow {
	t.Helper()
	f.waitIdle() // the last answers may still be settling
	if err := f.writer.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := f.store.RecentRequests(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (f *gatewayFixture) createKey(t *testing.T, p spend.KeyParams) (string, spend.Key) {
	t.Helper()
	plain, k, err := f.keys.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return plain, k
}

const chatBody = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`

// gpt-4o costs $2.50 / $10 per million tokens; the fake answers with 12 input and 48 output tokens.
const chatCost = 12*2.5/1e6 + 48*10.0/1e6

func TestVirtualKeyChecks(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	f := newGatewayFixture(t, openAIConfig(up))
	ctx := context.Background()
	good, goodKey := f.createKey(t, spend.KeyParams{Name: "team", Models: []string{"gpt-4o"}})
	revoked, revokedKey := f.createKey(t, spend.KeyParams{Name: "old"})
	if err := f.keys.Revoke(ctx, revokedKey.ID); err != nil {
		t.Fatal(err)
	}
	soon := gatewayStart.Add(time.Hour)
	expired, _ := f.createKey(t, spend.KeyParams{Name: "temp", ExpiresAt: &soon})
	f.clock.Advance(2 * time.Hour)

	cases := []struct {
		name, key, body string
		status          int
		want            string
	}{
		{"unknown key", "sk-cp-not-a-real-key-000000000000", chatBody, 401, "not valid"},
		{"revoked key", revoked, chatBody, 401, "revoked"},
		{"expired key", expired, chatBody, 401, "expired"},
		{"model outside allow-list", good, `{"model":"small","messages":[{"role":"user","content":"hi"}]}`, 403, "may not use model 'small'"},
		{"allowed", good, chatBody, 200, "chat.completion"},
		{"allowed with a reasoning suffix", good, `{"model":"gpt-4o(high)","messages":[{"role":"user","content":"hi"}]}`, 200, "chat.completion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.do(t, "POST", "/v1/chat/completions", tc.body, "Authorization", "Bearer "+tc.key)
			body := readAll(t, resp)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d body %s; want %d containing %q", resp.StatusCode, body, tc.status, tc.want)
			}
		})
	}
	rows := f.flush(t)
	var charged *store.SpendRow
	for i := range rows {
		if rows[i].KeyID == goodKey.ID && rows[i].Status == 200 {
			charged = &rows[i]
		}
	}
	if charged == nil {
		t.Fatalf("no spend row for the virtual key among %d rows", len(rows))
	}
	if !charged.PriceKnown || charged.InputTokens != 12 || charged.OutputTokens != 48 || !near(charged.CostUSD, chatCost) {
		t.Errorf("spend row = %+v, want 12/48 tokens costing %.6f", *charged, chatCost)
	}
	st, err := f.keys.Get(goodKey.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !near(st.SpentUSD, 2*chatCost) { // the two allowed requests
		t.Errorf("key spent %.6f, want %.6f", st.SpentUSD, 2*chatCost)
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func TestBudgetExhaustedAnswers429WithReset(t *testing.T) {
	up := proxytest.NewAnthropic(t)
	f := newGatewayFixture(t, anthropicConfig(up))
	plain, _ := f.createKey(t, spend.KeyParams{Name: "daily", BudgetUSD: 0.0001, BudgetPeriod: "daily"})
	msg := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	first := f.do(t, "POST", "/v1/messages", msg, "Authorization", "", "X-Api-Key", plain, "Anthropic-Version", "2023-06-01")
	if b := readAll(t, first); first.StatusCode != 200 {
		t.Fatalf("first request: %d %s", first.StatusCode, b)
	}
	second := f.do(t, "POST", "/v1/messages", msg, "Authorization", "", "X-Api-Key", plain, "Anthropic-Version", "2023-06-01")
	body := readAll(t, second)
	if second.StatusCode != 429 {
		t.Fatalf("over budget: %d %s", second.StatusCode, body)
	}
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Type != "error" || e.Error.Type != "rate_limit_error" {
		t.Fatalf("not an Anthropic error body: %s", body)
	}
	if !strings.Contains(e.Error.Message, "Budget exhausted") || !strings.Contains(e.Error.Message, "2026-03-11T00:00:00Z") {
		t.Errorf("message %q should say the budget is exhausted and when it resets", e.Error.Message)
	}
	if ra := second.Header.Get("Retry-After"); ra != "43200" {
		t.Errorf("Retry-After = %q, want 43200 (12h to midnight UTC)", ra)
	}
	if up.Hits() != 1 {
		t.Errorf("upstream hits = %d, want 1 (the refused request must not reach it)", up.Hits())
	}
}

// TestBudgetAndParallelLimitUnderConcurrency fires 200 requests at once with one virtual key whose budget
// covers a few requests and whose parallelism is capped: the overshoot is bounded by the requests in
// flight (at most max-parallel), and every refusal is a 429.
func TestBudgetAndParallelLimitUnderConcurrency(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	gate := make(chan struct{})
	up.SetDefault(proxytest.Reply{FirstByteGate: gate})
	f := newGatewayFixture(t, openAIConfig(up)+"[rate-limits]\nenable = true\n")
	const maxParallel = 8
	budget := 5.5 * chatCost
	plain, k := f.createKey(t, spend.KeyParams{Name: "load", BudgetUSD: budget, BudgetPeriod: "total", MaxParallel: maxParallel})

	var ok, limited, other atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", f.URL+"/v1/chat/completions", strings.NewReader(chatBody))
			req.Header.Set("Authorization", "Bearer "+plain)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				other.Add(1)
				return
			}
			readAll(t, resp)
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	// Let the first wave reach the upstream, then release every held response.
	if err := up.WaitHits(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	close(gate)
	wg.Wait()
	if other.Load() != 0 {
		t.Fatalf("%d requests failed with something other than 200 or 429", other.Load())
	}
	if ok.Load()+limited.Load() != 200 || limited.Load() == 0 || ok.Load() == 0 {
		t.Fatalf("ok=%d limited=%d", ok.Load(), limited.Load())
	}
	if up.Hits() != int(ok.Load()) {
		t.Errorf("upstream hits %d != successes %d", up.Hits(), ok.Load())
	}
	st, err := f.keys.Get(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if limit := budget + maxParallel*chatCost; st.SpentUSD > limit+1e-9 {
		t.Errorf("spent %.6f exceeds budget plus the in-flight bound %.6f", st.SpentUSD, limit)
	}
	if !near(st.SpentUSD, float64(ok.Load())*chatCost) {
		t.Errorf("spent %.6f, want %d x %.6f", st.SpentUSD, ok.Load(), chatCost)
	}
	// Once everything settled the budget is spent, so the next request is refused for the budget.
	resp := f.do(t, "POST", "/v1/chat/completions", chatBody, "Authorization", "Bearer "+plain)
	if body := readAll(t, resp); resp.StatusCode != 429 || !strings.Contains(body, "Budget exhausted") {
		t.Errorf("after the burst: %d %s", resp.StatusCode, body)
	}
}

func TestRateLimitPerKeyRPM(t *testing.T) {
	up := proxytest.NewAnthropic(t)
	f := newGatewayFixture(t, anthropicConfig(up)+"[rate-limits]\nenable = true\nrpm-per-key = 2\n")
	msg := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	send := func() (*http.Response, string) {
		resp := f.do(t, "POST", "/v1/messages", msg, "Anthropic-Version", "2023-06-01")
		return resp, readAll(t, resp)
	}
	for i := 0; i < 2; i++ {
		if resp, body := send(); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := send()
	if resp.StatusCode != 429 || !strings.Contains(body, `"type":"rate_limit_error"`) {
		t.Fatalf("third request: %d %s", resp.StatusCode, body)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "60" {
		t.Errorf("Retry-After = %q, want 60 (the minute window started at the top of the minute)", ra)
	}
	f.clock.Advance(time.Minute)
	if resp, body := send(); resp.StatusCode != 200 {
		t.Errorf("next window: %d %s", resp.StatusCode, body)
	}
	if got := metricValue(t, f.testProxy, `cliproxy_rate_limit_rejections_total{reason="rpm"}`); got != "1" {
		t.Errorf("rejection metric = %q, want 1", got)
	}
}

func TestResponseCache(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	f := newGatewayFixture(t, openAIConfig(up)+"[cache]\nenable = true\n")
	first := f.do(t, "POST", "/v1/chat/completions", chatBody)
	b1 := readAll(t, first)
	if first.StatusCode != 200 || first.Header.Get("X-Cache") != "MISS" {
		t.Fatalf("first: %d X-Cache=%q", first.StatusCode, first.Header.Get("X-Cache"))
	}
	// Same request, keys in another order and different spacing: one canonical key.
	reordered := `{ "messages": [{"content":"hi","role":"user"}], "model": "gpt-4o" }`
	second := f.do(t, "POST", "/v1/chat/completions", reordered)
	b2 := readAll(t, second)
	if second.Header.Get("X-Cache") != "HIT" || b1 != b2 {
		t.Fatalf("second: X-Cache=%q, same body %v", second.Header.Get("X-Cache"), b1 == b2)
	}
	if second.Header.Get("Content-Type") != "application/json" {
		t.Errorf("cached Content-Type = %q", second.Header.Get("Content-Type"))
	}
	if up.Hits() != 1 {
		t.Errorf("upstream hits = %d after a hit, want 1", up.Hits())
	}
	bypass := f.do(t, "POST", "/v1/chat/completions", chatBody, "Cache-Control", "no-cache")
	readAll(t, bypass)
	if bypass.Header.Get("X-Cache") != "BYPASS" || up.Hits() != 2 {
		t.Errorf("no-cache: X-Cache=%q hits=%d", bypass.Header.Get("X-Cache"), up.Hits())
	}
	stream := f.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	readAll(t, stream)
	if stream.Header.Get("X-Cache") != "" || up.Hits() != 3 {
		t.Errorf("streams are never cached: X-Cache=%q hits=%d", stream.Header.Get("X-Cache"), up.Hits())
	}
	// Another principal does not see this principal's answers.
	other, _ := f.createKey(t, spend.KeyParams{Name: "other"})
	o := f.do(t, "POST", "/v1/chat/completions", chatBody, "Authorization", "Bearer "+other)
	readAll(t, o)
	if o.Header.Get("X-Cache") != "MISS" {
		t.Errorf("other principal: X-Cache=%q, want MISS", o.Header.Get("X-Cache"))
	}
	rows := f.flush(t)
	hits := 0
	for _, r := range rows {
		if r.CacheHit {
			hits++
			if r.CostUSD != 0 || r.Status != 200 {
				t.Errorf("cache hit row %+v should cost nothing", r)
			}
		}
	}
	if hits != 1 {
		t.Errorf("%d cache-hit spend rows, want 1", hits)
	}
}

// metricValue scrapes the proxy's metrics endpoint and returns the value of one series ("" if absent).
func metricValue(t *testing.T, p *testProxy, series string) string {
	t.Helper()
	resp := p.do(t, "GET", "/metrics", "")
	body := readAll(t, resp)
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	return ""
}

func TestMetricsEndpoint(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up))
	resp := p.do(t, "POST", "/v1/chat/completions", chatBody)
	readAll(t, resp)
	m := p.do(t, "GET", "/metrics", "", "Authorization", "")
	body := readAll(t, m)
	if m.StatusCode != 200 {
		t.Fatalf("metrics: %d %s", m.StatusCode, body)
	}
	for _, want := range []string{
		`cliproxy_requests_total{`, `route="/v1/chat/completions"`, `model="gpt-4o"`,
		`cliproxy_request_duration_seconds_bucket`, `cliproxy_tokens_total`, `cliproxy_credential_health`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, upstreamKey) || strings.Contains(body, clientKeyForTests) {
		t.Error("metrics expose a key")
	}

	locked := startProxy(t, openAIConfig(up)+"[metrics]\nrequire-auth = true\npath = \"/internal/metrics\"\n")
	if r := locked.do(t, "GET", "/internal/metrics", "", "Authorization", ""); r.StatusCode != 401 {
		t.Errorf("without a key: %d, want 401", r.StatusCode)
	}
	if r := locked.do(t, "GET", "/internal/metrics", ""); r.StatusCode != 200 {
		t.Errorf("with the client key: %d, want 200", r.StatusCode)
	}
}

func TestRequestLogMasksSecrets(t *testing.T) {
	cases := []struct {
		name  string
		sink  func(t *testing.T) requestLogRows
		maxKB int // [request-log] max-body-kb
		pad   int // filler bytes in the request body, to cut it
	}{
		{"synchronous sink", func(*testing.T) requestLogRows { return &memRequestLog{} }, 1, 2000},
		{"masked on the request's goroutine", func(t *testing.T) requestLogRows { return newAsyncRequestLog(t) }, 1, 2000},
		// Cut bodies over inlineMaskBytes are masked by the log's writer goroutine instead.
		{"masked in the log's writer goroutine", func(t *testing.T) requestLogRows { return newAsyncRequestLog(t) }, 300, 310 << 10},
	}
	if 300<<10 <= inlineMaskBytes {
		t.Fatalf("inlineMaskBytes = %d: the last case no longer reaches the writer goroutine", inlineMaskBytes)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := proxytest.NewOpenAI(t)
			f := newGatewayFixtureLog(t, openAIConfig(up)+fmt.Sprintf("[request-log]\nenable = true\nmax-body-kb = %d\n", c.maxKB), c.sink(t))
			leaky := `{"model":"gpt-4o","messages":[{"role":"user","content":"my keys: ` + upstreamKey + ` and sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 and AIzaSyA1234567890abcdefghijklmnopqrstuv ` + strings.Repeat("x", c.pad) + `"}]}`
			resp := f.do(t, "POST", "/v1/chat/completions", leaky)
			readAll(t, resp)
			short := `{"model":"gpt-4o","messages":[{"role":"user","content":"Authorization: Bearer abcdefghijklmnopWXYZ"}]}`
			readAll(t, f.do(t, "POST", "/v1/chat/completions", short))
			f.waitIdle()
			rows := f.log.all()
			if len(rows) != 2 {
				t.Fatalf("%d request log rows, want 2", len(rows))
			}
			r := rows[0]
			for _, secret := range []string{upstreamKey, "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123", "AIzaSyA1234567890abcdefghijklmnopqrstuv"} {
				if strings.Contains(r.RequestBody, secret) {
					t.Errorf("request log keeps %s...", secret[:8])
				}
			}
			if !strings.Contains(r.RequestBody, "****4f") && !strings.Contains(r.RequestBody, "****5e4f") {
				t.Errorf("masked key should keep its last four characters: %s", r.RequestBody[:200])
			}
			if !strings.HasSuffix(r.RequestBody, "[truncated]") || len(r.RequestBody) > c.maxKB<<10+100 {
				t.Errorf("body not cut to max-body-kb: %d bytes", len(r.RequestBody))
			}
			if !strings.Contains(r.ResponseBody, "chat.completion") || r.Status != 200 || r.Path != "/v1/chat/completions" {
				t.Errorf("row = %+v", r)
			}
			if want := `{"model":"gpt-4o","messages":[{"role":"user","content":"Authorization: Bearer ****WXYZ"}]}`; rows[1].RequestBody != want {
				t.Errorf("second row's body = %s, want %s", rows[1].RequestBody, want)
			}
		})
	}
}

func TestPassThrough(t *testing.T) {
	up := proxytest.NewAnthropic(t)
	f := newGatewayFixture(t, anthropicConfig(up)+
		"[[pass-through.endpoints]]\npath = \"/passthrough/anthropic\"\ntarget = \""+up.URL+"\"\nprovider = \"anthropic\"\nmethods = [\"POST\"]\n")
	msg := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	resp := f.do(t, "POST", "/passthrough/anthropic/v1/messages?beta=true&key="+clientKeyForTests, msg,
		"Anthropic-Version", "2023-06-01", "Connection", "X-Hop", "X-Hop", "drop-me", "X-Keep", "keep-me")
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `"type":"message"`) {
		t.Fatalf("pass-through: %d %s", resp.StatusCode, body)
	}
	reqs := up.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	got := reqs[0]
	if got.Path != "/v1/messages" || got.RawQuery != "beta=true" {
		t.Errorf("forwarded to %s?%s, want /v1/messages?beta=true (the proxy key removed)", got.Path, got.RawQuery)
	}
	if got.Header.Get("X-Api-Key") != upstreamKey || got.Header.Get("Authorization") != "" {
		t.Errorf("credential: x-api-key=%q authorization=%q", got.Header.Get("X-Api-Key"), got.Header.Get("Authorization"))
	}
	if got.Header.Get("X-Hop") != "" || got.Header.Get("X-Keep") != "keep-me" {
		t.Errorf("hop-by-hop handling: X-Hop=%q X-Keep=%q", got.Header.Get("X-Hop"), got.Header.Get("X-Keep"))
	}
	if r := f.do(t, "GET", "/passthrough/anthropic/v1/models", ""); r.StatusCode != 405 {
		t.Errorf("GET on a POST-only endpoint: %d", r.StatusCode)
	}
	if r := f.do(t, "POST", "/passthrough/anthropic/v1/messages", msg, "Authorization", ""); r.StatusCode != 401 {
		t.Errorf("without a client key: %d, want 401", r.StatusCode)
	}
	rows := f.flush(t)
	var found bool
	for _, r := range rows {
		if r.Route == "pass-through" && r.Status == 200 {
			found = true
			if r.InputTokens != 12 || r.OutputTokens != 48 || r.CostUSD <= 0 || r.Model != "claude-sonnet-4-5" {
				t.Errorf("pass-through spend row = %+v", r)
			}
		}
	}
	if !found {
		t.Error("no spend row for the pass-through request")
	}
}
