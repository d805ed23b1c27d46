package route

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Router picks credentials for requests and tracks their health. It is safe for concurrent use.
//
// Locking: mu guards the creds and rr maps (insertions and deletions; lookups take the read lock).
// Each credState guards its models map with its own RWMutex, and each stats guards its window with its
// own mutex; in-flight counts, cooldown deadlines, MarkError messages and round-robin counters are
// atomics. Lock order: credState.mu before stats.mu; mu is never held while another lock is taken.
type Router struct {
	opts      Options                 // immutable after NewRouter
	rand      func() float64          // never nil
	log       *slog.Logger            // never nil
	selectors map[string]selector     // strategy registry, immutable
	tiers     atomic.Pointer[[]class] // eligibility masks tried in order by Pick (SetHealthRouting)
	current   atomic.Pointer[namedSelector]

	mu    sync.RWMutex // guards creds and rr
	creds map[string]*credState
	rr    map[string]*atomic.Uint64 // per client model rotation counters
}

// namedSelector pairs a strategy with its configured name.
type namedSelector struct {
	name string
	sel  selector
}

// allClasses lets everything through: used when routing ignores health.
const allClasses = classHealthy | classDegraded | classRateError | classBlocked

// NewRouter validates opts, applies defaults and returns a router. An unknown strategy is an error
// naming routing.strategy.
func NewRouter(opts Options) (*Router, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	r := &Router{
		opts:      o,
		rand:      o.Rand,
		log:       o.Logger,
		selectors: newSelectors(),
		creds:     make(map[string]*credState),
		rr:        make(map[string]*atomic.Uint64),
	}
	if r.rand == nil {
		r.rand = rand.Float64
	}
	r.SetHealthRouting(o.HealthAware, o.PreferHealthy)
	if err := r.SetStrategy(o.Strategy); err != nil {
		return nil, err
	}
	return r, nil
}

// SetHealthRouting switches health-aware selection (skip COOLDOWN and ERROR) and prefer-healthy (HEALTHY
// before DEGRADED) while the router runs; picks already under way keep the old setting.
func (r *Router) SetHealthRouting(healthAware, preferHealthy bool) {
	var tiers []class
	switch {
	case !healthAware:
		tiers = []class{allClasses}
	case preferHealthy:
		tiers = []class{classHealthy, classDegraded, classRateError}
	default:
		tiers = []class{classHealthy | classDegraded, classRateError}
	}
	r.tiers.Store(&tiers)
}

// SetStrategy switches the selection strategy while the router runs; "" means fill-first.
func (r *Router) SetStrategy(name string) error {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		name = DefaultStrategy
	}
	sel, ok := r.selectors[name]
	if !ok {
		return fmt.Errorf("routing.strategy: unknown strategy %q (want one of %s)", name, strategyNames(r.selectors))
	}
	r.current.Store(&namedSelector{name: name, sel: sel})
	return nil
}

// Strategy returns the name of the current selection strategy.
func (r *Router) Strategy() string { return r.current.Load().name }

// Pick chooses a candidate that tried does not report (tried may be nil); it returns false when every
// candidate was tried or none may be used. With HealthAware, candidates
// in COOLDOWN or marked ERROR (MarkError, auth failure) are never chosen; HEALTHY ones go first when
// PreferHealthy, then DEGRADED, and only when neither exists those in ERROR from their failure rate
// alone, so a noisy credential is still used rather than failing the request. When every remaining
// candidate is cooling down or marked, Pick returns false: answer 429 with EarliestRecovery. Pick does
// not allocate.
func (r *Router) Pick(cands []Entry, tried func(credentialID string) bool) (Entry, bool) {
	if len(cands) == 0 {
		return Entry{}, false
	}
	sel := r.current.Load().sel
	now := r.opts.Clock.Now().UnixNano()
	if i := sel.choose(r, pickCtx{cands: cands, tried: tried, now: now, tiers: *r.tiers.Load()}); i >= 0 {
		return cands[i], true
	}
	return Entry{}, false
}

// pickCtx is one call of Pick, passed by value so that nothing escapes to the heap.
type pickCtx struct {
	cands []Entry
	tried func(string) bool
	now   int64
	tiers []class // eligibility masks, best first
	mask  class   // the tier eligible tests against
}

// eligible reports whether candidate i may be chosen in the current tier (p.mask).
func (p *pickCtx) eligible(r *Router, i int) bool {
	e := &p.cands[i]
	if p.tried != nil && p.tried(e.CredentialID) {
		return false
	}
	if p.mask == allClasses {
		return true
	}
	return r.classOf(e, p.now)&p.mask != 0
}

// firstInOrder returns the first untried candidate of the best tier, scanning from start and
// wrapping around, in a single pass that classifies each candidate at most once.
func (p *pickCtx) firstInOrder(r *Router, start uint64) int {
	n := uint64(len(p.cands))
	best, bestTier := -1, len(p.tiers)
	for k := uint64(0); k < n; k++ {
		i := int((start + k) % n)
		e := &p.cands[i]
		if p.tried != nil && p.tried(e.CredentialID) {
			continue
		}
		if p.tiers[0] == allClasses {
			return i
		}
		c := r.classOf(e, p.now)
		for t := 0; t < bestTier; t++ {
			if c&p.tiers[t] != 0 {
				if t == 0 {
					return i
				}
				best, bestTier = i, t
				break
			}
		}
	}
	return best
}

// classOf is the worse of the credential's and the (credential, model) pair's routing class.
func (r *Router) classOf(e *Entry, now int64) class {
	c, _, _ := r.inspect(e, now)
	return c
}

// inspect classifies a candidate and returns its trackers (nil when never seen). The atomic checks
// (error mark, cooldowns) come first so that blocked candidates cost no lock.
func (r *Router) inspect(e *Entry, now int64) (class, *credState, *stats) {
	cs := r.lookup(e.CredentialID)
	if cs == nil {
		return classHealthy, nil, nil
	}
	if cs.message.Load() != nil || cs.cooldown.Load() > now {
		return classBlocked, cs, nil
	}
	ms := cs.model(e.UpstreamModel())
	if ms != nil && ms.cooldown.Load() > now {
		return classBlocked, cs, ms
	}
	c := cs.stats.rateClass(now, &r.opts)
	if ms != nil {
		c = max(c, ms.rateClass(now, &r.opts))
	}
	return c, cs, ms
}

func (r *Router) lookup(id string) *credState {
	r.mu.RLock()
	cs := r.creds[id]
	r.mu.RUnlock()
	return cs
}

func (r *Router) ensure(id, provider string) *credState {
	cs := r.lookup(id)
	if cs == nil {
		r.mu.Lock()
		cs = r.creds[id]
		if cs == nil {
			cs = &credState{id: id, models: make(map[string]*stats)}
			cs.w.init(r.opts.Health.Window)
			r.creds[id] = cs
		}
		r.mu.Unlock()
	}
	if provider != "" && cs.provider.Load() == nil {
		p := provider // copied here so that only the first sighting allocates
		cs.provider.CompareAndSwap(nil, &p)
	}
	return cs
}

// counter returns the rotation counter for the candidates' model.
func (r *Router) counter(cands []Entry) *atomic.Uint64 {
	key := cands[0].Model
	r.mu.RLock()
	c := r.rr[key]
	r.mu.RUnlock()
	if c != nil {
		return c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c = r.rr[key]; c == nil {
		c = new(atomic.Uint64)
		r.rr[key] = c
	}
	return c
}

// Attempt is one request in flight on one credential, from Begin to End. It is a small value.
type Attempt struct {
	Entry Entry     // the candidate in use
	Start time.Time // when Begin was called
	cred  *credState
	model *stats
}

// Begin marks a request in flight on e; pass the result to End exactly once.
func (r *Router) Begin(e Entry) Attempt {
	cs := r.ensure(e.CredentialID, e.Provider)
	ms := cs.acquireModel(e.UpstreamModel(), r.opts.Health.Window)
	cs.inflight.Add(1)
	return Attempt{Entry: e, Start: r.opts.Clock.Now(), cred: cs, model: ms}
}

// Outcome is what happened to one attempt.
type Outcome struct {
	// Status is the upstream HTTP status; 0 when no response arrived (see Err).
	Status int
	// Err is the transport error, if any. context.Canceled without a status (the client went away) is
	// not held against the credential.
	Err error
	// Latency is the upstream latency to record; zero means the time since Begin.
	Latency time.Duration
	// CooldownUntil is the upstream's reset hint (Hint.Until from ParseHint); zero means none.
	CooldownUntil time.Time
	// CooldownExplicit says the upstream named this reset time as the end of a quota window, so that it
	// is honoured beyond MaxCooldown (Hint.Explicit from ParseHint).
	CooldownExplicit bool
	// CredentialWide applies the cooldown to the whole credential instead of the (credential, model)
	// pair: subscription usage limits (codex, claude-code) are per account.
	CredentialWide bool
	// AuthFailed says authentication still failed after the caller refreshed once: the credential goes
	// to ERROR with Message until ClearError or a success.
	AuthFailed bool
	// Message is the user-facing text for AuthFailed (e.g. "log in to claude-code again"); it must not
	// hold secrets.
	Message string
}

// failure reports whether the outcome counts against the credential. Client errors such as 400 or 404
// say nothing about the credential and count as plain requests.
func (o *Outcome) failure() bool {
	switch {
	case o.AuthFailed, o.Err != nil:
		return true
	case o.Status == http.StatusRequestTimeout, o.Status == http.StatusTooManyRequests,
		o.Status == http.StatusUnauthorized, o.Status == http.StatusForbidden, o.Status >= 500:
		return true
	}
	return false
}

// End records the outcome of a: in-flight counts, the failure window, latency (successes only, so a
// fast 429 never looks like a fast credential), cooldowns and auth errors.
func (r *Router) End(a Attempt, o Outcome) {
	if a.cred == nil {
		return
	}
	a.cred.inflight.Add(-1)
	a.model.inflight.Add(-1)
	if o.Status == 0 && errors.Is(o.Err, context.Canceled) {
		return
	}
	now := r.opts.Clock.Now()
	nowNs := now.UnixNano()
	lat := o.Latency
	if lat <= 0 {
		lat = now.Sub(a.Start)
	}
	failed := o.failure()
	success := !failed && o.Err == nil && o.Status < 400
	hasHint := failed && o.CooldownUntil.After(now) // a hint on a success is ignored
	hintless429 := o.Status == http.StatusTooManyRequests && !hasHint
	var errText string
	if failed {
		errText = outcomeText(&o)
	}
	consec := a.model.record(nowNs, failed, success, lat, o.Status, errText, hintless429)
	cconsec := a.cred.record(nowNs, failed, success, lat, o.Status, errText, hintless429)
	if o.CredentialWide {
		consec = cconsec
	}
	if success {
		// CompareAndSwap so that a MarkError racing with this success is not lost.
		if m := a.cred.message.Load(); m != nil && a.cred.message.CompareAndSwap(m, nil) {
			r.log.Info("credential recovered", "credential", a.cred.id)
		}
	}
	if o.AuthFailed {
		msg := o.Message
		if msg == "" {
			msg = "authentication failed: log in again"
		}
		r.markError(a.cred, msg)
	}
	if until, ok := r.cooldownFor(&o, now, hasHint, consec); ok {
		target, scope := &a.model.cooldown, "model"
		if o.CredentialWide {
			target, scope = &a.cred.cooldown, "credential"
		}
		if !extendTo(target, until.UnixNano()) {
			return // a longer cooldown already runs: nothing new to log, count or share
		}
		model := a.Entry.UpstreamModel()
		r.log.Info("credential cooling down", "credential", a.cred.id, "model", model,
			"scope", scope, "status", o.Status, "until", until)
		if r.opts.OnCooldown != nil {
			if o.CredentialWide {
				model = ""
			}
			r.opts.OnCooldown(a.cred.id, model, until)
		}
	}
}

// SetCooldown makes the credential (model "") or the (credential, upstream model) pair cool down until
// the given time, unless it already cools down longer: a cooldown learnt by another instance or set by
// hand.
func (r *Router) SetCooldown(credentialID, model string, until time.Time) {
	cs := r.ensure(credentialID, "")
	target := &cs.cooldown
	if model != "" {
		ms := cs.acquireModel(model, r.opts.Health.Window)
		ms.inflight.Add(-1) // acquireModel counts a request; this is none
		target = &ms.cooldown
	}
	extendTo(target, until.UnixNano())
}

// extendTo moves the deadline in v to until unless it already ends as late or later, and reports whether
// it moved it.
func extendTo(v *atomic.Int64, until int64) bool {
	for {
		cur := v.Load()
		if cur >= until {
			return false
		}
		if v.CompareAndSwap(cur, until) {
			return true
		}
	}
}

// cooldownFor decides the cooldown an outcome earns. Precedence: an upstream hint (capped at
// MaxCooldown unless explicit), else the doubling RateLimitCooldown for a 429, else ServerErrorCooldown
// for a 5xx or a transport error.
func (r *Router) cooldownFor(o *Outcome, now time.Time, hasHint bool, consec int) (time.Time, bool) {
	switch {
	case hasHint:
		if !o.CooldownExplicit && o.CooldownUntil.Sub(now) > r.opts.MaxCooldown {
			return now.Add(r.opts.MaxCooldown), true
		}
		return o.CooldownUntil, true
	case o.Status == http.StatusTooManyRequests:
		d := r.opts.RateLimitCooldown
		for i := 1; i < consec && d < r.opts.MaxCooldown; i++ {
			d *= 2
		}
		return now.Add(min(d, r.opts.MaxCooldown)), true
	case (o.Status >= 500 || (o.Status == 0 && o.Err != nil)) && r.opts.ServerErrorCooldown > 0:
		return now.Add(r.opts.ServerErrorCooldown), true
	}
	return time.Time{}, false
}

// outcomeText describes a failed outcome for LastError, with secrets masked.
func outcomeText(o *Outcome) string {
	switch {
	case o.Err != nil && o.Status != 0:
		return redact(fmt.Sprintf("%d %s: %v", o.Status, http.StatusText(o.Status), o.Err))
	case o.Err != nil:
		return redact(o.Err.Error())
	case o.Message != "":
		return redact(fmt.Sprintf("%d %s: %s", o.Status, http.StatusText(o.Status), o.Message))
	}
	return fmt.Sprintf("%d %s", o.Status, http.StatusText(o.Status))
}

// Reset clears the credential's cooldowns, failure history and ERROR mark (the "reset" button: the
// user says the problem is fixed, say a key re-enabled at the vendor), so the next request may pick it;
// if it still fails, that request marks it again. It reports whether the credential is known to the
// router.
func (r *Router) Reset(credentialID string) bool {
	cs := r.lookup(credentialID)
	if cs == nil {
		return false
	}
	now := r.opts.Clock.Now().UnixNano()
	cs.message.Store(nil)
	cs.clear(now)
	cs.mu.RLock()
	for _, s := range cs.models {
		s.clear(now)
	}
	cs.mu.RUnlock()
	r.log.Info("credential reset", "credential", credentialID)
	return true
}

// MarkError puts the credential in ERROR with a user-facing message (no secrets), e.g. when its token
// refresh keeps failing: "log in to claude-code again". It lasts until ClearError or a success.
func (r *Router) MarkError(credentialID, message string) {
	r.markError(r.ensure(credentialID, ""), message)
}

func (r *Router) markError(cs *credState, message string) {
	message = redact(message)
	cs.message.Store(&message)
	r.log.Warn("credential marked as failing", "credential", cs.id, "message", message)
}

// ClearError removes a MarkError message, e.g. after a new login.
func (r *Router) ClearError(credentialID string) {
	if cs := r.lookup(credentialID); cs != nil && cs.message.Swap(nil) != nil {
		r.log.Info("credential error cleared", "credential", credentialID)
	}
}

// ErrorMessage returns the MarkError (or auth failure) message of the credential, if any.
func (r *Router) ErrorMessage(credentialID string) (string, bool) {
	if cs := r.lookup(credentialID); cs != nil {
		if m := cs.message.Load(); m != nil {
			return *m, true
		}
	}
	return "", false
}

// Available reports whether the credential as a whole may be picked now: it is neither cooling down
// (credential-wide) nor marked with MarkError. Per-model cooldowns are not considered.
func (r *Router) Available(credentialID string) bool {
	cs := r.lookup(credentialID)
	if cs == nil {
		return true
	}
	return cs.message.Load() == nil && cs.cooldown.Load() <= r.opts.Clock.Now().UnixNano()
}

// EarliestRecovery returns when the first of cands can be used again: now if one is usable already,
// else the earliest end of a cooldown. ok is false when none recovers by itself (all marked with
// MarkError, or cands is empty). Use it for the Retry-After of a 429 when Pick returned false.
func (r *Router) EarliestRecovery(cands []Entry) (time.Time, bool) {
	now := r.opts.Clock.Now()
	nowNs := now.UnixNano()
	var best int64
	for i := range cands {
		cs := r.lookup(cands[i].CredentialID)
		if cs == nil {
			return now, true
		}
		if cs.message.Load() != nil {
			continue
		}
		until := cs.cooldown.Load()
		if ms := cs.model(cands[i].UpstreamModel()); ms != nil {
			until = max(until, ms.cooldown.Load())
		}
		if until <= nowNs {
			return now, true
		}
		if best == 0 || until < best {
			best = until
		}
	}
	if best == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, best).In(now.Location()), true
}

// Snapshot returns the health of every credential the router has seen, sorted by id, each with its
// per-model breakdown. It never includes secrets.
func (r *Router) Snapshot() []CredentialHealth {
	now := r.opts.Clock.Now().UnixNano()
	r.mu.RLock()
	list := make([]*credState, 0, len(r.creds))
	for _, cs := range r.creds {
		list = append(list, cs)
	}
	r.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	out := make([]CredentialHealth, 0, len(list))
	for _, cs := range list {
		out = append(out, cs.snapshot(now, &r.opts))
	}
	return out
}

// Forget drops everything known about a credential, e.g. when its account is removed.
func (r *Router) Forget(credentialID string) {
	r.mu.Lock()
	delete(r.creds, credentialID)
	r.mu.Unlock()
}

// Cleanup drops per-model trackers with nothing in flight, no cooldown and no request in the window,
// so that memory follows the models in use. Credential trackers stay until Forget.
func (r *Router) Cleanup() {
	now := r.opts.Clock.Now().UnixNano()
	r.mu.RLock()
	list := make([]*credState, 0, len(r.creds))
	for _, cs := range r.creds {
		list = append(list, cs)
	}
	r.mu.RUnlock()
	for _, cs := range list {
		cs.mu.Lock()
		for name, s := range cs.models {
			if s.idle(now) {
				delete(cs.models, name)
			}
		}
		cs.mu.Unlock()
	}
}

// Run calls Cleanup every Health.CleanupInterval until ctx is done.
func (r *Router) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.Health.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.safeCleanup()
		}
	}
}

func (r *Router) safeCleanup() {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("route cleanup panicked", "panic", v)
		}
	}()
	r.Cleanup()
}
