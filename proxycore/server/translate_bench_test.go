package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// BenchmarkServerTranslation measures one request through the real HTTP server on loopback (client, proxy
// and fake upstream in this process, keep-alive connections) on the identity paths and on the two
// cross-format paths, stream and non-stream. The fake upstream and the client cost the same on both sides
// of each pair, so the difference between a translated case and its identity neighbours is what
// translation costs per request (issue target: at most twice the identity path). cpu-ns/op is the process
// CPU per request: client, proxy and fake together.
//
//	go test -run '^$' -bench ServerTranslation -benchmem ./proxycore/server
func BenchmarkServerTranslation(b *testing.B) {
	oa := proxytest.NewOpenAI(b, proxytest.WithoutRecording())
	an := proxytest.NewAnthropic(b, proxytest.WithoutRecording())
	cfg, err := config.Parse([]byte("api-keys = [\""+clientKeyForTests+"\"]\n"+openAIConfig(oa)+anthropicConfig(an)+
		"[metrics]\nenable = false\n"), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(client.CloseIdleConnections)

	chat := func(model string, stream bool) []byte {
		st := ""
		if stream {
			st = `"stream":true,"stream_options":{"include_usage":true},`
		}
		return []byte(`{"model":"` + model + `",` + st + `"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello in a few sentences."}]}`)
	}
	claude := func(model string, stream bool) []byte {
		st := ""
		if stream {
			st = `"stream":true,`
		}
		return []byte(`{"model":"` + model + `",` + st + `"max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"Say hello in a few sentences."}]}`)
	}
	cases := []struct {
		name, path string
		body       []byte
	}{
		{"identity=openai/json", "/v1/chat/completions", chat("gpt-4o", false)},
		{"identity=openai/stream", "/v1/chat/completions", chat("gpt-4o", true)},
		{"identity=claude/json", "/v1/messages", claude("claude-sonnet-4-5", false)},
		{"identity=claude/stream", "/v1/messages", claude("claude-sonnet-4-5", true)},
		{"openai-client->claude/json", "/v1/chat/completions", chat("claude-sonnet-4-5", false)},
		{"openai-client->claude/stream", "/v1/chat/completions", chat("claude-sonnet-4-5", true)},
		{"claude-client->openai/json", "/v1/messages", claude("gpt-4o", false)},
		{"claude-client->openai/stream", "/v1/messages", claude("gpt-4o", true)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			url := ts.URL + tc.path
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			b.ResetTimer()
			cpu0 := selfCPU()
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n < 200 {
					b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(selfCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
