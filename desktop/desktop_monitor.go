package desktop

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/app"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/proxycore/store"
	"github.com/cliproxy/cliproxy/ui"
)

// uiState maps a routing state to the UI's.
func uiState(s route.State) ui.State {
	switch s {
	case route.Degraded:
		return ui.StateDegraded
	case route.Cooldown:
		return ui.StateCooldown
	case route.Error:
		return ui.StateError
	}
	return ui.StateHealthy
}

// Accounts lists every account with its health, today's usage and quota hints.
func (d *Desktop) Accounts() []ui.AccountView {
	infos := d.core.Accounts()
	health := map[string]route.CredentialHealth{}
	for _, h := range d.health() {
		health[h.CredentialID] = h
	}
	relogin := map[string]bool{}
	for _, p := range d.core.LoginProviders() {
		relogin[p.ID] = true
	}
	usage := d.spend.todayBy(store.GroupCredential)
	out := make([]ui.AccountView, 0, len(infos))
	for _, a := range infos {
		out = append(out, accountView(a, health[a.ID], usage[a.ID], relogin[a.Provider], d.clock.Now()))
	}
	return out
}

// accountView maps one account with its health and today's usage.
func accountView(a app.AccountInfo, h route.CredentialHealth, used store.SpendTotal, relogin bool, now time.Time) ui.AccountView {
	v := ui.AccountView{
		ID: a.ID, Provider: a.Provider, Label: a.Label, Disabled: a.Disabled, State: uiState(h.State),
		RequestsToday: used.Requests, SpendToday: used.CostUSD, CanRelogin: relogin,
		QuotaHint: quotaHint(a.Quota, now),
	}
	if v.Label == "" {
		v.Label = a.ID
	}
	switch {
	case a.Error != "":
		v.State, v.Message = ui.StateError, a.Error
	case h.Message != "":
		v.Message = h.Message
	case h.State == route.Cooldown && !h.CooldownUntil.IsZero():
		v.Message = "Rate limited; retrying at " + h.CooldownUntil.In(now.Location()).Format("15:04")
	case h.State != route.Healthy && h.Requests > 0:
		v.Message = fmt.Sprintf("%d of %d requests failed in the health window", h.Failures, h.Requests)
		if h.LastError != "" {
			v.Message += ": " + h.LastError
		}
	}
	return v
}

// quotaHint summarises the upstream's quota windows, most used first, e.g.
// "5h 62% used, resets 16:00; weekly 35% used". Empty when the upstream reported nothing.
func quotaHint(q provider.Quota, now time.Time) string {
	items := append([]provider.QuotaItem(nil), q.Items...)
	sort.SliceStable(items, func(i, j int) bool { return items[i].UsedPercent > items[j].UsedPercent })
	var parts []string
	for _, it := range items {
		var s string
		switch {
		case it.UsedPercent >= 0:
			s = fmt.Sprintf("%s %d%% used", it.Name, int(math.Round(it.UsedPercent)))
		case it.Remaining >= 0 && it.Limit > 0:
			s = fmt.Sprintf("%s %d of %d left", it.Name, it.Remaining, it.Limit)
		case it.Remaining >= 0:
			s = fmt.Sprintf("%s %d left", it.Name, it.Remaining)
		case it.Status != "":
			s = it.Name + " " + strings.ReplaceAll(it.Status, "_", " ")
		default:
			continue
		}
		if !it.ResetAt.IsZero() && it.ResetAt.After(now) {
			s += ", resets " + resetText(it.ResetAt, now)
		}
		parts = append(parts, s)
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, "; ")
}

// resetText says when a window resets: the time today, or the weekday and time within a week.
func resetText(at, now time.Time) string {
	at = at.In(now.Location())
	y1, m1, d1 := at.Date()
	y2, m2, d2 := now.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return at.Format("15:04")
	case at.Sub(now) < 7*24*time.Hour:
		return at.Format("Mon 15:04")
	}
	return at.Format("Jan 2")
}

// Health returns one row per credential and model from the router, errors first.
func (d *Desktop) Health() []ui.HealthView {
	return healthRows(d.health(), d.names().accounts)
}

// healthRows flattens the router snapshot: a row per model, or one row for a credential with no model
// breakdown. Worse states come first, then credential and model names.
func healthRows(snap []route.CredentialHealth, labels map[string]string) []ui.HealthView {
	var out []ui.HealthView
	for _, c := range snap {
		name := c.CredentialID
		if l := labels[c.CredentialID]; l != "" {
			name = l
		}
		row := func(model string, s route.HealthStats) ui.HealthView {
			// A credential-wide state (a subscription's usage limit, a login to repeat) applies to every
			// model on it.
			st, until := max(s.State, c.State), s.CooldownUntil
			if c.CooldownUntil.After(until) {
				until = c.CooldownUntil
			}
			return ui.HealthView{
				Credential: name, Provider: c.Provider, Model: model, State: uiState(st),
				P95Ms: float64(s.P95) / float64(time.Millisecond), InFlight: s.InFlight,
				FailureRate: s.FailureRate, CooldownUntil: until,
			}
		}
		if len(c.Models) == 0 {
			out = append(out, row("", c.HealthStats))
			continue
		}
		for _, m := range c.Models {
			out = append(out, row(m.Model, m.HealthStats))
		}
	}
	rank := map[ui.State]int{ui.StateError: 0, ui.StateCooldown: 1, ui.StateDegraded: 2, ui.StateHealthy: 3}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].State] != rank[out[j].State] {
			return rank[out[i].State] < rank[out[j].State]
		}
		if out[i].Credential != out[j].Credential {
			return out[i].Credential < out[j].Credential
		}
		return out[i].Model < out[j].Model
	})
	return out
}

// RequestsPerMinute returns the request count per minute for the last minutes, oldest first.
func (d *Desktop) RequestsPerMinute(minutes int) []ui.Point {
	return d.traffic.series(d.clock.Now(), minutes, false)
}

// LatencyP95PerMinute returns the p95 latency (ms) per minute for the last minutes, oldest first.
func (d *Desktop) LatencyP95PerMinute(minutes int) []ui.Point {
	return d.traffic.series(d.clock.Now(), minutes, true)
}

// RequestBodies returns what the request log kept of a request (masked when it was stored).
func (d *Desktop) RequestBodies(requestID string) (ui.RequestBodies, error) {
	out := ui.RequestBodies{Enabled: d.core.RequestLogEnabled()}
	if requestID == "" {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	row, ok, err := d.core.RequestLogEntry(ctx, requestID)
	if err != nil || !ok {
		return out, err
	}
	out.Logged, out.Request, out.Response = true, row.RequestBody, row.ResponseBody
	return out, nil
}

// RecentRequests returns up to n finished requests, newest first.
func (d *Desktop) RecentRequests(n int) []ui.RequestView { return d.traffic.latest(n) }
