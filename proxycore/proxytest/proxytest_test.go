package proxytest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"
)

func TestCancelMidStreamIsCounted(t *testing.T) {
	u := NewOpenAI(t)
	u.Enqueue(Reply{PauseAfter: 2}) // no Resume: waits until the client leaves
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := openAIClient(u, testKey, 0)
	st := c.Chat.Completions.NewStreaming(ctx, chatParams("m"))
	for i := 0; i < 2; i++ {
		if !st.Next() {
			t.Fatalf("chunk %d missing: %v", i, st.Err())
		}
	}
	cancel()
	for st.Next() {
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := u.WaitCanceled(wctx, 1); err != nil {
		t.Fatal(err)
	}
}

func TestCompletedRequestsAreNotCanceled(t *testing.T) {
	u := NewAnthropic(t)
	c := anthropicClient(u, testKey)
	for i := 0; i < 3; i++ {
		if _, err := c.Messages.New(context.Background(), msgParams("m")); err != nil {
			t.Fatal(err)
		}
	}
	if u.Canceled() != 0 || u.Hits() != 3 {
		t.Errorf("canceled %d hits %d", u.Canceled(), u.Hits())
	}
}

func TestCloseReleasesGatedRequests(t *testing.T) {
	u, err := StartGemini()
	if err != nil {
		t.Fatal(err)
	}
	u.SetDefault(Reply{FirstByteGate: make(chan struct{})})
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Post(u.URL+"/v1beta/models/g:generateContent", "application/json",
			strings.NewReader(`{"contents":[{"parts":[{"text":"x"}]}]}`))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := u.WaitHits(ctx, 1); err != nil {
		t.Fatal(err)
	}
	u.Close()
	u.Close() // idempotent
	select {
	case <-errc:
	case <-ctx.Done():
		t.Fatal("request still blocked after Close")
	}
}

func TestSetDefaultQueueAndHeaders(t *testing.T) {
	u := NewOpenAI(t)
	c := openAIClient(u, testKey, 0)
	ask := func() string {
		t.Helper()
		got, err := c.Chat.Completions.New(context.Background(), chatParams("m"))
		if err != nil {
			t.Fatal(err)
		}
		return got.Choices[0].Message.Content
	}
	if got := ask(); got != OpenAIText {
		t.Fatalf("default = %q", got)
	}
	u.SetDefault(Reply{Text: "new default"}) // must replace the cached default body
	u.Enqueue(Reply{Text: "first"})
	u.Enqueue(Reply{Text: "second"})
	for _, want := range []string{"first", "second", "new default", "new default"} {
		if got := ask(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}

	u.Enqueue(Reply{Headers: http.Header{"X-Fake": {"yes"}}, FirstByteDelay: time.Millisecond})
	var resp *http.Response
	if _, err := c.Chat.Completions.New(context.Background(), chatParams("m"), option.WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Fake") != "yes" || resp.Header.Get("x-ratelimit-limit-requests") == "" {
		t.Errorf("headers = %v", resp.Header)
	}
}

func TestOpenAICompatibleBasePath(t *testing.T) {
	u := NewOpenAICompatible(t, WithBasePath("/api/v1"), WithAPIKey(testKey))
	c := openai.NewClient(option.WithBaseURL(u.URL+"/api/v1/"), option.WithAPIKey(testKey), option.WithMaxRetries(0))
	got, err := c.Chat.Completions.New(context.Background(), chatParams("deepseek-chat"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "deepseek-chat" {
		t.Errorf("model = %q", got.Model)
	}
	resp, err := http.Post(u.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/v1 on a /api/v1 fake: status %d", resp.StatusCode)
	}
}

func TestStartOpenAIOutsideTests(t *testing.T) {
	u, err := StartOpenAI(WithModels("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	resp, err := http.Get(u.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != "a" {
		t.Errorf("models = %+v", list)
	}
	if u.Hits() != 1 {
		t.Errorf("hits = %d", u.Hits())
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want []string
	}{
		{"even", "abcdef", 3, []string{"ab", "cd", "ef"}},
		{"uneven", "abcde", 2, []string{"abc", "de"}},
		{"more chunks than runes", "ab", 5, []string{"a", "b"}},
		{"multibyte", "héllo", 2, []string{"hél", "lo"}},
		{"empty", "", 3, nil},
		{"zero n", "abc", 0, []string{"abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.in, tt.n)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("splitText(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"ordered object", obj{{"b", 1}, {"a", "x"}}, `{"b":1,"a":"x"}`},
		{"nested and null", obj{{"o", obj{{"n", nil}}}, {"l", []any{true, int64(2)}}}, `{"o":{"n":null},"l":[true,2]}`},
		{"escapes", "q\"b\\n\nt\tc\x01<&>", `"q\"b\\n\nt\tc\u0001<&>"`},
		{"invalid utf8", "a\xffb", `"a\ufffdb"`},
		{"line separator", "a\u2028b", `"a\u2028b"`},
		{"raw", raw(`{"k":[1]}`), `{"k":[1]}`},
		{"fallback", []string{"x"}, `["x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(encode(tt.in)); got != tt.want {
				t.Errorf("encode = %s, want %s", got, tt.want)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"\\", "\x00\x1f", "\xff\xfe", "héllo\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, ref string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		b, _ := json.Marshal(s)
		_ = json.Unmarshal(b, &ref)
		if got != ref {
			t.Fatalf("round trip %q -> %q, encoding/json gives %q", s, got, ref)
		}
	})
}

func TestUnknownRoutes(t *testing.T) {
	tests := []struct {
		name string
		u    *Upstream
		want string
	}{
		{"openai", NewOpenAI(t), `"type":"invalid_request_error"`},
		{"anthropic", NewAnthropic(t), `"type":"not_found_error"`},
		{"gemini", NewGemini(t), `"status":"NOT_FOUND"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(tt.u.URL + "/nowhere")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 404 || !strings.Contains(string(b), tt.want) {
				t.Errorf("%d %s", resp.StatusCode, b)
			}
		})
	}
}

func TestWaitHonoursContext(t *testing.T) {
	u := NewOpenAI(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := u.WaitHits(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestRecordLimit(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want []string
	}{
		{"keeps the most recent", WithRecordLimit(2), []string{"m2", "m3"}},
		{"negative limit", WithRecordLimit(-1), nil},
		{"without recording", WithoutRecording(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewOpenAI(t, tt.opt)
			c := openAIClient(u, testKey, 0)
			for _, m := range []string{"m1", "m2", "m3"} {
				if _, err := c.Chat.Completions.New(context.Background(), chatParams(m)); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, r := range u.Requests() {
				var b struct{ Model string }
				_ = json.Unmarshal(r.Body, &b)
				got = append(got, b.Model)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") || u.Hits() != 3 {
				t.Errorf("recorded %v (hits %d), want %v", got, u.Hits(), tt.want)
			}
		})
	}
}

func TestInStreamErrors(t *testing.T) {
	rep := Reply{ErrorAfter: 2, ErrorMessage: "boom"}
	t.Run("openai chat", func(t *testing.T) {
		u := NewOpenAI(t)
		u.Enqueue(rep)
		c := openAIClient(u, testKey, 0)
		st := c.Chat.Completions.NewStreaming(context.Background(), chatParams("m"))
		n := 0
		for st.Next() {
			n++
		}
		if n != 2 || st.Err() == nil || !strings.Contains(st.Err().Error(), "boom") {
			t.Errorf("%d chunks, err %v", n, st.Err())
		}
	})
	t.Run("responses", func(t *testing.T) {
		u := NewOpenAI(t)
		u.Enqueue(rep)
		c := openAIClient(u, testKey, 0)
		st := c.Responses.NewStreaming(context.Background(), respParams("m"))
		var types []string
		var last string
		for st.Next() {
			ev := st.Current()
			types = append(types, ev.Type)
			last = ev.Message
		}
		if st.Err() != nil || len(types) != 3 || types[2] != "error" || last != "boom" {
			t.Errorf("events %v message %q err %v", types, last, st.Err())
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		u := NewAnthropic(t)
		u.Enqueue(rep)
		c := anthropicClient(u, testKey)
		st := c.Messages.NewStreaming(context.Background(), msgParams("m"))
		for st.Next() {
		}
		if st.Err() == nil || !strings.Contains(st.Err().Error(), "boom") {
			t.Errorf("err %v", st.Err())
		}
	})
	t.Run("gemini", func(t *testing.T) {
		u := NewGemini(t)
		u.Enqueue(rep)
		c := geminiClient(t, u, testKey)
		n := 0
		var streamErr error
		for _, err := range c.Models.GenerateContentStream(context.Background(), "g", genai.Text("hi"), nil) {
			if err != nil {
				streamErr = err
				break
			}
			n++
		}
		var apiErr genai.APIError
		if n != 2 || !errors.As(streamErr, &apiErr) || apiErr.Code != 500 || apiErr.Message != "boom" {
			t.Errorf("%d chunks, err %v", n, streamErr)
		}
	})
}

func FuzzGeminiFieldCheck(f *testing.F) {
	f.Add([]byte(`{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"object","properties":{"a":{"type":["x"]}}}}]}]}`))
	f.Add([]byte(`{"generation_config":{"x":1}}`))
	f.Add([]byte(`[1,2]`))
	shape := geminiRequestShape()
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := checkFields(shape, data, "")
		if msg != "" && !strings.HasPrefix(msg, "Invalid JSON payload received. Unknown name ") {
			t.Fatalf("unexpected message %q", msg)
		}
	})
}

func TestBasePathVariants(t *testing.T) {
	tests := []struct {
		name, base, path string
	}{
		{"copilot style, no prefix", "", "/chat/completions"},
		{"codex style", "/backend-api/codex", "/backend-api/codex/responses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewOpenAICompatible(t, WithBasePath(tt.base))
			body := `{"model":"m","input":"x","messages":[{"role":"user","content":"x"}]}`
			resp, err := http.Post(u.URL+tt.path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
}

func TestScriptedHeadersOverrideRateLimitHeaders(t *testing.T) {
	u := NewOpenAI(t)
	u.Enqueue(Reply{Headers: http.Header{"X-Ratelimit-Remaining-Requests": {"7"}}})
	resp, err := http.Post(u.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Values("x-ratelimit-remaining-requests"); len(got) != 1 || got[0] != "7" {
		t.Errorf("x-ratelimit-remaining-requests = %v", got)
	}
	if resp.Header.Get("x-ratelimit-limit-requests") != "500" {
		t.Errorf("headers = %v", resp.Header)
	}
}

// BenchmarkFakeHandlers measures each fake's own cost per default reply, without the network.
func BenchmarkFakeHandlers(b *testing.B) {
	cases := []struct {
		name  string
		start func(...Option) (*Upstream, error)
		path  string
		body  string
		hdr   string
	}{
		{"anthropic", StartAnthropic, "/v1/messages", `{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`, "anthropic-version"},
		{"anthropic stream", StartAnthropic, "/v1/messages", `{"model":"m","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "anthropic-version"},
		{"gemini", StartGemini, "/v1beta/models/g:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, ""},
		{"gemini stream", StartGemini, "/v1beta/models/g:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, ""},
		{"responses stream", StartOpenAI, "/v1/responses", `{"model":"m","input":"hi","stream":true}`, ""},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			u, err := bc.start(WithoutRecording())
			if err != nil {
				b.Fatal(err)
			}
			defer u.Close()
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bc.path, strings.NewReader(bc.body))
				if bc.hdr != "" {
					req.Header.Set(bc.hdr, "2023-06-01")
				}
				rec := httptest.NewRecorder()
				u.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

func TestUnknownMember(t *testing.T) {
	known := setOf([]string{"model", "messages"})
	tests := []struct {
		name, body, want string
	}{
		{"all known", `{"model":"m","messages":[{"role":"user","content":"top_k"}]}`, ""},
		{"nested names ignored", `{"model":{"top_k":1},"messages":[{"x":{"y":2}}]}`, ""},
		{"first unknown in order", `{"model":"m","b":1,"a":2}`, "b"},
		{"string values with quotes and commas", `{"model":"a\",\"top_k\":\"","messages":[]}`, ""},
		{"escaped key", `{"mo\"del":1}`, `mo\"del`},
		{"whitespace", "{ \"model\" : 1 ,\n \"zz\" : [ ] }", "zz"},
		{"not an object", `[1,"a"]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unknownMember([]byte(tt.body), known); got != tt.want {
				t.Errorf("unknownMember(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func FuzzUnknownMember(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":[1,"x"]}}`))
	f.Add([]byte(`{"model":"m\"x","z":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, ok := members(body)
		if !ok || !json.Valid(body) {
			return
		}
		got := unknownMember(body, fieldSet{})
		var want string
		if len(ms) > 0 {
			want = ms[0].name
		}
		if strings.Contains(got, `\`) {
			return // escaped keys are compared raw
		}
		if got != want {
			t.Fatalf("unknownMember(%s) = %q, first member is %q", body, got, want)
		}
	})
}
