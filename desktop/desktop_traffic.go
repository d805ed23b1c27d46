package desktop

import (
	"slices"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/server"
	"github.com/cliproxy/cliproxy/proxycore/store"
	"github.com/cliproxy/cliproxy/ui"
)

// trafficMinutes is how many minutes of per-minute traffic the dashboard can chart.
const trafficMinutes = 120

// latencySamples bounds the latencies kept per minute for the p95; at 100 requests/s a minute holds 6000
// requests, so later ones replace earlier ones in a fixed pattern (enough for a chart's p95).
const latencySamples = 256

// recentRequestsKept is how many finished requests the Logs tab can show.
const recentRequestsKept = 200

// minuteBucket is the traffic of one wall-clock minute.
type minuteBucket struct {
	start     time.Time // truncated to the minute; zero when unused
	requests  int64
	latencies []int64 // ms, at most latencySamples
}

// traffic keeps per-minute request counts and latency samples in a ring, plus the most recent requests.
// It is fed by request events and seeded from the store on start.
type traffic struct {
	mu      sync.Mutex // guards every field below
	buckets [trafficMinutes]minuteBucket
	recent  []ui.RequestView // ring of recentRequestsKept, next is the oldest slot once full
	next    int
}

// add records one finished request.
func (t *traffic) add(at time.Time, latencyMs int64, rv ui.RequestView) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count(at, latencyMs)
	if len(t.recent) < recentRequestsKept {
		t.recent = append(t.recent, rv)
		return
	}
	t.recent[t.next] = rv
	t.next = (t.next + 1) % recentRequestsKept
}

// count adds a request to its minute bucket. t.mu is held.
func (t *traffic) count(at time.Time, latencyMs int64) {
	m := at.Truncate(time.Minute)
	b := &t.buckets[m.Unix()/60%trafficMinutes]
	if !b.start.Equal(m) {
		if b.start.After(m) {
			return // older than the ring reaches
		}
		*b = minuteBucket{start: m, latencies: b.latencies[:0]}
	}
	b.requests++
	if len(b.latencies) < latencySamples {
		b.latencies = append(b.latencies, latencyMs)
	} else {
		b.latencies[b.requests%latencySamples] = latencyMs
	}
}

// series returns one point per minute for the last minutes up to now, oldest first. With p95 set the
// value is the minute's p95 latency in ms, else its request count.
func (t *traffic) series(now time.Time, minutes int, p95 bool) []ui.Point {
	if minutes <= 0 {
		return nil
	}
	minutes = min(minutes, trafficMinutes)
	end := now.Truncate(time.Minute)
	out := make([]ui.Point, 0, minutes)
	t.mu.Lock()
	defer t.mu.Unlock()
	var scratch []int64
	for i := minutes - 1; i >= 0; i-- {
		m := end.Add(-time.Duration(i) * time.Minute)
		p := ui.Point{Time: m}
		if b := &t.buckets[m.Unix()/60%trafficMinutes]; b.start.Equal(m) {
			if p95 {
				scratch = append(scratch[:0], b.latencies...)
				p.Value = float64(percentile(scratch, 0.95))
			} else {
				p.Value = float64(b.requests)
			}
		}
		out = append(out, p)
	}
	return out
}

// latest returns up to n recent requests, newest first.
func (t *traffic) latest(n int) []ui.RequestView {
	t.mu.Lock()
	defer t.mu.Unlock()
	n = min(n, len(t.recent))
	out := make([]ui.RequestView, 0, n)
	for i := 0; i < n; i++ {
		// The newest entry is just before next (or the last one until the ring is full).
		j := (t.next - 1 - i + 2*len(t.recent)) % len(t.recent)
		if len(t.recent) < recentRequestsKept {
			j = len(t.recent) - 1 - i
		}
		out = append(out, t.recent[j])
	}
	return out
}

// percentile returns the q-quantile (nearest rank) of v, reordering v; 0 when v is empty.
func percentile(v []int64, q float64) int64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	i := int(q*float64(len(v))+0.999999) - 1
	return v[max(0, min(i, len(v)-1))]
}

// requestFromRecord maps a finished request to its Logs row. Records hold no secrets; the key is shown
// by its name or id, never its plaintext, and the credential by its account label.
func requestFromRecord(r *server.Record, keyName, accountName func(string) string) ui.RequestView {
	rv := ui.RequestView{
		RequestID: r.RequestID,
		Time:      r.Time,
		Method:    "POST",
		Path:      r.Route,
		Model:     r.Model,
		Provider:  r.Provider,
		Account:   accountName(r.CredentialID),
		Key:       keyName(r.KeyID),
		Status:    r.Status,
		LatencyMs: r.Latency.Milliseconds(),
		TokensIn:  r.Usage.InputTokens,
		TokensOut: r.Usage.OutputTokens,
		Error:     r.ErrorMessage,
		Streamed:  r.Stream,
	}
	if rv.Error == "" && r.ErrorClass != "" {
		rv.Error = r.ErrorClass
	}
	if r.Fallback != "" {
		rv.Model = r.Model + " -> " + r.Fallback
	}
	return rv
}

// requestFromRow maps a spend-log row (used to seed the Logs tab on start).
func requestFromRow(r store.SpendRow, keyName, accountName func(string) string) ui.RequestView {
	return ui.RequestView{
		RequestID: r.RequestID,
		Time:      r.Time,
		Method:    "POST",
		Path:      r.Route,
		Model:     r.Model,
		Provider:  r.Provider,
		Account:   accountName(r.CredentialID),
		Key:       keyName(r.KeyID),
		Status:    r.Status,
		LatencyMs: r.LatencyMS,
		TokensIn:  r.InputTokens,
		TokensOut: r.OutputTokens,
		CostUSD:   r.CostUSD,
		Error:     r.ErrorClass,
	}
}
