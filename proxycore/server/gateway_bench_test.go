package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
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
// driven in-process (httptest recorder, upstream as an http.RoundTripper), with every gateway feature
// off, with all of them on but the request log, and with all of them on: a virtual key with a budget and
// RPM, rate limits, the guardrail, size limits, a pass-through route, the response cache (always a miss:
// every body differs), the spend writer on a real SQLite file, the masked request log and Prometheus
// metrics.
//
// The three servers take turns in blocks of requests, so that load from other processes drifts over
// all of them alike, and each block's process CPU (every goroutine and the GC included) is charged to its
// server; a block ends by flushing that server's spend, request-log and key writers, so their SQLite work
// is in the block that caused it. The metrics are CPU per request for each level and the differences to
// features=off, the gateway's cost (target: at most 30 us); `make bench` prints their medians.
func BenchmarkGatewayOverhead(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		b.Run("body="+strconv.Itoa(size>>10)+"KB", func(b *testing.B) {
			var rigs [3]*gatewayRig
			for i, level := range [...]gatewayLevel{gatewayOff, gatewayNoLog, gatewayAll} {
				// The rig's writer goroutines start under its label too, so a CPU profile charges their
				// SQLite work to the level (go tool pprof -tagfocus level=all).
				pprof.Do(context.Background(), pprof.Labels("level", levelNames[level]), func(context.Context) {
					rigs[i] = newGatewayRig(b, size, level)
				})
			}
			var cpu, alloc [len(rigs)]int64
			goruntime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for done, round := 0, 0; done < b.N; round++ {
				n := min(gatewayBlock, b.N-done)
				for j := range rigs {
					k := (j + round) % len(rigs) // rotate the order, so no level always follows another
					c, a := rigs[k].block(b, done, n)
					cpu[k] += c
					alloc[k] += a
				}
				done += n
			}
			b.StopTimer()
			for _, r := range rigs {
				r.checkDropped(b)
			}
			perReq := func(i int) float64 { return float64(cpu[i]) / float64(b.N) }
			b.ReportMetric(perReq(0), "off-cpu-ns/op")
			b.ReportMetric(perReq(1), "nolog-cpu-ns/op")
			b.ReportMetric(perReq(2), "all-cpu-ns/op")
			b.ReportMetric(perReq(1)-perReq(0), "nolog-overhead-ns/op")
			b.ReportMetric(perReq(2)-perReq(0), "all-overhead-ns/op")
			for i, name := range [...]string{"off", "nolog", "all"} {
				b.ReportMetric(float64(alloc[i])/float64(b.N), name+"-B/op")
			}
		})
	}
}

// gatewayBlock is how many requests one server serves per turn; its writers are flushed after each, so
// it is also the size of their batches (a busy proxy's batches are about this size).
const gatewayBlock = 250

type gatewayLevel int

const (
	gatewayOff gatewayLevel = iota
	gatewayNoLog
	gatewayAll
)

var levelNames = [...]string{gatewayOff: "off", gatewayNoLog: "nolog", gatewayAll: "all"}

// gatewayRig is one benchmarked server with its background writers.
type gatewayRig struct {
	level   string
	h       http.Handler
	key     string
	flush   []func(context.Context) error
	dropped []func() uint64
	prefix  []byte
	suffix  []byte
	body    []byte
}

func newGatewayRig(b *testing.B, size int, level gatewayLevel) *gatewayRig {
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
	r := &gatewayRig{key: clientKeyForTests, level: levelNames[level]}
	if level != gatewayOff {
		st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		w, _ := spend.NewWriter(st, spend.WriterOptions{}, nil)
		b.Cleanup(func() { w.Close(context.Background()) })
		keys, err := spend.NewKeys(context.Background(), st, spend.KeysOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { keys.Close(context.Background()) })
		r.key, _, err = keys.Create(context.Background(), spend.KeyParams{Name: "bench", BudgetUSD: 1e9, BudgetPeriod: "monthly", RPM: 100000000})
		if err != nil {
			b.Fatal(err)
		}
		o.Gateway = Gateway{Keys: keys, Spend: w}
		r.flush = append(r.flush, w.Flush, keys.Flush)
		r.dropped = append(r.dropped, w.Dropped)
		if level == gatewayAll {
			rls, err := store.OpenRequestLog(filepath.Join(b.TempDir(), "bench-requests.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { rls.Close() })
			rl := spend.NewRequestLog(rls, spend.WriterOptions{}, nil)
			b.Cleanup(func() { rl.Close(context.Background()) })
			o.Gateway.RequestLog = rl
			r.flush = append(r.flush, rl.Flush)
			r.dropped = append(r.dropped, rl.Dropped)
		}
	}
	s, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	r.h = s.Handler()
	r.prefix, r.suffix = benchBody(size)
	r.body = make([]byte, 0, len(r.prefix)+len(r.suffix)+20)
	// A first turn is not measured: lazily built state (metric children, limiter counters, the first
	// SQLite pages and statements on each connection) and first-touch page faults would make it several
	// times dearer than the ones after.
	r.block(b, -gatewayBlock-1, gatewayBlock)
	return r
}

// do sends request i: the same body but for its number, so that every request misses the cache.
func (r *gatewayRig) do(b *testing.B, i int) {
	r.body = append(strconv.AppendInt(append(r.body[:0], r.prefix...), int64(i), 10), r.suffix...)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(r.body))
	req.Host = "127.0.0.1:8317"
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
}

// block serves requests from..from+n-1, flushes the writers and returns the process CPU it took and the
// bytes allocated meanwhile. The requests carry the pprof label level=off|nolog|all, so that a CPU
// profile of the benchmark can be split by level (go tool pprof -tagfocus level=all).
func (r *gatewayRig) block(b *testing.B, from, n int) (cpu, alloc int64) {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms) // outside the CPU measured: it stops the world
	alloc0 := ms.TotalAlloc
	cpu0 := selfCPU()
	pprof.Do(context.Background(), pprof.Labels("level", r.level), func(context.Context) {
		for i := from; i < from+n; i++ {
			r.do(b, i)
		}
	})
	for _, f := range r.flush {
		if err := f(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	cpu = selfCPU() - cpu0
	goruntime.ReadMemStats(&ms)
	return cpu, int64(ms.TotalAlloc - alloc0)
}

// checkDropped fails when a writer dropped rows: their writes would be missing from the measurement.
func (r *gatewayRig) checkDropped(b *testing.B) {
	for _, d := range r.dropped {
		if n := d(); n != 0 {
			b.Fatalf("%d rows were dropped", n)
		}
	}
}
