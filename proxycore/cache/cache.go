// Package cache stores complete, non-streaming 2xx JSON responses so that a repeated identical request
// is answered without calling the upstream. Entries are keyed by Key (client principal, path and the
// canonical request body) and live in a bounded in-memory LRU with a TTL (Cache) or in Redis (Redis),
// both behind the two-method Store interface.
package cache

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

// Defaults used when Options leaves a field zero (they match config.example.toml [cache]).
const (
	DefaultMaxEntries = 1000
	DefaultMaxBytes   = 64 << 20
	DefaultTTL        = 5 * time.Minute
)

// entryOverhead approximates the bookkeeping bytes of one entry (node, map slot, header map) so that
// many tiny entries still count against MaxBytes.
const entryOverhead = 128

// Entry is one cached response. Its Body and Header are shared by every reader and must not be changed.
type Entry struct {
	Status   int
	Header   http.Header // only SafeHeaders
	Body     []byte
	StoredAt time.Time
}

// Store is a response cache. Implementations are safe for concurrent use; failures read as misses.
type Store interface {
	// Get returns the live entry under key.
	Get(ctx context.Context, key string) (Entry, bool)
	// Set stores e under key, replacing any previous entry. It keeps only the headers FilterHeader
	// keeps and does not hold on to e.Header. It may keep e.Body itself: the caller must not change it
	// afterwards.
	Set(ctx context.Context, key string, e Entry)
}

var (
	_ Store = (*Cache)(nil)
	_ Store = (*Redis)(nil)
)

// Stats are a store's counters since it was created.
type Stats struct {
	Hits      int64
	Misses    int64
	Evictions int64 // entries dropped to respect MaxEntries or MaxBytes
	Expired   int64 // entries dropped because their TTL passed
	Entries   int64
	Bytes     int64
}

// FilterHeader returns a copy of h holding only the headers that describe the body (Content-Type,
// Content-Language, Content-Encoding). Everything else (request ids, rate-limit state, cookies, dates)
// belongs to the original response only. The result must not be changed: the usual answer, JSON and
// nothing else, shares one header.
func FilterHeader(h http.Header) http.Header {
	if ct := h["Content-Type"]; len(ct) == 1 && len(h["Content-Language"]) == 0 && len(h["Content-Encoding"]) == 0 {
		for _, common := range commonHeaders {
			if ct[0] == common["Content-Type"][0] {
				return common
			}
		}
	}
	safe := [...]string{"Content-Type", "Content-Language", "Content-Encoding"}
	out := make(http.Header, len(safe))
	for _, name := range safe {
		if v := h.Values(name); len(v) > 0 {
			out[name] = append([]string(nil), v...)
		}
	}
	return out
}

// commonHeaders are the filtered headers of most answers, shared by their entries.
var commonHeaders = []http.Header{
	{"Content-Type": {"application/json"}},
	{"Content-Type": {"application/json; charset=utf-8"}},
}

// Options configures a memory Cache; zero fields take the defaults.
type Options struct {
	MaxEntries int
	MaxBytes   int64
	TTL        time.Duration
	// Clock tells the time; nil means the system clock.
	Clock clock.Clock
}

// Cache is an in-memory LRU with a TTL, bounded by entry count and bytes. It is safe for concurrent use.
type Cache struct {
	maxEntries int
	maxBytes   int64
	ttl        time.Duration
	clock      clock.Clock

	mu    sync.Mutex       // guards items, head, bytes
	items map[string]*node // guarded by mu
	head  node             // guarded by mu; sentinel: head.next is most recent, head.prev least
	bytes int64            // guarded by mu

	hits, misses, evictions, expired atomic.Int64
}

type node struct {
	key        string
	entry      Entry
	size       int64
	prev, next *node
}

// New returns an empty memory cache.
func New(opts Options) *Cache {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	c := &Cache{
		maxEntries: opts.MaxEntries,
		maxBytes:   opts.MaxBytes,
		ttl:        opts.TTL,
		clock:      clock.Or(opts.Clock),
		items:      make(map[string]*node),
	}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

// Get implements Store. A hit becomes the most recently used entry; an expired entry is dropped.
func (c *Cache) Get(_ context.Context, key string) (Entry, bool) {
	now := c.clock.Now()
	c.mu.Lock()
	n, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		c.misses.Add(1)
		return Entry{}, false
	}
	if now.Sub(n.entry.StoredAt) >= c.ttl {
		c.remove(n)
		c.mu.Unlock()
		c.expired.Add(1)
		c.misses.Add(1)
		return Entry{}, false
	}
	c.unlink(n)
	c.pushFront(n)
	e := n.entry
	c.mu.Unlock()
	c.hits.Add(1)
	return e, true
}

// Set implements Store. It keeps e.Body as it is (the server hands over a buffer of its own, and copying
// every answer cost as much as the rest of Set) and only the safe headers; StoredAt defaults to now.
// An entry larger than MaxBytes on its own is not stored.
func (c *Cache) Set(_ context.Context, key string, e Entry) {
	if e.StoredAt.IsZero() {
		e.StoredAt = c.clock.Now()
	}
	e.Body = e.Body[:len(e.Body):len(e.Body)] // an append by a reader must not write into the caller's spare capacity
	e.Header = FilterHeader(e.Header)
	size := int64(len(key)+len(e.Body)+headerSize(e.Header)) + entryOverhead

	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[key]; ok {
		c.remove(old)
	}
	if size > c.maxBytes {
		return
	}
	n := &node{key: key, entry: e, size: size}
	c.items[key] = n
	c.pushFront(n)
	c.bytes += size
	for len(c.items) > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.head.prev)
		c.evictions.Add(1)
	}
}

// Stats reports the counters and current size.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	entries, bytes := int64(len(c.items)), c.bytes
	c.mu.Unlock()
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Expired: c.expired.Load(),
		Entries: entries, Bytes: bytes,
	}
}

// Len reports the number of stored entries, expired ones included until they are touched.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (c *Cache) pushFront(n *node) {
	n.prev, n.next = &c.head, c.head.next
	c.head.next.prev = n
	c.head.next = n
}

func (c *Cache) unlink(n *node) {
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

func (c *Cache) remove(n *node) {
	c.unlink(n)
	delete(c.items, n.key)
	c.bytes -= n.size
}

func headerSize(h http.Header) int {
	s := 0
	for k, vs := range h {
		s += len(k)
		for _, v := range vs {
			s += len(v)
		}
	}
	return s
}
