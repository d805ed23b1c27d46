package translate

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// TestPumpOverHTTP streams a real upstream body over a loopback HTTP server through Pump.
func TestPumpOverHTTP(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantErr    bool
		wantFinish llm.FinishReason
		wantTail   string
	}{
		{"complete", string(claudeTextStream(3)), false, llm.FinishStop, "data: [DONE]\n\n"},
		{"cut", strings.Split(string(claudeTextStream(3)), "event: message_delta")[0], true, "", "}\n\n"},
		{"malformed", "event: message_start\ndata: {not json\n\n", true, "", "}\n\n"},
		{"upstream error", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", true, "", "}\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			reg := testRegistry()
			var out bytes.Buffer
			writes := 0
			res, err := Pump(resp.Body, reg.Codec(llm.FormatClaude).NewStreamDecoder(),
				reg.Codec(llm.FormatOpenAIChat).NewStreamEncoder(&llm.Request{Model: "m", IncludeUsage: true}),
				func(b []byte) error { writes++; out.Write(b); return nil })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			var le *llm.Error
			if tt.wantErr && !errors.As(err, &le) {
				t.Fatalf("err %T is not *llm.Error", err)
			}
			if res.Finish != tt.wantFinish {
				t.Errorf("finish %q, want %q", res.Finish, tt.wantFinish)
			}
			if !strings.HasSuffix(out.String(), tt.wantTail) {
				t.Errorf("output tail:\n%s", out.String())
			}
			if tt.wantErr && strings.Contains(out.String(), "[DONE]") {
				t.Errorf("failed stream ended like a normal one:\n%s", out.String())
			}
			if !tt.wantErr && (res.Usage.OutputTokens != 200 || writes < 3) {
				t.Errorf("usage %+v writes %d", res.Usage, writes)
			}
		})
	}
}

func TestPumpStopsOnWriteError(t *testing.T) {
	reg := testRegistry()
	boom := errors.New("client gone")
	calls := 0
	_, err := Pump(bytes.NewReader(claudeTextStream(50)), reg.Codec(llm.FormatClaude).NewStreamDecoder(),
		reg.Codec(llm.FormatOpenAIChat).NewStreamEncoder(&llm.Request{Model: "m"}),
		func([]byte) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d writes", err, calls)
	}
}
