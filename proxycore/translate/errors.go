package translate

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// keptHeaderPrefixes are the upstream response headers an error keeps so the client sees the same
// rate-limit state (WIRE.md §1.6, §3.6, §5.9).
var keptHeaderPrefixes = [...]string{"retry-after", "x-ratelimit-", "anthropic-ratelimit-", "x-should-retry"}

// keepHeaders copies the retry and rate-limit headers of h.
func keepHeaders(h http.Header) http.Header {
	var out http.Header
	for k, v := range h {
		lk := strings.ToLower(k)
		for _, p := range keptHeaderPrefixes {
			if strings.HasPrefix(lk, p) {
				if out == nil {
					out = make(http.Header)
				}
				out[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
				break
			}
		}
	}
	return out
}

// retryAfter reads retry-after-ms (milliseconds), then retry-after (seconds or an HTTP date), the order
// the OpenAI SDK prefers (WIRE.md §1.6).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// ErrorHeaders returns the headers to send with e to a client: the kept upstream rate-limit headers plus
// retry-after (whole seconds, rounded up) when e has a RetryAfter the headers do not already carry.
func ErrorHeaders(e *llm.Error) http.Header {
	h := make(http.Header)
	for k, v := range e.Header {
		h[k] = append([]string(nil), v...)
	}
	if e.RetryAfter > 0 && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(e.RetryAfter.Seconds())), 10))
	}
	return h
}

func newUpstreamError(status int, h http.Header, env *env) *llm.Error {
	e := &llm.Error{Status: status, Header: keepHeaders(h)}
	if h != nil {
		e.RetryAfter = retryAfter(h, env.clock.Now())
	}
	return e
}

// openAIErrorType maps a status to an OpenAI error.type (WIRE.md §5.9).
func openAIErrorType(status int) string {
	switch {
	case status == 429:
		return "rate_limit_exceeded"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

// claudeErrorType maps a status to an Anthropic error.type (WIRE.md §3.6).
func claudeErrorType(status int) string {
	switch status {
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 503, 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// claudeTypeStatus maps an Anthropic error.type back to a status, for in-stream errors.
func claudeTypeStatus(t string) int {
	switch t {
	case "authentication_error":
		return 401
	case "billing_error":
		return 402
	case "permission_error":
		return 403
	case "not_found_error":
		return 404
	case "request_too_large":
		return 413
	case "rate_limit_error":
		return 429
	case "timeout_error":
		return 504
	case "overloaded_error":
		return 529
	case "invalid_request_error":
		return 400
	}
	return 500
}

// geminiStatus maps an HTTP status to a Gemini status string and the HTTP code to report (529 has no
// Gemini equivalent and becomes 503 UNAVAILABLE, WIRE.md §5.9).
func geminiStatus(status int) (int, string) {
	switch status {
	case 400:
		return 400, "INVALID_ARGUMENT"
	case 401:
		return 401, "UNAUTHENTICATED"
	case 403:
		return 403, "PERMISSION_DENIED"
	case 404:
		return 404, "NOT_FOUND"
	case 429:
		return 429, "RESOURCE_EXHAUSTED"
	case 499:
		return 499, "CANCELLED"
	case 503, 529:
		return 503, "UNAVAILABLE"
	case 504:
		return 504, "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return status, "INTERNAL"
	}
	return status, "INVALID_ARGUMENT"
}

func geminiStatusHTTP(s string) int {
	switch s {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		return 400
	case "UNAUTHENTICATED":
		return 401
	case "PERMISSION_DENIED":
		return 403
	case "NOT_FOUND":
		return 404
	case "RESOURCE_EXHAUSTED":
		return 429
	case "CANCELLED":
		return 499
	case "UNAVAILABLE":
		return 503
	case "DEADLINE_EXCEEDED":
		return 504
	}
	return 500
}

// errorMessage returns e's message or a generic one for its status.
func errorMessage(e *llm.Error) string {
	if e.Message != "" {
		return e.Message
	}
	if t := http.StatusText(e.Status); t != "" {
		return t
	}
	return "upstream error"
}

// fallbackMessage is used when an upstream error body is not in the expected shape.
func fallbackMessage(status int, body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 512 {
		s = s[:512]
	}
	if s == "" || !json.Valid(body) && strings.ContainsAny(s, "<>") {
		if t := http.StatusText(status); t != "" {
			return t
		}
		return "upstream error"
	}
	return s
}

// openAIErrorBody renders the OpenAI/Responses error shape (WIRE.md §1.6).
func openAIErrorBody(e *llm.Error) []byte {
	typ := e.Type
	if typ == "" || strings.HasSuffix(typ, "_error") && typ != "invalid_request_error" || isGeminiStatusName(typ) {
		typ = openAIErrorType(e.Status)
	}
	b := []byte(`{"error":{"message":`)
	b = appendString(b, errorMessage(e))
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"param":`...)
	if e.Param != "" {
		b = appendString(b, e.Param)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"code":`...)
	if e.Code != "" {
		b = appendString(b, e.Code)
	} else if e.Status == 429 {
		b = append(b, `"rate_limit_exceeded"`...)
	} else {
		b = append(b, "null"...)
	}
	return append(b, "}}"...)
}

func isGeminiStatusName(s string) bool {
	return s != "" && strings.ToUpper(s) == s && strings.Contains(s, "_") || s == "INTERNAL" || s == "UNAVAILABLE"
}

func decodeOpenAIError(status int, h http.Header, body []byte, env *env) *llm.Error {
	e := newUpstreamError(status, h, env)
	var w struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &w) == nil && len(w.Error) > 0 {
		var o struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Param   *string         `json:"param"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(w.Error, &o) == nil {
			e.Message, e.Type = o.Message, o.Type
			if o.Param != nil {
				e.Param = *o.Param
			}
			if isString(o.Code) {
				_ = json.Unmarshal(o.Code, &e.Code)
			} else if len(o.Code) > 0 && string(o.Code) != "null" {
				e.Code = string(o.Code)
			}
			return e
		}
		if isString(w.Error) {
			_ = json.Unmarshal(w.Error, &e.Message)
			return e
		}
	}
	e.Type = openAIErrorType(status)
	e.Message = fallbackMessage(status, body)
	return e
}
