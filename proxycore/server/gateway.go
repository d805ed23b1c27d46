package server

import (
	"errors"

	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// Gateway bundles the gateway features that need persistence. The app opens the store and hands the
// pieces in; every nil field turns its feature off. Rate limits, the response cache and Prometheus metrics
// are built by the server itself from the configuration ([rate-limits], [cache], [metrics]).
type Gateway struct {
	// Keys holds the virtual keys: authentication, model allow-lists, budgets and per-key limits.
	Keys *spend.Keys
	// Spend receives one row per finished request (the async spend writer); nil: no spend log.
	Spend SpendSink
	// Pricing prices usage; nil: the built-in table with the config's [[pricing.models]] overrides.
	Pricing *spend.Pricing
	// RequestLog receives a masked copy of each request when [request-log] is enabled; nil: off.
	RequestLog RequestLogSink
	// StoreError is why the database could not be opened, when it could not: the proxy still serves,
	// readiness reports spend tracking as unavailable with this reason, and a virtual key (which cannot be
	// checked) gets 503 with it.
	StoreError error
}

// SpendSink takes spend rows without blocking (spend.Writer satisfies it). Add reports false when the row
// was dropped because the queue is full.
type SpendSink interface {
	Add(rec spend.Record) bool
	QueueDepth() int
	Dropped() uint64
}

// RequestLogSink takes request-log rows without blocking.
type RequestLogSink interface {
	LogRequest(row store.RequestLogRow)
}

// KeyAuthenticator turns a presented key into a Principal. It must answer from memory: it runs on every
// request.
type KeyAuthenticator interface {
	Authenticate(plaintext string) (*Principal, error)
}

// ErrUnknownKey is returned by a KeyAuthenticator for keys it does not know (as opposed to revoked or
// expired keys, whose errors are shown to the caller).
var ErrUnknownKey = errors.New("unknown key")

func isUnknownKey(err error) bool {
	return errors.Is(err, ErrUnknownKey) || errors.Is(err, spend.ErrUnknownKey)
}
