package proxytest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Gemini wire facts: WIRE.md §0, §4 (generateContent request, response, alt=sse streaming with CRLF
// framing, error body with google.rpc details, countTokens, models) and the google.golang.org/genai
// v1.77.0 types GenerateContentResponse, GenerateContentResponseUsageMetadata and APIError.

// defaultGeminiModels is the catalog GET /v1beta/models lists when WithModels is not used.
var defaultGeminiModels = []string{"gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview"}

func (u *Upstream) routeGemini() {
	u.geminiReq = geminiRequestShape()
	u.geminiCount = geminiCountShape(u.geminiReq)
	for _, v := range []string{"/v1beta", "/v1"} {
		u.mux.HandleFunc("POST "+v+"/models/{rest...}", u.geminiAuth(u.geminiPost))
		u.mux.HandleFunc("GET "+v+"/models", u.geminiAuth(u.geminiModels))
		u.mux.HandleFunc("GET "+v+"/models/{rest...}", u.geminiAuth(u.geminiModel))
	}
	u.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeGeminiError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", nil)
	})
}

// geminiStatus maps an HTTP status to the google.rpc status name (WIRE.md §4.5).
func geminiStatus(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 501:
		return "UNIMPLEMENTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	if code >= 500 {
		return "INTERNAL"
	}
	return "INVALID_ARGUMENT"
}

// writeGeminiError writes {"error":{"code","message","status","details"}} (WIRE.md §4.5).
func writeGeminiError(w http.ResponseWriter, code int, status, msg string, details []any) {
	e := obj{{"code", code}, {"message", msg}, {"status", status}}
	if len(details) > 0 {
		e = append(e, kv{"details", details})
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	writeJSON(w, code, encode(obj{{"error", e}}))
}

func badRequest(msg string) []any {
	return []any{obj{{"@type", "type.googleapis.com/google.rpc.BadRequest"},
		{"fieldViolations", []any{obj{{"description", msg}}}}}}
}

// geminiAuth accepts x-goog-api-key or ?key= (WIRE.md §0). A wrong key is 400 INVALID_ARGUMENT with
// ErrorInfo reason API_KEY_INVALID; a missing key is 403 PERMISSION_DENIED (WIRE.md §4.5).
func (u *Upstream) geminiAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if u.cfg.apiKey != "" {
			got := r.Header.Get("x-goog-api-key")
			if got == "" {
				got = r.URL.Query().Get("key")
			}
			switch {
			case got == "":
				writeGeminiError(w, http.StatusForbidden, "PERMISSION_DENIED",
					"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", nil)
				return
			case got != u.cfg.apiKey:
				const msg = "API key not valid. Please pass a valid API key."
				writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, []any{
					obj{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"}, {"reason", "API_KEY_INVALID"},
						{"domain", "googleapis.com"}, {"metadata", obj{{"service", "generativelanguage.googleapis.com"}}}},
					obj{{"@type", "type.googleapis.com/google.rpc.LocalizedMessage"}, {"locale", "en-US"}, {"message", msg}},
				})
				return
			}
		}
		next(w, r)
	}
}

// geminiReplyError writes a scripted error; a 429 carries QuotaFailure, Help and RetryInfo details
// (WIRE.md §4.5). Gemini sends no retry-after header, so RetryAfter only appears as retryDelay.
func (u *Upstream) geminiReplyError(w http.ResponseWriter, rep *Reply, model string) {
	msg := rep.ErrorMessage
	var details []any
	switch {
	case rep.Status == http.StatusTooManyRequests:
		if msg == "" {
			msg = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
		}
		details = append(details,
			obj{{"@type", "type.googleapis.com/google.rpc.QuotaFailure"}, {"violations", []any{obj{
				{"quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests"},
				{"quotaId", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"},
				{"quotaDimensions", obj{{"location", "global"}, {"model", model}}},
				{"quotaValue", "10"},
			}}}},
			obj{{"@type", "type.googleapis.com/google.rpc.Help"}, {"links", []any{obj{
				{"description", "Learn more about Gemini API quotas"},
				{"url", "https://ai.google.dev/gemini-api/docs/rate-limits"},
			}}}})
	case rep.Status == http.StatusServiceUnavailable && msg == "":
		msg = "The model is overloaded. Please try again later."
	case rep.Status >= 500 && msg == "":
		msg = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
	case msg == "":
		msg = "Request contains an invalid argument."
	}
	if rep.RetryAfter > 0 {
		// retryDelay is a protobuf Duration string such as "30s" or "0.250s".
		delay := strconv.FormatFloat(rep.RetryAfter.Seconds(), 'f', -1, 64) + "s"
		details = append(details, obj{{"@type", "type.googleapis.com/google.rpc.RetryInfo"}, {"retryDelay", delay}})
	}
	rep.copyHeaders(w)
	writeGeminiError(w, rep.Status, geminiStatus(rep.Status), msg, details)
}

// geminiPost dispatches "{model}:{method}".
func (u *Upstream) geminiPost(w http.ResponseWriter, r *http.Request) {
	model, method, ok := strings.Cut(r.PathValue("rest"), ":")
	if !ok {
		writeGeminiError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", nil)
		return
	}
	switch method {
	case "generateContent":
		u.geminiGenerate(w, r, model, false)
	case "streamGenerateContent":
		u.geminiGenerate(w, r, model, true)
	case "countTokens":
		u.geminiCountTokens(w, r, model)
	default:
		writeGeminiError(w, http.StatusNotFound, "NOT_FOUND",
			fmt.Sprintf("models/%s is not found for API version v1beta, or is not supported for %s. Call ListModels to see the list of available models and their supported methods.", model, method), nil)
	}
}

// parseGemini validates the body's top-level names against allowed and checks the model; it writes
// the 400/404 itself and returns false.
func (u *Upstream) parseGemini(w http.ResponseWriter, r *http.Request, model, method string, shape *message) (map[string]json.RawMessage, bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(bodyOf(r), &top); err != nil {
		msg := "Invalid JSON payload received. Unexpected token."
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, badRequest(msg))
		return nil, false
	}
	if msg := checkFields(shape, bodyOf(r), ""); msg != "" {
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, badRequest(msg))
		return nil, false
	}
	if !u.modelAllowed(model) {
		writeGeminiError(w, http.StatusNotFound, "NOT_FOUND",
			fmt.Sprintf("models/%s is not found for API version v1beta, or is not supported for %s. Call ListModels to see the list of available models and their supported methods.", model, method), nil)
		return nil, false
	}
	return top, true
}

func geminiFinish(rep *Reply) string {
	if rep.FinishReason != "" {
		return rep.FinishReason
	}
	return "STOP" // also for function calls (WIRE.md §4.3)
}

// geminiSignature is an opaque base64 thoughtSignature.
func geminiSignature(s string) string {
	return base64.StdEncoding.EncodeToString([]byte("fake-thought-signature:" + strconv.Itoa(len(s))))
}

// geminiUsage builds usageMetadata; candidates and thoughts are the counts so far (WIRE.md §4.3:
// total = prompt + candidates + thoughts).
func geminiUsage(us Usage, candidates, thoughts int) obj {
	o := obj{{"promptTokenCount", us.InputTokens}}
	if candidates > 0 {
		o = append(o, kv{"candidatesTokenCount", candidates})
	}
	o = append(o, kv{"totalTokenCount", us.InputTokens + candidates + thoughts})
	if us.CachedTokens > 0 {
		o = append(o, kv{"cachedContentTokenCount", us.CachedTokens})
	}
	o = append(o, kv{"promptTokensDetails", []any{obj{{"modality", "TEXT"}, {"tokenCount", us.InputTokens}}}})
	if thoughts > 0 {
		o = append(o, kv{"thoughtsTokenCount", thoughts})
	}
	return o
}

func functionCallPart(tc ToolCall, sig string) obj {
	fc := obj{{"name", tc.Name}, {"args", raw(argsOrEmpty(tc.Arguments))}}
	if tc.ID != "" {
		fc = append(obj{{"id", tc.ID}}, fc...)
	}
	p := obj{{"functionCall", fc}}
	if sig != "" {
		p = append(p, kv{"thoughtSignature", sig})
	}
	return p
}

// geminiParts builds the whole answer: thought part, text part and functionCall parts. The
// thoughtSignature goes on the first functionCall part, else on the text part (WIRE.md §4.3).
func geminiParts(rep *Reply) []any {
	var parts []any
	sig := ""
	if rep.Reasoning != "" {
		sig = geminiSignature(rep.Reasoning)
		parts = append(parts, obj{{"text", rep.Reasoning}, {"thought", true}})
	}
	if rep.Text != "" {
		p := obj{{"text", rep.Text}}
		if sig != "" && len(rep.ToolCalls) == 0 {
			p = append(p, kv{"thoughtSignature", sig})
		}
		parts = append(parts, p)
	}
	for i, tc := range rep.ToolCalls {
		s := ""
		if i == 0 {
			s = sig
		}
		parts = append(parts, functionCallPart(tc, s))
	}
	return parts
}

func (u *Upstream) geminiGenerate(w http.ResponseWriter, r *http.Request, model string, streaming bool) {
	method := "generateContent"
	if streaming {
		method = "streamGenerateContent"
	}
	top, ok := u.parseGemini(w, r, model, method, u.geminiReq)
	if !ok {
		return
	}
	if c, ok := top["contents"]; !ok || string(c) == "null" || string(c) == "[]" {
		msg := "* GenerateContentRequest.contents: contents is not specified\n"
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, nil)
		return
	}
	rep, _, ok := u.begin(w, r, model, func(rep *Reply) { u.geminiReplyError(w, rep, model) })
	if !ok {
		return
	}
	id := u.newID("")
	if !streaming {
		parts := geminiParts(&rep)
		if parts == nil {
			parts = []any{}
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		writeJSON(w, http.StatusOK, encode(obj{
			{"candidates", []any{obj{
				{"content", obj{{"parts", parts}, {"role", "model"}}},
				{"finishReason", geminiFinish(&rep)}, {"index", 0},
			}}},
			{"usageMetadata", geminiUsage(rep.Usage, rep.Usage.OutputTokens, rep.Usage.ReasoningTokens)},
			{"modelVersion", model},
			{"responseId", id},
		}))
		return
	}
	u.geminiStream(w, r, &rep, model, id)
}

// geminiStream sends one GenerateContentResponse per chunk: thought pieces, text pieces, then all
// function calls whole in one chunk. usageMetadata carries running totals and only the last chunk
// has finishReason (WIRE.md §4.4). With alt=sse the framing is "data: …\r\n\r\n"; without it the
// body is a JSON array streamed element by element.
func (u *Upstream) geminiStream(w http.ResponseWriter, r *http.Request, rep *Reply, model, id string) {
	type chunk struct {
		parts    []any
		thoughts bool
	}
	var chunks []chunk
	sig := ""
	if rep.Reasoning != "" {
		sig = geminiSignature(rep.Reasoning)
		for _, p := range splitText(rep.Reasoning, rep.StreamChunks) {
			chunks = append(chunks, chunk{parts: []any{obj{{"text", p}, {"thought", true}}}, thoughts: true})
		}
	}
	for i, p := range splitText(rep.Text, rep.StreamChunks) {
		part := obj{{"text", p}}
		if i == 0 && sig != "" && len(rep.ToolCalls) == 0 {
			part = append(part, kv{"thoughtSignature", sig})
		}
		chunks = append(chunks, chunk{parts: []any{part}})
	}
	if len(rep.ToolCalls) > 0 {
		var parts []any
		for i, tc := range rep.ToolCalls {
			s := ""
			if i == 0 {
				s = sig
			}
			parts = append(parts, functionCallPart(tc, s))
		}
		chunks = append(chunks, chunk{parts: parts})
	}
	if len(chunks) == 0 {
		chunks = []chunk{{parts: []any{obj{{"text", ""}}}}}
	}
	nThought, nAnswer := 0, 0
	for _, c := range chunks {
		if c.thoughts {
			nThought++
		} else {
			nAnswer++
		}
	}
	sse := r.URL.Query().Get("alt") == "sse"
	var s *stream
	if sse {
		s = startStream(w, r, rep, true)
	} else {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		s = startStream(w, r, rep, true)
		s.array = true
	}
	s.inStreamError = func(int) (string, []byte) {
		// WIRE.md §4.4: an error after the 200 arrives as a chunk holding {"error":{…}}.
		msg := rep.ErrorMessage
		if msg == "" {
			msg = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
		}
		return "", encode(obj{{"error", obj{{"code", 500}, {"message", msg}, {"status", "INTERNAL"}}}})
	}
	seenThought, seenAnswer := 0, 0
	for i, c := range chunks {
		if c.thoughts {
			seenThought++
		} else {
			seenAnswer++
		}
		thoughts := rep.Usage.ReasoningTokens * seenThought / max(nThought, 1)
		cands := rep.Usage.OutputTokens * seenAnswer / max(nAnswer, 1)
		cand := obj{{"content", obj{{"parts", c.parts}, {"role", "model"}}}}
		if i == len(chunks)-1 {
			cand = append(cand, kv{"finishReason", geminiFinish(rep)})
		}
		cand = append(cand, kv{"index", 0})
		body := encode(obj{
			{"candidates", []any{cand}},
			{"usageMetadata", geminiUsage(rep.Usage, cands, thoughts)},
			{"modelVersion", model},
			{"responseId", id},
		})
		if !s.event("", body) {
			return
		}
	}
	s.end()
}

// geminiCount answers countTokens with the reply's InputTokens (WIRE.md §4.6).
func (u *Upstream) geminiCountTokens(w http.ResponseWriter, r *http.Request, model string) {
	if _, ok := u.parseGemini(w, r, model, "countTokens", u.geminiCount); !ok {
		return
	}
	rep, _, ok := u.begin(w, r, model, func(rep *Reply) { u.geminiReplyError(w, rep, model) })
	if !ok {
		return
	}
	n := rep.Usage.InputTokens
	writeJSON(w, http.StatusOK, encode(obj{{"totalTokens", n},
		{"promptTokensDetails", []any{obj{{"modality", "TEXT"}, {"tokenCount", n}}}}}))
}

func (u *Upstream) geminiModelList() []string {
	if len(u.cfg.models) > 0 {
		return u.cfg.models
	}
	return defaultGeminiModels
}

func geminiModelObj(id string) obj {
	return obj{
		{"name", "models/" + id}, {"version", "001"}, {"displayName", id},
		{"description", "Fake Gemini model " + id},
		{"inputTokenLimit", 1048576}, {"outputTokenLimit", 65536},
		{"supportedGenerationMethods", []any{"generateContent", "countTokens", "streamGenerateContent"}},
		{"temperature", 1}, {"topP", raw("0.95")}, {"topK", 64}, {"maxTemperature", 2}, {"thinking", true},
	}
}

// geminiModels lists the catalog (WIRE.md §4.6); it does not consume scripted replies.
func (u *Upstream) geminiModels(w http.ResponseWriter, _ *http.Request) {
	ids := u.geminiModelList()
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = geminiModelObj(id)
	}
	writeJSON(w, http.StatusOK, encode(obj{{"models", data}}))
}

func (u *Upstream) geminiModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("rest")
	if !u.modelAllowed(id) {
		writeGeminiError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("models/%s is not found for API version v1beta", id), nil)
		return
	}
	writeJSON(w, http.StatusOK, encode(geminiModelObj(id)))
}
