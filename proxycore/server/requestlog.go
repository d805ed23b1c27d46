package server

import (
	"regexp"
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
	known *strings.Replacer // nil when the config holds no secrets
}

// credentialShapes matches credentials by their public prefixes and formats.
var credentialShapes = regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{12,}|sk-[A-Za-z0-9_-]{12,}|AIza[0-9A-Za-z_-]{30,}|gh[opsu]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)

func newMasker(secrets []string) *masker {
	m := &masker{}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		if len(s) >= 4 {
			pairs = append(pairs, s, config.MaskSecret(s))
		}
	}
	if len(pairs) > 0 {
		m.known = strings.NewReplacer(pairs...)
	}
	return m
}

// Mask returns s with every secret masked.
func (m *masker) Mask(s string) string {
	if m.known != nil {
		s = m.known.Replace(s)
	}
	return credentialShapes.ReplaceAllStringFunc(s, func(v string) string {
		prefix := ""
		if len(v) > 7 && strings.EqualFold(v[:6], "bearer") {
			i := 6
			for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
				i++
			}
			prefix, v = v[:i], v[i:]
		}
		return prefix + config.MaskSecret(v)
	})
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
