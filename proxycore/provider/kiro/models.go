package kiro

import "strings"

// modelIDs maps Claude model ids to the modelId Kiro expects. Kiro names the newer models with a dotted
// version ("claude-sonnet-4.5") and the older ones with Bedrock-style ids; the table follows public Kiro
// proxies (AIClient-2-API claude-kiro.js FULL_MODEL_MAPPING, CLIProxyAPI kiro helpers/models.go).
var modelIDs = map[string]string{
	"claude-opus-4-6":            "claude-opus-4.6",
	"claude-sonnet-4-6":          "claude-sonnet-4.6",
	"claude-opus-4-5":            "claude-opus-4.5",
	"claude-opus-4-5-20251101":   "claude-opus-4.5",
	"claude-haiku-4-5":           "claude-haiku-4.5",
	"claude-haiku-4-5-20251001":  "claude-haiku-4.5",
	"claude-sonnet-4-5":          "CLAUDE_SONNET_4_5_20250929_V1_0",
	"claude-sonnet-4-5-20250929": "CLAUDE_SONNET_4_5_20250929_V1_0",
	"claude-sonnet-4":            "CLAUDE_SONNET_4_20250514_V1_0",
	"claude-sonnet-4-0":          "CLAUDE_SONNET_4_20250514_V1_0",
	"claude-sonnet-4-20250514":   "CLAUDE_SONNET_4_20250514_V1_0",
	"claude-3-7-sonnet-20250219": "CLAUDE_3_7_SONNET_20250219_V1_0",
	"claude-3-7-sonnet-latest":   "CLAUDE_3_7_SONNET_20250219_V1_0",
}

// defaultModels is what a Kiro account serves when the config names no models.
var defaultModels = []string{"claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "claude-opus-4-5"}

// DefaultModels returns the Claude model ids a Kiro account serves by default.
func DefaultModels() []string { return append([]string(nil), defaultModels...) }

// ModelID returns the Kiro modelId for a Claude model id. Ids already in Kiro form ("claude-sonnet-4.5",
// "CLAUDE_..._V1_0", "auto") pass through; an unknown "claude-<family>-<major>-<minor>[-date]" becomes
// "claude-<family>-<major>.<minor>", the scheme Kiro uses for its newer models.
func ModelID(model string) string {
	m := strings.TrimSpace(model)
	if id, ok := modelIDs[strings.ToLower(m)]; ok {
		return id
	}
	if m == "" {
		return modelIDs["claude-sonnet-4-5"]
	}
	if strings.Contains(m, ".") || strings.HasPrefix(m, "CLAUDE_") || m == "auto" {
		return m
	}
	parts := strings.Split(m, "-")
	// Drop a trailing date (8 digits).
	if n := len(parts); n > 0 && len(parts[n-1]) == 8 && allDigits(parts[n-1]) {
		parts = parts[:n-1]
	}
	if n := len(parts); n >= 4 && parts[0] == "claude" && allDigits(parts[n-1]) && allDigits(parts[n-2]) {
		return strings.Join(parts[:n-2], "-") + "-" + parts[n-2] + "." + parts[n-1]
	}
	return m
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DefaultModels is the list an account serves when its config names none (provider.ModelLister).
func (e *executor) DefaultModels() []string { return DefaultModels() }
