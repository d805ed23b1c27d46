package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// TestCoreServesWithoutItsDatabase starts the Core on a database file that is not a database. It must
// still serve with the client key and the logged-in accounts, say why spend is unavailable (readiness,
// the notice, the management API, a virtual key's 503) and leave the file as it was.
func TestCoreServesWithoutItsDatabase(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	e := newTestEnv(t, fmt.Sprintf("[remote-management]\nsecret-key = %q\n[[openai]]\napi-key = \"sk-upstream-key\"\nbase-url = %q\nmodels = [\"gpt-4o\"]\n",
		testMgmtKey, up.URL+"/v1"))
	dbPath := filepath.Join(e.dataDir, "cliproxy.db")
	garbage := bytes.Repeat([]byte("this is not a database\n"), 300)
	if err := os.MkdirAll(e.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dbPath, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	// A logged-in account: its credential is in the keystore, its metadata in the unreadable file.
	ks, _, err := openKeystore(config.Keystore{}, e.dataDir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	cred := oauth.Credential{ID: "qwen-me", Provider: "qwen", Label: "me@example.com",
		Token: oauth.Token{AccessToken: "qwen-access-token-0123456789", RefreshToken: "qwen-refresh-0123456789", Expiry: time.Now().Add(time.Hour)}}
	if err := saveCredential(ks, cred); err != nil {
		t.Fatal(err)
	}

	log, secret := newSecretGuard(t)
	secret(testMgmtKey)
	secret("sk-upstream-key")
	secret("qwen-access-token-0123456789")
	c := openTestCore(t, e, log, nil)
	secret(c.ClientKey())
	if c.DatabaseError() == nil {
		t.Fatal("DatabaseError() = nil on a garbage database file")
	}
	if n := c.DatabaseNotice(); !strings.Contains(n, dbPath) || !strings.Contains(n, "Move it aside") {
		t.Errorf("notice %q: want the path and what to do", n)
	}
	var found bool
	for _, a := range c.Accounts() {
		found = found || (a.ID == "qwen-me" && a.Provider == "qwen" && a.Label == "me@example.com" && !a.Disabled)
	}
	if !found {
		t.Errorf("the keystore's account is not served: %+v", c.Accounts())
	}
	standIn := c.standInDir
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}

	if status, body := chat(t, c.BaseURL(), c.ClientKey(), "gpt-4o"); status != http.StatusOK {
		t.Fatalf("request with the client key: %d %s", status, body)
	}
	status, body := chat(t, c.BaseURL(), "sk-cp-0123456789abcdef0123456789abcdef", "gpt-4o")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "database is unavailable") || !strings.Contains(body, dbPath) {
		t.Errorf("virtual key: %d %s; want 503 saying the database is unavailable", status, body)
	}

	resp, err := http.Get(c.BaseURL() + "/health/readiness")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ready struct {
		Components map[string]map[string]any `json:"components"`
	}
	if err := json.Unmarshal(raw, &ready); err != nil {
		t.Fatal(err)
	}
	if sp := ready.Components["spend"]; sp["status"] != "unavailable" || !strings.Contains(fmt.Sprint(sp["error"]), dbPath) {
		t.Errorf("readiness spend = %v, want unavailable with the reason", sp)
	}
	for _, q := range []struct{ method, path, body string }{
		{http.MethodGet, "/spend", ""}, {http.MethodGet, "/requests", ""}, {http.MethodGet, "/keys", ""},
		{http.MethodPost, "/keys", `{"name":"x"}`}, {http.MethodDelete, "/keys/k1", ""},
	} {
		code, out, _ := mgmt(t, c, q.method, q.path, q.body)
		if code != http.StatusServiceUnavailable || !strings.Contains(errMessage(out), "could not be opened") {
			t.Errorf("%s %s: %d %v; want 503 explaining the database", q.method, q.path, code, out)
		}
	}

	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(dbPath); err != nil || !bytes.Equal(got, garbage) {
		t.Errorf("the unreadable database file was changed (%v)", err)
	}
	if _, err := os.Stat(standIn); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stand-in database %s outlived Close (%v)", standIn, err)
	}
}
