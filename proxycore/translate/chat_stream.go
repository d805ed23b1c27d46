package translate

import (
	"encoding/json"
	"fmt"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// blockKind tracks which kind of canonical block a stream decoder has open.
type blockKind uint8

const (
	blockNone blockKind = iota
	blockText
	blockThinking
	blockTool
)

// chatStreamDecoder decodes chat.completion.chunk events (WIRE.md §1.5). Chat has no block boundaries,
// so it opens and closes canonical blocks whenever the kind of delta changes.
type chatStreamDecoder struct {
	slowOnly bool // tests: disable the fast path to compare both
	started  bool
	finished bool
	done     bool
	open     blockKind
	openIdx  int
	next     int
	toolIdx  map[int]int // chat tool_calls index -> canonical block index
	curTool  int
	chunk    chatChunk
	finish   llm.FinishReason
	hasUsage bool
	scratch  []byte
}

type chatChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content          *string        `json:"content"`
			ReasoningContent *string        `json:"reasoning_content"`
			Reasoning        *string        `json:"reasoning"`
			Refusal          *string        `json:"refusal"`
			ToolCalls        []chatToolCall `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage      `json:"usage"`
	Error json.RawMessage `json:"error"`
}

func (c *chatCodec) NewStreamDecoder() StreamDecoder { return &chatStreamDecoder{curTool: -1} }

func (d *chatStreamDecoder) closeOpen(dst []llm.Event) []llm.Event {
	if d.open != blockNone {
		dst = append(dst, llm.Event{Type: llm.EventBlockStop, Index: d.openIdx})
		d.open = blockNone
	}
	return dst
}

func (d *chatStreamDecoder) openBlock(dst []llm.Event, k blockKind) []llm.Event {
	if d.open == k && k != blockTool {
		return dst
	}
	dst = d.closeOpen(dst)
	d.open, d.openIdx = k, d.next
	d.next++
	return dst
}

// fast decodes plain content / reasoning deltas without reflection; ok is false when the chunk carries
// anything else (tool calls, finish_reason, usage, errors) and needs the full decoder.
func (d *chatStreamDecoder) fast(dst []llm.Event, data []byte) ([]llm.Event, bool) {
	if !d.started || !isNull(objGet(data, "usage")) || !isNull(objGet(data, "error")) {
		return dst, false
	}
	choice := arrayFirst(objGet(data, "choices"))
	if idx := objGet(choice, "index"); choice == nil || idx != nil && string(idx) != "0" || !isNull(objGet(choice, "finish_reason")) {
		return dst, false
	}
	var content, reasoning []byte
	simple := objEach(objGet(choice, "delta"), func(k, v []byte) bool {
		switch string(k) {
		case `"content"`:
			content = v
		case `"reasoning_content"`, `"reasoning"`:
			if !isNull(v) {
				reasoning = v
			}
		case `"role"`:
		default:
			if !isNull(v) {
				content, reasoning = nil, []byte("x") // force the full decoder
				return false
			}
		}
		return true
	})
	if !simple || reasoning != nil && content != nil {
		return dst, false
	}
	var kind blockKind
	var typ llm.EventType
	raw := content
	switch {
	case reasoning != nil:
		kind, typ, raw = blockThinking, llm.EventThinkingDelta, reasoning
	case !isNull(content):
		kind, typ = blockText, llm.EventTextDelta
	default:
		return dst, true // a role-only or empty delta
	}
	text, ok := rawString(raw, &d.scratch)
	if !ok {
		return dst, false
	}
	if text == "" {
		return dst, true
	}
	dst = d.openBlock(dst, kind)
	return append(dst, llm.Event{Type: typ, Index: d.openIdx, Text: text}), true
}

func (d *chatStreamDecoder) Decode(dst []llm.Event, event string, data []byte) ([]llm.Event, error) {
	if string(data) == "[DONE]" {
		d.done = true
		return d.closeOpen(dst), nil
	}
	if !ValidJSON(data) {
		return dst, fmt.Errorf("decoding chat stream chunk: invalid JSON")
	}
	if !d.slowOnly {
		if out, ok := d.fast(dst, data); ok {
			return out, nil
		}
	}
	ch := &d.chunk
	*ch = chatChunk{}
	if err := json.Unmarshal(data, ch); err != nil {
		return dst, fmt.Errorf("decoding chat stream chunk: %w", err)
	}
	if len(ch.Error) > 0 && string(ch.Error) != "null" {
		e := decodeOpenAIError(500, nil, data, &env{})
		if e.Type == "rate_limit_exceeded" || e.Code == "rate_limit_exceeded" {
			e.Status = 429
		}
		return dst, e
	}
	if !d.started {
		d.started = true
		dst = append(dst, llm.Event{Type: llm.EventMessageStart, ID: ch.ID, Model: ch.Model})
	}
	// Only choice 0 is translated; other choices (n > 1) have no place in single-answer formats.
	if len(ch.Choices) > 0 && ch.Choices[0].Index == 0 {
		c := &ch.Choices[0]
		if r := c.Delta.ReasoningContent; r != nil && *r != "" {
			dst = d.openBlock(dst, blockThinking)
			dst = append(dst, llm.Event{Type: llm.EventThinkingDelta, Index: d.openIdx, Text: *r})
		} else if r := c.Delta.Reasoning; r != nil && *r != "" {
			dst = d.openBlock(dst, blockThinking)
			dst = append(dst, llm.Event{Type: llm.EventThinkingDelta, Index: d.openIdx, Text: *r})
		}
		if t := c.Delta.Content; t != nil && *t != "" {
			dst = d.openBlock(dst, blockText)
			dst = append(dst, llm.Event{Type: llm.EventTextDelta, Index: d.openIdx, Text: *t})
		}
		if t := c.Delta.Refusal; t != nil && *t != "" {
			dst = d.openBlock(dst, blockText)
			dst = append(dst, llm.Event{Type: llm.EventTextDelta, Index: d.openIdx, Text: *t})
		}
		for i := range c.Delta.ToolCalls {
			dst = d.toolDelta(dst, &c.Delta.ToolCalls[i])
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			dst = d.closeOpen(dst)
			d.finished = true
			d.finish = chatFinish(*c.FinishReason)
			dst = append(dst, llm.Event{Type: llm.EventFinish, Finish: d.finish})
		}
	}
	if ch.Usage != nil {
		d.hasUsage = true
		dst = append(dst, llm.Event{Type: llm.EventUsage, Usage: ch.Usage.canonical()})
	}
	return dst, nil
}

func (d *chatStreamDecoder) toolDelta(dst []llm.Event, tc *chatToolCall) []llm.Event {
	ci := 0
	if tc.Index != nil {
		ci = *tc.Index
	}
	bi, known := d.toolIdx[ci]
	if !known {
		if d.toolIdx == nil {
			d.toolIdx = make(map[int]int, 4)
		}
		dst = d.openBlock(dst, blockTool)
		bi = d.openIdx
		d.toolIdx[ci] = bi
		d.curTool = ci
		dst = append(dst, llm.Event{Type: llm.EventToolCallStart, Index: bi, ID: tc.ID, Name: tc.Function.Name})
	}
	if tc.Function.Arguments != "" {
		dst = append(dst, llm.Event{Type: llm.EventToolArgsDelta, Index: bi, Text: tc.Function.Arguments})
	}
	return dst
}

func (d *chatStreamDecoder) End(dst []llm.Event) ([]llm.Event, error) {
	dst = d.closeOpen(dst)
	if !d.finished {
		if d.done {
			return dst, llm.StreamCut("chat stream sent [DONE] without a finish_reason")
		}
		return dst, llm.StreamCut("chat stream ended before finish_reason")
	}
	return dst, nil
}

// chatStreamEncoder writes chat.completion.chunk frames (WIRE.md §1.5).
type chatStreamEncoder struct {
	c            *chatCodec
	req          *llm.Request
	prefix       []byte // `data: {"id":…,"model":…,"choices":[{"index":0,"delta":`
	tail         []byte // `,"logprobs":null,"finish_reason":null}]…}\n\n`
	roleSent     bool
	toolOf       map[int]int // canonical block index -> chat tool index
	tools        int
	usage        llm.Usage
	sawToolCalls bool
}

func (c *chatCodec) NewStreamEncoder(req *llm.Request) StreamEncoder {
	return &chatStreamEncoder{c: c, req: req}
}

func (e *chatStreamEncoder) init(id, model string) {
	if e.prefix != nil {
		return
	}
	if e.req != nil && e.req.Model != "" {
		model = e.req.Model
	}
	p := []byte(`data: {"id":`)
	p = appendString(p, e.c.chatID(id))
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = appendInt(p, e.c.env.now())
	p = append(p, `,"model":`...)
	p = appendString(p, model)
	e.prefix = append(p, `,"choices":[{"index":0,"delta":`...)
	if e.req != nil && e.req.IncludeUsage {
		e.tail = []byte(`,"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
	} else {
		e.tail = []byte(`,"logprobs":null,"finish_reason":null}]}` + "\n\n")
	}
}

func (e *chatStreamEncoder) ensureRole(dst []byte) []byte {
	e.init("", "")
	if !e.roleSent {
		e.roleSent = true
		dst = append(dst, e.prefix...)
		dst = append(dst, `{"role":"assistant","content":""}`...)
		dst = append(dst, e.tail...)
	}
	return dst
}

func (e *chatStreamEncoder) Encode(dst []byte, ev *llm.Event) []byte {
	switch ev.Type {
	case llm.EventMessageStart:
		e.init(ev.ID, ev.Model)
		return e.ensureRole(dst)
	case llm.EventTextDelta:
		dst = e.ensureRole(dst)
		if ev.Text == "" {
			return dst
		}
		dst = append(dst, e.prefix...)
		dst = append(dst, `{"content":`...)
		dst = appendString(dst, ev.Text)
		dst = append(dst, '}')
		return append(dst, e.tail...)
	case llm.EventThinkingDelta:
		// reasoning_content is the third-party convention for reasoning text (WIRE.md §1.4).
		dst = e.ensureRole(dst)
		if ev.Text == "" {
			return dst
		}
		dst = append(dst, e.prefix...)
		dst = append(dst, `{"reasoning_content":`...)
		dst = appendString(dst, ev.Text)
		dst = append(dst, '}')
		return append(dst, e.tail...)
	case llm.EventToolCallStart:
		dst = e.ensureRole(dst)
		if e.toolOf == nil {
			e.toolOf = make(map[int]int, 4)
		}
		ti := e.tools
		e.tools++
		e.toolOf[ev.Index] = ti
		e.sawToolCalls = true
		dst = append(dst, e.prefix...)
		dst = append(dst, `{"tool_calls":[{"index":`...)
		dst = appendInt(dst, int64(ti))
		dst = append(dst, `,"id":`...)
		dst = appendString(dst, ev.ID)
		dst = append(dst, `,"type":"function","function":{"name":`...)
		dst = appendString(dst, restoreToolName(e.req, ev.Name))
		dst = append(dst, `,"arguments":""}}]}`...)
		return append(dst, e.tail...)
	case llm.EventToolArgsDelta:
		ti, ok := e.toolOf[ev.Index]
		if !ok {
			return dst
		}
		dst = append(dst, e.prefix...)
		dst = append(dst, `{"tool_calls":[{"index":`...)
		dst = appendInt(dst, int64(ti))
		dst = append(dst, `,"function":{"arguments":`...)
		dst = appendString(dst, ev.Text)
		dst = append(dst, `}}]}`...)
		return append(dst, e.tail...)
	case llm.EventUsage:
		e.usage = ev.Usage
	case llm.EventFinish:
		dst = e.ensureRole(dst)
		f := ev.Finish
		if f == llm.FinishStop && e.sawToolCalls {
			f = llm.FinishToolCalls
		}
		dst = append(dst, e.prefix...)
		dst = append(dst, `{},"logprobs":null,"finish_reason":`...)
		dst = appendString(dst, chatFinishString(f))
		dst = append(dst, "}]"...)
		if e.req != nil && e.req.IncludeUsage {
			dst = append(dst, `,"usage":null`...)
		}
		return append(dst, "}\n\n"...)
	case llm.EventError:
		if ev.Err != nil {
			return e.Fail(dst, ev.Err)
		}
	}
	return dst
}

func (e *chatStreamEncoder) Finish(dst []byte) []byte {
	e.init("", "")
	if e.req != nil && e.req.IncludeUsage {
		// The usage chunk has an empty choices array (WIRE.md §1.5); rebuild the prefix without choices.
		p := e.prefix[:len(e.prefix)-len(`"choices":[{"index":0,"delta":`)]
		dst = append(dst, p...)
		dst = append(dst, `"choices":[],"usage":`...)
		dst = appendChatUsage(dst, e.usage)
		dst = append(dst, "}\n\n"...)
	}
	return append(dst, "data: [DONE]\n\n"...)
}

func (e *chatStreamEncoder) Fail(dst []byte, err *llm.Error) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, openAIErrorBody(err)...)
	return append(dst, "\n\n"...)
}
