// Package app is the composition root: it builds the configuration, keystore, store and proxy core, runs
// their lifecycles for both the tray app and `cliproxy serve`, implements the sub-commands, and offers the
// view-model the desktop UI reads.
package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/server"
)

// Version is the application version, set at build time with -ldflags "-X .../app.Version=...".
var Version = "0.1.0"

// Env carries the process environment of a command, so that commands are testable without globals.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// loadConfig resolves and loads the configuration named by --config / CLIPROXY_CONFIG / the default path.
func loadConfig(flagValue string, log *slog.Logger) (*config.Config, string, bool, error) {
	path, explicit := config.ResolvePath(flagValue)
	cfg, err := config.Load(path, explicit)
	if err != nil {
		return nil, path, explicit, err
	}
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w)
	}
	return cfg, path, explicit, nil
}

// clientKeyFile is where the generated client key is kept until the keystore is available.
func clientKeyFile(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), "client-key")
}

// loadOrCreateClientKey returns the generated client key, creating it on first run (mode 0600).
func loadOrCreateClientKey(path string) (key string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			return k, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("reading the client key %s: %w", path, err)
	}
	k, err := server.NewClientKey()
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(k+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("writing the client key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", false, fmt.Errorf("writing the client key: %w", err)
	}
	return k, true, nil
}
