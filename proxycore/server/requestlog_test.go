package server

import (
	"sort"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/store"
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

// maskShapesReference is the masking maskShapes replaced: one strings.Index scan per shape and one for
// "bearer ", then the runs sorted by start (stably: a credential before a bearer value at the same byte).
func maskShapesReference(s string) string {
	var spans [][2]int
	for _, sh := range credentialShapes {
		for from := 0; ; {
			i := strings.Index(s[from:], sh.prefix)
			if i < 0 {
				break
			}
			i += from
			j := i + len(sh.prefix)
			for j < len(s) && sh.chars(s[j]) {
				j++
			}
			if j-i-len(sh.prefix) >= sh.min {
				spans = append(spans, [2]int{i, j})
			}
			from = j
		}
	}
	for from := 0; ; {
		i := -1
		for _, b := range []string{"bearer ", "Bearer ", "bEARER ", "BEARER "} {
			if k := strings.Index(s[from:], b); k >= 0 && (i < 0 || k < i) {
				i = k
			}
		}
		if i < 0 {
			break
		}
		i += from + len("bearer ")
		for i < len(s) && s[i] == ' ' {
			i++
		}
		j := i
		for j < len(s) && isTokenChar(s[j]) {
			j++
		}
		if j-i >= 12 {
			spans = append(spans, [2]int{i, j})
		}
		from = j
	}
	sort.SliceStable(spans, func(a, b int) bool { return spans[a][0] < spans[b][0] })
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		if sp[0] < last {
			continue
		}
		b.WriteString(s[last:sp[0]])
		b.WriteString(config.MaskSecret(s[sp[0]:sp[1]]))
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

var maskSeeds = []string{
	"", "plain text with no secrets", "openai sk-proj-abcdefghijklmnop1234, done", "sk-short sk-abcdefghijklmnopqrs",
	"Authorization: Bearer sk-abcdefghijklmnopqrstuv", "bearer bearer abcdefghijklmnop", "BeArEr abcdefghijklmnopqr",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.signaturepart1234", "ghp_abcdefghijklmnopqrstuvwx gho_ ghs_x",
	"github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "AIzaSyA1234567890abcdefghijklmnopqrstuv!", "sk-sk-sk-abcdefghijklmnop",
	"xsk-abcdefghijklmnopq eyJeyJeyJeyJeyJeyJeyJeyJeyJeyJeyJ", "Bearer    eyJhbGciOiJIUzI1NiJ9abcdefghijklmnopqrstuvwxyz",
	"key my-config-secret-123456 here", "é sk-abcdéfghijklmnop AIza\xff",
}

func TestMaskShapesMatchesReference(t *testing.T) {
	for _, s := range maskSeeds {
		if got, want := maskShapes(s), maskShapesReference(s); got != want {
			t.Errorf("maskShapes(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzMaskShapesMatchesReference(f *testing.F) {
	for _, s := range maskSeeds {
		f.Add(s)
	}
	m := newMasker([]string{"my-config-secret-123456", "sk-upstream-secret-9a8b7c6d5e4f"})
	f.Fuzz(func(t *testing.T, s string) {
		want := maskShapesReference(s)
		if got := maskShapes(s); got != want {
			t.Fatalf("maskShapes(%q) = %q, want %q", s, got, want)
		}
		if got, want := m.maskBytes([]byte(s)), m.Mask(s); got != want {
			t.Fatalf("maskBytes(%q) = %q, Mask gives %q", s, got, want)
		}
	})
}

func TestMaskBytesMatchesMask(t *testing.T) {
	m := newMasker([]string{"my-config-secret-123456", "sk-upstream-secret-9a8b7c6d5e4f"})
	for _, s := range append(maskSeeds, "the upstream key sk-upstream-secret-9a8b7c6d5e4f leaked", "x my-config-secret-123456 y") {
		if got, want := m.maskBytes([]byte(s)), m.Mask(s); got != want {
			t.Errorf("maskBytes(%q) = %q, Mask gives %q", s, got, want)
		}
	}
}

func TestLogBodiesDetachKeepsOnlyTheCutPart(t *testing.T) {
	m := newMasker(nil)
	body := []byte(strings.Repeat("a", 100))
	lb := &logBodies{m: m}
	lb.req, lb.reqCut = cutBody(body, 10)
	lb.detach()
	if cap(lb.req) >= 100 || string(lb.req) != strings.Repeat("a", 10) {
		t.Fatalf("detached body has cap %d and holds %q; want a copy of the first 10 bytes", cap(lb.req), lb.req)
	}
	small := []byte("short body")
	lb = &logBodies{m: m}
	lb.req, lb.reqCut = cutBody(small, 10<<10)
	lb.detach()
	if &lb.req[0] != &small[0] {
		t.Error("a body within the limit was copied")
	}
	var row store.RequestLogRow
	lb.fill(&row)
	if row.RequestBody != "short body" || row.ResponseBody != "" {
		t.Errorf("row = %+v", row)
	}
}

func TestKnownSecretSearch(t *testing.T) {
	const secret = "sk-client-test-5f1c2d3e4b5a6978"
	if c := secret[rarestByte(secret)]; !(c >= '0' && c <= '9') && c != '-' {
		t.Errorf("anchor %q: want a digit or punctuation, not a letter", c)
	}
	m := newMasker([]string{secret})
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"sk-client-test-5f1c2d3e4b5a6978", true}, {"xx sk-client-test-5f1c2d3e4b5a6978", true},
		{"sk-client-test-5f1c2d3e4b5a6978 yy", true}, {"sk-client-test-5f1c2d3e4b5a697", false},
		{"k-client-test-5f1c2d3e4b5a6978", false}, {"", false}, {"5a6978 5a6978 sk-client-test-5f1c2d3e4b5a6978", true},
	} {
		if _, got := scanPasses(m.passes, []byte(tc.in)); got != tc.want {
			t.Errorf("secret found in %q = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := rarestByte("abcd"); got != 1 { // 'b' is less common than 'a', 'c' and 'd' are not rarer
		t.Errorf("rarestByte(abcd) = %d, want 1", got)
	}
	// The shapes and a '-' secret share passes: one per distinct anchor byte.
	if len(m.passes) != 4 {
		t.Errorf("%d passes, want 4 ('-', 'z', '_', 'J')", len(m.passes))
	}
}

// BenchmarkMaskGatewayBody masks the 16 KB body of the gateway benchmark.
func BenchmarkMaskGatewayBody(b *testing.B) {
	m := newMasker([]string{clientKeyForTests, upstreamKey})
	prefix, suffix := benchBody(16 << 10)
	body := append(append(prefix, "123"...), suffix...)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = m.snippet(body, 64<<10)
	}
}
