package spend_test

import (
	"fmt"

	"github.com/cliproxy/cliproxy/proxycore/spend"
)

func ExamplePricing_Cost() {
	p, err := spend.NewPricing([]spend.PriceOverride{{Match: "my-vllm-*", Input: 0.1, Output: 0.2}})
	if err != nil {
		panic(err)
	}
	// 100k-token prompt of which 80k came from the cache, 2k output tokens.
	u := spend.Usage{Input: 100_000, CachedInput: 80_000, Output: 2_000}
	for _, model := range []string{"claude-sonnet-4-5-20250929", "my-vllm-qwen", "unheard-of"} {
		usd, known := p.Cost(model, u)
		fmt.Printf("%s: $%.4f known=%v\n", model, usd, known)
	}
	// Output:
	// claude-sonnet-4-5-20250929: $0.1140 known=true
	// my-vllm-qwen: $0.0104 known=true
	// unheard-of: $0.0000 known=false
}

func ExamplePricing_Apply() {
	p, _ := spend.NewPricing(nil)
	rec := spend.Record{Model: "gpt-5-mini", InputTokens: 1_000_000, OutputTokens: 100_000}
	p.Apply(&rec)
	fmt.Printf("$%.2f %v\n", rec.CostUSD, rec.PriceKnown)
	// Output: $0.45 true
}
