package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// RedisOptions configures a Redis store.
type RedisOptions struct {
	// Prefix starts every key; empty means "cliproxy:cache:".
	Prefix string
	// TTL is the entry lifetime, enforced by Redis expiry; zero means DefaultTTL.
	TTL time.Duration
	// MaxBytes skips entries larger than this; zero means DefaultMaxBytes / 64. Total size and
	// eviction order are Redis's job (maxmemory with an LRU policy).
	MaxBytes int64
	// Clock stamps entries and double-checks their age; nil means the system clock.
	Clock clock.Clock
	// Logger receives Redis failures (which read as misses); nil discards them.
	Logger *slog.Logger
}

// Redis is a Store shared by every instance that points at the same Redis server.
type Redis struct {
	rdb      redis.Cmdable
	prefix   string
	ttl      time.Duration
	maxBytes int64
	clock    clock.Clock
	log      *slog.Logger

	hits, misses, errs atomic.Int64
}

// redisEntry is the stored form of an Entry.
type redisEntry struct {
	Status   int         `json:"s"`
	Header   http.Header `json:"h,omitempty"`
	Body     []byte      `json:"b"`
	StoredAt int64       `json:"t"` // Unix nanoseconds
}

// NewRedis returns a Redis-backed Store over rdb.
func NewRedis(rdb redis.Cmdable, opts RedisOptions) (*Redis, error) {
	if rdb == nil {
		return nil, errors.New("redis cache: nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = "cliproxy:cache:"
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes / 64
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Redis{rdb: rdb, prefix: opts.Prefix, ttl: opts.TTL, maxBytes: opts.MaxBytes, clock: clock.Or(opts.Clock), log: log}, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) (Entry, bool) {
	raw, err := r.rdb.Get(ctx, r.prefix+key).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			r.fail("get", err)
		}
		r.misses.Add(1)
		return Entry{}, false
	}
	var re redisEntry
	if err := json.Unmarshal(raw, &re); err != nil {
		r.fail("decode", err)
		r.misses.Add(1)
		return Entry{}, false
	}
	e := Entry{Status: re.Status, Header: re.Header, Body: re.Body, StoredAt: time.Unix(0, re.StoredAt)}
	// Redis expiry is the main TTL; this guards against clock-skewed or persisted-without-TTL keys.
	if r.clock.Now().Sub(e.StoredAt) >= r.ttl {
		r.misses.Add(1)
		return Entry{}, false
	}
	r.hits.Add(1)
	return e, true
}

// Set implements Store. Entries larger than MaxBytes are skipped.
func (r *Redis) Set(ctx context.Context, key string, e Entry) {
	if int64(len(e.Body)) > r.maxBytes {
		return
	}
	if e.StoredAt.IsZero() {
		e.StoredAt = r.clock.Now()
	}
	raw, err := json.Marshal(redisEntry{Status: e.Status, Header: FilterHeader(e.Header), Body: e.Body, StoredAt: e.StoredAt.UnixNano()})
	if err != nil {
		r.fail("encode", err)
		return
	}
	if err := r.rdb.Set(ctx, r.prefix+key, raw, r.ttl).Err(); err != nil {
		r.fail("set", err)
	}
}

// Stats reports hits and misses; Entries, Bytes and Evictions are Redis's and stay zero here.
func (r *Redis) Stats() Stats {
	return Stats{Hits: r.hits.Load(), Misses: r.misses.Load()}
}

// Errors reports how many Redis calls failed.
func (r *Redis) Errors() int64 { return r.errs.Load() }

func (r *Redis) fail(op string, err error) {
	r.errs.Add(1)
	r.log.Warn("response cache redis failure; treating as miss", "op", op, "err", fmt.Errorf("redis cache %s: %w", op, err))
}
