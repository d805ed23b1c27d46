package limit

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// newRedisLimiter builds a Limiter with its own client on the shared miniredis, as a separate
// proxy instance would.
func newRedisLimiter(t *testing.T, mr *miniredis.Miniredis, opts Options, instance string) *Limiter {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	be, err := NewRedis(rdb, RedisOptions{Instance: instance, Clock: opts.Clock})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	return New(opts, be)
}

func TestRedisTwoInstancesShareOneRPMLimit(t *testing.T) {
	mr := miniredis.RunT(t)
	clk := windowAligned(20 * time.Second)
	opts := Options{RPMPerKey: 4, TPMPerKey: 1000, Clock: clk}
	a := newRedisLimiter(t, mr, opts, "a")
	b := newRedisLimiter(t, mr, opts, "b")
	ctx := context.Background()

	admitted := 0
	var last *Rejection
	for i := 0; i < 10; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		tk, rej := l.Acquire(ctx, "sk-secret-key", KeyLimits{})
		if rej == nil {
			admitted++
			tk.Release(1)
		} else {
			last = rej
		}
	}
	if admitted != 4 {
		t.Fatalf("two instances admitted %d requests in total, want 4 (one shared limit)", admitted)
	}
	if last.Reason != ReasonRPM || last.RetryAfter != 40*time.Second {
		t.Fatalf("rejection = %+v, want rpm with 40s", last)
	}
	for _, k := range mr.Keys() {
		if strings.Contains(k, "sk-secret-key") {
			t.Fatalf("client key appears in redis key %q", k)
		}
		if ttl := mr.TTL(k); ttl <= 0 || ttl > windowTTL {
			t.Fatalf("key %q has ttl %v, want (0, %v]", k, ttl, windowTTL)
		}
	}
	clk.Advance(40 * time.Second)
	if _, rej := b.Acquire(ctx, "sk-secret-key", KeyLimits{}); rej != nil {
		t.Fatalf("rejected after rollover: %+v", rej)
	}
}

func TestRedisTPMSharedAcrossInstances(t *testing.T) {
	mr := miniredis.RunT(t)
	clk := windowAligned(0)
	opts := Options{TPMPerKey: 100, Clock: clk}
	a := newRedisLimiter(t, mr, opts, "a")
	b := newRedisLimiter(t, mr, opts, "b")
	ctx := context.Background()
	tk, rej := a.Acquire(ctx, "k", KeyLimits{})
	if rej != nil {
		t.Fatalf("rejected: %+v", rej)
	}
	tk.Release(100)
	if _, rej := b.Acquire(ctx, "k", KeyLimits{}); rej == nil || rej.Reason != ReasonTPM {
		t.Fatalf("instance b: got %+v, want tpm rejection from tokens used on a", rej)
	}
}

func TestRedisParallelSharedUnderContention(t *testing.T) {
	mr := miniredis.RunT(t)
	opts := Options{MaxParallel: 6, MaxParallelPerKey: 4}
	inst := []*Limiter{newRedisLimiter(t, mr, opts, "a"), newRedisLimiter(t, mr, opts, "b")}
	const n = 200
	var admitted atomic.Int32
	hold := make(chan struct{})
	var tried, done sync.WaitGroup
	tried.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer done.Done()
			tk, rej := inst[i%2].Acquire(context.Background(), "k", KeyLimits{})
			tried.Done()
			if rej != nil {
				return
			}
			admitted.Add(1)
			<-hold
			tk.Release(0)
		}(i)
	}
	tried.Wait()
	if got := admitted.Load(); got != 4 {
		t.Fatalf("admitted %d across two instances, want the per-key cap 4", got)
	}
	close(hold)
	done.Wait()
	for _, k := range mr.Keys() {
		if strings.Contains(k, ":par:") {
			if members, _ := mr.ZMembers(k); len(members) != 0 {
				t.Fatalf("slots left in %s after release: %v", k, members)
			}
		}
	}
}

func TestRedisCrashedInstanceSlotsExpire(t *testing.T) {
	mr := miniredis.RunT(t)
	clk := clock.NewFake(time.Time{})
	opts := Options{MaxParallelPerKey: 2, SlotTTL: 5 * time.Minute, Clock: clk}
	crashed := newRedisLimiter(t, mr, opts, "crashed")
	live := newRedisLimiter(t, mr, opts, "live")
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, rej := crashed.Acquire(ctx, "k", KeyLimits{}); rej != nil {
			t.Fatalf("rejected: %+v", rej)
		}
	}
	// The crashed instance never releases. Until the leases expire, the cap holds, even with traffic.
	clk.Advance(5*time.Minute - time.Second)
	if _, rej := live.Acquire(ctx, "k", KeyLimits{}); rej == nil || rej.Reason != ReasonKeyParallel {
		t.Fatalf("got %+v, want key-parallel while leases are live", rej)
	}
	clk.Advance(2 * time.Second)
	tk, rej := live.Acquire(ctx, "k", KeyLimits{})
	if rej != nil {
		t.Fatalf("leaked slots did not expire: %+v", rej)
	}
	tk.Release(0)
}

func TestRedisDownFailsOpen(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	be, err := NewRedis(rdb, RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := New(Options{MaxParallel: 1, RPMPerKey: 1}, be)
	mr.Close()
	for i := 0; i < 3; i++ {
		tk, rej := l.Acquire(context.Background(), "k", KeyLimits{})
		if rej != nil {
			t.Fatalf("rejected while the backend is down: %+v", rej)
		}
		tk.Release(0)
	}
	if l.BackendErrors() == 0 {
		t.Fatalf("backend errors were not counted")
	}
}

func BenchmarkLimiterAcquireReleaseRedis(b *testing.B) {
	mr := miniredis.RunT(b)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	be, err := NewRedis(rdb, RedisOptions{})
	if err != nil {
		b.Fatal(err)
	}
	l := New(Options{MaxParallelPerKey: 1 << 20, RPMPerKey: 1 << 40, TPMPerKey: 1 << 40}, be)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tk, rej := l.Acquire(ctx, "k", KeyLimits{})
		if rej != nil {
			b.Fatalf("rejected: %+v", rej)
		}
		tk.Release(10)
	}
}
