package app

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// DemoDays is how many days of synthetic spend SeedDemo writes.
const DemoDays = 42

// demoAccount is one synthetic account of the demo: its credential id, provider, label and models with
// their share of the traffic and price per request.
type demoAccount struct {
	id, provider, label string
	models              []demoModel
}

type demoModel struct {
	name   string
	weight float64 // relative share of the account's requests
	usd    float64 // mean cost of one request
	p95ms  float64 // typical latency
}

// demoAccounts are the accounts shown by `cliproxy --demo`. They are listed in the Accounts tab but have
// no stored tokens, so they are never routed to.
func demoAccounts() []demoAccount {
	return []demoAccount{
		{"claude-code-demo", "claude-code", "dev@example.com", []demoModel{
			{"claude-sonnet-4-5", 6, 0.021, 2400}, {"claude-haiku-4-5", 3, 0.004, 900}}},
		{"codex-demo", "codex", "dev@example.com", []demoModel{{"gpt-5-codex", 4, 0.015, 3100}}},
		{"copilot-demo", "copilot", "octocat", []demoModel{{"gpt-4.1", 2, 0.006, 1300}}},
		{"qwen-demo", "qwen", "dev@example.com", []demoModel{{"qwen3-coder-plus", 2, 0.009, 2000}}},
	}
}

// demoKeys are the virtual keys of the demo: name, budget, period, rpm, share of traffic, revoked.
var demoKeys = []struct {
	name    string
	budget  float64
	period  string
	rpm     int
	share   float64
	ageDays int
	revoked bool
}{
	{"laptop", 50, "monthly", 60, 0.45, 60, false},
	{"ci-runner", 5, "daily", 20, 0.2, 12, false},
	{"old-script", 0, "", 0, 0.05, 90, true},
}

// demoRevokedDays is how long ago the revoked demo key stopped being used.
const demoRevokedDays = 14

// SeedDemo fills dir with a demo data set through the real store: DemoDays days of spend across several
// providers, models and keys (weekdays busier than weekends, office hours busier than nights), the last
// two hours minute by minute for the traffic chart, a day of health samples, a few virtual keys and demo
// accounts. It returns a configuration that listens on a free loopback port, so the demo never clashes
// with a running instance. Open the Core with CoreOptions{DataDir: dir, Config: cfg}.
func SeedDemo(dir string, now time.Time) (*config.Config, error) { return SeedDemoVolume(dir, now, 1) }

// SeedDemoVolume is SeedDemo with the request volume scaled by volume (tests use a fraction, since SQLite
// under the race detector writes slowly).
func SeedDemoVolume(dir string, now time.Time, volume float64) (*config.Config, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the demo directory: %w", err)
	}
	port, err := demoPort()
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Host, cfg.Port = "127.0.0.1", port

	log := slog.New(slog.DiscardHandler)
	clk := clock.NewFake(now)
	st, err := store.Open(filepath.Join(dir, "cliproxy.db"), log, store.WithClock(clk))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ctx := context.Background()

	keys, err := seedDemoKeys(ctx, st, clk, now)
	if err != nil {
		return nil, err
	}
	accounts := demoAccounts()
	for i, a := range accounts {
		err := st.UpsertAccount(ctx, store.Account{ID: a.id, Provider: a.provider, Label: a.label,
			CreatedAt: now.AddDate(0, 0, -DemoDays-7*i)})
		if err != nil {
			return nil, fmt.Errorf("seeding demo accounts: %w", err)
		}
	}
	rows := demoSpendRows(accounts, keys, now, volume)
	if err := st.InsertSpend(ctx, rows); err != nil {
		return nil, fmt.Errorf("seeding demo spend: %w", err)
	}
	if err := st.InsertHealthSamples(ctx, demoHealthSamples(accounts, now)); err != nil {
		return nil, fmt.Errorf("seeding demo health: %w", err)
	}
	if err := seedDemoRequestLog(ctx, filepath.Join(dir, "cliproxy.db"), rows); err != nil {
		return nil, err
	}
	cfg.RequestLog.Enable = true
	return cfg, nil
}

// demoLogged is how many of the newest demo requests have bodies in the request log.
const demoLogged = 120

// seedDemoRequestLog gives the newest demo requests bodies in the request log, so that the Logs tab's
// details show what a logged request looks like: coding sessions whose every turn resends the ones
// before, as the tools do (the model comes last, since consecutive demo requests use different ones).
func seedDemoRequestLog(ctx context.Context, mainPath string, rows []store.SpendRow) error {
	l, err := store.OpenRequestLog(store.RequestLogPath(mainPath), nil)
	if err != nil {
		return fmt.Errorf("seeding the demo request log: %w", err)
	}
	defer l.Close()
	recent := append([]store.SpendRow(nil), rows...)
	sort.SliceStable(recent, func(i, j int) bool { return recent[i].Time.Before(recent[j].Time) })
	recent = recent[max(0, len(recent)-demoLogged):]
	tasks := []string{"Fix the failing test in route/health_test.go", "Add a --dry-run flag to the import command",
		"Explain why the spend chart is empty on Mondays", "Rename Store.Prune to Store.PruneBefore everywhere"}
	logged := make([]store.RequestLogRow, 0, len(recent))
	var conv strings.Builder
	for i, r := range recent {
		if i%6 == 0 { // a new session every six requests
			conv.Reset()
			conv.WriteString(`{"max_tokens":8192,"system":"You are a careful coding assistant working in the cliproxy repository. Read before you edit, keep changes small, and run the tests.","messages":[`)
		} else {
			conv.WriteString(",")
		}
		fmt.Fprintf(&conv, `{"role":"user","content":"%s (step %d)"}`, tasks[(i/6)%len(tasks)], i%6+1)
		answer := `{"type":"message","role":"assistant","content":[{"type":"text","text":"Done: the change is in place and the tests pass."}],"usage":{"input_tokens":` +
			fmt.Sprint(r.InputTokens) + `,"output_tokens":` + fmt.Sprint(r.OutputTokens) + `}}`
		if r.Status >= 400 {
			answer = `Upstream rate limit: retried on another account.`
		}
		logged = append(logged, store.RequestLogRow{Time: r.Time, RequestID: r.RequestID, Method: "POST", Path: "/v1/messages",
			Status: r.Status, LatencyMS: r.LatencyMS, RequestBody: conv.String() + `],"model":"` + r.Model + `"}`, ResponseBody: answer})
		conv.WriteString(`,{"role":"assistant","content":"Done."}`)
	}
	if err := l.InsertRequestLog(ctx, logged); err != nil {
		return fmt.Errorf("seeding the demo request log: %w", err)
	}
	return nil
}

// seedDemoKeys creates the demo keys, charges what they spent this period and returns their ids by the
// share of traffic they carry ("" is the client key).
func seedDemoKeys(ctx context.Context, st *store.Store, clk *clock.Fake, now time.Time) (keyShares, error) {
	keys, err := spend.NewKeys(ctx, st, spend.KeysOptions{Clock: clk})
	if err != nil {
		return keyShares{}, err
	}
	shares := keyShares{share: map[string]float64{"": 1}, revoked: map[string]bool{}}
	for i, k := range demoKeys {
		clk.Set(now.AddDate(0, 0, -k.ageDays))
		_, key, err := keys.Create(ctx, spend.KeyParams{Name: k.name, BudgetUSD: k.budget, BudgetPeriod: k.period, RPM: k.rpm})
		clk.Set(now)
		if err != nil {
			return keyShares{}, fmt.Errorf("seeding demo keys: %w", err)
		}
		shares.share[key.ID] = k.share
		shares.share[""] -= k.share
		shares.revoked[key.ID] = k.revoked
		if k.budget > 0 {
			// Spent this period: the laptop key well inside its budget, the CI key near its daily cap.
			if err := keys.Charge(key.ID, k.budget*[]float64{0.63, 0.86}[i%2]); err != nil {
				return keyShares{}, err
			}
		}
		if k.revoked {
			clk.Set(now.AddDate(0, 0, -demoRevokedDays))
			err := keys.Revoke(ctx, key.ID)
			clk.Set(now)
			if err != nil {
				return keyShares{}, err
			}
		}
	}
	if err := keys.Close(ctx); err != nil {
		return keyShares{}, fmt.Errorf("seeding demo keys: %w", err)
	}
	return shares, nil
}

// keyShares says which share of the demo traffic each key id carries ("" is the client key) and which
// keys were revoked (they carry traffic only before demoRevokedDays).
type keyShares struct {
	share   map[string]float64
	revoked map[string]bool
}

// demoSpendRows makes the synthetic request log: a deterministic pseudo-random workload shaped like a
// developer's week, ending at now.
func demoSpendRows(accounts []demoAccount, keys keyShares, now time.Time, volume float64) []store.SpendRow {
	rng := rand.New(rand.NewPCG(7, 2026))
	type pick struct {
		acc   demoAccount
		model demoModel
	}
	var picks []pick
	var total float64
	for _, a := range accounts {
		for _, m := range a.models {
			picks = append(picks, pick{a, m})
			total += m.weight
		}
	}
	choose := func() pick {
		x := rng.Float64() * total
		for _, p := range picks {
			if x -= p.model.weight; x < 0 {
				return p
			}
		}
		return picks[len(picks)-1]
	}
	keyIDs := make([]string, 0, len(keys.share))
	for id := range keys.share {
		keyIDs = append(keyIDs, id)
	}
	sort.Strings(keyIDs)
	revokedAt := now.AddDate(0, 0, -demoRevokedDays)
	chooseKey := func(at time.Time) string {
		x := rng.Float64()
		for _, id := range keyIDs {
			if x -= keys.share[id]; x < 0 {
				if keys.revoked[id] && at.After(revokedAt) {
					return ""
				}
				return id
			}
		}
		return ""
	}
	var rows []store.SpendRow
	add := func(at time.Time) {
		p := choose()
		in := int64(2000 + rng.IntN(30000))
		out := int64(200 + rng.IntN(3000))
		lat := p.model.p95ms * (0.35 + 0.6*rng.Float64())
		r := store.SpendRow{
			Time: at, RequestID: fmt.Sprintf("demo-%d", len(rows)), KeyID: chooseKey(at), CredentialID: p.acc.id,
			Provider: p.acc.provider, Model: p.model.name, Route: "chat", InputTokens: in, OutputTokens: out,
			CachedTokens: in / 3, CostUSD: math.Round(p.model.usd*(0.4+1.2*rng.Float64())*1e5) / 1e5,
			PriceKnown: true, LatencyMS: int64(lat), TTFBMS: int64(lat / 4), Status: 200,
		}
		if rng.IntN(60) == 0 {
			r.Status, r.ErrorClass, r.CostUSD, r.OutputTokens = 429, "rate_limited", 0, 0
		}
		rows = append(rows, r)
	}
	// Whole days: requests per hour follow office hours, weekends are quiet, and the volume grows a little
	// over the weeks.
	recentFrom := now.Add(-2 * time.Hour)
	start := now.AddDate(0, 0, -DemoDays).Truncate(time.Hour)
	for h := start; h.Before(recentFrom); h = h.Add(time.Hour) {
		rate := 12 + 230*math.Max(0, math.Sin(math.Pi*float64(h.Hour()-8)/11))
		if wd := h.Weekday(); wd == time.Saturday || wd == time.Sunday {
			rate *= 0.25
		}
		rate *= 0.7 + 0.3*float64(h.Sub(start))/float64(now.Sub(start))
		n := int(volume*rate*(0.6+0.8*rng.Float64()) + 0.5)
		for i := 0; i < n; i++ {
			add(h.Add(time.Duration(rng.Int64N(int64(time.Hour)))))
		}
	}
	// The last two hours minute by minute, busy enough to draw the requests-per-minute chart. They are few
	// rows, so a scaled-down demo keeps more of them.
	recentVolume := math.Min(1, 10*volume)
	for m := recentFrom.Truncate(time.Minute); m.Before(now); m = m.Add(time.Minute) {
		wave := 3 + 2*math.Sin(float64(m.Unix()/60)/9)
		n := int(recentVolume*(wave+3*rng.Float64()) + 0.5)
		for i := 0; i < n; i++ {
			at := m.Add(time.Duration(rng.Int64N(int64(time.Minute))))
			if at.After(now) {
				at = now
			}
			add(at)
		}
	}
	return rows
}

// demoHealthSamples writes one sample per account every ten minutes over the last day.
func demoHealthSamples(accounts []demoAccount, now time.Time) []store.HealthSample {
	rng := rand.New(rand.NewPCG(3, 5))
	var out []store.HealthSample
	for t := now.Add(-24 * time.Hour).Truncate(10 * time.Minute); t.Before(now); t = t.Add(10 * time.Minute) {
		for _, a := range accounts {
			reqs := int64(5 + rng.IntN(40))
			fails := int64(0)
			state := "HEALTHY"
			if rng.IntN(25) == 0 {
				fails, state = reqs/3, "DEGRADED"
			}
			out = append(out, store.HealthSample{Time: t, CredentialID: a.id, State: state, Requests: reqs,
				Failures: fails, P95MS: int64(a.models[0].p95ms * (0.8 + 0.4*rng.Float64()))})
		}
	}
	return out
}

// DemoHealth plays a few minutes of synthetic outcomes into the router, so the Overview tab of the demo
// shows every health state: healthy accounts with their latencies, one rate-limited (COOLDOWN), one with
// timeouts (DEGRADED), one needing a new login (ERROR), and requests in flight.
func DemoHealth(r *route.Router, now time.Time) {
	rng := rand.New(rand.NewPCG(11, 13))
	for _, a := range demoAccounts() {
		for _, m := range a.models {
			e := route.Entry{CredentialID: a.id, Provider: a.provider, Model: m.name}
			for i := 0; i < 40; i++ {
				o := route.Outcome{Status: http.StatusOK,
					Latency: time.Duration(m.p95ms*(0.3+0.7*rng.Float64())) * time.Millisecond}
				if a.provider == "codex" && i%4 == 0 {
					o = route.Outcome{Status: http.StatusRequestTimeout}
				}
				r.End(r.Begin(e), o)
			}
			if a.provider == "claude-code" {
				r.Begin(e) // left in flight
			}
		}
	}
	r.End(r.Begin(route.Entry{CredentialID: "copilot-demo", Provider: "copilot", Model: "gpt-4.1"}),
		route.Outcome{Status: http.StatusTooManyRequests, CooldownUntil: now.Add(17 * time.Minute), CredentialWide: true})
	r.MarkError("qwen-demo", "Log in to Qwen again: the refresh token was revoked.")
}

// demoPort asks the system for a free loopback port.
func demoPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port for the demo: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
