package cache

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

func jsonEntry(body string) Entry {
	return Entry{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func keysPresent(c *Cache, keys ...string) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := map[string]bool{}
	for _, k := range keys {
		_, got[k] = c.items[k]
	}
	return got
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	tests := []struct {
		name    string
		touch   []string // keys read after a, b, c are stored
		evicted string
	}{
		{"no reads: oldest goes", nil, "a"},
		{"read a: b goes", []string{"a"}, "b"},
		{"read a then b: c goes", []string{"a", "b"}, "c"},
		{"re-set a: b goes", []string{"set:a"}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := New(Options{MaxEntries: 3, Clock: clock.NewFake(time.Time{})})
			for _, k := range []string{"a", "b", "c"} {
				c.Set(ctx, k, jsonEntry(`{"k":"`+k+`"}`))
			}
			for _, k := range tc.touch {
				if len(k) > 4 && k[:4] == "set:" {
					c.Set(ctx, k[4:], jsonEntry(`{}`))
				} else if _, ok := c.Get(ctx, k); !ok {
					t.Fatalf("Get(%q) missed", k)
				}
			}
			c.Set(ctx, "d", jsonEntry(`{"k":"d"}`))
			present := keysPresent(c, "a", "b", "c", "d")
			for k, ok := range present {
				if want := k != tc.evicted; ok != want {
					t.Errorf("key %q present = %v, want %v", k, ok, want)
				}
			}
			if s := c.Stats(); s.Evictions != 1 || s.Entries != 3 {
				t.Errorf("stats = %+v, want 1 eviction and 3 entries", s)
			}
		})
	}
}

func TestTTLExpiry(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	c := New(Options{TTL: 30 * time.Second, Clock: clk})
	ctx := context.Background()
	c.Set(ctx, "k", jsonEntry(`{"x":1}`))
	clk.Advance(30*time.Second - time.Nanosecond)
	e, ok := c.Get(ctx, "k")
	if !ok || string(e.Body) != `{"x":1}` || e.Status != 200 {
		t.Fatalf("Get before TTL = %+v, %v", e, ok)
	}
	clk.Advance(time.Nanosecond)
	if _, ok := c.Get(ctx, "k"); ok {
		t.Fatalf("entry served at its TTL")
	}
	s := c.Stats()
	if s.Hits != 1 || s.Misses != 1 || s.Expired != 1 || s.Entries != 0 || s.Bytes != 0 {
		t.Fatalf("stats = %+v, want 1 hit, 1 miss, 1 expired, empty", s)
	}
}

func TestByteBound(t *testing.T) {
	ctx := context.Background()
	body := make([]byte, 1000)
	for i := range body {
		body[i] = 'x'
	}
	one := int64(1+len(body)+len("Content-Type")+len("application/json")) + entryOverhead
	c := New(Options{MaxBytes: 2*one + one/2, Clock: clock.NewFake(time.Time{})})
	for _, k := range []string{"a", "b", "c"} {
		c.Set(ctx, k, Entry{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
	}
	s := c.Stats()
	if s.Entries != 2 || s.Bytes != 2*one || s.Evictions != 1 {
		t.Fatalf("stats = %+v, want 2 entries of %d bytes and 1 eviction", s, one)
	}
	if p := keysPresent(c, "a", "b", "c"); p["a"] || !p["b"] || !p["c"] {
		t.Fatalf("present = %v, want a evicted", p)
	}
	// An entry bigger than the whole cache is refused and does not flush the others.
	c.Set(ctx, "huge", Entry{Status: 200, Body: make([]byte, 3*one)})
	if p := keysPresent(c, "b", "c", "huge"); p["huge"] || !p["b"] || !p["c"] {
		t.Fatalf("present = %v after oversized set", p)
	}
	// Replacing an entry accounts for the size difference.
	c.Set(ctx, "b", jsonEntry(`{}`))
	if got, want := c.Stats().Bytes, one+int64(1+2+len("Content-Type")+len("application/json"))+entryOverhead; got != want {
		t.Fatalf("bytes after replace = %d, want %d", got, want)
	}
}

func TestSetKeepsBodyAndFiltersHeaders(t *testing.T) {
	ctx := context.Background()
	c := New(Options{})
	body := make([]byte, 0, 64)
	body = append(body, `{"a":1}`...)
	h := http.Header{
		"Content-Type":          {"application/json"},
		"Set-Cookie":            {"s=1"},
		"X-Request-Id":          {"req_1"},
		"Anthropic-Ratelimit-X": {"5"},
	}
	c.Set(ctx, "k", Entry{Status: 201, Header: h, Body: body})
	e, ok := c.Get(ctx, "k")
	if !ok {
		t.Fatal("miss")
	}
	if string(e.Body) != `{"a":1}` || &e.Body[0] != &body[0] {
		t.Fatalf("body = %s, want the caller's buffer kept as it is", e.Body)
	}
	// A reader appending to the entry's body gets a copy, not the caller's spare capacity.
	_ = append(e.Body, "tail"...)
	if string(body[:cap(body)][len(body):len(body)+4]) == "tail" {
		t.Fatal("an append to the entry's body wrote into the caller's buffer")
	}
	if len(e.Header) != 1 || e.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("header = %v, want only Content-Type", e.Header)
	}
	if e.Status != 201 || e.StoredAt.IsZero() {
		t.Fatalf("entry = %+v", e)
	}
	// Less common headers are filtered into a header of their own.
	c.Set(ctx, "k2", Entry{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}, "Date": {"x"}}, Body: body})
	if e, _ := c.Get(ctx, "k2"); len(e.Header) != 2 || e.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("header = %v, want Content-Type and Content-Encoding", e.Header)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New(Options{MaxEntries: 50})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := strconv.Itoa((g*7 + i) % 80)
				if e, ok := c.Get(ctx, k); ok && string(e.Body) != `{"k":"`+k+`"}` {
					t.Errorf("key %s holds %s", k, e.Body)
					return
				}
				c.Set(ctx, k, jsonEntry(`{"k":"`+k+`"}`))
			}
		}(g)
	}
	wg.Wait()
	s := c.Stats()
	if s.Entries > 50 || s.Hits+s.Misses != 16*500 {
		t.Fatalf("stats = %+v", s)
	}
}

func BenchmarkCacheGet(b *testing.B) {
	c := New(Options{MaxEntries: 10000})
	ctx := context.Background()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%064d", i)
		c.Set(ctx, keys[i], jsonEntry(`{"id":"chatcmpl-1","choices":[]}`))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Get(ctx, keys[i%len(keys)]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

func BenchmarkCacheSet(b *testing.B) {
	c := New(Options{MaxEntries: 1000})
	ctx := context.Background()
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("%064d", i)
	}
	e := jsonEntry(string(make1KBody()))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Set(ctx, keys[i%len(keys)], e)
		i++
	}
}
