package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// newTransport returns a Transport whose fallback is a plain net/http transport.
func newTransport(t *testing.T) *Transport {
	t.Helper()
	tr := &Transport{Fallback: &http.Transport{}}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// countingServer is an httptest server that counts the TCP connections it accepted.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func post(t *testing.T, tr http.RoundTripper, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, string(b)
}

func TestRoundTripReusesTheConnection(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Len", fmt.Sprint(len(b)))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"ct":%q,"body":%q}`, r.URL.RequestURI(), r.Header.Get("Content-Type"), b)
	})
	tr := newTransport(t)
	for i := 0; i < 5; i++ {
		resp, body := post(t, tr, srv.URL+"/v1/chat?x=1", fmt.Sprintf(`{"n":%d}`, i))
		if resp.StatusCode != 200 || resp.Header.Get("X-Echo-Len") != fmt.Sprint(len(fmt.Sprintf(`{"n":%d}`, i))) {
			t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
		}
		want := fmt.Sprintf(`{"path":"/v1/chat?x=1","ct":"application/json","body":"{\"n\":%d}"}`, i)
		if body != want {
			t.Fatalf("body %s, want %s", body, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("five sequential requests used %d connections, want 1", n)
	}
}

func TestStreamedBodyArrivesEventByEvent(t *testing.T) {
	next := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			<-next // the client must have read this event before the server writes the next
		}
	})
	tr := newTransport(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		_, _ = br.ReadString('\n')
		next <- struct{}{}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the last event: %q, %v", rest, err)
	}
	if n := tr.idleCount(hostPort(req)); n != 1 {
		t.Fatalf("a chunked body read to its end left %d idle connections, want 1", n)
	}
}

// rawServer accepts connections and runs handle on each; it returns host:port.
func rawServer(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String(), &accepted
}

// readRequest reads one request and its body from br.
func readRequest(br *bufio.Reader) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(req.Body)
	return req, b, err
}

func TestStaleConnectionIsReplacedAndTheRequestSentAgain(t *testing.T) {
	// The server answers one request per connection and then closes it without saying so (no Connection:
	// close), as a server whose keep-alive timer fired does. Each request after the first finds a dead pooled
	// connection and must still succeed, with its body intact.
	var bodies sync.Map
	addr, accepted := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, b, err := readRequest(br)
		if err != nil {
			return
		}
		bodies.Store(string(b), true)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.URL.Path), req.URL.Path)
	})
	tr := newTransport(t)
	for i := 0; i < 3; i++ {
		_, body := post(t, tr, "http://"+addr+"/ok", fmt.Sprintf("body-%d", i))
		if body != "/ok" {
			t.Fatalf("request %d: body %q", i, body)
		}
		if _, ok := bodies.Load(fmt.Sprintf("body-%d", i)); !ok {
			t.Fatalf("request %d: the server never saw its body", i)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("%d connections, want 3 (one per request)", n)
	}
}

func TestStaleConnectionWithoutReplayableBodyFails(t *testing.T) {
	addr, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, _, err := readRequest(br); err == nil {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := &Transport{Fallback: &http.Transport{}}
	// Take the liveness probe out of the picture so the request meets the dead connection itself.
	defer tr.CloseIdleConnections()
	post(t, tr, "http://"+addr+"/", "first")
	c := tr.idle[addr][0]
	tr.idle[addr][0] = &conn{t: tr, key: addr, nc: deadConn{c.nc}, br: c.br, bw: bufio.NewWriter(deadConn{c.nc}), idleAt: c.idleAt}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", onceReader{strings.NewReader("second")})
	req.ContentLength = 6
	if req.GetBody != nil {
		t.Fatal("test setup: the body must not be replayable")
	}
	if resp, err := tr.RoundTrip(req); err == nil {
		t.Fatalf("a request whose body cannot be produced again was sent twice: %d", resp.StatusCode)
	}
}

// onceReader is a body net/http cannot rewind.
type onceReader struct{ r io.Reader }

func (o onceReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// deadConn is a connection the peer has reset: every write fails.
type deadConn struct{ net.Conn }

func (deadConn) Write([]byte) (int, error) {
	return 0, &net.OpError{Op: "write", Err: errors.New("broken pipe")}
}

func TestCancelWhileWaitingForTheAnswer(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := newTransport(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(req)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := tr.idleCount(hostPort(req)); n != 0 {
		t.Fatalf("a cancelled connection was pooled (%d idle)", n)
	}
}

func TestBodyClosedEarlyIsNotPooled(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 100<<10))
	})
	tr := newTransport(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := tr.idleCount(hostPort(req)); n != 0 {
		t.Fatalf("a half-read connection was pooled (%d idle)", n)
	}
	_, body := post(t, tr, srv.URL, "")
	if len(body) != 100<<10 || conns.Load() != 2 {
		t.Fatalf("second request: %d bytes over %d connections", len(body), conns.Load())
	}
}

func TestBodyReadToItsLengthIsPooledOnClose(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		fmt.Fprint(w, "hello")
	})
	tr := newTransport(t)
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "hello" {
			t.Fatalf("%q %v", buf, err)
		}
		resp.Body.Close() // exactly Content-Length bytes read, EOF never seen
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestConnectionCloseAndUnboundedBodies(t *testing.T) {
	addr, accepted := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, _, err := readRequest(br)
		if err != nil {
			return
		}
		switch req.URL.Path {
		case "/close":
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
		case "/unbounded": // no length, no chunking: the body ends when the connection does
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\n\r\nuntil the end")
		}
	})
	tr := newTransport(t)
	for _, p := range []string{"/close", "/unbounded"} {
		resp, body := post(t, tr, "http://"+addr+p, "")
		if resp.StatusCode != 200 || (p == "/close" && body != "ok") || (p == "/unbounded" && body != "until the end") {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, body)
		}
		if n := tr.idleCount(addr); n != 0 {
			t.Fatalf("%s: a connection the server closes was pooled", p)
		}
	}
	if accepted.Load() != 2 {
		t.Fatalf("%d connections, want 2", accepted.Load())
	}
}

func TestInterimResponsesAreSkipped(t *testing.T) {
	addr, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			fmt.Fprint(c, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone")
		}
	})
	tr := newTransport(t)
	resp, body := post(t, tr, "http://"+addr+"/", "{}")
	if resp.StatusCode != 201 || body != "done" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

func TestBodilessResponsesFreeTheConnection(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Length", "42")
	})
	tr := newTransport(t)
	for _, c := range []struct{ method, path string }{{"HEAD", "/"}, {"GET", "/204"}, {"HEAD", "/"}} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
			t.Fatalf("%s %s: body %q", c.method, c.path, b)
		}
		resp.Body.Close()
	}
	if conns.Load() != 1 {
		t.Fatalf("%d connections, want 1", conns.Load())
	}
}

func TestEarlyAnswerWhileTheBodyIsStillBeingSent(t *testing.T) {
	// The server rejects an oversized upload after the head, without reading the body, and closes.
	addr, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		fmt.Fprint(c, "HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big!")
		c.(*net.TCPConn).CloseWrite()
		// Reset rather than drain: the client's pending writes fail.
		c.(*net.TCPConn).SetLinger(0)
	})
	tr := newTransport(t)
	big := bytes.Repeat([]byte("x"), 8<<20)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/upload", bytes.NewReader(big))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		// The reset can reach the client before it reads the answer; what must not happen is a hang or a
		// pooled connection.
		if tr.idleCount(addr) != 0 {
			t.Fatal("a failed connection was pooled")
		}
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || string(b) != "too big!" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
	if tr.idleCount(addr) != 0 {
		t.Fatal("a connection the server closed was pooled")
	}
}

func TestHTTPSAndProxiedRequestsUseTheFallback(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto)
	}))
	defer srv.Close()
	tr := &Transport{Fallback: srv.Client().Transport}
	defer tr.CloseIdleConnections()
	resp, body := post(t, tr, srv.URL, "")
	if resp.StatusCode != 200 || body != "HTTP/1.1" || resp.TLS == nil {
		t.Fatalf("%d %q tls=%v", resp.StatusCode, body, resp.TLS != nil)
	}
	if len(tr.idle) != 0 {
		t.Fatal("an https request went through the inline pool")
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	req.Header.Set("Expect", "100-continue")
	if inline(req) {
		t.Fatal("Expect: 100-continue must go to the fallback")
	}
	req.Header.Del("Expect")
	req.Header.Set("Upgrade", "websocket")
	if inline(req) {
		t.Fatal("an upgrade must go to the fallback")
	}
}

func TestDialErrorIsReturned(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	tr := newTransport(t)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader("x"))
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want connection refused", err)
	}
}

func TestIdlePoolIsBounded(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	tr := &Transport{Fallback: &http.Transport{}, MaxIdlePerHost: 2}
	defer tr.CloseIdleConnections()
	key := strings.TrimPrefix(srv.URL, "http://")
	var resps []*http.Response
	for i := 0; i < 4; i++ { // four bodies open at once: four connections
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, r := range resps {
		_, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	if n := tr.idleCount(key); n != 2 {
		t.Fatalf("%d idle, want the bound 2", n)
	}
	tr.CloseIdleConnections()
	if n := tr.idleCount(key); n != 0 {
		t.Fatalf("%d idle after CloseIdleConnections", n)
	}
}

func TestConcurrentRequests(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	tr := newTransport(t)
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				want := fmt.Sprintf("g%d-%d-%s", g, i, strings.Repeat("y", i*100))
				resp, err := client.Post(srv.URL, "text/plain", strings.NewReader(want))
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(got) != want {
					errs <- fmt.Errorf("got %d bytes (%v), want %d", len(got), err, len(want))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := conns.Load(); n > 16 {
		t.Fatalf("%d connections for 16 workers: connections were not reused", n)
	}
}
