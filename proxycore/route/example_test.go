package route_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/route"
)

// Example shows the request loop a handler runs: resolve, pick, call, record, retry on another
// credential, and answer 429 with a Retry-After when everything cools down.
func Example() {
	catalog := route.NewCatalog([]route.Entry{
		{CredentialID: "claude-code:a@x.com", Provider: "claude-code", Model: "claude-sonnet-4-5"},
		{CredentialID: "key:anthropic-1", Provider: "anthropic", Model: "claude-sonnet-4-5"},
	}, map[string]string{"sonnet": "claude-sonnet-4-5"})

	fake := clock.NewFake(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	opts := route.DefaultOptions()
	opts.Clock = fake
	router, err := route.NewRouter(opts)
	if err != nil {
		panic(err)
	}

	// A stand-in for the provider executor: the subscription is rate limited, the API key works.
	upstream := func(e route.Entry) (int, http.Header) {
		if e.Provider == "claude-code" {
			return 429, http.Header{"Retry-After": {"120"}}
		}
		return 200, nil
	}

	cands, model, _ := catalog.Resolve("sonnet")
	tried := map[string]bool{}
	for {
		e, ok := router.Pick(cands, func(id string) bool { return tried[id] })
		if !ok {
			if when, ok := router.EarliestRecovery(cands); ok {
				fmt.Println("429, retry after", when.Sub(fake.Now()))
			}
			break
		}
		tried[e.CredentialID] = true
		a := router.Begin(e)
		status, h := upstream(e)
		o := route.Outcome{Status: status}
		if hint, ok := route.ParseHint(status, h, nil, fake.Now()); ok {
			o.CooldownUntil, o.CooldownExplicit = hint.Until, hint.Explicit
		}
		router.End(a, o)
		fmt.Println(model, "via", e.CredentialID, "->", status)
		if status == 200 {
			break
		}
	}
	// The next request skips the cooling subscription.
	e, _ := router.Pick(cands, nil)
	fmt.Println("next:", e.CredentialID)
	// When the key is rate limited too (no hint: the default 30 s), nothing is left to pick.
	router.End(router.Begin(e), route.Outcome{Status: 429})
	if _, ok := router.Pick(cands, nil); !ok {
		when, _ := router.EarliestRecovery(cands)
		fmt.Println("all cooling down; Retry-After:", when.Sub(fake.Now()))
	}
	// Output:
	// claude-sonnet-4-5 via claude-code:a@x.com -> 429
	// claude-sonnet-4-5 via key:anthropic-1 -> 200
	// next: key:anthropic-1
	// all cooling down; Retry-After: 30s
}
