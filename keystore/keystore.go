// Package keystore keeps credentials (OAuth token sets, generated client keys) at rest, either in the
// operating system's keychain or in AES-256-GCM encrypted files, behind one small Store interface.
package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned by Get and Delete when no entry has the given id.
var ErrNotFound = errors.New("keystore: entry not found")

// ErrUnavailable wraps every keychain failure other than "not found": the keychain is missing, locked
// or refused the request. Open in "auto" mode falls back to the file store when it sees it.
var ErrUnavailable = errors.New("keychain unavailable")

// ErrInvalidID is returned for ids the stores cannot hold unambiguously.
var ErrInvalidID = errors.New("keystore: invalid id")

// Store holds opaque secret values by id. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the value stored under id, or an error wrapping ErrNotFound.
	Get(id string) ([]byte, error)
	// Put stores value under id, replacing any previous value; it never leaves a half-written entry.
	Put(id string, value []byte) error
	// Delete removes id, or returns an error wrapping ErrNotFound.
	Delete(id string) error
	// List returns the stored ids in sorted order.
	List() ([]string, error)
}

// Backend names accepted by Options.Backend and returned by Open.
const (
	BackendAuto     = "auto"
	BackendKeychain = "keychain"
	BackendFile     = "file"
)

// EnvEncryptionKey is the environment variable read when Options.EncryptionKey is empty.
const EnvEncryptionKey = "CLIPROXY_ENCRYPTION_KEY"

// DefaultService is the keychain service name every entry is filed under.
const DefaultService = "cliproxy"

// Options selects and configures a backend; it mirrors the [keystore] config section.
type Options struct {
	// Backend is "auto" (the default when empty), "keychain" or "file".
	Backend string
	// Dir is the file backend directory; empty means DefaultDir().
	Dir string
	// EncryptionKey is the file backend key: 32 bytes in base64 used as-is, otherwise a passphrase.
	// Empty means the CLIPROXY_ENCRYPTION_KEY environment variable, then a machine-local key file.
	EncryptionKey string
	// AllowPlaintext lets the file backend store unencrypted entries when no key can be obtained.
	AllowPlaintext bool
	// Service overrides the keychain service name (default "cliproxy"); tests use a unique one.
	Service string
	// OnFallback, when set, is told why "auto" could not use the OS keychain (locked, missing, no
	// Secret Service) before the file store is opened instead, so the app can explain it to the user.
	OnFallback func(reason error)
}

// DefaultDir returns <user config dir>/cliproxy/auth.
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user config directory: %w", err)
	}
	return filepath.Join(base, "cliproxy", "auth"), nil
}

// Open returns the store selected by opts and the name of the backend chosen ("keychain" or "file").
// In "auto" mode it probes the keychain with a set/get/delete of a probe entry and falls back to the
// encrypted file store, logging why. The probe may block on a locked desktop keyring: never call Open
// on a UI goroutine.
func Open(opts Options, logger *slog.Logger) (Store, string, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backend := strings.ToLower(strings.TrimSpace(opts.Backend))
	if backend == "" {
		backend = BackendAuto
	}
	switch backend {
	case BackendKeychain:
		ks := newKeychainStore(opts.Service, systemKeyring{})
		if err := ks.probe(); err != nil {
			return nil, "", fmt.Errorf("opening keychain store: %w", err)
		}
		return ks, BackendKeychain, nil
	case BackendFile:
		fs, err := openFileFromOptions(opts, logger)
		if err != nil {
			return nil, "", err
		}
		return fs, BackendFile, nil
	case BackendAuto:
		ks := newKeychainStore(opts.Service, systemKeyring{})
		err := ks.probe()
		if err == nil {
			logger.Info("keystore: using the OS keychain")
			return ks, BackendKeychain, nil
		}
		logger.Warn("keystore: OS keychain not usable, falling back to the encrypted file store",
			"reason", err.Error())
		if opts.OnFallback != nil {
			opts.OnFallback(err)
		}
		fs, ferr := openFileFromOptions(opts, logger)
		if ferr != nil {
			return nil, "", ferr
		}
		return fs, BackendFile, nil
	default:
		return nil, "", fmt.Errorf("keystore.backend %q: want auto, keychain or file", opts.Backend)
	}
}

func openFileFromOptions(opts Options, logger *slog.Logger) (*FileStore, error) {
	dir := opts.Dir
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	key := opts.EncryptionKey
	if key == "" {
		key = os.Getenv(EnvEncryptionKey)
	}
	return OpenFile(FileOptions{Dir: dir, EncryptionKey: key, AllowPlaintext: opts.AllowPlaintext, Logger: logger})
}

// Migrate copies every entry of from into to, verifies each copy reads back identically, and only then
// deletes the entries from the source. On any error before the deletions the source is left untouched.
func Migrate(from, to Store) error {
	ids, err := from.List()
	if err != nil {
		return fmt.Errorf("migrating credentials: listing source: %w", err)
	}
	values := make(map[string][]byte, len(ids))
	for _, id := range ids {
		v, err := from.Get(id)
		if err != nil {
			return fmt.Errorf("migrating credentials: reading %q: %w", id, err)
		}
		values[id] = v
		if err := to.Put(id, v); err != nil {
			return fmt.Errorf("migrating credentials: writing %q: %w", id, err)
		}
	}
	for _, id := range ids {
		got, err := to.Get(id)
		if err != nil {
			return fmt.Errorf("migrating credentials: verifying %q: %w", id, err)
		}
		if !bytes.Equal(got, values[id]) {
			return fmt.Errorf("migrating credentials: verifying %q: copy differs from the source", id)
		}
	}
	for _, id := range ids {
		if err := from.Delete(id); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("migrating credentials: removing %q from the source: %w", id, err)
		}
	}
	return nil
}

// validateID rejects ids that would collide with internal entries: empty ids, ids with '#' (chunk
// names), ids starting with "__" (index and probe entries) and ids with control characters.
func validateID(id string) error {
	if id == "" || strings.HasPrefix(id, "__") || strings.ContainsRune(id, '#') || len(id) > 200 {
		return fmt.Errorf("%w %q", ErrInvalidID, id)
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w %q", ErrInvalidID, id)
		}
	}
	return nil
}
