package limit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Kind says what a counter counts.
type Kind uint8

// Counter kinds.
const (
	// KindRequests counts requests in a window (RPM).
	KindRequests Kind = iota + 1
	// KindTokens counts tokens in a window (TPM).
	KindTokens
	// KindParallel holds one key's in-flight slots.
	KindParallel
	// KindGlobalParallel holds the in-flight slots of all keys; its Key is empty.
	KindGlobalParallel
)

// CounterKey addresses one counter. It is a comparable value so the memory backend can use it as a map
// key without building a string per call.
type CounterKey struct {
	Kind Kind
	// Key is the client key (or its id); empty for KindGlobalParallel.
	Key string
	// Window is the window start in Unix nanoseconds for window counters, zero for slots.
	Window int64
}

// Backend stores the limiter's counters. Implementations must be safe for concurrent use; a shared
// backend (Redis) makes several Limiters enforce one limit.
type Backend interface {
	// Take admits when max <= 0 or the counter is below max, and then adds n to it. It returns whether it
	// admitted and the counter value afterwards. A counter it creates expires after ttl.
	Take(ctx context.Context, c CounterKey, n, max int64, ttl time.Duration) (admitted bool, value int64, err error)
	// AcquireSlot takes one of max slots of c for the given lease. An unreleased slot expires after ttl
	// in shared backends, so a crashed instance does not leak slots forever.
	AcquireSlot(ctx context.Context, c CounterKey, lease uint64, max int64, ttl time.Duration) (bool, error)
	// ReleaseSlot gives back the slot taken for lease.
	ReleaseSlot(ctx context.Context, c CounterKey, lease uint64) error
}

var (
	_ Backend = (*Memory)(nil)
	_ Backend = (*Redis)(nil)
)

const memShards = 32

// Memory is an in-process Backend: counters in sharded maps, the global slot count in an atomic. Slots
// need no expiry here because they die with the process. The zero value is not usable; call NewMemory.
type Memory struct {
	global atomic.Int64
	shards [memShards]memShard
}

type memShard struct {
	mu      sync.Mutex
	windows map[windowKey]windowVal // guarded by mu
	slots   map[string]int64        // guarded by mu; in-flight count per key, deleted at zero
	swept   int64                   // guarded by mu; newest window seen at the last sweep
	_       [32]byte                // keeps neighbouring shards off one cache line
}

type windowKey struct {
	kind Kind
	key  string
}

// windowVal keeps only the current window per key: a new window resets it in place, so a steady set of
// keys causes no map churn.
type windowVal struct {
	window int64
	n      int64
}

// NewMemory returns an empty memory backend.
func NewMemory() *Memory {
	m := &Memory{}
	for i := range m.shards {
		m.shards[i].windows = make(map[windowKey]windowVal)
		m.shards[i].slots = make(map[string]int64)
	}
	return m
}

func (m *Memory) shard(key string) *memShard {
	// FNV-1a inline: hashing must not allocate on the request path.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &m.shards[h%memShards]
}

// Take implements Backend. Counters of an older window read as zero; ttl is not needed in memory.
func (m *Memory) Take(_ context.Context, c CounterKey, n, max int64, _ time.Duration) (bool, int64, error) {
	s := m.shard(c.Key)
	k := windowKey{kind: c.Kind, key: c.Key}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Window > s.swept {
		s.sweep(c.Window)
	}
	v := s.windows[k]
	if v.window < c.Window {
		v = windowVal{window: c.Window}
	}
	// A late caller from an already-closed window (v.window > c.Window) counts against the newer
	// window, the stricter choice.
	if max > 0 && v.n >= max {
		return false, v.n, nil
	}
	v.n += n
	s.windows[k] = v
	return true, v.n, nil
}

// sweep drops counters of windows older than the previous one, at most once per new window per shard.
func (s *memShard) sweep(win int64) {
	s.swept = win
	for k, v := range s.windows {
		if v.window < win-int64(Window) {
			delete(s.windows, k)
		}
	}
}

// AcquireSlot implements Backend; lease and ttl are unused in memory.
func (m *Memory) AcquireSlot(_ context.Context, c CounterKey, _ uint64, max int64, _ time.Duration) (bool, error) {
	if c.Kind == KindGlobalParallel {
		for {
			cur := m.global.Load()
			if max > 0 && cur >= max {
				return false, nil
			}
			if m.global.CompareAndSwap(cur, cur+1) {
				return true, nil
			}
		}
	}
	s := m.shard(c.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.slots[c.Key]
	if max > 0 && cur >= max {
		return false, nil
	}
	s.slots[c.Key] = cur + 1
	return true, nil
}

// ReleaseSlot implements Backend.
func (m *Memory) ReleaseSlot(_ context.Context, c CounterKey, _ uint64) error {
	if c.Kind == KindGlobalParallel {
		m.global.Add(-1)
		return nil
	}
	s := m.shard(c.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.slots[c.Key]; cur > 1 {
		s.slots[c.Key] = cur - 1
	} else {
		delete(s.slots, c.Key)
	}
	return nil
}

// InFlight reports the slots held for c (for tests and the dashboard).
func (m *Memory) InFlight(c CounterKey) int64 {
	if c.Kind == KindGlobalParallel {
		return m.global.Load()
	}
	s := m.shard(c.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slots[c.Key]
}
