package accttest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// NewExecutor builds the executor under test over a token source.
type NewExecutor func(t *testing.T, ts provider.TokenSource) provider.Executor

// AuthRetry checks the 401 handling against up, a fake that accepts only the bearer token good:
// a stale token is refreshed once and the call resent; a refresh that yields another refused token,
// or that fails, leaves the 401 to the caller. Every token carries the extras (key, value pairs).
func AuthRetry(t *testing.T, up *proxytest.Upstream, good string, newExec NewExecutor, call provider.Call, extra ...string) {
	t.Helper()
	cases := []struct {
		name      string
		tokens    *Tokens
		status    int
		hits      int
		refreshes int
	}{
		{"stale token refreshed once", &Tokens{Current: Bearer("stale-token-0001", extra...), Refreshed: []oauth.Token{Bearer(good, extra...)}}, http.StatusOK, 2, 1},
		{"still refused after refresh", &Tokens{Current: Bearer("stale-token-0001", extra...), Refreshed: []oauth.Token{Bearer("revoked-token-0002", extra...)}}, http.StatusUnauthorized, 2, 1},
		{"refresh fails", &Tokens{Current: Bearer("stale-token-0001", extra...), RefreshErr: errors.New("invalid_grant")}, http.StatusUnauthorized, 1, 1},
		{"valid token", &Tokens{Current: Bearer(good, extra...)}, http.StatusOK, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.Hits()
			c := call
			resp, err := newExec(t, tc.tokens).Do(t.Context(), &c)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if got := up.Hits() - before; got != tc.hits {
				t.Errorf("upstream hits = %d, want %d", got, tc.hits)
			}
			if got := tc.tokens.Refreshes(); got != tc.refreshes {
				t.Errorf("refreshes = %d, want %d", got, tc.refreshes)
			}
			if tc.status != http.StatusOK && len(body) == 0 {
				t.Error("the failing answer lost its body")
			}
		})
	}
}

// Cancel checks that cancelling the caller's context while the upstream streams cancels the upstream
// request. call must ask for a stream.
func Cancel(t *testing.T, up *proxytest.Upstream, exec provider.Executor, call provider.Call) {
	t.Helper()
	up.Enqueue(proxytest.Reply{PauseAfter: 1, Resume: make(chan struct{})})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp, err := exec.Do(ctx, &call)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	buf := make([]byte, 1)
	if _, err := resp.Body.Read(buf); err != nil { // the first event arrived: the stream is live
		t.Fatalf("reading the first byte: %v", err)
	}
	cancel()
	wait, stop := context.WithTimeout(context.Background(), 30*time.Second) // deadlock guard only
	defer stop()
	if err := up.WaitCanceled(wait, 1); err != nil {
		t.Fatalf("the upstream request was not cancelled: %v", err)
	}
}

// DeadURL returns the base URL of a loopback port nothing listens on.
func DeadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// NoSecret fails when err is nil or its text contains secret.
func NoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if err == nil {
		t.Fatal("want a network error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error leaks the token: %v", err)
	}
}
