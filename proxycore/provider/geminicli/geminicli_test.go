package geminicli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/exectest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/route"
)

type tokens = accttest.Tokens

const (
	goodToken  = "ya29.fresh-access-token-0123"
	staleToken = "ya29.stale-access-token-9876"
	project    = "my-project-123"
)

func good() *tokens {
	return &accttest.Tokens{Current: oauth.Token{AccessToken: goodToken, Extra: map[string]string{oauth.ExtraProjectID: project}}}
}

func newExec(t *testing.T, base string, ts provider.TokenSource, settings map[string]string) provider.Executor {
	t.Helper()
	s := map[string]string{"base-url": base}
	for k, v := range settings {
		s[k] = v
	}
	e, err := New(provider.AccountOptions{ID: "gcli-1", Label: "me@gmail.com", Tokens: ts, Settings: s, Client: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// relay serves the executor behind the Gemini API paths, so the genai SDK can talk to it.
func relay(t *testing.T, e provider.Executor) *genai.Client {
	t.Helper()
	srv := exectest.Relay(t, func(r *http.Request, body []byte) (*http.Response, error) {
		rest := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		model, method, _ := strings.Cut(rest, ":")
		op := map[string]provider.Op{"generateContent": provider.OpGenerate, "streamGenerateContent": provider.OpStreamGenerate,
			"countTokens": provider.OpGeminiCountTokens}[method]
		return e.Do(r.Context(), &provider.Call{Op: op, Model: model, Stream: op == provider.OpStreamGenerate, Body: body})
	})
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "client-key", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type envelope struct {
	Model        string          `json:"model"`
	Project      *string         `json:"project"`
	UserPromptID string          `json:"user_prompt_id"`
	Request      json.RawMessage `json:"request"`
}

func TestGenerateWrapsAndUnwraps(t *testing.T) {
	up := proxytest.NewCodeAssist(t, proxytest.WithAPIKey(goodToken))
	up.Enqueue(proxytest.Reply{Text: "plain gemini", Usage: proxytest.Usage{InputTokens: 7, OutputTokens: 3}})
	c := relay(t, newExec(t, up.URL, good(), nil))
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-2.5-pro", genai.Text("hi"),
		&genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText("be brief", genai.RoleUser)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "plain gemini" || resp.ResponseID == "" || resp.UsageMetadata.PromptTokenCount != 7 ||
		resp.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Fatalf("response = %+v", resp)
	}
	rec := up.Requests()[0]
	if rec.Path != "/v1internal:generateContent" || rec.Header.Get("Authorization") != "Bearer "+goodToken ||
		!strings.HasPrefix(rec.Header.Get("User-Agent"), "GeminiCLI/"+ClientVersion+"/gemini-2.5-pro (") ||
		rec.Header.Get("X-Goog-Api-Client") == "" || !strings.Contains(rec.Header.Get("Client-Metadata"), "pluginType=GEMINI") {
		t.Errorf("request %s headers %v", rec.Path, rec.Header)
	}
	var env envelope
	if err := json.Unmarshal(rec.Body, &env); err != nil {
		t.Fatal(err)
	}
	if env.Model != "gemini-2.5-pro" || env.Project == nil || *env.Project != project || len(env.UserPromptID) != 36 {
		t.Errorf("envelope = %s", rec.Body)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(env.Request, &inner); err != nil || inner["contents"] == nil || inner["systemInstruction"] == nil {
		t.Errorf("inner request = %s", env.Request)
	}
}

func TestStreamUnwrapsEventByEvent(t *testing.T) {
	up := proxytest.NewCodeAssist(t)
	up.Enqueue(proxytest.Reply{Text: "one two three four", StreamChunks: 4,
		ToolCalls: []proxytest.ToolCall{{Name: "lookup", Arguments: `{"q":"x"}`}}})
	c := relay(t, newExec(t, up.URL, good(), nil))
	var text strings.Builder
	var calls []*genai.FunctionCall
	n := 0
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", genai.Text("hi"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if resp.ResponseID == "" {
			t.Errorf("chunk without responseId: %+v", resp)
		}
		text.WriteString(resp.Text())
		calls = append(calls, resp.FunctionCalls()...)
	}
	if n != 5 || text.String() != "one two three four" || len(calls) != 1 || calls[0].Name != "lookup" || calls[0].Args["q"] != "x" {
		t.Fatalf("chunks %d text %q calls %+v", n, text.String(), calls)
	}
	rec := up.Requests()[0]
	if rec.Path != "/v1internal:streamGenerateContent" || rec.RawQuery != "alt=sse" || rec.Header.Get("Accept") != "text/event-stream" {
		t.Errorf("request %s?%s accept %q", rec.Path, rec.RawQuery, rec.Header.Get("Accept"))
	}
}

func TestProjectSelection(t *testing.T) {
	up := proxytest.NewCodeAssist(t)
	none := &accttest.Tokens{Current: oauth.Token{AccessToken: goodToken}}
	for _, tc := range []struct {
		name     string
		ts       *tokens
		settings map[string]string
		want     string
	}{
		{"token", good(), nil, project},
		{"setting wins", good(), map[string]string{"project-id": "configured"}, "configured"},
		{"none", none, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := newExec(t, up.URL, tc.ts, tc.settings).Do(context.Background(), &provider.Call{
				Op: provider.OpGenerate, Model: "gemini-2.5-pro", Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reqs := up.Requests()
			var env envelope
			_ = json.Unmarshal(reqs[len(reqs)-1].Body, &env)
			got := ""
			if env.Project != nil {
				got = *env.Project
			}
			if got != tc.want || (tc.want == "" && env.Project != nil) {
				t.Errorf("project = %v, want %q", env.Project, tc.want)
			}
		})
	}
}

func TestCountTokens(t *testing.T) {
	up := proxytest.NewCodeAssist(t)
	up.Enqueue(proxytest.Reply{Usage: proxytest.Usage{InputTokens: 42}})
	up.Enqueue(proxytest.Reply{Usage: proxytest.Usage{InputTokens: 9}})
	c := relay(t, newExec(t, up.URL, good(), nil))
	ct, err := c.Models.CountTokens(context.Background(), "gemini-2.5-pro", genai.Text("count me"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct.TotalTokens != 42 {
		t.Errorf("total = %d", ct.TotalTokens)
	}
	var env struct {
		Request struct {
			Model    string          `json:"model"`
			Contents json.RawMessage `json:"contents"`
		} `json:"request"`
	}
	if err := json.Unmarshal(up.Requests()[0].Body, &env); err != nil || env.Request.Model != "models/gemini-2.5-pro" ||
		!strings.Contains(string(env.Request.Contents), "count me") {
		t.Errorf("envelope = %s", up.Requests()[0].Body)
	}
	// The generateContentRequest form of countTokens.
	resp, err := newExec(t, up.URL, good(), nil).Do(context.Background(), &provider.Call{Op: provider.OpGeminiCountTokens, Model: "g",
		Body: []byte(`{"generateContentRequest":{"model":"models/g","contents":[{"role":"user","parts":[{"text":"x"}]}]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"totalTokens":9}` {
		t.Errorf("status %d body %s", resp.StatusCode, b)
	}
}

func TestRefreshOnceAfter401(t *testing.T) {
	up := proxytest.NewCodeAssist(t, proxytest.WithAPIKey(goodToken))
	ts := good()
	ts.Refreshed = []oauth.Token{ts.Current}
	ts.Current.AccessToken = staleToken
	resp, err := newExec(t, up.URL, ts, nil).Do(context.Background(), &provider.Call{Op: provider.OpStreamGenerate, Model: "g", Stream: true,
		Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || ts.Refreshes() != 1 || up.Hits() != 2 || !strings.Contains(string(b), `"candidates"`) ||
		strings.Contains(string(b), `"response"`) {
		t.Fatalf("status %d refreshes %d hits %d body %s", resp.StatusCode, ts.Refreshes(), up.Hits(), b)
	}
	// Still refused after the refresh: the 401 goes back with Google's body.
	ts2 := good()
	ts2.Refreshed = []oauth.Token{ts2.Current}
	ts2.Current.AccessToken, ts2.Refreshed[0].AccessToken = staleToken, "ya29.also-wrong-token-000"
	resp, err = newExec(t, up.URL, ts2, nil).Do(context.Background(), &provider.Call{Op: provider.OpGenerate, Model: "g",
		Body: []byte(`{"contents":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || ts2.Refreshes() != 1 || !strings.Contains(string(b), "UNAUTHENTICATED") {
		t.Fatalf("status %d refreshes %d body %s", resp.StatusCode, ts2.Refreshes(), b)
	}
}

func TestRateLimitKeepsRetryInfo(t *testing.T) {
	up := proxytest.NewCodeAssist(t)
	up.Enqueue(proxytest.Reply{Status: 429, RetryAfter: 30 * time.Second})
	resp, err := newExec(t, up.URL, good(), nil).Do(context.Background(), &provider.Call{Op: provider.OpStreamGenerate, Model: "g", Stream: true,
		Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || !strings.Contains(string(b), "google.rpc.RetryInfo") || !strings.Contains(string(b), "RESOURCE_EXHAUSTED") {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
	now := time.Now()
	until, ok := route.CooldownFromResponse(resp.StatusCode, resp.Header, b, now)
	if !ok || until.Sub(now) < 29*time.Second || until.Sub(now) > 31*time.Second {
		t.Errorf("cooldown until %v (ok=%v)", until.Sub(now), ok)
	}
}

func TestInvalidBodyIsRefusedLocally(t *testing.T) {
	up := proxytest.NewCodeAssist(t)
	resp, err := newExec(t, up.URL, good(), nil).Do(context.Background(), &provider.Call{Op: provider.OpGenerate, Model: "g", Body: []byte(`[1]`)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "INVALID_ARGUMENT") || up.Hits() != 0 {
		t.Fatalf("status %d body %s hits %d", resp.StatusCode, b, up.Hits())
	}
}

func TestCancellationStopsUpstream(t *testing.T) {
	up := proxytest.NewCodeAssist(t)
	resume := make(chan struct{})
	defer close(resume)
	up.Enqueue(proxytest.Reply{Text: "abcdefgh", StreamChunks: 4, PauseAfter: 1, Resume: resume})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := newExec(t, up.URL, good(), nil).Do(ctx, &provider.Call{Op: provider.OpStreamGenerate, Model: "g", Stream: true,
		Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if first := exectest.CancelMidStream(t, resp.Body, cancel, up.WaitCanceled); !strings.HasPrefix(first, `data: {"candidates"`) {
		t.Errorf("first chunk = %q", first)
	}
}

func TestNewAndIdentity(t *testing.T) {
	if _, err := New(provider.AccountOptions{ID: "x", Tokens: good()}); err == nil {
		t.Error("missing client accepted")
	}
	e := newExec(t, "http://127.0.0.1:1", good(), nil)
	if e.Provider() != ID || e.CredentialID() != "gcli-1" || e.(provider.Labeled).Label() != "me@gmail.com" ||
		!e.Supports(provider.OpGenerate) || !e.Supports(provider.OpStreamGenerate) || !e.Supports(provider.OpGeminiCountTokens) ||
		e.Supports(provider.OpChat) {
		t.Error("identity methods")
	}
	if _, err := e.Do(context.Background(), &provider.Call{Op: provider.OpMessages}); err == nil {
		t.Error("unsupported op accepted")
	}
	if len(DefaultModels()) == 0 {
		t.Error("no default models")
	}
}

func TestInStreamErrorPassesThrough(t *testing.T) {
	up := proxytest.NewCodeAssist(t)
	up.Enqueue(proxytest.Reply{Text: "abcdef", StreamChunks: 3, ErrorAfter: 2, ErrorMessage: "backend hiccup"})
	resp, err := newExec(t, up.URL, good(), nil).Do(context.Background(), &provider.Call{Op: provider.OpStreamGenerate, Model: "g", Stream: true,
		Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSpace(string(b)), "\n\n")
	if len(events) != 3 || !strings.HasPrefix(events[0], `data: {"candidates"`) ||
		events[2] != `data: {"error":{"code":500,"message":"backend hiccup","status":"INTERNAL"}}` {
		t.Fatalf("stream:\n%s", b)
	}
}
