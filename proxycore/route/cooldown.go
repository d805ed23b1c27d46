package route

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Hint is an upstream's word on when to try again.
type Hint struct {
	// Until is the latest applicable reset or retry time.
	Until time.Time
	// Explicit is true when an applicable hint names the reset time of a quota or rate-limit window
	// (x-ratelimit-reset-*, anthropic-ratelimit-*-reset, Codex resets_at/resets_in_seconds): such a
	// cooldown is honoured even beyond Options.MaxCooldown. Plain retry delays (retry-after,
	// retry-after-ms, Gemini RetryInfo) are not explicit and are capped.
	Explicit bool
	// Source names the header or body field that gave Until, for logs.
	Source string
}

// maxHintBody bounds the error body ParseHint decodes; error bodies are small.
const maxHintBody = 1 << 20

// CooldownFromResponse returns the time until which a failed response says to wait; see ParseHint.
func CooldownFromResponse(status int, h http.Header, body []byte, now time.Time) (until time.Time, ok bool) {
	hint, ok := ParseHint(status, h, body, now)
	return hint.Until, ok
}

// ParseHint reads every reset hint that applies to a failed response and returns the latest one in
// the future. Which hints apply depends on the status:
//
//   - 429 and 403 (quota): everything below;
//   - 408 and 5xx: only retry delays (retry-after, retry-after-ms, Gemini RetryInfo), since rate-limit
//     window headers describe quota, not the failure;
//   - any other status: nothing.
//
// Sources (per WIRE.md §1.6, §3.6, §4.5, §5.9 and PROVIDERS.md):
//
//   - retry-after: delta seconds or an HTTP date (RFC 9110 §10.2.3); retry-after-ms: milliseconds
//     (OpenAI and Anthropic SDKs);
//   - OpenAI x-ratelimit-reset-requests / -tokens: Go-style durations ("1s", "6m0s", "12ms");
//   - Anthropic anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset: RFC 3339;
//   - Anthropic subscription anthropic-ratelimit-unified-reset: unix seconds, used when
//     anthropic-ratelimit-unified-status is absent or "rejected";
//   - Gemini body error.details[] google.rpc.RetryInfo retryDelay: a protobuf Duration ("30s", "1.5s");
//   - Codex body {"error":{"type":"usage_limit_reached","resets_in_seconds":N}} or "resets_at" (unix s).
//
// For the window headers of one vendor, a reset whose matching "remaining" header is "0" identifies
// the exhausted limit; when none reads "0", all resets of that vendor apply. Among everything that
// applies the latest time wins, because the request cannot succeed before it. Hints more than 31 days
// ahead are ignored as implausible.
func ParseHint(status int, h http.Header, body []byte, now time.Time) (Hint, bool) {
	quota := status == http.StatusTooManyRequests || status == http.StatusForbidden
	retry := quota || status == http.StatusRequestTimeout || status >= 500
	if !retry {
		return Hint{}, false
	}
	var c collector
	c.now = now
	// Retry delays.
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms >= 0 {
			c.add(now.Add(fracDuration(ms, time.Millisecond)), false, "retry-after-ms")
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			c.add(now.Add(fracDuration(s, time.Second)), false, "retry-after")
		} else if t, err := http.ParseTime(v); err == nil {
			c.add(t, false, "retry-after")
		}
	}
	if len(body) > 0 && len(body) <= maxHintBody {
		parseBodyHints(&c, body, quota)
	}
	if quota {
		windowHints(&c, h, now, []string{"requests", "tokens"}, "X-Ratelimit-Remaining-", "X-Ratelimit-Reset-", parseOpenAIReset)
		windowHints(&c, h, now, []string{"requests", "tokens", "input-tokens", "output-tokens"},
			"Anthropic-Ratelimit-", "", parseRFC3339)
		if v := h.Get("Anthropic-Ratelimit-Unified-Reset"); v != "" {
			st := strings.ToLower(strings.TrimSpace(h.Get("Anthropic-Ratelimit-Unified-Status")))
			if st == "" || st == "rejected" {
				if t, ok := parseUnix(v); ok {
					c.add(t, true, "anthropic-ratelimit-unified-reset")
				}
			}
		}
	}
	return c.best, c.ok
}

// maxHintAhead drops hints further out than any real quota window (weekly limits are the longest
// known), so that a misread timestamp cannot park a credential for years.
const maxHintAhead = 31 * 24 * time.Hour

// collector keeps the latest future hint.
type collector struct {
	now  time.Time
	best Hint
	ok   bool
}

func (c *collector) add(t time.Time, explicit bool, source string) {
	if !t.After(c.now) || t.Sub(c.now) > maxHintAhead {
		return
	}
	if !c.ok || t.After(c.best.Until) {
		c.best.Until, c.best.Source = t, source
	}
	c.best.Explicit = c.best.Explicit || explicit
	c.ok = true
}

// windowHints handles one vendor's {remaining,reset} header pairs. For OpenAI the names are
// x-ratelimit-remaining-<kind> / x-ratelimit-reset-<kind>; for Anthropic (resetPrefix == "")
// anthropic-ratelimit-<kind>-remaining / anthropic-ratelimit-<kind>-reset.
func windowHints(c *collector, h http.Header, now time.Time, kinds []string, prefix, resetPrefix string,
	parse func(string, time.Time) (time.Time, bool)) {
	type reset struct {
		at        time.Time
		exhausted bool
		name      string
	}
	var found [4]reset
	n, exhausted := 0, false
	for _, kind := range kinds {
		var remName, resName string
		if resetPrefix != "" {
			remName, resName = prefix+kind, resetPrefix+kind
		} else {
			remName, resName = prefix+kind+"-Remaining", prefix+kind+"-Reset"
		}
		v := h.Get(resName)
		if v == "" {
			continue
		}
		t, ok := parse(v, now)
		if !ok {
			continue
		}
		ex := strings.TrimSpace(h.Get(remName)) == "0"
		exhausted = exhausted || ex
		found[n] = reset{at: t, exhausted: ex, name: strings.ToLower(resName)}
		n++
	}
	for _, r := range found[:n] {
		if !exhausted || r.exhausted {
			c.add(r.at, true, r.name)
		}
	}
}

// parseOpenAIReset reads a Go-style duration ("6m0s", "12ms"); bare numbers are taken as seconds.
func parseOpenAIReset(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(d), true
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return now.Add(fracDuration(s, time.Second)), true
	}
	return time.Time{}, false
}

func parseRFC3339(v string, _ time.Time) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	return t, err == nil
}

// parseUnix reads unix seconds (possibly fractional), or RFC 3339 as a fallback.
func parseUnix(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 && s < 1e11 {
		sec, frac := math.Modf(s)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	return parseRFC3339(v, time.Time{})
}

// fracDuration converts v units into a Duration, saturating instead of overflowing.
func fracDuration(v float64, unit time.Duration) time.Duration {
	f := v * float64(unit)
	if f >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(f)
}

// errorBody is the part of vendor error bodies that carries reset hints.
type errorBody struct {
	Error json.RawMessage `json:"error"`
}

type errorDetail struct {
	Type            string          `json:"type"`
	ResetsAt        json.RawMessage `json:"resets_at"`
	ResetsInSeconds json.RawMessage `json:"resets_in_seconds"`
	Details         []struct {
		Type       string `json:"@type"`
		RetryDelay string `json:"retryDelay"`
	} `json:"details"`
}

// parseBodyHints reads Gemini RetryInfo (any retryable status) and Codex usage-limit resets (quota
// statuses). Gemini CLI can wrap the error object in a one-element array.
func parseBodyHints(c *collector, body []byte, quota bool) {
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return
	}
	var eb errorBody
	switch trimmed[0] {
	case '{':
		if json.Unmarshal([]byte(trimmed), &eb) != nil {
			return
		}
	case '[':
		var arr []errorBody
		if json.Unmarshal([]byte(trimmed), &arr) != nil || len(arr) == 0 {
			return
		}
		eb = arr[0]
	default:
		return
	}
	var d errorDetail
	if len(eb.Error) == 0 || eb.Error[0] != '{' || json.Unmarshal(eb.Error, &d) != nil {
		return
	}
	for _, det := range d.Details {
		if det.RetryDelay == "" {
			continue
		}
		if dur, err := time.ParseDuration(strings.TrimSpace(det.RetryDelay)); err == nil && dur >= 0 {
			c.add(c.now.Add(dur), false, "error.details.retryDelay")
		}
	}
	if !quota {
		return
	}
	if s, ok := jsonNumber(d.ResetsInSeconds); ok && s >= 0 {
		c.add(c.now.Add(fracDuration(s, time.Second)), true, "error.resets_in_seconds")
	}
	if s, ok := jsonNumber(d.ResetsAt); ok && s > 0 {
		sec, frac := math.Modf(s)
		c.add(time.Unix(int64(sec), int64(frac*1e9)).In(c.now.Location()), true, "error.resets_at")
	}
}

// jsonNumber reads a JSON number, or a string holding one.
func jsonNumber(raw json.RawMessage) (float64, bool) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if s == "" || s == "null" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}
