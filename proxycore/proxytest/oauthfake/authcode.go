package oauthfake

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// authProvider describes one authorization-code provider of the fake.
type authProvider struct {
	id, clientID, secret string
	jsonBody             bool // token endpoint takes JSON (Claude) instead of a form
	stateInExchange      bool
}

var (
	claudeAP = authProvider{id: "claude-code", clientID: ClaudeClientID, jsonBody: true, stateInExchange: true}
	codexAP  = authProvider{id: "codex", clientID: CodexClientID}
	googleAP = authProvider{id: "gemini-cli", clientID: GoogleClientID, secret: GoogleSecret}
)

func (s *Server) routesAuthCode(mux *http.ServeMux) {
	mux.HandleFunc("GET /claude/oauth/authorize", s.authorize(claudeAP))
	mux.HandleFunc("POST /claude/v1/oauth/token", s.token(claudeAP))
	mux.HandleFunc("GET /codex/oauth/authorize", s.authorize(codexAP))
	mux.HandleFunc("POST /codex/oauth/token", s.token(codexAP))
	mux.HandleFunc("GET /google/o/oauth2/v2/auth", s.authorize(googleAP))
	mux.HandleFunc("POST /google/token", s.token(googleAP))
	mux.HandleFunc("GET /google/oauth2/v1/userinfo", s.userinfo)
	mux.HandleFunc("POST /google/v1internal:loadCodeAssist", s.loadCodeAssist)
	mux.HandleFunc("POST /google/v1internal:onboardUser", s.onboardUser)
}

// authorize plays the provider's consent page: it checks the request and redirects to the
// redirect_uri with code and state, or with error=access_denied (RFC 6749 §4.1.2, §4.1.2.1).
func (s *Server) authorize(ap authProvider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		fields := map[string]string{}
		for k := range q {
			fields[k] = q.Get(k)
		}
		s.record(r, fields)
		redirect, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || redirect.Host == "" {
			http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
			return
		}
		if q.Get("client_id") != ap.clientID || q.Get("response_type") != "code" ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
			http.Error(w, "invalid authorization request", http.StatusBadRequest)
			return
		}
		k := s.getKnobs()
		state := q.Get("state")
		if k.WrongState {
			state = "not-the-state-you-sent"
		}
		back := url.Values{"state": {state}}
		if k.DenyConsent {
			back.Set("error", "access_denied")
			back.Set("error_description", "The user denied the request")
		} else {
			code := "code-" + randHex(12)
			s.mu.Lock()
			s.codes[code] = authCode{provider: ap.id, clientID: ap.clientID, redirect: redirect.String(), challenge: q.Get("code_challenge"), state: q.Get("state")}
			s.mu.Unlock()
			back.Set("code", code)
		}
		redirect.RawQuery = back.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
}

// readBody returns the request fields from a JSON object or a form, checking the content type the
// provider expects.
func readBody(r *http.Request, wantJSON bool) (map[string]string, bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	fields := map[string]string{}
	if wantJSON {
		if mt != "application/json" {
			return nil, false
		}
		var m map[string]any
		if json.NewDecoder(r.Body).Decode(&m) != nil {
			return nil, false
		}
		for k, v := range m {
			fields[k] = fmt.Sprint(v)
		}
		return fields, true
	}
	if mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		return nil, false
	}
	for k := range r.PostForm {
		fields[k] = r.PostForm.Get(k)
	}
	return fields, true
}

func (s *Server) token(ap authProvider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, ok := readBody(r, ap.jsonBody)
		s.record(r, f)
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_request", "unsupported body encoding")
			return
		}
		if s.getKnobs().MalformedToken {
			malformed(w)
			return
		}
		if f["client_id"] != ap.clientID || (ap.secret != "" && f["client_secret"] != ap.secret) {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		switch f["grant_type"] {
		case "authorization_code":
			s.mu.Lock()
			c, found := s.codes[f["code"]]
			delete(s.codes, f["code"]) // codes are single use (RFC 6749 §4.1.2)
			s.mu.Unlock()
			switch {
			case !found || c.provider != ap.id:
				oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
				return
			case f["redirect_uri"] != c.redirect:
				oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
				return
			case !pkceOK(f["code_verifier"], c.challenge):
				oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match")
				return
			case ap.stateInExchange && f["state"] != c.state:
				oauthError(w, http.StatusBadRequest, "invalid_grant", "state mismatch")
				return
			}
		case "refresh_token":
			if status, code := s.useRefresh(ap.id, f["refresh_token"]); status != 0 {
				oauthError(w, status, code, "refresh failed")
				return
			}
		default:
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", f["grant_type"])
			return
		}
		s.writeAuthToken(w, ap, f["grant_type"] == "refresh_token")
	}
}

func (s *Server) writeAuthToken(w http.ResponseWriter, ap authProvider, isRefresh bool) {
	switch ap.id {
	case "claude-code":
		// Shape of Anthropic's OAuth token answer (access sk-ant-oat01-..., account.email_address).
		a, rt, ttl := s.newTokens(ap.id, "sk-ant-oat01-", "sk-ant-ort01-")
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "access_token": a, "refresh_token": rt, "expires_in": int(ttl / time.Second),
			"scope":        "user:inference user:profile",
			"organization": map[string]any{"uuid": "org-1111", "name": "Example Org"},
			"account":      map[string]any{"uuid": AccountID, "email_address": Email},
		})
	case "codex":
		// OpenAI answers with an id token whose "https://api.openai.com/auth" claim names the account.
		a, rt, ttl := s.newTokens(ap.id, "eyJ.codex-access-", "rt_")
		id := unsignedJWT(map[string]any{
			"email": Email, "iss": "https://auth.openai.com",
			"https://api.openai.com/auth": map[string]any{"chatgpt_account_id": AccountID, "chatgpt_plan_type": "plus"},
		})
		writeJSON(w, http.StatusOK, map[string]any{
			"id_token": id, "access_token": a, "refresh_token": rt, "expires_in": int(ttl / time.Second), "token_type": "Bearer",
		})
	case "gemini-cli":
		// Google's token endpoint omits refresh_token on refresh grants.
		a, rt, ttl := s.newTokens(ap.id, "ya29.", "1//")
		body := map[string]any{
			"access_token": a, "expires_in": int(ttl / time.Second), "token_type": "Bearer",
			"scope": "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email",
		}
		if !isRefresh {
			body["refresh_token"] = rt
		} else {
			s.mu.Lock()
			delete(s.refresh, rt)
			s.mu.Unlock()
		}
		writeJSON(w, http.StatusOK, body)
	}
}

func bearer(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// userinfo answers like Google's oauth2/v1/userinfo.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	s.record(r, nil)
	if !s.validAccess(bearer(r)) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": "1234567890", "email": Email, "verified_email": true, "name": "Test User"})
}

func (s *Server) codeAssistAuth(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.record(r, map[string]string{"body": fmt.Sprint(body)})
	if !s.validAccess(bearer(r)) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "status": "UNAUTHENTICATED"}})
		return nil, false
	}
	if md, _ := body["metadata"].(map[string]any); md == nil || md["pluginType"] != "GEMINI" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "status": "INVALID_ARGUMENT", "message": "metadata.pluginType required"}})
		return nil, false
	}
	return body, true
}

// loadCodeAssist answers like cloudcode-pa v1internal:loadCodeAssist.
func (s *Server) loadCodeAssist(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.codeAssistAuth(w, r); !ok {
		return
	}
	tiers := []map[string]any{{"id": "free-tier", "name": "Gemini Code Assist for individuals", "isDefault": true}}
	if s.getKnobs().NeedOnboarding {
		writeJSON(w, http.StatusOK, map[string]any{"allowedTiers": tiers})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"currentTier": tiers[0], "allowedTiers": tiers, "cloudaicompanionProject": ProjectID})
}

// onboardUser answers like the v1internal:onboardUser long-running operation.
func (s *Server) onboardUser(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.codeAssistAuth(w, r); !ok {
		return
	}
	s.mu.Lock()
	s.onboards++
	n, pending := s.onboards, s.knobs.OnboardPolls
	s.mu.Unlock()
	if n <= pending {
		writeJSON(w, http.StatusOK, map[string]any{"name": "operations/onboard-1", "done": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": "operations/onboard-1", "done": true,
		"response": map[string]any{"@type": "type.googleapis.com/google.internal.cloud.code.v1internal.OnboardUserResponse",
			"cloudaicompanionProject": map[string]any{"id": ProjectID, "name": "Fake Project"}}})
}
