package translate

import (
	"encoding/json"
	"fmt"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// claudeStreamDecoder decodes Anthropic Messages stream events (WIRE.md §3.5).
type claudeStreamDecoder struct {
	slowOnly bool // tests: disable the fast path to compare both
	ev       claudeStreamEvent
	idx      map[int]int // Anthropic block index -> canonical block index; absent = ignored block
	next     int
	usage    claudeUsage
	stopped  bool
	finish   bool
	scratch  []byte
}

type claudeStreamEvent struct {
	Type    string `json:"type"`
	Index   int    `json:"index"`
	Message *struct {
		ID    string      `json:"id"`
		Model string      `json:"model"`
		Usage claudeUsage `json:"usage"`
	} `json:"message"`
	ContentBlock *claudeBlock `json:"content_block"`
	Delta        *struct {
		Type         string  `json:"type"`
		Text         string  `json:"text"`
		PartialJSON  string  `json:"partial_json"`
		Thinking     string  `json:"thinking"`
		Signature    string  `json:"signature"`
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage *struct {
		InputTokens              *int64 `json:"input_tokens"`
		OutputTokens             *int64 `json:"output_tokens"`
		CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
		OutputTokensDetails      *struct {
			ThinkingTokens int64 `json:"thinking_tokens"`
		} `json:"output_tokens_details"`
	} `json:"usage"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func (c *claudeCodec) NewStreamDecoder() StreamDecoder { return &claudeStreamDecoder{} }

// fast decodes the hot content_block_delta events without reflection; ok is false when the event
// needs the full decoder.
func (d *claudeStreamDecoder) fast(dst []llm.Event, data []byte) ([]llm.Event, bool) {
	if string(objGet(data, "type")) != `"content_block_delta"` {
		return dst, false
	}
	idx, ok := rawInt(objGet(data, "index"))
	if !ok {
		return dst, false
	}
	delta := objGet(data, "delta")
	var typ llm.EventType
	var field string
	switch string(objGet(delta, "type")) {
	case `"text_delta"`:
		typ, field = llm.EventTextDelta, "text"
	case `"thinking_delta"`:
		typ, field = llm.EventThinkingDelta, "thinking"
	case `"input_json_delta"`:
		typ, field = llm.EventToolArgsDelta, "partial_json"
	default:
		return dst, false
	}
	text, ok := rawString(objGet(delta, field), &d.scratch)
	if !ok {
		return dst, false
	}
	bi, known := d.idx[idx]
	if !known || typ == llm.EventToolArgsDelta && text == "" {
		return dst, true
	}
	return append(dst, llm.Event{Type: typ, Index: bi, Text: text}), true
}

func (d *claudeStreamDecoder) Decode(dst []llm.Event, event string, data []byte) ([]llm.Event, error) {
	if !ValidJSON(data) {
		return dst, fmt.Errorf("decoding messages stream event %q: invalid JSON", event)
	}
	if !d.slowOnly {
		if out, ok := d.fast(dst, data); ok {
			return out, nil
		}
	}
	ev := &d.ev
	*ev = claudeStreamEvent{}
	if err := json.Unmarshal(data, ev); err != nil {
		return dst, fmt.Errorf("decoding messages stream event %q: %w", event, err)
	}
	typ := ev.Type
	if typ == "" {
		typ = event
	}
	switch typ {
	case "message_start":
		if ev.Message == nil {
			return dst, fmt.Errorf("message_start without message")
		}
		d.usage = ev.Message.Usage
		dst = append(dst, llm.Event{Type: llm.EventMessageStart, ID: ev.Message.ID, Model: ev.Message.Model},
			llm.Event{Type: llm.EventUsage, Usage: d.usage.canonical()})
	case "content_block_start":
		b := ev.ContentBlock
		if b == nil {
			return dst, fmt.Errorf("content_block_start without content_block")
		}
		var out llm.Event
		switch b.Type {
		case "text":
			out = llm.Event{Type: llm.EventTextDelta, Text: b.Text}
		case "thinking":
			out = llm.Event{Type: llm.EventThinkingDelta, Text: b.Thinking}
		case "redacted_thinking":
			out = llm.Event{Type: llm.EventRedactedThinking, Text: b.Data, SignatureFormat: llm.FormatClaude}
		case "tool_use":
			out = llm.Event{Type: llm.EventToolCallStart, ID: b.ID, Name: b.Name}
		default:
			return dst, nil // server-tool and unknown blocks have no canonical form
		}
		if d.idx == nil {
			d.idx = make(map[int]int, 4)
		}
		out.Index = d.next
		d.idx[ev.Index] = d.next
		d.next++
		dst = append(dst, out)
	case "content_block_delta":
		bi, ok := d.idx[ev.Index]
		if !ok || ev.Delta == nil {
			return dst, nil
		}
		switch ev.Delta.Type {
		case "text_delta":
			dst = append(dst, llm.Event{Type: llm.EventTextDelta, Index: bi, Text: ev.Delta.Text})
		case "thinking_delta":
			dst = append(dst, llm.Event{Type: llm.EventThinkingDelta, Index: bi, Text: ev.Delta.Thinking})
		case "signature_delta":
			dst = append(dst, llm.Event{Type: llm.EventSignatureDelta, Index: bi, Text: ev.Delta.Signature, SignatureFormat: llm.FormatClaude})
		case "input_json_delta":
			if ev.Delta.PartialJSON != "" {
				dst = append(dst, llm.Event{Type: llm.EventToolArgsDelta, Index: bi, Text: ev.Delta.PartialJSON})
			}
		}
	case "content_block_stop":
		if bi, ok := d.idx[ev.Index]; ok {
			dst = append(dst, llm.Event{Type: llm.EventBlockStop, Index: bi})
		}
	case "message_delta":
		if u := ev.Usage; u != nil {
			// message_delta usage is cumulative (WIRE.md §3.5); input counts may be repeated or absent.
			if u.OutputTokens != nil {
				d.usage.OutputTokens = *u.OutputTokens
			}
			if u.InputTokens != nil {
				d.usage.InputTokens = *u.InputTokens
			}
			if u.CacheCreationInputTokens != nil {
				d.usage.CacheCreationInputTokens = *u.CacheCreationInputTokens
			}
			if u.CacheReadInputTokens != nil {
				d.usage.CacheReadInputTokens = *u.CacheReadInputTokens
			}
			if u.OutputTokensDetails != nil {
				d.usage.OutputTokensDetails = u.OutputTokensDetails
			}
			dst = append(dst, llm.Event{Type: llm.EventUsage, Usage: d.usage.canonical()})
		}
		if ev.Delta != nil && ev.Delta.StopReason != "" {
			d.finish = true
			out := llm.Event{Type: llm.EventFinish, Finish: claudeFinish(ev.Delta.StopReason)}
			if ev.Delta.StopSequence != nil {
				out.StopSequence = *ev.Delta.StopSequence
			}
			dst = append(dst, out)
		}
	case "message_stop":
		d.stopped = true
	case "error":
		e := &llm.Error{Status: 500, Type: "api_error", Message: "upstream stream error"}
		if ev.Error != nil {
			e.Type, e.Message = ev.Error.Type, ev.Error.Message
			e.Status = claudeTypeStatus(ev.Error.Type)
		}
		return dst, e
	}
	return dst, nil
}

func (d *claudeStreamDecoder) End(dst []llm.Event) ([]llm.Event, error) {
	if !d.stopped {
		return dst, llm.StreamCut("messages stream ended before message_stop")
	}
	if !d.finish {
		dst = append(dst, llm.Event{Type: llm.EventFinish, Finish: llm.FinishStop})
	}
	return dst, nil
}

// claudeStreamEncoder writes Anthropic Messages stream events. Anthropic blocks never overlap, so a
// block is closed before the next one starts, and output indexes are renumbered from 0.
type claudeStreamEncoder struct {
	c        *claudeCodec
	req      *llm.Request
	id       string
	model    string
	started  bool
	open     bool
	openKind blockKind
	openIn   int // canonical index of the open block
	outIdx   int // Anthropic index of the open block
	nextOut  int
	usage    llm.Usage
	finish   llm.FinishReason
	stopSeq  string
	tools    bool
}

func (c *claudeCodec) NewStreamEncoder(req *llm.Request) StreamEncoder {
	return &claudeStreamEncoder{c: c, req: req}
}

func (e *claudeStreamEncoder) start(dst []byte) []byte {
	if e.started {
		return dst
	}
	e.started = true
	model := e.model
	if e.req != nil && e.req.Model != "" {
		model = e.req.Model
	}
	dst = append(dst, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	dst = appendString(dst, e.c.msgID(e.id))
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = appendString(dst, model)
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	u := e.usage
	u.OutputTokens = max(u.OutputTokens, 1)
	dst = appendClaudeUsage(dst, u)
	return append(dst, "}}\n\n"...)
}

func (e *claudeStreamEncoder) closeOpen(dst []byte) []byte {
	if !e.open {
		return dst
	}
	e.open = false
	dst = append(dst, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":"...)
	dst = appendInt(dst, int64(e.outIdx))
	return append(dst, "}\n\n"...)
}

// openBlock starts a block for canonical index in unless it is already open; blockStart is the JSON of
// content_block.
func (e *claudeStreamEncoder) openBlock(dst []byte, in int, k blockKind, blockStart func([]byte) []byte) ([]byte, bool) {
	dst = e.start(dst)
	if e.open && e.openIn == in {
		return dst, true
	}
	dst = e.closeOpen(dst)
	e.open, e.openIn, e.openKind, e.outIdx = true, in, k, e.nextOut
	e.nextOut++
	dst = append(dst, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":"...)
	dst = appendInt(dst, int64(e.outIdx))
	dst = append(dst, `,"content_block":`...)
	dst = blockStart(dst)
	return append(dst, "}\n\n"...), false
}

func (e *claudeStreamEncoder) delta(dst []byte, kind, field, value string) []byte {
	dst = append(dst, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
	dst = appendInt(dst, int64(e.outIdx))
	dst = append(dst, `,"delta":{"type":"`...)
	dst = append(dst, kind...)
	dst = append(dst, `","`...)
	dst = append(dst, field...)
	dst = append(dst, `":`...)
	dst = appendString(dst, value)
	return append(dst, "}}\n\n"...)
}

func textStart(b []byte) []byte { return append(b, `{"type":"text","text":""}`...) }
func thinkingStart(b []byte) []byte {
	return append(b, `{"type":"thinking","thinking":"","signature":""}`...)
}

func (e *claudeStreamEncoder) Encode(dst []byte, ev *llm.Event) []byte {
	switch ev.Type {
	case llm.EventMessageStart:
		e.id, e.model = ev.ID, ev.Model
	case llm.EventUsage:
		e.usage = ev.Usage
	case llm.EventTextDelta:
		dst, _ = e.openBlock(dst, ev.Index, blockText, textStart)
		if ev.Text != "" {
			dst = e.delta(dst, "text_delta", "text", ev.Text)
		}
	case llm.EventThinkingDelta:
		dst, _ = e.openBlock(dst, ev.Index, blockThinking, thinkingStart)
		if ev.Text != "" {
			dst = e.delta(dst, "thinking_delta", "thinking", ev.Text)
		}
	case llm.EventSignatureDelta:
		// Signatures ride on thinking blocks only; a Gemini signature on a text or tool part has no
		// Anthropic slot and is dropped.
		if e.open && e.openIn == ev.Index && e.openKind == blockThinking && ev.Text != "" {
			dst = e.delta(dst, "signature_delta", "signature", wrapSignature(ev.Text, ev.SignatureFormat))
		}
	case llm.EventRedactedThinking:
		if ev.SignatureFormat != llm.FormatClaude {
			return dst
		}
		dst, _ = e.openBlock(dst, ev.Index, blockThinking, func(b []byte) []byte {
			b = append(b, `{"type":"redacted_thinking","data":`...)
			b = appendString(b, ev.Text)
			return append(b, '}')
		})
	case llm.EventToolCallStart:
		e.tools = true
		dst, _ = e.openBlock(dst, ev.Index, blockTool, func(b []byte) []byte {
			b = append(b, `{"type":"tool_use","id":`...)
			b = appendString(b, ev.ID)
			b = append(b, `,"name":`...)
			b = appendString(b, restoreToolName(e.req, ev.Name))
			return append(b, `,"input":{}}`...)
		})
	case llm.EventToolArgsDelta:
		if e.open && e.openIn == ev.Index {
			dst = e.delta(dst, "input_json_delta", "partial_json", ev.Text)
		}
	case llm.EventBlockStop:
		if e.open && e.openIn == ev.Index {
			dst = e.closeOpen(dst)
		}
	case llm.EventFinish:
		e.finish, e.stopSeq = ev.Finish, ev.StopSequence
	case llm.EventError:
		if ev.Err != nil {
			dst = e.Fail(dst, ev.Err)
		}
	}
	return dst
}

func (e *claudeStreamEncoder) Finish(dst []byte) []byte {
	dst = e.start(dst)
	dst = e.closeOpen(dst)
	f := e.finish
	if (f == llm.FinishStop || f == "") && e.tools {
		f = llm.FinishToolCalls
	}
	dst = append(dst, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	dst = appendString(dst, claudeStopReason(f, e.stopSeq))
	dst = append(dst, `,"stop_sequence":`...)
	if e.stopSeq != "" {
		dst = appendString(dst, e.stopSeq)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `},"usage":`...)
	dst = appendClaudeUsage(dst, e.usage)
	dst = append(dst, "}\n\n"...)
	return append(dst, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

func (e *claudeStreamEncoder) Fail(dst []byte, err *llm.Error) []byte {
	dst = append(dst, "event: error\ndata: "...)
	dst = append(dst, claudeErrorBody(err)...)
	return append(dst, "\n\n"...)
}
