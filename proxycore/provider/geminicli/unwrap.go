package geminicli

import (
	"bufio"
	"bytes"
	"io"

	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
)

// Code Assist answers CaGenerateContentResponse {response: <GenerateContentResponse>, traceId?}; gemini-cli
// takes the inner object and uses traceId as the responseId (converter.ts fromGenerateContentResponse).
// Streams are SSE whose data lines each hold one such envelope; gemini-cli joins the data lines of an
// event and parses them at the blank line (server.ts requestStreamingPost), accepting \n and \r\n.

// Unwrap returns the inner Gemini response of one Code Assist envelope, with traceId copied to
// responseId when the inner object has none. Anything that is not an envelope ({"error":...}, an
// already plain response) is returned unchanged.
func Unwrap(b []byte) []byte {
	inner, ok := acct.Member(b, "response")
	if !ok || len(inner) < 2 || inner[0] != '{' {
		return b
	}
	trace, ok := acct.Member(b, "traceId")
	if !ok || len(trace) < 2 || trace[0] != '"' {
		return inner
	}
	if _, has := acct.Member(inner, "responseId"); has {
		return inner
	}
	out := make([]byte, 0, len(inner)+len(trace)+16)
	out = append(out, `{"responseId":`...)
	out = append(out, trace...)
	rest := bytes.TrimSpace(inner[1:])
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// maxEvent bounds one SSE event; a Code Assist chunk is far smaller.
const maxEvent = 16 << 20

// unwrapReader turns a Code Assist SSE stream into a Gemini SSE stream event by event: the data lines
// of each event are collected up to the blank line that ends it, unwrapped, and emitted as one
// "data: <inner>" event. Other lines (comments, ids) pass through. Nothing beyond the current event is
// held.
type unwrapReader struct {
	up   io.ReadCloser
	br   *bufio.Reader
	data []byte // data of the event being collected
	has  bool   // the event has a data line
	out  []byte
	off  int
	err  error
}

func newUnwrapReader(up io.ReadCloser) *unwrapReader {
	return &unwrapReader{up: up, br: bufio.NewReaderSize(up, 32<<10)}
}

func (r *unwrapReader) Read(p []byte) (int, error) {
	for r.off >= len(r.out) {
		if r.err != nil {
			return 0, r.err
		}
		r.out, r.off = r.out[:0], 0
		r.fill()
	}
	n := copy(p, r.out[r.off:])
	r.off += n
	return n, nil
}

// fill reads upstream lines until one complete event (or a passed-through line) is in r.out.
func (r *unwrapReader) fill() {
	for len(r.out) == 0 {
		line, err := r.readLine()
		if err != nil {
			// A last event without its blank line is still delivered.
			r.flushEvent()
			r.err = err
			return
		}
		switch {
		case len(line) == 0:
			r.flushEvent()
		case bytes.HasPrefix(line, []byte("data:")):
			v := bytes.TrimPrefix(line[5:], []byte(" "))
			if r.has {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, v...)
			r.has = true
			if len(r.data) > maxEvent {
				r.err = errEventTooLarge
				return
			}
		default:
			r.out = append(r.out, line...)
			r.out = append(r.out, '\n')
		}
	}
}

func (r *unwrapReader) flushEvent() {
	if !r.has {
		return
	}
	r.out = append(r.out, "data: "...)
	r.out = append(r.out, Unwrap(bytes.TrimSpace(r.data))...)
	r.out = append(r.out, "\n\n"...)
	r.data, r.has = r.data[:0], false
}

// readLine returns one line without its \n or \r\n. Lines longer than the buffer are assembled.
func (r *unwrapReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			buf = append(buf, line...)
			if len(buf) > maxEvent {
				return nil, errEventTooLarge
			}
		}
		line = buf
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			return bytes.TrimRight(line, "\r"), nil
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// Close releases the upstream body.
func (r *unwrapReader) Close() error { return r.up.Close() }

type eventError string

func (e eventError) Error() string { return string(e) }

// errEventTooLarge ends a stream whose single event exceeds maxEvent.
const errEventTooLarge = eventError("gemini-cli: a stream event is larger than 16 MiB")
