package translate

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// geminiStreamDecoder decodes streamGenerateContent?alt=sse chunks (WIRE.md §4.4): each chunk carries
// new parts only, function calls arrive whole, and the last chunk carries finishReason.
type geminiStreamDecoder struct {
	slowOnly bool // tests: disable the fast path to compare both
	c        *geminiCodec
	chunk    geminiResponse
	started  bool
	open     blockKind
	openIdx  int
	next     int
	sawCalls bool
	finished bool
	finish   llm.FinishReason
	scratch  []byte
}

func (c *geminiCodec) NewStreamDecoder() StreamDecoder { return &geminiStreamDecoder{c: c} }

func (d *geminiStreamDecoder) closeOpen(dst []llm.Event) []llm.Event {
	if d.open != blockNone {
		dst = append(dst, llm.Event{Type: llm.EventBlockStop, Index: d.openIdx})
		d.open = blockNone
	}
	return dst
}

func (d *geminiStreamDecoder) openBlock(dst []llm.Event, k blockKind) []llm.Event {
	if d.open == k && k != blockTool {
		return dst
	}
	dst = d.closeOpen(dst)
	d.open, d.openIdx = k, d.next
	d.next++
	return dst
}

// fast decodes chunks that only carry text or thought-text parts (plus running usage) without
// reflection; ok is false for anything else, which takes the full decoder.
func (d *geminiStreamDecoder) fast(dst []llm.Event, data []byte) ([]llm.Event, bool) {
	if !d.started || objGet(data, "error") != nil || objGet(data, "promptFeedback") != nil {
		return dst, false
	}
	cand := arrayFirst(objGet(data, "candidates"))
	if cand == nil || objGet(cand, "finishReason") != nil {
		return dst, false
	}
	parts := objGet(objGet(cand, "content"), "parts")
	simple := parts != nil
	arrayEach(parts, func(p []byte) bool {
		objEach(p, func(k, v []byte) bool {
			switch string(k) {
			case `"text"`:
				simple = len(v) > 0 && v[0] == '"' && utf8.Valid(v)
			case `"thought"`:
			default:
				simple = false
			}
			return simple
		})
		return simple
	})
	if !simple {
		return dst, false
	}
	if um := objGet(data, "usageMetadata"); um != nil {
		var u geminiUsage
		objEach(um, func(k, v []byte) bool {
			n, _ := rawInt(v)
			switch string(k) {
			case `"promptTokenCount"`:
				u.PromptTokenCount = int64(n)
			case `"candidatesTokenCount"`:
				u.CandidatesTokenCount = int64(n)
			case `"cachedContentTokenCount"`:
				u.CachedContentTokenCount = int64(n)
			case `"thoughtsTokenCount"`:
				u.ThoughtsTokenCount = int64(n)
			case `"toolUsePromptTokenCount"`:
				u.ToolUsePromptTokenCount = int64(n)
			}
			return true
		})
		dst = append(dst, llm.Event{Type: llm.EventUsage, Usage: u.canonical()})
	}
	arrayEach(parts, func(p []byte) bool {
		text, _ := rawString(objGet(p, "text"), &d.scratch) // checked above; valid JSON escapes always decode
		if string(objGet(p, "thought")) == "true" {
			dst = d.openBlock(dst, blockThinking)
			if text != "" {
				dst = append(dst, llm.Event{Type: llm.EventThinkingDelta, Index: d.openIdx, Text: text})
			}
		} else if text != "" {
			dst = d.openBlock(dst, blockText)
			dst = append(dst, llm.Event{Type: llm.EventTextDelta, Index: d.openIdx, Text: text})
		}
		return true
	})
	return dst, true
}

func (d *geminiStreamDecoder) Decode(dst []llm.Event, event string, data []byte) ([]llm.Event, error) {
	if !ValidJSON(data) {
		return dst, fmt.Errorf("decoding gemini stream chunk: invalid JSON")
	}
	if !d.slowOnly {
		if out, ok := d.fast(dst, data); ok {
			return out, nil
		}
	}
	ch := &d.chunk
	*ch = geminiResponse{}
	if err := json.Unmarshal(data, ch); err != nil {
		return dst, fmt.Errorf("decoding gemini stream chunk: %w", err)
	}
	if len(ch.Error) > 0 && string(ch.Error) != "null" {
		e := &llm.Error{}
		var w geminiErrorBody
		if json.Unmarshal(data, &w) == nil && w.Error != nil {
			fillGeminiError(e, &w)
		}
		if e.Status == 0 {
			e.Status = 500
		}
		return dst, e
	}
	if !d.started {
		d.started = true
		dst = append(dst, llm.Event{Type: llm.EventMessageStart, ID: ch.ResponseID, Model: ch.ModelVersion})
	}
	// Usage goes first so that encoders which open the message lazily can report the prompt size.
	if ch.UsageMetadata != nil {
		dst = append(dst, llm.Event{Type: llm.EventUsage, Usage: ch.UsageMetadata.canonical()})
	}
	if len(ch.Candidates) > 0 {
		cand := &ch.Candidates[0]
		if cand.Content != nil {
			for i := range cand.Content.Parts {
				dst = d.part(dst, &cand.Content.Parts[i])
			}
		}
		if cand.FinishReason != "" {
			dst = d.closeOpen(dst)
			d.finished = true
			d.finish = geminiFinish(cand.FinishReason, d.sawCalls)
		}
	} else if ch.PromptFeedback != nil && ch.PromptFeedback.BlockReason != "" {
		d.finished = true
		d.finish = llm.FinishContentFilter
	}
	return dst, nil
}

func (d *geminiStreamDecoder) part(dst []llm.Event, p *geminiPart) []llm.Event {
	switch {
	case p.FunctionCall != nil:
		d.sawCalls = true
		dst = d.openBlock(dst, blockTool)
		id := p.FunctionCall.ID
		if id == "" {
			id = d.c.env.newID("call_")
		}
		dst = append(dst, llm.Event{Type: llm.EventToolCallStart, Index: d.openIdx, ID: id, Name: p.FunctionCall.Name},
			llm.Event{Type: llm.EventToolArgsDelta, Index: d.openIdx, Text: string(rawOr(p.FunctionCall.Args, "{}"))})
	case p.Text != nil && p.Thought:
		dst = d.openBlock(dst, blockThinking)
		if *p.Text != "" {
			dst = append(dst, llm.Event{Type: llm.EventThinkingDelta, Index: d.openIdx, Text: *p.Text})
		}
	case p.Text != nil:
		if *p.Text == "" && p.ThoughtSignature == "" {
			return dst // an empty text part carries nothing
		}
		if *p.Text == "" && d.open != blockNone {
			break // an empty part that only carries a signature belongs to the open block
		}
		dst = d.openBlock(dst, blockText)
		if *p.Text != "" {
			dst = append(dst, llm.Event{Type: llm.EventTextDelta, Index: d.openIdx, Text: *p.Text})
		}
	default:
		return dst
	}
	if p.ThoughtSignature != "" {
		dst = append(dst, llm.Event{Type: llm.EventSignatureDelta, Index: d.openIdx, Text: p.ThoughtSignature, SignatureFormat: llm.FormatGemini})
	}
	if p.FunctionCall != nil {
		dst = d.closeOpen(dst)
	}
	return dst
}

func (d *geminiStreamDecoder) End(dst []llm.Event) ([]llm.Event, error) {
	dst = d.closeOpen(dst)
	if !d.finished {
		return dst, llm.StreamCut("gemini stream ended before a finishReason")
	}
	return append(dst, llm.Event{Type: llm.EventFinish, Finish: d.finish}), nil
}

// geminiStreamEncoder writes alt=sse chunks, one per canonical delta; function calls are buffered until
// their block stops because Gemini sends each call whole.
type geminiStreamEncoder struct {
	c        *geminiCodec
	req      *llm.Request
	id       string
	model    string
	kinds    map[int]blockKind
	callIdx  int
	callID   string
	callName string
	callSig  string
	args     []byte
	inCall   bool
	usage    llm.Usage
	finish   llm.FinishReason
}

func (c *geminiCodec) NewStreamEncoder(req *llm.Request) StreamEncoder {
	return &geminiStreamEncoder{c: c, req: req}
}

// Gemini separates SSE events with CRLF (WIRE.md §4.4).
const geminiEOL = "\r\n\r\n"

func (e *geminiStreamEncoder) chunkStart(dst []byte) []byte {
	return append(dst, `data: {"candidates":[{"content":{"role":"model","parts":[`...)
}

func (e *geminiStreamEncoder) chunkEnd(dst []byte, finish string) []byte {
	dst = append(dst, `]}`...)
	if finish != "" {
		dst = append(dst, `,"finishReason":`...)
		dst = appendString(dst, finish)
	}
	dst = append(dst, `,"index":0}]`...)
	if finish != "" {
		dst = append(dst, `,"usageMetadata":`...)
		dst = appendGeminiUsage(dst, e.usage)
	}
	model := e.model
	if e.req != nil && e.req.Model != "" {
		model = e.req.Model
	}
	dst = append(dst, `,"modelVersion":`...)
	dst = appendString(dst, model)
	if e.id != "" {
		dst = append(dst, `,"responseId":`...)
		dst = appendString(dst, e.id)
	}
	return append(dst, "}"+geminiEOL...)
}

func (e *geminiStreamEncoder) textChunk(dst []byte, text string, thought bool, sig string) []byte {
	dst = e.chunkStart(dst)
	dst = append(dst, `{"text":`...)
	dst = appendString(dst, text)
	if thought {
		dst = append(dst, `,"thought":true`...)
	}
	if sig != "" {
		dst = append(dst, `,"thoughtSignature":`...)
		dst = appendString(dst, sig)
	}
	dst = append(dst, '}')
	return e.chunkEnd(dst, "")
}

func (e *geminiStreamEncoder) setKind(i int, k blockKind) {
	if e.kinds == nil {
		e.kinds = make(map[int]blockKind, 4)
	}
	e.kinds[i] = k
}

func (e *geminiStreamEncoder) Encode(dst []byte, ev *llm.Event) []byte {
	switch ev.Type {
	case llm.EventMessageStart:
		e.id, e.model = ev.ID, ev.Model
	case llm.EventTextDelta:
		e.setKind(ev.Index, blockText)
		if ev.Text != "" {
			dst = e.textChunk(dst, ev.Text, false, "")
		}
	case llm.EventThinkingDelta:
		e.setKind(ev.Index, blockThinking)
		if ev.Text != "" {
			dst = e.textChunk(dst, ev.Text, true, "")
		}
	case llm.EventSignatureDelta:
		if ev.SignatureFormat != llm.FormatGemini || ev.Text == "" {
			return dst // other vendors' signatures never reach a Gemini client
		}
		if e.inCall && ev.Index == e.callIdx {
			e.callSig = ev.Text
			return dst
		}
		dst = e.textChunk(dst, "", e.kinds[ev.Index] == blockThinking, ev.Text)
	case llm.EventToolCallStart:
		e.inCall, e.callIdx, e.callID, e.callName, e.callSig = true, ev.Index, ev.ID, restoreToolName(e.req, ev.Name), ""
		e.args = e.args[:0]
	case llm.EventToolArgsDelta:
		if e.inCall && ev.Index == e.callIdx {
			e.args = append(e.args, ev.Text...)
		}
	case llm.EventBlockStop:
		if e.inCall && ev.Index == e.callIdx {
			dst = e.flushCall(dst)
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

func (e *geminiStreamEncoder) flushCall(dst []byte) []byte {
	e.inCall = false
	dst = e.chunkStart(dst)
	dst = append(dst, `{"functionCall":{"name":`...)
	dst = appendString(dst, e.callName)
	if e.callID != "" {
		dst = append(dst, `,"id":`...)
		dst = appendString(dst, e.callID)
	}
	dst = append(dst, `,"args":`...)
	dst = append(dst, argsObject(string(e.args))...)
	dst = append(dst, '}')
	if e.callSig != "" {
		dst = append(dst, `,"thoughtSignature":`...)
		dst = appendString(dst, e.callSig)
	}
	dst = append(dst, '}')
	return e.chunkEnd(dst, "")
}

func (e *geminiStreamEncoder) Finish(dst []byte) []byte {
	if e.inCall {
		dst = e.flushCall(dst)
	}
	dst = e.chunkStart(dst)
	dst = append(dst, `{"text":""}`...)
	return e.chunkEnd(dst, geminiFinishString(e.finish))
}

func (e *geminiStreamEncoder) Fail(dst []byte, err *llm.Error) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, geminiErrorJSON(err)...)
	return append(dst, geminiEOL...)
}
