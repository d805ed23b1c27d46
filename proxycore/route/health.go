package route

import (
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// stats tracks one credential or one (credential, model) pair.
type stats struct {
	inflight atomic.Int64 // requests between Begin and End
	cooldown atomic.Int64 // unix nanoseconds until which it cools down; 0 or past: none
	failed   atomic.Bool  // a failure was recorded since the last reset: the lock-free fast path is off

	mu         sync.Mutex // guards w, consec429, lastErr, lastStatus
	w          window
	consec429  int    // consecutive hintless 429s, for the doubling default cooldown
	lastErr    string // redacted, short
	lastStatus int
}

func newStats(span time.Duration) *stats {
	s := &stats{}
	s.w.init(span)
	return s
}

// classifyRate classifies by failure rate alone.
func classifyRate(requests, failures uint32, h *HealthOptions) class {
	if int(requests) < h.MinRequests || requests == 0 {
		return classHealthy
	}
	rate := float64(failures) / float64(requests)
	switch {
	case rate >= h.FailureThreshold:
		return classRateError
	case rate >= h.DegradedThreshold:
		return classDegraded
	}
	return classHealthy
}

// class returns the routing class at now (unix nanoseconds): cooldown first, then the failure rate.
func (s *stats) class(now int64, o *Options) class {
	if s.cooldown.Load() > now {
		return classBlocked
	}
	return s.rateClass(now, o)
}

// rateClass classifies by the failure rate in the window ending at now.
func (s *stats) rateClass(now int64, o *Options) class {
	if !o.Health.Enable || !s.failed.Load() {
		return classHealthy
	}
	s.mu.Lock()
	s.w.advance(now)
	req, fail := s.w.total.requests, s.w.total.failures
	s.mu.Unlock()
	return classifyRate(req, fail, &o.Health)
}

// latencyView returns the number of latency samples and the p95 in the window.
func (s *stats) latencyView(now int64) (uint32, time.Duration) {
	s.mu.Lock()
	s.w.advance(now)
	n := s.w.samples()
	p95 := s.w.cachedP95()
	s.mu.Unlock()
	return n, p95
}

// record adds one finished request and returns the number of consecutive hintless 429s so far.
func (s *stats) record(now int64, failed, success bool, lat time.Duration, status int, errText string, hintless429 bool) int {
	if failed {
		s.failed.Store(true)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.add(now, failed, lat, success)
	switch {
	case success:
		s.consec429 = 0
	case hintless429:
		s.consec429++
	}
	if failed {
		s.lastStatus = status
		s.lastErr = errText
	}
	return s.consec429
}

// clear forgets cooldowns and failure history; it returns whether a cooldown was active at now.
func (s *stats) clear(now int64) bool {
	active := s.cooldown.Swap(0) > now
	s.mu.Lock()
	s.w.reset()
	s.consec429 = 0
	s.failed.Store(false)
	s.mu.Unlock()
	return active
}

// idle reports whether s holds nothing worth keeping at now.
func (s *stats) idle(now int64) bool {
	if s.inflight.Load() != 0 || s.cooldown.Load() > now {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.advance(now)
	return s.w.total.requests == 0
}

// HealthStats is the health of a credential or of a (credential, model) pair at one moment.
type HealthStats struct {
	State         State         `json:"state"`
	Requests      int           `json:"requests"` // finished in the window
	Failures      int           `json:"failures"`
	FailureRate   float64       `json:"failure_rate"`
	InFlight      int           `json:"in_flight"`
	P50           time.Duration `json:"p50"` // latency percentiles of successful requests (bin upper bounds)
	P95           time.Duration `json:"p95"`
	P99           time.Duration `json:"p99"`
	CooldownUntil time.Time     `json:"cooldown_until,omitzero"`
	LastStatus    int           `json:"last_status,omitempty"`
	LastError     string        `json:"last_error,omitempty"` // redacted
}

// ModelHealth is the health of one model on one credential.
type ModelHealth struct {
	Model string `json:"model"` // the upstream model name
	HealthStats
}

// CredentialHealth is the health of one credential, with a breakdown per model.
type CredentialHealth struct {
	CredentialID string `json:"credential_id"`
	Provider     string `json:"provider,omitempty"`
	// Message is what the user should do, set by MarkError or an auth failure ("log in to codex again").
	Message string `json:"message,omitempty"`
	HealthStats
	Models []ModelHealth `json:"models,omitempty"`
}

func (s *stats) snapshot(now int64, o *Options) HealthStats {
	s.mu.Lock()
	s.w.advance(now)
	hs := HealthStats{
		Requests:   int(s.w.total.requests),
		Failures:   int(s.w.total.failures),
		P50:        s.w.percentile(0.50),
		P95:        s.w.percentile(0.95),
		P99:        s.w.percentile(0.99),
		LastStatus: s.lastStatus,
		LastError:  s.lastErr,
	}
	s.mu.Unlock()
	hs.InFlight = int(s.inflight.Load())
	if hs.Requests > 0 {
		hs.FailureRate = float64(hs.Failures) / float64(hs.Requests)
	}
	if until := s.cooldown.Load(); until > now {
		hs.CooldownUntil = time.Unix(0, until).UTC()
	}
	hs.State = stateOf(s.class(now, o))
	return hs
}

func stateOf(c class) State {
	switch c {
	case classDegraded:
		return Degraded
	case classRateError:
		return Error
	case classBlocked:
		return Cooldown
	}
	return Healthy
}

// credState is everything the router knows about one credential.
type credState struct {
	id       string
	stats    // credential-wide counters and cooldown
	provider atomic.Pointer[string]
	message  atomic.Pointer[string] // set by MarkError or an auth failure; nil when none

	mu     sync.RWMutex // guards models (the map; each *stats guards itself)
	models map[string]*stats
}

func (c *credState) model(name string) *stats {
	c.mu.RLock()
	s := c.models[name]
	c.mu.RUnlock()
	return s
}

// acquireModel returns the model's tracker, creating it if needed, with its in-flight count already
// raised; doing that under the map lock keeps Cleanup from dropping a tracker that is about to be used.
func (c *credState) acquireModel(name string, span time.Duration) *stats {
	c.mu.RLock()
	s := c.models[name]
	if s != nil {
		s.inflight.Add(1)
	}
	c.mu.RUnlock()
	if s != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s = c.models[name]
	if s == nil {
		s = newStats(span)
		c.models[name] = s
	}
	s.inflight.Add(1)
	return s
}

func (c *credState) snapshot(now int64, o *Options) CredentialHealth {
	ch := CredentialHealth{CredentialID: c.id, HealthStats: c.stats.snapshot(now, o)}
	if p := c.provider.Load(); p != nil {
		ch.Provider = *p
	}
	if m := c.message.Load(); m != nil {
		ch.Message = *m
		ch.State = Error
	}
	c.mu.RLock()
	for name, s := range c.models {
		ch.Models = append(ch.Models, ModelHealth{Model: name, HealthStats: s.snapshot(now, o)})
	}
	c.mu.RUnlock()
	sort.Slice(ch.Models, func(i, j int) bool { return ch.Models[i].Model < ch.Models[j].Model })
	return ch
}

// secretPattern matches the usual shapes of secrets that upstream error texts and URLs can carry.
var secretPattern = regexp.MustCompile(`(?i)((?:api[_-]?key|key|token|access_token|refresh_token|secret)=)[^&\s"']+` +
	`|(bearer\s+)[A-Za-z0-9._~+/=-]+` +
	`|\b(sk-|sk-ant-|AIza|ghu_|gho_|ghp_)[A-Za-z0-9_-]{6,}`)

// maxErrText bounds the stored error text.
const maxErrText = 300

// redact masks secrets in s and shortens it, so LastError is safe to show and log.
func redact(s string) string {
	s = secretPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretPattern.FindStringSubmatch(m)
		for _, prefix := range sub[1:] {
			if prefix != "" {
				return prefix + "***"
			}
		}
		return "***"
	})
	if len(s) > maxErrText {
		s = s[:maxErrText] + "..."
	}
	return s
}
