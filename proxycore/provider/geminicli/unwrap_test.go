package geminicli

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestUnwrap(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"envelope", `{"response":{"candidates":[]},"traceId":"t1"}`, `{"responseId":"t1","candidates":[]}`},
		{"keeps responseId", `{"response":{"responseId":"r","candidates":[]},"traceId":"t1"}`, `{"responseId":"r","candidates":[]}`},
		{"no trace", `{"response":{"candidates":[{"index":0}]}}`, `{"candidates":[{"index":0}]}`},
		{"empty inner", `{"traceId":"t","response":{}}`, `{"responseId":"t"}`},
		{"error passes", `{"error":{"code":500,"message":"x","status":"INTERNAL"}}`, `{"error":{"code":500,"message":"x","status":"INTERNAL"}}`},
		{"plain passes", `{"candidates":[]}`, `{"candidates":[]}`},
		{"not an object", `[1,2]`, `[1,2]`},
		{"response not object", `{"response":"x"}`, `{"response":"x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Unwrap([]byte(tc.in))); got != tc.want {
				t.Errorf("Unwrap(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestUnwrapReader(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"lf", "data: {\"response\":{\"a\":1}}\n\ndata: {\"response\":{\"a\":2}}\n\n", "data: {\"a\":1}\n\ndata: {\"a\":2}\n\n"},
		{"crlf", "data: {\"response\":{\"a\":1}}\r\n\r\n", "data: {\"a\":1}\n\n"},
		{"no space", "data:{\"response\":{\"a\":1}}\n\n", "data: {\"a\":1}\n\n"},
		{"multi-line data", "data: {\"response\":\ndata: {\"a\":1}}\n\n", "data: {\"a\":1}\n\n"},
		{"comments pass", ": keepalive\n\ndata: {\"response\":{}}\n\n", ": keepalive\ndata: {}\n\n"},
		{"last event unterminated", "data: {\"response\":{\"a\":1}}", "data: {\"a\":1}\n\n"},
		{"in-stream error", "data: {\"error\":{\"code\":500}}\n\n", "data: {\"error\":{\"code\":500}}\n\n"},
		{"long line", "data: {\"response\":{\"t\":\"" + strings.Repeat("x", 100_000) + "\"}}\n\n",
			"data: {\"t\":\"" + strings.Repeat("x", 100_000) + "\"}\n\n"},
	}
	for _, tc := range tests {
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader, "half": iotest.HalfReader,
		} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				r := newUnwrapReader(io.NopCloser(wrap(strings.NewReader(tc.in))))
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.want {
					t.Errorf("got %q\nwant %q", got, tc.want)
				}
			})
		}
	}
}

func FuzzUnwrapReader(f *testing.F) {
	f.Add([]byte("data: {\"response\":{\"a\":1},\"traceId\":\"t\"}\r\n\r\n"))
	f.Add([]byte("data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}]}}\n\n: c\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := io.ReadAll(newUnwrapReader(io.NopCloser(bytes.NewReader(data))))
		if err != nil && err != errEventTooLarge {
			t.Fatal(err)
		}
		if len(got) > 2*len(data)+64 {
			t.Fatalf("output grew from %d to %d bytes", len(data), len(got))
		}
	})
}

func benchStream() []byte {
	var b bytes.Buffer
	for range 100 {
		b.WriteString(`data: {"response":{"candidates":[{"content":{"parts":[{"text":"The quick brown fox jumps over the lazy dog. "}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":5,"totalTokenCount":17},"modelVersion":"gemini-2.5-pro","responseId":"abc"},"traceId":"t"}` + "\r\n\r\n")
	}
	return b.Bytes()
}

func BenchmarkUnwrapStream(b *testing.B) {
	data := benchStream()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.Copy(io.Discard, newUnwrapReader(io.NopCloser(bytes.NewReader(data)))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrap(b *testing.B) {
	env := []byte(`{"response":{"candidates":[{"content":{"parts":[{"text":"The quick brown fox."}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-pro"},"traceId":"t"}`)
	b.SetBytes(int64(len(env)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Unwrap(env)
	}
}
