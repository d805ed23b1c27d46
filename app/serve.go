package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ShutdownGrace is how long requests and streams in flight may take to finish after SIGINT/SIGTERM.
const ShutdownGrace = 30 * time.Second

// runServe implements `cliproxy serve`: the Core without the tray, logging to stderr, until SIGINT or
// SIGTERM.
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveCore(ctx, CoreOptions{ConfigFlag: *configFlag, Logger: log}, env)
}

// serveCore opens and starts a Core, prints the base URL and client key, and serves until ctx ends.
func serveCore(ctx context.Context, o CoreOptions, env Env) int {
	c, err := OpenCore(o)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	if err := c.Start(ctx); err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		_ = c.Close(context.Background())
		return 1
	}
	fmt.Fprintf(env.Stderr, "cliproxy %s listening on %s\n", Version, c.BaseURL())
	if n := len(c.Config().APIKeys); n > 0 {
		fmt.Fprintf(env.Stderr, "client API keys: the %d configured in api-keys\n", n)
	} else {
		fmt.Fprintf(env.Stderr, "client API key: %s\n", c.ClientKey())
	}
	<-ctx.Done()
	fmt.Fprintf(env.Stderr, "cliproxy: shutting down, waiting up to %s for requests in flight\n", ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := c.Close(sctx); err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	fmt.Fprintln(env.Stderr, "cliproxy: stopped")
	return 0
}
