package codex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// stream builds a Codex-style event stream: deltas, the finished items, and a terminal event whose
// output is empty (or full when fullFinal is set).
func stream(deltas int, fullFinal bool) []byte {
	var b bytes.Buffer
	ev := func(typ, body string) {
		fmt.Fprintf(&b, "event: %s\ndata: {\"type\":%q,%s}\n\n", typ, typ, body)
	}
	ev("response.created", `"response":{"id":"resp_1","status":"in_progress","output":[]}`)
	msg := `{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"` + strings.Repeat("word ", deltas) + `"}]}`
	fc := `{"id":"fc_1","type":"function_call","status":"completed","name":"run","call_id":"call_1","arguments":"{\"cmd\":\"ls\"}"}`
	for i := 0; i < deltas; i++ {
		ev("response.output_text.delta", `"item_id":"msg_1","output_index":0,"content_index":0,"delta":"word "`)
	}
	// Items finish out of order on purpose: output_index decides.
	ev("response.output_item.done", `"output_index":1,"item":`+fc)
	ev("response.output_item.done", `"output_index":0,"item":`+msg)
	final := `[]`
	if fullFinal {
		final = `[` + msg + `]`
	}
	ev("response.completed", `"response":{"id":"resp_1","object":"response","status":"completed","output":`+final+`,"usage":{"input_tokens":5,"output_tokens":7,"total_tokens":12}}`)
	return b.Bytes()
}

func upstream(body []byte) *http.Response {
	h := http.Header{}
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Request-Id", "req_1")
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader(body))}
}

func TestAggregateFillsOutputInIndexOrder(t *testing.T) {
	cases := []struct {
		name      string
		fullFinal bool
		types     []string
	}{
		{"empty final output", false, []string{"message", "function_call"}},
		{"final output kept when present", true, []string{"message"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := aggregate(upstream(stream(3, tc.fullFinal)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			var got struct {
				Output []struct{ Type string }   `json:"output"`
				Usage  struct{ TotalTokens int } `json:"usage"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			var types []string
			for _, o := range got.Output {
				types = append(types, o.Type)
			}
			if fmt.Sprint(types) != fmt.Sprint(tc.types) {
				t.Errorf("output types %v, want %v", types, tc.types)
			}
			if resp.Header.Get("X-Request-Id") != "req_1" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

func TestAggregateFailures(t *testing.T) {
	cases := []struct {
		name   string
		events string
		status int
	}{
		{"usage limit in stream", `data: {"type":"response.failed","response":{"status":"failed","error":{"type":"usage_limit_reached","message":"limit","resets_in_seconds":60}}}` + "\n\n", 429},
		{"context too long", `data: {"type":"error","code":"context_length_exceeded","message":"too long"}` + "\n\n", 400},
		{"server error", "event: error\ndata: {\"type\":\"error\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}\n\n", 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := aggregate(upstream([]byte(tc.events)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !json.Valid(body) || !bytes.HasPrefix(body, []byte(`{"error":{`)) {
				t.Errorf("status %d body %s", resp.StatusCode, body)
			}
		})
	}
	if _, err := aggregate(upstream([]byte("data: {\"type\":\"response.created\"}\n\n"))); err == nil {
		t.Error("a stream without a terminal event must fail")
	}
}

func BenchmarkAggregate(b *testing.B) {
	body := stream(400, false)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := aggregate(upstream(body))
		if err != nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
	}
}
