// Package app is the composition root: it builds the configuration, keystore, store and proxy core, runs
// their lifecycles for both the tray app and `cliproxy serve`, implements the sub-commands and the
// management routes, and offers the Core API that package desktop turns into the dashboard's view-model.
//
// Where things live: secrets only in the keystore (the OS keychain or encrypted files): the generated
// client key under "client-key" and each subscription account's OAuth token set under "account:<id>".
// The non-secret account metadata (provider, label, disabled, added) is a row of the SQLite accounts
// table under the same id, so listing accounts never touches the keychain. An account id is the provider
// id plus a hash of the account's label, so logging in to the same account again replaces it. Virtual
// keys (hashed), spend, the request log and health samples are in SQLite too. CLI commands open the same
// store and keystore while the app runs; the app picks up account changes within accountSyncEvery.
package app

import (
	"io"
	"log/slog"

	"github.com/cliproxy/cliproxy/proxycore/config"
)

// Version is the application version, set at build time with -ldflags "-X .../app.Version=...".
var Version = "0.1.0"

// Env carries the process environment of a command, so that commands are testable without globals.
type Env struct {
	Stdout, Stderr io.Writer
	// Stdin feeds interactive prompts (the pasted redirect address of `cliproxy login`); nil: no prompts.
	Stdin io.Reader
	// Getenv reads the environment (CLIPROXY_CONFIG, CLIPROXY_DATA_DIR); nil means none is set.
	Getenv func(string) string
}

// getenv reads name through e.Getenv, tolerating a nil Getenv.
func (e Env) getenv(name string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(name)
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
