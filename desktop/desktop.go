// Package desktop adapts the app core to the dashboard and tray: it implements ui.Backend over *app.Core
// (status, accounts, health, traffic, spend, keys, logins, settings, lifecycle) and merges the core's events
// into the few updates a second the UI shows. It sits between ui and app so that app never depends on
// the UI toolkit and ui never depends on the proxy engine.
package desktop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/app"
	"github.com/cliproxy/cliproxy/app/autostart"
	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
	"github.com/cliproxy/cliproxy/ui"
)

// AutostartName is the entry name of the start-at-login registration (XDG file, LaunchAgent, Run key).
const AutostartName = "cliproxy"

// Autostarter turns start-at-login on and off. The default uses package autostart with the running
// executable.
type Autostarter interface {
	Enabled() (bool, error)
	Enable() error
	Disable() error
}

// Options tunes a Desktop. The zero value is ready to use.
type Options struct {
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Clock drives traffic buckets, rate limiting and notification dedupe; nil means the system clock.
	Clock clock.Clock
	// Autostart toggles start at login; nil registers the running executable with package autostart.
	Autostart Autostarter
	// OpenURL opens a login page in the browser; nil lets the core use the system browser.
	OpenURL func(string) error
	// EventInterval is the least time between two batches of change events; 0 means 250ms.
	EventInterval time.Duration
	// SpendTTL is how long spend queries are cached; 0 means 3s.
	SpendTTL time.Duration
	// NotifyEvery shows notifications that share a key at most once per this period; 0 means 1 hour.
	NotifyEvery time.Duration
	// StartupNotice, when set, is shown in a dialog as soon as the UI runs (New sets it from the core,
	// e.g. when the OS keychain was locked and logins went to the encrypted file store).
	StartupNotice string
	// DatabaseNotice, when set, is shown in a dialog as soon as the UI runs: the database could not be
	// opened and the proxy serves without spend tracking (New sets it from the core).
	DatabaseNotice string
}

// desktopCore is the part of *Core the desktop view-model reads; tests can stand in for it.
type desktopCore interface {
	Start(ctx context.Context) error
	Running() bool
	Close(ctx context.Context) error
	Pause() error
	Resume() error
	Paused() bool
	BaseURL() string
	ClientKey() string
	Store() *store.Store
	Keys() *spend.Keys
	Accounts() []app.AccountInfo
	SetAccountDisabled(id string, disabled bool) error
	RemoveAccount(id string) error
	LoginProviders() []app.LoginProvider
	startLogin(ctx context.Context, providerID string, o app.LoginOptions) (loginHandle, ui.LoginView, error)
	Settings() app.Settings
	ApplySettings(s app.Settings) error
	Subscribe() (<-chan app.Event, func())
	RequestLogEntry(ctx context.Context, requestID string) (store.RequestLogRow, bool, error)
	RequestLogEnabled() bool
}

// coreAdapter adds the router snapshot, which *Core exposes through its server.
type coreAdapter struct{ *app.Core }

func (c coreAdapter) health() []route.CredentialHealth {
	if s := c.Server(); s != nil && s.Router() != nil {
		return s.Router().Snapshot()
	}
	return nil
}

// startLogin starts a flow and maps it to its first view.
func (c coreAdapter) startLogin(ctx context.Context, providerID string, o app.LoginOptions) (loginHandle, ui.LoginView, error) {
	l, err := c.StartLogin(ctx, providerID, o)
	if err != nil {
		return nil, ui.LoginView{}, err
	}
	return l, loginView(l), nil
}

// Desktop is the view-model the tray app reads: it implements ui.Backend over a running Core. Every
// method answers from memory or from a short-lived cache, so none of them keeps the UI waiting; change
// events from the core are merged and released a few times a second.
type Desktop struct {
	core      desktopCore
	health    func() []route.CredentialHealth
	log       *slog.Logger
	clock     clock.Clock
	autostart Autostarter
	openURL   func(string) error

	traffic traffic
	spend   *spendCache
	merge   *coalescer
	notes   *notifier

	events   chan ui.Event
	sendMu   sync.RWMutex    // guards closing events against a send in flight
	closed   bool            // events is closed; guarded by sendMu
	ctx      context.Context // ends at Quit; owns the event loop and login waits
	cancel   context.CancelFunc
	loopDone chan struct{}
	quitOnce sync.Once

	mu         sync.Mutex // guards the fields below
	logins     map[string]*loginFlow
	lastError  string // shown in the status line
	nameCache  *displayNames
	autoOn     bool // cached start-at-login state
	autoLoaded bool
}

var _ ui.Backend = (*Desktop)(nil)

// New returns the view-model over c, which must be started. It seeds the traffic chart and the
// Logs tab from the store and starts following the core's events until Quit.
func New(c *app.Core, o Options) *Desktop {
	a := coreAdapter{c}
	if o.StartupNotice == "" {
		o.StartupNotice = c.KeychainNotice()
	}
	if o.DatabaseNotice == "" {
		o.DatabaseNotice = c.DatabaseNotice()
	}
	return newDesktop(a, a.health, o, nil)
}

// newDesktop builds a Desktop over any core. tick, when not nil, replaces the rate-limit ticker (tests
// send on it by hand).
func newDesktop(c desktopCore, health func() []route.CredentialHealth, o Options, tick <-chan time.Time) *Desktop {
	d := &Desktop{
		core:      c,
		health:    health,
		log:       o.Logger,
		clock:     clock.Or(o.Clock),
		autostart: o.Autostart,
		openURL:   o.OpenURL,
		events:    make(chan ui.Event, 64),
		loopDone:  make(chan struct{}),
		logins:    map[string]*loginFlow{},
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.health == nil {
		d.health = func() []route.CredentialHealth { return nil }
	}
	if d.autostart == nil {
		d.autostart = execAutostart{}
	}
	interval := o.EventInterval
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	ttl := o.SpendTTL
	if ttl <= 0 {
		ttl = 3 * time.Second
	}
	every := o.NotifyEvery
	if every <= 0 {
		every = time.Hour
	}
	d.merge = newCoalescer(interval)
	d.notes = newNotifier(every)
	d.spend = newSpendCache(c.Store(), d.clock, ttl, d.log)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if o.DatabaseNotice != "" {
		d.events <- ui.Event{Kind: ui.EventDialog, Title: "Spend tracking is unavailable", Body: o.DatabaseNotice}
	}
	if o.StartupNotice != "" {
		d.events <- ui.Event{Kind: ui.EventDialog, Title: "Logins are kept in an encrypted file", Body: o.StartupNotice}
	}
	d.seedTraffic()
	sub, unsubscribe := c.Subscribe()
	var ticker *time.Ticker
	if tick == nil {
		ticker = time.NewTicker(interval)
		tick = ticker.C
	}
	go func() {
		defer close(d.loopDone)
		defer unsubscribe()
		if ticker != nil {
			defer ticker.Stop()
		}
		d.loop(sub, tick)
	}()
	return d
}

// seedTraffic fills the traffic ring and the Logs tab from the spend log, so a restart keeps the charts.
func (d *Desktop) seedTraffic() {
	st := d.core.Store()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, 2*time.Second)
	defer cancel()
	rows, err := st.RecentRequests(ctx, 2000)
	if err != nil {
		d.log.Warn("desktop: reading recent requests", "err", err)
		return
	}
	since := d.clock.Now().Add(-trafficMinutes * time.Minute)
	names := d.names()
	// Oldest first, so the ring ends with the newest.
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		if r.Time.Before(since) && len(rows)-i > recentRequestsKept {
			continue
		}
		d.traffic.add(r.Time, r.LatencyMS, requestFromRow(r, names.keyName, names.accountName))
	}
}

// namesTTL bounds how stale the key and account names of the Logs tab may be.
const namesTTL = 5 * time.Second

// displayNames maps key ids to key names and credential ids to account labels, for request rows.
type displayNames struct {
	at       time.Time
	keys     map[string]string
	accounts map[string]string
}

// names returns the display names, reloading them when older than namesTTL (or forgotten by an accounts
// or keys event), so a busy proxy does not list keys and accounts per request.
func (d *Desktop) names() *displayNames {
	now := d.clock.Now()
	d.mu.Lock()
	n := d.nameCache
	d.mu.Unlock()
	if n != nil && now.Sub(n.at) < namesTTL && !now.Before(n.at) {
		return n
	}
	n = &displayNames{at: now, keys: map[string]string{}, accounts: map[string]string{}}
	if k := d.core.Keys(); k != nil {
		for _, s := range k.List() {
			n.keys[s.ID] = s.Name
		}
	}
	for _, a := range d.core.Accounts() {
		n.accounts[a.ID] = a.Label
	}
	d.mu.Lock()
	d.nameCache = n
	d.mu.Unlock()
	return n
}

// forgetNames makes the next names call reload them.
func (d *Desktop) forgetNames() {
	d.mu.Lock()
	d.nameCache = nil
	d.mu.Unlock()
}

// keyName names a key id for display: the virtual key's name, or "client key" for the static or
// generated key.
func (n *displayNames) keyName(id string) string {
	if name := n.keys[id]; name != "" {
		return name
	}
	if id == "" || id == "generated" {
		return "client key"
	}
	return id
}

// accountName names a credential id by its account label.
func (n *displayNames) accountName(id string) string {
	if l := n.accounts[id]; l != "" {
		return l
	}
	return id
}

// Status reports the status line.
func (d *Desktop) Status() ui.StatusView {
	s := ui.StatusView{Running: d.core.Running(), Paused: d.core.Paused(), BaseURL: d.core.BaseURL()}
	s.Port = portOf(s.BaseURL)
	s.MaskedKey = maskKey(d.core.ClientKey())
	today := d.spend.today()
	s.RequestsToday, s.SpendToday = today.Requests, today.CostUSD
	d.mu.Lock()
	s.LastError = d.lastError
	d.mu.Unlock()
	return s
}

// SetLastError shows msg in the status line ("" clears it) and tells the UI.
func (d *Desktop) SetLastError(msg string) {
	d.mu.Lock()
	d.lastError = msg
	d.mu.Unlock()
	d.merge.add(ui.EventStatus)
}

// ClientKey returns the real client key, for the clipboard only.
func (d *Desktop) ClientKey() string { return d.core.ClientKey() }

// portOf returns the port of a base URL, or 0.
func portOf(base string) int {
	u, err := url.Parse(base)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}

// maskKey shows the start and the last four characters of a secret: "sk-cp-...9f3a".
func maskKey(k string) string {
	if k == "" {
		return ""
	}
	if len(k) <= 12 {
		return "..." + k[max(0, len(k)-2):]
	}
	prefix := k[:6]
	return prefix + "..." + k[len(k)-4:]
}

// Keys lists the virtual keys, newest first as the spend package orders them.
func (d *Desktop) Keys() []ui.KeyView {
	k := d.core.Keys()
	if k == nil {
		return nil
	}
	list := k.List()
	out := make([]ui.KeyView, 0, len(list))
	for _, s := range list {
		out = append(out, keyView(s))
	}
	return out
}

// keyView maps a key status to its row.
func keyView(s spend.KeyStatus) ui.KeyView {
	v := ui.KeyView{
		ID: s.ID, Name: s.Name, Masked: s.Masked(), Created: s.CreatedAt, BudgetUSD: s.BudgetUSD,
		Period: s.BudgetPeriod, SpentUSD: s.SpentUSD, RPM: s.RPM, TPM: s.TPM, Models: s.Models,
		Revoked: s.RevokedAt != nil,
	}
	if s.ExpiresAt != nil {
		v.Expires = *s.ExpiresAt
	}
	if v.BudgetUSD > 0 && v.Period == "" {
		v.Period = "total"
	}
	return v
}

// CreateKey creates a virtual key and returns its plaintext, which is never shown again.
func (d *Desktop) CreateKey(f ui.KeyForm) (string, error) {
	k := d.core.Keys()
	if k == nil {
		return "", errors.New("virtual keys need the spend store, which is not open")
	}
	p := spend.KeyParams{Name: f.Name, Models: f.Models, BudgetUSD: f.BudgetUSD, RPM: f.RPM, TPM: f.TPM}
	if f.BudgetUSD > 0 {
		p.BudgetPeriod = f.Period
	}
	if f.ExpireDays > 0 {
		t := d.clock.Now().AddDate(0, 0, f.ExpireDays)
		p.ExpiresAt = &t
	}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	plain, _, err := k.Create(ctx, p)
	if err != nil {
		return "", err
	}
	d.forgetNames()
	d.merge.add(ui.EventKeys)
	return plain, nil
}

// RevokeKey revokes a virtual key at once.
func (d *Desktop) RevokeKey(id string) error {
	k := d.core.Keys()
	if k == nil {
		return errors.New("virtual keys need the spend store, which is not open")
	}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	if err := k.Revoke(ctx, id); err != nil {
		return err
	}
	d.merge.add(ui.EventKeys)
	return nil
}

// DisableAccount takes an account out of routing, or puts it back.
func (d *Desktop) DisableAccount(id string, disabled bool) error {
	if err := d.core.SetAccountDisabled(id, disabled); err != nil {
		return err
	}
	d.merge.add(ui.EventAccounts)
	return nil
}

// RemoveAccount forgets an account and its stored credentials.
func (d *Desktop) RemoveAccount(id string) error {
	if err := d.core.RemoveAccount(id); err != nil {
		return err
	}
	d.forgetNames()
	d.merge.add(ui.EventAccounts)
	return nil
}

// Settings returns the editable settings with their choices.
func (d *Desktop) Settings() ui.SettingsView {
	s := d.core.Settings()
	return ui.SettingsView{
		Port: s.Port, Strategy: s.Strategy, HealthAware: s.HealthAware, KeystoreBackend: s.KeystoreBackend,
		Strategies:       []string{"fill-first", "round-robin", "random", "least-busy", "lowest-latency"},
		KeystoreBackends: []string{"auto", "keychain", "file"},
		StartAtLogin:     d.startAtLogin(),
	}
}

// startAtLogin returns the cached start-at-login state, reading it once.
func (d *Desktop) startAtLogin() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.autoLoaded {
		on, err := d.autostart.Enabled()
		if err != nil && !errors.Is(err, autostart.ErrUnsupported) {
			d.log.Warn("desktop: reading start at login", "err", err)
		}
		d.autoOn, d.autoLoaded = on, true
	}
	return d.autoOn
}

// ApplySettings applies the settings live: the core moves its listener on a port change (and, when the
// proxy could not start because its port was busy, starts on the new one); start at login is registered
// or removed.
func (d *Desktop) ApplySettings(v ui.SettingsView) error {
	err := d.core.ApplySettings(app.Settings{Port: v.Port, Strategy: v.Strategy, HealthAware: v.HealthAware,
		KeystoreBackend: v.KeystoreBackend})
	if err != nil {
		return err
	}
	if !d.core.Running() {
		if err := d.core.Start(context.Background()); err != nil {
			d.SetLastError(fmt.Sprintf("Port %d is in use: choose another port in app.Settings", v.Port))
			return fmt.Errorf("the proxy could not start on port %d: %w", v.Port, err)
		}
	}
	if v.StartAtLogin != d.startAtLogin() {
		if v.StartAtLogin {
			err = d.autostart.Enable()
		} else {
			err = d.autostart.Disable()
		}
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.autoOn = v.StartAtLogin
		d.mu.Unlock()
	}
	d.SetLastError("")
	d.merge.add(ui.EventSettings)
	return nil
}

// Pause makes the proxy refuse requests (503) until Resume; the listener stays up.
func (d *Desktop) Pause() {
	if err := d.core.Pause(); err != nil {
		d.log.Warn("desktop: pause", "err", err)
	}
	d.merge.add(ui.EventStatus)
}

// Resume serves requests again.
func (d *Desktop) Resume() {
	if err := d.core.Resume(); err != nil {
		d.log.Warn("desktop: resume", "err", err)
	}
	d.merge.add(ui.EventStatus)
}

// Events delivers change events; it is closed by Quit.
func (d *Desktop) Events() <-chan ui.Event { return d.events }

// Quit cancels logins in flight, stops following events and closes the core (gracefully, within
// ShutdownGrace). It is safe to call more than once; later calls return at once.
func (d *Desktop) Quit() {
	d.quitOnce.Do(func() {
		d.mu.Lock()
		for _, f := range d.logins {
			if f.state == ui.LoginPending {
				f.login.Cancel()
			}
		}
		d.mu.Unlock()
		d.cancel()
		<-d.loopDone
		ctx, cancel := context.WithTimeout(context.Background(), app.ShutdownGrace)
		defer cancel()
		if err := d.core.Close(ctx); err != nil {
			d.log.Warn("desktop: closing the proxy", "err", err)
		}
		d.sendMu.Lock()
		d.closed = true
		close(d.events)
		d.sendMu.Unlock()
	})
}

// execAutostart registers the running executable with package autostart.
type execAutostart struct{}

func (execAutostart) Enabled() (bool, error) { return autostart.Enabled(AutostartName) }
func (execAutostart) Disable() error         { return autostart.Disable(AutostartName) }
func (execAutostart) Enable() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return autostart.Enable(AutostartName, exe, nil)
}
