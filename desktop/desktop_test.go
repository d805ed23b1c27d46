package desktop

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/app"
	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/proxycore/server"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
	"github.com/cliproxy/cliproxy/ui"
)

// desktopNow is the fake "now" of the desktop tests: a Friday afternoon, UTC.
var desktopNow = time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)

// fakeCore stands in for *Core with a real store and real keys in a temp dir.
type fakeCore struct {
	st   *store.Store
	keys *spend.Keys
	sub  chan app.Event

	mu        sync.Mutex // guards the fields below
	logged    map[string]store.RequestLogRow
	logOn     bool
	paused    bool
	stopped   bool // not listening: Start fails while busyPort is the configured port
	busyPort  int
	accounts  []app.AccountInfo
	providers []app.LoginProvider
	settings  app.Settings
	applied   []app.Settings
	disabled  map[string]bool
	removed   []string
	logins    []*fakeLogin
	closed    int
}

func (f *fakeCore) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}
func (f *fakeCore) Start(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.settings.Port == f.busyPort {
		return errors.New("address already in use")
	}
	f.stopped = false
	return nil
}
func (f *fakeCore) Running() bool       { f.mu.Lock(); defer f.mu.Unlock(); return !f.stopped }
func (f *fakeCore) Pause() error        { f.mu.Lock(); f.paused = true; f.mu.Unlock(); return nil }
func (f *fakeCore) Resume() error       { f.mu.Lock(); f.paused = false; f.mu.Unlock(); return nil }
func (f *fakeCore) Paused() bool        { f.mu.Lock(); defer f.mu.Unlock(); return f.paused }
func (f *fakeCore) BaseURL() string     { return "http://127.0.0.1:8317" }
func (f *fakeCore) ClientKey() string   { return "sk-cliproxy-0123456789abcdef" }
func (f *fakeCore) Store() *store.Store { return f.st }
func (f *fakeCore) Keys() *spend.Keys   { return f.keys }
func (f *fakeCore) Accounts() []app.AccountInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.accounts)
}
func (f *fakeCore) SetAccountDisabled(id string, d bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disabled[id] = d
	return nil
}
func (f *fakeCore) RemoveAccount(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
	return nil
}
func (f *fakeCore) LoginProviders() []app.LoginProvider { return f.providers }
func (f *fakeCore) Settings() app.Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settings
}
func (f *fakeCore) ApplySettings(s app.Settings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.Port == 1 {
		return errors.New("port 1 is in use")
	}
	f.applied = append(f.applied, s)
	f.settings = s
	return nil
}
func (f *fakeCore) Subscribe() (<-chan app.Event, func()) { return f.sub, func() {} }

func (f *fakeCore) RequestLogEntry(_ context.Context, id string) (store.RequestLogRow, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.logged[id]
	return r, ok, nil
}

func (f *fakeCore) RequestLogEnabled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logOn
}

func (f *fakeCore) startLogin(_ context.Context, providerID string, _ app.LoginOptions) (loginHandle, ui.LoginView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := &fakeLogin{done: make(chan struct{})}
	f.logins = append(f.logins, l)
	lg := &app.Login{ID: "login-" + providerID, Provider: providerID, URL: "https://auth.example/authorize?state=x"}
	if providerID == "copilot" {
		lg.URL, lg.Device, lg.UserCode, lg.VerificationURI = "", true, "ABCD-1234", "https://github.com/login/device"
	}
	return l, loginView(lg), nil
}

// fakeLogin is a login flow finished by the test.
type fakeLogin struct {
	done     chan struct{}
	once     sync.Once
	acc      app.AccountInfo
	err      error
	redirect string
}

func (l *fakeLogin) finish(acc app.AccountInfo, err error) {
	l.once.Do(func() { l.acc, l.err = acc, err; close(l.done) })
}
func (l *fakeLogin) Wait(ctx context.Context) (app.AccountInfo, error) {
	select {
	case <-l.done:
		return l.acc, l.err
	case <-ctx.Done():
		return app.AccountInfo{}, ctx.Err()
	}
}
func (l *fakeLogin) Cancel()                       { l.finish(app.AccountInfo{}, context.Canceled) }
func (l *fakeLogin) SubmitRedirect(u string) error { l.redirect = u; return nil }

// fakeAutostart records start-at-login changes.
type fakeAutostart struct{ on bool }

func (a *fakeAutostart) Enabled() (bool, error) { return a.on, nil }
func (a *fakeAutostart) Enable() error          { a.on = true; return nil }
func (a *fakeAutostart) Disable() error         { a.on = false; return nil }

// desktopFixture is a Desktop over a fakeCore whose rate-limit ticks are sent by hand.
type desktopFixture struct {
	d     *Desktop
	core  *fakeCore
	clock *clock.Fake
	tick  chan time.Time
	snap  []route.CredentialHealth
	auto  *fakeAutostart
}

// newDesktopFixture opens the store at dbPath ("" for a new one in a temp dir), lets seed write to it and
// builds the Desktop.
func newDesktopFixture(t *testing.T, dbPath string, seed func(st *store.Store, keys *spend.Keys)) *desktopFixture {
	t.Helper()
	clk := clock.NewFake(desktopNow)
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "cliproxy.db")
	}
	st, err := store.Open(dbPath, slog.New(slog.DiscardHandler), store.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := spend.NewKeys(context.Background(), st, spend.KeysOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close(context.Background()) })
	if seed != nil {
		seed(st, keys)
	}
	fx := &desktopFixture{clock: clk, tick: make(chan time.Time), auto: &fakeAutostart{}}
	fx.core = &fakeCore{
		st: st, keys: keys, sub: make(chan app.Event), disabled: map[string]bool{},
		settings:  app.Settings{Port: 8317, Strategy: "fill-first", HealthAware: true, KeystoreBackend: "auto"},
		providers: []app.LoginProvider{{ID: "claude-code", Name: "Claude Code"}, {ID: "copilot", Name: "GitHub Copilot", Device: true}},
		accounts: []app.AccountInfo{
			{ID: "cc-1", Provider: "claude-code", Label: "dev@example.com"},
			{ID: "openai-1", Provider: "openai", Label: "team key"},
		},
	}
	var mu sync.Mutex
	health := func() []route.CredentialHealth {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(fx.snap)
	}
	fx.d = newDesktop(fx.core, health, Options{Clock: clk, Autostart: fx.auto}, fx.tick)
	t.Cleanup(fx.d.Quit)
	return fx
}

// send hands one core event to the event loop; it returns once the loop took it.
func (fx *desktopFixture) send(ev app.Event) { fx.core.sub <- ev }

// flush sends a rate-limit tick and waits until the loop handled it (the next send blocks until then).
func (fx *desktopFixture) flush() {
	fx.tick <- fx.clock.Now()
	fx.tick <- fx.clock.Now()
}

// drain returns the events delivered so far.
func (fx *desktopFixture) drain() []ui.Event {
	var out []ui.Event
	for {
		select {
		case ev := <-fx.d.Events():
			out = append(out, ev)
		default:
			return out
		}
	}
}

func kinds(evs []ui.Event) []ui.EventKind {
	var out []ui.EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func request(at time.Time, keyID string) app.Event {
	return app.Event{Kind: "request", Time: at, Request: &server.Record{
		Time: at, Route: "chat", KeyID: keyID, Model: "claude-sonnet-4-5", Provider: "claude-code",
		CredentialID: "cc-1", Status: 200, Latency: 1200 * time.Millisecond,
		Usage: llm.Usage{InputTokens: 100, OutputTokens: 20},
	}}
}

func TestDesktopEventsAreMergedAndRateLimited(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	for i := 0; i < 50; i++ {
		fx.send(request(fx.clock.Now(), ""))
	}
	fx.flush()
	want := []ui.EventKind{ui.EventStatus, ui.EventHealth, ui.EventLogs, ui.EventSpend}
	if got := kinds(fx.drain()); !slices.Equal(got, want) {
		t.Fatalf("first batch = %v, want %v", got, want)
	}

	// Within the interval nothing more is released, however many events arrive.
	fx.clock.Advance(100 * time.Millisecond)
	for i := 0; i < 20; i++ {
		fx.send(request(fx.clock.Now(), ""))
	}
	fx.send(app.Event{Kind: "accounts"})
	fx.flush()
	if got := fx.drain(); len(got) != 0 {
		t.Fatalf("events released within the interval: %v", kinds(got))
	}

	fx.clock.Advance(150 * time.Millisecond)
	fx.flush()
	want = append(want, ui.EventAccounts)
	if got := kinds(fx.drain()); !slices.Equal(got, want) {
		t.Fatalf("second batch = %v, want %v", got, want)
	}
	// Nothing pending: a later tick releases nothing.
	fx.clock.Advance(time.Second)
	fx.flush()
	if got := fx.drain(); len(got) != 0 {
		t.Fatalf("empty tick released %v", kinds(got))
	}
	if n := len(fx.d.RecentRequests(500)); n != 70 {
		t.Fatalf("RecentRequests kept %d, want 70", n)
	}
}

func TestDesktopNotificationsAreDeduplicated(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	fx.snap = []route.CredentialHealth{{CredentialID: "cc-1", Provider: "claude-code",
		Message: "log in to Claude Code again", HealthStats: route.HealthStats{State: route.Error}}}

	notes := func() []ui.Event {
		fx.flush()
		var out []ui.Event
		for _, ev := range fx.drain() {
			if ev.Kind == ui.EventNotification {
				out = append(out, ev)
			}
		}
		return out
	}
	budget80 := app.Event{Kind: "budget", Key: "key-1", Title: `Key "ci" used 80% of its budget`, Body: "$4.00 of $5.00"}
	budget100 := app.Event{Kind: "budget", Key: "key-1", Title: `Key "ci" reached its budget`, Body: "$5.00 of $5.00"}
	fallback := app.Event{Kind: "fallback", Title: "Fallback model answered", Body: "gpt-5 failed; gpt-4.1 answered"}
	inError := app.Event{Kind: "health", Key: "cc-1", Title: "cc-1 is failing", Body: "log in to Claude Code again"}
	cooling := app.Event{Kind: "health", Key: "openai-1", Title: "openai-1 is cooling down"}
	status := app.Event{Kind: "status", Title: "Proxy paused"}

	for _, ev := range []app.Event{budget80, budget80, budget100, fallback, fallback, inError, inError, cooling, status} {
		fx.send(ev)
	}
	got := notes()
	var titles []string
	for _, n := range got {
		titles = append(titles, n.Title)
	}
	want := []string{budget80.Title, budget100.Title, fallback.Title, "Credential in error: dev@example.com"}
	if !slices.Equal(titles, want) {
		t.Fatalf("notifications = %q, want %q", titles, want)
	}

	// Within the dedupe period the same notifications stay quiet; after it they may show again.
	fx.clock.Advance(30 * time.Minute)
	fx.send(fallback)
	fx.send(inError)
	if got := notes(); len(got) != 0 {
		t.Fatalf("repeated within the period: %v", got)
	}
	fx.clock.Advance(31 * time.Minute)
	fx.send(fallback)
	if got := notes(); len(got) != 1 || got[0].Title != fallback.Title {
		t.Fatalf("after the period: %v", got)
	}
}

func TestDesktopLoginFlows(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	if got := fx.d.Providers(); len(got) != 2 || got[0].Login != ui.LoginBrowser || got[1].Login != ui.LoginDevice {
		t.Fatalf("Providers = %+v", got)
	}

	// Browser flow: URL shown, redirect pasted, success reported with the account label.
	lv, err := fx.d.StartLogin("claude-code")
	if err != nil {
		t.Fatal(err)
	}
	if lv.Kind != ui.LoginBrowser || lv.URL == "" || lv.State != ui.LoginPending {
		t.Fatalf("browser login view = %+v", lv)
	}
	if err := fx.d.SubmitRedirect(lv.ID, "http://localhost:54545/callback?code=c&state=x"); err != nil {
		t.Fatal(err)
	}
	if fx.core.logins[0].redirect == "" {
		t.Fatal("the pasted redirect did not reach the flow")
	}
	fx.core.logins[0].finish(app.AccountInfo{ID: "cc-2", Label: "new@example.com"}, nil)
	ev := <-fx.d.Events()
	if ev.Kind != ui.EventLogin || ev.LoginID != lv.ID {
		t.Fatalf("first event after the login = %+v", ev)
	}
	if ev := <-fx.d.Events(); ev.Kind != ui.EventNotification || ev.Title != "Logged in to Claude Code" || ev.Key != "login:"+lv.ID {
		t.Fatalf("login notification = %+v", ev)
	}
	if got := fx.d.LoginStatus(lv.ID); got.State != ui.LoginSucceeded || got.Message != "new@example.com" {
		t.Fatalf("LoginStatus = %+v", got)
	}

	// Device flow: code and verification URL shown; cancelling reports it as cancelled.
	dv, err := fx.d.StartLogin("copilot")
	if err != nil {
		t.Fatal(err)
	}
	if dv.Kind != ui.LoginDevice || dv.UserCode != "ABCD-1234" || dv.VerificationURI == "" {
		t.Fatalf("device login view = %+v", dv)
	}
	fx.d.CancelLogin(dv.ID)
	if ev := <-fx.d.Events(); ev.Kind != ui.EventLogin {
		t.Fatalf("event after cancel = %+v", ev)
	}
	if got := fx.d.LoginStatus(dv.ID); got.State != ui.LoginCancelled {
		t.Fatalf("cancelled login = %+v", got)
	}
	if got := fx.d.LoginStatus("nope"); got.State != ui.LoginFailed {
		t.Fatalf("unknown login = %+v", got)
	}
	if err := fx.d.SubmitRedirect("nope", "x"); err == nil {
		t.Fatal("SubmitRedirect on an unknown flow succeeded")
	}
}

func TestLoginResult(t *testing.T) {
	tests := []struct {
		name  string
		acc   app.AccountInfo
		err   error
		state ui.LoginState
		msg   string
	}{
		{"label", app.AccountInfo{ID: "a", Label: "me@x"}, nil, ui.LoginSucceeded, "me@x"},
		{"id when no label", app.AccountInfo{ID: "a"}, nil, ui.LoginSucceeded, "a"},
		{"cancelled", app.AccountInfo{}, context.Canceled, ui.LoginCancelled, "The login was cancelled."},
		{"timeout", app.AccountInfo{}, context.DeadlineExceeded, ui.LoginFailed, "The login timed out: start it again and finish it in the browser."},
		{"error", app.AccountInfo{}, errors.New("access denied"), ui.LoginFailed, "access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, msg := loginResult(tt.acc, tt.err)
			if state != tt.state || msg != tt.msg {
				t.Fatalf("loginResult = %q, %q; want %q, %q", state, msg, tt.state, tt.msg)
			}
		})
	}
}

func TestDesktopBusyPortThenAnotherPort(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	fx.core.stopped, fx.core.busyPort = true, 8317
	fx.d.SetLastError("Port 8317 is in use: choose another port in app.Settings")
	if s := fx.d.Status(); s.Running || s.LastError == "" {
		t.Fatalf("Status with a busy port = %+v", s)
	}
	v := fx.d.Settings()
	if err := fx.d.ApplySettings(v); err == nil {
		t.Fatal("starting on the busy port succeeded")
	}
	v.Port = 8400
	if err := fx.d.ApplySettings(v); err != nil {
		t.Fatal(err)
	}
	if s := fx.d.Status(); !s.Running || s.LastError != "" {
		t.Fatalf("Status after moving to a free port = %+v", s)
	}
}

func TestDesktopStatusKeysSettingsAndLifecycle(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	s := fx.d.Status()
	if !s.Running || s.Port != 8317 || s.MaskedKey != "sk-cli...cdef" || s.BaseURL != "http://127.0.0.1:8317" {
		t.Fatalf("Status = %+v", s)
	}
	fx.d.Pause()
	if !fx.d.Status().Paused {
		t.Fatal("Pause did not pause")
	}
	fx.d.Resume()
	if fx.d.Status().Paused {
		t.Fatal("Resume did not resume")
	}

	plain, err := fx.d.CreateKey(ui.KeyForm{Name: "ci", BudgetUSD: 5, Period: "daily", RPM: 20, ExpireDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	keys := fx.d.Keys()
	if len(keys) != 1 || keys[0].Name != "ci" || keys[0].BudgetUSD != 5 || keys[0].Period != "daily" ||
		keys[0].RPM != 20 || !keys[0].Expires.Equal(desktopNow.AddDate(0, 0, 7)) {
		t.Fatalf("Keys = %+v", keys)
	}
	if keys[0].Masked == "" || keys[0].Masked == plain || len(plain) < 20 {
		t.Fatalf("masked %q, plaintext %q", keys[0].Masked, plain)
	}
	if err := fx.d.RevokeKey(keys[0].ID); err != nil {
		t.Fatal(err)
	}
	if !fx.d.Keys()[0].Revoked {
		t.Fatal("the key is not revoked")
	}

	v := fx.d.Settings()
	if v.Port != 8317 || v.StartAtLogin || len(v.Strategies) == 0 || len(v.KeystoreBackends) == 0 {
		t.Fatalf("Settings = %+v", v)
	}
	v.Port, v.Strategy, v.StartAtLogin = 8400, "round-robin", true
	if err := fx.d.ApplySettings(v); err != nil {
		t.Fatal(err)
	}
	if !fx.auto.on || !fx.d.Settings().StartAtLogin || fx.core.settings.Port != 8400 {
		t.Fatalf("settings not applied: autostart %v, core %+v", fx.auto.on, fx.core.settings)
	}
	v.Port = 1
	if err := fx.d.ApplySettings(v); err == nil {
		t.Fatal("a failing ApplySettings returned nil")
	}

	if err := fx.d.DisableAccount("cc-1", true); err != nil || !fx.core.disabled["cc-1"] {
		t.Fatalf("DisableAccount: %v", err)
	}
	if err := fx.d.RemoveAccount("cc-1"); err != nil || len(fx.core.removed) != 1 {
		t.Fatalf("RemoveAccount: %v", err)
	}

	fx.d.Quit()
	fx.d.Quit()
	if fx.core.closed != 1 {
		t.Fatalf("core closed %d times", fx.core.closed)
	}
	if _, ok := <-fx.d.Events(); ok {
		t.Fatal("Events is open after Quit")
	}
}

func TestDesktopSpendFromSeededStore(t *testing.T) {
	dir := t.TempDir()
	if _, err := app.SeedDemoVolume(dir, desktopNow, 0.05); err != nil {
		t.Fatal(err)
	}
	fx := newDesktopFixture(t, filepath.Join(dir, "cliproxy.db"), nil)
	st := fx.core.st

	for _, days := range []int{7, 30, 90} {
		daily := fx.d.SpendDaily(days)
		if len(daily) != days {
			t.Fatalf("SpendDaily(%d) has %d days", days, len(daily))
		}
		last := daily[len(daily)-1]
		if !last.Day.Equal(desktopNow.Truncate(24 * time.Hour)) {
			t.Fatalf("SpendDaily(%d) ends on %v", days, last.Day)
		}
		var total float64
		for _, d := range daily {
			for _, usd := range d.ByProvider {
				total += usd
			}
		}
		if total <= 0 {
			t.Fatalf("SpendDaily(%d) is empty", days)
		}
		models := fx.d.SpendByModel(days)
		if len(models) < 4 || models[0].USD < models[len(models)-1].USD {
			t.Fatalf("SpendByModel(%d) = %+v", days, models)
		}
		byKey := fx.d.SpendByKey(days)
		names := map[string]bool{}
		for _, k := range byKey {
			names[k.Name] = true
		}
		if !names["laptop"] || !names["client key"] {
			t.Fatalf("SpendByKey(%d) = %+v", days, byKey)
		}
	}
	if len(fx.d.SpendDaily(90)[0].ByProvider) != 0 {
		t.Fatal("spend before the demo's first day")
	}

	// Cached: a row written now shows only after the TTL.
	before := fx.d.Status().SpendToday
	if err := st.InsertSpend(context.Background(), []store.SpendRow{{Time: desktopNow, RequestID: "x",
		Provider: "openai", Model: "gpt-4.1", CostUSD: 100, PriceKnown: true, Status: 200}}); err != nil {
		t.Fatal(err)
	}
	if got := fx.d.Status().SpendToday; got != before {
		t.Fatalf("SpendToday changed within the TTL: %v -> %v", before, got)
	}
	fx.clock.Advance(4 * time.Second)
	if got := fx.d.Status().SpendToday; got < before+100 {
		t.Fatalf("SpendToday after the TTL = %v, want >= %v", got, before+100)
	}
}

func TestDesktopTrafficSeries(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	base := desktopNow.Truncate(time.Minute)
	for i, lat := range []time.Duration{100, 200, 300, 400, 5000} {
		ev := request(base.Add(-2*time.Minute+time.Duration(i)*time.Second), "")
		ev.Request.Latency = lat * time.Millisecond
		fx.send(ev)
	}
	fx.send(request(base, ""))
	fx.flush()
	rpm := fx.d.RequestsPerMinute(5)
	if len(rpm) != 5 || !rpm[4].Time.Equal(base) {
		t.Fatalf("RequestsPerMinute = %+v", rpm)
	}
	if got := []float64{rpm[0].Value, rpm[1].Value, rpm[2].Value, rpm[3].Value, rpm[4].Value}; !slices.Equal(got, []float64{0, 0, 5, 0, 1}) {
		t.Fatalf("requests per minute = %v", got)
	}
	if p95 := fx.d.LatencyP95PerMinute(5); p95[2].Value != 5000 || p95[4].Value != 1200 || p95[3].Value != 0 {
		t.Fatalf("p95 per minute = %+v", p95)
	}
	recent := fx.d.RecentRequests(2)
	if len(recent) != 2 || recent[0].LatencyMs != 1200 || recent[0].Account != "dev@example.com" || recent[0].Key != "client key" {
		t.Fatalf("RecentRequests = %+v", recent)
	}
}

func TestTrafficRingWraps(t *testing.T) {
	var tr traffic
	for i := 0; i < recentRequestsKept+5; i++ {
		tr.add(desktopNow, 1, ui.RequestView{TokensIn: int64(i)})
	}
	got := tr.latest(3)
	if len(got) != 3 || got[0].TokensIn != recentRequestsKept+4 || got[2].TokensIn != recentRequestsKept+2 {
		t.Fatalf("latest = %+v", got)
	}
	// A minute older than the ring reaches does not overwrite a newer one.
	tr.add(desktopNow.Add(-trafficMinutes*time.Minute), 1, ui.RequestView{})
	if s := tr.series(desktopNow, 1, false); s[0].Value != recentRequestsKept+5 {
		t.Fatalf("current minute = %v", s[0].Value)
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name string
		v    []int64
		q    float64
		want int64
	}{
		{"empty", nil, 0.95, 0},
		{"one", []int64{7}, 0.95, 7},
		{"twenty", []int64{20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0.95, 19},
		{"median", []int64{1, 2, 3, 4}, 0.5, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.v, tt.q); got != tt.want {
				t.Fatalf("percentile = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDesktopAccountsAndHealth(t *testing.T) {
	fx := newDesktopFixture(t, "", func(st *store.Store, _ *spend.Keys) {
		err := st.InsertSpend(context.Background(), []store.SpendRow{
			{Time: desktopNow.Add(-time.Hour), RequestID: "1", CredentialID: "cc-1", Provider: "claude-code", Model: "m", CostUSD: 1.5, Status: 200},
			{Time: desktopNow.Add(-time.Minute), RequestID: "2", CredentialID: "cc-1", Provider: "claude-code", Model: "m", CostUSD: 0.5, Status: 200},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	fx.core.accounts[0].Quota = provider.Quota{Updated: desktopNow, Items: []provider.QuotaItem{
		{Name: "5h", UsedPercent: 62, Remaining: -1, Limit: -1, ResetAt: desktopNow.Add(90 * time.Minute)},
		{Name: "weekly", UsedPercent: 35, Remaining: -1, Limit: -1},
	}}
	fx.snap = []route.CredentialHealth{
		{CredentialID: "cc-1", Provider: "claude-code", HealthStats: route.HealthStats{State: route.Healthy},
			Models: []route.ModelHealth{
				{Model: "sonnet", HealthStats: route.HealthStats{P95: 2400 * time.Millisecond, InFlight: 2}},
				{Model: "haiku", HealthStats: route.HealthStats{State: route.Degraded, FailureRate: 0.3}},
			}},
		{CredentialID: "openai-1", Provider: "openai", HealthStats: route.HealthStats{State: route.Cooldown,
			CooldownUntil: desktopNow.Add(10 * time.Minute)}},
	}
	accs := fx.d.Accounts()
	if len(accs) != 2 {
		t.Fatalf("Accounts = %+v", accs)
	}
	cc := accs[0]
	if cc.State != ui.StateHealthy || cc.RequestsToday != 2 || cc.SpendToday != 2 || !cc.CanRelogin ||
		cc.QuotaHint != "5h 62% used, resets 16:00; weekly 35% used" {
		t.Fatalf("claude account = %+v", cc)
	}
	if o := accs[1]; o.State != ui.StateCooldown || o.CanRelogin || o.Message != "Rate limited; retrying at 14:40" {
		t.Fatalf("openai account = %+v", o)
	}

	rows := fx.d.Health()
	if len(rows) != 3 {
		t.Fatalf("Health = %+v", rows)
	}
	if rows[0].State != ui.StateCooldown || rows[0].Credential != "team key" || rows[0].CooldownUntil.IsZero() {
		t.Fatalf("worst row first: %+v", rows[0])
	}
	if rows[1].Model != "haiku" || rows[1].State != ui.StateDegraded || rows[2].P95Ms != 2400 || rows[2].InFlight != 2 {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestQuotaHint(t *testing.T) {
	now := desktopNow
	tests := []struct {
		name  string
		items []provider.QuotaItem
		want  string
	}{
		{"none", nil, ""},
		{"percent with reset today", []provider.QuotaItem{{Name: "5h", UsedPercent: 12.4, Remaining: -1, Limit: -1,
			ResetAt: now.Add(time.Hour)}}, "5h 12% used, resets 15:30"},
		{"remaining of limit, reset in days", []provider.QuotaItem{{Name: "premium", UsedPercent: -1, Remaining: 40,
			Limit: 300, ResetAt: now.Add(72 * time.Hour)}}, "premium 40 of 300 left, resets Mon 14:30"},
		{"status only", []provider.QuotaItem{{Name: "weekly", UsedPercent: -1, Remaining: -1, Limit: -1,
			Status: "allowed_warning"}}, "weekly allowed warning"},
		{"most used first, two at most", []provider.QuotaItem{
			{Name: "a", UsedPercent: 10, Remaining: -1, Limit: -1},
			{Name: "b", UsedPercent: 90, Remaining: -1, Limit: -1},
			{Name: "c", UsedPercent: 50, Remaining: -1, Limit: -1}}, "b 90% used; c 50% used"},
		{"unknown skipped", []provider.QuotaItem{{Name: "x", UsedPercent: -1, Remaining: -1, Limit: -1}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quotaHint(provider.Quota{Items: tt.items}, now); got != tt.want {
				t.Fatalf("quotaHint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMaskKeyAndPort(t *testing.T) {
	for in, want := range map[string]string{"": "", "short": "...rt", "sk-cliproxy-0123456789abcdef": "sk-cli...cdef"} {
		if got := maskKey(in); got != want {
			t.Errorf("maskKey(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]int{"http://127.0.0.1:8317": 8317, "http://localhost": 0, "::bad": 0} {
		if got := portOf(in); got != want {
			t.Errorf("portOf(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestDesktopStartupNoticeOpensADialog(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	if evs := fx.drain(); len(evs) != 0 {
		t.Fatalf("events without a notice: %+v", evs)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "n.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	core := &fakeCore{st: st, sub: make(chan app.Event), disabled: map[string]bool{}}
	d := newDesktop(core, nil, Options{Clock: fx.clock, Autostart: fx.auto, StartupNotice: "The OS keychain is locked."}, make(chan time.Time))
	defer d.Quit()
	select {
	case ev := <-d.Events():
		if ev.Kind != ui.EventDialog || ev.Body != "The OS keychain is locked." || ev.Title == "" {
			t.Fatalf("first event = %+v, want the notice as a dialog", ev)
		}
	default:
		t.Fatal("no dialog event for the startup notice")
	}
}

func TestDesktopDatabaseNoticeOpensADialog(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	st, err := store.Open(filepath.Join(t.TempDir(), "n.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	core := &fakeCore{st: st, sub: make(chan app.Event), disabled: map[string]bool{}}
	d := newDesktop(core, nil, Options{Clock: fx.clock, Autostart: fx.auto, DatabaseNotice: "The database x.db could not be opened."}, make(chan time.Time))
	defer d.Quit()
	select {
	case ev := <-d.Events():
		if ev.Kind != ui.EventDialog || ev.Body != "The database x.db could not be opened." || ev.Title != "Spend tracking is unavailable" {
			t.Fatalf("first event = %+v, want the database notice as a dialog", ev)
		}
	default:
		t.Fatal("no dialog event for the database notice")
	}
}

func TestDesktopRequestBodies(t *testing.T) {
	fx := newDesktopFixture(t, "", nil)
	fx.core.mu.Lock()
	fx.core.logOn = true
	fx.core.logged = map[string]store.RequestLogRow{"req_1": {RequestID: "req_1", RequestBody: `{"q":1}`, ResponseBody: `{"a":2}`}}
	fx.core.mu.Unlock()
	b, err := fx.d.RequestBodies("req_1")
	if err != nil || !b.Enabled || !b.Logged || b.Request != `{"q":1}` || b.Response != `{"a":2}` {
		t.Fatalf("RequestBodies(req_1) = %+v, %v", b, err)
	}
	if b, err := fx.d.RequestBodies("req_2"); err != nil || !b.Enabled || b.Logged {
		t.Fatalf("RequestBodies of a request not logged = %+v, %v", b, err)
	}
	// A finished request's Logs row carries its id, which is what the lookup needs.
	rv := requestFromRecord(&server.Record{RequestID: "req_9", Status: 200}, func(string) string { return "" }, func(string) string { return "" })
	if rv.RequestID != "req_9" {
		t.Errorf("Logs row request id = %q", rv.RequestID)
	}
}
