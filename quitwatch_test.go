//go:build !headless

package main

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestQuitWatchdog(t *testing.T) {
	run := func(stopFirst bool) (steps []string, logs string) {
		sig := make(chan os.Signal, 1)
		stop := make(chan struct{})
		timer := make(chan time.Time)
		done := make(chan struct{})
		var buf bytes.Buffer
		go func() {
			quitWatchdog(sig, stop, func(time.Duration) <-chan time.Time { return timer },
				time.Second, slog.New(slog.NewTextHandler(&buf, nil)),
				func() { steps = append(steps, "close") },
				func(code int) { steps = append(steps, "exit "+string(rune('0'+code))) })
			close(done)
		}()
		sig <- syscall.SIGTERM
		if stopFirst {
			close(stop) // the window system returned in time
		} else {
			timer <- time.Now()
		}
		<-done
		return steps, buf.String()
	}
	if steps, logs := run(false); strings.Join(steps, ",") != "close,exit 0" || !strings.Contains(logs, "signal=terminated") {
		t.Fatalf("hung shutdown: steps %v, log %q; want the proxy closed, then exit 0, logged with the signal", steps, logs)
	}
	if steps, _ := run(true); len(steps) != 0 {
		t.Fatalf("shutdown in time: steps %v, want none", steps)
	}
}
