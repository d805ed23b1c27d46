package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// secretGuard is a slog handler that fails the test when a record carries a known secret.
type secretGuard struct {
	t       testing.TB
	mu      *sync.Mutex
	secrets *[]string
	attrs   []slog.Attr
}

func newSecretGuard(t testing.TB) (*slog.Logger, func(string)) {
	g := &secretGuard{t: t, mu: &sync.Mutex{}, secrets: &[]string{}}
	return slog.New(g), func(s string) {
		if s == "" {
			return
		}
		g.mu.Lock()
		*g.secrets = append(*g.secrets, s)
		g.mu.Unlock()
	}
}

func (g *secretGuard) Enabled(context.Context, slog.Level) bool { return true }

func (g *secretGuard) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Resolve()); return true }
	for _, a := range g.attrs {
		write(a)
	}
	r.Attrs(write)
	line := b.String()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range *g.secrets {
		if strings.Contains(line, s) {
			g.t.Errorf("a log line contains a secret: %q", line)
		}
	}
	return nil
}

func (g *secretGuard) WithAttrs(as []slog.Attr) slog.Handler {
	n := *g
	n.attrs = append(append([]slog.Attr(nil), g.attrs...), as...)
	return &n
}

func (g *secretGuard) WithGroup(string) slog.Handler { return g }

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testEnv is a temporary home for one Core: a config file and a data dir.
type testEnv struct {
	dir, configPath, dataDir string
}

func newTestEnv(t testing.TB, configText string) testEnv {
	t.Helper()
	dir := t.TempDir()
	e := testEnv{dir: dir, configPath: filepath.Join(dir, "config", "config.toml"), dataDir: filepath.Join(dir, "data")}
	if err := os.MkdirAll(filepath.Dir(e.configPath), 0o700); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("port = %d\n", freePort(t)) + configText
	if err := os.WriteFile(e.configPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func openTestCore(t testing.TB, e testEnv, log *slog.Logger, mod func(*CoreOptions)) *Core {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := CoreOptions{ConfigFlag: e.configPath, DataDir: e.dataDir, Logger: log}
	if mod != nil {
		mod(&o)
	}
	c, err := OpenCore(o)
	if err != nil {
		t.Fatalf("OpenCore: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// post sends a JSON request through the proxy and returns the status and body.
func post(t testing.TB, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// chat sends an OpenAI chat request.
func chat(t testing.TB, baseURL, key, model string) (int, string) {
	t.Helper()
	return post(t, baseURL+"/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer " + key})
}

// messages sends a Claude Messages request.
func messages(t testing.TB, baseURL, key, model string) (int, string) {
	t.Helper()
	return post(t, baseURL+"/v1/messages", `{"model":"`+model+`","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": key, "anthropic-version": "2023-06-01"})
}

func TestCoreServesAndRecordsSpend(t *testing.T) {
	up := proxytest.NewOpenAI(t, proxytest.WithAPIKey("sk-upstream-secret-1234"))
	e := newTestEnv(t, fmt.Sprintf("[[openai]]\napi-key = %q\nbase-url = %q\nmodels = [\"gpt-4o\"]\n", "sk-upstream-secret-1234", up.URL+"/v1"))
	log, secret := newSecretGuard(t)
	secret("sk-upstream-secret-1234")
	c := openTestCore(t, e, log, nil)
	secret(c.ClientKey())
	events, unsubscribe := c.Subscribe()
	defer unsubscribe()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, body := chat(t, c.BaseURL(), c.ClientKey(), "gpt-4o")
	if status != http.StatusOK || !strings.Contains(body, "Hello from OpenAI fake") {
		t.Fatalf("status %d body %s", status, body)
	}
	if got := waitEvent(t, events, "request"); got.Request == nil || got.Request.Model != "gpt-4o" {
		t.Fatalf("request event %+v", got)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The spend row was flushed by Close: a fresh Core over the same files sees it.
	c2 := openTestCore(t, e, nil, nil)
	rows, err := c2.Store().RecentRequests(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Model != "gpt-4o" || rows[0].Status != 200 {
		t.Fatalf("spend rows %+v", rows)
	}
	if c2.ClientKey() != c.ClientKey() {
		t.Fatal("the generated client key changed between runs")
	}
}

func waitEvent(t testing.TB, ch <-chan Event, kind string) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("event channel closed while waiting for %q", kind)
			}
			if e.Kind == kind {
				return e
			}
		case <-ctx.Done():
			t.Fatalf("no %q event", kind)
		}
	}
}

var _ = bytes.NewBuffer
var _ = errors.New
var _ = config.Default
