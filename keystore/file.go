package keystore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/gofrs/flock"
)

// File names inside the store directory. Entry files end in ".json"; everything starting with a dot
// is internal and never listed.
const (
	keyFileName   = ".key"   // machine-local random key, used when no key is configured
	saltFileName  = ".salt"  // per-store salt for passphrase stretching
	checkFileName = ".check" // a known value sealed with the key, to detect a wrong key at Open
	lockFileName  = ".lock"
	entrySuffix   = ".json"
	tempPrefix    = ".tmp-"
	checkValue    = "cliproxy keystore key check"
	checkAD       = "__check__"
)

// ErrWrongKey is wrapped by errors that mean the configured encryption key does not open the store
// (or the file was tampered with: GCM cannot tell the two apart).
var ErrWrongKey = errors.New("wrong encryption key?")

// FileOptions configures OpenFile.
type FileOptions struct {
	// Dir holds one file per entry; it is created with mode 0700.
	Dir string
	// EncryptionKey is 32 bytes in base64 (used as-is) or a passphrase (stretched with Argon2id and
	// a per-store salt). Empty means a random machine-local key kept in <Dir>/.key (mode 0600): that
	// protects against accidental disclosure (backups, screen shares, a copied folder without the
	// key), not against a local attacker who can read the same directory.
	EncryptionKey string
	// AllowPlaintext permits unencrypted entries when no key is configured and the key file cannot
	// be created or read. Without it that situation is an error.
	AllowPlaintext bool
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// envelope is the on-disk form of one entry: {"v":1,"nonce":b64,"ct":b64} sealed with AES-256-GCM
// and the id as additional data (so files cannot be swapped between ids), or {"v":0,"pt":b64} in an
// explicitly allowed plaintext store.
type envelope struct {
	V     int    `json:"v"`
	Nonce string `json:"nonce,omitempty"`
	CT    string `json:"ct,omitempty"`
	PT    string `json:"pt,omitempty"`
}

// FileStore keeps each entry in its own encrypted file, written atomically under a file lock.
type FileStore struct {
	dir    string
	aead   cipher.AEAD // nil in a plaintext store
	logger *slog.Logger
	mu     sync.Mutex // serialises writers inside this process; the file lock covers other processes
}

var _ Store = (*FileStore)(nil)

// OpenFile opens (creating if needed) the encrypted file store in opts.Dir.
func OpenFile(opts FileOptions) (*FileStore, error) {
	if opts.Dir == "" {
		return nil, errors.New("keystore.dir: file store directory is empty")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating keystore dir: %w", err)
	}
	_ = os.Chmod(opts.Dir, 0o700) // tighten a directory created earlier with looser permissions
	s := &FileStore{dir: opts.Dir, logger: logger}
	err := s.withLock(func() error {
		key, err := s.resolveKey(opts.EncryptionKey)
		if err != nil {
			if opts.EncryptionKey == "" && opts.AllowPlaintext {
				logger.Warn("keystore: no encryption key available, storing credentials UNENCRYPTED "+
					"because allow-plaintext-fallback is on", "dir", opts.Dir, "reason", err.Error())
				return nil
			}
			return err
		}
		aead, err := newAEAD(key)
		if err != nil {
			return err
		}
		s.aead = aead
		return s.checkKey()
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keystore cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keystore cipher: %w", err)
	}
	return aead, nil
}

// checkKey seals a known value on first use and opens it afterwards, so a wrong key fails at Open
// with a clear message instead of on the first Get.
func (s *FileStore) checkKey() error {
	path := filepath.Join(s.dir, checkFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		env, err := s.seal(checkAD, []byte(checkValue))
		if err != nil {
			return err
		}
		return s.writeAtomic(path, env)
	}
	if err != nil {
		return fmt.Errorf("reading keystore key check: %w", err)
	}
	got, err := s.open(checkAD, b)
	if err != nil || string(got) != checkValue {
		return fmt.Errorf("cannot decrypt the keystore in %s: %w (set keystore.encryption-key or %s to the key it was created with)",
			s.dir, ErrWrongKey, EnvEncryptionKey)
	}
	return nil
}

func (s *FileStore) withLock(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fl := flock.New(filepath.Join(s.dir, lockFileName), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := fl.Lock(); err != nil {
		return fmt.Errorf("locking keystore dir: %w", err)
	}
	defer func() { _ = fl.Unlock() }()
	return fn()
}

func (s *FileStore) seal(id string, value []byte) ([]byte, error) {
	var env envelope
	if s.aead == nil {
		env = envelope{V: 0, PT: base64.StdEncoding.EncodeToString(value)}
	} else {
		nonce := make([]byte, s.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("keystore nonce: %w", err)
		}
		ct := s.aead.Seal(nil, nonce, value, []byte(id))
		env = envelope{V: 1, Nonce: base64.StdEncoding.EncodeToString(nonce), CT: base64.StdEncoding.EncodeToString(ct)}
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encoding keystore entry: %w", err)
	}
	return b, nil
}

func (s *FileStore) open(id string, b []byte) ([]byte, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("keystore entry %q is not valid JSON: %w", id, err)
	}
	switch env.V {
	case 0:
		if s.aead != nil {
			return nil, fmt.Errorf("keystore entry %q is unencrypted but this store is encrypted: refusing it", id)
		}
		v, err := base64.StdEncoding.DecodeString(env.PT)
		if err != nil {
			return nil, fmt.Errorf("keystore entry %q is damaged: %w", id, err)
		}
		return v, nil
	case 1:
		if s.aead == nil {
			return nil, fmt.Errorf("keystore entry %q is encrypted but no encryption key is configured", id)
		}
		nonce, err1 := base64.StdEncoding.DecodeString(env.Nonce)
		ct, err2 := base64.StdEncoding.DecodeString(env.CT)
		if err1 != nil || err2 != nil || len(nonce) != s.aead.NonceSize() {
			return nil, fmt.Errorf("keystore entry %q is damaged", id)
		}
		v, err := s.aead.Open(nil, nonce, ct, []byte(id))
		if err != nil {
			return nil, fmt.Errorf("cannot decrypt %q: %w (or the file was modified)", id, ErrWrongKey)
		}
		return v, nil
	default:
		return nil, fmt.Errorf("keystore entry %q has unknown version %d", id, env.V)
	}
}

// fileName maps an id to a file name: [A-Za-z0-9._-] stay, everything else becomes %XX, and a
// leading dot is escaped so entries never collide with internal files.
func fileName(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0)
		if safe {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String() + entrySuffix
}

// idFromFileName reverses fileName; ok is false for names that are not entries.
func idFromFileName(name string) (string, bool) {
	if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, entrySuffix) {
		return "", false
	}
	name = strings.TrimSuffix(name, entrySuffix)
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] != '%' {
			b.WriteByte(name[i])
			continue
		}
		if i+2 >= len(name) {
			return "", false
		}
		var c byte
		if _, err := fmt.Sscanf(name[i+1:i+3], "%02X", &c); err != nil {
			return "", false
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), true
}

// Get decrypts and returns the entry for id.
func (s *FileStore) Get(id string) ([]byte, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(s.dir, fileName(id)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keystore entry %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading keystore entry %q: %w", id, err)
	}
	return s.open(id, b)
}

// Put encrypts value and writes it atomically (temp file, fsync, rename, fsync dir) under the lock.
func (s *FileStore) Put(id string, value []byte) error {
	if err := validateID(id); err != nil {
		return err
	}
	env, err := s.seal(id, value)
	if err != nil {
		return err
	}
	return s.withLock(func() error {
		return s.writeAtomic(filepath.Join(s.dir, fileName(id)), env)
	})
}

// Delete removes the entry for id.
func (s *FileStore) Delete(id string) error {
	if err := validateID(id); err != nil {
		return err
	}
	return s.withLock(func() error {
		err := os.Remove(filepath.Join(s.dir, fileName(id)))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keystore entry %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("deleting keystore entry %q: %w", id, err)
		}
		return syncDir(s.dir)
	})
}

// List returns the ids of all entries in the directory.
func (s *FileStore) List() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("listing keystore dir: %w", err)
	}
	ids := []string{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if id, ok := idFromFileName(e.Name()); ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// writeAtomic replaces path with data so that readers see either the old or the new file, never a
// partial one, and the new file survives a crash once it returns.
func (s *FileStore) writeAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(s.dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("creating temp file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("setting keystore file mode: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing keystore file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("syncing keystore file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("closing keystore file: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming keystore file: %w", err)
	}
	return syncDir(s.dir)
}
