package config

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"config.example.toml", "full.toml"} {
		data, err := readFile("testdata/"+name, true)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "port = = 1", "[[openai]]\nmodels = [1, {name='a'}, 'b']", "strict-config = true\nx = 1",
		"[providers.nope]\nbase-url = 'http://x'", "api-keys = ['os.environ/']",
		"[[fallback-chains]]\nmodel='a'\nfallbacks=['b']\n[[fallback-chains]]\nmodel='b'\nfallbacks=['a']",
		"redis.url = 'redis://u:p@h'\nproxy-url='http://u:@h'", "[[openai-compatible]]\nheaders = { '' = 'x' }",
	} {
		f.Add([]byte(s))
	}
	env := mapEnv(map[string]string{"CLIPROXY_TEST_CLIENT_KEY": "k", "CLIPROXY_TEST_ENCRYPTION_KEY": "e",
		"CLIPROXY_TEST_OPENAI_KEY": "o", "CLIPROXY_TEST_OPENROUTER_KEY": "r"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, problems, err := decode(data, "fuzz.toml", env)
		if err != nil {
			if cfg != nil || len(problems) != 0 {
				t.Fatalf("fatal error with a config or problems: %v", err)
			}
			return
		}
		_ = cfg.Validate()
		red := cfg.Redacted()
		dump := strings.Join(red.Secrets(), "\x00")
		for _, s := range cfg.Secrets() {
			if len(s) >= maskMinLen && strings.Contains(dump, s) {
				t.Fatalf("Redacted kept secret %q", s)
			}
		}
		_, _ = parse(data, "fuzz.toml", env)
	})
}
