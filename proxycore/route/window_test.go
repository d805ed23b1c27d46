package route

import (
	"testing"
	"time"
)

func TestLatencyBins(t *testing.T) {
	prev := 0
	for _, d := range []time.Duration{0, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond,
		10 * time.Millisecond, 100 * time.Millisecond, time.Second, 30 * time.Second, 10 * time.Minute, 100 * time.Hour} {
		i := latBin(d)
		if i < prev || i >= latBins {
			t.Fatalf("latBin(%v) = %d, not monotonic or out of range (prev %d)", d, i, prev)
		}
		prev = i
		if i < latBins-1 && d >= time.Millisecond && binUpper(i) <= d {
			t.Fatalf("latBin(%v) = %d whose upper bound %v is not above it", d, i, binUpper(i))
		}
		if i > 0 && binUpper(i-1) > d {
			t.Fatalf("latBin(%v) = %d but the previous bin ends at %v", d, i, binUpper(i-1))
		}
	}
}

func TestWindowPercentilesAndExpiry(t *testing.T) {
	var w window
	w.init(time.Minute)
	start := base.UnixNano()
	for i := 1; i <= 100; i++ {
		w.add(start, false, time.Duration(i)*time.Millisecond*10, true)
	}
	if p := w.percentile(0.5); p < 500*time.Millisecond || p > 708*time.Millisecond {
		t.Fatalf("p50 = %v", p)
	}
	if w.samples() != 100 || w.total.requests != 100 {
		t.Fatalf("samples %d requests %d", w.samples(), w.total.requests)
	}
	later := start + int64(time.Minute) + int64(time.Second)
	w.advance(later)
	if w.samples() != 0 || w.total.requests != 0 || w.percentile(0.99) != 0 {
		t.Fatalf("window did not expire: %d samples, %d requests", w.samples(), w.total.requests)
	}
	// A clock that moves backwards does not corrupt the totals.
	w.add(later, true, 0, false)
	w.add(start, true, 0, false)
	if w.total.requests != 2 || w.total.failures != 2 {
		t.Fatalf("totals %d/%d after a backwards clock", w.total.failures, w.total.requests)
	}
}
