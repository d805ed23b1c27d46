package realkeychain

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/cliproxy/cliproxy/keystore"
)

// TestRealKeychain stores, chunks, lists and deletes entries in the real Secret Service (Linux),
// Keychain (macOS) or Credential Manager (Windows). On Linux CI:
//
//	XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- sh -c 'printf %s pw | gnome-keyring-daemon --unlock \
//	  --components=secrets >/dev/null && CLIPROXY_TEST_REAL_KEYCHAIN=1 go test -race -run Real ./keystore/...'
func TestRealKeychain(t *testing.T) {
	if os.Getenv("CLIPROXY_TEST_REAL_KEYCHAIN") != "1" {
		t.Skipf("set CLIPROXY_TEST_REAL_KEYCHAIN=1 and run under a keychain, e.g. on Linux: " +
			"XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- sh -c 'printf %%s pw | gnome-keyring-daemon --unlock " +
			"--components=secrets >/dev/null && CLIPROXY_TEST_REAL_KEYCHAIN=1 go test -race -run Real ./keystore/...'")
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	service := "cliproxy-test-" + hex.EncodeToString(suffix)
	s, backend, err := keystore.Open(keystore.Options{Backend: "keychain", Service: service}, nil)
	if err != nil || backend != keystore.BackendKeychain {
		t.Fatalf("Open keychain = %q, %v", backend, err)
	}
	values := map[string][]byte{
		"claude-code:real@example.com": bytes.Repeat([]byte(`{"access_token":"sk-ant-oat01-x"}`), 200), // chunked
		"codex:small":                  []byte("small"),
	}
	t.Cleanup(func() {
		for id := range values {
			_ = s.Delete(id)
		}
	})
	for id, v := range values {
		if err := s.Put(id, v); err != nil {
			t.Fatalf("Put(%q): %v", id, err)
		}
	}
	for id, v := range values {
		got, err := s.Get(id)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get(%q): len %d, %v", id, len(got), err)
		}
	}
	ids, err := s.List()
	if err != nil || len(ids) != 2 {
		t.Fatalf("List = %v, %v", ids, err)
	}
	for id := range values {
		if err := s.Delete(id); err != nil {
			t.Fatalf("Delete(%q): %v", id, err)
		}
		if _, err := s.Get(id); !errors.Is(err, keystore.ErrNotFound) {
			t.Fatalf("Get after Delete = %v", err)
		}
	}
	if ids, _ := s.List(); len(ids) != 0 {
		t.Fatalf("List after deletes = %v", ids)
	}
}
