package config

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitLimit bounds every wait so a broken watcher fails the test instead of hanging it; no assertion
// depends on how long anything takes.
const waitLimit = 10 * time.Second

// lineWriter sends each log line to a channel so tests can wait for a specific message.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	w.lines <- string(p)
	return len(p), nil
}

// writeAtomically replaces path the way editors do: write a temporary file, then rename it over.
func writeAtomically(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type watchHarness struct {
	changes chan *Config
	lines   chan string
}

func startWatcher(t *testing.T, path string) *watchHarness {
	t.Helper()
	h := &watchHarness{changes: make(chan *Config, 16), lines: make(chan string, 256)}
	logger := slog.New(slog.NewTextHandler(lineWriter{h.lines}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := NewWatcher(path, true, logger, func(c *Config) { h.changes <- c }, WithDebounce(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel", err)
			}
		case <-time.After(waitLimit):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

func (h *watchHarness) waitChange(t *testing.T) *Config {
	t.Helper()
	select {
	case c := <-h.changes:
		return c
	case <-time.After(waitLimit):
		t.Fatal("no config change delivered")
		return nil
	}
}

// waitLog returns the first log line containing want, failing when a config change arrives first.
func (h *watchHarness) waitLog(t *testing.T, want string) string {
	t.Helper()
	for {
		select {
		case line := <-h.lines:
			if strings.Contains(line, want) {
				return line
			}
		case c := <-h.changes:
			t.Fatalf("unexpected config change (port %d) while waiting for log %q", c.Port, want)
		case <-time.After(waitLimit):
			t.Fatalf("no log line containing %q", want)
		}
	}
}

// bufferedLog finds a line already logged (before a change was delivered) without waiting.
func (h *watchHarness) bufferedLog(t *testing.T, want string) {
	t.Helper()
	for {
		select {
		case line := <-h.lines:
			if strings.Contains(line, want) {
				return
			}
		default:
			t.Fatalf("no log line containing %q", want)
		}
	}
}

func (h *watchHarness) assertNoChange(t *testing.T) {
	t.Helper()
	select {
	case c := <-h.changes:
		t.Fatalf("unexpected config change (port %d)", c.Port)
	default:
	}
}

func TestWatcherReloads(t *testing.T) {
	t.Setenv(EnvStrictConfig, "")
	path := filepath.Join(t.TempDir(), "config.toml")
	writeAtomically(t, path, "port = 9001\n")
	h := startWatcher(t, path)

	writeAtomically(t, path, "port = 9002\n")
	if c := h.waitChange(t); c.Port != 9002 {
		t.Fatalf("port = %d, want 9002", c.Port)
	}

	// An invalid edit is logged with the reason and changes nothing; the secret in it is not logged.
	writeAtomically(t, path, "port = 0\n[[openai]]\napi-key = \"sk-watch-secret-000099\"\n")
	line := h.waitLog(t, "config reload failed")
	if !strings.Contains(line, "port: must be between 1 and 65535") {
		t.Fatalf("log line does not say why: %s", line)
	}
	if strings.Contains(line, "sk-watch-secret") {
		t.Fatalf("log line leaks a secret: %s", line)
	}
	h.assertNoChange(t)

	// A syntax error likewise.
	writeAtomically(t, path, "port = = 1\n")
	line = h.waitLog(t, "config.toml:1:")
	if !strings.Contains(line, "config reload failed") {
		t.Fatalf("unexpected log line: %s", line)
	}
	h.assertNoChange(t)

	// The same bad content again is not logged as a new failure.
	writeAtomically(t, path, "port = = 1\n")
	h.waitLog(t, "config file touched, still invalid")
	h.assertNoChange(t)

	// Going back to the content in effect is not a change.
	writeAtomically(t, path, "port = 9002\n")
	h.waitLog(t, "config file touched without a change")

	// The watcher is still alive after bad edits; warnings of the new file are logged.
	writeAtomically(t, path, "port = 9003\nunknown-thing = 1\n")
	if c := h.waitChange(t); c.Port != 9003 {
		t.Fatalf("port = %d, want 9003", c.Port)
	}
	h.bufferedLog(t, "unknown key unknown-thing")
}

func TestWatcherRemovedExplicitFileKeepsConfig(t *testing.T) {
	t.Setenv(EnvStrictConfig, "")
	path := filepath.Join(t.TempDir(), "config.toml")
	writeAtomically(t, path, "port = 9001\n")
	h := startWatcher(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	h.waitLog(t, "config reload failed")
	h.assertNoChange(t)
}

func TestNewWatcherErrors(t *testing.T) {
	t.Parallel()
	noop := func(*Config) {}
	tests := []struct {
		name     string
		path     string
		onChange func(*Config)
	}{
		{"empty path", "", noop},
		{"nil callback", filepath.Join(t.TempDir(), "c.toml"), nil},
		{"missing directory", filepath.Join(t.TempDir(), "nope", "c.toml"), noop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if w, err := NewWatcher(tt.path, true, nil, tt.onChange); err == nil {
				_ = w.fsw.Close()
				t.Fatal("want an error")
			}
		})
	}
}
