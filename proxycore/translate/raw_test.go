package translate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

func TestPeekModelStream(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		model      string
		stream     bool
		wantStatus int
	}{
		{"basic", `{"model":"gpt-5","stream":true,"messages":[]}`, "gpt-5", true, 0},
		{"nested model ignored", `{"messages":[{"model":"x","stream":true}],"model":"m"}`, "m", false, 0},
		{"escaped key and value", `{"mod\u0065l":"a\"b","stream":false}`, `a"b`, false, 0},
		{"strings with braces", `{"x":"}{\"model\":1","model":"ok"}`, "ok", false, 0},
		{"no model", `{"stream":true}`, "", true, 0},
		{"bad json", `{"model":`, "", false, 400},
		{"not object", `[1]`, "", false, 400},
		{"model not string", `{"model":5}`, "", false, 400},
		{"stream not bool", `{"model":"a","stream":"yes"}`, "", false, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, s, err := PeekModelStream([]byte(tt.body))
			if tt.wantStatus != 0 {
				var le *llm.Error
				if !errors.As(err, &le) || le.Status != tt.wantStatus {
					t.Fatalf("err = %v, want status %d", err, tt.wantStatus)
				}
				return
			}
			if err != nil || m != tt.model || s != tt.stream {
				t.Fatalf("got (%q, %v, %v), want (%q, %v)", m, s, err, tt.model, tt.stream)
			}
		})
	}
}

func TestSetModel(t *testing.T) {
	tests := []struct{ name, body, model, want string }{
		{"replace", `{"model":"a","x":{"model":"keep"}}`, "b", `{"model":"b","x":{"model":"keep"}}`},
		{"keeps formatting", "{\n  \"stream\": true,\n  \"model\": \"a\"\n}", "z", "{\n  \"stream\": true,\n  \"model\": \"z\"\n}"},
		{"insert", `{"x":1}`, "m", `{"model":"m","x":1}`},
		{"insert empty", `{ }`, "m", `{"model":"m" }`},
		{"escape", `{"model":"a"}`, `q"<`, `{"model":"q\"<"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetModel([]byte(tt.body), tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatal("invalid JSON")
			}
		})
	}
	if _, err := SetModel([]byte(`{"model":`), "x"); err == nil {
		t.Fatal("want error for invalid JSON")
	}
}

func TestModelSuffix(t *testing.T) {
	tests := []struct {
		model, base, effort string
		budget              int
		ok                  bool
	}{
		{"gemini-2.5-pro(high)", "gemini-2.5-pro", "high", 0, true},
		{"claude(8192)", "claude", "", 8192, true},
		{"m(-1)", "m", "", -1, true},
		{"m(bogus)", "m(bogus)", "", 0, false},
		{"plain", "plain", "", 0, false},
		{"(high)", "(high)", "", 0, false},
	}
	for _, tt := range tests {
		base, effort, budget, ok := ParseModelSuffix(tt.model)
		if base != tt.base || effort != tt.effort || budget != tt.budget || ok != tt.ok {
			t.Errorf("ParseModelSuffix(%q) = %q %q %d %v", tt.model, base, effort, budget, ok)
		}
	}
	req := &llm.Request{Model: "gpt-5(low)"}
	ApplyModelSuffix(req)
	if req.Model != "gpt-5" || req.Reasoning == nil || req.Reasoning.Effort != "low" {
		t.Fatalf("ApplyModelSuffix: %+v %+v", req, req.Reasoning)
	}
	req = &llm.Request{Model: "c(0)"}
	ApplyModelSuffix(req)
	if req.Reasoning.Effort != "none" || req.Reasoning.IncludeThoughts {
		t.Fatalf("budget 0: %+v", req.Reasoning)
	}
	req = &llm.Request{Model: "c(0)", SourceFormat: llm.FormatClaude, Reasoning: &llm.Reasoning{Adaptive: true}}
	ApplyModelSuffix(req)
	body, err := testRegistry().Codec(llm.FormatClaude).EncodeRequest(req)
	if err != nil || strings.Contains(string(body), "thinking") {
		t.Fatalf("suffix (0) on adaptive thinking: %s %v", body, err)
	}
	req = &llm.Request{Model: "c(4096)"}
	ApplyModelSuffix(req)
	if *req.Reasoning.BudgetTokens != 4096 {
		t.Fatalf("budget: %+v", req.Reasoning)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\", "ctl\x00\x1f\n\r\t", "héllo ✓", "bad\xff\xfe", "ls\u2028ps\u2029", "<&>"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> %s invalid: %v", s, got, err)
		}
		want := s
		if s == "bad\xff\xfe" {
			want = "bad\ufffd\ufffd"
		}
		if back != want {
			t.Errorf("%q round-tripped to %q", s, back)
		}
	}
}

func TestIncludeStreamUsage(t *testing.T) {
	cases := []struct {
		name, in, want string
		added          bool
	}{
		{"absent", `{"model":"m","stream":true}`, `{"stream_options":{"include_usage":true},"model":"m","stream":true}`, true},
		{"null", `{"model":"m","stream_options":null}`, `{"model":"m","stream_options":{"include_usage":true}}`, true},
		{"false", `{"model":"m","stream_options":{"include_usage":false}}`, `{"model":"m","stream_options":{"include_usage":true}}`, true},
		{"other options kept", `{"stream_options":{"include_obfuscation":false},"model":"m"}`,
			`{"stream_options":{"include_obfuscation":false,"include_usage":true},"model":"m"}`, true},
		{"already asked", `{"model":"m","stream_options":{"include_usage":true}}`, `{"model":"m","stream_options":{"include_usage":true}}`, false},
		{"empty object", `{}`, `{"stream_options":{"include_usage":true}}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, added, err := IncludeStreamUsage([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want || added != tc.added {
				t.Errorf("got %s (added %v), want %s (added %v)", out, added, tc.want, tc.added)
			}
		})
	}
	if _, _, err := IncludeStreamUsage([]byte(`{"stream_options":7}`)); err == nil {
		t.Error("a non-object stream_options was accepted")
	}
}
