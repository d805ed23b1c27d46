package oauthfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func postForm(t *testing.T, u string, v url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return do(t, req)
}

func postJSON(t *testing.T, u string, body any) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp, m
}

// TestDeviceErrorWireFormats pins the per-vendor shapes of a pending device poll: GitHub answers
// HTTP 200 with an error field, Qwen 400 with an RFC 6749 error body, AWS 400 with x-amzn-ErrorType.
func TestDeviceErrorWireFormats(t *testing.T) {
	s := New(nil)
	defer s.Close()

	_, dc := postForm(t, s.URL()+"/github/login/device/code", url.Values{"client_id": {GitHubClientID}, "scope": {"read:user"}})
	resp, body := postForm(t, s.URL()+"/github/login/oauth/access_token", url.Values{
		"client_id": {GitHubClientID}, "device_code": {dc["device_code"].(string)}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}})
	if resp.StatusCode != 200 || body["error"] != "authorization_pending" || body["error_uri"] == nil {
		t.Fatalf("github pending: %d %v", resp.StatusCode, body)
	}

	_, qd := postForm(t, s.URL()+"/qwen/api/v1/oauth2/device/code", url.Values{
		"client_id": {QwenClientID}, "code_challenge": {"abc"}, "code_challenge_method": {"S256"}})
	resp, body = postForm(t, s.URL()+"/qwen/api/v1/oauth2/token", url.Values{
		"client_id": {QwenClientID}, "device_code": {qd["device_code"].(string)}, "code_verifier": {"wrong"},
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}})
	if resp.StatusCode != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("qwen wrong verifier: %d %v", resp.StatusCode, body)
	}

	_, reg := postJSON(t, s.URL()+"/aws/client/register", map[string]any{"clientName": "t", "clientType": "public", "scopes": []string{"codewhisperer:completions"}})
	cid, csec := reg["clientId"].(string), reg["clientSecret"].(string)
	_, da := postJSON(t, s.URL()+"/aws/device_authorization", map[string]any{"clientId": cid, "clientSecret": csec, "startUrl": "https://view.awsapps.com/start"})
	if da["verificationUriComplete"] == nil || da["interval"] == nil {
		t.Fatalf("aws device authorization %v", da)
	}
	resp, body = postJSON(t, s.URL()+"/aws/token", map[string]any{"clientId": cid, "clientSecret": csec,
		"grantType": "urn:ietf:params:oauth:grant-type:device_code", "deviceCode": da["deviceCode"]})
	if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("x-amzn-ErrorType"), "AuthorizationPendingException") || body["error"] != "authorization_pending" {
		t.Fatalf("aws pending: %d %v %v", resp.StatusCode, resp.Header, body)
	}
}

// TestAuthorizeAndCodeSingleUse checks the authorize redirect and that a code works once, only
// with the right verifier.
func TestAuthorizeAndCodeSingleUse(t *testing.T) {
	s := New(nil)
	defer s.Close()
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	q := url.Values{"client_id": {CodexClientID}, "response_type": {"code"}, "redirect_uri": {"http://127.0.0.1:1/auth/callback"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {"st"}}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.URL() + "/codex/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize redirect %d %s", resp.StatusCode, loc)
	}
	exchange := func(v string) (int, map[string]any) {
		r, body := postForm(t, s.URL()+"/codex/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {CodexClientID},
			"code": {loc.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1:1/auth/callback"}, "code_verifier": {v}})
		return r.StatusCode, body
	}
	if st, body := exchange(verifier); st != 200 || body["id_token"] == nil {
		t.Fatalf("exchange: %d %v", st, body)
	}
	if st, body := exchange(verifier); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("second exchange: %d %v", st, body)
	}
}
