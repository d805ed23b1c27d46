package proxytest

import (
	"context"
	"net/http"
	"unicode/utf8"
)

// stream writes server-sent events for one reply, applying the reply's cut, malformed and pause
// scripts, and flushing after every event (real vendors stream each event as it is produced).
type stream struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	r      *http.Request
	ctx    context.Context
	reply  *Reply
	eol    string // "\n", or "\r\n" for Gemini (WIRE.md §4.4)
	n      int    // events written
	paused bool
	done   bool
	array  bool // Gemini without alt=sse: a JSON array streamed element by element (WIRE.md §4.4)
	// inStreamError builds the vendor's in-stream error event for Reply.ErrorAfter; it gets the
	// number of events already written and returns the event name ("" for data-only) and data.
	inStreamError func(n int) (string, []byte)
}

// startStream writes the 200 header for an event stream. Extra headers must already be set on w.
func startStream(w http.ResponseWriter, r *http.Request, reply *Reply, crlf bool) *stream {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	s := &stream{w: w, rc: http.NewResponseController(w), r: r, ctx: r.Context(), reply: reply, eol: "\n"}
	if crlf {
		s.eol = "\r\n"
	}
	if err := s.rc.Flush(); err != nil {
		s.fail()
	}
	return s
}

// event writes one event (name may be empty for data-only framing). It returns false once the
// stream has ended: client gone, write failed, or a malformed event was sent. When the reply's
// CutAfter count is reached it aborts the connection without a terminating chunk.
func (s *stream) event(name string, data []byte) bool {
	if s.done {
		return false
	}
	if s.ctx.Err() != nil {
		s.fail()
		return false
	}
	r := s.reply
	if r.PauseAfter > 0 && s.n == r.PauseAfter && !s.paused {
		s.paused = true
		select {
		case <-r.Resume:
		case <-s.ctx.Done():
			s.fail()
			return false
		}
	}
	if (r.CutAfter > 0 && s.n == r.CutAfter) || (r.CutAtStart && s.n == 0) {
		// Dropping the connection mid-body is what a network cut or a crashed upstream looks like
		// to the client: no terminal event and no final chunk.
		panic(http.ErrAbortHandler)
	}
	if r.MalformedAfter > 0 && s.n == r.MalformedAfter {
		data = []byte(`{"malformed": tru`)
		s.done = true
	}
	if r.ErrorAfter > 0 && s.n == r.ErrorAfter && s.inStreamError != nil {
		name, data = s.inStreamError(s.n)
		s.done = true
	}
	buf := make([]byte, 0, len(name)+len(data)+24)
	switch {
	case s.array && s.n == 0:
		buf = append(buf, '[')
		buf = append(buf, data...)
	case s.array:
		buf = append(buf, ',', '\r', '\n')
		buf = append(buf, data...)
	default:
		buf = s.frame(buf, name, data)
	}
	if _, err := s.w.Write(buf); err != nil {
		s.fail()
		return false
	}
	if err := s.rc.Flush(); err != nil {
		s.fail()
		return false
	}
	s.n++
	return !s.done
}

// fail ends the stream because the client went away.
func (s *stream) fail() {
	s.done = true
	markCanceled(s.r)
}

// frame appends one SSE event: an optional event line, the data line and a blank line.
func (s *stream) frame(buf []byte, name string, data []byte) []byte {
	if name != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, name...)
		buf = append(buf, s.eol...)
	}
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, s.eol...)
	return append(buf, s.eol...)
}

// end closes a JSON-array stream; SSE streams need no trailer.
func (s *stream) end() {
	if !s.array || s.done {
		return
	}
	if s.n == 0 {
		_, _ = s.w.Write([]byte("["))
	}
	_, _ = s.w.Write([]byte("]"))
	_ = s.rc.Flush()
}

// splitText cuts s into at most n non-empty pieces of roughly equal rune counts.
func splitText(s string, n int) []string {
	if s == "" {
		return nil
	}
	runes := utf8.RuneCountInString(s)
	if n <= 0 {
		n = 1
	}
	if n > runes {
		n = runes
	}
	out := make([]string, 0, n)
	per, extra := runes/n, runes%n
	i := 0
	for k := 0; k < n; k++ {
		want := per
		if k < extra {
			want++
		}
		j := i
		for c := 0; c < want; c++ {
			_, size := utf8.DecodeRuneInString(s[j:])
			j += size
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// argsOrEmpty returns the tool arguments, or "{}" when unset.
func argsOrEmpty(a string) string {
	if a == "" {
		return "{}"
	}
	return a
}
