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
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// BenchmarkGatewayOverhead measures one non-streaming chat request through the server's handler (no
// client socket) with every gateway feature off, then with all of them on: a virtual key with a budget,
// per-key rate limits, the response cache (always a miss: every body differs), the spend writer on a
// real SQLite file, the masked request log and metrics. The difference between the two is the gateway's
// CPU cost per request (target: at most 30 us).
func BenchmarkGatewayOverhead(b *testing.B) {
	up := proxytest.NewOpenAI(b, proxytest.WithoutRecording())
	base := "api-keys = [\"" + clientKeyForTests + "\"]\n" + openAIConfig(up) + "[metrics]\nenable = false\n"
	all := "api-keys = [\"" + clientKeyForTests + "\"]\n" + openAIConfig(up) +
		"[rate-limits]\nenable = true\nmax-parallel-requests = 1000\nrpm-per-key = 100000000\ntpm-per-key = 1000000000\n" +
		"[cache]\nenable = true\n[request-log]\nenable = true\n[metrics]\nenable = true\n"

	run := func(b *testing.B, cfgTOML string, gateway bool) {
		cfg, err := config.Parse([]byte(cfgTOML), "bench.toml")
		if err != nil {
			b.Fatal(err)
		}
		o := Options{Config: cfg}
		key := clientKeyForTests
		if gateway {
			st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			w, _ := spend.NewWriter(st, spend.WriterOptions{}, nil)
			defer w.Close(context.Background())
			rl := spend.NewRequestLog(st, spend.WriterOptions{}, nil)
			defer rl.Close(context.Background())
			keys, err := spend.NewKeys(context.Background(), st, spend.KeysOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer keys.Close(context.Background())
			key, _, err = keys.Create(context.Background(), spend.KeyParams{Name: "bench", BudgetUSD: 1e9, BudgetPeriod: "monthly", RPM: 100000000})
			if err != nil {
				b.Fatal(err)
			}
			o.Gateway = Gateway{Keys: keys, Spend: w, RequestLog: rl}
		}
		s, err := New(o)
		if err != nil {
			b.Fatal(err)
		}
		h := s.Handler()
		prefix := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hello `)
		suffix := []byte(`"}]}`)
		body := make([]byte, 0, 128)
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := selfCPU()
		for i := 0; i < b.N; i++ {
			body = append(strconv.AppendInt(append(body[:0], prefix...), int64(i), 10), suffix...)
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
			req.Host = "127.0.0.1:8317"
			req.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			_, _ = io.Copy(io.Discard, rec.Body)
		}
		b.StopTimer()
		b.ReportMetric(float64(selfCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.Run("features=off", func(b *testing.B) { run(b, base, false) })
	b.Run("features=all-but-request-log", func(b *testing.B) { run(b, strings.Replace(all, "[request-log]\nenable = true\n", "", 1), true) })
	b.Run("features=all", func(b *testing.B) { run(b, all, true) })
}
