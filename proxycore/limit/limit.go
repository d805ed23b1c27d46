// Package limit enforces client rate limits: a global cap on parallel requests, and per client key a
// parallel cap, requests per minute (RPM) and tokens per minute (TPM). Counters live in a Backend, in
// process memory for one instance or in Redis so that N instances enforce one limit.
//
// Windows are fixed 60 s windows aligned to the Unix epoch minute (12:00:00.000 to 12:00:59.999 is one
// window). A fixed window is exact to check and lets RetryAfter be computed precisely: it is the time
// left until the current window ends. Its known weakness, up to twice the limit across a window edge,
// is accepted in exchange for one counter per key and window. TPM is charged after the call from the
// real usage (Ticket.Release), so the call that crosses the limit completes and the next one is refused
// until the window rolls over.
package limit

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// Window is the length of the RPM and TPM windows.
const Window = time.Minute

// windowTTL is how long a window counter lives in the backend: the window plus slack for clock skew
// between instances.
const windowTTL = 2 * Window

// DefaultSlotTTL is the safety-net lifetime of a parallel slot that is never released (its holder
// crashed). It must be longer than the longest request, streams included.
const DefaultSlotTTL = 15 * time.Minute

// parallelRetryAfter is the hint given when a parallel cap refuses a request: slots free up when any
// in-flight request ends, which cannot be predicted, so a short retry is suggested.
const parallelRetryAfter = time.Second

// Rejection reasons, used as Rejection.Reason and as a metrics label.
const (
	ReasonGlobalParallel = "global-parallel"
	ReasonKeyParallel    = "key-parallel"
	ReasonRPM            = "rpm"
	ReasonTPM            = "tpm"
)

// Options configures a Limiter. A zero limit means "no limit".
type Options struct {
	// MaxParallel caps in-flight requests across all keys.
	MaxParallel int
	// MaxParallelPerKey caps in-flight requests per client key unless KeyLimits overrides it.
	MaxParallelPerKey int
	// RPMPerKey caps requests per minute per client key unless KeyLimits overrides it.
	RPMPerKey int
	// TPMPerKey caps tokens per minute per client key unless KeyLimits overrides it.
	TPMPerKey int
	// SlotTTL is how long a parallel slot survives when never released; zero means DefaultSlotTTL.
	// Only shared backends (Redis) use it.
	SlotTTL time.Duration
	// Clock tells the time; nil means the system clock.
	Clock clock.Clock
	// Logger receives backend failures; nil discards them.
	Logger *slog.Logger
}

// KeyLimits overrides the defaults for one key (for example from a virtual key's settings). Zero fields
// use the Options defaults; a negative field turns that limit off for the key.
type KeyLimits struct {
	MaxParallel int
	RPM         int
	TPM         int
}

// Rejection says why a request was refused and when to retry.
type Rejection struct {
	// Reason is one of the Reason constants.
	Reason string
	// RetryAfter is how long until the request could succeed: exact for rpm and tpm (time left in the
	// window), a short hint for the parallel caps.
	RetryAfter time.Duration
	// Message is a sentence for the client; it never contains the key.
	Message string
}

// Error makes a Rejection usable as an error.
func (r *Rejection) Error() string { return "rate limited (" + r.Reason + "): " + r.Message }

// Limiter admits or refuses requests. It is safe for concurrent use.
type Limiter struct {
	opts    Options
	clock   clock.Clock
	backend Backend
	log     *slog.Logger
	enabled bool          // any limit could apply; false makes Acquire a no-op
	lease   atomic.Uint64 // source of slot lease ids
	errors  atomic.Int64  // backend failures (the limiter fails open)
}

// New returns a Limiter over backend; a nil backend means a fresh memory backend.
func New(opts Options, backend Backend) *Limiter {
	if backend == nil {
		backend = NewMemory()
	}
	if opts.SlotTTL <= 0 {
		opts.SlotTTL = DefaultSlotTTL
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{
		opts:    opts,
		clock:   clock.Or(opts.Clock),
		backend: backend,
		log:     log,
		// Per-key overrides can switch limits on even when all defaults are zero, so the limiter is
		// only "off" when the caller passes no overrides; see Acquire.
		enabled: opts.MaxParallel > 0 || opts.MaxParallelPerKey > 0 || opts.RPMPerKey > 0 || opts.TPMPerKey > 0,
	}
}

// BackendErrors reports how many backend calls failed. The limiter fails open on backend errors so an
// unavailable Redis does not take the proxy down.
func (l *Limiter) BackendErrors() int64 { return l.errors.Load() }

// Ticket is an admitted request. Call Release exactly once when the request ends.
type Ticket struct {
	l         *Limiter
	key       string
	lease     uint64
	global    bool // holds a global parallel slot
	perKey    bool // holds a per-key parallel slot
	chargeTPM bool // tokens must be charged to the TPM window
}

// resolve picks the effective limit: the override when set, the default when zero, none when negative.
func resolve(override, def int) int64 {
	switch {
	case override < 0:
		return 0
	case override > 0:
		return int64(override)
	default:
		return int64(def)
	}
}

// Acquire admits a request for key or says why not. The returned Ticket must be released. Checks run
// in an order that leaves no side effect behind a refusal: TPM (read only), parallel slots (given back
// on a later refusal), RPM last so refused requests never count against the minute.
func (l *Limiter) Acquire(ctx context.Context, key string, per KeyLimits) (Ticket, *Rejection) {
	if !l.enabled && per == (KeyLimits{}) {
		return Ticket{}, nil
	}
	maxPar := resolve(per.MaxParallel, l.opts.MaxParallelPerKey)
	rpm := resolve(per.RPM, l.opts.RPMPerKey)
	tpm := resolve(per.TPM, l.opts.TPMPerKey)
	globalMax := int64(l.opts.MaxParallel)
	if maxPar == 0 && rpm == 0 && tpm == 0 && globalMax == 0 {
		return Ticket{}, nil
	}
	t := Ticket{l: l, key: key}
	now := l.clock.Now()
	win := windowStart(now)

	if tpm > 0 {
		ok, _, err := l.backend.Take(ctx, CounterKey{Kind: KindTokens, Key: key, Window: win}, 0, tpm, windowTTL)
		if l.failed(err, "checking tpm") == nil && !ok {
			return Ticket{}, l.reject(ReasonTPM, retryAfter(now, win),
				fmt.Sprintf("token rate limit of %d tokens per minute reached", tpm))
		}
		t.chargeTPM = true
	}
	if globalMax > 0 || maxPar > 0 {
		t.lease = l.lease.Add(1)
	}
	if globalMax > 0 {
		ok, err := l.backend.AcquireSlot(ctx, CounterKey{Kind: KindGlobalParallel}, t.lease, globalMax, l.opts.SlotTTL)
		if l.failed(err, "taking global parallel slot") == nil && !ok {
			return Ticket{}, l.reject(ReasonGlobalParallel, parallelRetryAfter,
				fmt.Sprintf("the proxy is handling its maximum of %d parallel requests", globalMax))
		}
		t.global = err == nil
	}
	if maxPar > 0 {
		ok, err := l.backend.AcquireSlot(ctx, CounterKey{Kind: KindParallel, Key: key}, t.lease, maxPar, l.opts.SlotTTL)
		if l.failed(err, "taking key parallel slot") == nil && !ok {
			t.releaseSlots(ctx)
			return Ticket{}, l.reject(ReasonKeyParallel, parallelRetryAfter,
				fmt.Sprintf("this key already has its maximum of %d parallel requests", maxPar))
		}
		t.perKey = err == nil
	}
	if rpm > 0 {
		ok, _, err := l.backend.Take(ctx, CounterKey{Kind: KindRequests, Key: key, Window: win}, 1, rpm, windowTTL)
		if l.failed(err, "counting rpm") == nil && !ok {
			t.releaseSlots(ctx)
			return Ticket{}, l.reject(ReasonRPM, retryAfter(now, win),
				fmt.Sprintf("request rate limit of %d requests per minute reached", rpm))
		}
	}
	return t, nil
}

// Release gives back the ticket's parallel slots and charges tokensUsed to the key's TPM window (the
// window current at release time, when the tokens were actually consumed). The zero Ticket's Release
// does nothing.
func (t Ticket) Release(tokensUsed int) {
	if t.l == nil {
		return
	}
	ctx := context.Background()
	t.releaseSlots(ctx)
	if t.chargeTPM && tokensUsed > 0 {
		win := windowStart(t.l.clock.Now())
		_, _, err := t.l.backend.Take(ctx, CounterKey{Kind: KindTokens, Key: t.key, Window: win}, int64(tokensUsed), 0, windowTTL)
		_ = t.l.failed(err, "charging tpm")
	}
}

func (t Ticket) releaseSlots(ctx context.Context) {
	if t.perKey {
		_ = t.l.failed(t.l.backend.ReleaseSlot(ctx, CounterKey{Kind: KindParallel, Key: t.key}, t.lease), "releasing key parallel slot")
	}
	if t.global {
		_ = t.l.failed(t.l.backend.ReleaseSlot(ctx, CounterKey{Kind: KindGlobalParallel}, t.lease), "releasing global parallel slot")
	}
}

// failed records and logs a backend error and returns it; the caller then admits the request.
func (l *Limiter) failed(err error, what string) error {
	if err != nil {
		l.errors.Add(1)
		l.log.Warn("rate-limit backend failed; admitting request", "op", what, "err", err)
	}
	return err
}

func (l *Limiter) reject(reason string, after time.Duration, msg string) *Rejection {
	return &Rejection{Reason: reason, RetryAfter: after, Message: msg + "; retry in " + retrySeconds(after)}
}

// retrySeconds renders a wait as whole seconds rounded up, the unit of the Retry-After header.
func retrySeconds(d time.Duration) string {
	return fmt.Sprintf("%d s", RetryAfterSeconds(d))
}

// RetryAfterSeconds rounds d up to whole seconds (at least 1) for a Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// windowStart returns the start of now's window in Unix nanoseconds.
func windowStart(now time.Time) int64 {
	n := now.UnixNano()
	return n - n%int64(Window)
}

// retryAfter is the exact time left in the window that starts at win.
func retryAfter(now time.Time, win int64) time.Duration {
	return time.Duration(win + int64(Window) - now.UnixNano())
}
