// Package translate converts between the client and upstream wire formats (OpenAI Chat, legacy
// Completions, Responses, Anthropic Messages, Gemini) through the canonical types of package llm: one
// Codec per format decodes into and encodes from llm, so any client format reaches any upstream format.
package translate

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync/atomic"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// Codec converts one wire format to and from the canonical llm types.
type Codec interface {
	// Format names the wire format.
	Format() llm.Format
	// DecodeRequest parses a client body; bad JSON yields a 400 *llm.Error saying what is wrong.
	DecodeRequest(body []byte) (*llm.Request, error)
	// EncodeRequest builds an upstream body; a feature the format cannot express yields a 400 *llm.Error.
	EncodeRequest(req *llm.Request) ([]byte, error)
	// DecodeResponse parses an upstream non-streaming body.
	DecodeResponse(body []byte) (*llm.Response, error)
	// EncodeResponse builds a client non-streaming body.
	EncodeResponse(resp *llm.Response) ([]byte, error)
	// NewStreamDecoder returns a decoder of upstream SSE events.
	NewStreamDecoder() StreamDecoder
	// NewStreamEncoder returns an encoder of client SSE frames for the client's request.
	NewStreamEncoder(req *llm.Request) StreamEncoder
	// DecodeError parses an upstream error body, keeping the status and retry hints.
	DecodeError(status int, h http.Header, body []byte) *llm.Error
	// EncodeError renders e as this format's JSON error body.
	EncodeError(e *llm.Error) []byte
}

// StreamDecoder turns upstream SSE events into canonical events.
type StreamDecoder interface {
	// Decode consumes one upstream SSE event (its event: name, possibly empty, and its data) and appends
	// canonical events to dst. Malformed data returns an error.
	Decode(dst []llm.Event, event string, data []byte) ([]llm.Event, error)
	// End is called at upstream EOF; it returns an *llm.Error when the stream was cut before a proper end.
	End(dst []llm.Event) ([]llm.Event, error)
}

// StreamEncoder turns canonical events into client SSE frames.
type StreamEncoder interface {
	// Encode appends complete client SSE frames for ev to dst (possibly none).
	Encode(dst []byte, ev *llm.Event) []byte
	// Finish appends the closing frames after the last event.
	Finish(dst []byte) []byte
	// Fail appends a format-correct in-stream error event.
	Fail(dst []byte, e *llm.Error) []byte
}

// env is what every codec of one Registry shares: the clock and the id source.
type env struct {
	clock clock.Clock
	newID func(prefix string) string
}

func (e *env) now() int64 { return e.clock.Now().Unix() }

// Option configures a Registry.
type Option func(*env)

// WithClock sets the clock used for "created" timestamps.
func WithClock(c clock.Clock) Option { return func(e *env) { e.clock = clock.Or(c) } }

// WithIDGenerator sets the function that makes ids (response ids, synthesised tool-call ids) from a
// prefix such as "call_". Tests use it for deterministic output.
func WithIDGenerator(f func(prefix string) string) Option {
	return func(e *env) {
		if f != nil {
			e.newID = f
		}
	}
}

// SequentialIDs returns an id generator producing prefix + a counter, for tests and golden files.
func SequentialIDs() func(prefix string) string {
	var n atomic.Int64
	return func(prefix string) string {
		return prefix + "gen" + itoa(n.Add(1))
	}
}

func randomID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Registry holds one Codec per format.
type Registry struct {
	codecs map[llm.Format]Codec
}

// New returns a Registry with every codec registered explicitly.
func New(opts ...Option) *Registry {
	e := &env{clock: clock.Real{}, newID: randomID}
	for _, o := range opts {
		o(e)
	}
	r := &Registry{codecs: make(map[llm.Format]Codec)}
	for _, c := range []Codec{
		&chatCodec{env: e},
		&claudeCodec{env: e},
		&geminiCodec{env: e},
		&responsesCodec{env: e},
		&completionsCodec{env: e},
	} {
		r.codecs[c.Format()] = c
	}
	return r
}

// Codec returns the codec for f, or nil when f is unknown.
func (r *Registry) Codec(f llm.Format) Codec { return r.codecs[f] }
