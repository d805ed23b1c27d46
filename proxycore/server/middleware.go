package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/spend"
)

type ctxKey uint8

const principalKey ctxKey = 1

// Principal is the authenticated caller of a request.
type Principal struct {
	KeyID   string // "static-N", "generated", a virtual key id, or "" when auth is off
	Virtual bool   // KeyID names a virtual key
	// Limits of a virtual key (0 = the global defaults).
	RPM, TPM, MaxParallel int
	// Models is the allow-list of a virtual key (empty = all).
	Models []string
	// Key is the virtual key itself (nil for static and generated client keys).
	Key *spend.Key
}

// principalOf returns the caller of r (zero Principal when auth is off).
func principalOf(r *http.Request) *Principal {
	if p, ok := r.Context().Value(principalKey).(*Principal); ok {
		return p
	}
	return &Principal{}
}

// outer wraps the mux with the checks that apply to every route: panic recovery, a request id, and the
// host/origin guard against DNS rebinding and drive-by web pages (DESIGN.md section 6).
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, formatForPath(r.URL.Path), errInternal("The proxy hit an internal error; it was logged. Please retry."))
			}
		}()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		rt := s.rt.Load()
		if !rt.cfg.AllowRemote && !loopbackHost(r.Host) {
			s.writeError(w, formatForPath(r.URL.Path), errForbidden("Host '"+sanitize(r.Host)+"' is not a loopback name; this proxy only answers requests addressed to 127.0.0.1 or localhost (set allow-remote = true to serve other hosts)."))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			if _, ok := rt.origins[strings.TrimRight(origin, "/")]; !ok {
				s.writeError(w, formatForPath(r.URL.Path), errForbidden("Origin '"+sanitize(origin)+"' is not allowed to call this proxy; add it to allowed-origins in the config if you trust that page."))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key, X-Goog-Api-Key, Anthropic-Version, Anthropic-Beta")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if rt.metricsOn && r.URL.Path == rt.metricsPath && r.Method == http.MethodGet {
			s.serveMetrics(w, r, rt)
			return
		}
		if len(rt.passThrough) > 0 {
			if pt := rt.matchPassThrough(r.URL.Path); pt != nil {
				s.authMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.servePassThrough(w, r, rt, pt) })).ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authMiddleware admits callers with a valid client key or virtual key.
func (s *Server) authMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := s.rt.Load()
		key := clientKey(r)
		f := formatForPath(r.URL.Path)
		if key != "" {
			if p, ok := rt.clientKeys[hashKey(key)]; ok {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
				return
			}
			if s.gw.Keys != nil {
				k, err := s.gw.Keys.Authenticate(key)
				if err == nil {
					p := &Principal{KeyID: k.ID, Virtual: true, RPM: k.RPM, TPM: k.TPM, MaxParallel: k.MaxParallel, Key: k}
					next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
					return
				}
				if !isUnknownKey(err) {
					s.writeError(w, f, errUnauthorized("This key was "+keyState(err)+"; create a new one with `cliproxy keys create` or in the tray's Keys tab."))
					return
				}
			}
			if s.gw.StoreError != nil && strings.HasPrefix(key, spend.KeyPrefix) {
				s.writeError(w, f, errUnavailable("Virtual keys cannot be checked while the proxy's database is unavailable ("+
					s.gw.StoreError.Error()+"). Use the proxy's client key meanwhile, or fix the database and restart cliproxy."))
				return
			}
		}
		if !rt.requireKey {
			next.ServeHTTP(w, r)
			return
		}
		if key == "" {
			s.writeError(w, f, errUnauthorized("No API key was sent. Send the proxy's client key as 'Authorization: Bearer <key>', 'x-api-key', 'x-goog-api-key' or '?key='; the tray menu's 'Copy API key' and `cliproxy serve`'s start-up log show it."))
			return
		}
		s.writeError(w, f, errUnauthorized("The API key is not valid for this proxy. Use the client key shown by the tray menu ('Copy API key') or printed by `cliproxy serve`, or a virtual key from `cliproxy keys create`."))
	})
}

// keyState words a virtual key's authentication failure for the caller.
func keyState(err error) string {
	switch {
	case errors.Is(err, spend.ErrRevoked):
		return "revoked"
	case errors.Is(err, spend.ErrExpired):
		return "expired"
	}
	return "refused (" + err.Error() + ")"
}

// clientKey reads the caller's key from any of the places the three APIs put it.
func clientKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			return strings.TrimSpace(a[7:])
		}
	}
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		return k
	}
	if r.URL.RawQuery != "" {
		return r.URL.Query().Get("key")
	}
	return ""
}

// loopbackHost reports whether a Host header names this machine's loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sanitize keeps user-supplied text short and printable before it goes into an error message.
func sanitize(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, formatForPath(r.URL.Path), &llm.Error{Status: http.StatusNotFound, Type: "not_found_error",
		Message: "No such endpoint: " + r.Method + " " + sanitize(r.URL.Path) + ". See the README for the endpoints this proxy serves."})
}

func (s *Server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, formatForPath(r.URL.Path), &llm.Error{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error",
		Message: "Method " + r.Method + " is not allowed on " + sanitize(r.URL.Path) + "."})
}
