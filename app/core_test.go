package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/server"
	"github.com/cliproxy/cliproxy/proxycore/spend"
)

// secretGuard is a slog handler that fails the test when a log line carries a known secret. Lines are
// kept, so secrets learned after a line was logged are checked too when the test ends.
type secretGuard struct {
	t     testing.TB
	state *guardState
	attrs []slog.Attr
}

type guardState struct {
	mu      sync.Mutex // guards secrets and lines
	secrets []string
	lines   []string
}

func (s *guardState) leaks(line string) bool {
	for _, secret := range s.secrets {
		if strings.Contains(line, secret) {
			return true
		}
	}
	return false
}

func newSecretGuard(t testing.TB) (*slog.Logger, func(string)) {
	g := &secretGuard{t: t, state: &guardState{}}
	t.Cleanup(func() {
		g.state.mu.Lock()
		defer g.state.mu.Unlock()
		for _, line := range g.state.lines {
			if g.state.leaks(line) {
				t.Errorf("a log line contains a secret: %q", line)
			}
		}
	})
	return slog.New(g), func(secret string) {
		if secret == "" {
			return
		}
		g.state.mu.Lock()
		g.state.secrets = append(g.state.secrets, secret)
		g.state.mu.Unlock()
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
	g.state.mu.Lock()
	defer g.state.mu.Unlock()
	g.state.lines = append(g.state.lines, line)
	if g.state.leaks(line) {
		g.t.Errorf("a log line contains a secret: %q", line)
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

// KeyParamsForTest is a key with a total budget.
func KeyParamsForTest(name string, budget float64) spend.KeyParams {
	return spend.KeyParams{Name: name, BudgetUSD: budget}
}

func TestClientKeyMovesFromOldFileIntoKeystore(t *testing.T) {
	e := newTestEnv(t, "")
	old := filepath.Join(filepath.Dir(e.configPath), "client-key")
	const legacy = "sk-cliproxy-0123456789abcdef0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(old, []byte(legacy+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := openTestCore(t, e, nil, nil)
	if c.ClientKey() != legacy {
		t.Fatalf("client key %q, want the one from the old file", c.ClientKey())
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old key file is still there: %v", err)
	}
	b, err := c.keystore().Get(clientKeyID)
	if err != nil || string(b) != legacy {
		t.Fatalf("keystore holds %q, %v", b, err)
	}
	if c.KeystoreBackend() != "file" {
		t.Fatalf("backend %q with a data dir", c.KeystoreBackend())
	}
	_ = c.Close(context.Background())
	if c2 := openTestCore(t, e, nil, nil); c2.ClientKey() != legacy {
		t.Fatal("the key changed after the migration")
	}
	// Static api-keys win for ClientKey.
	e2 := newTestEnv(t, "api-keys = [\"sk-static-one\", \"sk-static-two\"]\n")
	if c3 := openTestCore(t, e2, nil, nil); c3.ClientKey() != "sk-static-one" {
		t.Fatalf("ClientKey %q with api-keys", c3.ClientKey())
	}
}

func TestPauseResumeAndBusyPort(t *testing.T) {
	e := newTestEnv(t, "")
	c := openTestCore(t, e, nil, nil)
	if err := c.Pause(); err != nil { // before Start: nothing to do
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	live := func() bool {
		resp, err := http.Get(c.BaseURL() + "/health/liveness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if !live() || !c.Running() {
		t.Fatal("not serving after Start")
	}
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	if live() || !c.Paused() || c.Running() {
		t.Fatal("still serving while paused")
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if !live() || c.Paused() {
		t.Fatal("not serving after Resume")
	}

	// A second core on the same port fails with an error naming the port.
	c2 := openTestCore(t, e, nil, nil)
	err := c2.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(c.Config().Port)) {
		t.Fatalf("busy port: %v", err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Resume(); err == nil {
		t.Fatal("Resume after Close succeeded")
	}
}

func TestApplySettingsPersistsAndAppliesLive(t *testing.T) {
	e := newTestEnv(t, "# my proxy\nhost = \"127.0.0.1\" # loopback only\n\n[routing]\nstrategy = \"fill-first\" # default\nprefer-healthy = false\n\n[[openai]]\napi-key = \"sk-x\"\n")
	c := openTestCore(t, e, nil, nil)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := c.Settings()
	if s.Strategy != "fill-first" || !s.HealthAware || s.KeystoreBackend != "auto" {
		t.Fatalf("settings %+v", s)
	}
	newPort := freePort(t)
	s.Port, s.Strategy, s.HealthAware = newPort, "round-robin", false
	if err := c.ApplySettings(s); err != nil {
		t.Fatal(err)
	}
	if c.Server().Router().Strategy() != "round-robin" || c.Config().Routing.HealthAware {
		t.Fatal("strategy not applied live")
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d", newPort); c.BaseURL() != want {
		t.Fatalf("BaseURL %s, want %s", c.BaseURL(), want)
	}
	resp, err := http.Get(c.BaseURL() + "/health/liveness")
	if err != nil {
		t.Fatalf("not serving on the new port: %v", err)
	}
	resp.Body.Close()
	b, err := os.ReadFile(e.configPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"# my proxy", "# loopback only", fmt.Sprintf("port = %d\n", newPort),
		"strategy = \"round-robin\"  # default", "prefer-healthy = false", "health-aware = false", "[[openai]]",
		"[keystore]\nbackend = \"auto\""} {
		if !strings.Contains(text, want) {
			t.Errorf("config file lacks %q:\n%s", want, text)
		}
	}
	if cfg, err := config.Load(e.configPath, true); err != nil || cfg.Port != newPort || cfg.Routing.Strategy != "round-robin" {
		t.Fatalf("reloaded file: %v %+v", err, cfg)
	}

	bad := s
	bad.Strategy = "sometimes"
	if err := c.ApplySettings(bad); err == nil || !strings.Contains(err.Error(), "routing.strategy") {
		t.Fatalf("invalid strategy: %v", err)
	}
	// A port taken by something else leaves the proxy where it was.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := s
	busy.Port = ln.Addr().(*net.TCPAddr).Port
	if err := c.ApplySettings(busy); err == nil || !strings.Contains(err.Error(), fmt.Sprint(busy.Port)) {
		t.Fatalf("busy port: %v", err)
	}
	if c.Config().Port != newPort || !strings.HasSuffix(c.BaseURL(), fmt.Sprint(newPort)) {
		t.Fatalf("port after a failed move: %d %s", c.Config().Port, c.BaseURL())
	}
}

func TestApplySettingsCreatesMissingFileAndSwitchesKeystore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "config.toml")
	cfg := config.Default()
	cfg.Port = freePort(t)
	c := openTestCore(t, testEnv{configPath: path, dataDir: filepath.Join(dir, "data")}, nil, func(o *CoreOptions) { o.Config = cfg })
	s := c.Settings()
	s.KeystoreBackend = "file"
	if err := c.ApplySettings(s); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(path, true)
	if err != nil || got.Keystore.Backend != "file" || got.Port != cfg.Port {
		t.Fatalf("created file: %v %+v", err, got)
	}
}

func TestSetTOMLKey(t *testing.T) {
	for _, tc := range []struct {
		name, doc, table, key, value, want string
	}{
		{"top level replace keeps comment", "port = 1 # p\n[a]\nx = 1\n", "", "port", "2", "port = 2  # p\n[a]\nx = 1\n"},
		{"top level insert before first table", "# c\nhost = \"h\"\n\n[a]\n", "", "port", "2", "# c\nhost = \"h\"\nport = 2\n\n[a]\n"},
		{"table key replace", "[routing]\nstrategy = \"a\"\n[b]\nstrategy = \"z\"\n", "routing", "strategy", `"b"`, "[routing]\nstrategy = \"b\"\n[b]\nstrategy = \"z\"\n"},
		{"table key insert", "[routing]\nx = 1\n", "routing", "health-aware", "true", "[routing]\nhealth-aware = true\nx = 1\n"},
		{"missing table appended", "port = 1\n", "keystore", "backend", `"file"`, "port = 1\n\n[keystore]\nbackend = \"file\"\n"},
		{"commented key ignored", "[routing]\n# strategy = \"a\"\n", "routing", "strategy", `"b"`, "[routing]\nstrategy = \"b\"\n# strategy = \"a\"\n"},
		{"hash inside string", "[k]\nbackend = \"a#b\" # c\n", "k", "backend", `"x"`, "[k]\nbackend = \"x\"  # c\n"},
		{"array table not matched", "[[routing]]\nstrategy = \"a\"\n", "routing", "strategy", `"b"`, "[[routing]]\nstrategy = \"a\"\n\n[routing]\nstrategy = \"b\"\n"},
		{"empty document", "", "", "port", "3", "port = 3\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := setTOMLKey(tc.doc, tc.table, tc.key, tc.value); got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestEventsForHealthBudgetAndOtherProcesses(t *testing.T) {
	e := newTestEnv(t, "")
	c := openTestCore(t, e, nil, nil)
	events, unsubscribe := c.Subscribe()
	defer unsubscribe()

	c.Server().Router().MarkError("openai-9", "the key was rejected")
	c.checkHealth()
	if ev := waitEvent(t, events, "health"); ev.Key != "openai-9" || !strings.Contains(ev.Title, "failing") || ev.Body != "the key was rejected" {
		t.Fatalf("health event %+v", ev)
	}
	c.Server().Router().ClearError("openai-9")
	c.checkHealth()
	if ev := waitEvent(t, events, "health"); !strings.Contains(ev.Title, "HEALTHY again") {
		t.Fatalf("recovery event %+v", ev)
	}

	ctx := context.Background()
	_, key, err := c.Keys().Create(ctx, KeyParamsForTest("budgeted", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Keys().Charge(key.ID, 0.85); err != nil {
		t.Fatal(err)
	}
	rec := recorder{c}
	rec.Record(&server.Record{KeyID: key.ID, Model: "gpt-4o", Fallback: "gpt-4o-mini"})
	rec.Record(&server.Record{KeyID: key.ID, Model: "gpt-4o"})
	var kinds []string
	for len(kinds) < 4 {
		ev := <-events
		kinds = append(kinds, ev.Kind)
		if ev.Kind == "budget" && !strings.Contains(ev.Title, "80%") {
			t.Fatalf("budget event %+v", ev)
		}
	}
	if strings.Join(kinds, ",") != "request,fallback,budget,request" {
		t.Fatalf("events %v (the 80%% event must come once)", kinds)
	}
	_ = c.Keys().Charge(key.ID, 0.2)
	rec.Record(&server.Record{KeyID: key.ID})
	waitEvent(t, events, "request")
	if ev := waitEvent(t, events, "budget"); !strings.Contains(ev.Title, "reached") {
		t.Fatalf("100%% event %+v", ev)
	}

	// An account added by another process (a CLI command) appears after a sync.
	other := openTestCore(t, e, nil, nil)
	if _, err := other.ImportAccount(ctx, ImportedAccount{Provider: oauth.Qwen, Label: "q@example.com",
		Token: oauth.Token{AccessToken: "a", RefreshToken: "r"}}); err != nil {
		t.Fatal(err)
	}
	c.syncAccounts(ctx)
	if ev := waitEvent(t, events, "accounts"); ev.Title != "Accounts changed" {
		t.Fatalf("accounts event %+v", ev)
	}
	if got := c.Accounts(); len(got) != 1 || got[0].Label != "q@example.com" {
		t.Fatalf("accounts after sync %+v", got)
	}
	unsubscribe()
	unsubscribe()
	if _, ok := <-events; ok {
		t.Fatal("channel open after unsubscribe")
	}
}

func TestHealthSamplesAndPrune(t *testing.T) {
	e := newTestEnv(t, "")
	c := openTestCore(t, e, nil, nil)
	ctx := context.Background()
	c.Server().Router().MarkError("openai-1", "x")
	c.sampleHealth(ctx)
	now := time.Now()
	got, err := c.Store().HealthSamples(ctx, "openai-1", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil || len(got) != 1 || got[0].State != "ERROR" {
		t.Fatalf("samples %+v %v", got, err)
	}
	c.prune(ctx) // recent samples survive
	if got, _ := c.Store().HealthSamples(ctx, "openai-1", now.Add(-time.Hour), now.Add(time.Hour)); len(got) != 1 {
		t.Fatal("prune removed a fresh sample")
	}
}

func TestConfigHotReload(t *testing.T) {
	e := newTestEnv(t, "")
	c := openTestCore(t, e, nil, nil)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	events, unsubscribe := c.Subscribe()
	defer unsubscribe()
	b, _ := os.ReadFile(e.configPath)
	if err := os.WriteFile(e.configPath, append(b, []byte("[routing]\nstrategy = \"least-busy\"\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, "config")
	if c.Config().Routing.Strategy != "least-busy" || c.Server().Router().Strategy() != "least-busy" {
		t.Fatalf("strategy %q after reload", c.Config().Routing.Strategy)
	}
}

func TestEveryLoginProviderHasAnExecutor(t *testing.T) {
	c := openTestCore(t, newTestEnv(t, ""), nil, nil)
	providers := c.LoginProviders()
	if len(providers) != 6 {
		t.Fatalf("providers %+v", providers)
	}
	for _, p := range providers {
		if _, ok := defaultFactories()[p.ID]; !ok {
			t.Errorf("no executor for %s", p.ID)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer goroutine and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServePrintsURLAndKeyAndStopsOnSignal(t *testing.T) {
	e := newTestEnv(t, "")
	var stderr syncBuffer
	env := Env{Stdout: io.Discard, Stderr: &stderr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	log := slog.New(slog.NewTextHandler(&stderr, nil))
	go func() {
		done <- serveCore(ctx, CoreOptions{ConfigFlag: e.configPath, DataDir: e.dataDir, Logger: log}, env)
	}()
	// Wait until it serves: the liveness probe answers once the listener is up.
	b, _ := os.ReadFile(e.configPath)
	port := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "port ="))
	url := "http://127.0.0.1:" + port
	for {
		resp, err := http.Get(url + "/health/liveness")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel() // what SIGINT does
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stderr.String()
	key := regexp.MustCompile(`client API key: (sk-cliproxy-[0-9a-f]+)`).FindStringSubmatch(out)
	if !strings.Contains(out, "listening on "+url) || key == nil || !strings.Contains(out, "cliproxy: stopped") {
		t.Fatalf("output:\n%s", out)
	}
	if strings.Count(out, key[1]) != 1 {
		t.Fatalf("the client key appears in logs too:\n%s", out)
	}
}

// TestLoginElsewhereClearsTheAccountsError: an account the app knows is in ERROR (its refresh failed for
// good); a CLI command in another process logs it in again. The app's next sync notices the new login
// and ends the error, so the account serves again without a restart.
func TestLoginElsewhereClearsTheAccountsError(t *testing.T) {
	e := newTestEnv(t, "")
	c := openTestCore(t, e, nil, nil)
	ctx := context.Background()
	cli := openTestCore(t, e, nil, func(o *CoreOptions) { o.Clock = clock.NewFake(time.Now().Add(time.Hour)) })
	login := func(token string) string {
		info, err := cli.ImportAccount(ctx, ImportedAccount{Provider: oauth.Qwen, Label: "q@example.com",
			Token: oauth.Token{AccessToken: token, RefreshToken: "r-" + token}})
		if err != nil {
			t.Fatal(err)
		}
		return info.ID
	}
	id := login("first")
	c.syncAccounts(ctx)
	c.Server().Router().MarkError(id, "log in to Qwen again: the refresh token was revoked")

	c.syncAccounts(ctx) // nothing changed: the error stays
	if _, marked := c.Server().Router().ErrorMessage(id); !marked {
		t.Fatal("a sync without a new login cleared the error")
	}
	cli.clk.(*clock.Fake).Advance(time.Minute)
	if login("second") != id {
		t.Fatal("the second login made another account")
	}
	c.syncAccounts(ctx)
	if msg, marked := c.Server().Router().ErrorMessage(id); marked {
		t.Fatalf("after a login elsewhere the account is still marked: %q", msg)
	}
}
