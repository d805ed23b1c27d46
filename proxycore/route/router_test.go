package route

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

func newRouter(t testing.TB, mutate func(*Options)) (*Router, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(time.Time{})
	o := DefaultOptions()
	o.Clock = fc
	if mutate != nil {
		mutate(&o)
	}
	r, err := NewRouter(o)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r, fc
}

// pool returns n candidates for model, already sorted by id as Catalog.Resolve returns them.
func pool(n int, model string) []Entry {
	out := make([]Entry, n)
	for i := range out {
		out[i] = Entry{CredentialID: fmt.Sprintf("cred-%03d", i), Provider: "openai", Model: model}
	}
	return out
}

// do runs one request on e with outcome o.
func do(r *Router, e Entry, o Outcome) {
	r.End(r.Begin(e), o)
}

func mustPick(t *testing.T, r *Router, cands []Entry, tried func(string) bool) Entry {
	t.Helper()
	e, ok := r.Pick(cands, tried)
	if !ok {
		t.Fatalf("Pick found nothing")
	}
	return e
}

func credSnap(t *testing.T, r *Router, id string) CredentialHealth {
	t.Helper()
	for _, ch := range r.Snapshot() {
		if ch.CredentialID == id {
			return ch
		}
	}
	t.Fatalf("credential %s not in snapshot", id)
	return CredentialHealth{}
}

func TestNewRouterValidates(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantKey string
	}{
		{"unknown strategy", func(o *Options) { o.Strategy = "fastest" }, "routing.strategy"},
		{"failure threshold above one", func(o *Options) { o.Health.FailureThreshold = 1.5 }, "health-tracking.failure-threshold"},
		{"degraded above failure", func(o *Options) { o.Health.DegradedThreshold = 0.6 }, "health-tracking.degraded-threshold"},
		{"negative window", func(o *Options) { o.Health.Window = -time.Second }, "health-tracking.window-seconds"},
		{"negative min requests", func(o *Options) { o.Health.MinRequests = -1 }, "health-tracking.min-requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.mutate(&o)
			_, err := NewRouter(o)
			if err == nil || !strings.Contains(err.Error(), tt.wantKey) {
				t.Fatalf("NewRouter err = %v, want one naming %s", err, tt.wantKey)
			}
		})
	}
	if _, err := NewRouter(Options{}); err != nil {
		t.Fatalf("zero Options should be valid: %v", err)
	}
}

func TestSetStrategy(t *testing.T) {
	r, _ := newRouter(t, nil)
	if got := r.Strategy(); got != "fill-first" {
		t.Fatalf("default strategy = %q", got)
	}
	if err := r.SetStrategy("round-robin"); err != nil || r.Strategy() != "round-robin" {
		t.Fatalf("SetStrategy(round-robin) = %v, strategy %q", err, r.Strategy())
	}
	err := r.SetStrategy("bogus")
	if err == nil || !strings.Contains(err.Error(), "routing.strategy") || r.Strategy() != "round-robin" {
		t.Fatalf("SetStrategy(bogus) = %v, strategy %q", err, r.Strategy())
	}
	if err := r.SetStrategy(" Least-Busy "); err != nil || r.Strategy() != "least-busy" {
		t.Fatalf("SetStrategy should ignore case and spaces: %v, %q", err, r.Strategy())
	}
	if err := r.SetStrategy("round-robin"); err != nil {
		t.Fatal(err)
	}
	if !r.Available("never-seen") {
		t.Fatal("an unknown credential should be available")
	}
	cands := pool(3, "m")
	seen := map[string]bool{}
	for range 3 {
		seen[mustPick(t, r, cands, nil).CredentialID] = true
	}
	if len(seen) != 3 {
		t.Fatalf("after switching to round-robin, picks = %v", seen)
	}
}

func TestHealthStateThresholds(t *testing.T) {
	tests := []struct {
		name               string
		requests, failures int
		want               State
	}{
		{"below min requests stays healthy", 4, 4, Healthy},
		{"no failures", 10, 0, Healthy},
		{"just under degraded", 11, 1, Healthy},
		{"degraded at threshold", 10, 1, Degraded},
		{"degraded below failure threshold", 10, 4, Degraded},
		{"error at failure threshold", 10, 5, Error},
		{"all failing", 6, 6, Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, fc := newRouter(t, func(o *Options) { o.ServerErrorCooldown = -1 })
			e := pool(1, "m")[0]
			for i := range tt.requests {
				st := 200
				if i < tt.failures {
					st = 500
				}
				do(r, e, Outcome{Status: st})
			}
			snap := credSnap(t, r, e.CredentialID)
			if snap.State != tt.want || snap.Models[0].State != tt.want {
				t.Fatalf("state = %v (model %v), want %v; %+v", snap.State, snap.Models[0].State, tt.want, snap)
			}
			if snap.Requests != tt.requests || snap.Failures != tt.failures {
				t.Fatalf("counts = %d/%d, want %d/%d", snap.Failures, snap.Requests, tt.failures, tt.requests)
			}
			// The window rolls over: a minute later nothing counts any more.
			fc.Advance(DefaultWindow + time.Second)
			snap = credSnap(t, r, e.CredentialID)
			if snap.State != Healthy || snap.Requests != 0 {
				t.Fatalf("after the window: state %v, requests %d", snap.State, snap.Requests)
			}
		})
	}
}

func TestWindowExpiresBucketByBucket(t *testing.T) {
	r, fc := newRouter(t, func(o *Options) { o.ServerErrorCooldown = -1 })
	e := pool(1, "m")[0]
	for range 5 {
		do(r, e, Outcome{Status: 500})
	}
	fc.Advance(30 * time.Second)
	for range 5 {
		do(r, e, Outcome{Status: 200})
	}
	if s := credSnap(t, r, e.CredentialID); s.State != Error || s.Requests != 10 {
		t.Fatalf("state %v with %d requests, want ERROR with 10", s.State, s.Requests)
	}
	fc.Advance(31 * time.Second) // the failures are now older than the window, the successes are not
	if s := credSnap(t, r, e.CredentialID); s.State != Healthy || s.Requests != 5 || s.Failures != 0 {
		t.Fatalf("state %v with %d/%d, want HEALTHY with 0/5", s.State, s.Failures, s.Requests)
	}
}

func TestPreferHealthyAndFallbackToRateErrors(t *testing.T) {
	setup := func(t *testing.T, mutate func(*Options)) (*Router, []Entry) {
		r, _ := newRouter(t, func(o *Options) {
			o.ServerErrorCooldown = -1
			if mutate != nil {
				mutate(o)
			}
		})
		cands := pool(3, "m")
		// cred-000 DEGRADED (2/10), cred-001 HEALTHY, cred-002 ERROR (6/10).
		for i := range 10 {
			do(r, cands[0], Outcome{Status: map[bool]int{true: 500, false: 200}[i < 2]})
			do(r, cands[1], Outcome{Status: 200})
			do(r, cands[2], Outcome{Status: map[bool]int{true: 500, false: 200}[i < 6]})
		}
		return r, cands
	}
	t.Run("prefer healthy", func(t *testing.T) {
		r, cands := setup(t, nil)
		if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-001" {
			t.Fatalf("picked %s, want the HEALTHY cred-001", e.CredentialID)
		}
		tried := func(id string) bool { return id == "cred-001" }
		if e := mustPick(t, r, cands, tried); e.CredentialID != "cred-000" {
			t.Fatalf("picked %s, want the DEGRADED cred-000", e.CredentialID)
		}
		tried = func(id string) bool { return id != "cred-002" }
		if e := mustPick(t, r, cands, tried); e.CredentialID != "cred-002" {
			t.Fatalf("picked %s, want the rate-ERROR cred-002 as a last resort", e.CredentialID)
		}
	})
	t.Run("healthy and degraded alike", func(t *testing.T) {
		r, cands := setup(t, func(o *Options) { o.PreferHealthy = false })
		if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-000" {
			t.Fatalf("picked %s, want cred-000 (DEGRADED counts as usable)", e.CredentialID)
		}
	})
	t.Run("health unaware", func(t *testing.T) {
		r, cands := setup(t, func(o *Options) { o.HealthAware = false })
		do(r, cands[0], Outcome{Status: 429})
		if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-000" {
			t.Fatalf("picked %s, want cred-000 even while cooling", e.CredentialID)
		}
	})
	t.Run("health awareness switched at run time", func(t *testing.T) {
		r, cands := setup(t, nil)
		do(r, cands[0], Outcome{Status: 429})
		if e := mustPick(t, r, cands, nil); e.CredentialID == "cred-000" {
			t.Fatal("health-aware router picked the cooling cred-000")
		}
		r.SetHealthRouting(false, false)
		if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-000" {
			t.Fatalf("picked %s after turning health awareness off, want cred-000", e.CredentialID)
		}
		r.SetHealthRouting(true, true)
		if e := mustPick(t, r, cands, nil); e.CredentialID == "cred-000" {
			t.Fatal("picked the cooling cred-000 after turning health awareness back on")
		}
	})
	t.Run("tracking disabled", func(t *testing.T) {
		r, cands := setup(t, func(o *Options) { o.Health.Enable = false })
		if s := credSnap(t, r, "cred-002"); s.State != Healthy {
			t.Fatalf("state %v with tracking off, want HEALTHY", s.State)
		}
		if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-000" {
			t.Fatalf("picked %s, want cred-000", e.CredentialID)
		}
	})
}

func TestCooldowns(t *testing.T) {
	type step struct {
		o       Outcome
		want    time.Duration // expected cooldown from base; 0 = none
		advance time.Duration // clock move before the outcome; base moves along
	}
	hour := 2 * time.Hour
	tests := []struct {
		name  string
		steps []step
	}{
		{"upstream hint", []step{{Outcome{Status: 429, CooldownUntil: at(90 * time.Second)}, 90 * time.Second, 0}}},
		{"relative hint capped", []step{{Outcome{Status: 429, CooldownUntil: at(hour)}, DefaultMaxCooldown, 0}}},
		{"explicit reset honoured", []step{{Outcome{Status: 429, CooldownUntil: at(hour), CooldownExplicit: true}, hour, 0}}},
		{"hintless 429 doubles then resets", []step{
			{Outcome{Status: 429}, 30 * time.Second, 0},
			{Outcome{Status: 429}, 60 * time.Second, 0},
			{Outcome{Status: 429}, 120 * time.Second, 0},
			{Outcome{Status: 200}, 120 * time.Second, 0}, // the running cooldown stays
			{Outcome{Status: 429}, 120 * time.Second, 0}, // restarts at 30 s, the later end wins
		}},
		{"success resets the doubling", []step{
			{Outcome{Status: 429}, 30 * time.Second, 0},
			{Outcome{Status: 429}, 60 * time.Second, 0},
			{Outcome{Status: 200}, 0, 61 * time.Second},
			{Outcome{Status: 429}, 30 * time.Second, 0},
		}},
		{"server error", []step{{Outcome{Status: 503}, DefaultServerErrorCooldown, 0}}},
		{"overloaded 529", []step{{Outcome{Status: 529}, DefaultServerErrorCooldown, 0}}},
		{"transport error", []step{{Outcome{Err: errors.New("connection refused")}, DefaultServerErrorCooldown, 0}}},
		{"hint on a success ignored", []step{{Outcome{Status: 200, CooldownUntil: at(time.Minute)}, 0, 0}}},
		{"client error", []step{{Outcome{Status: 400}, 0, 0}}},
		{"client went away", []step{{Outcome{Err: context.Canceled}, 0, 0}}},
		{"past hint ignored", []step{{Outcome{Status: 403, CooldownUntil: at(-time.Minute)}, 0, 0}}},
		{"quota 403 with hint", []step{{Outcome{Status: 403, CooldownUntil: at(time.Minute)}, time.Minute, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, fc := newRouter(t, nil)
			fc.Set(base)
			start := base
			e := pool(1, "m")[0]
			for i, s := range tt.steps {
				fc.Advance(s.advance)
				start = start.Add(s.advance)
				do(r, e, s.o)
				snap := credSnap(t, r, e.CredentialID).Models[0]
				if s.want == 0 {
					if !snap.CooldownUntil.IsZero() || snap.State == Cooldown {
						t.Fatalf("step %d: unexpected cooldown until %v", i, snap.CooldownUntil)
					}
					continue
				}
				if got := snap.CooldownUntil.Sub(start); got != s.want || snap.State != Cooldown {
					t.Fatalf("step %d: cooldown %v (state %v), want %v", i, got, snap.State, s.want)
				}
			}
		})
	}
}

var base = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func TestCooldownExpiryResetAndRecovery(t *testing.T) {
	r, fc := newRouter(t, nil)
	fc.Set(base)
	cands := pool(2, "m")
	do(r, cands[0], Outcome{Status: 429, CooldownUntil: at(5 * time.Minute)})
	do(r, cands[1], Outcome{Status: 429, CooldownUntil: at(2 * time.Minute)})
	if _, ok := r.Pick(cands, nil); ok {
		t.Fatal("Pick succeeded while every candidate cools down")
	}
	if when, ok := r.EarliestRecovery(cands); !ok || !when.Equal(at(2*time.Minute)) {
		t.Fatalf("EarliestRecovery = %v, %v; want %v", when, ok, at(2*time.Minute))
	}
	fc.Advance(2 * time.Minute)
	if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-001" {
		t.Fatalf("after its cooldown ended, picked %s", e.CredentialID)
	}
	if when, ok := r.EarliestRecovery(cands); !ok || !when.Equal(fc.Now()) {
		t.Fatalf("EarliestRecovery with one usable = %v, %v; want now", when, ok)
	}
	r.MarkError("cred-000", "log in again")
	if !r.Reset("cred-000") {
		t.Fatal("Reset of a known credential returned false")
	}
	if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-000" {
		t.Fatalf("after Reset, picked %s, want cred-000", e.CredentialID)
	}
	if msg, marked := r.ErrorMessage("cred-000"); marked {
		t.Fatalf("Reset kept the ERROR mark %q", msg)
	}
	if r.Reset("never-seen") {
		t.Fatal("Reset of an unknown credential returned true")
	}
}

func TestCredentialWideCooldown(t *testing.T) {
	r, fc := newRouter(t, nil)
	fc.Set(base)
	a := Entry{CredentialID: "codex:a", Provider: "codex", Model: "gpt-5"}
	b := Entry{CredentialID: "codex:a", Provider: "codex", Model: "gpt-5-codex"}
	do(r, a, Outcome{Status: 429, CooldownUntil: at(3 * time.Hour), CooldownExplicit: true, CredentialWide: true})
	if _, ok := r.Pick([]Entry{b}, nil); ok {
		t.Fatal("another model of a credential under a credential-wide cooldown was picked")
	}
	if r.Available("codex:a") {
		t.Fatal("Available = true under a credential-wide cooldown")
	}
	// A per-model cooldown leaves the other models alone.
	r2, fc2 := newRouter(t, nil)
	fc2.Set(base)
	do(r2, a, Outcome{Status: 429, CooldownUntil: at(time.Minute)})
	if _, ok := r2.Pick([]Entry{b}, nil); !ok {
		t.Fatal("a per-model cooldown blocked another model")
	}
	if !r2.Available("codex:a") {
		t.Fatal("Available = false although only one model cools down")
	}
}

func TestSharedCooldowns(t *testing.T) {
	type shared struct {
		id, model string
		until     time.Time
	}
	var got []shared
	r1, fc := newRouter(t, func(o *Options) {
		o.OnCooldown = func(id, model string, until time.Time) { got = append(got, shared{id, model, until}) }
	})
	fc.Set(base)
	cands := pool(2, "m")
	do(r1, cands[0], Outcome{Status: 429, CooldownUntil: at(time.Minute)})
	do(r1, cands[1], Outcome{Status: 429, CooldownUntil: at(2 * time.Minute), CredentialWide: true})
	do(r1, cands[1], Outcome{Status: 200})
	want := []shared{{"cred-000", "m", at(time.Minute)}, {"cred-001", "", at(2 * time.Minute)}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("OnCooldown calls = %v, want %v", got, want)
	}
	// A second instance applies them and routes around both credentials.
	r2, fc2 := newRouter(t, nil)
	fc2.Set(base)
	for _, s := range got {
		r2.SetCooldown(s.id, s.model, s.until)
	}
	if _, ok := r2.Pick(cands, nil); ok {
		t.Fatal("shared cooldowns were not applied")
	}
	if when, _ := r2.EarliestRecovery(cands); !when.Equal(at(time.Minute)) {
		t.Fatalf("EarliestRecovery = %v, want %v", when, at(time.Minute))
	}
	for _, ch := range r2.Snapshot() {
		for _, m := range ch.Models {
			if m.InFlight != 0 {
				t.Fatalf("SetCooldown left %d in flight on %s/%s", m.InFlight, ch.CredentialID, m.Model)
			}
		}
	}
}

func TestMarkErrorAndAuthFailures(t *testing.T) {
	r, _ := newRouter(t, nil)
	cands := pool(2, "m")
	r.MarkError("cred-000", "log in to claude-code again")
	if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-001" {
		t.Fatalf("picked %s, want cred-001 while cred-000 is marked", e.CredentialID)
	}
	if msg, ok := r.ErrorMessage("cred-000"); !ok || msg != "log in to claude-code again" {
		t.Fatalf("ErrorMessage = %q, %v", msg, ok)
	}
	if s := credSnap(t, r, "cred-000"); s.State != Error || s.Message == "" {
		t.Fatalf("snapshot state %v message %q, want ERROR with message", s.State, s.Message)
	}
	if r.Available("cred-000") {
		t.Fatal("Available = true for a marked credential")
	}
	r.ClearError("cred-000")
	if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-000" {
		t.Fatalf("after ClearError, picked %s", e.CredentialID)
	}

	// An auth failure after refresh marks the credential; every candidate marked means no recovery.
	do(r, cands[0], Outcome{Status: 401, AuthFailed: true, Message: "log in to codex again"})
	do(r, cands[1], Outcome{Status: 403, AuthFailed: true})
	if _, ok := r.Pick(cands, nil); ok {
		t.Fatal("Pick succeeded with every credential failing authentication")
	}
	if _, ok := r.EarliestRecovery(cands); ok {
		t.Fatal("EarliestRecovery promised a recovery for credentials that need a new login")
	}
	if msg, _ := r.ErrorMessage("cred-000"); msg != "log in to codex again" {
		t.Fatalf("message = %q", msg)
	}
	// A success (here forced by the caller) clears the mark.
	do(r, cands[0], Outcome{Status: 200})
	if _, ok := r.ErrorMessage("cred-000"); ok {
		t.Fatal("a success did not clear the error mark")
	}
}

func TestSnapshotContents(t *testing.T) {
	r, fc := newRouter(t, func(o *Options) { o.ServerErrorCooldown = -1 })
	fc.Set(base)
	e := Entry{CredentialID: "gemini-1", Provider: "gemini", Model: "fast", Upstream: "gemini-2.5-flash"}
	for i := range 100 {
		do(r, e, Outcome{Status: 200, Latency: time.Duration(i+1) * 10 * time.Millisecond})
	}
	do(r, e, Outcome{Status: 500, Err: errors.New(`POST https://x/v1beta/models/m?key=AIzaSyDsecretsecret: Bearer abc.def-ghi`)})
	open := r.Begin(e)
	defer r.End(open, Outcome{Status: 200})
	s := credSnap(t, r, "gemini-1")
	if s.Provider != "gemini" || len(s.Models) != 1 || s.Models[0].Model != "gemini-2.5-flash" {
		t.Fatalf("snapshot identity wrong: %+v", s)
	}
	m := s.Models[0]
	if m.Requests != 101 || m.Failures != 1 || m.InFlight != 1 || s.InFlight != 1 {
		t.Fatalf("counts wrong: %+v", m)
	}
	check := func(name string, got, want time.Duration) {
		if got < want || float64(got) > float64(want)*1.42 {
			t.Errorf("%s = %v, want within a bin above %v", name, got, want)
		}
	}
	check("p50", m.P50, 500*time.Millisecond)
	check("p95", m.P95, 950*time.Millisecond)
	check("p99", m.P99, 990*time.Millisecond)
	for _, secret := range []string{"AIzaSyDsecretsecret", "abc.def-ghi"} {
		if strings.Contains(m.LastError, secret) || strings.Contains(s.LastError, secret) {
			t.Fatalf("LastError leaks a secret: %q", m.LastError)
		}
	}
	if !strings.Contains(m.LastError, "500") || m.LastStatus != 500 {
		t.Fatalf("LastError = %q, LastStatus %d", m.LastError, m.LastStatus)
	}
}

func TestCleanupAndRun(t *testing.T) {
	r, fc := newRouter(t, nil)
	idle := Entry{CredentialID: "c", Model: "old"}
	busy := Entry{CredentialID: "c", Model: "busy"}
	cooling := Entry{CredentialID: "c", Model: "cooling"}
	do(r, idle, Outcome{Status: 200})
	a := r.Begin(busy)
	do(r, cooling, Outcome{Status: 429, CooldownUntil: fc.Now().Add(time.Hour)})
	fc.Advance(2 * time.Minute)
	r.Cleanup()
	var models []string
	for _, m := range credSnap(t, r, "c").Models {
		models = append(models, m.Model)
	}
	if strings.Join(models, ",") != "busy,cooling" {
		t.Fatalf("after Cleanup models = %v, want busy,cooling", models)
	}
	r.End(a, Outcome{Status: 200})
	r.Forget("c")
	if len(r.Snapshot()) != 0 {
		t.Fatal("Forget left the credential in the snapshot")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	cancel()
	<-done
}

func TestPickDoesNotAllocate(t *testing.T) {
	for _, strategy := range []string{"fill-first", "round-robin", "random", "least-busy", "lowest-latency"} {
		t.Run(strategy, func(t *testing.T) {
			r, _ := newRouter(t, func(o *Options) { o.Strategy = strategy; o.ServerErrorCooldown = -1 })
			cands := pool(100, "m")
			for i, e := range cands {
				do(r, e, Outcome{Status: 200, Latency: time.Duration(i+1) * time.Millisecond})
				if i%3 == 0 {
					do(r, e, Outcome{Status: 500})
				}
			}
			_, _ = r.Pick(cands, nil) // create the rotation counter
			tried := func(id string) bool { return id == "cred-000" }
			if n := testing.AllocsPerRun(200, func() { _, _ = r.Pick(cands, tried) }); n != 0 {
				t.Fatalf("Pick allocates %v times per call", n)
			}
		})
	}
}

// TestOnCooldownOnlyWhenACooldownStartsOrGrows: a second 429 whose reset comes before the running
// cooldown's end changes nothing, so it is neither counted nor shared; a later reset extends it.
func TestOnCooldownOnlyWhenACooldownStartsOrGrows(t *testing.T) {
	var told []time.Time
	r, fc := newRouter(t, func(o *Options) {
		o.OnCooldown = func(_, _ string, until time.Time) { told = append(told, until) }
	})
	fc.Set(base)
	e := pool(1, "m")[0]
	do(r, e, Outcome{Status: 429, CooldownUntil: at(5 * time.Minute)})
	do(r, e, Outcome{Status: 429, CooldownUntil: at(2 * time.Minute)}) // inside the running one
	do(r, e, Outcome{Status: 429, CooldownUntil: at(9 * time.Minute)})
	if len(told) != 2 || !told[0].Equal(at(5*time.Minute)) || !told[1].Equal(at(9*time.Minute)) {
		t.Fatalf("OnCooldown told %v; want the 5 and 9 minute ends only", told)
	}
}
