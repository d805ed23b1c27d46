package translate

import "github.com/cliproxy/cliproxy/proxycore/llm"

// Reasoning effort <-> token budget table. There is no official mapping (WIRE.md §5.6), so the proxy
// uses this one everywhere (Claude budget_tokens, Gemini thinkingBudget):
//
//	effort   none  minimal  low   medium  high   xhigh  max
//	budget   0     1024     2048  8192    16384  32000  48000
//
// and in the other direction a budget maps to the smallest effort whose budget is >= it (0 -> none,
// -1 dynamic -> medium).
var effortBudgets = [...]struct {
	effort string
	budget int
}{{"none", 0}, {"minimal", 1024}, {"low", 2048}, {"medium", 8192}, {"high", 16384}, {"xhigh", 32000}, {"max", 48000}}

// claudeMinBudget is Anthropic's minimum budget_tokens (WIRE.md §3.3).
const claudeMinBudget = 1024

// Defaults for Anthropic's required max_tokens when the client sent none: 8192 without thinking, and the
// thinking budget plus 8192 with it, so budget_tokens < max_tokens always holds.
const (
	claudeDefaultMaxTokens = 8192
	claudeAnswerReserve    = 8192
)

// effortBudget returns the budget for an effort word; ok is false for unknown words.
func effortBudget(effort string) (int, bool) {
	for _, e := range effortBudgets {
		if e.effort == effort {
			return e.budget, true
		}
	}
	return 0, false
}

// budgetEffort returns the effort for a budget.
func budgetEffort(budget int) string {
	if budget < 0 {
		return "medium"
	}
	for _, e := range effortBudgets {
		if budget <= e.budget {
			return e.effort
		}
	}
	return "max"
}

// reasoningBudget resolves r to a token budget: -1 for dynamic, 0 for off.
func reasoningBudget(r *llm.Reasoning) int {
	if r == nil {
		return 0
	}
	if r.BudgetTokens != nil {
		return *r.BudgetTokens
	}
	if r.Effort == "" || r.Effort == "auto" {
		if r.Adaptive {
			return -1
		}
		return 0
	}
	b, ok := effortBudget(r.Effort)
	if !ok {
		return effortBudgets[3].budget
	}
	return b
}

// reasoningEffort resolves r to an OpenAI effort word, or "" when r asks for nothing.
func reasoningEffort(r *llm.Reasoning) string {
	if r == nil {
		return ""
	}
	if r.Effort != "" && r.Effort != "auto" {
		return r.Effort
	}
	if r.BudgetTokens != nil {
		return budgetEffort(*r.BudgetTokens)
	}
	if r.Adaptive {
		return "medium"
	}
	return ""
}
