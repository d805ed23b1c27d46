package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/cliproxy/cliproxy/keystore"
	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/server"
)

// Keystore layout. Secrets live only in the keystore; their non-secret metadata (provider, label,
// disabled, added) lives in the SQLite accounts table under the same account id, so that lists and the
// UI never read the keychain.
const (
	// clientKeyID holds the generated client key.
	clientKeyID = "client-key"
	// accountPrefix starts the keystore id of an account's OAuth credential (JSON of oauth.Credential).
	accountPrefix = "account:"
)

// openKeystore opens the [keystore] backend. With dataDir set the file store lives in dataDir/auth and
// "auto" means the file store (demo data and tests stay out of the user's keychain). backend, when not
// empty, overrides ks.Backend (used by `accounts migrate`).
func openKeystore(ks config.Keystore, dataDir, backend string, log *slog.Logger) (keystore.Store, string, error) {
	return openKeystoreNotify(ks, dataDir, backend, log, nil)
}

// openKeystoreNotify is openKeystore telling onFallback why "auto" fell back to the file store.
func openKeystoreNotify(ks config.Keystore, dataDir, backend string, log *slog.Logger, onFallback func(error)) (keystore.Store, string, error) {
	opts := keystore.Options{
		Backend: ks.Backend, Dir: ks.Dir, EncryptionKey: ks.EncryptionKey, AllowPlaintext: ks.AllowPlaintextFallback,
		OnFallback: onFallback,
	}
	if backend != "" {
		opts.Backend = backend
	}
	if dataDir != "" {
		opts.Dir = filepath.Join(dataDir, "auth")
		if opts.Backend == "" || opts.Backend == keystore.BackendAuto {
			opts.Backend = keystore.BackendFile
		}
	}
	st, name, err := keystore.Open(opts, log)
	if err != nil {
		return nil, "", fmt.Errorf("opening the credential store: %w (check [keystore] in the config)", err)
	}
	return st, name, nil
}

// tokenStore adapts the Core's keystore to oauth.TokenStore.
type tokenStore struct{ c *Core }

var _ oauth.TokenStore = tokenStore{}

// Load reads the credential of account id.
func (t tokenStore) Load(_ context.Context, id string) (oauth.Credential, error) {
	return loadCredential(t.c.keystore(), id)
}

// Save writes cred under its account id.
func (t tokenStore) Save(_ context.Context, cred oauth.Credential) error {
	return saveCredential(t.c.keystore(), cred)
}

func loadCredential(ks keystore.Store, id string) (oauth.Credential, error) {
	b, err := ks.Get(accountPrefix + id)
	if err != nil {
		return oauth.Credential{}, fmt.Errorf("reading the credential of account %s: %w", id, err)
	}
	var cred oauth.Credential
	if err := json.Unmarshal(b, &cred); err != nil {
		return oauth.Credential{}, fmt.Errorf("the stored credential of account %s is damaged; log in again: %w", id, err)
	}
	if cred.ID == "" {
		cred.ID = id
	}
	return cred, nil
}

func saveCredential(ks keystore.Store, cred oauth.Credential) error {
	b, err := json.Marshal(cred)
	if err != nil {
		return fmt.Errorf("encoding the credential of account %s: %w", cred.ID, err)
	}
	if err := ks.Put(accountPrefix+cred.ID, b); err != nil {
		return fmt.Errorf("saving the credential of account %s: %w", cred.ID, err)
	}
	return nil
}

// legacyClientKeyFile is where versions before the keystore kept the generated client key.
func legacyClientKeyFile(configPath string) string {
	if configPath == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(configPath), "client-key")
}

// loadClientKey returns the generated client key from the keystore. A key left in the legacy file is
// moved into the keystore once (the file is deleted after the keystore holds it); without either a new
// key is generated.
func (c *Core) loadClientKey() (string, error) {
	ks := c.keystore()
	b, err := ks.Get(clientKeyID)
	if err == nil && strings.TrimSpace(string(b)) != "" {
		c.removeLegacyClientKey()
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, keystore.ErrNotFound) {
		return "", fmt.Errorf("reading the client key from the credential store: %w", err)
	}
	key := ""
	legacy := legacyClientKeyFile(c.cfgPath)
	if legacy != "" {
		if b, err := os.ReadFile(legacy); err == nil {
			key = strings.TrimSpace(string(b))
		}
	}
	migrated := key != ""
	if !migrated {
		if key, err = server.NewClientKey(); err != nil {
			return "", fmt.Errorf("generating the client key: %w", err)
		}
	}
	if err := ks.Put(clientKeyID, []byte(key)); err != nil {
		return "", fmt.Errorf("saving the client key in the credential store: %w", err)
	}
	if migrated {
		c.removeLegacyClientKey()
		c.log.Info("moved the client key from its old file into the credential store", "backend", c.ksBackend)
	} else {
		c.log.Info("generated a client key on first run", "backend", c.ksBackend)
	}
	return key, nil
}

func (c *Core) removeLegacyClientKey() {
	legacy := legacyClientKeyFile(c.cfgPath)
	if legacy == "" {
		return
	}
	if err := os.Remove(legacy); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("could not delete the old client key file; delete it by hand", "file", legacy, "err", err)
	}
}

// providerOverrides maps [providers.<id>] onto the oauth package's setting keys. The config names a few
// keys generically (user-info-url, api-url); each provider reads them under its own name.
func providerOverrides(cfg *config.Config) map[string]map[string]string {
	out := make(map[string]map[string]string, len(cfg.Providers))
	for id, e := range cfg.Providers {
		m := map[string]string{}
		set := func(k, v string) {
			if v = strings.TrimSpace(v); v != "" {
				m[k] = v
			}
		}
		set("base-url", e.BaseURL)
		set("auth-url", e.AuthURL)
		set("token-url", e.TokenURL)
		set("device-code-url", e.DeviceCodeURL)
		set("copilot-token-url", e.CopilotTokenURL)
		set("register-url", e.RegisterURL)
		set("redirect-url", e.RedirectURL)
		set("client-id", e.ClientID)
		set("user-info-url", e.UserInfoURL)
		set("api-url", e.APIURL)
		switch id {
		case oauth.Copilot:
			set("user-url", e.UserInfoURL)
		case oauth.GeminiCLI:
			set("userinfo-url", e.UserInfoURL)
			set("code-assist-url", e.APIURL)
		}
		out[id] = m
	}
	return out
}
