package proxytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Code Assist (cloudcode-pa v1internal) wire facts, from google-gemini/gemini-cli
// packages/core/src/code_assist/server.ts and converter.ts: POST /v1internal:generateContent,
// :streamGenerateContent?alt=sse and :countTokens with a bearer token; generate requests are
// CAGenerateContentRequest {model, project?, user_prompt_id?, request: <GenerateContentRequest plus
// session_id and labels>}, answered by CaGenerateContentResponse {response: <GenerateContentResponse>,
// traceId?}, one per SSE data line when streaming; countTokens takes {request: {model: "models/<m>",
// contents}} and answers {totalTokens}. Errors are Google errors {"error":{code,message,status,details}},
// a 429 with google.rpc.RetryInfo (WIRE.md §4.5). The fake reuses the Gemini fake for the inner request
// and answer, and wraps or unwraps the envelope around it.

// NewCodeAssist starts a Code Assist fake and closes it when the test ends. WithAPIKey makes it require
// "Authorization: Bearer <key>"; a wrong or missing token gets 401 UNAUTHENTICATED.
func NewCodeAssist(t testing.TB, opts ...Option) *Upstream {
	t.Helper()
	u, err := StartCodeAssist(opts...)
	if err != nil {
		t.Fatalf("starting Code Assist fake: %v", err)
	}
	t.Cleanup(u.Close)
	return u
}

// StartCodeAssist starts a Code Assist fake outside tests; the caller must Close it.
func StartCodeAssist(opts ...Option) (*Upstream, error) {
	u, err := start(vendorGemini, opts)
	if err != nil {
		return nil, err
	}
	u.mux.HandleFunc("POST /v1internal:generateContent", u.codeAssistAuth(func(w http.ResponseWriter, r *http.Request) {
		u.codeAssistGenerate(w, r, false)
	}))
	u.mux.HandleFunc("POST /v1internal:streamGenerateContent", u.codeAssistAuth(func(w http.ResponseWriter, r *http.Request) {
		u.codeAssistGenerate(w, r, true)
	}))
	u.mux.HandleFunc("POST /v1internal:countTokens", u.codeAssistAuth(u.codeAssistCount))
	return u, nil
}

func (u *Upstream) codeAssistAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if u.cfg.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+u.cfg.apiKey {
			writeGeminiError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
				"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.", nil)
			return
		}
		next(w, r)
	}
}

// codeAssistTrace is the traceId the fake puts on every envelope.
const codeAssistTrace = "fake-trace-id"

func (u *Upstream) codeAssistGenerate(w http.ResponseWriter, r *http.Request, streaming bool) {
	var env struct {
		Model        string          `json:"model"`
		Project      string          `json:"project"`
		UserPromptID string          `json:"user_prompt_id"`
		Request      json.RawMessage `json:"request"`
	}
	body := bodyOf(r)
	bad := func(msg string) {
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, badRequest(msg))
	}
	if err := json.Unmarshal(body, &env); err != nil {
		bad("Invalid JSON payload received. Unexpected token.")
		return
	}
	if m := unknownMember(body, setOf([]string{"model", "project", "user_prompt_id", "request"})); m != "" {
		bad("Invalid JSON payload received. Unknown name \"" + m + "\": Cannot find field.")
		return
	}
	if env.Model == "" || len(env.Request) == 0 || env.Request[0] != '{' {
		bad("model and request are required")
		return
	}
	// session_id and labels are Vertex fields the Gemini API shape lacks; drop them before checking.
	var inner map[string]json.RawMessage
	_ = json.Unmarshal(env.Request, &inner)
	delete(inner, "session_id")
	delete(inner, "labels")
	plain, _ := json.Marshal(inner)
	stateOf(r).body = plain
	cw := &caWriter{w: w, rc: http.NewResponseController(w), stream: streaming}
	u.geminiGenerate(cw, r, env.Model, streaming)
	cw.finish()
}

func (u *Upstream) codeAssistCount(w http.ResponseWriter, r *http.Request) {
	var env struct {
		Request *struct {
			Model    string          `json:"model"`
			Contents json.RawMessage `json:"contents"`
		} `json:"request"`
	}
	body := bodyOf(r)
	if json.Unmarshal(body, &env) != nil || env.Request == nil || !strings.HasPrefix(env.Request.Model, "models/") ||
		unknownMember(body, setOf([]string{"request"})) != "" {
		msg := "Invalid JSON payload received. Expected {request: {model: \"models/<model>\", contents}}."
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, badRequest(msg))
		return
	}
	stateOf(r).body = encode(obj{{"contents", raw(env.Request.Contents)}})
	// Code Assist answers only {totalTokens}; the Gemini fake's promptTokensDetails is dropped.
	cw := &caWriter{w: w, rc: http.NewResponseController(w), count: true}
	u.geminiCountTokens(cw, r, strings.TrimPrefix(env.Request.Model, "models/"))
	cw.finish()
}

// caWriter wraps the Gemini fake's 200 answers in the Code Assist envelope: a JSON body becomes
// {"response":<body>,"traceId":…}; each SSE data line becomes data: {"response":<data>,"traceId":…},
// rewritten line by line as the Gemini fake flushes. Error answers pass through unchanged.
type caWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	stream bool
	count  bool
	status int
	body   []byte // buffered non-stream body, or the partial line of a stream
}

func (c *caWriter) Header() http.Header { return c.w.Header() }

func (c *caWriter) WriteHeader(status int) {
	c.status = status
	if status != http.StatusOK || c.stream {
		c.w.WriteHeader(status)
	}
}

func (c *caWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.status != http.StatusOK {
		return c.w.Write(p)
	}
	c.body = append(c.body, p...)
	if !c.stream {
		return len(p), nil
	}
	for {
		i := bytes.IndexByte(c.body, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := c.body[:i+1]
		out := line
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok && !bytes.HasPrefix(data, []byte(`{"error"`)) {
			eol := "\n"
			if bytes.HasSuffix(line, []byte("\r\n")) {
				eol = "\r\n"
			}
			out = append([]byte(`data: {"response":`), bytes.TrimRight(data, "\r\n")...)
			out = append(out, `,"traceId":"`+codeAssistTrace+`"}`+eol...)
		}
		if _, err := c.w.Write(out); err != nil {
			return 0, err
		}
		c.body = c.body[i+1:]
	}
}

// FlushError lets the Gemini fake's stream flush through the wrapper.
func (c *caWriter) FlushError() error { return c.rc.Flush() }

// finish writes a buffered non-stream body.
func (c *caWriter) finish() {
	if c.stream || c.status != http.StatusOK {
		return
	}
	var out []byte
	if c.count {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(c.body, &m)
		out = encode(obj{{"totalTokens", raw(m["totalTokens"])}})
	} else {
		out = append(append([]byte(`{"response":`), bytes.TrimSpace(c.body)...), `,"traceId":"`+codeAssistTrace+`"}`...)
	}
	c.w.Header().Del("Content-Length")
	writeJSON(c.w, http.StatusOK, out)
}
