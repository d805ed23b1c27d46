package route

import (
	"sort"
	"strings"
)

// selector is a selection strategy: it returns the index of the chosen candidate, or -1. Candidates
// arrive sorted by CredentialID. A strategy must honour p.tiers (best first): it chooses within the
// first tier that has an eligible candidate (set p.mask, then test p.eligible), or uses
// p.firstInOrder, which does that in one pass.
type selector interface {
	choose(r *Router, p pickCtx) int
}

// newSelectors is the strategy registry, built per router (no init-time registration).
func newSelectors() map[string]selector {
	return map[string]selector{
		"fill-first":     fillFirst{},
		"round-robin":    roundRobin{},
		"random":         randomPick{},
		"least-busy":     leastBusy{},
		"lowest-latency": lowestLatency{},
	}
}

func strategyNames(m map[string]selector) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

var (
	_ selector = fillFirst{}
	_ selector = roundRobin{}
	_ selector = randomPick{}
	_ selector = leastBusy{}
	_ selector = lowestLatency{}
)

// fillFirst uses the first eligible credential in id order, so one account is drained until it cools
// down before the next is touched (subscription quotas are used one at a time).
type fillFirst struct{}

func (fillFirst) choose(r *Router, p pickCtx) int {
	return p.firstInOrder(r, 0)
}

// roundRobin rotates through the candidates with one atomic counter per client model; retries of one
// request continue the rotation, skipping credentials already tried.
type roundRobin struct{}

func (roundRobin) choose(r *Router, p pickCtx) int {
	return p.firstInOrder(r, r.counter(p.cands).Add(1)-1)
}

// randomPick picks uniformly among eligible candidates using Options.Rand.
type randomPick struct{}

func (randomPick) choose(r *Router, p pickCtx) int {
	for _, p.mask = range p.tiers {
		if i := randomIn(r, &p); i >= 0 {
			return i
		}
	}
	return -1
}

func randomIn(r *Router, p *pickCtx) int {
	count := 0
	for i := range p.cands {
		if p.eligible(r, i) {
			count++
		}
	}
	if count == 0 {
		return -1
	}
	k := max(min(int(r.rand()*float64(count)), count-1), 0)
	last := -1
	for i := range p.cands {
		if p.eligible(r, i) {
			if k == 0 {
				return i
			}
			k--
			last = i
		}
	}
	return last // health changed between the passes: any eligible one will do
}

// leastBusy picks the credential with the fewest requests in flight (across all its models); ties go
// round-robin so that an idle pool is still spread.
type leastBusy struct{}

func (leastBusy) choose(r *Router, p pickCtx) int {
	start := r.counter(p.cands).Add(1) - 1
	for _, p.mask = range p.tiers {
		if i := leastBusyIn(r, &p, start); i >= 0 {
			return i
		}
	}
	return -1
}

func leastBusyIn(r *Router, p *pickCtx, start uint64) int {
	n := uint64(len(p.cands))
	best, bestLoad := -1, int64(0)
	for k := uint64(0); k < n; k++ {
		i := int((start + k) % n)
		e := &p.cands[i]
		if p.tried != nil && p.tried(e.CredentialID) {
			continue
		}
		c, cs, _ := r.inspect(e, p.now)
		if p.mask != allClasses && c&p.mask == 0 {
			continue
		}
		var load int64
		if cs != nil {
			load = cs.inflight.Load()
		}
		if best < 0 || load < bestLoad {
			best, bestLoad = i, load
			if load == 0 {
				break
			}
		}
	}
	return best
}

// lowestLatency picks the best p95 latency of the (credential, model) pair. Until every eligible
// candidate has Health.MinRequests successful samples in the window, it round-robins over the ones that
// do not, so that all are measured.
type lowestLatency struct{}

func (lowestLatency) choose(r *Router, p pickCtx) int {
	start := r.counter(p.cands).Add(1) - 1
	for _, p.mask = range p.tiers {
		if i := lowestLatencyIn(r, &p, start); i >= 0 {
			return i
		}
	}
	return -1
}

func lowestLatencyIn(r *Router, p *pickCtx, start uint64) int {
	n := uint64(len(p.cands))
	need := uint32(max(r.opts.Health.MinRequests, 1))
	best := -1
	var bestP95 int64
	for k := uint64(0); k < n; k++ {
		i := int((start + k) % n)
		e := &p.cands[i]
		if p.tried != nil && p.tried(e.CredentialID) {
			continue
		}
		c, _, ms := r.inspect(e, p.now)
		if p.mask != allClasses && c&p.mask == 0 {
			continue
		}
		var samples uint32
		var p95 int64
		if ms != nil {
			s, d := ms.latencyView(p.now)
			samples, p95 = s, int64(d)
		}
		if samples < need {
			return i
		}
		if best < 0 || p95 < bestP95 {
			best, bestP95 = i, p95
		}
	}
	return best
}
