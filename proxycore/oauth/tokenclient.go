package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxTokenBody caps how much of a token endpoint answer is read.
const maxTokenBody = 1 << 20

// BodyFormat is how a token request body is encoded.
type BodyFormat int

// Token request encodings: form (RFC 6749 §4.1.3, used by Codex, Google, GitHub, Qwen) or JSON
// (Claude's token endpoint and AWS SSO-OIDC take JSON).
const (
	BodyForm BodyFormat = iota
	BodyJSON
)

// randomString returns n random bytes in unpadded base64url.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // rand.Read never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newPKCE returns a code verifier (43 chars, RFC 7636 §4.1) and its S256 challenge
// (BASE64URL(SHA256(verifier)), RFC 7636 §4.2).
func newPKCE() (verifier, challenge string) {
	verifier = randomString(32)
	return verifier, s256(verifier)
}

// s256 is the PKCE S256 transform.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// rawResponse is a decoded token endpoint JSON answer, kept whole so hooks can read provider fields.
type rawResponse map[string]any

func (r rawResponse) str(keys ...string) string {
	for _, k := range keys {
		switch v := r[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

func (r rawResponse) num(keys ...string) (float64, bool) {
	for _, k := range keys {
		switch v := r[k].(type) {
		case float64:
			return v, true
		case string:
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f, true
			}
		}
	}
	return 0, false
}

func (r rawResponse) obj(key string) rawResponse {
	if m, ok := r[key].(map[string]any); ok {
		return m
	}
	return nil
}

// postJSONOrForm sends params to endpoint and returns the decoded JSON answer. OAuth error answers
// ({"error": ...}) become *TokenError whatever the status, because GitHub reports device-flow states
// with HTTP 200 (GitHub docs "Authorizing OAuth apps", device flow error codes) and AWS SSO-OIDC
// names them in x-amzn-ErrorType (SSO OIDC API reference, CreateToken errors).
func postJSONOrForm(ctx context.Context, client *http.Client, endpoint string, format BodyFormat, params map[string]string, header http.Header) (rawResponse, error) {
	var body io.Reader
	var ctype string
	if format == BodyJSON {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("encoding token request: %w", err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	} else {
		v := url.Values{}
		for k, val := range params {
			v.Set(k, val)
		}
		body, ctype = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, body)
	if err != nil {
		return nil, fmt.Errorf("building token request: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return doJSON(client, req)
}

// doJSON runs req and decodes a JSON object answer, mapping OAuth/AWS error answers to *TokenError.
func doJSON(client *http.Client, req *http.Request) (rawResponse, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", redactURL(req.URL), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, fmt.Errorf("reading answer from %s: %w", redactURL(req.URL), err)
	}
	var raw rawResponse
	jsonErr := json.Unmarshal(b, &raw)
	if code := awsErrorCode(resp.Header.Get("x-amzn-ErrorType"), raw); code != "" {
		return nil, &TokenError{Status: resp.StatusCode, Code: code, Description: raw.str("error_description", "message")}
	}
	if e := raw.obj("error"); e != nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		// Nested API errors: OpenAI {"error":{"code":"refresh_token_reused","message":...}},
		// Google {"error":{"code":401,"status":"UNAUTHENTICATED","message":...}}.
		code, _ := e["code"].(string)
		code = firstNonEmpty(code, e.str("status"), e.str("type"), fmt.Sprintf("http_%d", resp.StatusCode))
		return nil, &TokenError{Status: resp.StatusCode, Code: code, Description: e.str("message")}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &TokenError{Status: resp.StatusCode, Code: fmt.Sprintf("http_%d", resp.StatusCode)}
	}
	if jsonErr != nil || raw == nil {
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		return nil, fmt.Errorf("%w from %s: not a JSON object (content type %q, %d bytes)", ErrMalformedResponse, redactURL(req.URL), mt, len(b))
	}
	return raw, nil
}

// awsErrorCode returns the OAuth error code of an answer, normalising AWS exception names
// (AuthorizationPendingException, SlowDownException, ...) to RFC 8628 codes.
func awsErrorCode(amznType string, raw rawResponse) string {
	code := raw.str("error")
	if code == "" {
		code = raw.str("__type")
	}
	if code == "" {
		code = amznType
	}
	// x-amzn-ErrorType is "Name:namespace-url", __type is "namespace#Name".
	if i := strings.IndexByte(code, ':'); i > 0 && strings.HasSuffix(code[:i], "Exception") {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	switch code {
	case "AuthorizationPendingException":
		return "authorization_pending"
	case "SlowDownException":
		return "slow_down"
	case "ExpiredTokenException":
		return "expired_token"
	case "AccessDeniedException":
		return "access_denied"
	case "InvalidGrantException":
		return "invalid_grant"
	case "InvalidClientException", "UnauthorizedClientException":
		return "invalid_client"
	case "InvalidRequestException":
		return "invalid_request"
	}
	return code
}

// redactURL drops the query (it may hold codes) from a URL for error messages.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.User, c.Fragment = "", nil, ""
	return c.String()
}

// tokenFromResponse reads the standard (snake_case, RFC 6749 §5.1) or AWS (camelCase) token fields.
// A missing access token is a malformed answer: nothing may be stored from it.
func tokenFromResponse(raw rawResponse, now time.Time) (Token, error) {
	t := Token{
		AccessToken:  raw.str("access_token", "accessToken"),
		RefreshToken: raw.str("refresh_token", "refreshToken"),
		IDToken:      raw.str("id_token", "idToken"),
		TokenType:    raw.str("token_type", "tokenType"),
		Scope:        raw.str("scope"),
	}
	if t.AccessToken == "" {
		return Token{}, fmt.Errorf("%w: no access token in the answer", ErrMalformedResponse)
	}
	if sec, ok := raw.num("expires_in", "expiresIn"); ok {
		if sec <= 0 || sec > 10*365*24*3600 {
			return Token{}, fmt.Errorf("%w: expires_in %v out of range", ErrMalformedResponse, sec)
		}
		t.Expiry = now.Add(time.Duration(sec) * time.Second)
	}
	return t, nil
}

// getJSON sends an authorised GET (or POST with a JSON body when body != nil) and decodes the answer.
func getJSON(ctx context.Context, client *http.Client, method, endpoint, authorization string, body any) (rawResponse, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, rd)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return doJSON(client, req)
}
