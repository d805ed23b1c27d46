// Package server is the HTTP face of the proxy: routes for the OpenAI, Anthropic and Gemini APIs, the
// middleware chain (recover, request id, host/origin guard, client auth, size limits, guardrail), the
// forwarding loop that routes a request across credentials and fallback models, SSE relaying, health
// endpoints and the management API.
package server

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// Options configures a Server. Config is required; every other field has a working nil default.
type Options struct {
	// Config is the loaded configuration; Reload replaces it later.
	Config *config.Config
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Clock tells the time; nil means the system clock.
	Clock clock.Clock
	// GeneratedKey is the client key made on first run, used when the config has no api-keys.
	GeneratedKey string
	// Recorder receives a record of every finished request (spend, metrics, request log); nil: none.
	Recorder Recorder
	// Accounts supplies executors for subscription (OAuth) accounts; nil: API-key providers only.
	Accounts AccountSource
	// Gateway holds the optional gateway features (virtual keys, limits, cache, metrics, store).
	Gateway Gateway
	// OnCooldown is told when a credential (model "" = all its models) starts cooling down; it must not block.
	OnCooldown func(credentialID, model string, until time.Time)
	// ExtraManagement adds routes under /v0/management (accounts, logins, keys, spend) served by the app.
	ExtraManagement []MgmtRoute
}

// ManagementRoutes returns the extra management routes.
func (o Options) ManagementRoutes() []MgmtRoute { return o.ExtraManagement }

// AccountSource lists the executors of logged-in subscription accounts with the models each serves.
type AccountSource interface {
	Accounts() []Account
}

// Account is one subscription credential ready to route to.
type Account struct {
	Executor provider.Executor
	Models   []config.Model
	Disabled bool
}

// Server is the proxy's HTTP server. It is safe for concurrent use; Reload swaps the configuration without
// dropping requests in flight (each request keeps the runtime it started with).
type Server struct {
	log        *slog.Logger
	clock      clock.Clock
	codecs     *translate.Registry
	router     *route.Router
	transports *provider.Transports
	client     *http.Client
	opts       Options
	gw         Gateway
	handler    http.Handler

	rt atomic.Pointer[runtime]

	randMu sync.Mutex // guards rnd
	rnd    *rand.Rand

	mgmt *management

	gs    *gatewayState
	gwMu  sync.Mutex     // serialises attachGateway
	share *cooldownShare // cooldowns to publish to other instances (shared.go)

	srvMu   sync.Mutex // guards httpSrv and ln
	httpSrv *http.Server
	ln      net.Listener
	ready   atomic.Bool
}

// New builds a server from opts. It validates the configuration's routing parts (strategy, fallback
// chains) and returns an error naming the key when they are wrong.
func New(opts Options) (*Server, error) {
	if opts.Config == nil {
		return nil, errors.New("server: a configuration is required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		log:        log,
		clock:      clock.Or(opts.Clock),
		codecs:     translate.New(),
		transports: provider.NewTransports(),
		opts:       opts,
		gw:         opts.Gateway,
		rnd:        rand.New(rand.NewPCG(seed(), seed())),
		gs:         newGatewayState(),
		share:      newCooldownShare(),
	}
	ro := routerOptions(opts.Config, s.clock, log)
	ro.OnCooldown = func(credentialID, model string, until time.Time) {
		s.gs.metrics.CooldownEntered(credentialID)
		s.share.offer(credentialID, model, until)
		if opts.OnCooldown != nil {
			opts.OnCooldown(credentialID, model, until)
		}
	}
	router, err := route.NewRouter(ro)
	if err != nil {
		return nil, err
	}
	s.router = router
	rt, err := s.buildRuntime(opts.Config)
	if err != nil {
		return nil, err
	}
	s.rt.Store(rt)
	s.mgmt = newManagement(s)
	s.handler = s.routes()
	return s, nil
}

// Router exposes the credential router (health snapshots for the UI and metrics).
func (s *Server) Router() *route.Router { return s.router }

// Config returns the configuration currently in force.
func (s *Server) Config() *config.Config { return s.rt.Load().cfg }

// Reload applies a new configuration. Requests in flight finish with the old one. A new host or port is
// reported in the returned error (ErrListenerChanged) while the rest applies; [health-tracking] takes
// effect at the next start, which is logged.
func (s *Server) Reload(cfg *config.Config) error {
	rt, err := s.buildRuntime(cfg)
	if err != nil {
		return err
	}
	if err := s.router.SetStrategy(cfg.Routing.Strategy); err != nil {
		return err
	}
	s.router.SetHealthRouting(cfg.Routing.HealthAware, cfg.Routing.PreferHealthy)
	old := s.rt.Swap(rt)
	if old != nil && old.cfg.HealthTracking != cfg.HealthTracking {
		s.log.Warn("[health-tracking] changed; the new settings take effect when the proxy restarts")
	}
	if old != nil && (old.cfg.Host != cfg.Host || old.cfg.Port != cfg.Port) {
		return fmt.Errorf("host/port changed to %s: %w", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), ErrListenerChanged)
	}
	return nil
}

// ErrListenerChanged is returned (wrapped) by Reload when host or port changed: everything else is
// applied, and the listener moves only when the caller binds the new address (Listen + Serve again, or a
// restart of `cliproxy serve`).
var ErrListenerChanged = errors.New("restart the listener to serve on the new address")

// RefreshAccounts rebuilds the routing tables after accounts were added, removed or disabled.
func (s *Server) RefreshAccounts() error {
	rt, err := s.buildRuntime(s.rt.Load().cfg)
	if err != nil {
		return err
	}
	s.rt.Store(rt)
	return nil
}

// Handler returns the HTTP handler (used by tests and embedders).
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds host:port from the configuration. Serve must follow.
func (s *Server) Listen() (net.Addr, error) {
	cfg := s.rt.Load().cfg
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w (is another cliproxy or program using port %d? change `port` in the config)", addr, err, cfg.Port)
	}
	s.srvMu.Lock()
	s.ln = ln
	s.srvMu.Unlock()
	return ln.Addr(), nil
}

// Serve serves on the listener bound by Listen until Shutdown. It returns nil after a clean shutdown.
func (s *Server) Serve() error {
	done, err := s.ServeAsync()
	if err != nil {
		return err
	}
	return <-done
}

// ServeAsync starts serving on the listener bound by Listen and returns at once; the channel receives
// Serve's result (nil after a clean shutdown). The listener and the HTTP server are taken before it
// returns, so a Listen and Shutdown that follow (moving to another port) act on this server, never on one
// that has not started yet.
func (s *Server) ServeAsync() (<-chan error, error) {
	s.srvMu.Lock()
	ln := s.ln
	if ln == nil {
		s.srvMu.Unlock()
		return nil, errors.New("server: Listen must be called before Serve")
	}
	s.ln = nil // consumed: a second Serve needs a new Listen
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.httpSrv = srv
	s.srvMu.Unlock()
	s.ready.Store(true)
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	return done, nil
}

// Shutdown stops accepting connections and waits for requests and streams in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.srvMu.Lock()
	srv := s.httpSrv
	s.srvMu.Unlock()
	defer s.transports.CloseIdle()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// Run starts the router's background maintenance and, with a [redis] url, the sharing of cooldowns with
// other instances; it returns when ctx ends.
func (s *Server) Run(ctx context.Context) {
	shared := make(chan struct{})
	go func() {
		defer close(shared)
		s.shareCooldowns(ctx)
	}()
	s.router.Run(ctx)
	<-shared
}

func (s *Server) rand() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rnd.Float64()
}

func seed() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:])
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// routerOptions maps the [routing] and [health-tracking] sections onto the router.
func routerOptions(cfg *config.Config, c clock.Clock, log *slog.Logger) route.Options {
	o := route.DefaultOptions()
	o.Strategy = cfg.Routing.Strategy
	o.HealthAware = cfg.Routing.HealthAware
	o.PreferHealthy = cfg.Routing.PreferHealthy
	ht := cfg.HealthTracking
	o.Health = route.HealthOptions{Enable: ht.Enable, Window: ht.Window(), FailureThreshold: ht.FailureThreshold,
		DegradedThreshold: ht.DegradedThreshold, MinRequests: ht.MinRequests, CleanupInterval: ht.Cleanup()}
	o.Clock = c
	o.Logger = log
	return o
}

// hashKey returns the SHA-256 of a client key; keys are compared by hash so lookups do not leak timing
// about the key itself.
func hashKey(k string) [32]byte { return sha256.Sum256([]byte(k)) }

// NewClientKey returns a fresh random client key ("sk-cliproxy-" + 48 hex characters).
func NewClientKey() (string, error) {
	var b [24]byte
	if _, err := crand.Read(b[:]); err != nil {
		return "", err
	}
	return "sk-cliproxy-" + hex.EncodeToString(b[:]), nil
}

// routes builds the mux. Guard and auth run in ServeHTTP-level middleware so that every route gets them.
func (s *Server) routes() http.Handler {
	m := mux.NewRouter()
	m.UseEncodedPath()
	m.HandleFunc("/health/liveness", s.handleLiveness).Methods(http.MethodGet, http.MethodHead)
	m.HandleFunc("/health/readiness", s.handleReadiness).Methods(http.MethodGet, http.MethodHead)

	api := m.NewRoute().Subrouter()
	api.Use(s.authMiddleware)
	api.HandleFunc("/v1/chat/completions", s.handleChat).Methods(http.MethodPost)
	api.HandleFunc("/chat/completions", s.handleChat).Methods(http.MethodPost)
	api.HandleFunc("/v1/completions", s.handleCompletions).Methods(http.MethodPost)
	api.HandleFunc("/v1/responses", s.handleResponses).Methods(http.MethodPost)
	api.HandleFunc("/v1/embeddings", s.handleEmbeddings).Methods(http.MethodPost)
	api.HandleFunc("/v1/messages", s.handleMessages).Methods(http.MethodPost)
	api.HandleFunc("/v1/messages/count_tokens", s.handleCountTokens).Methods(http.MethodPost)
	api.HandleFunc("/v1/models", s.handleModels).Methods(http.MethodGet)
	api.HandleFunc("/v1/models/{model}", s.handleModel).Methods(http.MethodGet)
	api.HandleFunc("/v1beta/models", s.handleGeminiModels).Methods(http.MethodGet)
	api.PathPrefix("/v1beta/models/").HandlerFunc(s.handleGemini).Methods(http.MethodPost, http.MethodGet)
	s.mgmt.register(m)
	s.registerExtra(m, api)
	m.NotFoundHandler = http.HandlerFunc(s.handleNotFound)
	m.MethodNotAllowedHandler = http.HandlerFunc(s.handleMethodNotAllowed)
	return s.outer(m)
}
