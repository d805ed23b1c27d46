package kiro

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// FuzzDecoder feeds arbitrary bytes through the frame decoder, the event converter and the Claude SSE
// encoder: nothing may panic, and no frame over MaxFrameSize is ever buffered.
func FuzzDecoder(f *testing.F) {
	f.Add(frames(f))
	f.Add(vectorNoHeaders)
	f.Add(proxytest.KiroException("ThrottlingException", "slow down"))
	f.Add(proxytest.KiroEvent("toolUseEvent", []byte(`{"name":"x","toolUseId":"t","input":{"a":1},"stop":true}`)))
	f.Add(proxytest.KiroEvent("assistantResponseEvent", []byte(`not json`)))
	f.Add(append(proxytest.KiroEvent("assistantResponseEvent", []byte(`{"content":"<thinking>\nhm</thin"}`)),
		proxytest.KiroEvent("assistantResponseEvent", []byte(`{"content":"king>\n\nok"}`))...))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 5, 194, 72, 235, 0, 0, 0, 0})
	codec := translate.New().Codec(llm.FormatClaude)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Odd-length inputs also run the <thinking> splitter.
		out0 := &claudeOut{codec: codec, model: "m", req: &llm.Request{}, thinking: len(data)%2 == 1}
		body := &sseBody{ctx: context.Background(), up: io.NopCloser(nil), dec: NewDecoder(bytes.NewReader(data)),
			enc: codec.NewStreamEncoder(&llm.Request{Model: "m"}), model: "m", conv: out0.converter()}
		out, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if n := cap(body.dec.buf); n > 2*MaxFrameSize {
			t.Fatalf("decoder buffered %d bytes", n)
		}
		if !bytes.HasPrefix(out, []byte("event: message_start")) && !bytes.HasPrefix(out, []byte("event: error")) {
			t.Fatalf("stream starts with neither message_start nor error: %q", out)
		}
		if bytes.Contains(out, []byte("event: error")) == bytes.Contains(out, []byte("event: message_stop")) {
			t.Fatalf("stream must end with exactly one of error and message_stop: %q", out)
		}
		// The same bytes through the non-stream path.
		resp, err := out0.aggregate(context.Background(),
			&http.Response{Body: io.NopCloser(bytes.NewReader(data))})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
}

func BenchmarkDecodeFrames(b *testing.B) {
	var buf bytes.Buffer
	for range 100 {
		buf.Write(proxytest.KiroEvent("assistantResponseEvent", []byte(`{"content":"The quick brown fox jumps over the lazy dog. "}`)))
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var f Frame
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data))
		for d.Next(&f) == nil {
		}
	}
}

func BenchmarkStreamToClaudeSSE(b *testing.B) {
	var buf bytes.Buffer
	for range 100 {
		buf.Write(proxytest.KiroEvent("assistantResponseEvent", []byte(`{"content":"The quick brown fox jumps over the lazy dog. "}`)))
	}
	buf.Write(proxytest.KiroEvent("toolUseEvent", []byte(`{"name":"read","toolUseId":"t1","input":"{\"path\":\"a\"}","stop":true}`)))
	data := buf.Bytes()
	codec := translate.New().Codec(llm.FormatClaude)
	req := &llm.Request{Model: "claude-sonnet-4-5"}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		body := &sseBody{ctx: context.Background(), up: io.NopCloser(nil), dec: NewDecoder(bytes.NewReader(data)),
			enc: codec.NewStreamEncoder(req), model: req.Model}
		if _, err := io.Copy(io.Discard, body); err != nil {
			b.Fatal(err)
		}
	}
}
