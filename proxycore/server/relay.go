package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/sse"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// relayBody answers a non-streaming request: the upstream body as is (identity) or translated.
func (x *exchange) relayBody(resp *http.Response, upFormat llm.Format, identity bool, start time.Time) bool {
	defer resp.Body.Close()
	body, err := readSized(resp.Body, x.rt.maxResponse, resp.ContentLength)
	now := x.s.clock.Now()
	x.rec.TTFB = now.Sub(start)
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			x.fail(errBadGateway("The upstream response is larger than the proxy's limit of " + mb(x.rt.maxResponse) + " ([limits] max-response-size-mb)."))
			x.rec.ErrorClass = "response_too_large"
			return false
		}
		if x.r.Context().Err() != nil {
			x.rec.Status = 499
			x.rec.ErrorClass = "client_closed"
			return false
		}
		x.fail(errBadGateway("Reading the upstream response failed: " + err.Error()))
		return false
	}
	h := x.w.Header()
	if identity {
		x.rec.Usage = extractUsage(upFormat, body)
		ct := resp.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/json"
		}
		h.Set("Content-Type", ct)
		copyRateLimitHeaders(h, resp.Header)
		x.rec.Status = resp.StatusCode
		writeBody(x.w, resp.StatusCode, body)
		x.s.cacheStore(x, resp.StatusCode, body)
		if x.rt.requestLog {
			x.respBody = body
		}
		return true
	}
	canonResp, err := x.s.codecs.Codec(upFormat).DecodeResponse(body)
	if err != nil {
		x.fail(errBadGateway("The upstream answered with a body the proxy could not read: " + err.Error()))
		x.rec.ErrorClass = "malformed_upstream"
		return false
	}
	x.rec.Usage = canonResp.Usage
	canonResp.Model = x.model
	out, err := x.s.codecs.Codec(x.client).EncodeResponse(canonResp)
	if err != nil {
		x.fail(asLLMError(err))
		return false
	}
	h.Set("Content-Type", "application/json")
	x.rec.Status = http.StatusOK
	writeBody(x.w, http.StatusOK, out)
	x.s.cacheStore(x, http.StatusOK, out)
	if x.rt.requestLog {
		x.respBody = out
	}
	return true
}

// relayCount answers a token-count request from the upstream's native count in another format.
func (x *exchange) relayCount(resp *http.Response, upFormat llm.Format, start time.Time) bool {
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, 1<<20)
	x.rec.TTFB = x.s.clock.Now().Sub(start)
	if err != nil {
		if x.r.Context().Err() != nil {
			x.rec.Status, x.rec.ErrorClass = 499, "client_closed"
			return false
		}
		x.fail(errBadGateway("Reading the upstream token count failed: " + err.Error()))
		return false
	}
	n, err := translate.DecodeCountTokensResponse(upFormat, body)
	if err != nil {
		x.fail(errBadGateway("The upstream answered the token count with a body the proxy could not read: " + err.Error()))
		x.rec.ErrorClass = "malformed_upstream"
		return false
	}
	x.w.Header().Set("Content-Type", "application/json")
	x.rec.Status = http.StatusOK
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write(translate.EncodeCountTokensResponse(x.client, n))
	return true
}

// readSized reads r to its end like readLimited, in one allocation when the length is announced (hint is the
// Content-Length, -1 when unknown) instead of the repeated doubling io.ReadAll does from 512 bytes.
func readSized(r io.Reader, max, hint int64) ([]byte, error) {
	size := int64(512)
	if hint >= 0 && hint <= max {
		size = hint + 1 // room for the read that sees EOF
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > max {
			return b[:max], errBodyTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// streamWriter serialises writes to the client between the relay loop and the keepalive ticker.
type streamWriter struct {
	mu        sync.Mutex // guards w, started and abandoned
	w         http.ResponseWriter
	rc        *http.ResponseController
	started   bool
	abandoned bool // given up before the first byte so that another credential can answer
	// array: a Gemini client that did not ask for alt=sse gets one JSON array streamed element by
	// element (WIRE.md 4.4); elems counts the elements written.
	array bool
	elems int
	last  atomic.Int64 // unix nanos of the last write
	x     *exchange
}

func (sw *streamWriter) begin() {
	if sw.started {
		return
	}
	sw.started = true
	h := sw.w.Header()
	if sw.array {
		h.Set("Content-Type", "application/json; charset=UTF-8")
	} else {
		h.Set("Content-Type", "text/event-stream")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	sw.x.rec.Status = http.StatusOK
	sw.w.WriteHeader(http.StatusOK)
	if sw.array {
		_, _ = sw.w.Write(arrayOpen)
	}
}

var (
	arrayOpen  = []byte("[")
	arraySep   = []byte(",\r\n")
	arrayClose = []byte("]")
	arraySpace = []byte("\n")
)

// arrayElements turns SSE frames into JSON array elements (comments become whitespace, which keeps the
// connection busy just as well).
func (sw *streamWriter) arrayElements(p []byte) []byte {
	out := make([]byte, 0, len(p)+8)
	forEachFrame(p, func(fr []byte) {
		data := frameData(fr)
		if len(bytes.TrimSpace(data)) == 0 {
			if len(bytes.TrimSpace(fr)) > 0 {
				out = append(out, arraySpace...)
			}
			return
		}
		if sw.elems > 0 {
			out = append(out, arraySep...)
		}
		sw.elems++
		out = append(out, data...)
	})
	return out
}

// closeArray ends a JSON-array stream; nothing happens for SSE or an abandoned response.
func (sw *streamWriter) closeArray() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !sw.array || sw.abandoned {
		return
	}
	sw.begin()
	if _, err := sw.w.Write(arrayClose); err == nil {
		_ = sw.rc.Flush()
	}
}

// write sends p to the client and flushes it at once.
func (sw *streamWriter) write(p []byte) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.abandoned {
		return errAbandoned
	}
	sw.begin()
	if sw.array {
		p = sw.arrayElements(p)
	}
	if _, err := sw.w.Write(p); err != nil {
		return err
	}
	sw.last.Store(time.Now().UnixNano())
	return sw.rc.Flush()
}

var errAbandoned = errors.New("stream abandoned before its first byte")

// abandon gives the response up when nothing has reached the client yet, so that the request can go to
// another credential; later writes (a late keepalive) are dropped. It reports false once bytes were sent.
func (sw *streamWriter) abandon() bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.started {
		return false
	}
	sw.abandoned = true
	return true
}

var keepaliveFrame = []byte(": keepalive\n\n")

// keepalive writes SSE comment lines while nothing else was written for every seconds. Comments are ignored
// by every SSE client, so they keep idle connections (and proxies in between) open during long thinking.
func (sw *streamWriter) keepalive(every time.Duration, done <-chan struct{}) {
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			if now.UnixNano()-sw.last.Load() >= int64(every) {
				_ = sw.write(keepaliveFrame)
			}
		}
	}
}

// relayStream relays an upstream SSE stream event by event, translating it when the formats differ. It
// returns false when the stream ended badly (the client then got a format-correct error event).
func (x *exchange) relayStream(resp *http.Response, exec provider.Executor, upFormat llm.Format, identity bool, start time.Time) bool {
	defer resp.Body.Close()
	sw := &streamWriter{w: x.w, rc: http.NewResponseController(x.w), x: x}
	sw.array = x.client == llm.FormatGemini && x.r.URL.Query().Get("alt") != "sse"
	if sw.array {
		defer sw.closeArray() // after the keepalive has stopped (defers run last-in, first-out)
	}
	sw.last.Store(time.Now().UnixNano())
	copyRateLimitHeaders(x.w.Header(), resp.Header)
	if ka := x.rt.keepalive; ka > 0 {
		done := make(chan struct{})
		defer close(done)
		go sw.keepalive(ka, done)
	}
	if identity {
		return x.pipeIdentity(sw, resp.Body, upFormat, start)
	}
	return x.pipeTranslated(sw, resp.Body, upFormat, start)
}

// pipeIdentity copies complete SSE frames as they arrive, checking that the stream reaches its terminal
// event and picking up the usage on the way; the bytes themselves are not re-encoded.
func (x *exchange) pipeIdentity(sw *streamWriter, body io.Reader, f llm.Format, start time.Time) bool {
	pb := streamBufs.Get().(*[]byte)
	buf := (*pb)[:0]
	defer func() {
		if cap(buf) <= maxPooledStreamBuf { // an oversized event grew it: let that one go
			*pb = buf[:0]
			streamBufs.Put(pb)
		}
	}()
	var us usageSniffer
	us.format = f
	terminal := false
	first := true
	for {
		if cap(buf)-len(buf) < minStreamRead { // a partial event fills the buffer: make room
			buf = append(buf, make([]byte, minStreamRead)...)[:len(buf)]
		}
		n, rerr := body.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			if first {
				x.rec.TTFB = x.s.clock.Now().Sub(start)
				first = false
			}
			buf = buf[:len(buf)+n]
			end := lastFrameEnd(buf)
			if end > 0 {
				frames := buf[:end]
				hidden := false
				forEachFrame(frames, func(fr []byte) {
					if !terminal && isTerminalFrame(f, fr) {
						terminal = true
					}
					us.observe(fr)
					hidden = hidden || (x.hideUsage && isUsageOnlyChunk(fr))
				})
				if hidden {
					frames = withoutUsageChunks(frames)
				}
				if err := sw.write(frames); err != nil {
					x.rec.Status = 499
					x.rec.ErrorClass = "client_closed"
					return true
				}
				rest := copy(buf, buf[end:])
				buf = buf[:rest]
			}
			if len(buf) > sse.DefaultMaxEventSize {
				return x.streamFailed(sw, f, nil, llm.StreamCut("an upstream event exceeded the size limit"))
			}
		}
		if rerr != nil {
			x.rec.Usage = us.usage()
			if x.r.Context().Err() != nil {
				x.rec.Status = 499
				x.rec.ErrorClass = "client_closed"
				return true
			}
			if len(bytes.TrimSpace(buf)) > 0 {
				if isTerminalFrame(f, buf) {
					terminal = true
				}
				_ = sw.write(append(buf, '\n', '\n'))
			}
			if f == llm.FormatGemini && us.sawFinish {
				terminal = true // Gemini streams end with the connection after a chunk carrying finishReason
			}
			if terminal && (rerr == io.EOF) {
				return true
			}
			detail := "connection closed before the final event"
			if rerr != io.EOF {
				detail = rerr.Error()
			}
			return x.streamFailed(sw, f, nil, llm.StreamCut(detail))
		}
	}
}

// streamBufs holds the read buffers of identity streams, so a streamed request allocates none.
var streamBufs = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

const (
	minStreamRead      = 4 << 10  // the least room a read gets
	maxPooledStreamBuf = 64 << 10 // buffers grown past this by one large event are not kept
)

var (
	emptyChoicesMarker = []byte(`"choices":[]`)
	usageObjectMarker  = []byte(`"usage":{`)
)

// isUsageOnlyChunk reports whether an OpenAI Chat or Completions frame is the final usage chunk that
// stream_options.include_usage adds (choices empty, usage set).
func isUsageOnlyChunk(fr []byte) bool {
	return bytes.Contains(fr, emptyChoicesMarker) && bytes.Contains(fr, usageObjectMarker)
}

// withoutUsageChunks returns frames without the usage-only chunks, re-framed with blank lines.
func withoutUsageChunks(frames []byte) []byte {
	out := make([]byte, 0, len(frames))
	forEachFrame(frames, func(fr []byte) {
		if len(bytes.TrimSpace(fr)) > 0 && !isUsageOnlyChunk(fr) {
			out = append(append(out, fr...), '\n', '\n')
		}
	})
	return out
}

// pipeTranslated decodes upstream events into canonical events and encodes them for the client.
func (x *exchange) pipeTranslated(sw *streamWriter, body io.Reader, upFormat llm.Format, start time.Time) bool {
	req, lerr := x.decoded()
	if lerr != nil {
		return x.streamFailed(sw, x.client, nil, lerr)
	}
	dec := x.s.codecs.Codec(upFormat).NewStreamDecoder()
	enc := x.s.codecs.Codec(x.client).NewStreamEncoder(x.canonForClient(req))
	rd := sse.NewReader(body)
	evs := make([]llm.Event, 0, 8)
	out := make([]byte, 0, 4096)
	first := true
	for {
		name, data, err := rd.Next()
		if err != nil {
			if x.r.Context().Err() != nil {
				x.rec.Status = 499
				x.rec.ErrorClass = "client_closed"
				return true
			}
			var endErr error
			evs, endErr = dec.End(evs[:0])
			out = x.encodeEvents(enc, out[:0], evs)
			if err != io.EOF && endErr == nil {
				endErr = llm.StreamCut(err.Error())
			}
			if endErr != nil {
				if len(out) > 0 {
					_ = sw.write(out)
				}
				return x.streamFailed(sw, x.client, enc, asLLMError(endErr))
			}
			out = enc.Finish(out)
			if len(out) > 0 {
				_ = sw.write(out)
			}
			return true
		}
		if first {
			x.rec.TTFB = x.s.clock.Now().Sub(start)
			first = false
		}
		var derr error
		evs, derr = dec.Decode(evs[:0], string(name), data)
		out = x.encodeEvents(enc, out[:0], evs)
		if derr != nil {
			if len(out) > 0 {
				_ = sw.write(out)
			}
			return x.streamFailed(sw, x.client, enc, &llm.Error{Status: http.StatusBadGateway, Type: "api_error",
				Code: "malformed_upstream", Message: "The upstream sent a malformed stream event: " + derr.Error()})
		}
		if len(out) > 0 {
			if err := sw.write(out); err != nil {
				x.rec.Status = 499
				x.rec.ErrorClass = "client_closed"
				return true
			}
		}
	}
}

// canonForClient returns the request as the client asked for it (model name included), which the stream
// encoder echoes back.
func (x *exchange) canonForClient(req *llm.Request) *llm.Request {
	req.Model = x.model
	return req
}

func (x *exchange) encodeEvents(enc interface {
	Encode(dst []byte, ev *llm.Event) []byte
}, dst []byte, evs []llm.Event) []byte {
	for i := range evs {
		if evs[i].Type == llm.EventUsage {
			x.rec.Usage = evs[i].Usage
		}
		dst = enc.Encode(dst, &evs[i])
	}
	return dst
}

// streamFailed ends the client stream with a format-correct error event and records the failure.
func (x *exchange) streamFailed(sw *streamWriter, f llm.Format, enc interface {
	Fail(dst []byte, e *llm.Error) []byte
}, e *llm.Error) bool {
	if e.Status >= 500 && sw.abandon() {
		// Nothing reached the client: the forwarding loop may retry ([streaming] bootstrap-retries) or
		// answer with a plain error response instead of a stream that is only an error.
		x.earlyStreamErr = e
		dropUpstreamHeaders(x.w.Header())
		return false
	}
	if enc == nil {
		enc = x.s.codecs.Codec(f).NewStreamEncoder(&llm.Request{Model: x.model})
	}
	x.rec.ErrorClass = "stream_cut"
	x.rec.ErrorMessage = e.Message
	_ = sw.write(enc.Fail(nil, e))
	return false
}

// lastFrameEnd returns the index just past the last complete SSE frame in b (0 when none is complete).
func lastFrameEnd(b []byte) int {
	if i := bytes.LastIndex(b, lfLF); i >= 0 {
		end := i + 2
		if j := bytes.LastIndex(b, crlfCRLF); j >= 0 && j+4 > end {
			end = j + 4
		}
		return end
	}
	if j := bytes.LastIndex(b, crlfCRLF); j >= 0 {
		return j + 4
	}
	return 0
}

var (
	lfLF     = []byte("\n\n")
	crlfCRLF = []byte("\r\n\r\n")
)

// forEachFrame calls fn for every blank-line separated frame in b.
func forEachFrame(b []byte, fn func([]byte)) {
	for len(b) > 0 {
		i := bytes.Index(b, lfLF)
		j := bytes.Index(b, crlfCRLF)
		switch {
		case i < 0 && j < 0:
			fn(b)
			return
		case j >= 0 && (i < 0 || j < i):
			fn(b[:j])
			b = b[j+4:]
		default:
			fn(b[:i])
			b = b[i+2:]
		}
	}
}

var (
	doneMarker          = []byte("[DONE]")
	messageStopMarker   = []byte("message_stop")
	responseEndMarker1  = []byte("event: response.completed")
	responseEndMarker2  = []byte("event: response.incomplete")
	responseEndMarker3  = []byte("event: response.failed")
	streamErrorMarker   = []byte("event: error")
	geminiFinishMarker  = []byte(`"finishReason"`)
	openAIFinishMarker  = []byte(`"finish_reason":"`)
	openAIErrorMarker   = []byte(`data: {"error"`)
	completionEndMarker = doneMarker
)

// isTerminalFrame reports whether fr is the event that properly ends a stream of format f (WIRE.md 5.10).
// An upstream in-stream error also counts: it is already a well-formed end the client understands.
func isTerminalFrame(f llm.Format, fr []byte) bool {
	switch f {
	case llm.FormatOpenAIChat:
		return bytes.Contains(fr, doneMarker) || bytes.Contains(fr, openAIErrorMarker)
	case llm.FormatOpenAICompletions:
		return bytes.Contains(fr, completionEndMarker) || bytes.Contains(fr, openAIErrorMarker)
	case llm.FormatClaude:
		return bytes.Contains(fr, messageStopMarker) || bytes.HasPrefix(fr, streamErrorMarker)
	case llm.FormatResponses:
		return bytes.HasPrefix(fr, responseEndMarker1) || bytes.HasPrefix(fr, responseEndMarker2) ||
			bytes.HasPrefix(fr, responseEndMarker3) || bytes.HasPrefix(fr, streamErrorMarker)
	case llm.FormatGemini:
		return bytes.Contains(fr, openAIErrorMarker) // Gemini errors share the {"error":...} shape
	}
	return false
}

// dropUpstreamHeaders removes what copyRateLimitHeaders and a fallback copied for an abandoned attempt.
func dropUpstreamHeaders(h http.Header) {
	for k := range h {
		if hasPrefix(k, "X-Ratelimit-") || hasPrefix(k, "Anthropic-Ratelimit-") || k == "X-Request-Id" || k == "Request-Id" ||
			k == "X-Cliproxy-Fallback" {
			delete(h, k)
		}
	}
}

func copyRateLimitHeaders(dst, src http.Header) {
	for k, v := range src {
		if hasPrefix(k, "X-Ratelimit-") || hasPrefix(k, "Anthropic-Ratelimit-") || k == "X-Request-Id" || k == "Request-Id" {
			dst[k] = v
		}
	}
}

func mb(n int64) string {
	return strconv.FormatInt(n>>20, 10) + " MB"
}
