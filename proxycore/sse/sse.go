// Package sse reads and writes Server-Sent Events frames (the framing every LLM streaming API uses),
// with bounded memory and few allocations.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxEventSize bounds the size of one event's data (16 MiB).
const DefaultMaxEventSize = 16 << 20

// ErrEventTooLarge is returned when an event's data exceeds the reader's limit.
var ErrEventTooLarge = errors.New("sse: event too large")

// Reader parses an SSE stream. It accepts LF and CRLF line endings, multi-line data fields (joined with
// "\n"), comment lines and ignores id/retry fields. It is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	max     int
	event   []byte
	data    []byte
	line    []byte
	hasData bool
}

// NewReader returns a Reader over r with DefaultMaxEventSize.
func NewReader(r io.Reader) *Reader { return NewReaderSize(r, DefaultMaxEventSize) }

// NewReaderSize returns a Reader over r whose events may hold at most max bytes of data.
func NewReaderSize(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxEventSize
	}
	return &Reader{br: bufio.NewReaderSize(r, 32<<10), max: max}
}

// Next returns the next event's name (empty when the stream sent no event: line) and data. The slices
// are valid until the next call. At the end of the stream it returns io.EOF; an event not terminated by
// a blank line is still returned when its last line ended with a newline. Events without data lines are
// skipped.
func (r *Reader) Next() (event, data []byte, err error) {
	r.event = r.event[:0]
	r.data = r.data[:0]
	r.hasData = false
	for {
		line, terminated, err := r.readLine()
		if err != nil {
			if err == io.EOF && r.hasData && terminated {
				return r.event, r.data, nil
			}
			if err == io.EOF && len(line) == 0 {
				return nil, nil, io.EOF
			}
			if err != io.EOF {
				return nil, nil, err
			}
			// Unterminated last line: the stream was cut mid-event.
			return nil, nil, io.ErrUnexpectedEOF
		}
		if len(line) == 0 {
			if r.hasData {
				return r.event, r.data, nil
			}
			r.event = r.event[:0]
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if r.hasData {
				r.data = append(r.data, '\n')
			}
			if len(r.data)+len(value) > r.max {
				return nil, nil, fmt.Errorf("%w: more than %d bytes", ErrEventTooLarge, r.max)
			}
			r.data = append(r.data, value...)
			r.hasData = true
		case "event":
			r.event = append(r.event[:0], value...)
		}
	}
}

// readLine returns one line without its terminator. terminated reports whether a newline ended it.
// At the end of input it returns io.EOF, with any unterminated remainder in line.
func (r *Reader) readLine() (line []byte, terminated bool, err error) {
	frag, err := r.br.ReadSlice('\n')
	if err == nil {
		return trimEOL(frag), true, nil
	}
	r.line = append(r.line[:0], frag...)
	for err == bufio.ErrBufferFull {
		if len(r.line) > r.max+16 {
			return nil, false, fmt.Errorf("%w: line longer than %d bytes", ErrEventTooLarge, r.max)
		}
		frag, err = r.br.ReadSlice('\n')
		r.line = append(r.line, frag...)
	}
	if err == nil {
		return trimEOL(r.line), true, nil
	}
	if err == io.EOF {
		if len(r.line) == 0 {
			return nil, true, io.EOF
		}
		return r.line, false, io.EOF
	}
	return nil, false, err
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// AppendEvent appends one SSE frame to dst: an "event:" line when event is not empty, one "data:" line
// per line of data, and the terminating blank line.
func AppendEvent(dst []byte, event string, data []byte) []byte {
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, bytes.TrimSuffix(data[:i], []byte{'\r'})...)
		dst = append(dst, '\n')
		data = data[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// AppendData appends a data-only frame ("data: <data>\n\n") to dst; data must not contain newlines.
func AppendData(dst []byte, data []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}
