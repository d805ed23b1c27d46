package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scrape fetches the exposition over a real loopback HTTP server.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(Handler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assertLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("exposition lacks line %q", l)
		}
	}
}

func TestObserveRequestExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	base := RequestObservation{
		Route: "/v1/chat/completions", Provider: "openai", Model: "gpt-5", Status: 200,
		Total: 1500 * time.Millisecond, Upstream: 1250 * time.Millisecond,
		InputTokens: 100, OutputTokens: 20, SpendUSD: 0.25,
	}
	m.ObserveRequest(base)
	streamed := base
	streamed.TTFT = 300 * time.Millisecond
	m.ObserveRequest(streamed)
	failed := base
	failed.Status, failed.Upstream, failed.Total, failed.InputTokens, failed.OutputTokens, failed.SpendUSD = 429, 0, 2*time.Millisecond, 0, 0, 0
	m.ObserveRequest(failed)

	text := scrape(t, reg)
	assertLines(t, text,
		`cliproxy_requests_total{code="200",model="gpt-5",provider="openai",route="/v1/chat/completions"} 2`,
		`cliproxy_requests_total{code="429",model="gpt-5",provider="openai",route="/v1/chat/completions"} 1`,
		`cliproxy_request_duration_seconds_count{model="gpt-5",provider="openai",route="/v1/chat/completions"} 3`,
		`cliproxy_request_duration_seconds_sum{model="gpt-5",provider="openai",route="/v1/chat/completions"} 3.002`,
		`cliproxy_request_duration_seconds_bucket{model="gpt-5",provider="openai",route="/v1/chat/completions",le="0.0025"} 1`,
		`cliproxy_request_duration_seconds_bucket{model="gpt-5",provider="openai",route="/v1/chat/completions",le="2.5"} 3`,
		`cliproxy_upstream_duration_seconds_count{model="gpt-5",provider="openai"} 2`,
		`cliproxy_upstream_duration_seconds_sum{model="gpt-5",provider="openai"} 2.5`,
		`cliproxy_proxy_overhead_seconds_sum{route="/v1/chat/completions"} 0.5`,
		`cliproxy_proxy_overhead_seconds_count{route="/v1/chat/completions"} 2`,
		`cliproxy_time_to_first_token_seconds_count{model="gpt-5",provider="openai"} 1`,
		`cliproxy_time_to_first_token_seconds_sum{model="gpt-5",provider="openai"} 0.3`,
		`cliproxy_tokens_total{direction="input",model="gpt-5",provider="openai"} 200`,
		`cliproxy_tokens_total{direction="output",model="gpt-5",provider="openai"} 40`,
		`cliproxy_spend_usd_total{model="gpt-5",provider="openai"} 0.5`,
		`cliproxy_request_duration_seconds_bucket{model="gpt-5",provider="openai",route="/v1/chat/completions",le="0.0001"} 0`,
		`cliproxy_request_duration_seconds_bucket{model="gpt-5",provider="openai",route="/v1/chat/completions",le="120"} 3`,
	)
}

func TestExplicitOverheadWins(t *testing.T) {
	m := New(nil)
	m.ObserveRequest(RequestObservation{Route: "/v1/messages", Total: time.Second, Upstream: 500 * time.Millisecond, Overhead: 2 * time.Millisecond})
	text := scrape(t, m.Registry())
	assertLines(t, text, `cliproxy_proxy_overhead_seconds_sum{route="/v1/messages"} 0.002`)
}

func TestCountersAndGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.CacheHit()
	m.CacheHit()
	m.CacheMiss()
	m.RateLimitRejected("rpm")
	m.RateLimitRejected("rpm")
	m.RateLimitRejected("global-parallel")
	m.CooldownEntered("claude-code:work")
	m.UpstreamError("anthropic", "rate-limited")
	m.IncInFlight()
	m.IncInFlight()
	m.DecInFlight()
	m.SpendRowsDropped(3)
	m.SpendRowsDropped(0)

	text := scrape(t, reg)
	assertLines(t, text,
		`cliproxy_cache_hits_total 2`,
		`cliproxy_cache_misses_total 1`,
		`cliproxy_rate_limit_rejections_total{reason="rpm"} 2`,
		`cliproxy_rate_limit_rejections_total{reason="global-parallel"} 1`,
		`cliproxy_cooldowns_total{credential="claude-code:work"} 1`,
		`cliproxy_upstream_errors_total{class="rate-limited",provider="anthropic"} 1`,
		`cliproxy_in_flight_requests 1`,
		`cliproxy_spend_rows_dropped_total 3`,
		`cliproxy_spend_queue_depth 0`,
	)
	m.SetSpendQueueDepthFunc(func() float64 { return 42 })
	assertLines(t, scrape(t, reg), `cliproxy_spend_queue_depth 42`)
	m.SetSpendQueueDepthFunc(nil)
	assertLines(t, scrape(t, reg), `cliproxy_spend_queue_depth 0`)
}

func TestCredentialHealthOneHot(t *testing.T) {
	tests := []struct {
		name   string
		states []string
		want   map[string]float64
	}{
		{"healthy", []string{"HEALTHY"}, map[string]float64{"healthy": 1, "degraded": 0, "cooldown": 0, "error": 0}},
		{"moves to cooldown", []string{"healthy", "cooldown"}, map[string]float64{"healthy": 0, "cooldown": 1}},
		{"unknown state added", []string{"cooldown", "disabled"}, map[string]float64{"disabled": 1, "cooldown": 0, "healthy": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(nil)
			for _, s := range tc.states {
				m.SetCredentialHealth("acct-1", s)
			}
			for state, want := range tc.want {
				if got := testutil.ToFloat64(m.health.WithLabelValues("acct-1", state)); got != want {
					t.Errorf("state %s = %v, want %v", state, got, want)
				}
			}
			m.RemoveCredential("acct-1")
			if n := testutil.CollectAndCount(m.health); n != 0 {
				t.Errorf("%d health series left after RemoveCredential", n)
			}
		})
	}
}

func TestRegistersOnGivenRegistryOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.CacheHit()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), Namespace+"_") {
			t.Fatalf("metric %s leaked into the global registry", mf.GetName())
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering twice on one registry did not panic")
		}
	}()
	New(reg)
}

func TestConcurrentObserve(t *testing.T) {
	m := New(nil)
	var wg sync.WaitGroup
	models := []string{"a", "b", "c"}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				m.ObserveRequest(RequestObservation{Route: "/r", Provider: "p", Model: models[(g+i)%3], Status: 200, Total: time.Millisecond, OutputTokens: 1})
			}
		}(g)
	}
	wg.Wait()
	if got := testutil.ToFloat64(m.requests.WithLabelValues("/r", "p", "a", "200")) +
		testutil.ToFloat64(m.requests.WithLabelValues("/r", "p", "b", "200")) +
		testutil.ToFloat64(m.requests.WithLabelValues("/r", "p", "c", "200")); got != 8000 {
		t.Fatalf("requests = %v, want 8000", got)
	}
}

func TestChildCacheBounded(t *testing.T) {
	m := New(nil)
	for i := 0; i < maxChildren+10; i++ {
		m.ObserveRequest(RequestObservation{Route: "/r", Provider: "p", Model: "m", Status: 100000 + i})
	}
	if n := len(m.children); n != maxChildren {
		t.Fatalf("child cache holds %d, want the cap %d", n, maxChildren)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("/r", "p", "m", "100009")); got != 1 {
		t.Fatalf("observation past the cache cap not counted: %v", got)
	}
	if n := testutil.CollectAndCount(m.requests); n != maxChildren+10 {
		t.Fatalf("series = %d, want %d", n, maxChildren+10)
	}
}

func TestRegisterRuntime(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := RegisterRuntime(reg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(scrape(t, reg), "go_goroutines ") {
		t.Fatal("go collector missing")
	}
	if err := RegisterRuntime(reg); err == nil {
		t.Fatal("second registration should fail")
	}
}

var benchObs = RequestObservation{
	Route: "/v1/chat/completions", Provider: "openai", Model: "gpt-5", Status: 200,
	Total: 820 * time.Millisecond, Upstream: 800 * time.Millisecond, TTFT: 250 * time.Millisecond,
	InputTokens: 1200, OutputTokens: 300, SpendUSD: 0.0042,
}

// BenchmarkObserveRequest compares the cached-children path with plain WithLabelValues per call.
func BenchmarkObserveRequest(b *testing.B) {
	b.Run("cached", func(b *testing.B) {
		m := New(nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.ObserveRequest(benchObs)
			}
		})
	})
	b.Run("withLabelValues", func(b *testing.B) {
		m := New(nil)
		k := childKey{route: benchObs.Route, provider: benchObs.Provider, model: benchObs.Model, status: benchObs.Status}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				g := m.newGroup(k) // what ObserveRequest would cost without the cache
				g.requests.Inc()
				g.latency.Observe(benchObs.Total.Seconds())
				g.upstream.Observe(benchObs.Upstream.Seconds())
				g.overhead.Observe((benchObs.Total - benchObs.Upstream).Seconds())
				g.ttft.Observe(benchObs.TTFT.Seconds())
				g.tokensIn.Add(float64(benchObs.InputTokens))
				g.tokensOut.Add(float64(benchObs.OutputTokens))
				g.spend.Add(benchObs.SpendUSD)
			}
		})
	})
}
