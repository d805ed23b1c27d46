package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/limit"
	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/proxycore/translate"
)

// exchange is one client request on its way through routing: what the client sent, what has been decided,
// and what the request record will say at the end.
type exchange struct {
	s      *Server
	rt     *runtime
	w      http.ResponseWriter
	r      *http.Request
	client llm.Format // the client's wire format
	op     provider.Op
	body   []byte // client body
	model  string // model the client asked for
	stream bool
	// suffixed: the model carries a reasoning suffix ("name(high)"), so same-format requests are re-encoded
	// from the canonical form rather than passed through raw.
	suffixed bool
	// earlyStreamErr is set when an upstream stream failed before its first byte reached the client;
	// bootstraps counts the attempts retried for that reason.
	earlyStreamErr *llm.Error
	bootstraps     int
	// hideUsage: the proxy asked an OpenAI stream for its usage chunk on the client's behalf, so that
	// chunk is read for accounting and not relayed.
	hideUsage bool

	canon    *llm.Request // decoded lazily, only when a translation is needed
	canonErr error

	rec *Record // filled in as the request progresses

	ticket    limit.Ticket // rate-limit admission, released in settle
	hasTicket bool
	cacheKey  string // response cache key on a miss; "" when the answer is not cacheable
	respBody  []byte // non-streaming answer kept for the request log
}

// forward routes the exchange across credentials and fallback models until one upstream answers, then
// relays the answer. It never retries after the first byte has reached the client.
func (x *exchange) forward() {
	rt := x.rt
	models := [1]string{x.model}
	if n := len(x.model); n > 0 && x.model[n-1] == ')' && !rt.catalog.Has(x.model) {
		// "name(high)" / "name(8192)": route by the base name; the suffix becomes reasoning settings.
		if base, _, _, ok := translate.ParseModelSuffix(x.model); ok && rt.catalog.Has(base) {
			models[0], x.suffixed = base, true
		}
	}
	chain := models[:]
	if fb := rt.fallbacks.Next(models[0]); len(fb) > 0 {
		chain = append(chain, fb...)
	}
	var (
		lastErr      *llm.Error
		lastRaw      *rawError // last upstream error in the same format as the client, passed through faithfully
		attempts     int
		allCooling   = true
		earliest     time.Time
		haveEarliest bool
		tried        = newTriedSet()
		blocked      string // why every credential is out of service (ERROR), when none could be tried
	)
	policy := rt.retry
	for ci, model := range chain {
		// A credential is tried once per model: the one that failed for the requested model may serve a
		// fallback (an overloaded Opus, then Sonnet on the same account). One that failed as a whole is
		// in ERROR or cooling down and is not picked again anyway.
		if ci > 0 {
			*tried = triedSet{}
		}
		cands, resolved, err := rt.catalog.Resolve(model)
		if err != nil {
			if ci == 0 {
				x.fail(errModelNotFound(model))
				return
			}
			continue
		}
		if ci == 0 {
			x.rec.Model = resolved
		}
		for {
			if err := x.r.Context().Err(); err != nil {
				x.rec.Status = 499
				x.rec.ErrorClass = "client_closed"
				return
			}
			entry, ok := x.s.router.Pick(cands, tried.has)
			if !ok {
				if blocked == "" && attempts == 0 {
					blocked = blockedReason(x.s.router, cands, tried.has)
				}
				if t, ok := x.s.router.EarliestRecovery(cands); ok {
					if !haveEarliest || t.Before(earliest) {
						earliest, haveEarliest = t, true
					}
				} else {
					allCooling = false
				}
				break
			}
			allCooling = false
			tried.add(entry.CredentialID)
			exec := rt.execs[entry.CredentialID]
			if exec == nil {
				continue
			}
			if attempts > 0 {
				if attempts-x.bootstraps > policy.MaxRetries {
					break
				}
				if !x.backoff(policy.Backoff(attempts, x.s.rand())) {
					return
				}
			}
			attempts++
			res := x.attempt(exec, entry, ci > 0)
			switch res.kind {
			case attemptDone:
				return
			case attemptFatal:
				if res.raw != nil {
					x.passRawError(res.raw)
				} else {
					x.fail(res.err)
				}
				return
			case attemptRetry:
				lastErr, lastRaw = res.err, res.raw
			}
		}
	}
	if allCooling && haveEarliest {
		wait := earliest.Sub(x.s.clock.Now())
		if wait < time.Second {
			wait = time.Second
		}
		x.fail(errRateLimited("Every credential that serves '"+x.model+"' is cooling down after upstream rate limits or errors; retry after "+
			strconv.Itoa(int((wait+time.Second-1)/time.Second))+"s.", wait))
		return
	}
	if lastRaw != nil {
		x.passRawError(lastRaw)
		return
	}
	if lastErr != nil {
		x.fail(lastErr)
		return
	}
	if blocked != "" {
		x.fail(errLoginNeeded(x.model, blocked))
		return
	}
	x.fail(errRateLimited("No credential is available for '"+x.model+"' right now.", time.Second))
}

// blockedReason returns the user-facing message of the first untried candidate in ERROR ("log in to codex
// again"), or "" when none is.
func blockedReason(r *route.Router, cands []route.Entry, tried func(string) bool) string {
	for _, c := range cands {
		if tried(c.CredentialID) {
			continue
		}
		if msg, ok := r.ErrorMessage(c.CredentialID); ok && msg != "" {
			return msg
		}
	}
	return ""
}

// errLoginNeeded answers a request that no account can serve until the user logs in again; reason says
// which ("log in to Codex again: ..."). It is a 401 like a bad client key, but its OpenAI code is not
// invalid_api_key: the client's key is fine, and a tool that sees that code asks its user for a new one.
func errLoginNeeded(model, reason string) *llm.Error {
	e := errUnauthorized("No account can serve '" + model + "': " + reason + ".")
	e.Code = "account_login_required"
	return e
}

type attemptKind uint8

const (
	attemptDone  attemptKind = iota // the client got an answer (success or a relayed stream failure)
	attemptRetry                    // retryable failure; nothing was sent to the client
	attemptFatal                    // non-retryable failure; answer the client with err/raw
)

type attemptResult struct {
	kind attemptKind
	err  *llm.Error
	raw  *rawError
}

// rawError is an upstream error response kept byte for byte, for clients that speak the upstream's format.
type rawError struct {
	status int
	header http.Header
	body   []byte
}

// attempt sends the request to one credential.
func (x *exchange) attempt(exec provider.Executor, entry route.Entry, fallback bool) attemptResult {
	call := provider.Call{Header: x.r.Header, Model: entry.UpstreamModel(), Stream: x.stream}
	upFormat := exec.Format()
	identity := exec.Supports(x.op)
	var nativeCount provider.Op // the upstream's own count operation when the formats differ
	if !identity {
		switch x.op {
		case provider.OpCountTokens, provider.OpGeminiCountTokens:
			op, ok := countOpFor(exec)
			if !ok {
				return x.localCount(entry)
			}
			nativeCount = op
		case provider.OpEmbeddings:
			return attemptResult{kind: attemptFatal, err: llm.BadRequest("Embeddings are only served by OpenAI and OpenAI-compatible credentials; '%s' is served by %s.", x.model, entry.Provider)}
		}
	}
	if identity && x.suffixed && x.op != provider.OpEmbeddings {
		// Same format, but the suffix must become the format's own reasoning fields: re-encode.
		req, lerr := x.decoded()
		if lerr != nil {
			return attemptResult{kind: attemptFatal, err: lerr}
		}
		saved := req.Model
		req.Model = entry.UpstreamModel()
		b, err := x.s.codecs.Codec(x.client).EncodeRequest(req)
		req.Model = saved
		if err != nil {
			return attemptResult{kind: attemptFatal, err: asLLMError(err)}
		}
		call.Op = x.op
		call.Body = b
		upFormat = x.client
		x.hideUsage = x.stream && (x.op == provider.OpChat || x.op == provider.OpCompletions) && !req.IncludeUsage
	} else if identity {
		call.Op = x.op
		upFormat = x.client
		if x.client == llm.FormatGemini {
			call.Body = x.body // the model travels in the path
		} else {
			b, err := translate.SetModelChecked(x.body, entry.UpstreamModel()) // PeekModelStream checked it
			if err != nil {
				return attemptResult{kind: attemptFatal, err: asLLMError(err)}
			}
			if x.stream && (x.op == provider.OpChat || x.op == provider.OpCompletions) {
				// Without include_usage an OpenAI stream carries no usage at all and the request could not be
				// metered; ask for it and keep the extra chunk from the client.
				if withUsage, added, err := translate.IncludeStreamUsage(b); err == nil {
					b, x.hideUsage = withUsage, added
				}
			}
			call.Body = b
		}
	} else {
		req, lerr := x.decoded()
		if lerr != nil {
			return attemptResult{kind: attemptFatal, err: lerr}
		}
		saved := req.Model
		req.Model = entry.UpstreamModel()
		var b []byte
		var err error
		if nativeCount != 0 {
			b, err = x.s.codecs.EncodeCountTokensRequest(upFormat, req)
			call.Op = nativeCount
		} else {
			b, err = x.s.codecs.Codec(upFormat).EncodeRequest(req)
			call.Op = provider.OpFor(upFormat, x.stream)
		}
		req.Model = saved
		if err != nil {
			return attemptResult{kind: attemptFatal, err: asLLMError(err)}
		}
		call.Body = b
	}

	x.rec.CredentialID = entry.CredentialID
	x.rec.Provider = entry.Provider
	x.rec.UpstreamModel = entry.UpstreamModel()
	start := x.s.clock.Now()
	a := x.s.router.Begin(entry)
	resp, err := exec.Do(x.r.Context(), &call)
	if err != nil {
		if x.r.Context().Err() != nil {
			// The client left before the upstream answered: that says nothing about the credential, and an
			// outcome with no status and the context's error is not held against it (a user who cancels
			// a few slow turns must not push their only account into ERROR).
			x.s.router.End(a, route.Outcome{Err: x.r.Context().Err(), Latency: x.s.clock.Now().Sub(start)})
			x.rec.Status = 499
			x.rec.ErrorClass = "client_closed"
			return attemptResult{kind: attemptDone}
		}
		var relogin *oauth.ReloginError
		if errors.As(err, &relogin) {
			// The account's refresh token was refused for good (the request found the token due before the
			// background refresher did): the account is out of service until the user logs in again, even if
			// the old token served a request since its refresh failed.
			msg := redactURL(relogin.Error())
			x.s.router.End(a, route.Outcome{Status: http.StatusUnauthorized, AuthFailed: true, Message: msg,
				Latency: x.s.clock.Now().Sub(start)})
			x.rec.ErrorClass = errorClass(http.StatusUnauthorized)
			return attemptResult{kind: attemptRetry, err: errLoginNeeded(x.model, msg)}
		}
		x.s.router.End(a, route.Outcome{Err: err, Latency: x.s.clock.Now().Sub(start), Message: "network error: " + redactURL(err.Error())})
		x.rec.ErrorClass = "network"
		return attemptResult{kind: attemptRetry, err: errBadGateway("The upstream " + entry.Provider + " could not be reached: " + redactURL(err.Error()))}
	}
	if resp.StatusCode >= 300 {
		body, _ := readLimited(resp.Body, 1<<20)
		resp.Body.Close()
		now := x.s.clock.Now()
		hint, hinted := route.ParseHint(resp.StatusCode, resp.Header, body, now)
		upErr := x.s.codecs.Codec(exec.Format()).DecodeError(resp.StatusCode, resp.Header, body)
		out := route.Outcome{Status: resp.StatusCode, Latency: now.Sub(start), CooldownUntil: hint.Until,
			CooldownExplicit: hint.Explicit, CredentialWide: accountWideHint(hint.Source), Message: upErr.Message,
			// A 403 that names a reset time is a quota answer, not a refused credential.
			AuthFailed: resp.StatusCode == http.StatusUnauthorized || (resp.StatusCode == http.StatusForbidden && !hinted)}
		x.s.router.End(a, out)
		x.rec.Status = resp.StatusCode
		x.rec.ErrorClass = errorClass(resp.StatusCode)
		var raw *rawError
		if identity {
			raw = &rawError{status: resp.StatusCode, header: keepErrorHeaders(resp.Header), body: body}
		}
		if x.s.retryable(x.rt, resp.StatusCode, resp.Header) {
			return attemptResult{kind: attemptRetry, err: upErr, raw: raw}
		}
		return attemptResult{kind: attemptFatal, err: upErr, raw: raw}
	}

	if fallback {
		x.w.Header().Set("X-CLIProxy-Fallback", entry.Model)
		x.rec.Fallback = entry.Model
	}
	var ok bool
	if nativeCount != 0 {
		ok = x.relayCount(resp, upFormat, start)
	} else if x.stream && x.op != provider.OpCountTokens && x.op != provider.OpGeminiCountTokens {
		ok = x.relayStream(resp, exec, upFormat, identity, start)
	} else {
		ok = x.relayBody(resp, upFormat, identity, start)
	}
	end := x.s.clock.Now()
	x.rec.Upstream = end.Sub(start)
	out := route.Outcome{Status: x.rec.Status, Latency: end.Sub(start)}
	if !ok && x.rec.ErrorClass != "client_closed" {
		out.Err = errUpstreamBroken
		out.Message = "upstream response was cut or malformed"
	}
	x.s.router.End(a, out)
	if e := x.earlyStreamErr; e != nil {
		x.earlyStreamErr = nil
		x.rec.ErrorClass, x.rec.ErrorMessage = "stream_cut", e.Message
		if x.bootstraps < x.rt.bootstrap {
			x.bootstraps++
			return attemptResult{kind: attemptRetry, err: e}
		}
		return attemptResult{kind: attemptFatal, err: e}
	}
	return attemptResult{kind: attemptDone}
}

// accountWideHint reports whether a cooldown hint describes the whole account rather than one model:
// subscription usage limits (Anthropic's unified window, Codex usage_limit_reached) are per account.
func accountWideHint(source string) bool {
	return strings.HasPrefix(source, "anthropic-ratelimit-unified") || strings.HasPrefix(source, "error.resets")
}

var errUpstreamBroken = errors.New("upstream response was cut or malformed")

// localCount answers a token-count request with a local estimate when the upstream has no native count
// (see docs/translation.md for the method). The X-CLIProxy-Token-Count header says so.
func (x *exchange) localCount(entry route.Entry) attemptResult {
	req, lerr := x.decoded()
	if lerr != nil {
		return attemptResult{kind: attemptFatal, err: lerr}
	}
	n := translate.EstimateTokens(req)
	body := translate.EncodeCountTokensResponse(x.client, n)
	h := x.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-CLIProxy-Token-Count", "estimate")
	x.rec.Provider, x.rec.CredentialID = entry.Provider, entry.CredentialID
	x.rec.Status = http.StatusOK
	writeBody(x.w, http.StatusOK, body)
	return attemptResult{kind: attemptDone}
}

// countOpFor returns the native token-count operation of an upstream, when it has one.
func countOpFor(exec provider.Executor) (provider.Op, bool) {
	switch exec.Format() {
	case llm.FormatClaude:
		return provider.OpCountTokens, exec.Supports(provider.OpCountTokens)
	case llm.FormatGemini:
		return provider.OpGeminiCountTokens, exec.Supports(provider.OpGeminiCountTokens)
	}
	return 0, false
}

// decoded returns the client's request in canonical form, decoding it once.
func (x *exchange) decoded() (*llm.Request, *llm.Error) {
	if x.canon == nil && x.canonErr == nil {
		if x.op == provider.OpCountTokens || x.op == provider.OpGeminiCountTokens {
			// Gemini countTokens may wrap the request as {"generateContentRequest": {...}}.
			x.canon, x.canonErr = x.s.codecs.DecodeCountTokensRequest(x.client, x.body)
		} else {
			x.canon, x.canonErr = x.s.codecs.Codec(x.client).DecodeRequest(x.body)
		}
		if x.canon != nil {
			if x.client == llm.FormatGemini {
				x.canon.Model = x.model
				x.canon.Stream = x.stream
			}
			translate.ApplyModelSuffix(x.canon)
		}
	}
	if x.canonErr != nil {
		return nil, asLLMError(x.canonErr)
	}
	return x.canon, nil
}

// backoff waits d unless the client goes away first.
func (x *exchange) backoff(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-x.r.Context().Done():
		x.rec.Status = 499
		x.rec.ErrorClass = "client_closed"
		return false
	}
}

// fail answers the client with e in its own format.
func (x *exchange) fail(e *llm.Error) {
	x.rec.Status = e.Status
	if x.rec.ErrorClass == "" {
		x.rec.ErrorClass = errorClass(e.Status)
	}
	x.rec.ErrorMessage = e.Message
	x.s.writeError(x.w, x.client, e)
}

// passRawError relays an upstream error unchanged (status, body and rate-limit headers) to a client that
// speaks the upstream's own format.
func (x *exchange) passRawError(e *rawError) {
	h := x.w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	x.rec.Status = e.status
	writeBody(x.w, e.status, e.body)
}

func asLLMError(err error) *llm.Error {
	var le *llm.Error
	if errors.As(err, &le) {
		return le
	}
	return llm.BadRequest("%s", err.Error())
}

func errorClass(status int) string {
	switch {
	case status == 429:
		return "rate_limited"
	case status == 401 || status == 403:
		return "auth"
	case status == 404:
		return "not_found"
	case status >= 500:
		return "upstream_5xx"
	case status >= 400:
		return "client_error"
	}
	return ""
}

// keepErrorHeaders keeps the headers of an upstream error that a client may act on: retry hints, rate-limit
// windows, request ids and the content type.
func keepErrorHeaders(h http.Header) http.Header {
	out := make(http.Header, 8)
	for k, v := range h {
		switch {
		case k == "Content-Type", k == "Retry-After", k == "Retry-After-Ms", k == "X-Should-Retry",
			k == "X-Request-Id", k == "Request-Id",
			hasPrefix(k, "X-Ratelimit-"), hasPrefix(k, "Anthropic-Ratelimit-"):
			out[k] = v
		}
	}
	return out
}

// readLimited reads at most max bytes of r; a longer body is an error.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > max {
		return b[:max], errBodyTooLarge
	}
	return b, nil
}

var errBodyTooLarge = errors.New("body too large")

// triedSet remembers credentials already tried for one request without allocating for the first few.
type triedSet struct {
	small [8]string
	n     int
	more  map[string]struct{}
}

func newTriedSet() *triedSet { return &triedSet{} }

func (t *triedSet) add(id string) {
	if t.n < len(t.small) {
		t.small[t.n] = id
		t.n++
		return
	}
	if t.more == nil {
		t.more = make(map[string]struct{})
	}
	t.more[id] = struct{}{}
}

func (t *triedSet) has(id string) bool {
	for i := 0; i < t.n; i++ {
		if t.small[i] == id {
			return true
		}
	}
	_, ok := t.more[id]
	return ok
}

// contextDone reports whether ctx has ended.
func contextDone(ctx context.Context) bool { return ctx.Err() != nil }
