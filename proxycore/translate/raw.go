package translate

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// This file serves the identity path, where the client and upstream speak the same format and the body
// stays raw bytes: only the top-level "model" is read or rewritten.

// span is the byte range of one top-level member's value.
type span struct{ start, end int }

// topLevel scans a valid JSON object and calls fn with each top-level key (still quoted and escaped) and
// the span of its value. body must already be known to be valid JSON.
func topLevel(body []byte, fn func(key []byte, v span)) bool {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i++
	for {
		i = skipWS(body, i)
		if i >= len(body) {
			return false
		}
		if body[i] == '}' {
			return true
		}
		if body[i] == ',' {
			i++
			continue
		}
		ks := i
		i = skipString(body, i)
		key := body[ks:i]
		i = skipWS(body, i)
		i++ // ':'
		i = skipWS(body, i)
		vs := i
		i = skipValue(body, i)
		fn(key, span{vs, i})
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t' {
			i++
		}
		return i
	}
}

func keyIs(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	if len(key) < 2 || !strings.Contains(string(key), `\`) {
		return false
	}
	var s string
	return json.Unmarshal(key, &s) == nil && s == name
}

// PeekModelStream reads the top-level "model" and "stream" fields of a JSON object without decoding the
// rest. Invalid JSON or a non-object yields a 400 *llm.Error.
func PeekModelStream(body []byte) (model string, stream bool, err error) {
	if !ValidJSON(body) {
		return "", false, llm.BadRequest("request body is not valid JSON")
	}
	var perr error
	ok := topLevel(body, func(key []byte, v span) {
		val := body[v.start:v.end]
		switch {
		case keyIs(key, "model"):
			if len(val) == 0 || val[0] != '"' {
				perr = llm.BadRequest(`"model" must be a string`)
				return
			}
			if !strings.Contains(string(val), `\`) {
				model = string(val[1 : len(val)-1])
			} else if e := json.Unmarshal(val, &model); e != nil {
				perr = llm.BadRequest(`"model" is not a valid string`)
			}
		case keyIs(key, "stream"):
			switch string(val) {
			case "true":
				stream = true
			case "false", "null":
				stream = false
			default:
				perr = llm.BadRequest(`"stream" must be a boolean`)
			}
		}
	})
	if !ok {
		return "", false, llm.BadRequest("request body must be a JSON object")
	}
	if perr != nil {
		return "", false, perr
	}
	return model, stream, nil
}

// SetModel rewrites the top-level "model" field of a JSON object (adding it when absent) and leaves every
// other byte unchanged. Invalid JSON yields a 400 *llm.Error.
func SetModel(body []byte, model string) ([]byte, error) {
	if !ValidJSON(body) {
		return nil, llm.BadRequest("request body is not valid JSON")
	}
	return SetModelChecked(body, model)
}

// SetModelChecked is SetModel for a body already known to be valid JSON (PeekModelStream accepted it),
// without checking it again: the check reads the whole body, a hundred kilobytes for a long coding
// session. A body that is not a JSON object still yields a 400 *llm.Error.
func SetModelChecked(body []byte, model string) ([]byte, error) {
	var spans []span
	ok := topLevel(body, func(key []byte, v span) {
		if keyIs(key, "model") {
			spans = append(spans, v)
		}
	})
	if !ok {
		return nil, llm.BadRequest("request body must be a JSON object")
	}
	quoted := appendString(make([]byte, 0, len(model)+2), model)
	if len(spans) == 0 {
		i := skipWS(body, 0) + 1
		out := make([]byte, 0, len(body)+len(quoted)+10)
		out = append(out, body[:i]...)
		out = append(out, `"model":`...)
		out = append(out, quoted...)
		if j := skipWS(body, i); j < len(body) && body[j] != '}' {
			out = append(out, ',')
		}
		return append(out, body[i:]...), nil
	}
	out := make([]byte, 0, len(body)+len(quoted))
	prev := 0
	for _, s := range spans {
		out = append(out, body[prev:s.start]...)
		out = append(out, quoted...)
		prev = s.end
	}
	return append(out, body[prev:]...), nil
}

// IncludeStreamUsage makes an OpenAI Chat or Completions stream request ask for the final usage chunk
// (stream_options.include_usage = true), which the proxy needs for spend accounting on the identity path.
// added reports whether the client had not asked for it itself, in which case the usage chunk is the
// proxy's to consume and should not reach the client. body must be a valid JSON object.
func IncludeStreamUsage(body []byte) (out []byte, added bool, err error) {
	var opts span
	found := false
	ok := topLevel(body, func(key []byte, v span) {
		if keyIs(key, "stream_options") {
			opts, found = v, true
		}
	})
	if !ok {
		return nil, false, llm.BadRequest("request body must be a JSON object")
	}
	if !found || string(body[opts.start:opts.end]) == "null" {
		if found {
			out = make([]byte, 0, len(body)+32)
			out = append(out, body[:opts.start]...)
			out = append(out, `{"include_usage":true}`...)
			return append(out, body[opts.end:]...), true, nil
		}
		i := skipWS(body, 0) + 1
		out = make([]byte, 0, len(body)+48)
		out = append(out, body[:i]...)
		out = append(out, `"stream_options":{"include_usage":true}`...)
		if j := skipWS(body, i); j < len(body) && body[j] != '}' {
			out = append(out, ',')
		}
		return append(out, body[i:]...), true, nil
	}
	var so map[string]json.RawMessage
	if err := json.Unmarshal(body[opts.start:opts.end], &so); err != nil {
		return nil, false, llm.BadRequest(`"stream_options" must be an object`)
	}
	if string(so["include_usage"]) == "true" {
		return body, false, nil
	}
	so["include_usage"] = json.RawMessage("true")
	val, err := json.Marshal(so)
	if err != nil {
		return nil, false, err
	}
	out = make([]byte, 0, len(body)+len(val))
	out = append(out, body[:opts.start]...)
	out = append(out, val...)
	return append(out, body[opts.end:]...), true, nil
}

// reasoningEfforts are the effort words a model suffix may carry.
var reasoningEfforts = map[string]bool{"none": true, "minimal": true, "low": true, "medium": true,
	"high": true, "xhigh": true, "max": true, "auto": true}

// ParseModelSuffix splits a reasoning suffix off a model name: "name(high)" gives effort "high",
// "name(8192)" gives budget 8192 ("name(-1)" dynamic, "name(0)" off). ok is false when model has no
// valid suffix, and base is then model unchanged.
func ParseModelSuffix(model string) (base string, effort string, budget int, ok bool) {
	if len(model) < 3 || model[len(model)-1] != ')' {
		return model, "", 0, false
	}
	open := strings.LastIndexByte(model, '(')
	if open <= 0 {
		return model, "", 0, false
	}
	inner := strings.ToLower(strings.TrimSpace(model[open+1 : len(model)-1]))
	base = model[:open]
	if reasoningEfforts[inner] {
		return base, inner, 0, true
	}
	if n, err := strconv.Atoi(inner); err == nil && n >= -1 {
		return base, "", n, true
	}
	return model, "", 0, false
}

// ApplyModelSuffix sets req.Reasoning from a suffix on req.Model and strips the suffix. A numeric suffix
// sets BudgetTokens (0 means effort "none"); "auto" means a dynamic budget (-1). The client's own choice
// of showing thoughts is kept.
func ApplyModelSuffix(req *llm.Request) {
	base, effort, budget, ok := ParseModelSuffix(req.Model)
	if !ok {
		return
	}
	req.Model = base
	r := req.Reasoning
	fresh := r == nil
	if fresh {
		r = &llm.Reasoning{}
		req.Reasoning = r
	}
	switch {
	case effort == "auto":
		r.Effort, r.BudgetTokens = "", ptr(-1)
	case effort != "":
		r.Effort, r.BudgetTokens = effort, nil
	case budget == 0:
		r.Effort, r.BudgetTokens, r.Adaptive = "none", nil, false
	default:
		r.Effort, r.BudgetTokens, r.Adaptive = "", ptr(budget), false // an explicit budget replaces adaptive
	}
	switch {
	case r.Effort == "none":
		r.IncludeThoughts = false
	case fresh:
		r.IncludeThoughts = true // the client asked for nothing: show thoughts where the format can
	}
}
