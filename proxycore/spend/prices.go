package spend

// builtinPrices is the default price table in USD per million tokens, standard (non-batch, <=200k
// context) rates as published on the vendors' pricing pages in late 2025: Anthropic "Pricing"
// (claude.com/pricing, docs.anthropic.com/en/docs/about-claude/pricing; cache write = 5-minute rate,
// 1.25x input; cache read = 0.1x input), OpenAI "API pricing" (openai.com/api/pricing; cached input;
// OpenAI bills no separate cache-write rate, so writes cost the input price) and Google "Gemini
// Developer API pricing" (ai.google.dev/gemini-api/docs/pricing; context-cache read rate; storage per
// hour is not per-token and is not modelled). Prices change: [[pricing.models]] overrides any entry.
//
// It is a function, not a package variable, so nothing can mutate a shared table.
func builtinPrices() []struct {
	pattern string
	price   Price
} {
	type e = struct {
		pattern string
		price   Price
	}
	claude := func(in, out float64) Price {
		return Price{Input: in, Output: out, CachedInput: in * 0.1, CacheWrite: in * 1.25}
	}
	openai := func(in, out, cached float64) Price {
		return Price{Input: in, Output: out, CachedInput: cached, CacheWrite: in}
	}
	gemini := func(in, out, cached float64) Price {
		return Price{Input: in, Output: out, CachedInput: cached, CacheWrite: in}
	}
	return []e{
		// Anthropic Claude.
		{"claude-opus-4-5*", claude(5, 25)},
		{"claude-opus-4-1*", claude(15, 75)},
		{"claude-opus-4*", claude(15, 75)},
		{"claude-sonnet-4*", claude(3, 15)},
		{"claude-haiku-4*", claude(1, 5)},
		{"claude-3-7-sonnet*", claude(3, 15)},
		{"claude-3-5-sonnet*", claude(3, 15)},
		{"claude-3-5-haiku*", claude(0.8, 4)},
		{"claude-3-opus*", claude(15, 75)},
		{"claude-3-haiku*", claude(0.25, 1.25)},

		// OpenAI.
		{"gpt-5", openai(1.25, 10, 0.125)},
		{"gpt-5-chat-latest", openai(1.25, 10, 0.125)},
		{"gpt-5.1*", openai(1.25, 10, 0.125)},
		{"gpt-5-codex", openai(1.25, 10, 0.125)},
		{"gpt-5*-codex*", openai(1.25, 10, 0.125)},
		{"gpt-5*-codex-mini*", openai(0.25, 2, 0.025)},
		{"gpt-5-mini*", openai(0.25, 2, 0.025)},
		{"gpt-5-nano*", openai(0.05, 0.4, 0.005)},
		{"gpt-4.1", openai(2, 8, 0.5)},
		{"gpt-4.1-mini", openai(0.4, 1.6, 0.1)},
		{"gpt-4.1-nano", openai(0.1, 0.4, 0.025)},
		{"gpt-4o", openai(2.5, 10, 1.25)},
		{"gpt-4o-mini", openai(0.15, 0.6, 0.075)},
		{"o3", openai(2, 8, 0.5)},
		{"o4-mini", openai(1.1, 4.4, 0.275)},

		// Google Gemini.
		{"gemini-3-pro-preview*", gemini(2, 12, 0.2)},
		{"gemini-2.5-pro*", gemini(1.25, 10, 0.125)},
		{"gemini-2.5-flash", gemini(0.3, 2.5, 0.03)},
		{"gemini-2.5-flash-preview*", gemini(0.3, 2.5, 0.03)},
		{"gemini-2.5-flash-lite*", gemini(0.1, 0.4, 0.01)},
		{"gemini-2.0-flash", gemini(0.1, 0.4, 0.025)},
		{"gemini-2.0-flash-001", gemini(0.1, 0.4, 0.025)},
		{"gemini-2.0-flash-lite*", gemini(0.075, 0.3, 0.075)},
	}
}
