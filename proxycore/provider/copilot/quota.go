package copilot

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/provider"
)

// Copilot answers carry quota snapshots as URL-encoded header values (microsoft/vscode
// extensions/copilot/src/platform/chat/common/chatQuotaServiceImpl.ts): x-quota-snapshot-<id> for the
// monthly buckets (chat, premium_interactions, premium_models) and x-usage-ratelimit-session /
// x-usage-ratelimit-weekly for the rolling limits. Fields: ent (entitlement, -1 unlimited), ov
// (overage used), ovPerm (overage permitted), rem (percent remaining), rst (reset time, RFC 3339).
var quotaHeaders = [...]struct{ key, name string }{
	{http.CanonicalHeaderKey("x-quota-snapshot-premium_interactions"), "premium_interactions"},
	{http.CanonicalHeaderKey("x-quota-snapshot-premium_models"), "premium_models"},
	{http.CanonicalHeaderKey("x-quota-snapshot-chat"), "chat"},
	{http.CanonicalHeaderKey("x-usage-ratelimit-session"), "session"},
	{http.CanonicalHeaderKey("x-usage-ratelimit-weekly"), "weekly"},
}

// parseQuota reads the snapshot headers; ok is false when there are none (errors, /models).
func parseQuota(h http.Header, now time.Time) (provider.Quota, bool) {
	var items []provider.QuotaItem
	for _, qh := range quotaHeaders {
		v := h[qh.key]
		if len(v) == 0 || v[0] == "" {
			continue
		}
		if it, ok := parseSnapshot(qh.name, v[0]); ok {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return provider.Quota{}, false
	}
	return provider.Quota{Updated: now, Items: items}, true
}

func parseSnapshot(name, value string) (provider.QuotaItem, bool) {
	q, err := url.ParseQuery(value)
	if err != nil {
		return provider.QuotaItem{}, false
	}
	it := provider.QuotaItem{Name: name, UsedPercent: -1, Remaining: -1, Limit: -1}
	rem, remErr := strconv.ParseFloat(q.Get("rem"), 64)
	if remErr == nil {
		it.UsedPercent = min(max(100-rem, 0), 100)
	}
	// ent 0 is what the rolling limits report; it says nothing about the size of the bucket.
	if ent, err := strconv.ParseFloat(q.Get("ent"), 64); err == nil && ent > 0 {
		it.Limit = int64(ent)
		if remErr == nil {
			it.Remaining = int64(ent * max(rem, 0) / 100)
		}
	}
	if t, err := time.Parse(time.RFC3339, q.Get("rst")); err == nil {
		it.ResetAt = t
	}
	switch {
	case q.Get("ent") == "-1":
		it.Status = "unlimited"
	case remErr == nil && rem <= 0 && q.Get("ovPerm") == "true":
		it.Status = "overage"
	case remErr == nil && rem <= 0:
		it.Status = "exhausted"
	}
	return it, true
}
