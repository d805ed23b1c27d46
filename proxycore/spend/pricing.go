package spend

import (
	"fmt"
	"strings"
)

// Usage is the token count of one request, normalised as in WIRE.md §5.5: Input is the full prompt
// (cached reads and cache writes included, so Anthropic's input_tokens + cache_creation_input_tokens +
// cache_read_input_tokens), Output includes reasoning tokens.
type Usage struct {
	Input       int64
	Output      int64
	CachedInput int64 // prompt tokens read from the provider's cache
	CacheWrite  int64 // prompt tokens written to the provider's cache
	Reasoning   int64 // informational: already counted in Output
}

// Price is what a model costs, in USD per million tokens.
type Price struct {
	Input       float64
	Output      float64
	CachedInput float64 // cache reads
	CacheWrite  float64 // cache writes
}

// PriceOverride replaces the built-in price of every model that Match matches. Match is an exact model
// name or a pattern where '*' stands for any run of characters ("claude-sonnet-*"). A zero CachedInput
// or CacheWrite means "same as Input" (Claude models: CacheWrite defaults to 1.25x Input, Anthropic's
// 5-minute cache-write rate).
type PriceOverride struct {
	Match       string
	Input       float64
	Output      float64
	CachedInput float64
	CacheWrite  float64
}

// pricedPattern is one entry of a price table.
type pricedPattern struct {
	pattern  string
	parts    []string // pattern split at '*', precomputed so lookups do not allocate
	wildcard bool
	literal  int // characters that are not '*': longer patterns are more specific
	price    Price
}

// Pricing looks up model prices: configured overrides first, then the built-in table. Within each
// table an exact name beats any pattern and a longer pattern beats a shorter one. It is immutable and
// safe for concurrent use.
type Pricing struct {
	overrides []pricedPattern
	builtin   []pricedPattern
}

// NewPricing builds the lookup from the built-in table and the given overrides.
func NewPricing(overrides []PriceOverride) (*Pricing, error) {
	p := &Pricing{}
	for i, o := range overrides {
		m := strings.ToLower(strings.TrimSpace(o.Match))
		if m == "" {
			return nil, fmt.Errorf("pricing.models[%d]: match is empty", i)
		}
		if o.Input < 0 || o.Output < 0 || o.CachedInput < 0 || o.CacheWrite < 0 {
			return nil, fmt.Errorf("pricing.models[%d] (%s): prices must not be negative", i, o.Match)
		}
		pr := Price{Input: o.Input, Output: o.Output, CachedInput: o.CachedInput, CacheWrite: o.CacheWrite}
		if pr.CachedInput == 0 {
			pr.CachedInput = pr.Input
		}
		if pr.CacheWrite == 0 {
			pr.CacheWrite = pr.Input
			if strings.Contains(m, "claude") {
				pr.CacheWrite = pr.Input * 1.25
			}
		}
		p.overrides = append(p.overrides, newPattern(m, pr))
	}
	for _, b := range builtinPrices() {
		p.builtin = append(p.builtin, newPattern(b.pattern, b.price))
	}
	return p, nil
}

func newPattern(pattern string, pr Price) pricedPattern {
	return pricedPattern{
		pattern:  pattern,
		parts:    strings.Split(pattern, "*"),
		wildcard: strings.Contains(pattern, "*"),
		literal:  len(pattern) - strings.Count(pattern, "*"),
		price:    pr,
	}
}

// Lookup returns the price of model and whether one is known. Names are matched case-insensitively;
// a "models/" prefix (Gemini) and a vendor prefix ("anthropic/claude-...") are ignored when the full
// name has no price; a dated suffix ("-20250929", "-2024-08-06") matches the undated entry.
func (p *Pricing) Lookup(model string) (Price, bool) {
	if p == nil {
		return Price{}, false
	}
	names := candidates(model)
	if pr, ok := lookupIn(p.overrides, names); ok {
		return pr, true
	}
	return lookupIn(p.builtin, names)
}

// Cost prices one request. Non-cached input is billed at the input price, cached reads at the cached
// price, cache writes at the write price and output (reasoning included) at the output price. An unknown
// model costs 0 with known == false, so callers can flag the spend as incomplete.
func (p *Pricing) Cost(model string, u Usage) (usd float64, known bool) {
	pr, ok := p.Lookup(model)
	if !ok {
		return 0, false
	}
	cached, write := max(u.CachedInput, 0), max(u.CacheWrite, 0)
	// A provider that reports cache counts larger than the prompt total is billed for what it reports.
	fresh := max(u.Input-cached-write, 0)
	total := float64(fresh)*pr.Input + float64(cached)*pr.CachedInput +
		float64(write)*pr.CacheWrite + float64(max(u.Output, 0))*pr.Output
	return total / 1e6, true
}

// candidates lists the names to try for model, most specific first.
func candidates(model string) []string {
	m := strings.ToLower(strings.TrimSpace(model))
	m = strings.TrimPrefix(m, "models/")
	out := []string{m}
	if i := strings.LastIndexByte(m, '/'); i >= 0 && i < len(m)-1 {
		out = append(out, m[i+1:])
	}
	for _, c := range out {
		if base, ok := stripDate(c); ok {
			out = append(out, base)
		}
	}
	return out
}

// stripDate removes a trailing release date: "-20250929" (Anthropic) or "-2024-08-06" (OpenAI).
func stripDate(m string) (string, bool) {
	if n := len(m); n > 9 && m[n-9] == '-' && allDigits(m[n-8:]) {
		return m[:n-9], true
	}
	if n := len(m); n > 11 && m[n-11] == '-' && allDigits(m[n-10:n-6]) && m[n-6] == '-' &&
		allDigits(m[n-5:n-3]) && m[n-3] == '-' && allDigits(m[n-2:]) {
		return m[:n-11], true
	}
	return m, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// lookupIn finds the first of names that has an exact entry in table; failing that, the matching
// pattern with the most literal characters over all names (ties go to the earlier entry, then the
// earlier name).
func lookupIn(table []pricedPattern, names []string) (Price, bool) {
	for _, name := range names {
		for i := range table {
			if e := &table[i]; !e.wildcard && e.pattern == name {
				return e.price, true
			}
		}
	}
	best := -1
	for _, name := range names {
		for i := range table {
			e := &table[i]
			if e.wildcard && (best < 0 || e.literal > table[best].literal) && matchParts(e.parts, name) {
				best = i
			}
		}
	}
	if best < 0 {
		return Price{}, false
	}
	return table[best].price, true
}

// globMatch reports whether name matches pattern, where '*' matches any (possibly empty) run of
// characters and everything else matches itself.
func globMatch(pattern, name string) bool { return matchParts(strings.Split(pattern, "*"), name) }

// matchParts is globMatch over a pattern already split at '*'.
func matchParts(parts []string, name string) bool {
	if len(parts) == 1 {
		return parts[0] == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := len(parts) - 1
	for _, part := range parts[1:last] {
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name = name[i+len(part):]
	}
	return strings.HasSuffix(name, parts[last])
}

// Apply prices a spend record from its token counts, setting CostUSD and PriceKnown.
func (p *Pricing) Apply(r *Record) {
	r.CostUSD, r.PriceKnown = p.Cost(r.Model, Usage{Input: r.InputTokens, Output: r.OutputTokens,
		CachedInput: r.CachedTokens, CacheWrite: r.CacheWriteTokens, Reasoning: r.ReasoningTokens})
}
