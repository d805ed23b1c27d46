package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/route"
)

// TestInstancesShareCooldownsAndCacheThroughRedis runs two proxies with one configuration and one Redis:
// a 429 with a reset time seen by the first makes the second stop calling that credential too, and an
// answer cached by the first is a hit on the second.
func TestInstancesShareCooldownsAndCacheThroughRedis(t *testing.T) {
	mr := miniredis.RunT(t)
	up := proxytest.NewOpenAI(t)
	cfg := openAIConfig(up) + "[redis]\nurl = \"redis://" + mr.Addr() + "/0\"\n[cache]\nenable = true\n"
	a, b := startProxy(t, cfg), startProxy(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, p := range []*testProxy{a, b} {
		go func() { p.Run(ctx); done <- struct{}{} }()
	}
	t.Cleanup(func() { cancel(); <-done; <-done })

	// The cache: the first instance's answer is the second's hit.
	msg := `{"model":"gpt-4o","messages":[{"role":"user","content":"cache me"}]}`
	if r := a.do(t, "POST", "/v1/chat/completions", msg); r.StatusCode != 200 || r.Header.Get("X-Cache") != "MISS" {
		t.Fatalf("first instance: %d X-Cache %q", r.StatusCode, r.Header.Get("X-Cache"))
	}
	r := b.do(t, "POST", "/v1/chat/completions", msg)
	if body := readAll(t, r); r.StatusCode != 200 || r.Header.Get("X-Cache") != "HIT" || !strings.Contains(body, "chat.completion") {
		t.Fatalf("second instance: %d X-Cache %q: %s", r.StatusCode, r.Header.Get("X-Cache"), body)
	}

	// The cooldown: a 429 with Retry-After on the first instance reaches the second.
	waitSubscribed(t, mr, 2)
	up.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 2 * time.Minute})
	if r := a.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, "Cache-Control", "no-cache"); r.StatusCode != 429 {
		t.Fatalf("first instance, upstream 429: got %d", r.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !coolingDown(b.Router(), "openai-1") {
		if time.Now().After(deadline) {
			t.Fatalf("the second instance never learnt the cooldown: %+v", b.Router().Snapshot())
		}
		<-time.After(5 * time.Millisecond)
	}
	hits := up.Hits()
	r = b.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, "Cache-Control", "no-cache")
	if body := readAll(t, r); r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("second instance during the shared cooldown: %d %s", r.StatusCode, body)
	}
	if up.Hits() != hits {
		t.Error("the second instance called the credential the first one saw cooling down")
	}
}

// waitSubscribed waits until n clients listen on the cooldown channel.
func waitSubscribed(t *testing.T, mr *miniredis.Miniredis, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); mr.PubSubNumSub(cooldownChannel)[cooldownChannel] < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d instances subscribed to %s", mr.PubSubNumSub(cooldownChannel)[cooldownChannel], n, cooldownChannel)
		}
		<-time.After(5 * time.Millisecond)
	}
}

// coolingDown reports whether the credential or one of its models is in COOLDOWN.
func coolingDown(r *route.Router, credentialID string) bool {
	for _, c := range r.Snapshot() {
		if c.CredentialID != credentialID {
			continue
		}
		if c.State == route.Cooldown {
			return true
		}
		for _, m := range c.Models {
			if m.State == route.Cooldown {
				return true
			}
		}
	}
	return false
}

// TestUnreachableRedisDoesNotStopTheProxy: with [redis] url pointing at nothing, requests are still
// answered (the cache misses) and the sharing loop keeps retrying until the proxy stops.
func TestUnreachableRedisDoesNotStopTheProxy(t *testing.T) {
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	mr.Close() // nothing listens there any more
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[redis]\nurl = \"redis://"+addr+"/0\"\n[cache]\nenable = true\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	for range 2 {
		r := p.do(t, "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
		if body := readAll(t, r); r.StatusCode != 200 || r.Header.Get("X-Cache") != "MISS" {
			t.Fatalf("with Redis down: %d X-Cache %q: %s", r.StatusCode, r.Header.Get("X-Cache"), body)
		}
	}
	cancel()
	<-done // Run returns once its context ends
}
