package claudecode

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/provider"
)

// Subscription responses carry anthropic-ratelimit-unified-* headers (PROVIDERS.md "claude-code"). As
// observed in public quota trackers for Claude Pro/Max: an overall "-status" ("allowed",
// "allowed_warning", "rejected") and "-reset" (unix seconds), and per window "<w>-utilization" (a
// fraction 0..1), "<w>-reset" (unix seconds) and "<w>-status", for the windows "5h" and "7d" (plus
// per-model weekly windows such as "7d_opus" on some plans).
const unifiedPrefix = "Anthropic-Ratelimit-Unified-"

// unifiedWindow names the header keys of one window, canonicalised once.
type unifiedWindow struct {
	name, util, reset, status string
}

func window(name string) unifiedWindow {
	p := unifiedPrefix + name + "-"
	return unifiedWindow{
		name:   name,
		util:   http.CanonicalHeaderKey(p + "utilization"),
		reset:  http.CanonicalHeaderKey(p + "reset"),
		status: http.CanonicalHeaderKey(p + "status"),
	}
}

var unifiedWindows = []unifiedWindow{window("5h"), window("7d"), window("7d_opus"), window("7d_sonnet")}

var (
	unifiedStatus = http.CanonicalHeaderKey(unifiedPrefix + "status")
	unifiedReset  = http.CanonicalHeaderKey(unifiedPrefix + "reset")
)

// parseUnified reads the unified rate-limit headers; ok is false when the response has none (API-key
// style answers, most errors).
func parseUnified(h http.Header, now time.Time) (provider.Quota, bool) {
	status := first(h, unifiedStatus)
	var items []provider.QuotaItem
	for _, w := range unifiedWindows {
		util, reset, st := first(h, w.util), first(h, w.reset), first(h, w.status)
		if util == "" && reset == "" && st == "" {
			continue
		}
		it := provider.QuotaItem{Name: w.name, UsedPercent: -1, Remaining: -1, Limit: -1, Status: st}
		if f, err := strconv.ParseFloat(strings.TrimSpace(util), 64); err == nil {
			it.UsedPercent = f * 100
		}
		it.ResetAt = unix(reset)
		if it.Status == "" {
			it.Status = status
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		if status == "" {
			return provider.Quota{}, false
		}
		items = []provider.QuotaItem{{Name: "unified", UsedPercent: -1, Remaining: -1, Limit: -1,
			Status: status, ResetAt: unix(first(h, unifiedReset))}}
	}
	return provider.Quota{Updated: now, Items: items}, true
}

// first returns the first value of an already canonical key without the allocation of Header.Get.
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func unix(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}
