//go:build !headless

package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// quitGrace is how long the tray app's window system may take to shut down after SIGTERM or SIGINT
// before the quit watchdog ends the process itself.
const quitGrace = 10 * time.Second

// startQuitWatchdog makes sure a signalled tray app ends. The window system (Fyne) turns SIGTERM and
// SIGINT into a normal quit, after which main closes the proxy; but its shutdown has been seen to hang,
// about once in a dozen runs under Xvfb, and a service manager would then kill the process without the
// spend queue being written. So when a signal arrives and the window system has not returned (stopped)
// within quitGrace, the proxy is closed here (its queues flushed, requests in flight given their grace)
// and the process exits. Close the returned channel once the window system has returned.
func startQuitWatchdog(log *slog.Logger, closeProxy func()) (stopped chan<- struct{}) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	stop := make(chan struct{})
	go quitWatchdog(sig, stop, time.After, quitGrace, log, closeProxy, os.Exit)
	return stop
}

// quitWatchdog waits for a signal on sig; then, unless stop is closed within grace (after waits), it
// calls closeProxy and exit(0).
func quitWatchdog(sig <-chan os.Signal, stop <-chan struct{}, after func(time.Duration) <-chan time.Time,
	grace time.Duration, log *slog.Logger, closeProxy func(), exit func(int)) {
	var s os.Signal
	select {
	case s = <-sig:
	case <-stop:
		return
	}
	select {
	case <-stop:
		return
	case <-after(grace):
	}
	log.Warn("the window system did not shut down after the signal; closing the proxy and exiting",
		"signal", s.String(), "waited", grace)
	closeProxy()
	exit(0)
}
