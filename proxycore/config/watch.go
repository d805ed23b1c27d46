package config

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the Watcher waits after the last file event before reloading, so an
// editor's burst of writes and renames becomes one reload.
const DefaultDebounce = 200 * time.Millisecond

// WatcherOption changes a Watcher's defaults.
type WatcherOption func(*Watcher)

// WithDebounce sets the quiet period before a reload (DefaultDebounce when d <= 0).
func WithDebounce(d time.Duration) WatcherOption {
	return func(w *Watcher) {
		if d > 0 {
			w.debounce = d
		}
	}
}

// Watcher reloads the config file when it changes and hands every valid new configuration to its
// callback. It watches the file's directory, not the file, because editors replace files by rename.
// A file that fails to parse or validate is logged and ignored: the previous configuration stays.
type Watcher struct {
	path     string // absolute path of the config file
	explicit bool
	logger   *slog.Logger
	onChange func(*Config)
	debounce time.Duration
	fsw      *fsnotify.Watcher

	// last is the hash of the content behind the configuration in effect, failed the hash of the last
	// content that did not load (so one bad edit is logged once). Only Run touches them after
	// construction, so they need no lock.
	last, failed [sha256.Size]byte
}

// NewWatcher watches path (explicit as returned by ResolvePath). onChange runs on the Watcher's
// goroutine with each new valid configuration; it must not block for long. The directory of path must
// exist. logger nil discards logs.
func NewWatcher(path string, explicit bool, logger *slog.Logger, onChange func(*Config), opts ...WatcherOption) (*Watcher, error) {
	if path == "" {
		return nil, errors.New("watching config: no config path")
	}
	if onChange == nil {
		return nil, errors.New("watching config: onChange is nil")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watching config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		path: abs, explicit: explicit, logger: logger, onChange: onChange, debounce: DefaultDebounce,
	}
	for _, o := range opts {
		o(w)
	}
	w.last = hashFile(abs)
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching config: %w", err)
	}
	if err := fsw.Add(filepath.Dir(abs)); err != nil {
		_ = fsw.Close()
		return nil, fmt.Errorf("watching config directory: %w", err)
	}
	w.fsw = fsw
	return w, nil
}

// Run delivers reloads until ctx is done, then releases the file watch and returns nil. Call it once.
func (w *Watcher) Run(ctx context.Context) error {
	defer func() { _ = w.fsw.Close() }()
	timer := time.NewTimer(w.debounce)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return errors.New("watching config: event channel closed")
			}
			if filepath.Clean(ev.Name) == w.path && !ev.Has(fsnotify.Chmod) {
				timer.Reset(w.debounce)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return errors.New("watching config: error channel closed")
			}
			w.logger.Warn("config watcher error", "error", err)
		case <-timer.C:
			w.reload()
		}
	}
}

// reload loads the file and calls onChange when it is valid and differs from the one in effect.
func (w *Watcher) reload() {
	defer func() {
		if r := recover(); r != nil {
			w.logger.Error("config reload panicked", "panic", fmt.Sprint(r))
		}
	}()
	h := hashFile(w.path)
	if h == w.last {
		w.logger.Debug("config file touched without a change", "path", w.path)
		return
	}
	if h == w.failed {
		w.logger.Debug("config file touched, still invalid", "path", w.path)
		return
	}
	cfg, err := Load(w.path, w.explicit)
	if err != nil {
		w.failed = h
		w.logger.Error("config reload failed; keeping the previous configuration", "path", w.path, "error", err)
		return
	}
	for _, warning := range cfg.Warnings() {
		w.logger.Warn("config warning", "warning", warning)
	}
	w.last = h
	w.logger.Info("config reloaded", "path", w.path)
	w.onChange(cfg)
}

// hashFile returns the SHA-256 of the file, or of a marker when it cannot be read (a missing file
// hashes differently from an empty one).
func hashFile(path string) [sha256.Size]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return sha256.Sum256([]byte("\x00missing"))
		}
		return sha256.Sum256([]byte("\x00unreadable:" + err.Error()))
	}
	return sha256.Sum256(data)
}
