package server

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/pelletier/go-toml/v2"
)

// management serves /v0/management: loopback-only unless allowed, with its own key, and a limit on failed
// attempts per client address so the key cannot be guessed.
type management struct {
	s *Server

	mu       sync.Mutex // guards failures
	failures map[string]*failWindow
}

type failWindow struct {
	start time.Time
	count int
}

const (
	mgmtMaxFailures = 5
	mgmtFailWindow  = time.Minute
)

func newManagement(s *Server) *management {
	return &management{s: s, failures: make(map[string]*failWindow)}
}

// MgmtRoute registers an extra management route (used by gateway features and the app).
type MgmtRoute struct {
	Method  string
	Path    string // below /v0/management
	Handler http.HandlerFunc
}

func (m *management) register(r *mux.Router) {
	sub := r.PathPrefix("/v0/management").Subrouter()
	sub.Use(m.guard)
	sub.HandleFunc("/health", m.handleHealth).Methods(http.MethodGet)
	sub.HandleFunc("/credentials/{id}/reset", m.handleReset).Methods(http.MethodPost)
	sub.HandleFunc("/config", m.handleConfig).Methods(http.MethodGet)
	for _, rt := range m.s.opts.ManagementRoutes() {
		sub.HandleFunc(rt.Path, rt.Handler).Methods(rt.Method)
	}
}

// guard enforces loopback-only access and the management key.
func (m *management) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := m.s.rt.Load()
		if !rt.mgmtOn {
			writeMgmtError(w, http.StatusNotFound, "The management API is off. Set [remote-management] secret-key in the config to turn it on.")
			return
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if !rt.cfg.RemoteManagement.AllowRemote {
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				writeMgmtError(w, http.StatusForbidden, "The management API only answers loopback clients ([remote-management] allow-remote = false).")
				return
			}
		}
		now := m.s.clock.Now()
		if m.blocked(host, now) {
			w.Header().Set("Retry-After", "60")
			writeMgmtError(w, http.StatusTooManyRequests, "Too many failed management key attempts; wait a minute.")
			return
		}
		key := r.Header.Get("X-Management-Key")
		if key == "" {
			if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
				key = strings.TrimSpace(a[7:])
			}
		}
		h := hashKey(key)
		if key == "" || subtle.ConstantTimeCompare(h[:], rt.mgmtKey[:]) != 1 {
			m.fail(host, now)
			writeMgmtError(w, http.StatusUnauthorized, "Missing or wrong management key: send it as 'Authorization: Bearer <key>' or 'X-Management-Key'.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (m *management) blocked(host string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.failures[host]
	if f == nil {
		return false
	}
	if now.Sub(f.start) > mgmtFailWindow {
		delete(m.failures, host)
		return false
	}
	return f.count >= mgmtMaxFailures
}

func (m *management) fail(host string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.failures[host]
	if f == nil || now.Sub(f.start) > mgmtFailWindow {
		f = &failWindow{start: now}
		m.failures[host] = f
	}
	f.count++
}

func (m *management) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"credentials": m.s.router.Snapshot()})
}

func (m *management) handleReset(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if !m.s.router.Reset(id) {
		writeMgmtError(w, http.StatusNotFound, "No credential with id '"+sanitize(id)+"'. GET /v0/management/health lists them.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "reset": true})
}

func (m *management) handleConfig(w http.ResponseWriter, r *http.Request) {
	// The view uses the config file's own key names: the redacted config goes through TOML into a
	// generic tree, then out as JSON.
	red := m.s.rt.Load().cfg.Redacted()
	b, err := toml.Marshal(red)
	if err != nil {
		writeMgmtError(w, http.StatusInternalServerError, "Rendering the configuration failed ("+err.Error()+").")
		return
	}
	var tree map[string]any
	if err := toml.Unmarshal(b, &tree); err != nil {
		writeMgmtError(w, http.StatusInternalServerError, "Rendering the configuration failed ("+err.Error()+").")
		return
	}
	writeJSON(w, http.StatusOK, tree)
}

// WriteJSON writes v as JSON with status code (shared by management handlers).
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeMgmtError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"message": msg, "status": code}})
}
