package provider

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/h1"
)

// Transports hands out shared upstream transports, one per proxy URL, so that every credential behind the same
// proxy reuses one connection pool. The pool is sized for many concurrent coding agents: a small idle pool
// makes a busy proxy re-dial constantly (measured on a peer: 12% of its CPU).
//
// Direct plain-http upstreams (local model servers) go through h1, which writes and reads on the request's
// own goroutine; https (with HTTP/2 where offered) and proxied upstreams go through net/http.
type Transports struct {
	mu    sync.Mutex // guards byURL
	byURL map[string]http.RoundTripper
}

// NewTransports returns an empty transport cache.
func NewTransports() *Transports {
	return &Transports{byURL: make(map[string]http.RoundTripper)}
}

// Get returns the transport for proxyURL ("" = direct; http, https, socks5 and socks5h are accepted).
func (t *Transports) Get(proxyURL string) (http.RoundTripper, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.byURL[proxyURL]; ok {
		return tr, nil
	}
	tr, err := newTransport(proxyURL)
	if err != nil {
		return nil, err
	}
	t.byURL[proxyURL] = tr
	return tr, nil
}

// CloseIdle closes idle connections of every transport (used on shutdown and config reload).
func (t *Transports) CloseIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.byURL {
		if ci, ok := tr.(interface{ CloseIdleConnections() }); ok {
			ci.CloseIdleConnections()
		}
	}
}

var dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}

func newTransport(proxyURL string) (http.RoundTripper, error) {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       120 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		ReadBufferSize:        32 << 10,
		WriteBufferSize:       32 << 10,
	}
	if proxyURL != "" {
		u, err := url.Parse(proxyURL)
		if err != nil {
			return nil, fmt.Errorf("proxy-url: %w", err)
		}
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, fmt.Errorf("proxy-url: scheme %q is not supported (use http, https, socks5 or socks5h)", u.Scheme)
		}
		tr.Proxy = http.ProxyURL(u)
		return tr, nil
	}
	return &h1.Transport{Fallback: tr, DialContext: dialer.DialContext, MaxIdlePerHost: tr.MaxIdleConnsPerHost, IdleTimeout: tr.IdleConnTimeout}, nil
}
