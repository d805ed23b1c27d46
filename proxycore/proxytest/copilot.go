package proxytest

import (
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// GitHub Copilot API wire facts (PROVIDERS.md "copilot"):
//   - OpenAI chat at {api base}/chat/completions (no /v1 prefix), "Authorization: Bearer <Copilot
//     token>", and the editor headers of the VS Code extension; without Editor-Version the API
//     answers 400 "bad request: missing Editor-Version header for IDE auth" (BerriAI/litellm issues
//     #13256 and #18475; the body's JSON shape here is the OpenAI one, unverified);
//   - successful answers carry URL-encoded quota snapshots: x-quota-snapshot-<id> (chat,
//     premium_interactions, premium_models) and x-usage-ratelimit-session / -weekly, with the fields
//     ent, ov, ovPerm, rem (percent remaining) and rst (RFC 3339 reset) (microsoft/vscode
//     extensions/copilot/src/platform/chat/common/chatQuotaServiceImpl.ts).

// Copilot is an OpenAI-compatible fake behind Copilot's IDE gate. Scripted replies, Requests, Hits and
// Canceled are those of the embedded fake; requests without Editor-Version never reach it.
type Copilot struct {
	*Upstream
	// URL is the API base of the gate (it shadows the inner fake's URL).
	URL string

	quota atomic.Pointer[http.Header] // headers added to every answer
}

// NewCopilot starts a Copilot fake that accepts only "Authorization: Bearer token" and closes it when
// the test ends. Answers carry the quota headers of SetQuota (by default 80% of 300 premium
// interactions remaining).
func NewCopilot(t testing.TB, token string, opts ...Option) *Copilot {
	t.Helper()
	inner := mustStart(t, vendorOpenAI, append([]Option{lenient, WithBasePath(""), WithAPIKey(token)}, opts...))
	c := &Copilot{Upstream: inner}
	c.SetQuota(CopilotQuota{Entitlement: 300, PercentRemaining: 80, Reset: inner.clk.Now().Add(10 * 24 * time.Hour)})
	c.URL = startGate(t, inner, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Editor-Version") == "" {
			writeOpenAIError(w, http.StatusBadRequest, "invalid_request_error", "bad request: missing Editor-Version header for IDE auth", nil, nil)
			return false
		}
		for k, v := range *c.quota.Load() {
			w.Header()[k] = v
		}
		return true
	})
	return c
}

// CopilotQuota is the premium_interactions snapshot (and, when set, the session and weekly limits).
type CopilotQuota struct {
	Entitlement      int     // -1: unlimited
	PercentRemaining float64 // 0..100
	Reset            time.Time
	Session, Weekly  float64 // percent remaining of the rolling limits; 0: header not sent
}

// SetQuota sets the quota headers of the following answers.
func (c *Copilot) SetQuota(q CopilotQuota) {
	h := CopilotQuotaHeaders(q)
	c.quota.Store(&h)
}

// CopilotQuotaHeaders returns the snapshot headers for q.
func CopilotQuotaHeaders(q CopilotQuota) http.Header {
	snap := func(ent int, rem float64) string {
		v := url.Values{}
		v.Set("ent", strconv.Itoa(ent))
		v.Set("ov", "0.0")
		v.Set("ovPerm", "false")
		v.Set("rem", strconv.FormatFloat(rem, 'f', 1, 64))
		v.Set("rst", q.Reset.UTC().Format(time.RFC3339))
		return v.Encode()
	}
	h := http.Header{}
	h.Set("x-quota-snapshot-premium_interactions", snap(q.Entitlement, q.PercentRemaining))
	h.Set("x-quota-snapshot-chat", snap(-1, 100))
	if q.Session > 0 {
		h.Set("x-usage-ratelimit-session", snap(0, q.Session))
	}
	if q.Weekly > 0 {
		h.Set("x-usage-ratelimit-weekly", snap(0, q.Weekly))
	}
	return h
}
