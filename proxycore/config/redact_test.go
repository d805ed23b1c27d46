package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestMaskSecret(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "****"},
		{"short-12345", "****"},
		{"sk-abcdefgh1234", "****1234"},
		{"ключ-секрет-длинный-abcd", "****abcd"},
	}
	for _, tt := range tests {
		if got := MaskSecret(tt.in); got != tt.want {
			t.Errorf("MaskSecret(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsSecretHeader(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"Authorization": true, "x-api-key": true, "X-Goog-Api-Key": true, "X-Extra-Token": true,
		"X-Client-Secret": true, "Proxy-Authorization": true, "Cookie": true,
		"OpenAI-Organization": false, "User-Agent": false, "anthropic-beta": false,
	}
	for name, want := range tests {
		if got := IsSecretHeader(name); got != want {
			t.Errorf("IsSecretHeader(%q) = %v, want %v", name, got, want)
		}
	}
}

func fullConfig(t *testing.T) *Config {
	t.Helper()
	cfg, err := parse(readTestdata(t, "full.toml"), "full.toml", mapEnv(fullEnv()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	cfg := fullConfig(t)
	got := cfg.Secrets()
	slices.Sort(got)
	want := []string{
		"encryption-key-0123456789", "extra-token-value-9", "gemini-test-key-000002", "management-secret-0042",
		"proxy-password-123", "redis-password-77", "sk-ant-test-key-000001", "sk-client-one-0001",
		"sk-client-two-0002", "sk-openai-from-env-0003", "sk-or-from-env-0004",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Secrets() = %q\nwant %q", got, want)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	cfg := fullConfig(t)
	before := cfg.Clone()
	red := cfg.Redacted()

	if !reflect.DeepEqual(cfg, before) {
		t.Fatal("Redacted modified the original")
	}
	dump := fmt.Sprintf("%+v", red)
	for _, s := range cfg.Secrets() {
		if strings.Contains(dump, s) {
			t.Errorf("redacted config still contains %q", s)
		}
	}
	checks := []struct{ name, got, want string }{
		{"api-keys[0]", red.APIKeys[0], "****0001"},
		{"openai api-key", red.OpenAI[0].APIKey, "****0003"},
		{"secret header", red.OpenAI[0].Headers["X-Extra-Token"], "****ue-9"},
		{"plain header", red.OpenAI[0].Headers["OpenAI-Organization"], "org-1"},
		{"encryption-key", red.Keystore.EncryptionKey, "****6789"},
		{"secret-key", red.RemoteManagement.SecretKey, "****0042"},
		{"redis url", red.Redis.URL, "redis://:****d-77@127.0.0.1:6379/0"},
		{"proxy url", red.ProxyURL, "socks5h://user:****-123@127.0.0.1:1080"},
		{"base url kept", red.OpenAI[0].BaseURL, "https://api.openai.com/v1"},
		{"host kept", red.Host, "localhost"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if red.Secrets() == nil || len(red.Secrets()) != len(cfg.Secrets()) {
		t.Errorf("redacted config has %d secret slots, want %d", len(red.Secrets()), len(cfg.Secrets()))
	}
}

func TestRedactedURLPasswordsEverywhere(t *testing.T) {
	t.Parallel()
	c := Default()
	c.PassThrough.Endpoints = []PassThroughEndpoint{{Path: "/x", Target: "https://u:target-password-1@h", Provider: "openai"}}
	c.Providers = map[string]ProviderEndpoints{"codex": {TokenURL: "https://u:token-password-2@h/t"}}
	c.Anthropic = []APIKeyProvider{{BaseURL: "https://u:base-password-3@h"}}
	got := c.Secrets()
	slices.Sort(got)
	if want := []string{"base-password-3", "target-password-1", "token-password-2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Secrets() = %q, want %q", got, want)
	}
	red := c.Redacted()
	if red.PassThrough.Endpoints[0].Target != "https://u:****rd-1@h" ||
		red.Providers["codex"].TokenURL != "https://u:****rd-2@h/t" ||
		red.Anthropic[0].BaseURL != "https://u:****rd-3@h" {
		t.Fatalf("not masked: %+v %+v %+v", red.PassThrough, red.Providers, red.Anthropic)
	}
	if c.Providers["codex"].TokenURL != "https://u:token-password-2@h/t" {
		t.Fatal("Redacted changed the original providers map")
	}
}

func TestCloneIsDeep(t *testing.T) {
	t.Parallel()
	cfg := fullConfig(t)
	cp := cfg.Clone()
	cp.APIKeys[0] = "changed"
	cp.OpenAI[0].Headers["OpenAI-Organization"] = "changed"
	cp.OpenAI[0].Models[0].Name = "changed"
	*cp.Pricing.Models[0].CachedInputPerMillion = 99
	p := cp.Providers["codex"]
	p.BaseURL = "changed"
	cp.Providers["codex"] = p
	cp.RetryPolicy.RetryOn[0] = 1
	if !reflect.DeepEqual(cfg, fullConfig(t)) {
		t.Fatal("changing the clone changed the original")
	}
	var nilCfg *Config
	if nilCfg.Clone() != nil {
		t.Fatal("Clone of nil must be nil")
	}
}
