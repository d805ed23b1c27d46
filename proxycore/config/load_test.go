package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mapEnv returns a lookupFunc over a fixed map, so tests need not touch the process environment.
func mapEnv(m map[string]string) lookupFunc {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestExampleFileEqualsDefault(t *testing.T) {
	t.Parallel()
	cfg, err := parse(readTestdata(t, "config.example.toml"), "config.example.toml", mapEnv(nil))
	if err != nil {
		t.Fatalf("parse example: %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("example differs from Default():\n got %+v\nwant %+v", cfg, Default())
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Fatalf("warnings: %v", w)
	}
}

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	if got := Default().Cache.MaxBytesMB; got != 64 {
		t.Fatalf("cache.max-bytes-mb default = %d, want 64", got)
	}
}

func TestModelsForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []Model
	}{
		{"strings", `models = ["a", "b"]`, []Model{{Name: "a"}, {Name: "b"}}},
		{"inline tables", `models = [{ name = "up", alias = "cl" }]`, []Model{{Name: "up", Alias: "cl"}}},
		{"mixed", `models = ["a", { name = "b", alias = "c" }, 'd']`, []Model{{Name: "a"}, {Name: "b", Alias: "c"}, {Name: "d"}}},
		{"table without alias", `models = [{ name = "x" }]`, []Model{{Name: "x"}}},
		{"array of tables", "[[openai.models]]\nname = \"t\"\nalias = \"u\"\n[[openai.models]]\nname = \"v\"", []Model{{Name: "t", Alias: "u"}, {Name: "v"}}},
		{"env in table", `models = [{ name = "os.environ/UP_MODEL", alias = "os.environ/CL_MODEL" }]`, []Model{{Name: "env-up", Alias: "env-cl"}}},
		{"env in string", `models = ["os.environ/UP_MODEL"]`, []Model{{Name: "env-up"}}},
	}
	env := mapEnv(map[string]string{"UP_MODEL": "env-up", "CL_MODEL": "env-cl"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := "[[openai]]\napi-key = \"k\"\n" + tt.toml + "\n"
			cfg, err := parse([]byte(doc), "m.toml", env)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.OpenAI[0].Models; !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("models = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := (Model{Name: "up", Alias: "cl"}).ClientName(); got != "cl" {
		t.Fatalf("ClientName with alias = %q", got)
	}
	if got := (Model{Name: "up"}).ClientName(); got != "up" {
		t.Fatalf("ClientName without alias = %q", got)
	}
}

func TestModelsBadEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, toml, want string
	}{
		{"empty string", `models = ["ok", ""]`, "openai[0].models[1].name: must not be empty"},
		{"not a list", `models = "a"`, "key openai.models: expected an array, found string"},
		{"table without name", `models = [{ alias = "x" }]`, "openai[0].models[0].name: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse([]byte("[[openai]]\n"+tt.toml+"\n"), "m.toml", mapEnv(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestStrictMode(t *testing.T) {
	t.Parallel()
	doc := `strict-config = true
port = 8317
bogus = 1

[cache]
max-entrys = 5

[[openai]]
api-key = "k"
api_key = "typo"

[nosuch.table]
x = 1
`
	_, err := parse([]byte(doc), "s.toml", mapEnv(nil))
	if err == nil {
		t.Fatal("want an error in strict mode")
	}
	var unknown []*UnknownKeyError
	for _, e := range unjoin(err) {
		var u *UnknownKeyError
		if !errors.As(e, &u) {
			t.Fatalf("unexpected error %T: %v", e, e)
		}
		unknown = append(unknown, u)
	}
	want := []string{
		"s.toml:3:1: unknown key bogus",
		"s.toml:6:1: unknown key cache.max-entrys",
		"s.toml:10:1: unknown key openai[0].api_key",
		"s.toml:12:2: unknown key nosuch.table",
	}
	if len(unknown) != len(want) {
		t.Fatalf("got %d unknown keys (%v), want %d", len(unknown), err, len(want))
	}
	for i, u := range unknown {
		if u.Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, u.Error(), want[i])
		}
	}
}

func TestStrictModeFromEnvAndWarnings(t *testing.T) {
	t.Parallel()
	doc := []byte("port = 8317\nbogus = 1\n")
	cfg, err := parse(doc, "w.toml", mapEnv(nil))
	if err != nil {
		t.Fatalf("non-strict parse: %v", err)
	}
	if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "w.toml:2:1: unknown key bogus") {
		t.Fatalf("warnings = %q", w)
	}
	for _, v := range []string{"1", "true"} {
		_, err = parse(doc, "w.toml", mapEnv(map[string]string{EnvStrictConfig: v}))
		var u *UnknownKeyError
		if !errors.As(err, &u) || u.Key != "bogus" || u.Line != 2 {
			t.Fatalf("%s=%s: err = %v, want unknown key bogus at line 2", EnvStrictConfig, v, err)
		}
	}
	if _, err := parse(doc, "w.toml", mapEnv(map[string]string{EnvStrictConfig: "0"})); err != nil {
		t.Fatalf("%s=0 must not be strict: %v", EnvStrictConfig, err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, want string
	}{
		{"missing value", "host = \"x\"\nport = \n", "e.toml:2:8:"},
		{"wrong type", "\n\nport = \"abc\"\n", "e.toml:3:8: key port: expected an integer, found string"},
		{"wrong list type", "api-keys = [1]\n", "e.toml:1:13: key api-keys: expected a string, found integer"},
		{"list for table", "[[openai]]\nheaders = [1]\n", "e.toml:2:11: key openai.headers: expected a table, found array"},
		{"string for list", "[retry-policy]\nretry-on = \"429\"\n", "e.toml:2:12: key retry-policy.retry-on: expected an array, found string"},
		{"int for bool", "[cache]\nenable = 1\n", "e.toml:2:10: key cache.enable: expected a boolean, found integer"},
		{"string for float", "[retry-policy]\njitter = \"x\"\n", "e.toml:2:10: key retry-policy.jitter: expected a number, found string"},
		{"duplicate key", "port = 1\nport = 2\n", "e.toml:2:1:"},
		{"unterminated table", "[cache\n", "e.toml:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse([]byte(tt.doc), "e.toml", mapEnv(nil))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %T %v, want *SyntaxError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestSyntaxErrorDoesNotEchoSecrets(t *testing.T) {
	t.Parallel()
	doc := "[[openai]]\napi-key = \"sk-very-secret-value-1234\"\napi-key = \"sk-very-secret-value-1234\"\n"
	_, err := parse([]byte(doc), "e.toml", mapEnv(nil))
	if err == nil || strings.Contains(err.Error(), "sk-very-secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Parallel()
	doc := `api-keys = ["plain", "os.environ/K1"]
proxy-url = "os.environ/PROXY"
[keystore]
encryption-key = "os.environ/ENC"
[[openai]]
api-key = "os.environ/OPENAI_API_KEY"
headers = { X-Org = "os.environ/ORG", Authorization = "os.environ/AUTH" }
[[openai-compatible]]
name = "os.environ/COMPAT_NAME"
base-url = "os.environ/COMPAT_URL"
[providers.codex]
base-url = "os.environ/CODEX_URL"
[[fallback-chains]]
model = "a"
fallbacks = ["os.environ/FB"]
`
	env := mapEnv(map[string]string{
		"K1": "key-one", "PROXY": "http://127.0.0.1:3128", "ENC": "enc", "OPENAI_API_KEY": "sk-o",
		"ORG": "org-9", "AUTH": "Bearer t", "COMPAT_NAME": "local", "COMPAT_URL": "http://127.0.0.1:1/v1",
		"CODEX_URL": "http://127.0.0.1:2", "FB": "b",
	})
	cfg, err := parse([]byte(doc), "env.toml", env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"api-keys[0]", cfg.APIKeys[0], "plain"},
		{"api-keys[1]", cfg.APIKeys[1], "key-one"},
		{"proxy-url", cfg.ProxyURL, "http://127.0.0.1:3128"},
		{"keystore.encryption-key", cfg.Keystore.EncryptionKey, "enc"},
		{"openai[0].api-key", cfg.OpenAI[0].APIKey, "sk-o"},
		{"openai[0].headers.X-Org", cfg.OpenAI[0].Headers["X-Org"], "org-9"},
		{"openai[0].headers.Authorization", cfg.OpenAI[0].Headers["Authorization"], "Bearer t"},
		{"openai-compatible[0].name", cfg.OpenAICompatible[0].Name, "local"},
		{"openai-compatible[0].base-url", cfg.OpenAICompatible[0].BaseURL, "http://127.0.0.1:1/v1"},
		{"providers.codex.base-url", cfg.Providers["codex"].BaseURL, "http://127.0.0.1:2"},
		{"fallback-chains[0].fallbacks[0]", cfg.FallbackChains[0].Fallbacks[0], "b"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestEnvErrors(t *testing.T) {
	t.Parallel()
	doc := `api-keys = ["os.environ/MISSING_CLIENT"]
[[openai]]
api-key = "os.environ/OPENAI_API_KEY"
headers = { X-Org = "os.environ/EMPTY_ORG" }
[providers.qwen]
token-url = "os.environ/bad-name!"
`
	_, err := parse([]byte(doc), "env.toml", mapEnv(map[string]string{"EMPTY_ORG": ""}))
	if err == nil {
		t.Fatal("want errors")
	}
	want := []string{
		"api-keys[0]: environment variable MISSING_CLIENT is not set",
		"openai[0].api-key: environment variable OPENAI_API_KEY is not set",
		"openai[0].headers.X-Org: environment variable EMPTY_ORG is empty",
		`providers.qwen.token-url: environment variable "bad-name!" is not a valid name`,
	}
	errs := unjoin(err)
	if len(errs) != len(want) {
		t.Fatalf("got %d errors:\n%v", len(errs), err)
	}
	for i, e := range errs {
		var ee *EnvError
		if !errors.As(e, &ee) || e.Error() != want[i] {
			t.Errorf("error %d = %v, want %q", i, e, want[i])
		}
	}
}

func TestLoadPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.toml")

	cfg, err := load(missing, false, mapEnv(nil))
	if err != nil || !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("missing default path: cfg=%v err=%v, want defaults", cfg, err)
	}
	if _, err := load(missing, true, mapEnv(nil)); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing explicit path: err = %v, want not-exist", err)
	}
	if cfg, err := load("", false, mapEnv(nil)); err != nil || cfg.Port != 8317 {
		t.Fatalf("empty default path: %v", err)
	}

	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("port = 9999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = load(good, true, mapEnv(nil))
	if err != nil || cfg.Port != 9999 {
		t.Fatalf("good file: port=%v err=%v", cfg, err)
	}

	invalid := filepath.Join(dir, "invalid.toml")
	if err := os.WriteFile(invalid, []byte("port = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(invalid, false, mapEnv(nil)); err == nil || !strings.Contains(err.Error(), "port: must be between") {
		t.Fatalf("invalid file: err = %v", err)
	}
}

func TestPublicLoadAndParseUseProcessEnv(t *testing.T) {
	t.Setenv("CLIPROXY_TEST_PUBLIC_KEY", "sk-public-0001")
	t.Setenv(EnvStrictConfig, "")
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte("api-keys = [\"os.environ/CLIPROXY_TEST_PUBLIC_KEY\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, true)
	if err != nil || cfg.APIKeys[0] != "sk-public-0001" {
		t.Fatalf("Load: %v %v", cfg, err)
	}
	if _, err := Parse([]byte("port = -1"), "p.toml"); err == nil {
		t.Fatal("Parse must validate")
	}
}

func TestResolvePath(t *testing.T) {
	t.Parallel()
	userDir := func() (string, error) { return "/home/u/.config", nil }
	noDir := func() (string, error) { return "", errors.New("no home") }
	tests := []struct {
		name         string
		flag         string
		env          map[string]string
		dir          func() (string, error)
		wantPath     string
		wantExplicit bool
	}{
		{"flag wins", "/etc/c.toml", map[string]string{EnvConfigPath: "/env.toml"}, userDir, "/etc/c.toml", true},
		{"env", "", map[string]string{EnvConfigPath: "/env.toml"}, userDir, "/env.toml", true},
		{"default", "", nil, userDir, filepath.Join("/home/u/.config", "cliproxy", "config.toml"), false},
		{"no user dir", "", nil, noDir, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, explicit := resolvePath(tt.flag, mapEnv(tt.env), tt.dir)
			if p != tt.wantPath || explicit != tt.wantExplicit {
				t.Fatalf("got (%q, %v), want (%q, %v)", p, explicit, tt.wantPath, tt.wantExplicit)
			}
		})
	}
	if p, explicit := ResolvePath("/x.toml"); p != "/x.toml" || !explicit {
		t.Fatalf("ResolvePath flag: %q %v", p, explicit)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name         string
		body         string
		wantWarnings int
		wantErrs     []string
	}{
		{"clean", "port = 8080\n", 0, nil},
		{"unknown key warns", "port = 8080\nextra = 1\n", 1, nil},
		{"strict unknown key errs", "strict-config = true\nextra = 1\n", 0, []string{"unknown key extra"}},
		{"all problems", "port = 0\nextra = 1\n[routing]\nstrategy = \"x\"\n[[openai]]\napi-key = \"os.environ/CHECK_NOPE\"\n",
			1, []string{"CHECK_NOPE is not set", "port: must be", "routing.strategy: must be"}},
		{"syntax", "port = = 1\n", 0, []string{":1:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			warnings, errs := check(write(tt.name+".toml", tt.body), mapEnv(nil))
			if len(warnings) != tt.wantWarnings {
				t.Errorf("warnings = %q, want %d", warnings, tt.wantWarnings)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("errs = %v, want %d", errs, len(tt.wantErrs))
			}
			for i, want := range tt.wantErrs {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("errs[%d] = %v, want it to contain %q", i, errs[i], want)
				}
			}
		})
	}
	if _, errs := Check(filepath.Join(dir, "absent.toml")); len(errs) != 1 {
		t.Fatalf("Check of a missing file: %v", errs)
	}
}

func TestDurationHelpers(t *testing.T) {
	t.Parallel()
	c := Default()
	checks := []struct {
		name      string
		got, want int64
	}{
		{"spend flush", int64(c.Database.SpendFlushInterval()), 500e6},
		{"cache ttl", int64(c.Cache.TTL()), 300e9},
		{"cache bytes", c.Cache.MaxBytes(), 64 << 20},
		{"window", int64(c.HealthTracking.Window()), 60e9},
		{"cleanup", int64(c.HealthTracking.Cleanup()), 300e9},
		{"probe", int64(c.Health.ProbeInterval()), 300e9},
		{"initial backoff", int64(c.RetryPolicy.InitialBackoff()), 500e6},
		{"max backoff", int64(c.RetryPolicy.MaxBackoff()), 8e9},
		{"keepalive", int64(c.Streaming.Keepalive()), 15e9},
		{"request bytes", c.Limits.MaxRequestBytes(), 20 << 20},
		{"response bytes", c.Limits.MaxResponseBytes(), 50 << 20},
		{"log body", c.RequestLog.MaxBodyBytes(), 64 << 10},
		{"retention", int64(c.RequestLog.Retention()), 7 * 24 * 3600e9},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %d, want %d", ch.name, ch.got, ch.want)
		}
	}
}

func TestStrictModeIndexedKeys(t *testing.T) {
	t.Parallel()
	doc := `strict-config = true
[[openai]]
api-key = "a"
[[openai]]
api-key = "b"
labl = "typo"
[[openai-compatible]]
name = "x"
[[openai-compatible]]
name = "y"
[[openai-compatible.models]]
name = "m1"
[[openai-compatible.models]]
name = "m2"
aliass = "typo"
[[pass-through.endpoints]]
path = "/a"
[[pass-through.endpoints]]
path = "/b"
provder = "openai"
[providers.codex]
base-ur = "http://x"
[[openai]]
models = [{ name = "a", als = "b" }]
`
	_, err := parse([]byte(doc), "i.toml", mapEnv(nil))
	var got []string
	for _, e := range unjoin(err) {
		got = append(got, e.Error())
	}
	want := []string{
		"i.toml:6:1: unknown key openai[1].labl",
		"i.toml:15:1: unknown key openai-compatible[1].models[1].aliass",
		"i.toml:20:1: unknown key pass-through.endpoints[1].provder",
		"i.toml:22:1: unknown key providers.codex.base-ur",
		// go-toml's key tracker drops the array name for keys inside inline tables; the line and column
		// still point at the key.
		"i.toml:24:25: unknown key openai[2].als",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAddr(t *testing.T) {
	t.Parallel()
	c := Default()
	if got := c.Addr(); got != "127.0.0.1:8317" {
		t.Fatalf("Addr = %q", got)
	}
	c.Host = "::1"
	if got := c.Addr(); got != "[::1]:8317" {
		t.Fatalf("Addr = %q", got)
	}
}
