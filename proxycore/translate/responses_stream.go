package translate

import (
	"encoding/json"
	"fmt"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// responsesStreamDecoder decodes Responses stream events (WIRE.md §2.4) keyed by output_index.
type responsesStreamDecoder struct {
	slowOnly bool // tests: disable the fast path to compare both
	ev       responsesStreamEvent
	started  bool
	done     bool
	next     int
	blocks   map[int]int  // output_index -> canonical block index
	argsSeen map[int]bool // canonical block index -> argument deltas seen
	calls    bool
	scratch  []byte
}

type responsesStreamEvent struct {
	Type         string               `json:"type"`
	OutputIndex  int                  `json:"output_index"`
	SummaryIndex int                  `json:"summary_index"`
	Delta        string               `json:"delta"`
	Item         *responsesOutputItem `json:"item"`
	Response     *responsesResponse   `json:"response"`
	Code         string               `json:"code"`
	Message      string               `json:"message"`
	Param        string               `json:"param"`
}

func (c *responsesCodec) NewStreamDecoder() StreamDecoder { return &responsesStreamDecoder{} }

func (d *responsesStreamDecoder) block(outputIndex int) (int, bool) {
	if d.blocks == nil {
		d.blocks = make(map[int]int, 4)
	}
	if bi, ok := d.blocks[outputIndex]; ok {
		return bi, false
	}
	bi := d.next
	d.next++
	d.blocks[outputIndex] = bi
	return bi, true
}

// fast decodes the hot delta events without reflection; ok is false when the event needs the full
// decoder.
func (d *responsesStreamDecoder) fast(dst []llm.Event, data []byte) ([]llm.Event, bool) {
	if !d.started {
		return dst, false
	}
	var typ llm.EventType
	switch string(objGet(data, "type")) {
	case `"response.output_text.delta"`, `"response.refusal.delta"`:
		typ = llm.EventTextDelta
	case `"response.reasoning_summary_text.delta"`, `"response.reasoning_text.delta"`:
		typ = llm.EventThinkingDelta
	case `"response.function_call_arguments.delta"`:
		typ = llm.EventToolArgsDelta
	default:
		return dst, false
	}
	oi, ok := rawInt(objGet(data, "output_index"))
	if !ok {
		return dst, false
	}
	text, ok := rawString(objGet(data, "delta"), &d.scratch)
	if !ok {
		return dst, false
	}
	bi, _ := d.block(oi)
	if typ == llm.EventToolArgsDelta {
		if d.argsSeen == nil {
			d.argsSeen = make(map[int]bool, 4)
		}
		d.argsSeen[bi] = true
	}
	return append(dst, llm.Event{Type: typ, Index: bi, Text: text}), true
}

func (d *responsesStreamDecoder) Decode(dst []llm.Event, event string, data []byte) ([]llm.Event, error) {
	if !ValidJSON(data) {
		return dst, fmt.Errorf("decoding responses stream event %q: invalid JSON", event)
	}
	if !d.slowOnly {
		if out, ok := d.fast(dst, data); ok {
			return out, nil
		}
	}
	ev := &d.ev
	*ev = responsesStreamEvent{}
	if err := json.Unmarshal(data, ev); err != nil {
		return dst, fmt.Errorf("decoding responses stream event %q: %w", event, err)
	}
	typ := ev.Type
	if typ == "" {
		typ = event
	}
	if !d.started && typ != "error" {
		d.started = true
		var id, model string
		if ev.Response != nil {
			id, model = ev.Response.ID, ev.Response.Model
		}
		dst = append(dst, llm.Event{Type: llm.EventMessageStart, ID: id, Model: model})
	}
	switch typ {
	case "response.output_item.added":
		if ev.Item == nil {
			return dst, fmt.Errorf("%s without item", typ)
		}
		switch ev.Item.Type {
		case "function_call":
			d.calls = true
			bi, _ := d.block(ev.OutputIndex)
			dst = append(dst, llm.Event{Type: llm.EventToolCallStart, Index: bi, ID: ev.Item.CallID, Name: ev.Item.Name})
		case "reasoning":
			bi, _ := d.block(ev.OutputIndex)
			dst = append(dst, llm.Event{Type: llm.EventThinkingDelta, Index: bi})
		}
	case "response.output_text.delta", "response.refusal.delta":
		bi, _ := d.block(ev.OutputIndex)
		dst = append(dst, llm.Event{Type: llm.EventTextDelta, Index: bi, Text: ev.Delta})
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		bi, _ := d.block(ev.OutputIndex)
		dst = append(dst, llm.Event{Type: llm.EventThinkingDelta, Index: bi, Text: ev.Delta})
	case "response.reasoning_summary_part.added":
		if ev.SummaryIndex > 0 {
			bi, _ := d.block(ev.OutputIndex)
			dst = append(dst, llm.Event{Type: llm.EventThinkingDelta, Index: bi, Text: "\n\n"})
		}
	case "response.function_call_arguments.delta":
		bi, _ := d.block(ev.OutputIndex)
		if d.argsSeen == nil {
			d.argsSeen = make(map[int]bool, 4)
		}
		d.argsSeen[bi] = true
		dst = append(dst, llm.Event{Type: llm.EventToolArgsDelta, Index: bi, Text: ev.Delta})
	case "response.output_item.done":
		if ev.Item == nil {
			return dst, fmt.Errorf("%s without item", typ)
		}
		bi, ok := d.blocks[ev.OutputIndex]
		if !ok {
			return dst, nil
		}
		switch ev.Item.Type {
		case "function_call":
			if !d.argsSeen[bi] && ev.Item.Arguments != "" {
				dst = append(dst, llm.Event{Type: llm.EventToolArgsDelta, Index: bi, Text: ev.Item.Arguments})
			}
		case "reasoning":
			if ev.Item.EncryptedContent != "" {
				dst = append(dst, llm.Event{Type: llm.EventSignatureDelta, Index: bi, ID: ev.Item.ID,
					Text: ev.Item.EncryptedContent, SignatureFormat: llm.FormatResponses})
			}
		}
		dst = append(dst, llm.Event{Type: llm.EventBlockStop, Index: bi})
	case "response.completed", "response.incomplete":
		d.done = true
		if r := ev.Response; r != nil {
			if r.Usage != nil {
				dst = append(dst, llm.Event{Type: llm.EventUsage, Usage: r.Usage.canonical()})
			}
			filtered := r.IncompleteDetails != nil && r.IncompleteDetails.Reason == "content_filter"
			status := r.Status
			if status == "" {
				status = typ[len("response."):]
			}
			dst = append(dst, llm.Event{Type: llm.EventFinish, Finish: responsesFinish(status, filtered, d.calls)})
		}
	case "response.failed":
		e := &llm.Error{Status: 500, Type: "server_error", Message: "upstream response failed"}
		if r := ev.Response; r != nil && r.Error != nil {
			e.Code, e.Message = r.Error.Code, r.Error.Message
			if e.Code == "rate_limit_exceeded" {
				e.Status = 429
			}
		}
		return dst, e
	case "error":
		e := &llm.Error{Status: 500, Type: "server_error", Code: ev.Code, Message: ev.Message, Param: ev.Param}
		if ev.Code == "rate_limit_exceeded" {
			e.Status = 429
		}
		return dst, e
	}
	return dst, nil
}

func (d *responsesStreamDecoder) End(dst []llm.Event) ([]llm.Event, error) {
	if !d.done {
		return dst, llm.StreamCut("responses stream ended before response.completed")
	}
	return dst, nil
}
