package limit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// takeSrc admits while the counter is below the cap, then adds. Doing the check and the increment
// in one script makes them atomic across instances. KEYS[1] counter; ARGV: n, max (<= 0: no cap),
// ttl in ms (set only when the counter has none, so the window's expiry is not pushed back).
const takeSrc = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
local max = tonumber(ARGV[2])
if max > 0 and v >= max then
  return {0, v}
end
v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, v}
`

// slotSrc keeps parallel slots as a sorted set of leases scored by their expiry time. Expired leases
// (their holder crashed or lost the connection) are dropped before counting, so a leak heals after the
// slot TTL even under steady traffic. KEYS[1] set; ARGV: now ms, lease expiry ms, member, max, key ttl ms.
const slotSrc = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local max = tonumber(ARGV[4])
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`

// RedisOptions configures a Redis backend.
type RedisOptions struct {
	// Prefix starts every key; empty means "cliproxy:rl:".
	Prefix string
	// Instance names this process in slot leases; empty means a random id.
	Instance string
	// Clock scores slot leases; nil means the system clock. Instances should run NTP-synced clocks.
	Clock clock.Clock
}

// Redis is a Backend in Redis, shared by every instance pointing at the same server. Client keys are
// hashed before they become Redis key names, so secrets never appear in Redis.
type Redis struct {
	rdb      redis.Cmdable
	prefix   string
	instance string
	clock    clock.Clock
	take     *redis.Script
	slot     *redis.Script
}

// NewRedis returns a Redis backend over rdb (a *redis.Client, ClusterClient or Ring).
func NewRedis(rdb redis.Cmdable, opts RedisOptions) (*Redis, error) {
	if rdb == nil {
		return nil, fmt.Errorf("redis rate-limit backend: nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = "cliproxy:rl:"
	}
	if opts.Instance == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("redis rate-limit backend: instance id: %w", err)
		}
		opts.Instance = hex.EncodeToString(b[:])
	}
	return &Redis{
		rdb: rdb, prefix: opts.Prefix, instance: opts.Instance, clock: clock.Or(opts.Clock),
		take: redis.NewScript(takeSrc), slot: redis.NewScript(slotSrc),
	}, nil
}

func (r *Redis) name(c CounterKey) string {
	var kind string
	switch c.Kind {
	case KindRequests:
		kind = "rpm"
	case KindTokens:
		kind = "tpm"
	case KindParallel:
		kind = "par"
	case KindGlobalParallel:
		return r.prefix + "par:global"
	default:
		kind = "k" + strconv.Itoa(int(c.Kind))
	}
	sum := sha256.Sum256([]byte(c.Key))
	name := r.prefix + kind + ":" + hex.EncodeToString(sum[:16])
	if c.Window != 0 {
		name += ":" + strconv.FormatInt(c.Window/int64(time.Second), 10)
	}
	return name
}

// Take implements Backend with one atomic script call.
func (r *Redis) Take(ctx context.Context, c CounterKey, n, max int64, ttl time.Duration) (bool, int64, error) {
	res, err := r.take.Run(ctx, r.rdb, []string{r.name(c)}, n, max, ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redis take: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redis take: unexpected reply %v", res)
	}
	return res[0] == 1, res[1], nil
}

func (r *Redis) member(lease uint64) string {
	return r.instance + ":" + strconv.FormatUint(lease, 10)
}

// AcquireSlot implements Backend: the slot is a lease that expires after ttl unless released.
func (r *Redis) AcquireSlot(ctx context.Context, c CounterKey, lease uint64, max int64, ttl time.Duration) (bool, error) {
	now := r.clock.Now().UnixMilli()
	ok, err := r.slot.Run(ctx, r.rdb, []string{r.name(c)},
		now, now+ttl.Milliseconds(), r.member(lease), max, ttl.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("redis acquire slot: %w", err)
	}
	return ok == 1, nil
}

// ReleaseSlot implements Backend.
func (r *Redis) ReleaseSlot(ctx context.Context, c CounterKey, lease uint64) error {
	if err := r.rdb.ZRem(ctx, r.name(c), r.member(lease)).Err(); err != nil {
		return fmt.Errorf("redis release slot: %w", err)
	}
	return nil
}
