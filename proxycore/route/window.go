package route

import (
	"math/bits"
	"time"
)

// numBuckets is how many fixed time buckets make up one health window (Window/numBuckets each).
const numBuckets = 20

// latBins is the number of latency histogram bins. Bin i holds latencies in
// [2^(i/2), 2^((i+1)/2)) milliseconds (bin 0 also holds everything under 1 ms), so percentiles are
// exact to within a factor of sqrt(2) in bounded memory; the last bin collects everything above ~4.6 h.
const latBins = 50

// bucket counts the requests that ended during one slice of the window.
type bucket struct {
	epoch    int64 // slice number: unix nanoseconds / bucket width
	requests uint32
	failures uint32
	latN     uint32 // sum of lat
	lat      [latBins]uint32
}

// window is a rolling window of numBuckets buckets plus running totals over the live ones. It is not
// safe for concurrent use: its owner (stats) guards it with a mutex.
type window struct {
	width  int64 // bucket width in nanoseconds
	last   int64 // newest epoch seen, to skip expiry scans within one bucket
	slots  [numBuckets]bucket
	total  bucket // sums over live buckets; total.epoch is unused
	active bool   // any bucket ever written

	version  uint64        // bumped whenever the latency totals change
	p95      time.Duration // cached p95 ...
	p95Ver   uint64        // ... valid while version == p95Ver
	p95Valid bool
}

func (w *window) init(span time.Duration) {
	w.width = int64(span) / numBuckets
	if w.width <= 0 {
		w.width = 1
	}
}

// advance drops buckets that fell out of the window ending at now.
func (w *window) advance(now int64) {
	if !w.active {
		return
	}
	cur := now / w.width
	if cur == w.last {
		return
	}
	if cur > w.last {
		w.last = cur
	}
	for i := range w.slots {
		b := &w.slots[i]
		if b.requests == 0 || b.epoch > cur-numBuckets {
			continue
		}
		w.drop(b)
		*b = bucket{}
	}
}

// drop subtracts bucket b from the totals.
func (w *window) drop(b *bucket) {
	w.total.requests -= b.requests
	w.total.failures -= b.failures
	if b.latN != 0 {
		w.total.latN -= b.latN
		for j, n := range b.lat {
			w.total.lat[j] -= n
		}
		w.version++
	}
}

// add records one finished request at now.
func (w *window) add(now int64, failed bool, latency time.Duration, withLatency bool) {
	w.active = true
	w.advance(now)
	cur := now / w.width
	b := &w.slots[cur%numBuckets]
	switch {
	case b.epoch > cur:
		// The wall clock moved backwards: count the request in the newer bucket rather than lose data.
	case b.epoch < cur && b.requests != 0:
		// A stale bucket that advance did not drop (after a backwards jump): drop it now.
		w.drop(b)
		*b = bucket{epoch: cur}
	default:
		b.epoch = cur
	}
	b.requests++
	w.total.requests++
	if failed {
		b.failures++
		w.total.failures++
	}
	if withLatency {
		i := latBin(latency)
		b.lat[i]++
		b.latN++
		w.total.lat[i]++
		w.total.latN++
		w.version++
	}
}

// reset forgets everything.
func (w *window) reset() {
	width := w.width
	*w = window{width: width}
}

// samples returns the number of latency samples in the window.
func (w *window) samples() uint32 { return w.total.latN }

// cachedP95 returns the p95, recomputing it only when the latency totals changed.
func (w *window) cachedP95() time.Duration {
	if !w.p95Valid || w.p95Ver != w.version {
		w.p95, w.p95Ver, w.p95Valid = w.percentile(0.95), w.version, true
	}
	return w.p95
}

// percentile returns the upper bound of the bin holding the q-quantile (0 < q <= 1) of latencies in
// the window, or 0 when there are no samples.
func (w *window) percentile(q float64) time.Duration {
	n := w.samples()
	if n == 0 {
		return 0
	}
	rank := uint32(q*float64(n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen uint32
	for i, c := range w.total.lat {
		seen += c
		if seen >= rank {
			return binUpper(i)
		}
	}
	return binUpper(latBins - 1)
}

// latBin maps a latency to its histogram bin.
func latBin(d time.Duration) int {
	us := d.Microseconds()
	if us < 1000 {
		return 0
	}
	// ms = us/1000 scaled: compare against powers of sqrt(2) using microseconds to stay in integers.
	ms := uint64(us / 1000)
	k := bits.Len64(ms) - 1 // 2^k <= ms < 2^(k+1)
	i := 2 * k
	// The upper half of [2^k, 2^(k+1)) starts at 2^k*sqrt(2); compare ms^2 >= 2^(2k+1).
	if k < 31 && ms*ms >= uint64(1)<<(2*k+1) {
		i++
	}
	if i >= latBins {
		i = latBins - 1
	}
	return i
}

// binUpper returns the exclusive upper bound of bin i, 2^((i+1)/2) ms.
func binUpper(i int) time.Duration {
	half := i + 1
	d := time.Duration(1<<(half/2)) * time.Millisecond
	if half%2 == 1 {
		d = d * 1414213 / 1000000
	}
	return d
}
