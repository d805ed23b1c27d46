package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// formatForPath tells which API's error shape a request expects, from its path alone, so that failures
// before routing (auth, host guard, size) still answer in the caller's format.
func formatForPath(path string) llm.Format {
	switch {
	case hasPrefix(path, "/v1/messages"):
		return llm.FormatClaude
	case hasPrefix(path, "/v1beta/"), hasPrefix(path, "/v1/models/") && containsColon(path):
		return llm.FormatGemini
	case hasPrefix(path, "/v1/responses"):
		return llm.FormatResponses
	case hasPrefix(path, "/v1/completions"):
		return llm.FormatOpenAICompletions
	}
	return llm.FormatOpenAIChat
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

// Canonical error constructors for the proxy's own failures. Types follow the OpenAI vocabulary; the codecs
// map status codes to each vendor's own type names (WIRE.md section 5.9).
func errUnauthorized(msg string) *llm.Error {
	return &llm.Error{Status: http.StatusUnauthorized, Type: "authentication_error", Code: "invalid_api_key", Message: msg}
}

func errForbidden(msg string) *llm.Error {
	return &llm.Error{Status: http.StatusForbidden, Type: "permission_error", Message: msg}
}

func errModelNotFound(model string) *llm.Error {
	return &llm.Error{Status: http.StatusNotFound, Type: "not_found_error", Code: "model_not_found", Param: "model",
		Message: "The model '" + model + "' is not served by this proxy. GET /v1/models lists the models you can use."}
}

func errTooLarge(limit int64) *llm.Error {
	return &llm.Error{Status: http.StatusRequestEntityTooLarge, Type: "request_too_large",
		Message: "Request body is larger than the proxy's limit of " + strconv.FormatInt(limit>>20, 10) + " MB ([limits] max-request-size-mb)."}
}

func errRateLimited(msg string, retryAfter time.Duration) *llm.Error {
	return &llm.Error{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: msg, RetryAfter: retryAfter}
}

func errBadGateway(msg string) *llm.Error {
	return &llm.Error{Status: http.StatusBadGateway, Type: "api_error", Code: "upstream_error", Message: msg}
}

func errUnavailable(msg string) *llm.Error {
	return &llm.Error{Status: http.StatusServiceUnavailable, Type: "api_error", Code: "service_unavailable", Message: msg}
}

func errInternal(msg string) *llm.Error {
	return &llm.Error{Status: http.StatusInternalServerError, Type: "api_error", Message: msg}
}

// writeError answers with e in format f: status, error body and Retry-After (whole seconds, rounded up).
func (s *Server) writeError(w http.ResponseWriter, f llm.Format, e *llm.Error) {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	h.Set("Content-Type", "application/json")
	writeBody(w, e.Status, s.codecs.Codec(f).EncodeError(e))
}

// writeBody answers with a complete body and its Content-Length, so the answer can be flushed whole
// before the request's bookkeeping runs (see Server.finish).
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// redactURL removes query strings from URLs inside an error text (a Gemini key may travel as ?key=), so
// network errors can be logged and shown without leaking credentials.
func redactURL(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '?' && (hasPrefix(s[lastSpace(s, i):], "http://") || hasPrefix(s[lastSpace(s, i):], "https://") || hasPrefix(s[lastSpace(s, i):], "\"http")) {
			out = append(out, "?[redacted]"...)
			for i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '"' && s[i+1] != ':' {
				i++
			}
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

func lastSpace(s string, i int) int {
	for j := i; j > 0; j-- {
		if s[j-1] == ' ' {
			return j
		}
	}
	return 0
}
