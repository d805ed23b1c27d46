package translate

import (
	"encoding/json"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// responsesStreamEncoder synthesises the full Responses event sequence (WIRE.md §2.4) from canonical
// events: created, in_progress, then per output item added / part added / deltas / done events, and a
// terminal response.completed (or .incomplete) carrying the whole output and usage.
type responsesStreamEncoder struct {
	c       *responsesCodec
	req     *llm.Request
	started bool
	seq     int64
	id      string
	model   string
	created int64
	items   [][]byte // finished output items, in output_index order

	open        blockKind
	openIn      int // canonical index of the open block
	itemID      string
	buf         []byte // text, summary or arguments of the open item
	summaryOn   bool
	callID      string
	callName    string
	callNS      string // namespace of the open call, for namespaced Responses tools
	encrypted   string
	usage       llm.Usage
	finish      llm.FinishReason
	itemScratch []byte
}

func (c *responsesCodec) NewStreamEncoder(req *llm.Request) StreamEncoder {
	return &responsesStreamEncoder{c: c, req: req}
}

func (e *responsesStreamEncoder) begin(dst []byte, typ string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, typ...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, typ...)
	dst = append(dst, `","sequence_number":`...)
	dst = appendInt(dst, e.seq)
	e.seq++
	return dst
}

func endEvent(dst []byte) []byte { return append(dst, "}\n\n"...) }

func (e *responsesStreamEncoder) outIndex() int64 { return int64(len(e.items)) }

// itemRef appends the item_id and output_index fields of the open item.
func (e *responsesStreamEncoder) itemRef(dst []byte) []byte {
	dst = append(dst, `,"item_id":`...)
	dst = appendString(dst, e.itemID)
	dst = append(dst, `,"output_index":`...)
	return appendInt(dst, e.outIndex())
}

func (e *responsesStreamEncoder) modelName() string {
	if e.req != nil && e.req.Model != "" {
		return e.req.Model
	}
	return e.model
}

func (e *responsesStreamEncoder) start(dst []byte) []byte {
	if e.started {
		return dst
	}
	e.started = true
	e.id = e.c.respID(e.id)
	e.created = e.c.env.now()
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		dst = e.begin(dst, typ)
		dst = append(dst, `,"response":`...)
		dst = e.c.appendResponseObject(dst, e.id, e.modelName(), e.created, "in_progress", "null", nil, nil, nil)
		dst = endEvent(dst)
	}
	return dst
}

func (e *responsesStreamEncoder) added(dst []byte, item []byte) []byte {
	dst = e.begin(dst, "response.output_item.added")
	dst = append(dst, `,"output_index":`...)
	dst = appendInt(dst, e.outIndex())
	dst = append(dst, `,"item":`...)
	dst = append(dst, item...)
	return endEvent(dst)
}

func (e *responsesStreamEncoder) openBlock(dst []byte, in int, k blockKind) []byte {
	dst = e.start(dst)
	if e.open == k && e.openIn == in {
		return dst
	}
	dst = e.closeOpen(dst)
	e.open, e.openIn, e.buf, e.summaryOn, e.encrypted = k, in, e.buf[:0], false, ""
	switch k {
	case blockText:
		e.itemID = e.c.env.newID("msg_")
		dst = e.added(dst, append(appendString(append(e.itemScratch[:0], `{"type":"message","id":`...), e.itemID),
			`,"status":"in_progress","role":"assistant","content":[]}`...))
		dst = e.begin(dst, "response.content_part.added")
		dst = e.itemRef(dst)
		dst = append(dst, `,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}`...)
		dst = endEvent(dst)
	case blockThinking:
		e.itemID = e.c.env.newID("rs_")
		dst = e.added(dst, append(appendString(append(e.itemScratch[:0], `{"type":"reasoning","id":`...), e.itemID), `,"summary":[]}`...))
	case blockTool:
		e.itemID = e.c.env.newID("fc_")
		dst = e.added(dst, appendFunctionCallItem(e.itemScratch[:0], e.itemID, e.callID, e.callName, "", "in_progress", e.callNS))
	}
	return dst
}

func (e *responsesStreamEncoder) itemDone(dst []byte, item []byte) []byte {
	dst = e.begin(dst, "response.output_item.done")
	dst = append(dst, `,"output_index":`...)
	dst = appendInt(dst, e.outIndex())
	dst = append(dst, `,"item":`...)
	dst = append(dst, item...)
	dst = endEvent(dst)
	e.items = append(e.items, append([]byte(nil), item...))
	return dst
}

func (e *responsesStreamEncoder) closeOpen(dst []byte) []byte {
	switch e.open {
	case blockText:
		dst = e.begin(dst, "response.output_text.done")
		dst = e.itemRef(dst)
		dst = append(dst, `,"content_index":0,"text":`...)
		dst = appendString(dst, string(e.buf))
		dst = append(dst, `,"logprobs":[]`...)
		dst = endEvent(dst)
		dst = e.begin(dst, "response.content_part.done")
		dst = e.itemRef(dst)
		dst = append(dst, `,"content_index":0,"part":{"type":"output_text","text":`...)
		dst = appendString(dst, string(e.buf))
		dst = append(dst, `,"annotations":[]}`...)
		dst = endEvent(dst)
		dst = e.itemDone(dst, appendMessageItem(e.itemScratch[:0], e.itemID, e.buf, "completed"))
	case blockThinking:
		if e.summaryOn {
			dst = e.begin(dst, "response.reasoning_summary_text.done")
			dst = e.itemRef(dst)
			dst = append(dst, `,"summary_index":0,"text":`...)
			dst = appendString(dst, string(e.buf))
			dst = endEvent(dst)
			dst = e.begin(dst, "response.reasoning_summary_part.done")
			dst = e.itemRef(dst)
			dst = append(dst, `,"summary_index":0,"part":{"type":"summary_text","text":`...)
			dst = appendString(dst, string(e.buf))
			dst = append(dst, '}')
			dst = endEvent(dst)
		}
		dst = e.itemDone(dst, appendReasoningItem(e.itemScratch[:0], e.itemID, string(e.buf), e.encrypted))
	case blockTool:
		args := string(argsObject(string(e.buf)))
		if len(e.buf) == 0 {
			args = "{}"
		}
		dst = e.begin(dst, "response.function_call_arguments.done")
		dst = e.itemRef(dst)
		dst = append(dst, `,"arguments":`...)
		dst = appendString(dst, args)
		dst = endEvent(dst)
		dst = e.itemDone(dst, appendFunctionCallItem(e.itemScratch[:0], e.itemID, e.callID, e.callName, args, "completed", e.callNS))
	}
	e.open = blockNone
	return dst
}

func (e *responsesStreamEncoder) Encode(dst []byte, ev *llm.Event) []byte {
	switch ev.Type {
	case llm.EventMessageStart:
		if !e.started {
			e.id, e.model = ev.ID, ev.Model
		}
	case llm.EventTextDelta:
		dst = e.openBlock(dst, ev.Index, blockText)
		if ev.Text == "" {
			return dst
		}
		e.buf = append(e.buf, ev.Text...)
		dst = e.begin(dst, "response.output_text.delta")
		dst = e.itemRef(dst)
		dst = append(dst, `,"content_index":0,"delta":`...)
		dst = appendString(dst, ev.Text)
		dst = append(dst, `,"logprobs":[]`...)
		return endEvent(dst)
	case llm.EventThinkingDelta:
		dst = e.openBlock(dst, ev.Index, blockThinking)
		if ev.Text == "" {
			return dst
		}
		if !e.summaryOn {
			e.summaryOn = true
			dst = e.begin(dst, "response.reasoning_summary_part.added")
			dst = e.itemRef(dst)
			dst = append(dst, `,"summary_index":0,"part":{"type":"summary_text","text":""}`...)
			dst = endEvent(dst)
		}
		e.buf = append(e.buf, ev.Text...)
		dst = e.begin(dst, "response.reasoning_summary_text.delta")
		dst = e.itemRef(dst)
		dst = append(dst, `,"summary_index":0,"delta":`...)
		dst = appendString(dst, ev.Text)
		return endEvent(dst)
	case llm.EventSignatureDelta:
		if e.open == blockThinking && e.openIn == ev.Index {
			e.encrypted = responsesEncrypted(&llm.Thinking{Signature: ev.Text, SignatureFormat: ev.SignatureFormat})
		}
	case llm.EventRedactedThinking:
		// Anthropic redacted thinking travels to a Responses client as an opaque reasoning item.
		if ev.SignatureFormat != llm.FormatClaude {
			return dst
		}
		dst = e.openBlock(dst, ev.Index, blockThinking)
		e.encrypted = foreignSigPrefix + redactedFormat + ":" + ev.Text
	case llm.EventToolCallStart:
		dst = e.start(dst)
		dst = e.closeOpen(dst)
		e.callID, e.callName = ev.ID, ev.Name
		e.callNS = ""
		if e.req != nil {
			e.callNS, e.callName = splitNamespace(e.req.Tools, restoreToolName(e.req, ev.Name))
		}
		dst = e.openBlock(dst, ev.Index, blockTool)
	case llm.EventToolArgsDelta:
		if e.open != blockTool || e.openIn != ev.Index || ev.Text == "" {
			return dst
		}
		e.buf = append(e.buf, ev.Text...)
		dst = e.begin(dst, "response.function_call_arguments.delta")
		dst = e.itemRef(dst)
		dst = append(dst, `,"delta":`...)
		dst = appendString(dst, ev.Text)
		return endEvent(dst)
	case llm.EventBlockStop:
		if e.open != blockNone && e.openIn == ev.Index {
			dst = e.closeOpen(dst)
		}
	case llm.EventUsage:
		e.usage = ev.Usage
	case llm.EventFinish:
		e.finish = ev.Finish
	case llm.EventError:
		if ev.Err != nil {
			dst = e.Fail(dst, ev.Err)
		}
	}
	return dst
}

func (e *responsesStreamEncoder) Finish(dst []byte) []byte {
	dst = e.start(dst)
	dst = e.closeOpen(dst)
	status, incomplete := responseStatus(e.finish)
	typ := "response.completed"
	if status == "incomplete" {
		typ = "response.incomplete"
	}
	dst = e.begin(dst, typ)
	dst = append(dst, `,"response":`...)
	dst = e.c.appendResponseObject(dst, e.id, e.modelName(), e.created, status, incomplete, e.items, &e.usage, nil)
	return endEvent(dst)
}

func (e *responsesStreamEncoder) Fail(dst []byte, err *llm.Error) []byte {
	dst = e.start(dst)
	errJSON := []byte(`{"code":`)
	code := err.Code
	if code == "" {
		code = "server_error"
		if err.Status == 429 {
			code = "rate_limit_exceeded"
		}
	}
	errJSON = appendString(errJSON, code)
	errJSON = append(errJSON, `,"message":`...)
	errJSON = appendString(errJSON, errorMessage(err))
	errJSON = append(errJSON, '}')
	dst = e.begin(dst, "response.failed")
	dst = append(dst, `,"response":`...)
	dst = e.c.appendResponseObject(dst, e.id, e.modelName(), e.created, "failed", "null", e.items, &e.usage, errJSON)
	return endEvent(dst)
}

// splitNamespace maps a flattened "<namespace>__<name>" call back to the namespace tool the client
// declared; other names come back unchanged with no namespace.
func splitNamespace(tools []llm.Tool, name string) (ns, fn string) {
	for _, t := range tools {
		if t.Name == name && t.Extra["namespace"] != nil {
			var n, f string
			if json.Unmarshal(t.Extra["namespace"], &n) == nil && json.Unmarshal(t.Extra["function"], &f) == nil {
				return n, f
			}
		}
	}
	return "", name
}
