//go:build !headless

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
	"github.com/gofrs/flock"

	"github.com/cliproxy/cliproxy/app"
	"github.com/cliproxy/cliproxy/desktop"
	"github.com/cliproxy/cliproxy/ui"
)

// appID is the Fyne application id; it names the app's preferences and must match FyneApp.toml.
const appID = "dev.cliproxy.desktop"

// tabEnv names a dashboard tab to open at start ("Overview", "Keys", ...). It is a development hook for
// scripts/screenshots.sh (see docs/development.md), not a user setting.
const tabEnv = "CLIPROXY_DASHBOARD_TAB"

// runGUI starts the tray app. It is kept beside main so that only the binary links the Fyne driver.
func runGUI(args []string, env app.Env) int {
	fs := flag.NewFlagSet("cliproxy", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	configFlag := fs.String("config", "", "configuration file (default: $CLIPROXY_CONFIG or the user config dir)")
	demo := fs.Bool("demo", false, "start with a temporary data dir full of synthetic accounts, health and spend")
	verbose := fs.Bool("verbose", false, "log debug details")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tuneMemory()
	if !app.HasDisplay(env) {
		fmt.Fprintln(env.Stderr, "cliproxy: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the tray app cannot start.")
		fmt.Fprintln(env.Stderr, "Run the proxy headless instead:  cliproxy serve [--config FILE]")
		return 1
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	opts := app.CoreOptions{ConfigFlag: *configFlag, Logger: log, SpendQueue: guiSpendQueue}
	lockDir := userStateDir()
	if *demo {
		dir, err := os.MkdirTemp("", "cliproxy-demo-")
		if err != nil {
			fmt.Fprintln(env.Stderr, "cliproxy: creating the demo data dir:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cfg, err := app.SeedDemo(dir, time.Now())
		if err != nil {
			fmt.Fprintln(env.Stderr, "cliproxy: seeding the demo:", err)
			return 1
		}
		opts = app.CoreOptions{DataDir: dir, Config: cfg, Logger: log, SpendQueue: guiSpendQueue}
		lockDir = dir // a demo runs beside a real instance
		fmt.Fprintln(env.Stderr, "cliproxy: demo mode with synthetic data in", dir)
	}

	a := fyneapp.NewWithID(appID)
	lock, err := lockInstance(lockDir)
	if err != nil {
		return fatalWindow(a, env, "CLIProxy is already running",
			"Another CLIProxy is running: use its tray icon (or quit it first).\n\n"+err.Error())
	}
	defer lock.Unlock()

	core, err := app.OpenCore(opts)
	if err != nil {
		return fatalWindow(a, env, "CLIProxy could not start",
			"The proxy could not start:\n\n"+err.Error()+"\n\nFix the configuration, or check it with `cliproxy config check FILE`.")
	}
	startErr := core.Start(context.Background())
	d := desktop.New(core, desktop.Options{Logger: log, EventInterval: uiRefresh})
	if startErr != nil {
		// A busy port: the tray and the dashboard say so and Settings offers another port.
		log.Error("the proxy is not listening", "err", startErr)
		msg := "The proxy could not start: " + startErr.Error()
		if errors.Is(startErr, syscall.EADDRINUSE) {
			msg = fmt.Sprintf("Port %d is in use: choose another port in Settings", core.Settings().Port)
		}
		d.SetLastError(msg)
	} else if *demo && core.Server() != nil {
		app.DemoHealth(core.Server().Router(), time.Now())
	}

	tab := env.Getenv(tabEnv)
	noTray := !trayHostPresent()
	show := *demo || tab != "" || startErr != nil || noTray
	u, err := ui.New(a, d, ui.Options{Logger: log, ShowWindow: show, NoTrayHost: noTray, RefreshInterval: uiRefresh})
	if err != nil {
		d.Quit()
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	if tab != "" {
		u.ShowDashboard(tab)
	}
	u.Start()
	watchdog := startQuitWatchdog(log, d.Quit)
	a.Run()
	close(watchdog)
	u.Stop()
	// The app can end without the Quit item (last window closed, SIGTERM): stop the proxy cleanly anyway.
	d.Quit()
	return 0
}

// lockInstance takes the single-instance lock in dir, failing when another process holds it.
func lockInstance(dir string) (*flock.Flock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l := flock.New(filepath.Join(dir, "desktop.lock"))
	ok, err := l.TryLock()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("the lock " + l.Path() + " is held by another process")
	}
	return l, nil
}

// userStateDir is where the single-instance lock lives: the user config dir's cliproxy folder.
func userStateDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "cliproxy")
}

// fatalWindow shows why the app cannot start in a small window (a tray app has no terminal to read),
// prints it too, and returns the exit code 1 once the window is closed.
func fatalWindow(a fyne.App, env app.Env, title, msg string) int {
	fmt.Fprintln(env.Stderr, "cliproxy: "+title+": "+msg)
	w := a.NewWindow(title)
	text := widget.NewLabel(msg)
	text.Wrapping = fyne.TextWrapWord
	w.SetContent(container.NewBorder(nil, container.NewCenter(widget.NewButton("Quit", a.Quit)), nil, nil, text))
	w.Resize(fyne.NewSize(480, 200))
	w.SetOnClosed(a.Quit)
	w.Show()
	a.Run()
	return 1
}

// guiGCPercent is the tray app's GOGC. The dashboard's live heap is small (about 14 MiB at 100 requests/s,
// most of it parsed fonts), and with the default of 100 the heap grows to twice that before each
// collection; at 50 a collection comes every few seconds under load for well under 1% of a core.
const guiGCPercent = 50

// tuneMemory sets the tray app's garbage collector: GOGC 50 unless the environment sets GOGC, and no heap
// profiling (its buckets would hold 1.5 MiB that nothing reads).
func tuneMemory() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(guiGCPercent)
	}
	runtime.MemProfileRate = 0
}

// guiSpendQueue bounds the tray app's spend backlog at 8192 records (1.8 MiB at most instead of the
// default's 14 MiB), 80 seconds of 100 requests/s while the disk stalls.
const guiSpendQueue = 8192

// uiRefresh is how often the dashboard redraws while requests stream in: once a second keeps the charts
// live while costing the UI a few percent of one core at 100 requests/s.
const uiRefresh = time.Second
