package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	s.serveGenerate(w, r, llm.FormatOpenAIChat, provider.OpChat, "chat", "", false)
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	s.serveGenerate(w, r, llm.FormatOpenAICompletions, provider.OpCompletions, "completions", "", false)
}

func (s *Server) handleResponses(w http.ResponseWriter, r *http.Request) {
	s.serveGenerate(w, r, llm.FormatResponses, provider.OpResponses, "responses", "", false)
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	s.serveGenerate(w, r, llm.FormatOpenAIChat, provider.OpEmbeddings, "embeddings", "", false)
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	s.serveGenerate(w, r, llm.FormatClaude, provider.OpMessages, "messages", "", false)
}

func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	s.serveGenerate(w, r, llm.FormatClaude, provider.OpCountTokens, "count_tokens", "", false)
}

// handleGemini serves POST /v1beta/models/{model}:{method} and GET /v1beta/models/{model}.
func (s *Server) handleGemini(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/v1beta/models/")
	if r.Method == http.MethodGet {
		s.handleGeminiModel(w, r, unescape(rest))
		return
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		s.writeError(w, llm.FormatGemini, &llm.Error{Status: http.StatusNotFound, Type: "not_found_error",
			Message: "Expected /v1beta/models/{model}:generateContent, :streamGenerateContent or :countTokens."})
		return
	}
	model, method := unescape(rest[:i]), rest[i+1:]
	switch method {
	case "generateContent":
		s.serveGenerate(w, r, llm.FormatGemini, provider.OpGenerate, "generateContent", model, false)
	case "streamGenerateContent":
		s.serveGenerate(w, r, llm.FormatGemini, provider.OpStreamGenerate, "streamGenerateContent", model, true)
	case "countTokens":
		s.serveGenerate(w, r, llm.FormatGemini, provider.OpGeminiCountTokens, "countTokens", model, false)
	default:
		s.writeError(w, llm.FormatGemini, &llm.Error{Status: http.StatusNotFound, Type: "not_found_error",
			Message: "Method '" + sanitize(method) + "' is not supported; use generateContent, streamGenerateContent or countTokens."})
	}
}

// serveGenerate is the common path of every generation endpoint: read and check the body, find the model,
// then forward across credentials.
func (s *Server) serveGenerate(w http.ResponseWriter, r *http.Request, f llm.Format, op provider.Op, routeName, pathModel string, pathStream bool) {
	start := s.clock.Now()
	rt := s.rt.Load()
	p := principalOf(r)
	rec := &Record{Time: start, RequestID: w.Header().Get("X-Request-Id"), Route: routeName, ClientFormat: f, KeyID: p.KeyID}
	x := &exchange{s: s, rt: rt, w: w, r: r, client: f, op: op, rec: rec}
	defer s.finish(x, p)
	if rt.metricsOn {
		s.gs.metrics.IncInFlight()
		defer s.gs.metrics.DecInFlight()
	}

	if r.ContentLength > rt.maxRequest {
		rec.Status, rec.ErrorClass = http.StatusRequestEntityTooLarge, "request_too_large"
		s.writeError(w, f, errTooLarge(rt.maxRequest))
		return
	}
	body, err := readSized(http.MaxBytesReader(w, r.Body, rt.maxRequest+1), rt.maxRequest, r.ContentLength)
	if err != nil {
		if err == errBodyTooLarge || isMaxBytes(err) {
			rec.Status, rec.ErrorClass = http.StatusRequestEntityTooLarge, "request_too_large"
			s.writeError(w, f, errTooLarge(rt.maxRequest))
			return
		}
		rec.Status, rec.ErrorClass = 499, "client_closed"
		return
	}
	x.body = body
	if f == llm.FormatGemini {
		x.model, x.stream = pathModel, pathStream
		if !translate.ValidJSON(body) {
			x.fail(llm.BadRequest("The request body is not valid JSON; send a GenerateContentRequest object such as {\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"}]}]}."))
			return
		}
	} else {
		model, stream, err := translate.PeekModelStream(body)
		if err != nil {
			x.fail(asLLMError(err))
			return
		}
		if model == "" {
			x.fail(&llm.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "model",
				Message: "The request has no 'model'. Name one of the models listed by GET /v1/models."})
			return
		}
		x.model, x.stream = model, stream && op != provider.OpCountTokens && op != provider.OpEmbeddings
	}
	rec.Model, rec.Stream = x.model, x.stream
	if rt.guardrail {
		if key := clientSideCredential(body); key != "" {
			x.fail(&llm.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: key,
				Message: "The request sets '" + key + "'; this proxy chooses upstreams itself and refuses client-side endpoints or credentials. Remove the field (or set [guardrails] allow-client-side-credentials = true)."})
			return
		}
	}
	if !modelAllowed(p, baseModel(x.model)) {
		x.fail(errForbidden("This key may not use model '" + x.model + "'. Its allow-list is: " + strings.Join(p.Models, ", ") + "."))
		return
	}
	if !x.admit(p) {
		return
	}
	if x.cacheLookup(p) {
		return
	}
	x.forward()
}

// finish stamps the record, settles the gateway bookkeeping and hands the record to the recorder.
func (s *Server) finish(x *exchange, p *Principal) {
	rec := x.rec
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	rec.Latency = s.clock.Now().Sub(rec.Time)
	// Send the answer before the bookkeeping (pricing, spend row, metrics, recorder), so none of it
	// adds to the client's latency.
	if f, ok := x.w.(http.Flusher); ok && x.rec.Status != 499 {
		f.Flush()
	}
	s.settle(x, p)
	if s.opts.Recorder != nil {
		s.opts.Recorder.Record(rec)
	}
}

func isMaxBytes(err error) bool {
	_, ok := err.(*http.MaxBytesError)
	return ok
}

var (
	apiBaseKey = []byte(`"api_base"`)
	baseURLKey = []byte(`"base_url"`)
)

// clientSideCredential returns "api_base" or "base_url" when the body sets one at its top level.
func clientSideCredential(body []byte) string {
	if !mentionsClientSideEndpoint(body) {
		return ""
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return ""
	}
	for _, k := range []string{"api_base", "base_url", "api_key"} {
		if _, ok := top[k]; ok {
			return k
		}
	}
	return ""
}

// mentionsClientSideEndpoint reports whether body contains `"api_base"` or `"base_url"` anywhere. It
// looks at each '_', which is rare in prompts, rather than at each quote, which both start with.
func mentionsClientSideEndpoint(body []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(body[i:], '_')
		if j < 0 {
			return false
		}
		j += i
		if j >= 4 && bytes.HasPrefix(body[j-4:], apiBaseKey) || j >= 5 && bytes.HasPrefix(body[j-5:], baseURLKey) {
			return true
		}
		i = j + 1
	}
}

// modelAllowed checks a virtual key's model allow-list (shell-style wildcards).
func modelAllowed(p *Principal, model string) bool {
	if len(p.Models) == 0 {
		return true
	}
	for _, pat := range p.Models {
		if wildcardMatch(pat, model) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against a pattern where '*' stands for any run of characters.
func wildcardMatch(pat, s string) bool {
	for {
		i := strings.IndexByte(pat, '*')
		if i < 0 {
			return pat == s
		}
		if !strings.HasPrefix(s, pat[:i]) {
			return false
		}
		s, pat = s[i:], pat[i+1:]
		if pat == "" {
			return true
		}
		for j := 0; j <= len(s); j++ {
			if wildcardMatch(pat, s[j:]) {
				return true
			}
		}
		return false
	}
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
