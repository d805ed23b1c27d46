package translate

import (
	"errors"
	"fmt"
	"io"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/sse"
)

// PumpResult reports what a translated stream carried.
type PumpResult struct {
	// Usage is the last usage the upstream reported (zero if none).
	Usage llm.Usage
	// Finish is the finish reason, empty when the stream failed.
	Finish llm.FinishReason
	// Events counts the upstream SSE events read.
	Events int
}

// Pump reads an upstream SSE body from r, translates it with dec and enc, and hands the client bytes
// to write once per upstream event (so the caller can flush). Every outcome ends the client stream in a
// well-formed way: normal closing frames, or enc.Fail with the upstream error, a decoding error (502) or
// a cut stream. The returned error is the *llm.Error sent to the client, or the error from write (after
// which nothing more is written).
func Pump(r io.Reader, dec StreamDecoder, enc StreamEncoder, write func([]byte) error) (PumpResult, error) {
	var res PumpResult
	rd := sse.NewReader(r)
	var evs []llm.Event
	buf := make([]byte, 0, 4096)
	fail := func(e *llm.Error) (PumpResult, error) {
		buf = enc.Fail(buf[:0], e)
		if err := write(buf); err != nil {
			return res, err
		}
		return res, e
	}
	emit := func() error {
		buf = buf[:0]
		for i := range evs {
			ev := &evs[i]
			switch ev.Type {
			case llm.EventUsage:
				res.Usage = ev.Usage
			case llm.EventFinish:
				res.Finish = ev.Finish
			}
			buf = enc.Encode(buf, ev)
		}
		if len(buf) == 0 {
			return nil
		}
		return write(buf)
	}
	for {
		name, data, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Finish = ""
			return fail(llm.StreamCut(err.Error()))
		}
		res.Events++
		var derr error
		evs, derr = dec.Decode(evs[:0], string(name), data)
		if werr := emit(); werr != nil {
			return res, werr
		}
		if derr != nil {
			res.Finish = ""
			var le *llm.Error
			if !errors.As(derr, &le) {
				le = &llm.Error{Status: 502, Type: "api_error", Message: fmt.Sprintf("malformed upstream stream: %v", derr)}
			}
			return fail(le)
		}
	}
	evs, err := dec.End(evs[:0])
	if werr := emit(); werr != nil {
		return res, werr
	}
	if err != nil {
		res.Finish = ""
		var le *llm.Error
		if !errors.As(err, &le) {
			le = llm.StreamCut(err.Error())
		}
		return fail(le)
	}
	buf = enc.Finish(buf[:0])
	return res, write(buf)
}
