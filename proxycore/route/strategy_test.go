package route

import (
	"testing"
	"time"
)

func TestFillFirstDrainsInOrder(t *testing.T) {
	r, fc := newRouter(t, nil)
	cands := pool(3, "m")
	for range 20 {
		e := mustPick(t, r, cands, nil)
		if e.CredentialID != "cred-000" {
			t.Fatalf("fill-first picked %s while cred-000 is fine", e.CredentialID)
		}
		do(r, e, Outcome{Status: 200})
	}
	now := fc.Now()
	do(r, cands[0], Outcome{Status: 429, CooldownUntil: now.Add(time.Minute)})
	if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-001" {
		t.Fatalf("after cred-000 cooled down, picked %s, want cred-001", e.CredentialID)
	}
	do(r, cands[1], Outcome{Status: 429, CooldownUntil: now.Add(2 * time.Minute)})
	if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-002" {
		t.Fatalf("picked %s, want cred-002", e.CredentialID)
	}
	fc.Advance(time.Minute + time.Second)
	if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-000" {
		t.Fatalf("after the cooldown ended, picked %s, want cred-000 again", e.CredentialID)
	}
	tried := func(id string) bool { return id == "cred-000" }
	if e := mustPick(t, r, cands, tried); e.CredentialID != "cred-002" {
		t.Fatalf("with cred-000 tried and cred-001 cooling, picked %s", e.CredentialID)
	}
}

func TestRoundRobinIsEven(t *testing.T) {
	r, _ := newRouter(t, func(o *Options) { o.Strategy = "round-robin" })
	cands := pool(5, "m")
	counts := map[string]int{}
	for range 1000 {
		e := mustPick(t, r, cands, nil)
		counts[e.CredentialID]++
		do(r, e, Outcome{Status: 200})
	}
	for _, e := range cands {
		if counts[e.CredentialID] != 200 {
			t.Fatalf("round-robin counts = %v, want 200 each", counts)
		}
	}
	// Retries of one request continue the rotation and never repeat a credential.
	tried := map[string]bool{}
	for range 5 {
		e := mustPick(t, r, cands, func(id string) bool { return tried[id] })
		if tried[e.CredentialID] {
			t.Fatalf("picked %s twice within one request", e.CredentialID)
		}
		tried[e.CredentialID] = true
	}
	if _, ok := r.Pick(cands, func(id string) bool { return tried[id] }); ok {
		t.Fatal("Pick succeeded although every candidate was tried")
	}
}

func TestRandomUsesInjectedSource(t *testing.T) {
	seq := []float64{0, 0.99, 0.5, 0.26}
	i := 0
	r, _ := newRouter(t, func(o *Options) {
		o.Strategy = "random"
		o.Rand = func() float64 { v := seq[i%len(seq)]; i++; return v }
	})
	cands := pool(4, "m")
	want := []string{"cred-000", "cred-003", "cred-002", "cred-001"}
	for _, w := range want {
		if e := mustPick(t, r, cands, nil); e.CredentialID != w {
			t.Fatalf("random picked %s, want %s", e.CredentialID, w)
		}
	}
	// Only eligible candidates count: with cred-000 tried, 0 maps to cred-001.
	i = 0
	if e := mustPick(t, r, cands, func(id string) bool { return id == "cred-000" }); e.CredentialID != "cred-001" {
		t.Fatalf("random with cred-000 tried picked %s", e.CredentialID)
	}
}

func TestLeastBusy(t *testing.T) {
	r, _ := newRouter(t, func(o *Options) { o.Strategy = "least-busy" })
	cands := pool(3, "m")
	// Picks without ends spread the load evenly: each pick goes to the least loaded credential.
	var open []Attempt
	for range 9 {
		open = append(open, r.Begin(mustPick(t, r, cands, nil)))
	}
	for _, ch := range r.Snapshot() {
		if ch.InFlight != 3 {
			t.Fatalf("%s has %d in flight, want 3 (snapshot %+v)", ch.CredentialID, ch.InFlight, r.Snapshot())
		}
	}
	// Finishing two requests on cred-001 makes it the least busy.
	var rest []Attempt
	ended := 0
	for _, a := range open {
		if a.Entry.CredentialID == "cred-001" && ended < 2 {
			r.End(a, Outcome{Status: 200})
			ended++
			continue
		}
		rest = append(rest, a)
	}
	for range 3 {
		if e := mustPick(t, r, cands, nil); e.CredentialID != "cred-001" {
			t.Fatalf("least-busy picked %s, want cred-001", e.CredentialID)
		}
	}
	for _, a := range rest {
		r.End(a, Outcome{Status: 200})
	}
	for _, ch := range r.Snapshot() {
		if ch.InFlight != 0 {
			t.Fatalf("%s still has %d in flight", ch.CredentialID, ch.InFlight)
		}
	}
}

func TestLeastBusyConcurrent(t *testing.T) {
	r, _ := newRouter(t, func(o *Options) { o.Strategy = "least-busy" })
	cands := pool(4, "m")
	const n = 200
	attempts := make(chan Attempt, n)
	start := make(chan struct{})
	done := make(chan struct{})
	for range n {
		go func() {
			<-start
			e, ok := r.Pick(cands, nil)
			if ok {
				attempts <- r.Begin(e)
			}
			done <- struct{}{}
		}()
	}
	close(start)
	for range n {
		<-done
	}
	close(attempts)
	total := 0
	for _, ch := range r.Snapshot() {
		total += ch.InFlight
		if ch.InFlight == 0 {
			t.Errorf("%s got no request under concurrent least-busy picks", ch.CredentialID)
		}
	}
	if total != n {
		t.Fatalf("total in flight = %d, want %d", total, n)
	}
	for a := range attempts {
		r.End(a, Outcome{Status: 200})
	}
}

func TestLowestLatencyFindsFastCredential(t *testing.T) {
	r, fc := newRouter(t, func(o *Options) { o.Strategy = "lowest-latency" })
	cands := pool(3, "m")
	latency := map[string]time.Duration{"cred-000": 2 * time.Second, "cred-001": 80 * time.Millisecond, "cred-002": 700 * time.Millisecond}
	counts := map[string]int{}
	for i := range 60 {
		e := mustPick(t, r, cands, nil)
		counts[e.CredentialID]++
		a := r.Begin(e)
		fc.Advance(latency[e.CredentialID]) // the fake upstream "takes" this long
		r.End(a, Outcome{Status: 200})
		if i < 15 {
			continue // warm-up: every candidate must reach MinRequests samples first
		}
		if e.CredentialID != "cred-001" {
			t.Fatalf("request %d went to %s after warm-up; counts %v", i, e.CredentialID, counts)
		}
	}
	for _, e := range cands {
		if counts[e.CredentialID] < DefaultMinRequests {
			t.Fatalf("warm-up did not sample %s enough: %v", e.CredentialID, counts)
		}
	}
	snap := credSnap(t, r, "cred-001")
	if snap.P95 < 80*time.Millisecond || snap.P95 > 120*time.Millisecond {
		t.Fatalf("cred-001 p95 = %v, want about 80ms", snap.P95)
	}
}
