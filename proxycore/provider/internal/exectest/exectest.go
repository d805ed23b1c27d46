// Package exectest holds stream test helpers for the account executors (the token source is
// accttest's): a loopback server that relays an executor's answers chunk by chunk so that the vendors'
// own SDKs can read them, a mid-stream cancellation check, and a real proxy serving given executors.
package exectest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/server"
)

// Relay starts a loopback server that answers each request with do's response, copied chunk by chunk
// with a flush after each, and closes it when the test ends. A do error becomes a 502.
func Relay(t testing.TB, do func(r *http.Request, body []byte) (*http.Response, error)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := do(r, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		rc := http.NewResponseController(w)
		buf := make([]byte, 1024)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				_, _ = w.Write(buf[:n])
				_ = rc.Flush()
			}
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// CancelMidStream reads the first chunk of a streamed body, cancels the call, and checks that the body
// then ends with context.Canceled and that the fake upstream saw its request cancelled. It returns the
// first chunk.
func CancelMidStream(t testing.TB, body io.ReadCloser, cancel context.CancelFunc, waitCanceled func(context.Context, int) error) string {
	t.Helper()
	defer body.Close()
	buf := make([]byte, 8192)
	n, err := body.Read(buf)
	if err != nil {
		t.Fatalf("first read: %v", err)
	}
	first := string(buf[:n])
	cancel()
	for err == nil {
		_, err = body.Read(buf)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read error after cancel = %v, want context.Canceled", err)
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := waitCanceled(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return first
}

// accounts is a server.AccountSource over fixed accounts.
type accounts []server.Account

func (a accounts) Accounts() []server.Account { return a }

// Proxy serves a real proxy (default config, one client key) whose only upstreams are the given
// account executors, serving their default models, and returns its base URL.
func Proxy(t testing.TB, clientKey string, execs ...provider.Executor) string {
	t.Helper()
	cfg, err := config.Parse([]byte(`api-keys = ["`+clientKey+`"]`), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	var as accounts
	for _, e := range execs {
		as = append(as, server.Account{Executor: e})
	}
	s, err := server.New(server.Options{Config: cfg, Accounts: as})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}
