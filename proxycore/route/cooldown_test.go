package route

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseHint(t *testing.T) {
	now := base
	rfc := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name     string
		status   int
		h        http.Header
		body     string
		want     time.Duration // from now; 0 means no hint
		explicit bool
		source   string
	}{
		{"retry-after seconds", 429, hdr("Retry-After", "20"), "", 20 * time.Second, false, "retry-after"},
		{"retry-after http date", 429, hdr("Retry-After", now.Add(2*time.Minute).Format(http.TimeFormat)), "",
			2 * time.Minute, false, "retry-after"},
		{"retry-after-ms", 429, hdr("Retry-After-Ms", "1500"), "", 1500 * time.Millisecond, false, "retry-after-ms"},
		{"retry-after-ms and retry-after, latest wins", 429, hdr("Retry-After-Ms", "1500", "Retry-After", "2"), "",
			2 * time.Second, false, "retry-after"},
		{"openai requests exhausted", 429, hdr(
			"X-Ratelimit-Limit-Requests", "60", "X-Ratelimit-Remaining-Requests", "0", "X-Ratelimit-Reset-Requests", "1s",
			"X-Ratelimit-Limit-Tokens", "150000", "X-Ratelimit-Remaining-Tokens", "149984", "X-Ratelimit-Reset-Tokens", "6m0s",
		), `{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			time.Second, true, "x-ratelimit-reset-requests"},
		{"openai tokens exhausted", 429, hdr(
			"X-Ratelimit-Remaining-Requests", "59", "X-Ratelimit-Reset-Requests", "12ms",
			"X-Ratelimit-Remaining-Tokens", "0", "X-Ratelimit-Reset-Tokens", "6m0s",
		), "", 6 * time.Minute, true, "x-ratelimit-reset-tokens"},
		{"openai retry-after beats an earlier reset", 429, hdr(
			"Retry-After", "3", "X-Ratelimit-Remaining-Requests", "0", "X-Ratelimit-Reset-Requests", "1s",
		), "", 3 * time.Second, true, "retry-after"},
		{"openai resets without remaining headers", 429, hdr("X-Ratelimit-Reset-Requests", "1m30.5s"), "",
			90*time.Second + 500*time.Millisecond, true, "x-ratelimit-reset-requests"},
		{"anthropic requests exhausted", 429, hdr(
			"Retry-After", "17",
			"Anthropic-Ratelimit-Requests-Limit", "50", "Anthropic-Ratelimit-Requests-Remaining", "0",
			"Anthropic-Ratelimit-Requests-Reset", rfc(17*time.Second),
			"Anthropic-Ratelimit-Tokens-Remaining", "12000", "Anthropic-Ratelimit-Tokens-Reset", rfc(45*time.Second),
		), `{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit."},"request_id":"req_011"}`,
			17 * time.Second, true, "retry-after"}, // a tie keeps the first source
		{"anthropic input tokens exhausted", 429, hdr(
			"Anthropic-Ratelimit-Input-Tokens-Remaining", "0", "Anthropic-Ratelimit-Input-Tokens-Reset", rfc(40*time.Second),
			"Anthropic-Ratelimit-Output-Tokens-Remaining", "500", "Anthropic-Ratelimit-Output-Tokens-Reset", rfc(59*time.Second),
		), "", 40 * time.Second, true, "anthropic-ratelimit-input-tokens-reset"},
		{"anthropic unified rejected", 429, hdr(
			"Anthropic-Ratelimit-Unified-Status", "rejected", "Anthropic-Ratelimit-Unified-Reset", unix(3*time.Hour),
		), "", 3 * time.Hour, true, "anthropic-ratelimit-unified-reset"},
		{"anthropic unified allowed is not the cause", 429, hdr(
			"Retry-After", "5", "Anthropic-Ratelimit-Unified-Status", "allowed", "Anthropic-Ratelimit-Unified-Reset", unix(3*time.Hour),
		), "", 5 * time.Second, false, "retry-after"},
		{"gemini retry info", 429, nil, `{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED",
			"details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
			{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
			{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"30s"}]}}`, 30 * time.Second, false, "error.details.retryDelay"},
		{"gemini fractional retry delay", 429, nil,
			`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`,
			1500 * time.Millisecond, false, "error.details.retryDelay"},
		{"gemini cli array body", 429, nil,
			`[{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"41s"}]}}]`,
			41 * time.Second, false, "error.details.retryDelay"},
		{"codex resets in seconds", 429, nil,
			`{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_in_seconds":1234}}`,
			1234 * time.Second, true, "error.resets_in_seconds"},
		{"codex resets at", 429, nil,
			`{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","resets_at":` + unix(26*time.Hour) + `}}`,
			26 * time.Hour, true, "error.resets_at"},
		{"codex both, latest wins", 429, nil,
			`{"error":{"type":"usage_limit_reached","resets_in_seconds":60,"resets_at":` + unix(2*time.Hour) + `}}`,
			2 * time.Hour, true, "error.resets_at"},
		{"quota 403", 403, nil,
			`{"error":{"type":"usage_limit_reached","resets_in_seconds":600}}`, 10 * time.Minute, true, "error.resets_in_seconds"},
		{"503 honours retry-after", 503, hdr("Retry-After", "5"), "", 5 * time.Second, false, "retry-after"},
		{"503 ignores window headers", 503, hdr("X-Ratelimit-Remaining-Requests", "0", "X-Ratelimit-Reset-Requests", "1m"), "", 0, false, ""},
		{"503 ignores codex resets", 503, nil, `{"error":{"type":"usage_limit_reached","resets_in_seconds":60}}`, 0, false, ""},
		{"400 has no hint", 400, hdr("Retry-After", "5"), "", 0, false, ""},
		{"200 window headers are not a failure", 200, hdr("X-Ratelimit-Remaining-Requests", "0", "X-Ratelimit-Reset-Requests", "1s"), "", 0, false, ""},
		{"429 without hints", 429, hdr("Content-Type", "application/json"), `{"error":{"message":"slow down"}}`, 0, false, ""},
		{"zero retry-after", 429, hdr("Retry-After", "0"), "", 0, false, ""},
		{"garbage", 429, hdr("Retry-After", "soon", "X-Ratelimit-Reset-Requests", "later", "Anthropic-Ratelimit-Unified-Reset", "x"),
			`{"error":"quota"}`, 0, false, ""},
		{"implausible reset ignored", 429, nil, `{"error":{"type":"usage_limit_reached","resets_at":1999999999999}}`, 0, false, ""},
		{"weekly reset honoured", 429, nil, `{"error":{"type":"usage_limit_reached","resets_in_seconds":604800}}`,
			7 * 24 * time.Hour, true, "error.resets_in_seconds"},
		{"not json", 429, nil, "<html>Too Many Requests</html>", 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if h == nil {
				h = http.Header{}
			}
			hint, ok := ParseHint(tt.status, h, []byte(tt.body), now)
			if tt.want == 0 {
				if ok {
					t.Fatalf("ParseHint = %+v, want no hint", hint)
				}
				return
			}
			if !ok {
				t.Fatalf("ParseHint found no hint, want %v", tt.want)
			}
			if got := hint.Until.Sub(now); got != tt.want || hint.Explicit != tt.explicit || hint.Source != tt.source {
				t.Fatalf("ParseHint = %v explicit=%v source=%q; want %v explicit=%v source=%q",
					got, hint.Explicit, hint.Source, tt.want, tt.explicit, tt.source)
			}
			until, ok := CooldownFromResponse(tt.status, h, []byte(tt.body), now)
			if !ok || !until.Equal(hint.Until) {
				t.Fatalf("CooldownFromResponse = %v, %v; want %v", until, ok, hint.Until)
			}
		})
	}
}

// TestRouterWithRealUpstream drives the router against a loopback upstream that rate-limits one
// credential the way Codex does, and checks that traffic moves to the other credential and back.
func TestRouterWithRealUpstream(t *testing.T) {
	r, fc := newRouter(t, nil)
	fc.Set(base)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") == "Bearer token-a" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","resets_at":%d}}`,
				base.Add(5*time.Hour).Unix())
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: response.completed\ndata: {}\n\n")
	}))
	t.Cleanup(upstream.Close)
	tokens := map[string]string{"codex:a": "token-a", "codex:b": "token-b"}
	cands := []Entry{
		{CredentialID: "codex:a", Provider: "codex", Model: "gpt-5-codex"},
		{CredentialID: "codex:b", Provider: "codex", Model: "gpt-5-codex"},
	}
	call := func() (string, int) {
		e, ok := r.Pick(cands, nil)
		if !ok {
			t.Fatal("Pick found nothing")
		}
		a := r.Begin(e)
		req, _ := http.NewRequest(http.MethodPost, upstream.URL+"/responses", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[e.CredentialID])
		resp, err := upstream.Client().Do(req)
		if err != nil {
			r.End(a, Outcome{Err: err})
			t.Fatalf("upstream: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		o := Outcome{Status: resp.StatusCode, CredentialWide: true}
		if hint, ok := ParseHint(resp.StatusCode, resp.Header, body, fc.Now()); ok {
			o.CooldownUntil, o.CooldownExplicit = hint.Until, hint.Explicit
		}
		r.End(a, o)
		return e.CredentialID, resp.StatusCode
	}
	if id, st := call(); id != "codex:a" || st != 429 {
		t.Fatalf("first call went to %s with %d", id, st)
	}
	for range 3 {
		if id, st := call(); id != "codex:b" || st != 200 {
			t.Fatalf("call went to %s with %d, want codex:b with 200", id, st)
		}
	}
	// The explicit 5 h reset is honoured beyond the 30 min cap.
	fc.Advance(4 * time.Hour)
	if id, _ := call(); id != "codex:b" {
		t.Fatalf("after 4 h the call went to %s, want codex:b", id)
	}
	fc.Advance(time.Hour)
	if id, _ := call(); id != "codex:a" {
		t.Fatalf("after the reset the call went to %s, want codex:a", id)
	}
}

func FuzzParseHint(f *testing.F) {
	f.Add(429, "Retry-After", "20", `{"error":{"type":"usage_limit_reached","resets_in_seconds":5}}`)
	f.Add(429, "X-Ratelimit-Reset-Tokens", "6m0s", `[{"error":{"details":[{"retryDelay":"1.5s"}]}}]`)
	f.Add(403, "Anthropic-Ratelimit-Unified-Reset", "1999999999", `{"error":{"resets_at":"1e30"}}`)
	f.Add(503, "Retry-After-Ms", "1e400", `{"error":[]}`)
	f.Fuzz(func(t *testing.T, status int, name, value, body string) {
		h := http.Header{}
		h.Set(name, value)
		hint, ok := ParseHint(status, h, []byte(body), base)
		if ok && !hint.Until.After(base) {
			t.Fatalf("hint %v is not in the future", hint.Until)
		}
		if !ok && (hint != Hint{}) {
			t.Fatalf("no hint but a non-zero value %+v", hint)
		}
	})
}
