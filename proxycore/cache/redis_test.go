package cache

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

func newRedisStore(t *testing.T, addr string, opts RedisOptions) *Redis {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := NewRedis(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRedisStoreSharedAndExpires(t *testing.T) {
	mr := miniredis.RunT(t)
	clk := clock.NewFake(time.Time{})
	opts := RedisOptions{TTL: time.Minute, Clock: clk}
	a := newRedisStore(t, mr.Addr(), opts)
	b := newRedisStore(t, mr.Addr(), opts)
	ctx := context.Background()

	if _, ok := b.Get(ctx, "k"); ok {
		t.Fatal("hit on empty store")
	}
	a.Set(ctx, "k", Entry{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}}, Body: []byte(`{"ok":true}`)})
	e, ok := b.Get(ctx, "k")
	if !ok {
		t.Fatal("instance b missed what a stored")
	}
	if e.Status != 200 || string(e.Body) != `{"ok":true}` || e.Header.Get("Content-Type") != "application/json" || e.Header.Get("X-Request-Id") != "" {
		t.Fatalf("entry = %+v", e)
	}
	if !e.StoredAt.Equal(clk.Now()) {
		t.Fatalf("StoredAt = %v, want %v", e.StoredAt, clk.Now())
	}
	if ttl := mr.TTL("cliproxy:cache:k"); ttl != time.Minute {
		t.Fatalf("redis ttl = %v, want 1m", ttl)
	}
	mr.FastForward(time.Minute)
	if _, ok := b.Get(ctx, "k"); ok {
		t.Fatal("hit after redis expiry")
	}
	if s := b.Stats(); s.Hits != 1 || s.Misses != 2 {
		t.Fatalf("stats = %+v, want 1 hit 2 misses", s)
	}
}

func TestRedisStoreChecksAgeAndSize(t *testing.T) {
	mr := miniredis.RunT(t)
	clk := clock.NewFake(time.Time{})
	s := newRedisStore(t, mr.Addr(), RedisOptions{TTL: time.Minute, MaxBytes: 10, Clock: clk})
	ctx := context.Background()
	s.Set(ctx, "old", Entry{Status: 200, Body: []byte(`{}`), StoredAt: clk.Now().Add(-2 * time.Minute)})
	if _, ok := s.Get(ctx, "old"); ok {
		t.Fatal("served an entry older than the TTL")
	}
	s.Set(ctx, "big", Entry{Status: 200, Body: []byte(`{"too":"large"}`)})
	if mr.Exists("cliproxy:cache:big") {
		t.Fatal("stored an entry over MaxBytes")
	}
}

func TestRedisStoreDownIsMiss(t *testing.T) {
	mr := miniredis.RunT(t)
	s := newRedisStore(t, mr.Addr(), RedisOptions{})
	mr.Close()
	ctx := context.Background()
	s.Set(ctx, "k", Entry{Status: 200, Body: []byte(`{}`)})
	if _, ok := s.Get(ctx, "k"); ok {
		t.Fatal("hit with redis down")
	}
	if s.Errors() != 2 {
		t.Fatalf("errors = %d, want 2", s.Errors())
	}
}
