package translate_test

import (
	"fmt"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// Example translates a Chat Completions request for an Anthropic upstream.
func Example() {
	reg := translate.New()
	req, err := reg.Codec(llm.FormatOpenAIChat).DecodeRequest([]byte(
		`{"model":"claude-sonnet-4-5(low)","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	translate.ApplyModelSuffix(req) // "(low)" becomes a reasoning effort
	body, err := reg.Codec(llm.FormatClaude).EncodeRequest(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(body))
	// Output:
	// {"max_tokens":10240,"messages":[{"content":[{"text":"Hi","type":"text"}],"role":"user"}],"model":"claude-sonnet-4-5","system":[{"text":"Be brief.","type":"text"}],"thinking":{"budget_tokens":2048,"type":"enabled"}}
}

// ExamplePump turns an upstream Anthropic stream into Chat Completions chunks for the client.
func ExamplePump() {
	reg := translate.New()
	upstream := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	frames := 0
	res, err := translate.Pump(strings.NewReader(upstream),
		reg.Codec(llm.FormatClaude).NewStreamDecoder(),
		reg.Codec(llm.FormatOpenAIChat).NewStreamEncoder(&llm.Request{Model: "my-model"}),
		func(b []byte) error { frames += strings.Count(string(b), "data: "); return nil }) // a real server writes and flushes
	fmt.Println(frames, res.Finish, res.Usage.InputTokens, res.Usage.OutputTokens, err)
	// Output:
	// 4 stop 5 2 <nil>
}
