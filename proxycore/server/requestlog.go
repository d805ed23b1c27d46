package server

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// masker hides secrets in text kept for the request log: every secret the configuration knows, and
// anything shaped like a well-known credential (OpenAI/Anthropic "sk-" keys, Google "AIza" keys, GitHub
// tokens, JWTs, bearer values). Each becomes "****" plus its last four characters.
type masker struct {
	known  []string     // secrets from the configuration, longest first
	passes []anchorPass // the credential shapes' passes with the secrets added, for maskBytes
}

func newMasker(secrets []string) *masker {
	m := &masker{}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	var probes []anchorProbe
	for _, s := range secrets {
		if len(s) >= 4 {
			m.known = append(m.known, s)
			probes = append(probes, anchorProbe{text: []byte(s), anchor: rarestByte(s), shape: -1})
		}
	}
	m.passes = buildPasses(append(shapeProbes(), probes...))
	return m
}

// rarestByte returns the index of the byte of s least common in text: a digit or punctuation before an
// upper-case letter before a lower-case one (the frequent ones last) before a space.
func rarestByte(s string) int {
	score := func(c byte) int {
		switch {
		case c == ' ':
			return 4
		case strings.IndexByte("etaoinsrhl", c) >= 0:
			return 3
		case c >= 'a' && c <= 'z':
			return 2
		case c >= 'A' && c <= 'Z':
			return 1
		}
		return 0
	}
	best := 0
	for i := 1; i < len(s); i++ {
		if score(s[i]) < score(s[best]) {
			best = i
		}
	}
	return best
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

// maskBytes is Mask(string(b)); a body without secrets, the usual case, costs a few memchr passes and
// no copy: the string it returns then shares b's memory, so b must never change afterwards (the request
// log's bodies do not: nothing writes to a request or answer body once read).
func (m *masker) maskBytes(b []byte) string {
	spans, secret := scanPasses(m.passes, b)
	if secret {
		return m.Mask(string(b))
	}
	spans = bearerSpans(b, spans)
	if len(spans) == 0 {
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return maskSpans(b, spans)
}

// anchorProbe is a text looked for at each occurrence of one of its bytes, the anchor: a credential
// shape's prefix (shape is its index in credentialShapes) or a configured secret (shape -1).
type anchorProbe struct {
	text   []byte
	anchor int
	shape  int
}

// anchorPass is one memchr pass over a body: every probe anchored on byte b is checked at each b.
// Probes that share their anchor byte share the pass: the "sk-" shape and most keys share '-', the
// GitHub token shapes '_'.
type anchorPass struct {
	b      byte
	probes []anchorProbe
}

// shapeProbes are the credential shapes as probes.
func shapeProbes() []anchorProbe {
	out := make([]anchorProbe, len(credentialShapes))
	for k, sh := range credentialShapes {
		out[k] = anchorProbe{text: []byte(sh.prefix), anchor: sh.anchor, shape: k}
	}
	return out
}

// buildPasses groups probes by anchor byte, in the order the bytes first appear.
func buildPasses(probes []anchorProbe) []anchorPass {
	var passes []anchorPass
	for _, p := range probes {
		c := p.text[p.anchor]
		i := slices.IndexFunc(passes, func(ps anchorPass) bool { return ps.b == c })
		if i < 0 {
			passes = append(passes, anchorPass{b: c})
			i = len(passes) - 1
		}
		passes[i].probes = append(passes[i].probes, p)
	}
	return passes
}

// shapePasses are the passes of the credential shapes alone, for Mask.
var shapePasses = buildPasses(shapeProbes())

// scanPasses runs passes over s. It returns the spans of credential-shaped runs: for each shape every
// run of its characters after its prefix that is long enough, searching on after the end of each run
// it matched, long enough or not. It stops early, reporting secret, at the first configured secret.
func scanPasses(passes []anchorPass, s []byte) (spans []maskSpan, secret bool) {
	var from [8]int // per shape: where its next match may start
	if len(credentialShapes) > len(from) {
		panic("credentialShapes outgrew scanPasses")
	}
	for pi := range passes {
		ps := &passes[pi]
		for i := 0; i < len(s); {
			d := bytes.IndexByte(s[i:], ps.b)
			if d < 0 {
				break
			}
			p := i + d
			i = p + 1
			for k := range ps.probes {
				pr := &ps.probes[k]
				start := p - pr.anchor
				if start < 0 || !bytes.HasPrefix(s[start:], pr.text) {
					continue
				}
				if pr.shape < 0 {
					return nil, true
				}
				if start < from[pr.shape] {
					continue
				}
				sh := &credentialShapes[pr.shape]
				j := start + len(pr.text)
				for j < len(s) && sh.chars(s[j]) {
					j++
				}
				if j-start-len(pr.text) >= sh.min {
					spans = append(spans, maskSpan{start: start, end: j})
				}
				from[pr.shape] = j
			}
		}
	}
	return spans, false
}

// credentialShape is a credential recognised by its public prefix: the prefix, the characters the
// secret part is made of, and the least length of that part. anchor is the index in the prefix of the
// byte searched for, the one rarest in ordinary text ('z' of "AIza", not the 'a').
type credentialShape struct {
	prefix string
	chars  func(byte) bool
	min    int
	anchor int
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
	{"sk-", isKeyChar, 12, 2}, {"AIza", isKeyChar, 30, 2}, {"ghp_", isAlnum, 20, 3}, {"gho_", isAlnum, 20, 3},
	{"ghs_", isAlnum, 20, 3}, {"ghu_", isAlnum, 20, 3}, {"github_pat_", isKeyChar, 20, 6}, {"eyJ", isTokenChar, 30, 2},
}

// bearerMinLen is the least length of a bearer value that is masked.
const bearerMinLen = 12

// maskShapes masks every credential-shaped run in s and the value after "Bearer ".
func maskShapes(s string) string {
	spans := credentialSpans([]byte(s))
	if len(spans) == 0 {
		return s
	}
	return maskSpans(s, spans)
}

// maskSpan is a run to mask; bearer marks the value after "Bearer ".
type maskSpan struct {
	start, end int
	bearer     bool
}

// credentialSpans finds the runs to mask: the credential-shaped runs (see scanPasses), then the value
// after each "bearer " written with the rest of the word in one letter case ("Bearer ", "BEARER ",
// "bearer "). Each search looks for a rare byte with bytes.IndexByte, so text without credentials costs
// a few passes at memchr speed.
func credentialSpans(s []byte) []maskSpan {
	spans, _ := scanPasses(shapePasses, s)
	return bearerSpans(s, spans)
}

// bearerSpans appends to spans the values after "bearer " (see credentialSpans).
func bearerSpans(s []byte, spans []maskSpan) []maskSpan {
	for from := 0; ; {
		i := indexBearer(s, from)
		if i < 0 {
			break
		}
		v := i + len("bearer ")
		for v < len(s) && s[v] == ' ' {
			v++
		}
		j := v
		for j < len(s) && isTokenChar(s[j]) {
			j++
		}
		if j-v >= bearerMinLen {
			spans = append(spans, maskSpan{start: v, end: j, bearer: true})
		}
		from = j
	}
	return spans
}

// indexBearer returns the first index at or after from of "bearer " whose first letter is in either
// case and whose rest is all lower or all upper case, or -1. It looks for the rarer first letter.
func indexBearer(s []byte, from int) int {
	best := -1
	for _, first := range [2]byte{'b', 'B'} {
		for i := from; i < len(s); {
			d := bytes.IndexByte(s[i:], first)
			if d < 0 {
				break
			}
			p := i + d
			if best >= 0 && p > best {
				break
			}
			if rest := s[p+1:]; len(rest) >= 6 && rest[0]|0x20 == 'e' && (bytes.HasPrefix(rest, []byte("earer ")) ||
				bytes.HasPrefix(rest, []byte("EARER "))) {
				best = p
				break
			}
			i = p + 1
		}
	}
	return best
}

// maskSpans returns s with the spans masked, in order of their start (a credential before a bearer
// value that starts at the same byte); a span that starts inside one already masked is skipped.
func maskSpans[T string | []byte](s T, spans []maskSpan) string {
	sort.SliceStable(spans, func(a, b int) bool {
		if spans[a].start != spans[b].start {
			return spans[a].start < spans[b].start
		}
		return !spans[a].bearer && spans[b].bearer
	})
	out := make([]byte, 0, len(s))
	last := 0
	for _, sp := range spans {
		if sp.start < last { // overlaps a span already masked
			continue
		}
		out = append(out, s[last:sp.start]...)
		out = append(out, config.MaskSecret(string(s[sp.start:sp.end]))...)
		last = sp.end
	}
	out = append(out, s[last:]...)
	return string(out)
}

// cutBody cuts b to at most max bytes (max <= 0: no limit) on a UTF-8 boundary.
func cutBody(b []byte, max int) (cut []byte, truncated bool) {
	if max <= 0 || len(b) <= max {
		return b, false
	}
	n := max
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n], true
}

// snippet cuts b to at most max bytes on a UTF-8 boundary and masks it.
func (m *masker) snippet(b []byte, max int) string {
	cut, truncated := cutBody(b, max)
	return m.maskedBody(cut, truncated)
}

// maskedBody masks a body cut by cutBody and marks it when it was truncated.
func (m *masker) maskedBody(b []byte, truncated bool) string {
	if truncated {
		return m.maskBytes(b) + "...[truncated]"
	}
	return m.maskBytes(b)
}

// deferredRequestLog is a RequestLogSink that completes rows in its own goroutine (spend.RequestLog
// does): the server hands it the cut bodies and the masking runs there, off the request path.
type deferredRequestLog interface {
	LogRequestFunc(row store.RequestLogRow, fill func(*store.RequestLogRow))
}

// logBodies is what a request-log row's body columns are made from: the bodies cut to max-body-kb but
// not yet masked, or a text for the response column when there is no response body.
type logBodies struct {
	m               *masker
	req, resp       []byte
	reqCut, respCut bool
	hasResp         bool   // resp holds the response body
	respText        string // otherwise: the response column's text
	maskRespText    bool   // respText is an error message that may quote a secret
}

// fill sets the row's body columns, masked.
func (lb *logBodies) fill(r *store.RequestLogRow) {
	r.RequestBody = lb.m.maskedBody(lb.req, lb.reqCut)
	switch {
	case lb.hasResp:
		r.ResponseBody = lb.m.maskedBody(lb.resp, lb.respCut)
	case lb.maskRespText:
		r.ResponseBody = lb.m.Mask(lb.respText)
	default:
		r.ResponseBody = lb.respText
	}
}

// detach copies the bodies that were cut, so that a queued row keeps max-body-kb of each and not the
// whole request or response. Bodies within the limit are kept as they are: nothing changes them after
// the exchange.
func (lb *logBodies) detach() {
	if lb.reqCut {
		lb.req = bytes.Clone(lb.req)
	}
	if lb.respCut {
		lb.resp = bytes.Clone(lb.resp)
	}
}

// logParts is the request log entry of the exchange: the row without its bodies, and the bodies cut to
// [request-log] max-body-kb, to be masked by fill.
func (x *exchange) logParts() (store.RequestLogRow, *logBodies) {
	rt, rec := x.rt, x.rec
	lb := &logBodies{m: rt.masker}
	lb.req, lb.reqCut = cutBody(x.body, rt.requestLogMax)
	switch {
	case x.respBody != nil:
		lb.hasResp = true
		lb.resp, lb.respCut = cutBody(x.respBody, rt.requestLogMax)
	case rec.Stream && rec.Status < 300:
		lb.respText = "(streamed response)"
	case rec.ErrorMessage != "":
		lb.respText, lb.maskRespText = rec.ErrorMessage, true
	}
	row := store.RequestLogRow{Time: rec.Time, RequestID: rec.RequestID, Method: x.r.Method, Path: x.r.URL.Path,
		Status: rec.Status, LatencyMS: rec.Latency.Milliseconds()}
	return row, lb
}

// logRow is the request log entry of the exchange: bodies cut to [request-log] max-body-kb and masked.
func (x *exchange) logRow() store.RequestLogRow {
	row, lb := x.logParts()
	lb.fill(&row)
	return row
}

// logRequest hands the exchange's entry to the request log. The bodies are masked here when they are
// small enough (inlineMaskBytes), else in the log's own goroutine when it has one.
//
// The response has been flushed by then (see finish), so masking here adds nothing to the client's
// latency, and it costs a quarter of what it does in the log's goroutine: here the bodies are still in
// the CPU's caches, while the log's goroutine reads them a batch later (masking a 1 KB chat request and
// its answer took 1.5 us here against 3.9 us there, in the gateway benchmark's profiles).
func (x *exchange) logRequest(sink RequestLogSink) {
	d, ok := sink.(deferredRequestLog)
	if !ok {
		sink.LogRequest(x.logRow())
		return
	}
	row, lb := x.logParts()
	if len(lb.req)+len(lb.resp) <= inlineMaskBytes {
		lb.fill(&row)
		sink.LogRequest(row)
		return
	}
	lb.detach()
	d.LogRequestFunc(row, lb.fill)
}

// inlineMaskBytes is the most body bytes logRequest masks on the request's goroutine (about 100 us of
// work); larger bodies are masked by the log's goroutine, off the connection's next request.
const inlineMaskBytes = 256 << 10
