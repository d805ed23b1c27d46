package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/cliproxy/cliproxy/assets"
)

// Options tunes the UI. The zero value is ready to use.
type Options struct {
	// Logger receives UI diagnostics; nil discards them.
	Logger *slog.Logger
	// Now is the clock for notification dedupe and relative times; nil means time.Now.
	Now func() time.Time
	// RefreshInterval is the least time between two snapshot refreshes; 0 means 500ms.
	RefreshInterval time.Duration
	// NotifyEvery shows notifications that share a key at most once per this period; 0 means 1 hour.
	NotifyEvery time.Duration
	// ShowWindow opens the dashboard at start. Without a system tray it is always opened.
	ShowWindow bool
	// NoTrayHost says the desktop has no tray host to show the icon (a bare X session, some Wayland
	// compositors): the dashboard is then the app's only window, and closing it quits.
	NoTrayHost bool
}

// part is a set of view areas to refresh.
type part uint16

const (
	partStatus part = 1 << iota
	partAccounts
	partHealth
	partTraffic
	partSpend
	partKeys
	partLogs
	partSettings
	partProviders

	partAll = partStatus | partAccounts | partHealth | partTraffic | partSpend | partKeys | partLogs |
		partSettings | partProviders
)

// partsFor maps a backend event to the areas it invalidates.
func partsFor(k EventKind) part {
	switch k {
	case EventStatus:
		return partStatus | partTraffic | partLogs
	case EventAccounts:
		return partAccounts | partHealth | partStatus
	case EventHealth:
		return partHealth | partTraffic
	case EventSpend:
		return partSpend | partStatus
	case EventKeys:
		return partKeys
	case EventLogs:
		return partLogs
	case EventSettings:
		return partSettings | partStatus
	}
	return 0
}

// UI owns the tray menu, the dashboard window and the refresh loop. Fields marked "UI goroutine" are
// touched only inside fyne.Do or Fyne callbacks.
type UI struct {
	app      fyne.App
	b        Backend
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	notes    *deduper

	// async runs a Backend call off the UI goroutine; tests replace it to run calls inline.
	async func(func())
	// after arms the refresh rate-limit timer; tests replace it to fire by hand.
	after func(time.Duration) <-chan time.Time
	// send shows a notification; tests replace it to count.
	send func(*fyne.Notification)
	// refreshed, when set, is called after each snapshot is applied (tests wait on it).
	refreshed func(part)

	spendDays atomic.Int32 // range of the Spend tab in days

	cancel context.CancelFunc
	done   chan struct{}
	quit   sync.Once
	// stopBackend calls Backend.Quit once; later callers wait until it returned.
	stopBackend func()

	// UI goroutine.
	win      fyne.Window
	tabs     *container.AppTabs
	tray     *trayMenu
	hasTray  bool
	status   StatusView
	overview *overviewTab
	accounts *accountsTab
	keys     *keysTab
	spend    *spendTab
	settings *settingsTab
	logs     *logsTab
	login    *loginDialog
	// lastConfirm is the most recent confirmation dialog, for tests.
	lastConfirm *confirmDialog
}

// New builds the tray menu and the dashboard for a and b. The dashboard is shown at once when
// opts.ShowWindow is set or a is not a desktop.App (no tray); otherwise it waits for "Open dashboard".
// Call New on the main goroutine before a.Run; nothing talks to b until Start.
func New(a fyne.App, b Backend, opts Options) (*UI, error) {
	if a == nil || b == nil {
		return nil, errors.New("ui: app and backend are required")
	}
	u := &UI{app: a, b: b, log: opts.Logger, now: opts.Now, interval: opts.RefreshInterval}
	if u.log == nil {
		u.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if u.now == nil {
		u.now = time.Now
	}
	if u.interval <= 0 {
		u.interval = 500 * time.Millisecond
	}
	every := opts.NotifyEvery
	if every <= 0 {
		every = time.Hour
	}
	u.notes = newDeduper(every)
	u.stopBackend = sync.OnceFunc(b.Quit)
	u.async = func(f func()) { go u.guard(f) }
	u.after = time.After
	u.send = a.SendNotification
	u.spendDays.Store(30)

	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	u.win = a.NewWindow("CLIProxy")
	u.overview = newOverviewTab(u)
	u.accounts = newAccountsTab(u)
	u.keys = newKeysTab(u)
	u.spend = newSpendTab(u)
	u.settings = newSettingsTab(u)
	u.logs = newLogsTab(u)
	u.tabs = container.NewAppTabs(
		container.NewTabItem("Overview", u.overview.content),
		container.NewTabItem("Accounts", u.accounts.content),
		container.NewTabItem("Keys", u.keys.content),
		container.NewTabItem("Spend", u.spend.content),
		container.NewTabItem("Settings", u.settings.content),
		container.NewTabItem("Logs", u.logs.content),
	)
	u.win.SetContent(u.tabs)
	u.win.Resize(fyne.NewSize(920, 640))

	// Lists and charts are rebuilt on refresh; a theme change (e.g. dark mode) needs one.
	a.Settings().AddListener(func(fyne.Settings) {
		u.overview.retheme()
		// Forget what is shown so the refresh rebuilds rows with the new colours.
		u.accounts.accounts, u.accounts.providers, u.keys.keys = nil, nil, nil
		u.spend.legend.Objects = nil
		u.async(func() { u.refresh(partAll) })
	})

	u.tray = newTrayMenu(u)
	if d, ok := a.(desktop.App); ok {
		d.SetSystemTrayIcon(fyne.NewStaticResource("tray.png", assets.TrayIcon))
		d.SetSystemTrayMenu(u.tray.menu)
		// A left click on the tray icon shows the dashboard where the tray host supports it.
		d.SetSystemTrayWindow(u.win)
		u.hasTray = !opts.NoTrayHost
	}
	if u.hasTray {
		u.win.SetCloseIntercept(u.win.Hide)
	} else {
		// Without a tray the window is the only way back to the app, so closing it must quit rather
		// than leave an invisible process behind.
		u.win.SetOnClosed(u.Quit)
	}
	if opts.ShowWindow || !u.hasTray {
		u.win.Show()
	}
	return u, nil
}

// Run builds the UI, starts its refresh loop and runs the Fyne event loop until the app quits.
func Run(a fyne.App, b Backend, opts Options) error {
	u, err := New(a, b, opts)
	if err != nil {
		return err
	}
	u.Start()
	a.Run()
	u.Stop()
	// The app can also end without Quit (last window closed, SIGTERM): stop the proxy cleanly either way.
	u.stopBackend()
	return nil
}

// Start loads the first snapshot and follows backend events until Stop or until the event channel closes.
func (u *UI) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.done = make(chan struct{})
	u.async(func() { u.refresh(partAll) })
	go func() {
		defer close(u.done)
		u.loop(ctx)
	}()
}

// Stop ends the refresh loop and waits for it.
func (u *UI) Stop() {
	if u.cancel == nil {
		return
	}
	u.cancel()
	<-u.done
}

// Quit stops the backend and then the Fyne app. It is safe to call more than once.
func (u *UI) Quit() {
	u.quit.Do(func() {
		u.async(func() {
			u.stopBackend()
			fyne.Do(u.app.Quit)
		})
	})
}

// ShowDashboard shows and focuses the dashboard window, optionally on a tab ("Keys", "Accounts", ...).
func (u *UI) ShowDashboard(tab string) {
	for _, it := range u.tabs.Items {
		if it.Text == tab {
			u.tabs.Select(it)
		}
	}
	u.win.Show()
	u.win.RequestFocus()
}

// guard runs f and logs a panic instead of crashing the tray app.
func (u *UI) guard(f func()) {
	defer func() {
		if r := recover(); r != nil {
			u.log.Error("ui: background task panicked", "panic", r)
		}
	}()
	f()
}

// loop coalesces backend events: parts pile up until the rate-limit timer fires, so a burst of events
// costs one refresh per interval. Notifications and login updates are handled at once.
func (u *UI) loop(ctx context.Context) {
	events := u.b.Events()
	var pending part
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev.Kind {
			case EventNotification:
				key := ev.Key
				if key == "" {
					key = ev.Title
				}
				u.notify(ev.Title, ev.Body, key)
			case EventDialog:
				title, body := ev.Title, ev.Body
				fyne.Do(func() { u.showDialog(title, body) })
			case EventLogin:
				id := ev.LoginID
				u.async(func() {
					lv := u.b.LoginStatus(id)
					fyne.Do(func() { u.loginUpdated(lv) })
				})
			default:
				pending |= partsFor(ev.Kind)
			}
			if pending != 0 && timer == nil {
				timer = u.after(u.interval)
			}
		case <-timer:
			p := pending
			pending, timer = 0, nil
			u.guard(func() { u.refresh(p) })
		}
	}
}

// snapshot is what one refresh read from the backend.
type snapshot struct {
	parts     part
	status    StatusView
	accounts  []AccountView
	health    []HealthView
	rpm, p95  []Point
	spendDays int
	daily     []SpendDay
	byModel   []SpendShare
	byKey     []SpendShare
	keys      []KeyView
	logs      []RequestView
	settings  SettingsView
	providers []ProviderView
}

// fetch reads the parts from the backend; it may block and never runs on the UI goroutine.
func (u *UI) fetch(p part) snapshot {
	s := snapshot{parts: p}
	if p&partStatus != 0 {
		s.status = u.b.Status()
	}
	if p&partAccounts != 0 {
		s.accounts = u.b.Accounts()
	}
	if p&partHealth != 0 {
		s.health = u.b.Health()
	}
	if p&partTraffic != 0 {
		s.rpm = u.b.RequestsPerMinute(60)
		s.p95 = u.b.LatencyP95PerMinute(60)
	}
	if p&partSpend != 0 {
		s.spendDays = int(u.spendDays.Load())
		s.daily = u.b.SpendDaily(s.spendDays)
		s.byModel = u.b.SpendByModel(s.spendDays)
		s.byKey = u.b.SpendByKey(s.spendDays)
	}
	if p&partKeys != 0 {
		s.keys = u.b.Keys()
	}
	if p&partLogs != 0 {
		s.logs = u.b.RecentRequests(100)
	}
	if p&partSettings != 0 {
		s.settings = u.b.Settings()
	}
	if p&partProviders != 0 {
		s.providers = u.b.Providers()
	}
	return s
}

// refresh fetches the parts and applies them on the UI goroutine.
func (u *UI) refresh(p part) {
	s := u.fetch(p)
	fyne.DoAndWait(func() { u.apply(s) })
	if u.refreshed != nil {
		u.refreshed(p)
	}
}

// apply updates the widgets from a snapshot. UI goroutine.
func (u *UI) apply(s snapshot) {
	if s.parts&partStatus != 0 {
		u.status = s.status
		u.overview.setStatus(s.status)
	}
	if s.parts&partProviders != 0 {
		u.accounts.setProviders(s.providers)
	}
	if s.parts&partAccounts != 0 {
		u.accounts.setAccounts(s.accounts)
	}
	if s.parts&partHealth != 0 {
		u.overview.setHealth(s.health)
	}
	if s.parts&partTraffic != 0 {
		u.overview.setTraffic(s.rpm, s.p95)
	}
	if s.parts&partSpend != 0 {
		u.spend.set(s.spendDays, s.daily, s.byModel, s.byKey)
	}
	if s.parts&partKeys != 0 {
		u.keys.set(s.keys)
	}
	if s.parts&partLogs != 0 {
		u.logs.set(s.logs)
	}
	if s.parts&partSettings != 0 {
		u.settings.set(s.settings)
	}
	u.tray.update(s)
}

// do runs a Backend action off the UI goroutine, then refreshes parts (or shows the error). onOK, if not
// nil, runs on the UI goroutine after a success.
func (u *UI) do(what string, action func() error, parts part, onOK func()) {
	u.async(func() {
		err := action()
		if err != nil {
			u.log.Warn("ui: action failed", "action", what, "err", err)
			fyne.Do(func() { u.showError(what, err) })
			return
		}
		if onOK != nil {
			fyne.Do(onOK)
		}
		if parts != 0 {
			u.refresh(parts)
		}
	})
}

// showError shows a failed action as a dialog on the dashboard. UI goroutine.
func (u *UI) showError(what string, err error) {
	dialog.ShowError(fmt.Errorf("%s: %w", what, err), u.win)
	if !u.hasTray {
		return
	}
	// The dashboard may be hidden behind the tray: say it in a notification too.
	u.notify("CLIProxy: "+what+" failed", err.Error(), "error:"+what)
}

// notify sends a notification unless one with the same key was sent within the dedupe period.
func (u *UI) notify(title, body, key string) {
	if !u.notes.allow(key, u.now()) {
		return
	}
	n := fyne.NewNotification(title, body)
	fyne.Do(func() { u.send(n) })
}

// copyText puts s on the clipboard. UI goroutine.
func (u *UI) copyText(s string) {
	u.app.Clipboard().SetContent(s)
}

// copyClientKey fetches the real client key off the UI goroutine and copies it.
func (u *UI) copyClientKey() {
	u.async(func() {
		k := u.b.ClientKey()
		fyne.Do(func() { u.copyText(k) })
	})
}

// deduper remembers when each notification key was last shown.
type deduper struct {
	every time.Duration
	mu    sync.Mutex // guards last
	last  map[string]time.Time
}

func newDeduper(every time.Duration) *deduper {
	return &deduper{every: every, last: map[string]time.Time{}}
}

// allow reports whether key may be shown at now, and records it if so.
func (d *deduper) allow(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.last[key]; ok && now.Sub(t) < d.every {
		return false
	}
	if len(d.last) > 512 {
		for k, t := range d.last {
			if now.Sub(t) >= d.every {
				delete(d.last, k)
			}
		}
	}
	d.last[key] = now
	return true
}

// showDialog opens the dashboard with an information dialog the user has to acknowledge.
func (u *UI) showDialog(title, body string) {
	u.win.Show()
	d := dialog.NewInformation(title, body, u.win)
	d.Show()
}
