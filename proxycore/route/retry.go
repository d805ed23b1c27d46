package route

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// RetryPolicy says which upstream failures are retried and how long to wait between attempts
// ([retry-policy] in the config). Retries happen only before the first byte reaches the client.
type RetryPolicy struct {
	MaxRetries     int           // retries after the first attempt
	InitialBackoff time.Duration // wait before the first retry (default 500 ms)
	MaxBackoff     time.Duration // cap on any wait (default 8 s)
	Multiplier     float64       // growth per retry (default 2; values below 1 are taken as 1)
	Jitter         float64       // +/- fraction of randomness, 0..1 (0: none; DefaultRetryPolicy and the config use 0.2)
	RetryOn        []int         // retryable statuses; nil means DefaultRetryOn()
}

// DefaultRetryOn returns the status list used when RetryPolicy.RetryOn is nil (a fresh slice).
func DefaultRetryOn() []int { return []int{408, 429, 500, 502, 503, 504} }

// DefaultRetryPolicy returns the documented defaults.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxRetries:     2,
		InitialBackoff: 500 * time.Millisecond,
		MaxBackoff:     8 * time.Second,
		Multiplier:     2,
		Jitter:         0.2,
		RetryOn:        DefaultRetryOn(),
	}
}

// Validate reports the first invalid field, naming its config key.
func (p RetryPolicy) Validate() error {
	switch {
	case p.MaxRetries < 0:
		return fmt.Errorf("retry-policy.max-retries must not be negative, got %d", p.MaxRetries)
	case p.InitialBackoff < 0:
		return fmt.Errorf("retry-policy.initial-backoff-ms must not be negative, got %v", p.InitialBackoff)
	case p.MaxBackoff < 0:
		return fmt.Errorf("retry-policy.max-backoff-ms must not be negative, got %v", p.MaxBackoff)
	case p.Multiplier < 0:
		return fmt.Errorf("retry-policy.multiplier must not be negative, got %v", p.Multiplier)
	case p.Jitter < 0 || p.Jitter > 1:
		return fmt.Errorf("retry-policy.jitter must be between 0 and 1, got %v", p.Jitter)
	}
	for _, s := range p.RetryOn {
		if s < 100 || s > 599 {
			return fmt.Errorf("retry-policy.retry-on: %d is not an HTTP status", s)
		}
	}
	return nil
}

// Retryable reports whether an upstream answer with status may be retried. Status 0 (no response:
// connection refused, reset, timeout) is always retryable.
func (p RetryPolicy) Retryable(status int) bool {
	if status == 0 {
		return true
	}
	if p.RetryOn == nil {
		switch status {
		case 408, 429, 500, 502, 503, 504: // keep in step with DefaultRetryOn
			return true
		}
		return false
	}
	return slices.Contains(p.RetryOn, status)
}

// RetryableResponse is Retryable with the upstream's own advice added: an x-should-retry header of
// "true" (OpenAI and Anthropic send it, with Anthropic's 529 overloaded for one; their SDKs honour it,
// per WIRE.md §1.6 and §3.6) makes any status retryable. Its "false" is not followed: it speaks for the
// credential that answered, and the proxy retries on another one, which may well serve the request (a
// key out of quota answers 429 with x-should-retry: false).
func (p RetryPolicy) RetryableResponse(status int, h http.Header) bool {
	if strings.EqualFold(strings.TrimSpace(h.Get("X-Should-Retry")), "true") {
		return true
	}
	return p.Retryable(status)
}

// Backoff returns the wait before retry number attempt (1 for the first retry): InitialBackoff times
// Multiplier^(attempt-1), capped at MaxBackoff, then spread by +/- Jitter using rnd in [0, 1) and capped
// again. rnd = 0.5 gives the value without jitter.
func (p RetryPolicy) Backoff(attempt int, rnd float64) time.Duration {
	initial, maxB, mult := p.InitialBackoff, p.MaxBackoff, p.Multiplier
	if initial <= 0 {
		initial = 500 * time.Millisecond
	}
	if maxB <= 0 {
		maxB = 8 * time.Second
	}
	if mult == 0 {
		mult = 2
	}
	mult = max(mult, 1)
	d := float64(initial)
	for i := 1; i < attempt && d < float64(maxB); i++ {
		d *= mult
	}
	d = min(d, float64(maxB))
	if j := min(max(p.Jitter, 0), 1); j > 0 {
		rnd = min(max(rnd, 0), 1)
		d *= 1 + j*(2*rnd-1)
	}
	return time.Duration(min(max(d, 0), float64(maxB)))
}
