package config_test

import (
	"fmt"

	"github.com/cliproxy/cliproxy/proxycore/config"
)

func ExampleParse() {
	cfg, err := config.Parse([]byte(`
port = 9000
[routing]
strategy = "round-robin"
[[openai-compatible]]
name = "local"
base-url = "http://127.0.0.1:11434/v1"
models = ["llama3", { name = "qwen2.5-coder:7b", alias = "coder" }]
`), "config.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Addr(), cfg.Routing.Strategy)
	for _, m := range cfg.OpenAICompatible[0].Models {
		fmt.Println(m.ClientName(), "->", m.Name)
	}
	// Output:
	// 127.0.0.1:9000 round-robin
	// llama3 -> llama3
	// coder -> qwen2.5-coder:7b
}

func ExampleConfig_Validate() {
	cfg := config.Default()
	cfg.Host = "0.0.0.0"
	cfg.FallbackChains = []config.FallbackChain{
		{Model: "a", Fallbacks: []string{"b"}},
		{Model: "b", Fallbacks: []string{"a"}},
	}
	fmt.Println(cfg.Validate())
	// Output:
	// host: "0.0.0.0" is not a loopback address; set allow-remote = true to listen on it
	// fallback-chains: cycle a -> b -> a
}

func ExampleMaskSecret() {
	fmt.Println(config.MaskSecret("sk-proj-abcdefgh1234"))
	fmt.Println(config.MaskSecret("short"))
	// Output:
	// ****1234
	// ****
}
