package codex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
	"github.com/cliproxy/cliproxy/proxycore/sse"
)

// errNoTerminal reports a stream that ended before a terminal event (a cut connection).
var errNoTerminal = errors.New("the stream ended before response.completed")

// aggregate folds a Codex Responses stream (WIRE.md §2.4 event sequence) into one Responses object:
// the response of the terminal response.completed (or response.incomplete) event. With store=false
// the backend leaves that response's output empty and delivers the items only in
// response.output_item.done events (reported by several Codex clients in 2026, e.g.
// NousResearch/hermes-agent #5689, bytedance/deer-flow #1928), so an empty output is filled from those
// items in output_index order. A response.failed or error event becomes an error response with the
// upstream's error object, keeping fields such as resets_in_seconds for the router.
func aggregate(resp *http.Response) (*http.Response, error) {
	defer resp.Body.Close()
	var (
		items    []indexedItem
		final    []byte
		failure  []byte
		terminal bool
	)
	r := sse.NewReader(resp.Body)
	for !terminal {
		name, data, err := r.Next()
		if err != nil {
			if err == io.EOF {
				err = errNoTerminal
			}
			return nil, fmt.Errorf("%s: reading the response stream: %w", ID, err)
		}
		typ := string(name)
		if typ == "" {
			typ = eventType(data)
		}
		switch typ {
		case "response.output_item.done":
			var ev struct {
				OutputIndex int             `json:"output_index"`
				Item        json.RawMessage `json:"item"`
			}
			if json.Unmarshal(data, &ev) == nil && len(ev.Item) > 0 {
				items = append(items, indexedItem{ev.OutputIndex, bytes.Clone(ev.Item)})
			}
		case "response.completed", "response.incomplete", "response.done":
			var ev struct {
				Response json.RawMessage `json:"response"`
			}
			if err := json.Unmarshal(data, &ev); err != nil || len(ev.Response) == 0 {
				return nil, fmt.Errorf("%s: malformed terminal event", ID)
			}
			final, terminal = bytes.Clone(ev.Response), true
		case "response.failed":
			var ev struct {
				Response struct {
					Error json.RawMessage `json:"error"`
				} `json:"response"`
			}
			_ = json.Unmarshal(data, &ev)
			failure, terminal = errorObject(ev.Response.Error, data), true
		case "error":
			var ev struct {
				Error json.RawMessage `json:"error"`
			}
			_ = json.Unmarshal(data, &ev)
			failure, terminal = errorObject(ev.Error, data), true
		}
	}
	if failure != nil {
		return errorResponse(resp, failure), nil
	}
	body, err := fillOutput(final, items)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ID, err)
	}
	return jsonResponse(resp, http.StatusOK, body), nil
}

type indexedItem struct {
	index int
	raw   []byte
}

// eventType reads "type" from an event whose SSE frame had no event: line.
func eventType(data []byte) string {
	raw, ok := acct.Member(data, "type")
	if !ok {
		return ""
	}
	s, err := strconv.Unquote(string(raw))
	if err != nil {
		return ""
	}
	return s
}

// fillOutput puts the streamed items into the final response when its output is missing or empty.
func fillOutput(final []byte, items []indexedItem) ([]byte, error) {
	if len(items) == 0 {
		return final, nil
	}
	if out, ok := acct.Member(final, "output"); ok {
		if t := bytes.TrimSpace(out); len(t) >= 2 && t[0] == '[' && len(bytes.TrimSpace(t[1:len(t)-1])) > 0 {
			return final, nil // the backend sent the full output after all
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].index < items[j].index })
	n := 2
	for _, it := range items {
		n += len(it.raw) + 1
	}
	arr := make([]byte, 0, n)
	arr = append(arr, '[')
	for i, it := range items {
		if i > 0 {
			arr = append(arr, ',')
		}
		arr = append(arr, it.raw...)
	}
	arr = append(arr, ']')
	return acct.Patch(final, map[string][]byte{"output": arr})
}

// errorObject returns the upstream's error object, or the whole event when it has none.
func errorObject(obj, event []byte) []byte {
	if t := bytes.TrimSpace(obj); len(t) > 0 && t[0] == '{' {
		return bytes.Clone(t)
	}
	return bytes.Clone(event)
}

// errorResponse wraps an in-stream failure as {"error": {...}} with a status the router classifies:
// 429 for usage and rate limits (route.CooldownFromResponse reads resets_in_seconds / resets_at from
// it), 400 for request problems, 500 otherwise.
func errorResponse(resp *http.Response, obj []byte) *http.Response {
	var e struct {
		Type string `json:"type"`
		Code string `json:"code"`
	}
	_ = json.Unmarshal(obj, &e)
	kind := e.Code + " " + e.Type
	status := http.StatusInternalServerError
	switch {
	case strings.Contains(kind, "usage_limit"), strings.Contains(kind, "rate_limit"), strings.Contains(kind, "insufficient_quota"):
		status = http.StatusTooManyRequests
	case strings.Contains(kind, "context_length"), strings.Contains(kind, "invalid"):
		status = http.StatusBadRequest
	}
	body := make([]byte, 0, len(obj)+12)
	body = append(append(append(body, `{"error":`...), obj...), '}')
	return jsonResponse(resp, status, body)
}

// jsonResponse returns a complete JSON response that keeps the upstream's other headers (request ids,
// usage headers).
func jsonResponse(up *http.Response, status int, body []byte) *http.Response {
	h := up.Header.Clone()
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding", "Cache-Control"} {
		delete(h, k)
	}
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         up.Proto,
		ProtoMajor:    up.ProtoMajor,
		ProtoMinor:    up.ProtoMinor,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       up.Request,
	}
}
