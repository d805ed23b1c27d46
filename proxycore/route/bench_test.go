package route

import (
	"testing"
	"time"
)

func benchRouter(b *testing.B, strategy string) (*Router, []Entry) {
	r, _ := newRouter(b, func(o *Options) { o.Strategy = strategy })
	cands := pool(100, "gpt-5")
	for range DefaultMinRequests { // warm every candidate up, as lowest-latency needs
		for i, e := range cands {
			do(r, e, Outcome{Status: 200, Latency: time.Duration(i+1) * time.Millisecond})
		}
	}
	return r, cands
}

func benchPick(b *testing.B, strategy string) {
	r, cands := benchRouter(b, strategy)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, ok := r.Pick(cands, nil); !ok {
			b.Fatal("no pick")
		}
	}
}

func BenchmarkPickFillFirst100(b *testing.B)     { benchPick(b, "fill-first") }
func BenchmarkPickRoundRobin100(b *testing.B)    { benchPick(b, "round-robin") }
func BenchmarkPickLeastBusy100(b *testing.B)     { benchPick(b, "least-busy") }
func BenchmarkPickLowestLatency100(b *testing.B) { benchPick(b, "lowest-latency") }

// BenchmarkPickFillFirst100HalfCooling is the slow path: the first 50 candidates cool down.
func BenchmarkPickFillFirst100HalfCooling(b *testing.B) {
	r, cands := benchRouter(b, "fill-first")
	for _, e := range cands[:50] {
		do(r, e, Outcome{Status: 429})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if e, ok := r.Pick(cands, nil); !ok || e.CredentialID != cands[50].CredentialID {
			b.Fatal("wrong pick")
		}
	}
}

func BenchmarkPickRoundRobin100Parallel(b *testing.B) {
	r, cands := benchRouter(b, "round-robin")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = r.Pick(cands, nil)
		}
	})
}

func BenchmarkBeginEnd(b *testing.B) {
	r, cands := benchRouter(b, "fill-first")
	o := Outcome{Status: 200, Latency: 120 * time.Millisecond}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		r.End(r.Begin(cands[i%len(cands)]), o)
		i++
	}
}

func BenchmarkEnd(b *testing.B) {
	r, cands := benchRouter(b, "fill-first")
	o := Outcome{Status: 200, Latency: 120 * time.Millisecond}
	a := r.Begin(cands[0])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a.cred.inflight.Add(1) // keep the in-flight counts balanced without timing Begin
		a.model.inflight.Add(1)
		r.End(a, o)
	}
}

func BenchmarkResolve(b *testing.B) {
	c := testCatalog()
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = c.Resolve("openai/gpt-5")
	}
}

func BenchmarkParseHint(b *testing.B) {
	h := hdr("Retry-After", "20", "X-Ratelimit-Remaining-Requests", "0", "X-Ratelimit-Reset-Requests", "1s",
		"X-Ratelimit-Remaining-Tokens", "149984", "X-Ratelimit-Reset-Tokens", "6m0s")
	body := []byte(`{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseHint(429, h, body, base)
	}
}
