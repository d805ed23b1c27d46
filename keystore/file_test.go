package keystore

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func rawKey(t testing.TB) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func openFileT(t testing.TB, dir, key string) *FileStore {
	t.Helper()
	s, err := OpenFile(FileOptions{Dir: dir, EncryptionKey: key})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	return s
}

func TestFileStoreRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("token-"), 2000) // 12 kB: the file store never chunks
	cases := []struct {
		name, key, id string
		value         []byte
	}{
		{"raw key small", rawKey(t), "claude-code:alice@example.com", []byte(`{"access_token":"a"}`)},
		{"raw key large", rawKey(t), "codex:bob", big},
		{"passphrase", "correct horse battery staple", "qwen/1", []byte("v")},
		{"key file", "", ".dotted id", []byte{0, 1, 2, 255}},
		{"empty value", "", "empty", []byte{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "auth")
			s := openFileT(t, dir, tc.key)
			if err := s.Put(tc.id, tc.value); err != nil {
				t.Fatalf("Put: %v", err)
			}
			// A second store on the same dir with the same key reads it back.
			s2 := openFileT(t, dir, tc.key)
			got, err := s2.Get(tc.id)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !bytes.Equal(got, tc.value) {
				t.Fatalf("Get = %q, want %q", got, tc.value)
			}
			ids, err := s2.List()
			if err != nil || len(ids) != 1 || ids[0] != tc.id {
				t.Fatalf("List = %v, %v; want [%q]", ids, err, tc.id)
			}
			raw, err := os.ReadFile(filepath.Join(dir, fileName(tc.id)))
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.value) > 4 && bytes.Contains(raw, tc.value[:5]) {
				t.Fatalf("file contains plaintext")
			}
			if !bytes.HasPrefix(raw, []byte(`{"v":1,"nonce":"`)) {
				t.Fatalf("unexpected envelope %s", raw)
			}
			if err := s2.Delete(tc.id); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := s.Get(tc.id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
			}
			if err := s.Delete(tc.id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second Delete = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestFileStorePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	dir := filepath.Join(t.TempDir(), "auth")
	s := openFileT(t, dir, "")
	if err := s.Put("a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %o, want 700", st.Mode().Perm())
	}
	for _, name := range []string{fileName("a"), keyFileName, checkFileName} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", name, st.Mode().Perm())
		}
	}
}

func TestFileStoreWrongKey(t *testing.T) {
	dir := t.TempDir()
	s := openFileT(t, dir, "right passphrase")
	if err := s.Put("a", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"wrong passphrase", rawKey(t)} {
		_, err := OpenFile(FileOptions{Dir: dir, EncryptionKey: key})
		if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "cannot decrypt") {
			t.Fatalf("OpenFile with wrong key = %v, want a 'cannot decrypt ... wrong encryption key?' error", err)
		}
	}
	// An entry copied from a store with another key fails on Get with the same message.
	other := openFileT(t, t.TempDir(), "")
	if err := other.Put("b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(other.dir, fileName("b")), filepath.Join(dir, fileName("b")))
	if _, err := s.Get("b"); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), `cannot decrypt "b"`) {
		t.Fatalf("Get foreign entry = %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileStoreTamperAndSwapRejected(t *testing.T) {
	dir := t.TempDir()
	s := openFileT(t, dir, rawKey(t))
	if err := s.Put("alice", []byte("alice-token")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("bob", []byte("bob-token")); err != nil {
		t.Fatal(err)
	}
	// Swap: bob's file under alice's name must not decrypt (the id is additional data).
	copyFile(t, filepath.Join(dir, fileName("bob")), filepath.Join(dir, fileName("alice")))
	if _, err := s.Get("alice"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("swapped file: Get = %v, want decrypt failure", err)
	}
	// Tamper: flip one ciphertext bit of bob's file.
	path := filepath.Join(dir, fileName("bob"))
	b, _ := os.ReadFile(path)
	var env struct {
		V         int
		Nonce, Ct string
	}
	_ = jsonUnmarshal(b, &env)
	ct, _ := base64.StdEncoding.DecodeString(env.Ct)
	ct[0] ^= 1
	tampered := fmt.Sprintf(`{"v":1,"nonce":%q,"ct":%q}`, env.Nonce, base64.StdEncoding.EncodeToString(ct))
	if err := os.WriteFile(path, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("bob"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("tampered file: Get = %v, want decrypt failure", err)
	}
	// A plaintext envelope slipped into an encrypted store is refused.
	if err := os.WriteFile(path, []byte(`{"v":0,"pt":"eA=="}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("bob"); err == nil {
		t.Fatal("plaintext entry accepted by an encrypted store")
	}
}

func TestFileStoreConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	key := rawKey(t)
	const writers, rounds = 6, 20
	stores := make([]*FileStore, writers)
	for i := range stores { // separate stores model separate processes sharing the dir and its lock
		stores[i] = openFileT(t, dir, key)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*2)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				if err := stores[w].Put("shared", []byte(fmt.Sprintf("writer-%d-round-%d", w, r))); err != nil {
					errs <- err
				}
				if err := stores[w].Put(fmt.Sprintf("own-%d", w), []byte{byte(r)}); err != nil {
					errs <- err
				}
				if _, err := stores[w].Get("shared"); err != nil && !errors.Is(err, ErrNotFound) {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent op: %v", err)
	}
	got, err := stores[0].Get("shared")
	if err != nil || !strings.HasPrefix(string(got), "writer-") {
		t.Fatalf("final shared = %q, %v", got, err)
	}
	ids, _ := stores[0].List()
	if len(ids) != writers+1 {
		t.Fatalf("List = %v, want %d ids", ids, writers+1)
	}
	assertNoTempFiles(t, dir)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			t.Fatalf("temp file left behind: %s", e.Name())
		}
	}
}

func TestFileStoreAtomicWriteFailureLeavesOldValue(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	if os.Getuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	s := openFileT(t, dir, rawKey(t))
	if err := s.Put("a", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil { // no new files: the temp file cannot be created
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if err := s.Put("a", []byte("new")); err == nil {
		t.Fatal("Put into a read-only dir succeeded")
	}
	got, err := s.Get("a")
	if err != nil || string(got) != "old" {
		t.Fatalf("after failed Put: %q, %v; want old", got, err)
	}
	assertNoTempFiles(t, dir)
}

func TestFileStoreNoTempFilesAfterWrites(t *testing.T) {
	dir := t.TempDir()
	s := openFileT(t, dir, "")
	for i := range 10 {
		if err := s.Put("x", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	assertNoTempFiles(t, dir)
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{checkFileName, keyFileName, lockFileName, "x.json"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("dir has %v, want %v", names, want)
	}
}

func TestFileStorePlaintextOnlyWhenAllowed(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	dir := t.TempDir()
	// A key file that is a directory cannot be read or created.
	if err := os.Mkdir(filepath.Join(dir, keyFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(FileOptions{Dir: dir}); err == nil {
		t.Fatal("OpenFile without key or plaintext permission succeeded")
	}
	s, err := OpenFile(FileOptions{Dir: dir, AllowPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("p", []byte("visible")); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, fileName("p")))
	if !strings.Contains(string(raw), `"v":0`) {
		t.Fatalf("plaintext store wrote %s", raw)
	}
	if got, err := s.Get("p"); err != nil || string(got) != "visible" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestFileNameRoundTrip(t *testing.T) {
	for _, id := range []string{"a", "claude-code:x@y.z", ".hidden", "a/b\\c", "ü", "100%"} {
		name := fileName(id)
		if strings.ContainsAny(name, `/\:`) || strings.HasPrefix(name, ".") {
			t.Errorf("fileName(%q) = %q is unsafe", id, name)
		}
		back, ok := idFromFileName(name)
		if !ok || back != id {
			t.Errorf("idFromFileName(%q) = %q, %v; want %q", name, back, ok, id)
		}
	}
}

func TestInvalidIDs(t *testing.T) {
	s := openFileT(t, t.TempDir(), "")
	for _, id := range []string{"", "__index__", "a#0", "x\n"} {
		if err := s.Put(id, []byte("v")); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Put(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}

func BenchmarkFileStorePut(b *testing.B) {
	s := openFileT(b, b.TempDir(), rawKey(b))
	v := bytes.Repeat([]byte("t"), 4096)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Put("bench", v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileStoreGet(b *testing.B) {
	s := openFileT(b, b.TempDir(), rawKey(b))
	if err := s.Put("bench", bytes.Repeat([]byte("t"), 4096)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get("bench"); err != nil {
			b.Fatal(err)
		}
	}
}
