package server

import (
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// chanRecorder hands every finished request's record to the test.
type chanRecorder chan *Record

func (c chanRecorder) Record(r *Record) { c <- r }

func (c chanRecorder) next(t *testing.T) *Record {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(30 * time.Second): // a guard against hangs only
		t.Fatal("no request record")
		return nil
	}
}

// TestRecordedUsageEveryPath: the usage handed to the recorder (spend, metrics) is the upstream's, in
// canonical terms, on identity and translated paths, stream and non-stream, whether or not the client
// asked for usage in its stream.
func TestRecordedUsageEveryPath(t *testing.T) {
	rec := make(chanRecorder, 16)
	oa := proxytest.NewOpenAI(t, proxytest.WithAPIKey(upstreamKey))
	an := proxytest.NewAnthropic(t, proxytest.WithAPIKey(upstreamKey))
	ge := proxytest.NewGemini(t, proxytest.WithAPIKey(upstreamKey))
	p := startProxy(t, openAIConfig(oa)+anthropicConfig(an)+geminiConfig(ge), func(o *Options) { o.Recorder = rec })
	ups := []struct {
		name, model string
		format      llm.Format
		up          *proxytest.Upstream
	}{
		{"openai", "gpt-4o", llm.FormatOpenAIChat, oa},
		{"anthropic", "claude-sonnet-4-5", llm.FormatClaude, an},
		{"gemini", "gemini-2.5-flash", llm.FormatGemini, ge},
	}
	usage := proxytest.Usage{InputTokens: 200, OutputTokens: 70, CachedTokens: 120, CacheCreationTokens: 0, ReasoningTokens: 25}
	for _, u := range ups {
		for _, cl := range []string{"chat", "responses", "claude", "gemini", "completions"} {
			for _, stream := range []bool{false, true} {
				name := cl + "/" + u.name
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					// Reasoning text too: the Gemini fake's streamed thoughtsTokenCount grows with thought parts.
					u.up.Enqueue(proxytest.Reply{Text: "counted", Reasoning: "thinking", Usage: usage})
					rq := rawRequest(cl, u.model, stream)
					resp := p.do(t, "POST", rq.path, rq.body)
					body := readAll(t, resp)
					if resp.StatusCode != 200 {
						t.Fatalf("status %d: %s", resp.StatusCode, body)
					}
					r := rec.next(t)
					want := upstreamUsage(u.format, usage)
					if cl == "completions" && u.name == "openai" {
						// The legacy completions API reports prompt and completion tokens only.
						want.CachedInputTokens, want.ReasoningTokens = 0, 0
					}
					if r.Usage.InputTokens != want.InputTokens || r.Usage.OutputTokens != want.OutputTokens ||
						r.Usage.CachedInputTokens != want.CachedInputTokens {
						t.Errorf("recorded usage %+v, want %+v", r.Usage, want)
					}
					if u.format != llm.FormatClaude && r.Usage.ReasoningTokens != want.ReasoningTokens {
						t.Errorf("recorded reasoning tokens %d, want %d", r.Usage.ReasoningTokens, want.ReasoningTokens)
					}
					if r.Status != 200 || r.CredentialID == "" {
						t.Errorf("record status %d credential %q", r.Status, r.CredentialID)
					}
				})
			}
		}
	}
}

// TestIdentityStreamUsageChunkOnlyWhenAsked: the proxy asks an OpenAI stream for usage even when the client
// did not, but only a client that asked sees the usage chunk.
func TestIdentityStreamUsageChunkOnlyWhenAsked(t *testing.T) {
	up := proxytest.NewOpenAI(t, proxytest.WithAPIKey(upstreamKey))
	p := startProxy(t, openAIConfig(up))
	cases := []struct {
		name, path, body string
		wantUsage        bool
	}{
		{"chat without", "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`, false},
		{"chat with", "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, true},
		{"chat explicit false", "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]}`, false},
		{"completions without", "/v1/completions", `{"model":"gpt-4o","stream":true,"prompt":"hi"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.Hits()
			resp := p.do(t, "POST", tc.path, tc.body)
			body := readAll(t, resp)
			if resp.StatusCode != 200 || !strings.Contains(body, "data: [DONE]") {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := strings.Contains(body, `"usage":{`); got != tc.wantUsage {
				t.Errorf("usage chunk relayed = %v, want %v: %s", got, tc.wantUsage, body)
			}
			if !strings.Contains(string(up.Requests()[before].Body), `"include_usage":true`) {
				t.Errorf("the upstream was not asked for usage: %s", up.Requests()[before].Body)
			}
		})
	}
}
