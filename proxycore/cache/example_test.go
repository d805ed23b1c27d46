package cache_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cliproxy/cliproxy/proxycore/cache"
)

func ExampleKey() {
	a, _ := cache.Key("key-id-1", "/v1/chat/completions", []byte(`{"model":"m","temperature":0.2}`))
	b, _ := cache.Key("key-id-1", "/v1/chat/completions", []byte(`{ "temperature": 0.2, "model": "m" }`))
	fmt.Println(a == b, cache.Cacheable([]byte(`{"model":"m","stream":true}`)))
	// Output: true false
}

func ExampleCache() {
	c := cache.New(cache.Options{MaxEntries: 100})
	ctx := context.Background()
	c.Set(ctx, "k", cache.Entry{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"x"}`)})
	e, ok := c.Get(ctx, "k")
	fmt.Println(ok, e.Status, string(e.Body), c.Stats().Hits)
	// Output: true 200 {"id":"x"} 1
}
