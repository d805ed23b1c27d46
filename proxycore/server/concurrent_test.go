package server

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// TestConcurrentMixedTraffic runs many requests at once over every client x upstream pair, streaming and
// not, so that -race sees the codecs, the router and the relay shared between requests.
func TestConcurrentMixedTraffic(t *testing.T) {
	m := newXMatrix(t, "")
	for _, u := range m.ups {
		u.up.SetDefault(proxytest.Reply{Text: "concurrent answer", StreamChunks: 1})
	}
	clients := []string{"chat", "responses", "claude", "gemini", "completions"}
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := 0; i < 3; i++ {
		for _, cl := range clients {
			for _, u := range m.ups {
				for _, stream := range []bool{false, true} {
					wg.Add(1)
					go func(cl string, u *xUpstream, stream bool) {
						defer wg.Done()
						rq := rawRequest(cl, u.model, stream)
						req, _ := http.NewRequest("POST", m.p.URL+rq.path, strings.NewReader(rq.body))
						req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
						resp, err := http.DefaultClient.Do(req) // not p.do: t.Fatal belongs to the test goroutine
						if err != nil {
							errs <- cl + " -> " + u.name + ": " + err.Error()
							return
						}
						body, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), "concurrent answer") {
							errs <- cl + " -> " + u.name + ": " + resp.Status + " " + string(body)
						}
					}(cl, u, stream)
				}
			}
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
