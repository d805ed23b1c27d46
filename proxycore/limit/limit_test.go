package limit

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// windowAligned returns a fake clock placed offset into a fresh window.
func windowAligned(offset time.Duration) *clock.Fake {
	start := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	return clock.NewFake(start.Add(offset))
}

func TestLimitsOffIsFreeAndAdmits(t *testing.T) {
	l := New(Options{}, nil)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		tk, rej := l.Acquire(ctx, "k", KeyLimits{})
		if rej != nil {
			t.Fatalf("rejected with limits off: %+v", rej)
		}
		tk.Release(10)
	})
	if allocs != 0 {
		t.Fatalf("limits-off path allocates %v times per call, want 0", allocs)
	}
}

func TestRPMWindowRolloverAndRetryAfter(t *testing.T) {
	tests := []struct {
		name      string
		offset    time.Duration // position inside the window when the limit is hit
		wantRetry time.Duration
	}{
		{"start of window", 0, time.Minute},
		{"mid window", 10 * time.Second, 50 * time.Second},
		{"sub-second precision", 59*time.Second + 250*time.Millisecond, 750 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := windowAligned(tc.offset)
			l := New(Options{RPMPerKey: 3, Clock: clk}, NewMemory())
			ctx := context.Background()
			for i := 0; i < 3; i++ {
				tk, rej := l.Acquire(ctx, "alice", KeyLimits{})
				if rej != nil {
					t.Fatalf("request %d rejected: %+v", i, rej)
				}
				tk.Release(0)
			}
			_, rej := l.Acquire(ctx, "alice", KeyLimits{})
			if rej == nil || rej.Reason != ReasonRPM {
				t.Fatalf("4th request: got %+v, want rpm rejection", rej)
			}
			if rej.RetryAfter != tc.wantRetry {
				t.Fatalf("RetryAfter = %v, want %v", rej.RetryAfter, tc.wantRetry)
			}
			// Other keys are unaffected.
			if _, rej := l.Acquire(ctx, "bob", KeyLimits{}); rej != nil {
				t.Fatalf("other key rejected: %+v", rej)
			}
			// One nanosecond before the window ends: still refused; at the boundary: admitted.
			clk.Advance(tc.wantRetry - time.Nanosecond)
			if _, rej := l.Acquire(ctx, "alice", KeyLimits{}); rej == nil {
				t.Fatalf("admitted before the window ended")
			} else if rej.RetryAfter != time.Nanosecond {
				t.Fatalf("RetryAfter at window end = %v, want 1ns", rej.RetryAfter)
			}
			clk.Advance(time.Nanosecond)
			if _, rej := l.Acquire(ctx, "alice", KeyLimits{}); rej != nil {
				t.Fatalf("rejected after rollover: %+v", rej)
			}
		})
	}
}

func TestTPMChargedFromUsage(t *testing.T) {
	clk := windowAligned(30 * time.Second)
	l := New(Options{TPMPerKey: 100, Clock: clk}, NewMemory())
	ctx := context.Background()

	tk, rej := l.Acquire(ctx, "k", KeyLimits{})
	if rej != nil {
		t.Fatalf("first request rejected: %+v", rej)
	}
	tk.Release(60)
	tk, rej = l.Acquire(ctx, "k", KeyLimits{})
	if rej != nil {
		t.Fatalf("second request (60 of 100 used) rejected: %+v", rej)
	}
	tk.Release(60) // 120 used: this call may overshoot, the next is refused
	_, rej = l.Acquire(ctx, "k", KeyLimits{})
	if rej == nil || rej.Reason != ReasonTPM {
		t.Fatalf("got %+v, want tpm rejection", rej)
	}
	if rej.RetryAfter != 30*time.Second {
		t.Fatalf("RetryAfter = %v, want 30s", rej.RetryAfter)
	}
	clk.Advance(30 * time.Second)
	if _, rej := l.Acquire(ctx, "k", KeyLimits{}); rej != nil {
		t.Fatalf("rejected in the next window: %+v", rej)
	}
}

func TestKeyLimitsOverrideDefaults(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		per      KeyLimits
		admitted int // of 5 attempts in one window
	}{
		{"default applies", Options{RPMPerKey: 2}, KeyLimits{}, 2},
		{"override raises", Options{RPMPerKey: 2}, KeyLimits{RPM: 4}, 4},
		{"override lowers", Options{RPMPerKey: 3}, KeyLimits{RPM: 1}, 1},
		{"negative turns off", Options{RPMPerKey: 2}, KeyLimits{RPM: -1}, 5},
		{"override with no defaults", Options{}, KeyLimits{RPM: 3}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Clock = windowAligned(time.Second)
			l := New(tc.opts, nil)
			got := 0
			for i := 0; i < 5; i++ {
				if tk, rej := l.Acquire(context.Background(), "k", tc.per); rej == nil {
					got++
					tk.Release(0)
				}
			}
			if got != tc.admitted {
				t.Fatalf("admitted %d, want %d", got, tc.admitted)
			}
		})
	}
}

// TestParallelCapsUnderContention runs 200 goroutines at once against each cap; exactly the cap may
// hold tickets at the same time, and every slot comes back.
func TestParallelCapsUnderContention(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		keys   []string
		cap    int
		reason string
	}{
		{"per key", Options{MaxParallelPerKey: 7}, []string{"k"}, 7, ReasonKeyParallel},
		{"global across keys", Options{MaxParallel: 5}, []string{"a", "b", "c", "d"}, 5, ReasonGlobalParallel},
		{"per key tighter than global", Options{MaxParallel: 50, MaxParallelPerKey: 3}, []string{"k"}, 3, ReasonKeyParallel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := NewMemory()
			l := New(tc.opts, mem)
			const n = 200
			var admitted, wrongReason atomic.Int32
			hold := make(chan struct{})
			var tried, done sync.WaitGroup
			tried.Add(n)
			done.Add(n)
			for i := 0; i < n; i++ {
				go func(i int) {
					defer done.Done()
					tk, rej := l.Acquire(context.Background(), tc.keys[i%len(tc.keys)], KeyLimits{})
					tried.Done()
					if rej != nil {
						if rej.Reason != tc.reason || rej.RetryAfter <= 0 {
							wrongReason.Add(1)
						}
						return
					}
					admitted.Add(1)
					<-hold
					tk.Release(0)
				}(i)
			}
			tried.Wait()
			if got := admitted.Load(); int(got) != tc.cap {
				t.Errorf("admitted %d concurrently, want %d", got, tc.cap)
			}
			if wrongReason.Load() != 0 {
				t.Errorf("%d rejections had the wrong reason or no retry-after", wrongReason.Load())
			}
			close(hold)
			done.Wait()
			if g := mem.InFlight(CounterKey{Kind: KindGlobalParallel}); g != 0 {
				t.Errorf("global slots leaked: %d", g)
			}
			for _, k := range tc.keys {
				if g := mem.InFlight(CounterKey{Kind: KindParallel, Key: k}); g != 0 {
					t.Errorf("slots of %q leaked: %d", k, g)
				}
			}
		})
	}
}

func TestRefusalLeavesNoSideEffects(t *testing.T) {
	clk := windowAligned(0)
	mem := NewMemory()
	l := New(Options{MaxParallel: 10, MaxParallelPerKey: 10, RPMPerKey: 1, Clock: clk}, mem)
	ctx := context.Background()
	held, rej := l.Acquire(ctx, "k", KeyLimits{})
	if rej != nil {
		t.Fatalf("first rejected: %+v", rej)
	}
	if _, rej := l.Acquire(ctx, "k", KeyLimits{}); rej == nil || rej.Reason != ReasonRPM {
		t.Fatalf("got %+v, want rpm", rej)
	}
	// The refused request gave its parallel slots back: only the held ticket counts.
	if g := mem.InFlight(CounterKey{Kind: KindGlobalParallel}); g != 1 {
		t.Fatalf("global in flight = %d, want 1", g)
	}
	if g := mem.InFlight(CounterKey{Kind: KindParallel, Key: "k"}); g != 1 {
		t.Fatalf("key in flight = %d, want 1", g)
	}
	held.Release(0)

	// A parallel refusal does not count against RPM.
	l2 := New(Options{MaxParallelPerKey: 1, RPMPerKey: 2, Clock: clk}, NewMemory())
	t1, _ := l2.Acquire(ctx, "k", KeyLimits{})
	for i := 0; i < 3; i++ {
		if _, rej := l2.Acquire(ctx, "k", KeyLimits{}); rej == nil || rej.Reason != ReasonKeyParallel {
			t.Fatalf("got %+v, want key-parallel", rej)
		}
	}
	t1.Release(0)
	if _, rej := l2.Acquire(ctx, "k", KeyLimits{}); rej != nil {
		t.Fatalf("second request of the minute refused: %+v (parallel refusals were counted)", rej)
	}
}

func TestMemorySweepsOldWindows(t *testing.T) {
	clk := windowAligned(0)
	mem := NewMemory()
	l := New(Options{RPMPerKey: 5, Clock: clk}, mem)
	use := func(prefix string, n int) {
		for i := 0; i < n; i++ {
			tk, rej := l.Acquire(context.Background(), prefix+strconv.Itoa(i), KeyLimits{})
			if rej != nil {
				t.Fatalf("rejected: %+v", rej)
			}
			tk.Release(0)
		}
	}
	count := func() int {
		n := 0
		for i := range mem.shards {
			mem.shards[i].mu.Lock()
			n += len(mem.shards[i].windows)
			mem.shards[i].mu.Unlock()
		}
		return n
	}
	use("old-", 100)
	if got := count(); got != 100 {
		t.Fatalf("counters = %d, want 100", got)
	}
	// Two windows later, traffic from other keys touches every shard (FNV over 1000 keys is
	// deterministic) and each shard drops the counters it holds for closed windows.
	clk.Advance(2 * Window)
	use("new-", 1000)
	if got := count(); got != 1000 {
		t.Fatalf("counters = %d after rollover, want only the 1000 live ones", got)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int
	}{
		{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + time.Nanosecond, 2}, {50 * time.Second, 50},
	}
	for _, tc := range tests {
		if got := RetryAfterSeconds(tc.in); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func BenchmarkLimiterAcquireRelease(b *testing.B) {
	cases := []struct {
		name string
		opts Options
	}{
		{"memory/off", Options{}},
		{"memory/on", Options{MaxParallel: 1 << 20, MaxParallelPerKey: 1 << 20, RPMPerKey: 1 << 40, TPMPerKey: 1 << 40}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			l := New(bc.opts, NewMemory())
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tk, rej := l.Acquire(ctx, "sk-bench-key", KeyLimits{})
					if rej != nil {
						b.Fatalf("rejected: %+v", rej)
					}
					tk.Release(100)
				}
			})
		})
	}
}

func TestMemoryTakeWindows(t *testing.T) {
	const w = int64(Window)
	steps := []struct {
		window, n, max int64
		ok             bool
		value          int64
	}{
		{w, 1, 2, true, 1},
		{w, 1, 2, true, 2},
		{w, 1, 2, false, 2},     // at the cap
		{w, 5, 0, true, 7},      // max 0: unconditional add (TPM charge)
		{2 * w, 1, 2, true, 1},  // new window starts from zero
		{w, 1, 2, true, 2},      // late caller from the closed window counts against the newer one
		{2 * w, 1, 2, false, 2}, // and that counts
		{2 * w, 0, 3, true, 2},  // n 0: a pure check
		{5 * w, 0, 1, true, 0},  // far later: fresh
	}
	m := NewMemory()
	for i, s := range steps {
		ok, v, err := m.Take(context.Background(), CounterKey{Kind: KindRequests, Key: "k", Window: s.window}, s.n, s.max, 0)
		if err != nil || ok != s.ok || v != s.value {
			t.Fatalf("step %d: Take = %v, %d, %v; want %v, %d", i, ok, v, err, s.ok, s.value)
		}
	}
}
