package qwen

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

const goodToken = "qwen-oauth-good-access-token"

const chatBody = `{"model":"qwen3-coder-plus","messages":[{"role":"user","content":"hi"}]}`

// The Qwen OAuth API is OpenAI chat at https://<resource_url>/v1 (PROVIDERS.md "qwen"), so the
// OpenAI-compatible fake under /v1 stands in for it; its answers carry no quota headers, like Qwen's.

func newExec(t *testing.T, base string, ts provider.TokenSource) provider.Executor {
	t.Helper()
	return accttest.Exec(t, New, "qwen:me@example.com", base, ts)
}

func TestResourceURLAndHeaders(t *testing.T) {
	up := proxytest.NewOpenAICompatible(t, proxytest.WithAPIKey(goodToken))
	cases := []struct {
		name, base string
		tok        oauth.Token
	}{
		// The fake's host:port as the token's resource_url; the setting points at a dead port.
		{"resource_url from the token", accttest.DeadURL(t), accttest.Bearer(goodToken, oauth.ExtraResourceURL, up.URL)},
		{"base-url without resource_url", up.URL + "/v1", accttest.Bearer(goodToken)},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newExec(t, tc.base, &accttest.Tokens{Current: tc.tok})
			client := http.Header{}
			client.Set("Authorization", "Bearer client-proxy-key")
			resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpChat, Body: []byte(chatBody), Header: client})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			r := up.Requests()[i]
			if r.Path != "/v1/chat/completions" {
				t.Errorf("path %s", r.Path)
			}
			want := map[string]string{
				"Authorization":            "Bearer " + goodToken,
				"X-Dashscope-Authtype":     "qwen-oauth",
				"X-Dashscope-Cachecontrol": "enable",
				"Accept":                   "application/json",
			}
			for k, v := range want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			ua := r.Header.Get("User-Agent")
			if !strings.HasPrefix(ua, "QwenCode/"+ClientVersion+" (") || r.Header.Get("X-Dashscope-Useragent") != ua {
				t.Errorf("User-Agent %q, X-DashScope-UserAgent %q", ua, r.Header.Get("X-Dashscope-Useragent"))
			}
		})
	}
}

func TestAuthRetry(t *testing.T) {
	up := proxytest.NewOpenAICompatible(t, proxytest.WithAPIKey(goodToken))
	accttest.AuthRetry(t, up, goodToken, func(t *testing.T, ts provider.TokenSource) provider.Executor {
		return newExec(t, accttest.DeadURL(t), ts)
	}, provider.Call{Op: provider.OpChat, Body: []byte(chatBody)}, oauth.ExtraResourceURL, up.URL)
}

func TestCancelStopsUpstream(t *testing.T) {
	up := proxytest.NewOpenAICompatible(t, proxytest.WithAPIKey(goodToken))
	e := newExec(t, up.URL+"/v1", &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	body := strings.Replace(chatBody, `"messages"`, `"stream":true,"messages"`, 1)
	accttest.Cancel(t, up, e, provider.Call{Op: provider.OpChat, Stream: true, Body: []byte(body)})
}

func TestNetworkErrorHasNoToken(t *testing.T) {
	e := newExec(t, accttest.DeadURL(t), &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	_, err := e.Do(t.Context(), &provider.Call{Op: provider.OpChat, Body: []byte(chatBody)})
	accttest.NoSecret(t, err, goodToken)
	if e.Supports(provider.OpResponses) || !e.Supports(provider.OpChat) {
		t.Error("Supports")
	}
}
