package route

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse hammers one router from hundreds of goroutines (run with -race) and then checks
// the books balance: every request is counted once and nothing is left in flight.
func TestConcurrentUse(t *testing.T) {
	r, fc := newRouter(t, func(o *Options) { o.Strategy = "round-robin" })
	var cands [3][]Entry
	for m := range cands {
		cands[m] = pool(8, fmt.Sprintf("model-%d", m))
	}
	const workers, perWorker = 300, 40
	outcomes := []Outcome{
		{Status: 200, Latency: 50 * time.Millisecond},
		{Status: 200, Latency: 900 * time.Millisecond},
		{Status: 400},
		{Status: 429, CooldownUntil: fc.Now().Add(time.Second)},
		{Status: 503},
		{Err: errors.New("connection reset")},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	recorded := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for i := range perWorker {
				list := cands[(w+i)%len(cands)]
				tried := map[string]bool{}
				for attempt := 0; attempt < 3; attempt++ {
					e, ok := r.Pick(list, func(id string) bool { return tried[id] })
					if !ok {
						_, _ = r.EarliestRecovery(list)
						break
					}
					tried[e.CredentialID] = true
					a := r.Begin(e)
					o := outcomes[(w*7+i+attempt)%len(outcomes)]
					r.End(a, o)
					n++
					if o.Status == 200 {
						break
					}
				}
				switch i % 10 {
				case 0:
					_ = r.Snapshot()
				case 3:
					fc.Advance(100 * time.Millisecond)
				case 5:
					r.Reset(list[i%len(list)].CredentialID)
				case 7:
					r.Cleanup()
				case 9:
					_ = r.SetStrategy([]string{"round-robin", "least-busy", "lowest-latency", "fill-first", "random"}[w%5])
				}
			}
			mu.Lock()
			recorded += n
			mu.Unlock()
		}()
	}
	// Marking and clearing errors concurrently with the traffic.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			id := fmt.Sprintf("cred-%03d", i%8)
			r.MarkError(id, "log in again")
			_ = r.Available(id)
			r.ClearError(id)
		}
	}()
	wg.Wait()
	if recorded == 0 {
		t.Fatal("no request was routed")
	}
	total := 0
	for _, ch := range r.Snapshot() {
		if ch.InFlight != 0 {
			t.Errorf("%s has %d in flight after all requests ended", ch.CredentialID, ch.InFlight)
		}
		for _, m := range ch.Models {
			if m.InFlight != 0 {
				t.Errorf("%s/%s has %d in flight", ch.CredentialID, m.Model, m.InFlight)
			}
		}
		total += ch.Requests
	}
	// Each request is recorded once per credential; the clock moved by at most a few seconds, far
	// less than the window, but Reset clears history, so the total can only be at most what ran.
	if total > recorded || total == 0 {
		t.Fatalf("credential windows hold %d requests, %d were routed", total, recorded)
	}
}
