package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTokenEndpointErrorShapes(t *testing.T) {
	cases := []struct {
		name, body, amzn string
		status           int
		wantCode         string
		invalidGrant     bool
	}{
		{"rfc6749", `{"error":"invalid_grant","error_description":"expired"}`, "", 400, "invalid_grant", true},
		{"github 200 error", `{"error":"authorization_pending","error_uri":"x"}`, "", 200, "authorization_pending", false},
		{"aws header", `{"error":"slow_down"}`, "SlowDownException:http://internal.amazon.com/coral/com.amazonaws.ssooidc/", 400, "slow_down", false},
		{"aws __type only", `{"__type":"com.amazonaws.ssooidc#ExpiredTokenException"}`, "", 400, "expired_token", false},
		{"aws header only", `{}`, "InvalidGrantException:http://x/", 400, "invalid_grant", true},
		{"openai nested", `{"error":{"code":"refresh_token_reused","message":"already used"}}`, "", 401, "refresh_token_reused", true},
		{"google nested", `{"error":{"code":401,"status":"UNAUTHENTICATED","message":"bad"}}`, "", 401, "UNAUTHENTICATED", false},
		{"plain 500", `oops`, "", 500, "http_500", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.amzn != "" {
					w.Header().Set("x-amzn-ErrorType", tc.amzn)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := postJSONOrForm(context.Background(), srv.Client(), srv.URL, BodyForm, map[string]string{"a": "b"}, nil)
			var te *TokenError
			if !errors.As(err, &te) || te.Code != tc.wantCode {
				t.Fatalf("err = %v, want code %s", err, tc.wantCode)
			}
			if errors.Is(err, ErrInvalidGrant) != tc.invalidGrant {
				t.Fatalf("Is(ErrInvalidGrant) = %v", !tc.invalidGrant)
			}
		})
	}
}
