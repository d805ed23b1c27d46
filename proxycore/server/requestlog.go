package server

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// masker hides secrets in text kept for the request log: every secret the configuration knows, and
// anything shaped like a well-known credential (OpenAI/Anthropic "sk-" keys, Google "AIza" keys, GitHub
// tokens, JWTs, bearer values). Each becomes "****" plus its last four characters.
type masker struct {
	known []string // secrets from the configuration, longest first
}

func newMasker(secrets []string) *masker {
	m := &masker{}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if len(s) >= 4 {
			m.known = append(m.known, s)
		}
	}
	return m
}

// Mask returns s with every secret masked.
func (m *masker) Mask(s string) string {
	for _, k := range m.known {
		if strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, config.MaskSecret(k))
		}
	}
	return maskShapes(s)
}

// credentialShape is a credential recognised by its public prefix: the prefix, the characters the
// secret part is made of, and the least length of that part.
type credentialShape struct {
	prefix string
	chars  func(byte) bool
	min    int
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isTokenChar(c byte) bool {
	return isKeyChar(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

// credentialShapes are OpenAI/Anthropic "sk-" keys, Google API keys, GitHub tokens and JWTs (which start
// with the base64 of `{"`).
var credentialShapes = []credentialShape{
	{"sk-", isKeyChar, 12}, {"AIza", isKeyChar, 30}, {"ghp_", isAlnum, 20}, {"gho_", isAlnum, 20},
	{"ghs_", isAlnum, 20}, {"ghu_", isAlnum, 20}, {"github_pat_", isKeyChar, 20}, {"eyJ", isTokenChar, 30},
}

// maskShapes masks every credential-shaped run in s and the value after "Bearer ". It scans with
// strings.Index per shape, so text without credentials costs a few passes of memchr-speed searching.
func maskShapes(s string) string {
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
		i := indexFold(s[from:], "bearer ")
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
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a][0] < spans[b][0] })
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		if sp[0] < last { // overlaps a span already masked
			continue
		}
		b.WriteString(s[last:sp[0]])
		b.WriteString(config.MaskSecret(s[sp[0]:sp[1]]))
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// indexFold finds "bearer " in s in any letter case. It searches for the tail in lower and upper case
// with strings.Index and checks the first letter, which keeps the scan at memchr speed.
func indexFold(s, lower string) int {
	best := -1
	for _, tail := range [2]string{lower[1:], strings.ToUpper(lower[1:])} {
		for from := 1; from <= len(s); {
			i := strings.Index(s[from:], tail)
			if i < 0 {
				break
			}
			i += from
			if i > 0 && s[i-1]|0x20 == lower[0] && equalFold(s[i-1:i-1+len(lower)], lower) {
				if best < 0 || i-1 < best {
					best = i - 1
				}
				break
			}
			from = i + 1
		}
	}
	return best
}

// snippet cuts b to at most max bytes on a UTF-8 boundary and masks it.
func (m *masker) snippet(b []byte, max int) string {
	if max > 0 && len(b) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		return m.Mask(string(b[:cut])) + "...[truncated]"
	}
	return m.Mask(string(b))
}

// logRow is the request log entry of the exchange: bodies cut to [request-log] max-body-kb and masked.
func (x *exchange) logRow() store.RequestLogRow {
	rt, rec := x.rt, x.rec
	resp := ""
	switch {
	case x.respBody != nil:
		resp = rt.masker.snippet(x.respBody, rt.requestLogMax)
	case rec.Stream && rec.Status < 300:
		resp = "(streamed response)"
	case rec.ErrorMessage != "":
		resp = rt.masker.Mask(rec.ErrorMessage)
	}
	return store.RequestLogRow{
		Time: rec.Time, RequestID: rec.RequestID, Method: x.r.Method, Path: x.r.URL.Path, Status: rec.Status,
		RequestBody: rt.masker.snippet(x.body, rt.requestLogMax), ResponseBody: resp, LatencyMS: rec.Latency.Milliseconds(),
	}
}
