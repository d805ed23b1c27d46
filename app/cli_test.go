package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest/oauthfake"
)

// cli runs a command with output captured and the test env's config and data dir.
func cli(t *testing.T, e testEnv, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	vars := map[string]string{"CLIPROXY_CONFIG": e.configPath, EnvDataDir: e.dataDir}
	env := Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] }}
	if stdin != "" {
		env.Stdin = strings.NewReader(stdin)
	}
	code = RunCommand(args, env)
	return code, out.String(), errb.String()
}

func TestCLIKeys(t *testing.T) {
	e := newTestEnv(t, "")
	code, out, errs := cli(t, e, "", "keys", "create", "--name", "ci bot", "--budget", "5", "--period", "monthly",
		"--models", "gpt-*,claude-sonnet-4-5", "--rpm", "60", "--expires", "30d")
	if code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errs)
	}
	plain := regexp.MustCompile(`sk-cp-[0-9a-f]{64}`).FindString(out)
	id := regexp.MustCompile(`vk_[0-9a-f]+`).FindString(out)
	if plain == "" || id == "" {
		t.Fatalf("create printed no key: %s", out)
	}
	code, out, _ = cli(t, e, "", "keys", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "ci bot") || !strings.Contains(out, "$5.00/monthly") ||
		!strings.Contains(out, "active") {
		t.Fatalf("list: %d %s", code, out)
	}
	if strings.Contains(out, plain) {
		t.Fatal("list shows the plaintext key")
	}
	if code, out, errs = cli(t, e, "", "keys", "revoke", id); code != 0 || !strings.Contains(out, "Revoked") {
		t.Fatalf("revoke: %d %s %s", code, out, errs)
	}
	if _, out, _ = cli(t, e, "", "keys"); !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke: %s", out)
	}
	if code, _, errs = cli(t, e, "", "keys", "revoke", "vk_nope"); code != 1 || !strings.Contains(errs, "keys list") {
		t.Fatalf("revoke unknown: %d %s", code, errs)
	}
	if code, _, errs = cli(t, e, "", "keys", "create"); code != 2 || !strings.Contains(errs, "--name") {
		t.Fatalf("create without name: %d %s", code, errs)
	}
	if code, _, errs = cli(t, e, "", "keys", "create", "--name", "x", "--period", "hourly"); code != 1 || !strings.Contains(errs, "hourly") {
		t.Fatalf("bad period: %d %s", code, errs)
	}
}

func TestCLIAccountsAndImport(t *testing.T) {
	e := newTestEnv(t, "")
	code, out, _ := cli(t, e, "", "accounts", "list")
	if code != 0 || !strings.Contains(out, "No accounts") {
		t.Fatalf("empty list: %d %s", code, out)
	}
	code, out, errs := cli(t, e, "", "import", "cliproxyapi", filepath.Join("testdata", "cliproxyapi"))
	if code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	for _, want := range []string{
		"imported  claude-user@example.com.json: Claude Code account user@example.com",
		"imported  codex-user@example.com-plus.json: ChatGPT (Codex) account user@example.com",
		"imported  gemini-user@example.com-fake-project-123.json: Gemini CLI (Code Assist) account user@example.com",
		"imported  kiro-builder-id.json: Kiro (AWS Builder ID) account kiro@example.com",
		"imported  copilot-octocat.json: GitHub Copilot account octocat",
		"imported  qwen-user@example.com.json: Qwen account qwen@example.com as qwen-",
		"(disabled, as it was in CLIProxyAPI)",
		"skipped   iflow-someone.json: type iflow is not supported",
		"skipped   claude-no-refresh.json: no refresh_token",
		"skipped   broken.json: not a CLIProxyAPI auth file",
		"6 imported, 3 skipped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "notes.txt") || strings.Contains(out, "fixture-access") {
		t.Fatalf("import output: %s", out)
	}

	c := openTestCore(t, e, nil, nil)
	accounts := c.Accounts()
	if len(accounts) != 6 {
		t.Fatalf("%d accounts: %+v", len(accounts), accounts)
	}
	byProvider := map[string]AccountInfo{}
	for _, a := range accounts {
		byProvider[a.Provider] = a
	}
	cred, err := loadCredential(c.keystore(), byProvider["gemini-cli"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Token.AccessToken != "ya29.fixture-access" || cred.Token.RefreshToken != "1//fixture-refresh" ||
		cred.Token.Extra[oauth.ExtraProjectID] != "fake-project-123" || cred.Token.Expiry.IsZero() {
		t.Fatalf("gemini credential %+v", cred.Token)
	}
	cred, err = loadCredential(c.keystore(), byProvider["kiro"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Token.Extra[oauth.ExtraAuthMethod] != oauth.KiroAuthBuilderID || cred.Token.Extra[oauth.ExtraClientID] != "cid-fixture" {
		t.Fatalf("kiro credential extras %v", cred.Token.Extra)
	}
	cred, err = loadCredential(c.keystore(), byProvider["copilot"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Token.RefreshToken != "gho_fixturegithubtoken" || cred.Token.AccessToken != "" {
		t.Fatalf("copilot credential %+v", cred.Token)
	}
	if !byProvider["qwen"].Disabled {
		t.Fatal("the disabled qwen file was imported enabled")
	}
	_ = c.Close(context.Background())

	// Importing again replaces rather than duplicates.
	if code, _, _ = cli(t, e, "", "import", "cliproxyapi", filepath.Join("testdata", "cliproxyapi")); code != 0 {
		t.Fatal("second import failed")
	}
	code, out, _ = cli(t, e, "", "accounts", "list")
	if code != 0 || strings.Count(out, "\n") != 7 || !strings.Contains(out, "disabled") || !strings.Contains(out, "octocat") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if strings.Contains(out, "fixture") {
		t.Fatalf("list shows a secret:\n%s", out)
	}

	id := byProvider["claude-code"].ID
	if code, out, _ = cli(t, e, "", "accounts", "disable", id); code != 0 || !strings.Contains(out, "Disabled Claude Code account user@example.com") {
		t.Fatalf("disable: %d %s", code, out)
	}
	if code, out, _ = cli(t, e, "", "accounts", "enable", id); code != 0 || !strings.Contains(out, "Enabled") {
		t.Fatalf("enable: %d %s", code, out)
	}
	if code, out, _ = cli(t, e, "", "accounts", "remove", id); code != 0 || !strings.Contains(out, "Removed") {
		t.Fatalf("remove: %d %s", code, out)
	}
	if code, _, errs = cli(t, e, "", "accounts", "remove", id); code != 1 || !strings.Contains(errs, "accounts list") {
		t.Fatalf("remove again: %d %s", code, errs)
	}
	if code, _, errs = cli(t, e, "", "import", "cliproxyapi", filepath.Join(e.dir, "missing")); code != 1 || !strings.Contains(errs, "missing") {
		t.Fatalf("import from a missing folder: %d %s", code, errs)
	}
}

func TestCLIConfigCheckAndUsage(t *testing.T) {
	e := newTestEnv(t, "[routing]\nstrategy = \"round-robin\"\n")
	if code, out, _ := cli(t, e, "", "config", "check", e.configPath); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("check: %d %s", code, out)
	}
	bad := filepath.Join(e.dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("port = 0\n[routing]\nstrategy = \"sometimes\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := cli(t, e, "", "config", "check", bad)
	if code != 1 || !strings.Contains(out, "port") || !strings.Contains(out, "routing.strategy") {
		t.Fatalf("bad check: %d %s", code, out)
	}
	_, out, _ = cli(t, e, "", "help")
	for _, name := range []string{"serve", "login", "accounts", "keys", "import", "config"} {
		if !strings.Contains(out, "  "+name+" ") {
			t.Errorf("help lacks %s:\n%s", name, out)
		}
	}
	if code, _, errs := cli(t, e, "", "login"); code != 2 || !strings.Contains(errs, "claude-code") {
		t.Fatalf("login without provider: %d %s", code, errs)
	}
	if code, _, errs := cli(t, e, "", "login", "nope"); code != 1 || !strings.Contains(errs, "unknown provider") {
		t.Fatalf("login unknown: %d %s", code, errs)
	}
}

func TestCLIAccountsMigrateBetweenBackends(t *testing.T) {
	keyring.MockInit() // an in-memory keychain for this process
	e := newTestEnv(t, "[keystore]\nbackend = \"file\" # where credentials live\n")
	if code, _, errs := cli(t, e, "", "import", "cliproxyapi", filepath.Join("testdata", "cliproxyapi")); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := cli(t, e, "", "accounts", "migrate", "--to", "keychain")
	if code != 0 || !strings.Contains(out, "from the file store to the keychain store") || !strings.Contains(out, `backend = "keychain"`) {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	b, _ := os.ReadFile(e.configPath)
	if !strings.Contains(string(b), "backend = \"keychain\"  # where credentials live") {
		t.Fatalf("config after migrate:\n%s", b)
	}
	c := openTestCore(t, e, nil, nil)
	if c.KeystoreBackend() != "keychain" || len(c.Accounts()) != 6 {
		t.Fatalf("backend %s, %d accounts", c.KeystoreBackend(), len(c.Accounts()))
	}
	for _, a := range c.Accounts() {
		if _, err := loadCredential(c.keystore(), a.ID); err != nil {
			t.Fatalf("credential of %s after migrate: %v", a.ID, err)
		}
	}
	// The running core follows a settings change back to files, credentials included.
	s := c.Settings()
	s.KeystoreBackend = "file"
	if err := c.ApplySettings(s); err != nil {
		t.Fatal(err)
	}
	if c.KeystoreBackend() != "file" {
		t.Fatalf("backend %s after ApplySettings", c.KeystoreBackend())
	}
	for _, a := range c.Accounts() {
		if _, err := loadCredential(c.keystore(), a.ID); err != nil {
			t.Fatalf("credential of %s after switching back: %v", a.ID, err)
		}
	}
}

func TestCLIAccountsMigrate(t *testing.T) {
	e := newTestEnv(t, "[keystore]\nbackend = \"file\" # where credentials live\n")
	if code, _, errs := cli(t, e, "", "import", "cliproxyapi", filepath.Join("testdata", "cliproxyapi")); code != 0 {
		t.Fatal(errs)
	}
	code, out, _ := cli(t, e, "", "accounts", "migrate", "--to", "file")
	if code != 0 || !strings.Contains(out, "already") {
		t.Fatalf("migrate to the same backend: %d %s", code, out)
	}
	if code, _, errs := cli(t, e, "", "accounts", "migrate", "--to", "cloud"); code != 2 || !strings.Contains(errs, "migrate --to") {
		t.Fatalf("bad target: %d %s", code, errs)
	}
}

func TestCLILoginDeviceAndPastedRedirect(t *testing.T) {
	fake := oauthfake.New(nil)
	t.Cleanup(fake.Close)
	e := newTestEnv(t, providersTOML(fake, "http://127.0.0.1:1"))
	c := openTestCore(t, e, nil, func(o *CoreOptions) { o.LoginSleep = instantSleep })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var out, errb bytes.Buffer
	if code := loginCLI(ctx, c, "copilot", true, Env{Stdout: &out, Stderr: &errb}); code != 0 {
		t.Fatalf("device login: %d %s %s", code, out.String(), errb.String())
	}
	for _, want := range []string{"enter the code", oauthfake.DeviceUserCode, "Logged in to GitHub Copilot as octocat"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// Browser login: the user pastes the address the browser ended on.
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var stdout syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- loginCLI(ctx, c, "claude-code", true, Env{Stdout: &stdout, Stderr: io.Discard, Stdin: stdinR})
	}()
	var authURL string
	for authURL == "" {
		authURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+/claude/oauth/authorize\S+`).FindString(stdout.String())
		if authURL == "" {
			select {
			case code := <-done:
				t.Fatalf("login ended early with %d: %s", code, stdout.String())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	fmt.Fprintf(stdinW, "\nnot-the-state#wrong\n%s\n", resp.Header.Get("Location"))
	if code := <-done; code != 0 {
		t.Fatalf("pasted login: %d %s", code, stdout.String())
	}
	if !strings.Contains(stdout.String(), "paste the address") || !strings.Contains(stdout.String(), "Logged in to Claude Code as "+oauthfake.Email) {
		t.Fatalf("output:\n%s", stdout.String())
	}
}

func TestIsGUI(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"--demo"}, true},
		{[]string{"--config", "/etc/cliproxy.toml"}, true},
		{[]string{"-config", "c.toml", "--verbose"}, true},
		{[]string{"--config=c.toml"}, true},
		{[]string{"serve", "--config", "c.toml"}, false},
		{[]string{"--config", "c.toml", "serve"}, false},
		{[]string{"--help"}, false},
		{[]string{"version"}, false},
	}
	for _, tc := range cases {
		if got := IsGUI(tc.args); got != tc.want {
			t.Errorf("IsGUI(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
