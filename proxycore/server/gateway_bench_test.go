package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// memUpstream is an OpenAI upstream inside the process: an http.RoundTripper that reads the request
// body and answers with a fixed chat completion, so a benchmark measures the proxy and not a socket.
type memUpstream struct{ resp []byte }

func (u *memUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(u.resp)),
		ContentLength: int64(len(u.resp)),
		Request:       req,
	}, nil
}

// memAccounts serves the in-memory upstream as the only account.
type memAccounts struct{ exec provider.Executor }

func (a memAccounts) Accounts() []Account {
	return []Account{{Executor: a.exec, Models: []config.Model{{Name: "gpt-4o"}}}}
}

const benchCompletion = `{"id":"chatcmpl-bench","object":"chat.completion","created":1767225600,"model":"gpt-4o-2024-08-06",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"Here are three bullet points summarising the design document: ` +
	`the proxy routes requests across accounts, it records spend per key, and it caches identical answers."},` +
	`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":212,"completion_tokens":38,"total_tokens":250,` +
	`"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_bench"}`

// benchBody returns a chat request of about size bytes (a system prompt and a user turn ending in a
// counter), so every request is a cache miss and its canonical key, masking and log row are paid.
func benchBody(size int) (prefix, suffix []byte) {
	head := `{"model":"gpt-4o","temperature":0.2,"max_tokens":512,"messages":[{"role":"system","content":"You are a careful assistant. `
	mid := `"},{"role":"user","content":"Summarise the design document in three bullet points. Request number `
	tail := `"}]}`
	filler := strings.Repeat("Answer briefly and cite the section you used. ", max(0, (size-len(head)-len(mid)-len(tail)-8)/46+1))
	return []byte(head + filler + mid), []byte(tail)
}

// BenchmarkGatewayOverhead measures the CPU one non-streaming chat request costs in the server's handler,
// driven in-process (httptest recorder, upstream as an http.RoundTripper), first with every gateway
// feature off, then with all of them on: a virtual key with a budget and RPM, rate limits, the
// guardrail, size limits, a pass-through route, the response cache (always a miss: every body differs),
// the spend writer on a real SQLite file, the masked request log and Prometheus metrics. cpu-ns/op is
// process CPU (every goroutine, GC included) per request, with the background writers flushed inside the
// timed region so their SQLite work counts. all minus off is the gateway's cost (target: at most 30 us);
// `make bench` prints the medians and the differences.
func BenchmarkGatewayOverhead(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		name := "body=" + strconv.Itoa(size>>10) + "KB"
		b.Run(name+"/features=off", func(b *testing.B) { benchGateway(b, size, gatewayOff) })
		b.Run(name+"/features=all-but-request-log", func(b *testing.B) { benchGateway(b, size, gatewayNoLog) })
		b.Run(name+"/features=all", func(b *testing.B) { benchGateway(b, size, gatewayAll) })
	}
}

type gatewayLevel int

const (
	gatewayOff gatewayLevel = iota
	gatewayNoLog
	gatewayAll
)

func benchGateway(b *testing.B, size int, level gatewayLevel) {
	cfgTOML := "api-keys = [\"" + clientKeyForTests + "\"]\n"
	if level == gatewayOff {
		cfgTOML += "[guardrails]\nallow-client-side-credentials = true\n[metrics]\nenable = false\n"
	} else {
		cfgTOML += "[rate-limits]\nenable = true\nmax-parallel-requests = 1000\nmax-parallel-per-key = 100\nrpm-per-key = 100000000\ntpm-per-key = 1000000000\n" +
			"[limits]\nmax-request-size-mb = 4\nmax-response-size-mb = 8\n" +
			"[cache]\nenable = true\n[metrics]\nenable = true\n" +
			"[[pass-through.endpoints]]\npath = \"/openai-raw\"\ntarget = \"https://api.openai.com\"\nprovider = \"openai\"\n"
		if level == gatewayAll {
			cfgTOML += "[request-log]\nenable = true\n"
		}
	}
	cfg, err := config.Parse([]byte(cfgTOML), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	exec, err := provider.NewAPIKey(provider.APIKeyConfig{ID: "openai-mem", Provider: "openai", Kind: provider.KindOpenAI,
		APIKey: upstreamKey, BaseURL: "http://upstream.invalid/v1", Client: &http.Client{Transport: &memUpstream{resp: []byte(benchCompletion)}}})
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Config: cfg, Accounts: memAccounts{exec}}
	key := clientKeyForTests
	var flush []func(context.Context) error // the background writers, drained inside the timed region
	var dropped []func() uint64
	if level != gatewayOff {
		st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		w, _ := spend.NewWriter(st, spend.WriterOptions{}, nil)
		defer w.Close(context.Background())
		keys, err := spend.NewKeys(context.Background(), st, spend.KeysOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer keys.Close(context.Background())
		key, _, err = keys.Create(context.Background(), spend.KeyParams{Name: "bench", BudgetUSD: 1e9, BudgetPeriod: "monthly", RPM: 100000000})
		if err != nil {
			b.Fatal(err)
		}
		o.Gateway = Gateway{Keys: keys, Spend: w}
		flush = append(flush, w.Close, keys.Flush)
		dropped = append(dropped, w.Dropped)
		if level == gatewayAll {
			rl := spend.NewRequestLog(st, spend.WriterOptions{}, nil)
			defer rl.Close(context.Background())
			o.Gateway.RequestLog = rl
			flush = append(flush, rl.Close)
			dropped = append(dropped, rl.Dropped)
		}
	}
	s, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	prefix, suffix := benchBody(size)
	body := make([]byte, 0, len(prefix)+len(suffix)+20)
	do := func(i int) {
		body = append(strconv.AppendInt(append(body[:0], prefix...), int64(i), 10), suffix...)
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		req.Host = "127.0.0.1:8317"
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
	do(-1) // first request: lazily built state (metric children, limiter counters) is not measured
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := selfCPU()
	for i := 0; i < b.N; i++ {
		do(i)
	}
	for _, f := range flush {
		if err := f(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(selfCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	for _, d := range dropped {
		if n := d(); n != 0 {
			b.Fatalf("%d rows were dropped: the measurement would miss their writes", n)
		}
	}
}
