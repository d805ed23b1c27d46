package kiro

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// CodeWhisperer stream events as public Kiro proxies decode them (AIClient-2-API claude-kiro.js,
// kiro.rs, kiro-kt): assistantResponseEvent {"content"} carries text; toolUseEvent {"toolUseId",
// "name", "input", "stop"} carries one tool call whose input arrives as JSON text fragments and ends
// with stop=true; contextUsageEvent {"contextUsagePercentage"} reports how full the context window is;
// meteringEvent (credits), messageMetadataEvent, followupPromptEvent and the reference events carry
// nothing a Claude client reads. Frames with :message-type "exception" name the exception in
// :exception-type and carry {"message"}; "error" frames carry :error-code and :error-message headers.

// contextWindow converts contextUsagePercentage to tokens: Kiro's Claude models have a 200k window.
const contextWindow = 200_000

type cwEvent struct {
	Content                string          `json:"content"`
	Name                   string          `json:"name"`
	ToolUseID              string          `json:"toolUseId"`
	Input                  json.RawMessage `json:"input"`
	Stop                   bool            `json:"stop"`
	ContextUsagePercentage *float64        `json:"contextUsagePercentage"`
	Message                string          `json:"message"`
}

// converter turns CodeWhisperer frames into canonical stream events. Blocks never overlap: text and
// each tool call get their own block, closed before the next one opens.
type converter struct {
	ev       cwEvent
	think    *splitter // set when the request asked for thinking
	pieces   []piece
	next     int // next canonical block index
	open     bool
	openTool bool
	openKind llm.EventType // EventTextDelta or EventThinkingDelta for an open non-tool block
	openIdx  int
	toolID   string
	toolArgs bool // the open tool block received argument text
	done     map[string]bool
	inTokens int64 // estimate sent at message start
	outChars int
	ctxPct   float64
}

// frame converts one frame; an exception or error frame returns its *llm.Error.
func (c *converter) frame(dst []llm.Event, f *Frame) ([]llm.Event, *llm.Error) {
	switch f.MessageType {
	case "exception":
		return dst, exceptionError(f.ExceptionType, payloadMessage(f.Payload))
	case "error":
		return dst, exceptionError(f.ErrorCode, f.ErrorMessage)
	}
	ev := &c.ev
	*ev = cwEvent{}
	switch f.EventType {
	case "assistantResponseEvent", "toolUseEvent", "contextUsageEvent":
		if err := json.Unmarshal(f.Payload, ev); err != nil {
			return dst, &llm.Error{Status: http.StatusBadGateway, Type: "api_error",
				Message: fmt.Sprintf("Kiro sent a %s event that is not valid JSON.", f.EventType)}
		}
	default:
		return dst, nil
	}
	switch f.EventType {
	case "assistantResponseEvent":
		if ev.Content == "" {
			return dst, nil
		}
		c.outChars += len(ev.Content)
		if c.think == nil {
			return c.text(dst, llm.EventTextDelta, ev.Content), nil
		}
		c.pieces = c.think.feed(c.pieces[:0], ev.Content)
		dst = c.emit(dst)
	case "toolUseEvent":
		if ev.ToolUseID == "" || c.done[ev.ToolUseID] {
			return dst, nil // a repeat of a finished call
		}
		if c.think != nil {
			c.pieces = c.think.flush(c.pieces[:0])
			dst = c.emit(dst)
		}
		if !c.openTool || c.toolID != ev.ToolUseID {
			dst = c.closeOpen(dst)
			c.open, c.openTool, c.openIdx, c.toolID, c.toolArgs = true, true, c.next, ev.ToolUseID, false
			c.next++
			dst = append(dst, llm.Event{Type: llm.EventToolCallStart, Index: c.openIdx, ID: ev.ToolUseID, Name: ev.Name})
		}
		if frag := inputText(ev.Input); frag != "" {
			c.toolArgs = true
			c.outChars += len(frag)
			dst = append(dst, llm.Event{Type: llm.EventToolArgsDelta, Index: c.openIdx, Text: frag})
		}
		if ev.Stop {
			dst = c.closeOpen(dst)
		}
	case "contextUsageEvent":
		if ev.ContextUsagePercentage != nil && *ev.ContextUsagePercentage > 0 {
			c.ctxPct = *ev.ContextUsagePercentage
		}
	}
	return dst, nil
}

// text appends a text or thinking delta, opening a block of that kind when needed.
func (c *converter) text(dst []llm.Event, kind llm.EventType, s string) []llm.Event {
	if !c.open || c.openTool || c.openKind != kind {
		dst = c.closeOpen(dst)
		c.open, c.openTool, c.openKind, c.openIdx = true, false, kind, c.next
		c.next++
	}
	return append(dst, llm.Event{Type: kind, Index: c.openIdx, Text: s})
}

// emit turns the splitter's pieces into deltas.
func (c *converter) emit(dst []llm.Event) []llm.Event {
	for _, p := range c.pieces {
		kind := llm.EventTextDelta
		if p.thinking {
			kind = llm.EventThinkingDelta
		}
		dst = c.text(dst, kind, p.text)
	}
	return dst
}

// closeOpen closes the open block; a tool call that got no argument text gets "{}" so that clients
// always see a JSON object.
func (c *converter) closeOpen(dst []llm.Event) []llm.Event {
	if !c.open {
		return dst
	}
	if c.openTool {
		if !c.toolArgs {
			dst = append(dst, llm.Event{Type: llm.EventToolArgsDelta, Index: c.openIdx, Text: "{}"})
		}
		if c.done == nil {
			c.done = make(map[string]bool, 2)
		}
		c.done[c.toolID] = true
	}
	c.open, c.openTool = false, false
	return append(dst, llm.Event{Type: llm.EventBlockStop, Index: c.openIdx})
}

// finish closes the message at the end of the upstream stream: the open block, the usage and the stop.
func (c *converter) finish(dst []llm.Event) []llm.Event {
	if c.think != nil {
		c.pieces = c.think.flush(c.pieces[:0])
		dst = c.emit(dst)
	}
	dst = c.closeOpen(dst)
	dst = append(dst, llm.Event{Type: llm.EventUsage, Usage: c.usage()})
	return append(dst, llm.Event{Type: llm.EventFinish, Finish: llm.FinishStop})
}

// usage reports token counts. Kiro does not count tokens: input comes from the context-usage
// percentage when sent (else the local estimate), output is estimated at four characters a token.
func (c *converter) usage() llm.Usage {
	in := c.inTokens
	if c.ctxPct > 0 {
		in = int64(math.Round(c.ctxPct / 100 * contextWindow))
	}
	return llm.Usage{InputTokens: in, OutputTokens: int64(max(1, (c.outChars+3)/4))}
}

// inputText returns a tool-input fragment: a JSON string's text, or a whole JSON value as sent.
func inputText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	return string(raw)
}

func payloadMessage(p []byte) string {
	var m struct {
		Message string `json:"message"`
		Msg     string `json:"Message"`
	}
	if json.Unmarshal(p, &m) == nil {
		if m.Message != "" {
			return m.Message
		}
		return m.Msg
	}
	return strings.TrimSpace(string(p))
}

// exceptionError maps a CodeWhisperer exception name to an Anthropic-shaped error with the matching
// status (AWS service exceptions: ThrottlingException 429, ValidationException 400,
// AccessDeniedException 403, ResourceNotFoundException 404, ServiceQuotaExceededException 429,
// InternalServerException 500).
func exceptionError(name, msg string) *llm.Error {
	status := exceptionStatus(name)
	if msg == "" {
		msg = "the upstream reported " + firstNonEmpty(name, "an error")
	}
	// The Claude encoder derives error.type from the status.
	e := &llm.Error{Status: status, Message: "Kiro: " + msg}
	if name != "" {
		e.Code = name
	}
	return e
}

func exceptionStatus(name string) int {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "throttl"), strings.Contains(n, "quota"), strings.Contains(n, "toomanyrequests"):
		return http.StatusTooManyRequests
	case strings.Contains(n, "validation"), strings.Contains(n, "badrequest"), strings.Contains(n, "serialization"):
		return http.StatusBadRequest
	case strings.Contains(n, "accessdenied"), strings.Contains(n, "forbidden"):
		return http.StatusForbidden
	case strings.Contains(n, "unauthorized"), strings.Contains(n, "expiredtoken"), strings.Contains(n, "invalidtoken"):
		return http.StatusUnauthorized
	case strings.Contains(n, "notfound"):
		return http.StatusNotFound
	case strings.Contains(n, "unavailable"):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
