package route

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// Defaults applied by NewRouter to zero option fields; they match config.example.toml.
const (
	DefaultStrategy            = "fill-first"
	DefaultWindow              = 60 * time.Second
	DefaultFailureThreshold    = 0.5
	DefaultDegradedThreshold   = 0.1
	DefaultMinRequests         = 5
	DefaultCleanupInterval     = 300 * time.Second
	DefaultMaxCooldown         = 30 * time.Minute
	DefaultServerErrorCooldown = 10 * time.Second
	DefaultRateLimitCooldown   = 30 * time.Second
)

// HealthOptions configures the failure-rate tracker ([health-tracking] in the config). Zero fields take
// the Default* values above; Enable false keeps every credential HEALTHY as far as failure rates go
// (cooldowns and MarkError still apply).
type HealthOptions struct {
	Enable            bool
	Window            time.Duration // rolling window (health-tracking.window-seconds)
	FailureThreshold  float64       // failure rate at or above: ERROR
	DegradedThreshold float64       // failure rate at or above: DEGRADED
	MinRequests       int           // fewer requests in the window: HEALTHY; also the lowest-latency warm-up
	CleanupInterval   time.Duration // how often Run drops idle per-model trackers
}

// Options configures a Router. The zero value is usable: fill-first, no health awareness, real clock.
type Options struct {
	// Strategy is fill-first (default), round-robin, random, least-busy or lowest-latency.
	Strategy string
	// HealthAware skips credentials in COOLDOWN or ERROR.
	HealthAware bool
	// PreferHealthy picks HEALTHY credentials before DEGRADED ones (only with HealthAware).
	PreferHealthy bool
	// Health configures the failure-rate tracker.
	Health HealthOptions
	// MaxCooldown caps cooldowns (default 30 min) unless the upstream named a later reset explicitly.
	MaxCooldown time.Duration
	// ServerErrorCooldown is the cooldown after a 5xx or a transport error (default 10 s; negative: none).
	ServerErrorCooldown time.Duration
	// RateLimitCooldown is the first cooldown after a 429 without a usable hint (default 30 s); it doubles
	// with each consecutive hintless 429 up to MaxCooldown and resets on success.
	RateLimitCooldown time.Duration
	// Clock tells the time; nil means the system clock.
	Clock clock.Clock
	// Rand returns numbers in [0, 1) for the random strategy; nil means math/rand/v2.
	Rand func() float64
	// Logger receives cooldown and error-state changes; nil discards them.
	Logger *slog.Logger
	// OnCooldown, when set, is called (outside any lock) each time End starts or extends a cooldown,
	// so that serve mode can share it with other instances, which apply it with SetCooldown. Model is
	// the upstream model, or "" for a credential-wide cooldown.
	OnCooldown func(credentialID, model string, until time.Time)
}

// DefaultOptions returns the options that match the documented configuration defaults.
func DefaultOptions() Options {
	return Options{
		Strategy:      DefaultStrategy,
		HealthAware:   true,
		PreferHealthy: true,
		Health: HealthOptions{
			Enable:            true,
			Window:            DefaultWindow,
			FailureThreshold:  DefaultFailureThreshold,
			DegradedThreshold: DefaultDegradedThreshold,
			MinRequests:       DefaultMinRequests,
			CleanupInterval:   DefaultCleanupInterval,
		},
		MaxCooldown:         DefaultMaxCooldown,
		ServerErrorCooldown: DefaultServerErrorCooldown,
		RateLimitCooldown:   DefaultRateLimitCooldown,
	}
}

// withDefaults fills zero fields and validates the result; messages name the config key.
func (o Options) withDefaults() (Options, error) {
	h := &o.Health
	if h.Window == 0 {
		h.Window = DefaultWindow
	}
	if h.FailureThreshold == 0 {
		h.FailureThreshold = DefaultFailureThreshold
	}
	if h.DegradedThreshold == 0 {
		h.DegradedThreshold = DefaultDegradedThreshold
	}
	if h.MinRequests == 0 {
		h.MinRequests = DefaultMinRequests
	}
	if h.CleanupInterval == 0 {
		h.CleanupInterval = DefaultCleanupInterval
	}
	if o.MaxCooldown == 0 {
		o.MaxCooldown = DefaultMaxCooldown
	}
	if o.ServerErrorCooldown == 0 {
		o.ServerErrorCooldown = DefaultServerErrorCooldown
	}
	if o.RateLimitCooldown == 0 {
		o.RateLimitCooldown = DefaultRateLimitCooldown
	}
	switch {
	case h.Window < 0:
		return o, fmt.Errorf("health-tracking.window-seconds must be positive, got %v", h.Window)
	case h.FailureThreshold < 0 || h.FailureThreshold > 1:
		return o, fmt.Errorf("health-tracking.failure-threshold must be between 0 and 1, got %v", h.FailureThreshold)
	case h.DegradedThreshold < 0 || h.DegradedThreshold > 1:
		return o, fmt.Errorf("health-tracking.degraded-threshold must be between 0 and 1, got %v", h.DegradedThreshold)
	case h.DegradedThreshold > h.FailureThreshold:
		return o, fmt.Errorf("health-tracking.degraded-threshold (%v) must not exceed health-tracking.failure-threshold (%v)",
			h.DegradedThreshold, h.FailureThreshold)
	case h.MinRequests < 0:
		return o, fmt.Errorf("health-tracking.min-requests must not be negative, got %d", h.MinRequests)
	case h.CleanupInterval < 0:
		return o, fmt.Errorf("health-tracking.cleanup-interval must be positive, got %v", h.CleanupInterval)
	case o.MaxCooldown < 0:
		return o, fmt.Errorf("max cooldown must be positive, got %v", o.MaxCooldown)
	case o.RateLimitCooldown < 0:
		return o, fmt.Errorf("rate-limit cooldown must be positive, got %v", o.RateLimitCooldown)
	}
	o.Clock = clock.Or(o.Clock)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
