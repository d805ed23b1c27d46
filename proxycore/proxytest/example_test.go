package proxytest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// A fake is scripted with Enqueue; unscripted requests get the default reply.
func ExampleStartOpenAI() {
	u, err := proxytest.StartOpenAI(proxytest.WithAPIKey("sk-example-key-0001"))
	if err != nil {
		panic(err)
	}
	defer u.Close()
	u.Enqueue(proxytest.Reply{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})

	post := func() *http.Response {
		req, _ := http.NewRequest(http.MethodPost, u.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-example-key-0001")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	first := post()
	fmt.Println(first.StatusCode, first.Header.Get("retry-after"))
	second := post()
	fmt.Println(second.StatusCode, u.Hits())
	// Output:
	// 429 2
	// 200 2
}
