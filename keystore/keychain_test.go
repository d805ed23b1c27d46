package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// failingRing wraps go-keyring's mock and fails the n-th Set (1-based) when failOnSet > 0.
type failingRing struct {
	systemKeyring
	sets      int
	failOnSet int
}

func (f *failingRing) Set(s, u, p string) error {
	f.sets++
	if f.failOnSet > 0 && f.sets == f.failOnSet {
		return errors.New("dbus: connection reset")
	}
	return f.systemKeyring.Set(s, u, p)
}

// allEntries lists every raw keychain item the store may have written for ids (headers and chunks).
func rawCount(t *testing.T, service string, ids ...string) int {
	t.Helper()
	n := 0
	for _, id := range append(ids, indexID) {
		if _, err := keyring.Get(service, id); err == nil {
			n++
		}
		for i := 0; i < 50; i++ {
			if _, err := keyring.Get(service, chunkName(id, i)); err == nil {
				n++
			}
		}
	}
	return n
}

func TestKeychainChunkingAndIndex(t *testing.T) {
	keyring.MockInit()
	cases := []struct {
		name       string
		size       int
		wantChunks int
	}{
		{"inline", 100, 0},
		{"just under limit", 1400, 0}, // 1,868 base64 chars: inline
		{"two chunks", 1600, 2},       // 2,136 base64 chars
		{"long token set", 9000, 6},   // 12,000 base64 chars
	}
	s := newKeychainStore("cliproxy-test", systemKeyring{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := bytes.Repeat([]byte{0xAB}, tc.size)
			if err := s.Put(tc.name, v); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, err := s.Get(tc.name)
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("Get: len %d, %v", len(got), err)
			}
			for i := 0; i < 20; i++ {
				c, err := keyring.Get("cliproxy-test", chunkName(tc.name, i))
				if (err == nil) != (i < tc.wantChunks) {
					t.Fatalf("chunk %d present=%v, want %d chunks", i, err == nil, tc.wantChunks)
				}
				if len(c) > chunkLimit {
					t.Fatalf("chunk %d has %d bytes, over the %d limit", i, len(c), chunkLimit)
				}
			}
			h, _ := keyring.Get("cliproxy-test", tc.name)
			if len(h) > chunkLimit {
				t.Fatalf("header has %d bytes", len(h))
			}
		})
	}
	ids, err := s.List()
	if err != nil || len(ids) != len(cases) {
		t.Fatalf("List = %v, %v", ids, err)
	}
	// Shrinking a chunked value removes the surplus chunks.
	if err := s.Put("long token set", []byte("short")); err != nil {
		t.Fatal(err)
	}
	if n := rawCount(t, "cliproxy-test", "long token set"); n != 2 { // header + index
		t.Fatalf("after shrink %d raw items, want 2", n)
	}
	for _, tc := range cases {
		if err := s.Delete(tc.name); err != nil {
			t.Fatalf("Delete(%q): %v", tc.name, err)
		}
	}
	if ids, _ := s.List(); len(ids) != 0 {
		t.Fatalf("List after deletes = %v", ids)
	}
	if _, err := s.Get("inline"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get deleted = %v", err)
	}
	if err := s.Delete("inline"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete missing = %v", err)
	}
}

func TestKeychainIndexItselfChunks(t *testing.T) {
	keyring.MockInit()
	s := newKeychainStore("cliproxy-idx", systemKeyring{})
	var want []string
	for i := range 150 { // ~150 ids of ~30 chars overflow one entry
		id := fmt.Sprintf("claude-code:user%03d@example.com", i)
		want = append(want, id)
		if err := s.Put(id, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := keyring.Get("cliproxy-idx", chunkName(indexID, 1)); err != nil {
		t.Fatalf("index was not chunked: %v", err)
	}
	got, err := s.List()
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("List mismatch: %d ids, %v", len(got), err)
	}
}

func TestKeychainPutRollsBack(t *testing.T) {
	big := bytes.Repeat([]byte{1}, 6000) // 8,000 base64 chars: 4 chunks + header
	cases := []struct {
		name      string
		existing  []byte
		value     []byte
		failOnSet int
	}{
		{"new entry, fail on chunk 3", nil, big, 3},
		{"new entry, fail on header", nil, big, 5},
		{"new entry, fail on index", nil, big, 6},
		{"replace small with big, fail on chunk 2", []byte("old"), big, 2},
		{"replace big with big, fail on header", bytes.Repeat([]byte{2}, 3000), big, 5},
		{"replace big with small, fail on header", bytes.Repeat([]byte{2}, 3000), []byte("new"), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keyring.MockInit()
			ring := &failingRing{}
			s := newKeychainStore("cliproxy-rb", ring)
			if err := s.Put("other", []byte("keep me")); err != nil {
				t.Fatal(err)
			}
			if tc.existing != nil {
				if err := s.Put("acct", tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			before := rawCount(t, "cliproxy-rb", "acct", "other")
			ring.sets, ring.failOnSet = 0, tc.failOnSet
			err := s.Put("acct", tc.value)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Put = %v, want ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), "keychain unavailable") {
				t.Fatalf("error %q does not say keychain unavailable", err)
			}
			ring.failOnSet = 0
			got, gerr := s.Get("acct")
			if tc.existing == nil {
				if !errors.Is(gerr, ErrNotFound) {
					t.Fatalf("half-stored entry readable: %v", gerr)
				}
			} else if gerr != nil || !bytes.Equal(got, tc.existing) {
				t.Fatalf("old value not restored: len %d, %v", len(got), gerr)
			}
			if after := rawCount(t, "cliproxy-rb", "acct", "other"); after != before {
				t.Fatalf("raw items %d after rollback, %d before", after, before)
			}
			ids, _ := s.List()
			wantIDs := "other"
			if tc.existing != nil {
				wantIDs = "acct,other"
			}
			if strings.Join(ids, ",") != wantIDs {
				t.Fatalf("index = %v, want %s", ids, wantIDs)
			}
		})
	}
}

func TestKeychainUnavailable(t *testing.T) {
	keyring.MockInitWithError(errors.New(`exec: "dbus-launch": executable file not found in $PATH`))
	t.Cleanup(keyring.MockInit)
	s := newKeychainStore("", systemKeyring{})
	if err := s.probe(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("probe = %v, want ErrUnavailable", err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get = %v", err)
	}
	if _, _, err := Open(Options{Backend: "keychain"}, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open keychain = %v, want ErrUnavailable", err)
	}
}

func TestOpenAutoFallsBackToFile(t *testing.T) {
	keyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files"))
	t.Cleanup(keyring.MockInit)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	dir := t.TempDir()
	var told error
	s, backend, err := Open(Options{Backend: "auto", Dir: dir, EncryptionKey: rawKey(t), OnFallback: func(e error) { told = e }}, logger)
	if err != nil || backend != BackendFile {
		t.Fatalf("Open = %q, %v; want file", backend, err)
	}
	if told == nil || !strings.Contains(told.Error(), "org.freedesktop.secrets") {
		t.Fatalf("OnFallback was told %v, want the keychain's reason", told)
	}
	if _, ok := s.(*FileStore); !ok {
		t.Fatalf("store is %T", s)
	}
	if !strings.Contains(logs.String(), "org.freedesktop.secrets") || !strings.Contains(logs.String(), "falling back") {
		t.Fatalf("log does not say why: %s", logs.String())
	}
}

func TestOpenSelectsBackend(t *testing.T) {
	keyring.MockInit()
	cases := []struct {
		backend, want string
		wantErr       bool
	}{
		{"", BackendKeychain, false},
		{"auto", BackendKeychain, false},
		{"keychain", BackendKeychain, false},
		{"file", BackendFile, false},
		{"vault", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.backend, func(t *testing.T) {
			t.Setenv(EnvEncryptionKey, rawKey(t))
			_, got, err := Open(Options{Backend: tc.backend, Dir: t.TempDir(), Service: "cliproxy-open"}, nil)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Open(%q) = %q, %v", tc.backend, got, err)
			}
			if _, err := keyring.Get("cliproxy-open", probeID); !errors.Is(err, keyring.ErrNotFound) {
				t.Fatalf("probe entry left behind")
			}
		})
	}
}

func TestOpenFileUsesEnvKey(t *testing.T) {
	dir := t.TempDir()
	key := rawKey(t)
	t.Setenv(EnvEncryptionKey, key)
	s, _, err := Open(Options{Backend: "file", Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// The same key given explicitly opens it; another key does not.
	if _, err := OpenFile(FileOptions{Dir: dir, EncryptionKey: key}); err != nil {
		t.Fatalf("explicit key: %v", err)
	}
	t.Setenv(EnvEncryptionKey, rawKey(t))
	if _, _, err := Open(Options{Backend: "file", Dir: dir}, nil); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("other env key = %v, want ErrWrongKey", err)
	}
}

func TestMigrate(t *testing.T) {
	keyring.MockInit()
	kc := newKeychainStore("cliproxy-mig", systemKeyring{})
	fs := openFileT(t, t.TempDir(), rawKey(t))
	want := map[string][]byte{
		"claude-code:a": bytes.Repeat([]byte("x"), 5000),
		"codex:b":       []byte("short"),
	}
	for id, v := range want {
		if err := fs.Put(id, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := Migrate(fs, kc); err != nil {
		t.Fatalf("Migrate file->keychain: %v", err)
	}
	if ids, _ := fs.List(); len(ids) != 0 {
		t.Fatalf("source still has %v", ids)
	}
	for id, v := range want {
		got, err := kc.Get(id)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("keychain %q: %v", id, err)
		}
	}
	// Back again, with the destination failing: the source keeps everything.
	broken := &failingRing{failOnSet: 1}
	fs2 := openFileT(t, t.TempDir(), "")
	if err := Migrate(kc, fs2); err != nil {
		t.Fatal(err)
	}
	keyring.MockInit()
	kc2 := newKeychainStore("cliproxy-mig2", broken)
	if err := Migrate(fs2, kc2); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Migrate into broken keychain = %v", err)
	}
	if ids, _ := fs2.List(); len(ids) != 2 {
		t.Fatalf("source lost entries after a failed migration: %v", ids)
	}
}

func BenchmarkKeychainPutChunked(b *testing.B) {
	keyring.MockInit()
	s := newKeychainStore("cliproxy-bench", systemKeyring{})
	v := bytes.Repeat([]byte("t"), 6000)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Put("bench", v); err != nil {
			b.Fatal(err)
		}
	}
}
