package server

import (
	"strings"
	"testing"
)

func TestMaskerHidesCredentialShapes(t *testing.T) {
	m := newMasker([]string{"my-config-secret-123456"})
	cases := []struct{ in, want string }{
		{"plain text with no secrets", "plain text with no secrets"},
		{"key my-config-secret-123456 here", "key ****3456 here"},
		{"openai sk-proj-abcdefghijklmnop1234, done", "openai ****1234, done"},
		{"google AIzaSyA1234567890abcdefghijklmnopqrstuv!", "google ****stuv!"},
		{"gh ghu_abcdefghijklmnopqrst1234 end", "gh ****1234 end"},
		{"Authorization: BEARER abcdefghijklmnopWXYZ", "Authorization: BEARER ****WXYZ"},
		{"short sk-abc stays", "short sk-abc stays"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.signaturepart1234", "jwt ****1234"},
	}
	for _, tc := range cases {
		if got := m.Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSnippetCutsOnRuneBoundary(t *testing.T) {
	m := newMasker(nil)
	got := m.snippet([]byte(strings.Repeat("é", 10)), 5)
	if got != "éé...[truncated]" {
		t.Errorf("snippet = %q", got)
	}
}

func BenchmarkMaskRequestBody(b *testing.B) {
	m := newMasker([]string{"sk-upstream-secret-9a8b7c6d5e4f", "AIzaSyA1234567890abcdefghijklmnopqrstuv"})
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"` + strings.Repeat("Summarise the design document in three bullet points. ", 20) + `"}]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		_ = m.snippet(body, 64<<10)
	}
}
