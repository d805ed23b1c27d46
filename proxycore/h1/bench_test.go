package h1

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRoundTrip compares the inline transport with net/http's on a loopback upstream answering ~1 KB.
// Both client and server run in this process, so ns/op includes the server's work too.
func BenchmarkRoundTrip(b *testing.B) {
	answer := bytes.Repeat([]byte("x"), 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	payload := bytes.Repeat([]byte("y"), 1024)
	std := &http.Transport{MaxIdleConnsPerHost: 64}
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{{"net-http", std}, {"inline", &Transport{Fallback: std}}} {
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: c.rt}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 4096)
				for pb.Next() {
					resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(payload))
					if err != nil {
						b.Fatal(err)
					}
					for {
						if _, err := resp.Body.Read(buf); err != nil {
							break
						}
					}
					resp.Body.Close()
				}
			})
		})
	}
}
