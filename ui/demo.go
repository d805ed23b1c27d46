package ui

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// demoNow is the fixed "now" of DemoBackend, so screenshots and golden images are reproducible.
func demoNow() time.Time { return time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC) }

// Demo is a deterministic in-memory Backend with synthetic accounts, health, traffic and a few months
// of spend. It backs the golden-image tests and `cliproxy --demo`. It is safe for concurrent use.
type Demo struct {
	now func() time.Time

	mu       sync.Mutex // guards every field below
	paused   bool
	accounts []AccountView
	keys     []KeyView
	settings SettingsView
	logins   map[string]LoginView
	nextID   int
	rpm, p95 []Point
	daily    []SpendDay // 90 days, oldest first
	requests []RequestView
	events   chan Event
	closed   bool
	quits    int
	// Calls recorded for tests.
	applied   []SettingsView
	created   []KeyForm
	revoked   []string
	cancelled []string
	submitted []string
}

var _ Backend = (*Demo)(nil)

// DemoBackend returns a Demo whose clock is fixed at 2026-11-20 14:30 UTC.
func DemoBackend() *Demo { return NewDemo(demoNow) }

// NewDemo returns a Demo whose data ends at now() as read once at construction.
func NewDemo(now func() time.Time) *Demo {
	d := &Demo{now: now, logins: map[string]LoginView{}, events: make(chan Event, 64)}
	d.seed(now())
	return d
}

// demoProviders are the providers shown in the demo, in menu order.
func demoProviders() []ProviderView {
	return []ProviderView{
		{ID: "claude-code", Name: "Claude Code", Login: LoginBrowser},
		{ID: "codex", Name: "ChatGPT Codex", Login: LoginBrowser},
		{ID: "copilot", Name: "GitHub Copilot", Login: LoginDevice},
		{ID: "gemini-cli", Name: "Gemini CLI", Login: LoginBrowser},
		{ID: "kiro", Name: "Kiro", Login: LoginDevice},
		{ID: "qwen", Name: "Qwen Code", Login: LoginDevice},
	}
}

func (d *Demo) seed(now time.Time) {
	rng := rand.New(rand.NewPCG(17, 42))
	d.accounts = []AccountView{
		{ID: "acc-claude", Provider: "claude-code", Label: "dev@example.com", State: StateHealthy,
			RequestsToday: 412, SpendToday: 8.12, QuotaHint: "5-hour window 62% used, resets 16:00", CanRelogin: true},
		{ID: "acc-codex", Provider: "codex", Label: "dev@example.com", State: StateDegraded,
			Message: "2 of 14 requests failed with 429 in the last minute", RequestsToday: 188, SpendToday: 3.40,
			QuotaHint: "weekly limit 35% used", CanRelogin: true},
		{ID: "acc-copilot", Provider: "copilot", Label: "octocat", State: StateCooldown,
			Message: "Rate limited; retrying at 14:52", RequestsToday: 96, SpendToday: 0, CanRelogin: true},
		{ID: "acc-gemini", Provider: "gemini", Label: "GEMINI_API_KEY", State: StateHealthy,
			RequestsToday: 57, SpendToday: 0.91},
		{ID: "acc-openai", Provider: "openai", Label: "team key", State: StateError,
			Message: "401 invalid API key: update it in config.toml", RequestsToday: 3},
	}
	d.keys = []KeyView{
		{ID: "key-1", Name: "laptop", Masked: "sk-cp-...4c1d", Created: now.AddDate(0, -2, 0), BudgetUSD: 50,
			Period: "monthly", SpentUSD: 31.7, RPM: 60},
		{ID: "key-2", Name: "ci-runner", Masked: "sk-cp-...77aa", Created: now.AddDate(0, 0, -12), BudgetUSD: 5,
			Period: "daily", SpentUSD: 1.2, RPM: 20, TPM: 100000, Models: []string{"gpt-5-codex"}},
		{ID: "key-3", Name: "old-script", Masked: "sk-cp-...0b9e", Created: now.AddDate(0, -5, 0), Revoked: true},
	}
	d.settings = SettingsView{
		Port: 8317, Strategy: "fill-first", HealthAware: true, KeystoreBackend: "auto",
		Strategies:       []string{"fill-first", "round-robin", "random", "least-busy", "lowest-latency"},
		KeystoreBackends: []string{"auto", "keychain", "file"},
	}
	start := now.Truncate(time.Minute).Add(-59 * time.Minute)
	for i := 0; i < 60; i++ {
		t := start.Add(time.Duration(i) * time.Minute)
		wave := 14 + 9*math.Sin(float64(i)/7)
		d.rpm = append(d.rpm, Point{Time: t, Value: math.Round(wave + rng.Float64()*8)})
		d.p95 = append(d.p95, Point{Time: t, Value: math.Round(900 + 400*math.Cos(float64(i)/9) + rng.Float64()*300)})
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	for i := 89; i >= 0; i-- {
		weekday := day.AddDate(0, 0, -i).Weekday()
		f := 1.0
		if weekday == time.Saturday || weekday == time.Sunday {
			f = 0.3
		}
		d.daily = append(d.daily, SpendDay{Day: day.AddDate(0, 0, -i), ByProvider: map[string]float64{
			"claude-code": round2(f * (6 + rng.Float64()*6)),
			"codex":       round2(f * (2 + rng.Float64()*3)),
			"gemini":      round2(f * rng.Float64() * 1.5),
			"openai":      round2(f * rng.Float64() * 0.8),
		}})
	}
	models := []string{"claude-sonnet-4-5", "gpt-5-codex", "claude-haiku-4-5", "gemini-2.5-pro", "gpt-4.1-mini"}
	accounts := []string{"dev@example.com", "dev@example.com", "octocat", "GEMINI_API_KEY", "team key"}
	providers := []string{"claude-code", "codex", "copilot", "gemini", "openai"}
	for i := 0; i < 40; i++ {
		m := i % len(models)
		r := RequestView{
			RequestID: fmt.Sprintf("req_demo%03d", i),
			Time:      now.Add(-time.Duration(i*47) * time.Second), Method: "POST", Path: "/v1/chat/completions",
			Model: models[m], Provider: providers[m], Account: accounts[m], Key: "sk-cp-...4c1d", Status: 200,
			LatencyMs: 400 + int64(rng.IntN(2400)), TokensIn: 800 + int64(rng.IntN(9000)),
			TokensOut: 50 + int64(rng.IntN(1500)), Streamed: i%3 != 0,
		}
		r.CostUSD = round4(float64(r.TokensIn)*3e-6 + float64(r.TokensOut)*15e-6)
		if i%3 == 1 {
			r.Path = "/v1/messages"
		}
		if i%11 == 5 {
			r.Status, r.Error, r.RetryCount, r.CostUSD = 429, "rate limited by upstream, retried on another account", 1, 0
		}
		d.requests = append(d.requests, r)
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// emit queues an event without blocking; a full queue drops it (the UI refreshes on the next one).
func (d *Demo) emit(e Event) {
	if d.closed {
		return
	}
	select {
	case d.events <- e:
	default:
	}
}

// Status implements Backend.
func (d *Demo) Status() StatusView {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := StatusView{Running: true, Paused: d.paused, Port: d.settings.Port,
		BaseURL: fmt.Sprintf("http://127.0.0.1:%d", d.settings.Port), MaskedKey: "sk-cp-...9f3a"}
	for _, a := range d.accounts {
		s.RequestsToday += a.RequestsToday
		s.SpendToday += a.SpendToday
	}
	return s
}

// ClientKey implements Backend; the demo key is not a secret.
func (d *Demo) ClientKey() string { return "sk-cp-demo0000000000000000000000009f3a" }

// Accounts implements Backend.
func (d *Demo) Accounts() []AccountView {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]AccountView(nil), d.accounts...)
}

// Health implements Backend.
func (d *Demo) Health() []HealthView {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	var out []HealthView
	models := map[string][]string{
		"claude-code": {"claude-sonnet-4-5", "claude-haiku-4-5"}, "codex": {"gpt-5-codex"},
		"copilot": {"gpt-4.1"}, "gemini": {"gemini-2.5-pro"}, "openai": {"gpt-4.1-mini"},
	}
	for i, a := range d.accounts {
		if a.Disabled {
			continue
		}
		for j, m := range models[a.Provider] {
			h := HealthView{Credential: a.Label, Provider: a.Provider, Model: m, State: a.State,
				P95Ms: float64(700 + 350*i + 120*j), InFlight: (i + j) % 3}
			switch a.State {
			case StateDegraded:
				h.FailureRate = 0.14
			case StateError:
				h.FailureRate = 0.8
			case StateCooldown:
				h.CooldownUntil = now.Add(22 * time.Minute)
			}
			out = append(out, h)
		}
	}
	return out
}

// RequestsPerMinute implements Backend.
func (d *Demo) RequestsPerMinute(minutes int) []Point { return lastPoints(d, d.rpm, minutes) }

// LatencyP95PerMinute implements Backend.
func (d *Demo) LatencyP95PerMinute(minutes int) []Point { return lastPoints(d, d.p95, minutes) }

func lastPoints(d *Demo, pts []Point, n int) []Point {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n > len(pts) {
		n = len(pts)
	}
	if d.paused {
		return nil
	}
	return append([]Point(nil), pts[len(pts)-n:]...)
}

// RecentRequests implements Backend.
func (d *Demo) RecentRequests(n int) []RequestView {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n > len(d.requests) {
		n = len(d.requests)
	}
	return append([]RequestView(nil), d.requests[:n]...)
}

// RequestBodies implements Backend: the demo logs every request, with a short synthetic body.
func (d *Demo) RequestBodies(requestID string) (RequestBodies, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.requests {
		if r.RequestID == requestID {
			return RequestBodies{Enabled: true, Logged: true,
				Request:  fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"Explain the failing test in %s."}]}`, r.Model, r.RequestID),
				Response: fmt.Sprintf(`{"id":"msg_%s","content":[{"type":"text","text":"The test expects the key to be masked as ****4c1d."}]}`, r.RequestID)}, nil
		}
	}
	return RequestBodies{Enabled: true}, nil
}

// SpendDaily implements Backend.
func (d *Demo) SpendDaily(days int) []SpendDay {
	d.mu.Lock()
	defer d.mu.Unlock()
	if days > len(d.daily) {
		days = len(d.daily)
	}
	out := make([]SpendDay, 0, days)
	for _, sd := range d.daily[len(d.daily)-days:] {
		m := make(map[string]float64, len(sd.ByProvider))
		for k, v := range sd.ByProvider {
			m[k] = v
		}
		out = append(out, SpendDay{Day: sd.Day, ByProvider: m})
	}
	return out
}

// SpendByModel implements Backend: the range total split over models in fixed proportions.
func (d *Demo) SpendByModel(days int) []SpendShare {
	return d.split(days, []string{"claude-sonnet-4-5", "gpt-5-codex", "claude-haiku-4-5", "gemini-2.5-pro", "gpt-4.1-mini"},
		[]float64{0.52, 0.24, 0.12, 0.08, 0.04})
}

// SpendByKey implements Backend.
func (d *Demo) SpendByKey(days int) []SpendShare {
	return d.split(days, []string{"laptop", "ci-runner", "static key"}, []float64{0.71, 0.22, 0.07})
}

func (d *Demo) split(days int, names []string, parts []float64) []SpendShare {
	var total float64
	for _, sd := range d.SpendDaily(days) {
		for _, v := range sd.ByProvider {
			total += v
		}
	}
	out := make([]SpendShare, len(names))
	for i, n := range names {
		out[i] = SpendShare{Name: n, USD: round2(total * parts[i]), Requests: int64(total * parts[i] * 40)}
	}
	return out
}

// Keys implements Backend.
func (d *Demo) Keys() []KeyView {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]KeyView(nil), d.keys...)
}

// CreateKey implements Backend.
func (d *Demo) CreateKey(f KeyForm) (string, error) {
	if strings.TrimSpace(f.Name) == "" {
		return "", errors.New("a key needs a name")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.created = append(d.created, f)
	d.nextID++
	plain := fmt.Sprintf("sk-cp-demo%026d", d.nextID)
	k := KeyView{ID: fmt.Sprintf("key-new-%d", d.nextID), Name: f.Name, Masked: "sk-cp-..." + plain[len(plain)-4:],
		Created: d.now(), BudgetUSD: f.BudgetUSD, Period: f.Period, RPM: f.RPM, TPM: f.TPM, Models: f.Models}
	if f.ExpireDays > 0 {
		k.Expires = d.now().AddDate(0, 0, f.ExpireDays)
	}
	d.keys = append([]KeyView{k}, d.keys...)
	d.emit(Event{Kind: EventKeys})
	return plain, nil
}

// RevokeKey implements Backend.
func (d *Demo) RevokeKey(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.keys {
		if d.keys[i].ID == id {
			d.keys[i].Revoked = true
			d.revoked = append(d.revoked, id)
			d.emit(Event{Kind: EventKeys})
			return nil
		}
	}
	return fmt.Errorf("no key %q", id)
}

// DisableAccount implements Backend.
func (d *Demo) DisableAccount(id string, disabled bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.accounts {
		if d.accounts[i].ID == id {
			d.accounts[i].Disabled = disabled
			d.emit(Event{Kind: EventAccounts})
			return nil
		}
	}
	return fmt.Errorf("no account %q", id)
}

// RemoveAccount implements Backend.
func (d *Demo) RemoveAccount(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.accounts {
		if d.accounts[i].ID == id {
			d.accounts = append(d.accounts[:i], d.accounts[i+1:]...)
			d.emit(Event{Kind: EventAccounts})
			return nil
		}
	}
	return fmt.Errorf("no account %q", id)
}

// Providers implements Backend.
func (d *Demo) Providers() []ProviderView { return demoProviders() }

// StartLogin implements Backend: browser flows wait for SubmitRedirect, device flows for CompleteLogin.
func (d *Demo) StartLogin(provider string) (LoginView, error) {
	var p *ProviderView
	for _, pv := range demoProviders() {
		if pv.ID == provider {
			p = &pv
			break
		}
	}
	if p == nil {
		return LoginView{}, fmt.Errorf("unknown provider %q", provider)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextID++
	l := LoginView{ID: fmt.Sprintf("login-%d", d.nextID), Provider: provider, Kind: p.Login, State: LoginPending}
	if p.Login == LoginBrowser {
		l.URL = "https://login.example.com/authorize?client_id=demo&state=" + l.ID
	} else {
		l.VerificationURI = "https://example.com/device"
		l.UserCode = "WDJB-MJHT"
	}
	d.logins[l.ID] = l
	return l, nil
}

// LoginStatus implements Backend.
func (d *Demo) LoginStatus(id string) LoginView {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logins[id]
}

// SubmitRedirect implements Backend: any URL with a "code=" parameter succeeds.
func (d *Demo) SubmitRedirect(id, url string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.submitted = append(d.submitted, url)
	l, ok := d.logins[id]
	if !ok || l.State != LoginPending {
		return fmt.Errorf("no login in progress with id %q", id)
	}
	if !strings.Contains(url, "code=") {
		return errors.New("the pasted URL has no code parameter: copy the whole address from the browser")
	}
	d.finishLocked(id, LoginSucceeded, "demo@example.com")
	return nil
}

// CompleteLogin finishes a pending flow as the provider would (tests and the demo's device flow).
func (d *Demo) CompleteLogin(id string, state LoginState, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finishLocked(id, state, msg)
}

func (d *Demo) finishLocked(id string, state LoginState, msg string) {
	l, ok := d.logins[id]
	if !ok {
		return
	}
	l.State, l.Message = state, msg
	d.logins[id] = l
	if state == LoginSucceeded {
		d.accounts = append(d.accounts, AccountView{ID: "acc-" + id, Provider: l.Provider, Label: msg,
			State: StateHealthy, CanRelogin: true})
		d.emit(Event{Kind: EventAccounts})
	}
	d.emit(Event{Kind: EventLogin, LoginID: id})
}

// CancelLogin implements Backend.
func (d *Demo) CancelLogin(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cancelled = append(d.cancelled, id)
	if l, ok := d.logins[id]; ok && l.State == LoginPending {
		l.State = LoginCancelled
		d.logins[id] = l
	}
}

// Settings implements Backend.
func (d *Demo) Settings() SettingsView {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.settings
}

// ApplySettings implements Backend.
func (d *Demo) ApplySettings(s SettingsView) error {
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("port %d is out of range: use 1-65535", s.Port)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.applied = append(d.applied, s)
	s.Strategies, s.KeystoreBackends = d.settings.Strategies, d.settings.KeystoreBackends
	d.settings = s
	d.emit(Event{Kind: EventSettings})
	d.emit(Event{Kind: EventStatus})
	return nil
}

// Pause implements Backend.
func (d *Demo) Pause() { d.setPaused(true) }

// Resume implements Backend.
func (d *Demo) Resume() { d.setPaused(false) }

func (d *Demo) setPaused(p bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.paused = p
	d.emit(Event{Kind: EventStatus})
}

// Notify queues a notification event, as the real backend does for logins, cooldowns and budgets.
func (d *Demo) Notify(title, body, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.emit(Event{Kind: EventNotification, Title: title, Body: body, Key: key})
}

// Events implements Backend.
func (d *Demo) Events() <-chan Event { return d.events }

// Quit implements Backend; it closes the event channel once.
func (d *Demo) Quit() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.quits++
	if !d.closed {
		d.closed = true
		close(d.events)
	}
}

// providerOrder returns the provider ids present in days, sorted by total spend, largest first.
func providerOrder(days []SpendDay) []string {
	totals := map[string]float64{}
	for _, d := range days {
		for p, v := range d.ByProvider {
			totals[p] += v
		}
	}
	names := make([]string, 0, len(totals))
	for p := range totals {
		names = append(names, p)
	}
	sort.Slice(names, func(i, j int) bool {
		if totals[names[i]] != totals[names[j]] {
			return totals[names[i]] > totals[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}
