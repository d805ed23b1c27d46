package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/provider"
)

// passThroughRoute is one [[pass-through.endpoints]] entry: requests on prefix (and below it) go to
// target with the provider's credential attached, untouched otherwise.
type passThroughRoute struct {
	prefix   string
	target   *url.URL
	provider string
	methods  map[string]bool // nil: every method
	client   *http.Client
}

func (s *Server) buildPassThrough(rt *runtime, cfg *config.Config) error {
	rt.passThrough = rt.passThrough[:0]
	for i, e := range cfg.PassThrough.Endpoints {
		u, err := url.Parse(e.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("pass-through.endpoints[%d].target: %q must be an absolute http(s) URL", i, e.Target)
		}
		tr, err := s.transports.Get(cfg.ProxyURL)
		if err != nil {
			return fmt.Errorf("proxy-url: %w", err)
		}
		pt := passThroughRoute{prefix: strings.TrimRight(e.Path, "/"), target: u, provider: e.Provider, client: &http.Client{Transport: tr}}
		if len(e.Methods) > 0 {
			pt.methods = make(map[string]bool, len(e.Methods))
			for _, m := range e.Methods {
				pt.methods[strings.ToUpper(m)] = true
			}
		}
		rt.passThrough = append(rt.passThrough, pt)
	}
	// Longest prefix first, so /anthropic/v1 wins over /anthropic.
	sort.SliceStable(rt.passThrough, func(i, j int) bool { return len(rt.passThrough[i].prefix) > len(rt.passThrough[j].prefix) })
	return nil
}

// matchPassThrough returns the endpoint serving path, or nil.
func (rt *runtime) matchPassThrough(path string) *passThroughRoute {
	for i := range rt.passThrough {
		pt := &rt.passThrough[i]
		if path == pt.prefix || (strings.HasPrefix(path, pt.prefix) && path[len(pt.prefix)] == '/') {
			return pt
		}
	}
	return nil
}

// hopByHop are the connection-level headers a proxy must not forward (RFC 9110 section 7.6.1), plus
// the client's credentials for this proxy, which belong to us and not to the upstream.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Authorization": true, "X-Api-Key": true, "X-Goog-Api-Key": true, "Cookie": true, "X-Management-Key": true,
}

func copyForwardHeaders(dst, src http.Header) {
	var listed []string
	for _, v := range src.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			listed = append(listed, http.CanonicalHeaderKey(strings.TrimSpace(f)))
		}
	}
	for k, v := range src {
		if hopByHop[k] || containsString(listed, k) {
			continue
		}
		dst[k] = append([]string(nil), v...)
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// servePassThrough forwards one request to a pass-through target and streams the answer back.
func (s *Server) servePassThrough(w http.ResponseWriter, r *http.Request, rt *runtime, pt *passThroughRoute) {
	p := principalOf(r)
	rec := &Record{Time: s.clock.Now(), RequestID: w.Header().Get("X-Request-Id"), Route: "pass-through", KeyID: p.KeyID, Provider: pt.provider}
	x := &exchange{s: s, rt: rt, w: w, r: r, rec: rec}
	defer s.finish(x, p)
	f := formatForPath(r.URL.Path)
	if pt.methods != nil && !pt.methods[r.Method] {
		rec.Status = http.StatusMethodNotAllowed
		s.writeError(w, f, &llm.Error{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error",
			Message: "Method " + r.Method + " is not forwarded on " + pt.prefix + "; the endpoint's methods list allows " + strings.Join(methodList(pt.methods), ", ") + "."})
		return
	}
	var exec provider.Executor
	for _, e := range rt.execs {
		if e.Provider() == pt.provider {
			if _, ok := e.(provider.Authorizer); ok && (exec == nil || e.CredentialID() < exec.CredentialID()) {
				exec = e
			}
		}
	}
	if exec == nil {
		x.fail(errBadGateway("The pass-through endpoint " + pt.prefix + " names provider '" + pt.provider + "', which has no API-key credential configured; add one or fix pass-through.endpoints.provider."))
		return
	}
	rec.CredentialID = exec.CredentialID()

	target := *pt.target
	target.Path = strings.TrimRight(target.Path, "/") + strings.TrimPrefix(r.URL.Path, pt.prefix)
	target.RawPath = ""
	if q := r.URL.Query(); q.Has("key") {
		q.Del("key") // the client's key for this proxy, not for the upstream
		target.RawQuery = q.Encode()
	} else {
		target.RawQuery = r.URL.RawQuery
	}
	var body io.Reader = http.NoBody
	if r.Body != nil && r.ContentLength != 0 {
		if r.ContentLength > rt.maxRequest {
			rec.Status, rec.ErrorClass = http.StatusRequestEntityTooLarge, "request_too_large"
			s.writeError(w, f, errTooLarge(rt.maxRequest))
			return
		}
		body = http.MaxBytesReader(w, r.Body, rt.maxRequest)
	}
	if rt.requestLog {
		b, err := io.ReadAll(body)
		if err != nil {
			rec.Status, rec.ErrorClass = http.StatusRequestEntityTooLarge, "request_too_large"
			s.writeError(w, f, errTooLarge(rt.maxRequest))
			return
		}
		x.body, body = b, bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), body)
	if err != nil {
		x.fail(errBadGateway("The pass-through target URL could not be built: " + err.Error()))
		return
	}
	req.ContentLength = r.ContentLength
	copyForwardHeaders(req.Header, r.Header)
	exec.(provider.Authorizer).Authorize(req.Header)

	start := s.clock.Now()
	resp, err := pt.client.Do(req)
	if err != nil {
		if r.Context().Err() != nil {
			rec.Status, rec.ErrorClass = 499, "client_closed"
			return
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rec.Status, rec.ErrorClass = http.StatusRequestEntityTooLarge, "request_too_large"
			s.writeError(w, f, errTooLarge(rt.maxRequest))
			return
		}
		rec.ErrorClass = "network"
		x.fail(errBadGateway("The pass-through target could not be reached: " + redactURL(err.Error())))
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	copyForwardHeaders(h, resp.Header)
	h.Del("Set-Cookie")
	rec.Status = resp.StatusCode
	rec.TTFB = s.clock.Now().Sub(start)
	w.WriteHeader(resp.StatusCode)

	// Stream the answer as it arrives; keep the head of a JSON answer to read its usage.
	isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	var head []byte
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if isJSON && len(head) < 1<<20 {
				head = append(head, buf[:n]...)
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				rec.ErrorClass = "client_closed"
				break
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil {
			if rerr != io.EOF && r.Context().Err() == nil {
				rec.ErrorClass = "upstream_cut"
			}
			break
		}
	}
	rec.Upstream = s.clock.Now().Sub(start)
	if isJSON && resp.StatusCode < 300 {
		rec.Usage = extractUsage(exec.Format(), head)
		if m := peekModel(head); m != "" {
			rec.UpstreamModel = m
		}
		if rt.requestLog {
			x.respBody = head
		}
	}
}

// peekModel reads a top-level "model" (OpenAI, Anthropic) or "modelVersion" (Gemini) from a JSON answer.
func peekModel(body []byte) string {
	var v struct {
		Model        string `json:"model"`
		ModelVersion string `json:"modelVersion"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if v.Model != "" {
		return v.Model
	}
	return v.ModelVersion
}

func methodList(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
