package codex

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/provider"
)

// The backend reports plan usage in x-codex-* headers (openai/codex codex-rs/codex-api/src/
// rate_limits.rs; PROVIDERS.md "codex"): for the primary and secondary windows "-used-percent"
// (0..100), "-window-minutes" (300 = 5 h, 10080 = 7 d) and the reset as "-reset-at" (unix seconds,
// newer) or "-reset-after-seconds" (older, still sent).
type usageWindow struct {
	slot, used, minutes, resetAt, resetAfter string
}

func usageKeys(slot string) usageWindow {
	p := "X-Codex-" + slot + "-"
	c := http.CanonicalHeaderKey
	return usageWindow{slot: strings.ToLower(slot), used: c(p + "used-percent"), minutes: c(p + "window-minutes"),
		resetAt: c(p + "reset-at"), resetAfter: c(p + "reset-after-seconds")}
}

var usageWindows = [...]usageWindow{usageKeys("Primary"), usageKeys("Secondary")}

// parseUsage reads the usage headers; ok is false when there are none.
func parseUsage(h http.Header, now time.Time) (provider.Quota, bool) {
	var items []provider.QuotaItem
	for _, w := range usageWindows {
		used := first(h, w.used)
		if used == "" {
			continue
		}
		it := provider.QuotaItem{Name: w.slot, UsedPercent: -1, Remaining: -1, Limit: -1}
		if f, err := strconv.ParseFloat(strings.TrimSpace(used), 64); err == nil {
			it.UsedPercent = f
		}
		if m, err := strconv.Atoi(strings.TrimSpace(first(h, w.minutes))); err == nil && m > 0 {
			it.Name = windowName(m)
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(first(h, w.resetAt)), 10, 64); err == nil && n > 0 {
			it.ResetAt = time.Unix(n, 0)
		} else if s, err := strconv.ParseFloat(strings.TrimSpace(first(h, w.resetAfter)), 64); err == nil && s >= 0 {
			it.ResetAt = now.Add(time.Duration(s * float64(time.Second)))
		}
		if it.UsedPercent >= 100 {
			it.Status = "rejected"
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return provider.Quota{}, false
	}
	return provider.Quota{Updated: now, Items: items}, true
}

// windowName names a window by its length: 300 -> "5h", 10080 -> "7d".
func windowName(minutes int) string {
	switch {
	case minutes%1440 == 0:
		return strconv.Itoa(minutes/1440) + "d"
	case minutes%60 == 0:
		return strconv.Itoa(minutes/60) + "h"
	}
	return strconv.Itoa(minutes) + "m"
}

func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
