package spend

import (
	"math"
	"testing"
)

func mustPricing(t testing.TB, o ...PriceOverride) *Pricing {
	t.Helper()
	p, err := NewPricing(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLookupMatchesNames(t *testing.T) {
	p := mustPricing(t)
	tests := []struct {
		model     string
		wantKnown bool
		wantIn    float64
		wantOut   float64
	}{
		{"claude-sonnet-4-5-20250929", true, 3, 15},
		{"claude-sonnet-4-20250514", true, 3, 15},
		{"claude-opus-4-5-20251101", true, 5, 25},
		{"claude-opus-4-1-20250805", true, 15, 75},
		{"claude-opus-4-20250514", true, 15, 75},
		{"claude-haiku-4-5", true, 1, 5},
		{"claude-3-7-sonnet-latest", true, 3, 15},
		{"claude-3-5-haiku-20241022", true, 0.8, 4},
		{"Claude-Sonnet-4-5", true, 3, 15},
		{"anthropic/claude-sonnet-4-5", true, 3, 15},
		{"gpt-5", true, 1.25, 10},
		{"gpt-5-2025-08-07", true, 1.25, 10},
		{"gpt-5-mini-2025-08-07", true, 0.25, 2},
		{"gpt-5-nano", true, 0.05, 0.4},
		{"gpt-5-codex", true, 1.25, 10},
		{"gpt-5.1-codex-mini", true, 0.25, 2},
		{"gpt-4.1-mini-2025-04-14", true, 0.4, 1.6},
		{"gpt-4o-2024-08-06", true, 2.5, 10},
		{"gpt-4o-mini", true, 0.15, 0.6},
		{"o3", true, 2, 8},
		{"o4-mini-2025-04-16", true, 1.1, 4.4},
		{"gemini-2.5-pro", true, 1.25, 10},
		{"models/gemini-2.5-flash", true, 0.3, 2.5},
		{"gemini-2.5-flash-lite", true, 0.1, 0.4},
		{"gemini-2.0-flash", true, 0.1, 0.4},
		{"gemini-3-pro-preview", true, 2, 12},
		{"llama-3-70b", false, 0, 0},
		{"gpt-4o-mini-tts-unknown-2024", false, 0, 0},
		{"", false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			pr, ok := p.Lookup(tt.model)
			if ok != tt.wantKnown || pr.Input != tt.wantIn || pr.Output != tt.wantOut {
				t.Fatalf("Lookup(%q) = %+v, %v; want in %v out %v known %v", tt.model, pr, ok, tt.wantIn, tt.wantOut, tt.wantKnown)
			}
		})
	}
}

func TestCost(t *testing.T) {
	p := mustPricing(t, PriceOverride{Match: "my-local-*", Input: 1, Output: 2})
	tests := []struct {
		name      string
		model     string
		u         Usage
		want      float64
		wantKnown bool
	}{
		// 1M uncached input at $3 + 1M output at $15.
		{"plain claude", "claude-sonnet-4-5", Usage{Input: 1e6, Output: 1e6}, 18, true},
		// 400k fresh at 3 + 500k cached at 0.3 + 100k written at 3.75 + 10k output at 15.
		{"claude cache read and write", "claude-sonnet-4-5-20250929",
			Usage{Input: 1e6, CachedInput: 500_000, CacheWrite: 100_000, Output: 10_000},
			0.4*3 + 0.5*0.3 + 0.1*3.75 + 0.01*15, true},
		// Reasoning is inside Output and must not be billed twice.
		{"reasoning counted once", "o3", Usage{Input: 1000, Output: 2000, Reasoning: 1500}, (1000*2 + 2000*8) / 1e6, true},
		{"openai cached", "gpt-5", Usage{Input: 2e6, CachedInput: 1e6}, 1.25 + 0.125, true},
		{"cache counts above the total are billed as reported", "gpt-5", Usage{Input: 10, CachedInput: 1e6}, 0.125, true},
		{"override, cached defaults to input", "my-local-llama", Usage{Input: 1e6, CachedInput: 5e5, Output: 1e6}, 1 + 2, true},
		{"unknown model", "mystery-1", Usage{Input: 1e6, Output: 1e6}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, known := p.Cost(tt.model, tt.u)
			if known != tt.wantKnown || math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("Cost = %v, %v; want %v, %v", got, known, tt.want, tt.wantKnown)
			}
		})
	}
}

func TestOverridesWin(t *testing.T) {
	p := mustPricing(t,
		PriceOverride{Match: "claude-sonnet-*", Input: 2, Output: 10},
		PriceOverride{Match: "claude-sonnet-4-5", Input: 1, Output: 5, CachedInput: 0.5, CacheWrite: 9},
		PriceOverride{Match: "gpt-*", Input: 7, Output: 7},
	)
	tests := []struct {
		model string
		want  Price
	}{
		// Exact override beats the wildcard override.
		{"claude-sonnet-4-5-20250929", Price{Input: 1, Output: 5, CachedInput: 0.5, CacheWrite: 9}},
		// A short override wildcard beats a longer built-in pattern; Claude writes default to 1.25x.
		{"claude-sonnet-4-20250514", Price{Input: 2, Output: 10, CachedInput: 2, CacheWrite: 2.5}},
		{"gpt-5-mini", Price{Input: 7, Output: 7, CachedInput: 7, CacheWrite: 7}},
		// No override: built-in.
		{"claude-haiku-4-5", Price{Input: 1, Output: 5, CachedInput: 0.1, CacheWrite: 1.25}},
	}
	for _, tt := range tests {
		pr, ok := p.Lookup(tt.model)
		if !ok || math.Abs(pr.Input-tt.want.Input)+math.Abs(pr.Output-tt.want.Output)+
			math.Abs(pr.CachedInput-tt.want.CachedInput)+math.Abs(pr.CacheWrite-tt.want.CacheWrite) > 1e-12 {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", tt.model, pr, ok, tt.want)
		}
	}
}

func TestNewPricingValidates(t *testing.T) {
	for name, o := range map[string]PriceOverride{
		"empty match":    {Match: " ", Input: 1},
		"negative price": {Match: "x", Output: -1},
	} {
		if _, err := NewPricing([]PriceOverride{o}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var nilP *Pricing
	if _, ok := nilP.Cost("gpt-5", Usage{Input: 1}); ok {
		t.Error("nil Pricing claims to know a price")
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"a*", "abc", true},
		{"a*", "a", true},
		{"*c", "abc", true},
		{"a*c", "ac", true},
		{"a*b*c", "a-b-b-c", true},
		{"a*b*c", "a-c", false},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"*", "", true},
		{"a*a", "a", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func FuzzGlobMatch(f *testing.F) {
	f.Add("claude-*-4*", "claude-sonnet-4-5")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		// A pattern without '*' matches only itself.
		if got := globMatch(pattern, name); !containsStar(pattern) && got != (pattern == name) {
			t.Fatalf("globMatch(%q, %q) = %v", pattern, name, got)
		}
	})
}

func containsStar(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			return true
		}
	}
	return false
}

func BenchmarkCost(b *testing.B) {
	p := mustPricing(b)
	u := Usage{Input: 12000, CachedInput: 8000, Output: 900}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.Cost("claude-sonnet-4-5-20250929", u); !ok {
			b.Fatal("unknown")
		}
	}
}
