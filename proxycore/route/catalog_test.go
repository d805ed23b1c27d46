package route

import (
	"errors"
	"slices"
	"testing"
)

func testCatalog() *Catalog {
	return NewCatalog([]Entry{
		{CredentialID: "openai-2", Provider: "openai", Model: "gpt-5"},
		{CredentialID: "openai-1", Provider: "openai", Model: "gpt-5"},
		{CredentialID: "openai-1", Provider: "openai", Model: "gpt-5"}, // duplicate, dropped
		{CredentialID: "codex:a@x.com", Provider: "codex", Model: "gpt-5"},
		{CredentialID: "claude-code:b@x.com", Provider: "claude-code", Model: "claude-sonnet-4-5"},
		{CredentialID: "anthropic-1", Provider: "anthropic", Model: "claude-sonnet-4-5"},
		{CredentialID: "openrouter-1", Provider: "openrouter", Model: "kimi-k2", Upstream: "moonshotai/kimi-k2"},
		{CredentialID: "openrouter-1", Provider: "openrouter", Model: "moonshotai/kimi-k2"},
		{CredentialID: "gemini-1", Provider: "gemini", Model: "gemini-2.5-flash"},
	}, map[string]string{
		"fast":      "gemini-2.5-flash",
		"sonnet":    "anthropic/claude-sonnet-4-5",
		"chain":     "fast",
		"loop-a":    "loop-b",
		"loop-b":    "loop-a",
		"dangling":  "no-such-model",
		"gpt-5":     "gpt-5", // self alias is harmless
		"forced-cc": "claude-code/claude-sonnet-4-5",
	})
}

func ids(list []Entry) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.CredentialID
	}
	return out
}

func TestCatalogResolve(t *testing.T) {
	c := testCatalog()
	tests := []struct {
		name      string
		model     string
		wantIDs   []string
		wantModel string
	}{
		{"exact model sorted by id", "gpt-5", []string{"codex:a@x.com", "openai-1", "openai-2"}, "gpt-5"},
		{"provider prefix forces provider", "openai/gpt-5", []string{"openai-1", "openai-2"}, "gpt-5"},
		{"subscription provider prefix", "codex/gpt-5", []string{"codex:a@x.com"}, "gpt-5"},
		{"alias", "fast", []string{"gemini-1"}, "gemini-2.5-flash"},
		{"alias chain", "chain", []string{"gemini-1"}, "gemini-2.5-flash"},
		{"alias to provider/model", "sonnet", []string{"anthropic-1"}, "claude-sonnet-4-5"},
		{"alias to subscription provider", "forced-cc", []string{"claude-code:b@x.com"}, "claude-sonnet-4-5"},
		{"slash in model name, unknown prefix", "moonshotai/kimi-k2", []string{"openrouter-1"}, "moonshotai/kimi-k2"},
		{"known provider prefix on slash model", "openrouter/moonshotai/kimi-k2", []string{"openrouter-1"}, "moonshotai/kimi-k2"},
		{"entry alias", "kimi-k2", []string{"openrouter-1"}, "kimi-k2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, model, err := c.Resolve(tt.model)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.model, err)
			}
			if !slices.Equal(ids(got), tt.wantIDs) || model != tt.wantModel {
				t.Fatalf("Resolve(%q) = %v, %q; want %v, %q", tt.model, ids(got), model, tt.wantIDs, tt.wantModel)
			}
		})
	}
}

func TestCatalogResolveUnknown(t *testing.T) {
	c := testCatalog()
	for _, model := range []string{"nope", "openai/claude-sonnet-4-5", "loop-a", "dangling", "/gpt-5", "unknownprov/gpt-5", ""} {
		t.Run(model, func(t *testing.T) {
			_, _, err := c.Resolve(model)
			if !errors.Is(err, ErrUnknownModel) {
				t.Fatalf("Resolve(%q) err = %v, want ErrUnknownModel", model, err)
			}
			var ue *UnknownModelError
			if !errors.As(err, &ue) || ue.Model != model {
				t.Fatalf("Resolve(%q) err = %#v, want UnknownModelError carrying the model", model, err)
			}
		})
	}
}

func TestCatalogResultIsProtectedFromAppend(t *testing.T) {
	c := testCatalog()
	a, _, _ := c.Resolve("openai/gpt-5")
	_ = append(a, Entry{CredentialID: "intruder"})
	b, _, _ := c.Resolve("gpt-5")
	if slices.Contains(ids(b), "intruder") {
		t.Fatal("appending to a resolved slice changed the catalog")
	}
}

func TestCatalogModels(t *testing.T) {
	c := testCatalog()
	want := []string{"chain", "claude-sonnet-4-5", "fast", "forced-cc", "gemini-2.5-flash", "gpt-5", "kimi-k2",
		"moonshotai/kimi-k2", "sonnet"}
	if got := c.Models(); !slices.Equal(got, want) {
		t.Fatalf("Models() = %v, want %v", got, want)
	}
	if got := c.Providers(); !slices.Equal(got, []string{"anthropic", "claude-code", "codex", "gemini", "openai", "openrouter"}) {
		t.Fatalf("Providers() = %v", got)
	}
	if !c.Has("fast") || c.Has("dangling") {
		t.Fatal("Has disagrees with Resolve")
	}
}

func TestCatalogResolveDoesNotAllocate(t *testing.T) {
	c := testCatalog()
	for _, model := range []string{"gpt-5", "fast", "openai/gpt-5", "openrouter/moonshotai/kimi-k2"} {
		if n := testing.AllocsPerRun(100, func() { _, _, _ = c.Resolve(model) }); n != 0 {
			t.Errorf("Resolve(%q) allocates %v times per call", model, n)
		}
	}
}
