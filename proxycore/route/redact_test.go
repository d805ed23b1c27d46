package route

import (
	"errors"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		in, secret, keep string
	}{
		{"GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA1b2C3d4E5f6&alt=sse", "AIzaSyA1b2C3d4E5f6", "alt=sse"},
		{"upstream said: invalid api_key=sk-proj-abcdef123456", "sk-proj-abcdef123456", "upstream said"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig rejected", "eyJhbGciOiJIUzI1NiJ9", "rejected"},
		{"token sk-ant-api03-AbCdEfGhIjKl leaked", "AbCdEfGhIjKl", "leaked"},
		{"copilot ghu_abcdefghijklmnop expired", "ghu_abcdefghijklmnop", "expired"},
		{"refresh_token=xyz789&grant_type=refresh_token", "xyz789", "grant_type"},
	}
	for _, tt := range tests {
		got := redact(tt.in)
		if strings.Contains(got, tt.secret) || !strings.Contains(got, tt.keep) {
			t.Errorf("redact(%q) = %q", tt.in, got)
		}
	}
	long := strings.Repeat("x", 1000)
	if got := redact(long); len(got) != maxErrText+3 {
		t.Errorf("redact did not shorten: %d chars", len(got))
	}
	r, _ := newRouter(t, nil)
	r.MarkError("c", "refresh failed with Bearer abcdefghijkl; log in again")
	if msg, _ := r.ErrorMessage("c"); strings.Contains(msg, "abcdefghijkl") {
		t.Errorf("MarkError kept a secret: %q", msg)
	}
}

func TestUnknownModelErrorText(t *testing.T) {
	err := error(&UnknownModelError{Model: "gpt-9"})
	if !strings.Contains(err.Error(), `"gpt-9"`) || !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("error = %q", err)
	}
}
