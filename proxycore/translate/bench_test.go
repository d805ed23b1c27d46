package translate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/sse"
)

func mustRead(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchRequest(b *testing.B, from, to llm.Format, path string) {
	reg := testRegistry()
	body := mustRead(b, path)
	dec, enc := reg.Codec(from), reg.Codec(to)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, err := dec.DecodeRequest(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := enc.EncodeRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchResponse(b *testing.B, client, upstream llm.Format, path string) {
	reg := testRegistry()
	body := mustRead(b, path)
	dec, enc := reg.Codec(upstream), reg.Codec(client)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := dec.DecodeResponse(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := enc.EncodeResponse(resp); err != nil {
			b.Fatal(err)
		}
	}
}

type sseEvent struct {
	name string
	data []byte
}

func parseSSE(b *testing.B, body []byte) []sseEvent {
	r := sse.NewReader(bytes.NewReader(body))
	var out []sseEvent
	for {
		name, data, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, sseEvent{string(name), append([]byte(nil), data...)})
	}
}

// benchStream measures decoding an upstream stream and encoding it for the client, and reports
// allocations per upstream event.
func benchStream(b *testing.B, client, upstream llm.Format, body []byte) {
	reg := testRegistry()
	events := parseSSE(b, body)
	req := &llm.Request{Model: "client-model", IncludeUsage: true}
	var evs []llm.Event
	out := make([]byte, 0, 64<<10)
	run := func() {
		dec := reg.Codec(upstream).NewStreamDecoder()
		enc := reg.Codec(client).NewStreamEncoder(req)
		out = out[:0]
		for _, e := range events {
			evs, _ = dec.Decode(evs[:0], e.name, e.data)
			for i := range evs {
				out = enc.Encode(out, &evs[i])
			}
		}
		evs, _ = dec.End(evs[:0])
		for i := range evs {
			out = enc.Encode(out, &evs[i])
		}
		out = enc.Finish(out)
	}
	perEvent := testing.AllocsPerRun(20, run) / float64(len(events))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dec := reg.Codec(upstream).NewStreamDecoder()
		enc := reg.Codec(client).NewStreamEncoder(req)
		out = out[:0]
		for _, e := range events {
			var err error
			evs, err = dec.Decode(evs[:0], e.name, e.data)
			if err != nil {
				b.Fatal(err)
			}
			for i := range evs {
				out = enc.Encode(out, &evs[i])
			}
		}
		evs, _ = dec.End(evs[:0])
		for i := range evs {
			out = enc.Encode(out, &evs[i])
		}
		out = enc.Finish(out)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(events)), "events/op")
	b.ReportMetric(perEvent, "allocs/event")
}

// claudeTextStream builds an Anthropic stream with n text deltas.
func claudeTextStream(n int) []byte {
	var b strings.Builder
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"token %d with \\\"quotes\\\" \"}}\n\n", i)
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	b.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":200}}\n\n")
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return []byte(b.String())
}

// chatTextStream builds a Chat Completions stream with n content deltas.
func chatTextStream(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token %d with \\\"quotes\\\" \"},\"finish_reason\":null}]}\n\n", i)
	}
	b.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
	b.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":200,\"total_tokens\":210}}\n\ndata: [DONE]\n\n")
	return []byte(b.String())
}

func BenchmarkTranslateChatToClaudeRequest(b *testing.B) {
	benchRequest(b, llm.FormatOpenAIChat, llm.FormatClaude, "testdata/chat-claude/tools/client_request.json")
}

func BenchmarkTranslateClaudeToChatRequest(b *testing.B) {
	benchRequest(b, llm.FormatClaude, llm.FormatOpenAIChat, "testdata/claude-chat/full/client_request.json")
}

func BenchmarkTranslateChatToClaudeResponse(b *testing.B) {
	benchResponse(b, llm.FormatOpenAIChat, llm.FormatClaude, "testdata/chat-claude/tools/upstream_response.json")
}

func BenchmarkTranslateClaudeToChatResponse(b *testing.B) {
	benchResponse(b, llm.FormatClaude, llm.FormatOpenAIChat, "testdata/claude-chat/full/upstream_response.json")
}

// BenchmarkTranslateChatToClaudeStream: a chat client served by an Anthropic upstream stream of 205
// events.
func BenchmarkTranslateChatToClaudeStream(b *testing.B) {
	benchStream(b, llm.FormatOpenAIChat, llm.FormatClaude, claudeTextStream(200))
}

// BenchmarkTranslateClaudeToChatStream: a Claude client served by a chat upstream stream of 203 events.
func BenchmarkTranslateClaudeToChatStream(b *testing.B) {
	benchStream(b, llm.FormatClaude, llm.FormatOpenAIChat, chatTextStream(200))
}

func BenchmarkTranslateChatToResponsesStream(b *testing.B) {
	benchStream(b, llm.FormatResponses, llm.FormatOpenAIChat, chatTextStream(200))
}

func BenchmarkTranslateClaudeToGeminiStream(b *testing.B) {
	benchStream(b, llm.FormatGemini, llm.FormatClaude, claudeTextStream(200))
}

// geminiTextStream builds an alt=sse Gemini stream with n text chunks, each repeating usageMetadata as
// the API does.
func geminiTextStream(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"token %d with \\\"quotes\\\" \"}]},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":%d,\"totalTokenCount\":%d},\"modelVersion\":\"gemini-2.5-pro\",\"responseId\":\"r1\"}\r\n\r\n", i, i, i+10)
	}
	b.WriteString("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":200,\"totalTokenCount\":210},\"modelVersion\":\"gemini-2.5-pro\",\"responseId\":\"r1\"}\r\n\r\n")
	return []byte(b.String())
}

// BenchmarkTranslateGeminiToChatStream: a chat client served by a Gemini upstream stream of 201 events.
func BenchmarkTranslateGeminiToChatStream(b *testing.B) {
	benchStream(b, llm.FormatOpenAIChat, llm.FormatGemini, geminiTextStream(200))
}

// BenchmarkTranslateResponsesToClaudeStream: a Claude client served by a Responses upstream.
func BenchmarkTranslateResponsesToClaudeStream(b *testing.B) {
	benchStream(b, llm.FormatClaude, llm.FormatResponses, responsesTextStream(200))
}

func responsesTextStream(n int) []byte {
	var b strings.Builder
	seq := 0
	ev := func(typ, body string) {
		fmt.Fprintf(&b, "event: %s\ndata: {\"type\":\"%s\",\"sequence_number\":%d%s}\n\n", typ, typ, seq, body)
		seq++
	}
	ev("response.created", `,"response":{"id":"resp_1","model":"gpt-5","status":"in_progress","output":[]}`)
	ev("response.output_item.added", `,"output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[]}`)
	for i := 0; i < n; i++ {
		ev("response.output_text.delta", fmt.Sprintf(`,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"token %d ","logprobs":[]`, i))
	}
	ev("response.output_item.done", `,"output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[]}`)
	ev("response.completed", `,"response":{"id":"resp_1","model":"gpt-5","status":"completed","output":[],"usage":{"input_tokens":10,"output_tokens":200,"total_tokens":210}}`)
	return []byte(b.String())
}
