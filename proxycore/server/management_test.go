package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const mgmtSecretForTests = "mgmt-secret-key-for-tests-7c1d"

func TestManagementConfigViewIsRedacted(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[remote-management]\nsecret-key = \""+mgmtSecretForTests+"\"\n")
	if r := p.do(t, "GET", "/v0/management/config", "", "Authorization", ""); r.StatusCode != 401 {
		t.Fatalf("without the management key: %d", r.StatusCode)
	}
	resp := p.do(t, "GET", "/v0/management/config", "", "Authorization", "Bearer "+mgmtSecretForTests)
	body := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("config view: %d %s", resp.StatusCode, body)
	}
	for _, secret := range []string{upstreamKey, clientKeyForTests, mgmtSecretForTests} {
		if strings.Contains(body, secret) {
			t.Errorf("config view shows a secret ending in %s", secret[len(secret)-4:])
		}
	}
	var tree map[string]any
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		t.Fatal(err)
	}
	openai, _ := tree["openai"].([]any)
	if len(openai) != 1 {
		t.Fatalf("config view lacks the [[openai]] entry under its file key name: %s", body)
	}
	if got := openai[0].(map[string]any)["api-key"]; got != "****"+upstreamKey[len(upstreamKey)-4:] {
		t.Errorf("api-key shown as %v, want the last four characters only", got)
	}
	if _, ok := tree["routing"].(map[string]any)["strategy"]; !ok {
		t.Errorf("config view lacks routing.strategy: %s", body)
	}
}

func TestManagementHealthAndReset(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[remote-management]\nsecret-key = \""+mgmtSecretForTests+"\"\n")
	readAll(t, p.do(t, "POST", "/v1/chat/completions", chatBody))
	resp := p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", mgmtSecretForTests)
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `"credential_id": "openai-1"`) || !strings.Contains(body, `"state": "HEALTHY"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	if r := p.do(t, "POST", "/v0/management/credentials/openai-1/reset", "", "X-Management-Key", mgmtSecretForTests); r.StatusCode != 200 {
		t.Errorf("reset: %d", r.StatusCode)
	}
	r := p.do(t, "POST", "/v0/management/credentials/nope/reset", "", "X-Management-Key", mgmtSecretForTests)
	if b := readAll(t, r); r.StatusCode != 404 || !strings.Contains(b, "GET /v0/management/health") {
		t.Errorf("reset unknown: %d %s", r.StatusCode, b)
	}
}

func TestManagementKeyGuessingIsThrottled(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	p := startProxy(t, openAIConfig(up)+"[remote-management]\nsecret-key = \""+mgmtSecretForTests+"\"\n")
	for i := 0; i < 5; i++ {
		if r := p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", "wrong-guess"); r.StatusCode != 401 {
			t.Fatalf("guess %d: %d", i, r.StatusCode)
		}
	}
	r := p.do(t, "GET", "/v0/management/health", "", "X-Management-Key", mgmtSecretForTests)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("after five wrong keys even the right one waits: %d", r.StatusCode)
	}
}
