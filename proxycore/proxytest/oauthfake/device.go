package oauthfake

import (
	"cmp"
	"net/http"
	"strings"
	"time"
)

func (s *Server) routesDevice(mux *http.ServeMux) {
	mux.HandleFunc("POST /github/login/device/code", s.githubDeviceCode)
	mux.HandleFunc("POST /github/login/oauth/access_token", s.githubToken)
	mux.HandleFunc("GET /github/api/user", s.githubUser)
	mux.HandleFunc("GET /github/api/copilot_internal/v2/token", s.copilotToken)
	mux.HandleFunc("POST /qwen/api/v1/oauth2/device/code", s.qwenDeviceCode)
	mux.HandleFunc("POST /qwen/api/v1/oauth2/token", s.qwenToken)
	mux.HandleFunc("POST /aws/client/register", s.awsRegister)
	mux.HandleFunc("POST /aws/device_authorization", s.awsDeviceAuth)
	mux.HandleFunc("POST /aws/token", s.awsToken)
	mux.HandleFunc("POST /kiro/refreshToken", s.kiroSocialRefresh)
}

// kiroSocialRefresh answers like the Kiro auth service's refreshToken call for social logins:
// {"refreshToken"} in, {accessToken, refreshToken, expiresIn, profileArn} out. The error shape of
// the real service is not documented; the fake answers 401 with a message.
func (s *Server) kiroSocialRefresh(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(r, true)
	s.record(r, f)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "bad request"})
		return
	}
	if status, _ := s.useRefresh("kiro", f["refreshToken"]); status != 0 {
		if status < 500 {
			status = http.StatusUnauthorized
		}
		writeJSON(w, status, map[string]string{"message": "Invalid refresh token"})
		return
	}
	a, rt, ttl := s.newTokens("kiro", "aoa", "aor")
	writeJSON(w, http.StatusOK, map[string]any{
		"accessToken": a, "refreshToken": rt, "expiresIn": int(ttl / time.Second),
		"profileArn": "arn:aws:codewhisperer:us-east-1:000000000000:profile/FAKE",
	})
}

func (s *Server) newDevice(provider, clientID, challenge string) string {
	dc := "dc-" + randHex(10)
	s.mu.Lock()
	s.devices[dc] = &device{provider: provider, clientID: clientID, challenge: challenge}
	s.mu.Unlock()
	return dc
}

// pollDevice decides the answer to one device poll: "" means approved, otherwise an RFC 8628 §3.5
// error code.
func (s *Server) pollDevice(provider, dc, verifier string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls[provider]++
	d := s.devices[dc]
	switch {
	case d == nil || d.provider != provider || d.used:
		return "invalid_grant"
	case d.challenge != "" && !pkceOK(verifier, d.challenge):
		return "invalid_grant"
	case s.knobs.ExpireDevice:
		return "expired_token"
	case s.knobs.DenyDevice:
		return "access_denied"
	}
	d.polls++
	if s.knobs.SlowDownOnce && !d.slowed {
		d.slowed = true
		return "slow_down"
	}
	if d.polls <= s.knobs.PendingPolls {
		return "authorization_pending"
	}
	d.used = true
	return ""
}

// githubDeviceCode answers like POST github.com/login/device/code with Accept: application/json.
func (s *Server) githubDeviceCode(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(r, false)
	s.record(r, f)
	if !ok || f["client_id"] != GitHubClientID {
		oauthError(w, http.StatusBadRequest, "incorrect_client_credentials", "The client_id is not valid.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": s.newDevice("copilot", f["client_id"], ""), "user_code": DeviceUserCode,
		"verification_uri": "https://github.com/login/device", "expires_in": 899, "interval": 5,
	})
}

// githubToken answers device polls like github.com/login/oauth/access_token: errors come with HTTP
// 200 and error, error_description, error_uri (GitHub docs, "Error codes for the device flow");
// slow_down also carries the new interval.
func (s *Server) githubToken(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(r, false)
	s.record(r, f)
	if !ok || f["grant_type"] != "urn:ietf:params:oauth:grant-type:device_code" {
		writeJSON(w, http.StatusOK, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	if s.getKnobs().MalformedToken {
		malformed(w)
		return
	}
	if code := s.pollDevice("copilot", f["device_code"], ""); code != "" {
		body := map[string]any{"error": code, "error_description": "device flow: " + code,
			"error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow"}
		if code == "slow_down" {
			body["interval"] = 10
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	a, _, _ := s.newTokens("copilot", "gho_", "unused_")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": a, "token_type": "bearer", "scope": "read:user"})
}

func ghToken(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "token ")
}

// githubUser answers like GET api.github.com/user.
func (s *Server) githubUser(w http.ResponseWriter, r *http.Request) {
	s.record(r, nil)
	if !s.validAccess(ghToken(r)) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"login": GitHubLogin, "id": 583231, "type": "User"})
}

// copilotToken answers like GET api.github.com/copilot_internal/v2/token.
func (s *Server) copilotToken(w http.ResponseWriter, r *http.Request) {
	s.record(r, nil)
	if !strings.HasPrefix(r.Header.Get("Authorization"), "token ") || !s.validAccess(ghToken(r)) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
		return
	}
	s.mu.Lock()
	s.refreshes["copilot"]++
	failing := s.knobs.RefreshError
	ttl := s.knobs.AccessTTL
	api := cmp.Or(s.knobs.CopilotAPIURL, CopilotAPI)
	s.mu.Unlock()
	if failing == "server_error" {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "internal error"})
		return
	}
	if ttl <= 0 {
		ttl = 30 * time.Minute
	}
	exp := s.now().Add(ttl).Unix()
	tok, _, _ := s.newTokens("copilot-api", "tid=fake;exp="+time.Unix(exp, 0).UTC().Format("20060102T150405")+";sku=free;", "x")
	writeJSON(w, http.StatusOK, map[string]any{
		"token": tok, "expires_at": exp, "refresh_in": int(ttl/time.Second) - 300,
		"endpoints": map[string]any{"api": api, "proxy": "https://proxy.individual.githubcopilot.example"},
	})
}

// qwenDeviceCode answers like chat.qwen.ai/api/v1/oauth2/device/code (PKCE required).
func (s *Server) qwenDeviceCode(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(r, false)
	s.record(r, f)
	if !ok || f["client_id"] != QwenClientID || f["code_challenge_method"] != "S256" || f["code_challenge"] == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_id and an S256 code_challenge are required")
		return
	}
	dc := s.newDevice("qwen", f["client_id"], f["code_challenge"])
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": dc, "user_code": DeviceUserCode, "verification_uri": "https://chat.qwen.ai/authorize",
		"verification_uri_complete": "https://chat.qwen.ai/authorize?user_code=" + DeviceUserCode + "&client=qwen-code",
		"expires_in":                900,
	})
}

// qwenToken answers device polls (400 authorization_pending, 429 slow_down) and refresh grants.
func (s *Server) qwenToken(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(r, false)
	s.record(r, f)
	if !ok || f["client_id"] != QwenClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client", "unknown client")
		return
	}
	if s.getKnobs().MalformedToken {
		malformed(w)
		return
	}
	switch f["grant_type"] {
	case "urn:ietf:params:oauth:grant-type:device_code":
		if code := s.pollDevice("qwen", f["device_code"], f["code_verifier"]); code != "" {
			status := http.StatusBadRequest
			if code == "slow_down" {
				status = http.StatusTooManyRequests
			}
			oauthError(w, status, code, "device flow: "+code)
			return
		}
	case "refresh_token":
		if status, code := s.useRefresh("qwen", f["refresh_token"]); status != 0 {
			oauthError(w, status, code, "refresh failed")
			return
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", f["grant_type"])
		return
	}
	a, rt, ttl := s.newTokens("qwen", "qwen-at-", "qwen-rt-")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": a, "refresh_token": rt, "token_type": "Bearer", "expires_in": int(ttl / time.Second),
		"scope": "openid profile email model.completion", "resource_url": cmp.Or(s.getKnobs().QwenResourceURL, ResourceURL),
	})
}

// awsError writes an SSO-OIDC error: HTTP 400 (401 for client errors), x-amzn-ErrorType naming the
// exception and a body with error and error_description (AWS SSO OIDC API reference, CreateToken).
func awsError(w http.ResponseWriter, code string) {
	exc := map[string]string{
		"authorization_pending": "AuthorizationPendingException", "slow_down": "SlowDownException",
		"expired_token": "ExpiredTokenException", "access_denied": "AccessDeniedException",
		"invalid_grant": "InvalidGrantException", "invalid_client": "InvalidClientException",
		"invalid_request": "InvalidRequestException",
	}[code]
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	w.Header().Set("x-amzn-ErrorType", exc+":http://internal.amazon.com/coral/com.amazonaws.ssooidc/")
	writeJSON(w, status, map[string]string{"error": code, "error_description": exc})
}

func (s *Server) awsRegister(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(r, true)
	s.record(r, f)
	if !ok || f["clientName"] == "" || f["clientType"] != "public" {
		awsError(w, "invalid_request")
		return
	}
	id, secret := s.RegisterAWSClient()
	now := s.now().Unix()
	writeJSON(w, http.StatusOK, map[string]any{
		"clientId": id, "clientSecret": secret, "clientIdIssuedAt": now, "clientSecretExpiresAt": now + 90*24*3600,
	})
}

func (s *Server) awsClientOK(f map[string]string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.clients[f["clientId"]]
	return ok && sec == f["clientSecret"]
}

func (s *Server) awsDeviceAuth(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(r, true)
	s.record(r, f)
	if !ok || !s.awsClientOK(f) {
		awsError(w, "invalid_client")
		return
	}
	if f["startUrl"] == "" {
		awsError(w, "invalid_request")
		return
	}
	dc := s.newDevice("kiro", f["clientId"], "")
	writeJSON(w, http.StatusOK, map[string]any{
		"deviceCode": dc, "userCode": DeviceUserCode, "verificationUri": "https://device.sso.us-east-1.amazonaws.com/",
		"verificationUriComplete": "https://device.sso.us-east-1.amazonaws.com/?user_code=" + DeviceUserCode,
		"expiresIn":               600, "interval": 1,
	})
}

func (s *Server) awsToken(w http.ResponseWriter, r *http.Request) {
	f, ok := readBody(r, true)
	s.record(r, f)
	if !ok || !s.awsClientOK(f) {
		awsError(w, "invalid_client")
		return
	}
	if s.getKnobs().MalformedToken {
		malformed(w)
		return
	}
	switch f["grantType"] {
	case "urn:ietf:params:oauth:grant-type:device_code":
		if code := s.pollDevice("kiro", f["deviceCode"], ""); code != "" {
			awsError(w, code)
			return
		}
	case "refresh_token":
		if status, code := s.useRefresh("kiro", f["refreshToken"]); status != 0 {
			if status >= 500 {
				writeJSON(w, status, map[string]string{"message": "internal"})
				return
			}
			awsError(w, code)
			return
		}
	default:
		awsError(w, "invalid_request")
		return
	}
	a, rt, ttl := s.newTokens("kiro", "aoa", "aor")
	writeJSON(w, http.StatusOK, map[string]any{
		"accessToken": a, "tokenType": "Bearer", "expiresIn": int(ttl / time.Second), "refreshToken": rt,
	})
}
