package proxytest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Claude subscription (Claude Code OAuth) wire facts, PROVIDERS.md "claude-code":
//   - the Messages API of WIRE.md §3 at /v1/messages?beta=true with "Authorization: Bearer <OAuth
//     access token>"; the API refuses an OAuth token unless anthropic-beta lists oauth-2025-04-20
//     (401 authentication_error "OAuth authentication is currently not supported.", as public Claude
//     Code proxies report);
//   - answers carry anthropic-ratelimit-unified-* headers: "-status" (allowed, allowed_warning,
//     rejected), "-reset" (unix seconds) and per window "5h"/"7d" "-utilization" (fraction 0..1),
//     "-reset" (unix seconds), "-status" (as observed by public Claude quota trackers).

// ClaudeOAuthBeta is the anthropic-beta value the Claude Code fake requires.
const ClaudeOAuthBeta = "oauth-2025-04-20"

// ClaudeCode is an Anthropic fake behind the OAuth gate of subscription traffic. Scripted replies,
// Requests, Hits and Canceled are those of the embedded Anthropic fake; requests refused by the gate
// (no oauth beta) never reach it.
type ClaudeCode struct {
	*Upstream
	// URL is the base URL of the gate (it shadows the inner fake's URL).
	URL string

	unified atomic.Pointer[http.Header] // headers added to every answer
}

// NewClaudeCode starts a Claude Code fake that accepts only "Authorization: Bearer token" with the
// oauth beta, and answers with unified rate-limit headers (see SetUnified). It closes when the test
// ends.
func NewClaudeCode(t testing.TB, token string, opts ...Option) *ClaudeCode {
	t.Helper()
	inner := mustStart(t, vendorAnthropic, append([]Option{WithAPIKey(token)}, opts...))
	cc := &ClaudeCode{Upstream: inner}
	cc.SetUnified(ClaudeUnified{Status: "allowed", FiveHour: 0.25, SevenDay: 0.5,
		FiveHourReset: inner.clk.Now().Add(3 * time.Hour), SevenDayReset: inner.clk.Now().Add(5 * 24 * time.Hour)})
	cc.URL = startGate(t, inner, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && !hasBeta(r.Header, ClaudeOAuthBeta) {
			writeAnthropicError(w, http.StatusUnauthorized, "authentication_error", "OAuth authentication is currently not supported.")
			return false
		}
		for k, v := range *cc.unified.Load() {
			w.Header()[k] = v
		}
		return true
	})
	return cc
}

// SetUnified sets the unified rate-limit headers of the following answers.
func (c *ClaudeCode) SetUnified(q ClaudeUnified) {
	h := ClaudeUnifiedHeaders(q)
	c.unified.Store(&h)
}

func hasBeta(h http.Header, want string) bool {
	for _, line := range h.Values("anthropic-beta") {
		for _, b := range strings.Split(line, ",") {
			if strings.TrimSpace(b) == want {
				return true
			}
		}
	}
	return false
}

// ClaudeUnified is one picture of a subscription's unified rate limits.
type ClaudeUnified struct {
	Status                       string  // overall status: allowed, allowed_warning, rejected
	FiveHour, SevenDay           float64 // utilization of the 5 h and 7 d windows, 0..1
	FiveHourReset, SevenDayReset time.Time
}

// ClaudeUnifiedHeaders returns the anthropic-ratelimit-unified-* headers for q.
func ClaudeUnifiedHeaders(q ClaudeUnified) http.Header {
	h := http.Header{}
	p := "anthropic-ratelimit-unified-"
	h.Set(p+"status", q.Status)
	reset := q.FiveHourReset
	if q.SevenDay >= 1 {
		reset = q.SevenDayReset
	}
	h.Set(p+"reset", strconv.FormatInt(reset.Unix(), 10))
	window := func(name string, util float64, at time.Time) {
		h.Set(p+name+"-utilization", fmt.Sprintf("%.2f", util))
		h.Set(p+name+"-reset", strconv.FormatInt(at.Unix(), 10))
		st := "allowed"
		if util >= 1 {
			st = "rejected"
		}
		h.Set(p+name+"-status", st)
	}
	window("5h", q.FiveHour, q.FiveHourReset)
	window("7d", q.SevenDay, q.SevenDayReset)
	h.Set(p+"representative-claim", "five_hour")
	return h
}

// startGate serves check in front of inner on its own loopback listener and returns its base URL.
// Requests check refuses (it wrote the answer and returned false) never reach inner. The gate closes
// when the test ends.
func startGate(t testing.TB, inner *Upstream, check func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for a gated fake: %v", err)
	}
	base, stop := context.WithCancel(context.Background())
	srv := &http.Server{
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if check(w, r) {
				inner.ServeHTTP(w, r)
			}
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		stop()
		_ = srv.Close()
	})
	return "http://" + ln.Addr().String()
}
