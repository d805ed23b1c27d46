package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/server"
)

// ShutdownGrace is how long requests and streams in flight may take to finish after SIGINT/SIGTERM.
const ShutdownGrace = 30 * time.Second

// Proxy is a running proxy core with its configuration watcher.
type Proxy struct {
	Server     *server.Server
	Config     *config.Config
	ConfigPath string
	ClientKey  string // the key clients use ("" when static api-keys are configured)
	Addr       net.Addr
	log        *slog.Logger
	explicit   bool
}

// StartProxy loads the configuration, prepares the client key and binds the listener. Serve runs it.
func StartProxy(configFlag string, log *slog.Logger) (*Proxy, error) {
	cfg, path, explicit, err := loadConfig(configFlag, log)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Config: cfg, ConfigPath: path, log: log, explicit: explicit}
	if len(cfg.APIKeys) == 0 {
		key, created, err := loadOrCreateClientKey(clientKeyFile(path))
		if err != nil {
			return nil, err
		}
		if created {
			log.Info("generated a client key on first run", "file", clientKeyFile(path))
		}
		p.ClientKey = key
	}
	srv, err := server.New(server.Options{Config: cfg, Logger: log, GeneratedKey: p.ClientKey})
	if err != nil {
		return nil, err
	}
	p.Server = srv
	addr, err := srv.Listen()
	if err != nil {
		return nil, err
	}
	p.Addr = addr
	return p, nil
}

// BaseURL is the URL clients point at.
func (p *Proxy) BaseURL() string {
	host := p.Config.Host
	if tcp, ok := p.Addr.(*net.TCPAddr); ok {
		return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(p.Config.Port))
}

// Run serves until ctx ends, reloading the configuration when its file changes, then shuts down
// gracefully within ShutdownGrace.
func (p *Proxy) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.Server.Run(ctx)
	if w, err := config.NewWatcher(p.ConfigPath, p.explicit, p.log, func(cfg *config.Config) {
		if err := p.Server.Reload(cfg); err != nil {
			p.log.Warn("config reloaded with a caveat", "err", err)
			return
		}
		p.log.Info("config reloaded", "file", p.ConfigPath)
	}); err != nil {
		p.log.Warn("config hot reload is off", "err", err)
	} else {
		go func() {
			if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				p.log.Warn("config watcher stopped", "err", err)
			}
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Server.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	p.log.Info("shutting down: waiting for requests in flight", "grace", ShutdownGrace)
	sctx, scancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer scancel()
	if err := p.Server.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-errc
}

// runServe implements `cliproxy serve`.
func runServe(args []string, env Env) int {
	fs := newFlagSet("serve", env)
	configFlag := fs.String("config", "", "configuration file (default: $CLIPROXY_CONFIG or the user config dir)")
	verbose := fs.Bool("verbose", false, "log debug details")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	p, err := StartProxy(*configFlag, log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	fmt.Fprintf(env.Stderr, "cliproxy %s listening on %s\n", Version, p.BaseURL())
	if p.ClientKey != "" {
		fmt.Fprintf(env.Stderr, "client API key: %s\n", p.ClientKey)
	} else {
		fmt.Fprintf(env.Stderr, "client API keys: the %d configured in api-keys\n", len(p.Config.APIKeys))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := p.Run(ctx); err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	fmt.Fprintln(env.Stderr, "cliproxy: stopped")
	return 0
}
