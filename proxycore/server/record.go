package server

import (
	"time"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// Record describes one finished client request. The server hands it to the Recorder (spend log, metrics,
// request log) after the response ended; it never holds secrets.
type Record struct {
	Time          time.Time
	RequestID     string
	Route         string // "chat", "messages", "generateContent", ...
	ClientFormat  llm.Format
	KeyID         string // client key id (a virtual key id, "static-N" or "generated"); "" when auth is off
	Model         string // model the client asked for (after alias resolution)
	UpstreamModel string
	Provider      string
	CredentialID  string
	Fallback      string // the fallback model that answered, if any
	Stream        bool
	Status        int
	ErrorClass    string
	ErrorMessage  string
	Usage         llm.Usage
	Latency       time.Duration // whole request
	TTFB          time.Duration // upstream start to first byte
	Upstream      time.Duration // time spent on the upstream call that answered, to its last byte
	CostUSD       float64       // priced usage (0 for cache hits and unknown models)
	CacheHit      bool
}

// Recorder receives a Record for every finished request. It must not block: spend rows go to an async writer.
type Recorder interface {
	Record(r *Record)
}
