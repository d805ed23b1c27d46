package server

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/config"
)

const (
	clientKeyForTests = "sk-client-test-5f1c2d3e4b5a6978"
	upstreamKey       = "sk-upstream-secret-9a8b7c6d5e4f"
)

// secretSink is a slog handler that fails the test when a known secret is logged.
type secretSink struct {
	t       testing.TB
	mu      sync.Mutex
	buf     bytes.Buffer
	secrets []string
}

func newSecretLogger(t testing.TB, secrets ...string) *slog.Logger {
	s := &secretSink{t: t, secrets: secrets}
	t.Cleanup(s.check)
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (s *secretSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *secretSink) check() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.secrets {
		if sec != "" && strings.Contains(s.buf.String(), sec) {
			s.t.Errorf("a secret reached the log: ...%s", sec[len(sec)-4:])
		}
	}
}

// testProxy is a real proxy server on a loopback listener.
type testProxy struct {
	*Server
	URL    string
	ts     *httptest.Server
	active activeHandlers
}

// activeHandlers counts the requests the server is still handling. The answer reaches the client before the
// bookkeeping after it (spend row, key charge, metrics) is done, so a test that reads that bookkeeping first
// waits for the handlers to return.
type activeHandlers struct {
	mu   sync.Mutex
	cond *sync.Cond
	n    int
}

func (a *activeHandlers) wrap(h http.Handler) http.Handler {
	a.cond = sync.NewCond(&a.mu)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.n++
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			a.n--
			a.cond.Broadcast()
			a.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// waitIdle returns once no request is being handled.
func (p *testProxy) waitIdle() {
	p.active.mu.Lock()
	for p.active.n > 0 {
		p.active.cond.Wait()
	}
	p.active.mu.Unlock()
}

// startProxy parses cfgTOML (with the test client key added unless it sets api-keys) and serves it.
func startProxy(t testing.TB, cfgTOML string, opts ...func(*Options)) *testProxy {
	t.Helper()
	if !strings.Contains(cfgTOML, "api-keys") {
		cfgTOML = "api-keys = [\"" + clientKeyForTests + "\"]\n" + cfgTOML
	}
	cfg, err := config.Parse([]byte(cfgTOML), "test.toml")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	o := Options{Config: cfg, Logger: newSecretLogger(t, clientKeyForTests, upstreamKey)}
	for _, f := range opts {
		f(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	p := &testProxy{Server: s}
	p.ts = httptest.NewServer(p.active.wrap(s.Handler()))
	p.URL = p.ts.URL
	t.Cleanup(p.ts.Close)
	return p
}

// do sends a request with the test client key.
func (p *testProxy) do(t testing.TB, method, path, body string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, p.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t testing.TB, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
