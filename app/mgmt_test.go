package app

import (
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

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest/oauthfake"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

const testMgmtKey = "mgmt-secret-key-0123456789"

// mgmt calls a management route and decodes the JSON answer.
func mgmt(t testing.TB, c *Core, method, path, body string) (int, map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.BaseURL()+"/v0/management"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testMgmtKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	return resp.StatusCode, out, string(raw)
}

func errMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// startMgmtCore starts a Core with the management API on; secret registers values that must never be
// logged.
func startMgmtCore(t *testing.T, extra string) (c *Core, secret func(string)) {
	t.Helper()
	e := newTestEnv(t, fmt.Sprintf("[remote-management]\nsecret-key = %q\n", testMgmtKey)+extra)
	log, secret := newSecretGuard(t)
	secret(testMgmtKey)
	c = openTestCore(t, e, log, nil)
	secret(c.ClientKey())
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, secret
}

func TestManagementKeysSpendRequests(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	c, secret := startMgmtCore(t, fmt.Sprintf("[[openai]]\napi-key = \"sk-upstream-key\"\nbase-url = %q\nmodels = [\"gpt-4o\"]\n", up.URL+"/v1"))
	secret("sk-upstream-key")

	req, _ := http.NewRequest(http.MethodGet, c.BaseURL()+"/v0/management/keys", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the management key: %d", resp.StatusCode)
	}

	code, out, raw := mgmt(t, c, http.MethodPost, "/keys", `{"name":"ci","budget-usd":2,"budget-period":"daily","models":["gpt-*"],"expires-in":"7d"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, raw)
	}
	key := out["key"].(map[string]any)
	plain, id := key["key"].(string), key["id"].(string)
	secret(plain)
	if !strings.HasPrefix(plain, "sk-cp-") || key["expires-at"] == nil || key["status"] != "active" {
		t.Fatalf("created key %v", key)
	}
	code, _, raw = mgmt(t, c, http.MethodGet, "/keys", "")
	if code != http.StatusOK || !strings.Contains(raw, id) || strings.Contains(raw, plain) {
		t.Fatalf("list: %d %s", code, raw)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"budget-usd":1}`, "name"},
		{`{"name":"x","budget-period":"hourly"}`, "hourly"},
		{`{"name":"x","expires-in":"soon"}`, "expires-in"},
		{`{"name":`, "not valid JSON"},
		{`{"name":"x","colour":"red"}`, "colour"},
	} {
		code, out, _ := mgmt(t, c, http.MethodPost, "/keys", tc.body)
		if code != http.StatusBadRequest || !strings.Contains(errMessage(out), tc.want) {
			t.Errorf("create %s: %d %v", tc.body, code, out)
		}
	}

	// A request with the virtual key shows up in /requests and /spend. Its record event comes after the
	// spend row was queued; Flush then writes the row.
	events, unsubscribe := c.Subscribe()
	defer unsubscribe()
	if status, body := chat(t, c.BaseURL(), plain, "gpt-4o"); status != http.StatusOK {
		t.Fatalf("proxy request: %d %s", status, body)
	}
	waitEvent(t, events, "request")
	if err := c.writer.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, out, _ = mgmt(t, c, http.MethodGet, "/requests?limit=5", "")
	rows, _ := out["requests"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["key_id"] != id || rows[0].(map[string]any)["model"] != "gpt-4o" {
		t.Fatalf("requests %v", rows)
	}
	code, out, raw = mgmt(t, c, http.MethodGet, "/spend?group-by=model&days=7", "")
	groups, _ := out["groups"].([]any)
	if code != http.StatusOK || len(groups) != 1 || groups[0].(map[string]any)["key"] != "gpt-4o" {
		t.Fatalf("spend: %d %s", code, raw)
	}
	if total := out["total"].(map[string]any); total["requests"].(float64) != 1 {
		t.Fatalf("spend total %v", total)
	}
	code, out, raw = mgmt(t, c, http.MethodGet, "/spend?group-by=day&from=2000-01-01&to=2099-12-31", "")
	if groups, _ := out["groups"].([]any); code != http.StatusOK || len(groups) != 1 {
		t.Fatalf("spend from/to covering today: %d %s", code, raw)
	}
	code, out, raw = mgmt(t, c, http.MethodGet, "/spend?from=2000-01-01T00:00:00Z&to=2000-01-02", "")
	if groups, _ := out["groups"].([]any); code != http.StatusOK || len(groups) != 0 {
		t.Fatalf("spend from/to in the past: %d %s", code, raw)
	}
	for _, q := range []string{"/spend?group-by=colour", "/spend?days=0", "/requests?limit=x", "/spend?from=yesterday", "/spend?from=2001-01-02&to=2001-01-01"} {
		if code, out, _ := mgmt(t, c, http.MethodGet, q, ""); code != http.StatusBadRequest || errMessage(out) == "" {
			t.Errorf("%s: %d %v", q, code, out)
		}
	}

	if code, out, _ = mgmt(t, c, http.MethodDelete, "/keys/"+id, ""); code != http.StatusOK || out["revoked"] != true {
		t.Fatalf("revoke: %d %v", code, out)
	}
	if code, out, _ = mgmt(t, c, http.MethodDelete, "/keys/vk_missing", ""); code != http.StatusNotFound || !strings.Contains(errMessage(out), "GET /v0/management/keys") {
		t.Fatalf("revoke unknown: %d %v", code, out)
	}
	if status, _ := chat(t, c.BaseURL(), plain, "gpt-4o"); status != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d", status)
	}
}

func TestManagementAccountsAndLogins(t *testing.T) {
	fake := oauthfake.New(nil)
	t.Cleanup(fake.Close)
	c, secret := startMgmtCore(t, providersTOML(fake, "http://127.0.0.1:1"))
	secret("qwen-access-secret")
	secret("qwen-refresh-secret")
	info, err := c.ImportAccount(context.Background(), ImportedAccount{Provider: oauth.Qwen, Label: "q@example.com",
		Token: oauth.Token{AccessToken: "qwen-access-secret", RefreshToken: "qwen-refresh-secret", Expiry: time.Now().Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	code, out, raw := mgmt(t, c, http.MethodGet, "/accounts", "")
	if code != http.StatusOK || strings.Contains(raw, "secret") || !strings.Contains(raw, info.ID) || !strings.Contains(raw, `"provider_name": "Qwen"`) {
		t.Fatalf("accounts: %d %s", code, raw)
	}
	code, out, _ = mgmt(t, c, http.MethodPost, "/accounts/"+info.ID+"/disable", "")
	if code != http.StatusOK || out["account"].(map[string]any)["disabled"] != true {
		t.Fatalf("disable: %d %v", code, out)
	}
	code, out, _ = mgmt(t, c, http.MethodPost, "/accounts/"+info.ID+"/enable", "")
	if code != http.StatusOK || out["account"].(map[string]any)["disabled"] != false {
		t.Fatalf("enable: %d %v", code, out)
	}
	if code, _, _ = mgmt(t, c, http.MethodDelete, "/accounts/"+info.ID, ""); code != http.StatusOK {
		t.Fatalf("remove: %d", code)
	}
	if code, out, _ = mgmt(t, c, http.MethodDelete, "/accounts/"+info.ID, ""); code != http.StatusNotFound || !strings.Contains(errMessage(out), "lists them") {
		t.Fatalf("remove again: %d %v", code, out)
	}

	// A browser login finished by pasting the redirect address.
	code, out, raw = mgmt(t, c, http.MethodPost, "/logins", `{"provider":"claude-code"}`)
	if code != http.StatusCreated {
		t.Fatalf("start login: %d %s", code, raw)
	}
	login := out
	id, authURL := login["id"].(string), login["url"].(string)
	if login["status"] != "pending" || authURL == "" {
		t.Fatalf("login %v", login)
	}
	if code, out, _ = mgmt(t, c, http.MethodGet, "/logins/"+id, ""); code != http.StatusOK || out["status"] != "pending" {
		t.Fatalf("get login: %d %v", code, out)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, out, _ = mgmt(t, c, http.MethodPost, "/logins/"+id+"/redirect", `{"url":"http://127.0.0.1/callback?code=abc&state=not-this-login"}`); code != http.StatusBadRequest || errMessage(out) == "" {
		t.Fatalf("bad redirect: %d %v", code, out)
	}
	body, _ := json.Marshal(map[string]string{"url": resp.Header.Get("Location")})
	if code, out, raw = mgmt(t, c, http.MethodPost, "/logins/"+id+"/redirect", string(body)); code != http.StatusAccepted {
		t.Fatalf("redirect: %d %s", code, raw)
	}
	l, _ := c.LoginByID(id)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	acct, err := l.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cred, err := loadCredential(c.keystore(), acct.ID); err == nil {
		secret(cred.Token.AccessToken)
		secret(cred.Token.RefreshToken)
	}
	code, out, raw = mgmt(t, c, http.MethodGet, "/logins/"+id, "")
	if code != http.StatusOK || out["status"] != "ok" || out["label"] != acct.Label || !strings.Contains(raw, oauthfake.Email) || strings.Contains(raw, "sk-ant-o") {
		t.Fatalf("finished login: %d %s", code, raw)
	}

	// A device login shows its code and can be cancelled.
	code, out, raw = mgmt(t, c, http.MethodPost, "/logins/copilot", "")
	if code != http.StatusCreated || out["user-code"] != oauthfake.DeviceUserCode || out["verification-uri"] == nil {
		t.Fatalf("device login: %d %s", code, raw)
	}
	did := out["id"].(string)
	if code, _, _ = mgmt(t, c, http.MethodDelete, "/logins/"+did, ""); code != http.StatusOK {
		t.Fatalf("cancel: %d", code)
	}
	dl, _ := c.LoginByID(did)
	if _, err := dl.Wait(ctx); err == nil || dl.State() != LoginCanceled {
		t.Fatalf("cancelled device login: %v %s", err, dl.State())
	}
	if code, out, _ = mgmt(t, c, http.MethodGet, "/logins/"+did, ""); code != http.StatusOK || out["status"] != "error" || out["error"] == nil {
		t.Fatalf("cancelled login status: %d %v", code, out)
	}
	if code, out, _ = mgmt(t, c, http.MethodPost, "/logins", `{}`); code != http.StatusBadRequest || !strings.Contains(errMessage(out), "provider") {
		t.Fatalf("login without a provider: %d %v", code, out)
	}
	if code, out, _ = mgmt(t, c, http.MethodPost, "/logins/nope", ""); code != http.StatusNotFound || !strings.Contains(errMessage(out), "claude-code") {
		t.Fatalf("unknown provider: %d %v", code, out)
	}
	if code, _, _ = mgmt(t, c, http.MethodGet, "/logins/missing", ""); code != http.StatusNotFound {
		t.Fatalf("unknown login: %d", code)
	}
}

// TestManagementRequestLog covers the request log end to end: its file is created by the first logged
// request (not before), the bodies come back masked, and the entries page back with ?before=.
func TestManagementRequestLog(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	c, secret := startMgmtCore(t, fmt.Sprintf("[request-log]\nenable = true\n[[openai]]\napi-key = \"sk-upstream-key-0a1b2c3d4e5f\"\nbase-url = %q\nmodels = [\"gpt-4o\"]\n", up.URL+"/v1"))
	secret("sk-upstream-key-0a1b2c3d4e5f")
	logPath := store.RequestLogPath(filepath.Join(c.opts.DataDir, "cliproxy.db"))

	code, out, raw := mgmt(t, c, http.MethodGet, "/request-log", "")
	if entries, _ := out["entries"].([]any); code != http.StatusOK || len(entries) != 0 || out["enabled"] != true {
		t.Fatalf("empty request log: %d %s", code, raw)
	}
	if _, err := os.Stat(logPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the request log file exists before anything was logged (%v)", err)
	}

	// The prompt quotes a credential-shaped string: it must be stored masked.
	const leaked = "sk-proj-leakedleakedleaked9876"
	events, unsubscribe := c.Subscribe()
	defer unsubscribe()
	for i := range 3 {
		status, body := post(t, c.BaseURL()+"/v1/chat/completions",
			fmt.Sprintf(`{"model":"gpt-4o","messages":[{"role":"user","content":"request %d, my key is %s"}]}`, i, leaked),
			map[string]string{"Authorization": "Bearer " + c.ClientKey()})
		if status != http.StatusOK {
			t.Fatalf("proxy request: %d %s", status, body)
		}
		waitEvent(t, events, "request") // the log row is queued before the request's event
	}
	if err := c.reqLog.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(logPath); err != nil {
		t.Fatalf("the request log file was not created at %s: %v", logPath, err)
	}
	code, out, raw = mgmt(t, c, http.MethodGet, "/request-log?limit=2", "")
	entries, _ := out["entries"].([]any)
	if code != http.StatusOK || len(entries) != 2 {
		t.Fatalf("request log: %d %s", code, raw)
	}
	if strings.Contains(raw, leaked) || !strings.Contains(raw, "****9876") {
		t.Fatalf("the request body was not masked: %s", raw)
	}
	newest := entries[0].(map[string]any)
	if !strings.Contains(newest["request_body"].(string), "request 2") || newest["path"] != "/v1/chat/completions" ||
		newest["status"].(float64) != 200 || !strings.Contains(newest["response_body"].(string), "chat.completion") {
		t.Fatalf("newest entry %v", newest)
	}
	before := int64(entries[1].(map[string]any)["id"].(float64))
	code, out, raw = mgmt(t, c, http.MethodGet, fmt.Sprintf("/request-log?before=%d", before), "")
	if entries, _ := out["entries"].([]any); code != http.StatusOK || len(entries) != 1 ||
		!strings.Contains(entries[0].(map[string]any)["request_body"].(string), "request 0") {
		t.Fatalf("second page: %d %s", code, raw)
	}
	for _, q := range []string{"/request-log?before=x", "/request-log?before=0", "/request-log?limit=1000"} {
		if code, out, _ := mgmt(t, c, http.MethodGet, q, ""); code != http.StatusBadRequest || errMessage(out) == "" {
			t.Errorf("%s: %d %v", q, code, out)
		}
	}
}
