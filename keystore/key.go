package keystore

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: the second recommended option of RFC 9106 §4 (t=3, m=64 MiB), with 2 lanes
// because the app runs on small machines.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	keyLen       = 32
	saltLen      = 16
)

// resolveKey returns the 32-byte store key: a configured base64 key as-is, a configured passphrase
// stretched with Argon2id and the store's salt, or the machine-local key file (created on first use).
// It runs under the directory lock.
func (s *FileStore) resolveKey(configured string) ([]byte, error) {
	configured = strings.TrimSpace(configured)
	if configured != "" {
		if k, ok := decodeRawKey(configured); ok {
			return k, nil
		}
		salt, err := s.readOrCreate(saltFileName, saltLen)
		if err != nil {
			return nil, fmt.Errorf("keystore salt: %w", err)
		}
		return argon2.IDKey([]byte(configured), salt, argonTime, argonMemory, argonThreads, keyLen), nil
	}
	k, err := s.readOrCreate(keyFileName, keyLen)
	if err != nil {
		return nil, fmt.Errorf("keystore key file: %w", err)
	}
	return k, nil
}

// decodeRawKey accepts exactly 32 bytes in standard or URL base64, padded or not.
func decodeRawKey(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == keyLen {
			return b, true
		}
	}
	return nil, false
}

// readOrCreate returns the n random bytes kept in <dir>/name, creating the file (mode 0600) first.
func (s *FileStore) readOrCreate(name string, n int) ([]byte, error) {
	path := filepath.Join(s.dir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != n {
			return nil, fmt.Errorf("%s has %d bytes, want %d", path, len(b), n)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	b = make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generating %s: %w", name, err)
	}
	if err := s.writeAtomic(path, b); err != nil {
		return nil, err
	}
	return b, nil
}
