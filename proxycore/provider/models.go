package provider

// Built-in model lists: what a credential serves when its config entry names no models. They cover the
// current well-known models of each vendor; `models` in the config replaces them for one credential.
var (
	openAIModels = []string{
		"gpt-5.1", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-codex", "gpt-5.1-codex",
		"gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini",
		"text-embedding-3-small", "text-embedding-3-large",
	}
	anthropicModels = []string{
		"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5",
		"claude-opus-4-1", "claude-opus-4-0", "claude-sonnet-4-0", "claude-3-7-sonnet-latest", "claude-3-5-haiku-latest",
	}
	geminiModels = []string{
		"gemini-3-pro-preview", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash",
	}
	codexModels   = []string{"gpt-5.1-codex", "gpt-5-codex", "gpt-5.1", "gpt-5", "gpt-5-codex-mini"}
	copilotModels = []string{"gpt-4.1", "gpt-4o", "gpt-5-mini", "gpt-5", "claude-sonnet-4", "claude-sonnet-4.5", "gemini-2.5-pro"}
	kiroModels    = []string{"claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5"}
	qwenModels    = []string{"qwen3-coder-plus", "qwen3-coder-flash"}
)

// DefaultModels returns the built-in model list of an API-key provider kind (none for OpenAI-compatible
// servers, whose models must be configured).
func DefaultModels(k Kind) []string {
	switch k {
	case KindOpenAI:
		return openAIModels
	case KindAnthropic:
		return anthropicModels
	case KindGemini:
		return geminiModels
	}
	return nil
}

// DefaultModelsFor returns the built-in model list of a provider id, including the subscription providers.
func DefaultModelsFor(providerID string) []string {
	switch providerID {
	case "openai":
		return openAIModels
	case "anthropic", "claude-code":
		return anthropicModels
	case "gemini", "gemini-cli":
		return geminiModels
	case "codex":
		return codexModels
	case "copilot":
		return copilotModels
	case "kiro":
		return kiroModels
	case "qwen":
		return qwenModels
	}
	return nil
}
