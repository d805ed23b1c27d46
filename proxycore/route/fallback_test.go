package route

import (
	"slices"
	"strings"
	"testing"
)

func TestFallbacksOrder(t *testing.T) {
	chains := map[string][]string{
		"claude-sonnet-4-5": {"gpt-5-codex", "gemini-2.5-pro"},
		"gpt-5-codex":       {"gpt-5", "gemini-2.5-pro"},
		"gemini-2.5-pro":    {"gemini-2.5-flash"},
		"gpt-5":             {"gemini-2.5-flash"},
	}
	f, err := NewFallbacks(chains, nil)
	if err != nil {
		t.Fatalf("NewFallbacks: %v", err)
	}
	tests := []struct {
		model string
		want  []string
	}{
		{"claude-sonnet-4-5", []string{"gpt-5-codex", "gemini-2.5-pro", "gpt-5", "gemini-2.5-flash"}},
		{"gpt-5-codex", []string{"gpt-5", "gemini-2.5-pro", "gemini-2.5-flash"}},
		{"gemini-2.5-flash", nil},
		{"unlisted", nil},
	}
	for _, tt := range tests {
		if got := f.Next(tt.model); !slices.Equal(got, tt.want) {
			t.Errorf("Next(%q) = %v, want %v", tt.model, got, tt.want)
		}
	}
	var nilF *Fallbacks
	if nilF.Next("x") != nil {
		t.Error("a nil *Fallbacks must have no fallbacks")
	}
}

func TestFallbacksErrors(t *testing.T) {
	known := func(m string) bool { return !strings.HasPrefix(m, "ghost") }
	tests := []struct {
		name   string
		chains map[string][]string
		want   []string
	}{
		{"self cycle", map[string][]string{"a": {"a"}}, []string{"fallback-chains", "cycle a -> a"}},
		{"two cycle", map[string][]string{"a": {"b"}, "b": {"a"}}, []string{"fallback-chains", "cycle a -> b -> a"}},
		{"long cycle", map[string][]string{"a": {"x", "b"}, "b": {"c"}, "c": {"a"}}, []string{"cycle a -> b -> c -> a"}},
		{"unknown fallback", map[string][]string{"a": {"ghost-1"}}, []string{"fallback-chains", `"ghost-1"`}},
		{"unknown model", map[string][]string{"ghost-2": {"a"}}, []string{"fallback-chains", `"ghost-2"`}},
		{"empty name", map[string][]string{"a": {""}}, []string{"fallback-chains", "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFallbacks(tt.chains, known)
			if err == nil {
				t.Fatal("NewFallbacks accepted invalid chains")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// A diamond is not a cycle.
	if _, err := NewFallbacks(map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}}, known); err != nil {
		t.Fatalf("diamond rejected: %v", err)
	}
}

func TestFallbacksWithCatalog(t *testing.T) {
	c := testCatalog()
	if _, err := NewFallbacks(map[string][]string{"gpt-5": {"fast", "openai/gpt-5"}}, c.Has); err != nil {
		t.Fatalf("aliases and provider/model names should be known: %v", err)
	}
	if _, err := NewFallbacks(map[string][]string{"gpt-5": {"dangling"}}, c.Has); err == nil {
		t.Fatal("a dangling alias was accepted")
	}
}
