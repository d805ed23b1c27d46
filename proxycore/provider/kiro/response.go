package kiro

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// claudeOut renders one Kiro answer in the Anthropic Messages format.
type claudeOut struct {
	codec    translate.Codec
	model    string
	req      *llm.Request
	inTokens int64
	thinking bool // the request asked for thinking: split <thinking> sections off the text
}

func (o *claudeOut) converter() converter {
	c := converter{inTokens: o.inTokens}
	if o.thinking {
		c.think = &splitter{}
	}
	return c
}

// stream returns a Claude SSE response produced frame by frame as the body is read. The first frame is
// read here, so that an upstream that fails at once (an exception frame, a corrupt frame) is answered
// with an error status the router can act on, before any byte reaches the client.
func (o *claudeOut) stream(ctx context.Context, up *http.Response) (*http.Response, error) {
	b := &sseBody{ctx: ctx, up: up.Body, dec: NewDecoder(up.Body), enc: o.codec.NewStreamEncoder(o.req),
		conv: o.converter(), model: o.model}
	err := b.dec.Next(&b.frame)
	switch {
	case err != nil && ctx.Err() != nil:
		up.Body.Close()
		return nil, fmt.Errorf("kiro: %w", ctx.Err())
	case err != nil:
		up.Body.Close()
		return errorResponse(o.codec, frameError(err)), nil
	case b.frame.MessageType == "exception" || b.frame.MessageType == "error":
		_, le := b.conv.frame(nil, &b.frame)
		up.Body.Close()
		return errorResponse(o.codec, le), nil
	}
	b.pending = true
	h := http.Header{"Content-Type": []string{"text/event-stream"}, "Cache-Control": []string{"no-cache"}}
	if v := up.Header.Get("X-Amzn-Requestid"); v != "" {
		h.Set("X-Amzn-Requestid", v)
	}
	return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: b, ContentLength: -1}, nil
}

// sseBody produces the Claude SSE stream on demand: each Read that finds the buffer empty decodes the
// next upstream frame and encodes its events. Nothing is buffered beyond one frame's output.
type sseBody struct {
	ctx     context.Context
	up      io.ReadCloser
	dec     *Decoder
	enc     translate.StreamEncoder
	conv    converter
	model   string
	frame   Frame
	pending bool // frame holds the first frame, read by stream
	started bool
	done    bool
	err     error
	evs     []llm.Event
	buf     []byte
	off     int
}

func (b *sseBody) Read(p []byte) (int, error) {
	for b.off >= len(b.buf) {
		if b.done {
			if b.err != nil {
				return 0, b.err
			}
			return 0, io.EOF
		}
		b.buf, b.off = b.buf[:0], 0
		b.step()
	}
	n := copy(p, b.buf[b.off:])
	b.off += n
	return n, nil
}

// step advances the stream by one upstream frame (or its end) into b.buf.
func (b *sseBody) step() {
	evs := b.evs[:0]
	if !b.started {
		b.started = true
		evs = append(evs, llm.Event{Type: llm.EventMessageStart, Model: b.model},
			llm.Event{Type: llm.EventUsage, Usage: llm.Usage{InputTokens: b.conv.inTokens, OutputTokens: 1}})
	}
	var err error
	if b.pending {
		b.pending = false
	} else {
		err = b.dec.Next(&b.frame)
	}
	var fail *llm.Error
	switch {
	case err == io.EOF:
		evs = b.conv.finish(evs)
	case err != nil && b.ctx.Err() != nil:
		// The client went away: there is nobody to tell, so the read error ends the body.
		b.done, b.err = true, b.ctx.Err()
		b.up.Close()
		return
	case err != nil:
		fail = frameError(err)
	default:
		evs, fail = b.conv.frame(evs, &b.frame)
	}
	for i := range evs {
		b.buf = b.enc.Encode(b.buf, &evs[i])
	}
	b.evs = evs
	switch {
	case fail != nil:
		b.buf = b.enc.Fail(b.buf, fail)
		b.done = true
		b.up.Close()
	case err == io.EOF:
		b.buf = b.enc.Finish(b.buf)
		b.done = true
		b.up.Close()
	}
}

// Close releases the upstream body; a Read blocked on it returns.
func (b *sseBody) Close() error { return b.up.Close() }

// aggregate reads the whole event stream and answers with one Claude Messages JSON body.
func (o *claudeOut) aggregate(ctx context.Context, up *http.Response) (*http.Response, error) {
	defer up.Body.Close()
	dec := NewDecoder(up.Body)
	conv := o.converter()
	resp := &llm.Response{Model: o.model, Message: llm.Message{Role: llm.RoleAssistant}, Finish: llm.FinishStop}
	var (
		f    Frame
		evs  []llm.Event
		buf  = map[int]*strings.Builder{} // text or tool arguments of each canonical block
		pos  = map[int]int{}              // canonical block index -> part index
		tool = map[int]bool{}
	)
	apply := func(evs []llm.Event) {
		for _, ev := range evs {
			switch ev.Type {
			case llm.EventTextDelta, llm.EventThinkingDelta:
				if _, ok := pos[ev.Index]; !ok {
					pos[ev.Index], buf[ev.Index] = len(resp.Message.Parts), &strings.Builder{}
					part := llm.Part{Kind: llm.PartText}
					if ev.Type == llm.EventThinkingDelta {
						part = llm.Part{Kind: llm.PartThinking, Thinking: &llm.Thinking{}}
					}
					resp.Message.Parts = append(resp.Message.Parts, part)
				}
				buf[ev.Index].WriteString(ev.Text)
			case llm.EventToolCallStart:
				pos[ev.Index], buf[ev.Index], tool[ev.Index] = len(resp.Message.Parts), &strings.Builder{}, true
				resp.Message.Parts = append(resp.Message.Parts, llm.Part{Kind: llm.PartToolCall,
					ToolCall: &llm.ToolCall{ID: ev.ID, Name: ev.Name}})
			case llm.EventToolArgsDelta:
				if b := buf[ev.Index]; b != nil && tool[ev.Index] {
					b.WriteString(ev.Text)
				}
			case llm.EventUsage:
				resp.Usage = ev.Usage
			}
		}
	}
	for {
		err := dec.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("kiro: %w", ctx.Err())
			}
			return errorResponse(o.codec, frameError(err)), nil
		}
		var le *llm.Error
		evs, le = conv.frame(evs[:0], &f)
		if le != nil {
			return errorResponse(o.codec, le), nil
		}
		apply(evs)
	}
	apply(conv.finish(evs[:0]))
	for idx, b := range buf {
		p := &resp.Message.Parts[pos[idx]]
		switch {
		case tool[idx]:
			p.ToolCall.Arguments = json.RawMessage(b.String())
			resp.Finish = llm.FinishToolCalls
		case p.Kind == llm.PartThinking:
			p.Thinking.Text = b.String()
		default:
			p.Text = b.String()
		}
	}
	translate.RestoreToolNames(resp, o.req)
	body, err := o.codec.EncodeResponse(resp)
	if err != nil {
		return errorResponse(o.codec, &llm.Error{Status: http.StatusBadGateway, Type: "api_error", Message: "Kiro: " + err.Error()}), nil
	}
	return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": []string{"application/json"}, "Content-Length": []string{strconv.Itoa(len(body))}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body))}, nil
}

// frameError describes a stream that could not be decoded; it never echoes payload bytes.
func frameError(err error) *llm.Error {
	msg := "Kiro: the response stream was cut off inside an event."
	switch {
	case errors.Is(err, ErrChecksum):
		msg = "Kiro: the response stream is corrupt (" + err.Error() + ")."
	case errors.Is(err, ErrFrame):
		msg = "Kiro: the response stream is malformed (" + err.Error() + ")."
	case errors.Is(err, io.ErrUnexpectedEOF):
	default:
		msg = "Kiro: reading the response stream failed: " + err.Error()
	}
	return &llm.Error{Status: http.StatusBadGateway, Type: "api_error", Code: "stream_error", Message: msg}
}

// osName is the platform word of the AWS SDK user agent.
func osName() string {
	if n, ok := sdkOS[runtime.GOOS]; ok {
		return n
	}
	return "other"
}

var sdkOS = map[string]string{"darwin": "macos", "linux": "linux", "windows": "windows"}
