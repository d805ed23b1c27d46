package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// Start binds the listener (an error names the port when it is busy), serves in the background, and
// starts config hot reload, token refresh, health sampling and retention pruning. The loops stop when
// ctx ends or Close is called; the listener stays until Close (or Pause).
func (c *Core) Start(ctx context.Context) error {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	switch {
	case c.closed:
		return errors.New("the proxy core is closed")
	case c.started:
		return errors.New("the proxy core is already started")
	}
	if err := c.listenLocked(); err != nil {
		return err
	}
	c.started = true
	runCtx, cancel := context.WithCancel(c.lifeCtx)
	context.AfterFunc(ctx, cancel)
	c.goLoop(func() { c.srv.Run(runCtx) })
	c.goLoop(func() {
		if err := c.refresher.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			c.log.Warn("token refresher stopped", "err", err)
		}
	})
	c.startWatcher(runCtx)
	c.goLoop(func() { c.maintain(runCtx) })
	c.emit(Event{Kind: "status", Title: "Proxy running", Body: "Listening on " + c.baseURLLocked()})
	return nil
}

// goLoop runs fn on a goroutine owned by the Core, recovering and logging a panic.
func (c *Core) goLoop(fn func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				c.log.Error("background task panicked", "panic", fmt.Sprint(r))
			}
		}()
		fn()
	}()
}

// listenLocked binds the configured address and serves on it. lifeMu must be held.
func (c *Core) listenLocked() error {
	addr, err := c.srv.Listen()
	if err != nil {
		return err
	}
	c.addr = addr
	c.listenCfg = c.srv.Config().Addr()
	c.serveLocked()
	return nil
}

// serveLocked starts Serve on the bound listener. lifeMu must be held.
func (c *Core) serveLocked() {
	done := make(chan error, 1)
	c.serveDone = done
	// ServeAsync takes the listener now, so a port move right after Start shuts down this server and
	// not one whose goroutine has yet to run.
	served, err := c.srv.ServeAsync()
	if err != nil {
		c.log.Error("proxy server did not start", "err", err)
		done <- err
		return
	}
	go func() {
		err := <-served
		if err != nil {
			c.log.Error("proxy server stopped", "err", err)
		}
		done <- err
	}()
}

// stopServingLocked shuts the listener down gracefully within pauseGrace (or ctx) and waits for Serve.
func (c *Core) stopServingLocked(ctx context.Context) error {
	if c.serveDone == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, pauseGrace)
	defer cancel()
	err := c.srv.Shutdown(sctx)
	<-c.serveDone
	c.serveDone = nil
	if err != nil {
		return fmt.Errorf("stopping the listener: %w", err)
	}
	return nil
}

// maintain runs the periodic jobs of a started Core until ctx ends.
func (c *Core) maintain(ctx context.Context) {
	c.prune(ctx)
	sample := time.NewTicker(healthSampleEvery)
	check := time.NewTicker(healthCheckEvery)
	resync := time.NewTicker(accountSyncEvery)
	prune := time.NewTicker(pruneEvery)
	defer sample.Stop()
	defer check.Stop()
	defer resync.Stop()
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sample.C:
			c.sampleHealth(ctx)
			c.saveLastUsed(ctx)
		case <-check.C:
			c.checkHealth()
		case <-resync.C:
			c.syncAccounts(ctx)
			c.syncKeys(ctx)
		case <-prune.C:
			c.prune(ctx)
		}
	}
}

// prune applies the retention of spend rows, the request log and health samples.
func (c *Core) prune(ctx context.Context) {
	now := c.clk.Now()
	if n, err := c.st.PruneSpendLog(ctx, now.Add(-SpendRetention)); err != nil {
		c.log.Warn("pruning the spend log failed", "err", err)
	} else if n > 0 {
		c.log.Info("pruned old spend rows", "rows", n)
	}
	if _, err := c.reqLogFile.prune(ctx, c.Config().RequestLog.RetentionDays); err != nil {
		c.log.Warn("pruning the request log failed", "err", err)
	}
	if _, err := c.st.PruneHealthSamples(ctx, now.Add(-HealthRetention)); err != nil {
		c.log.Warn("pruning health samples failed", "err", err)
	}
}

// sampleHealth writes one health sample per credential from the router's snapshot.
func (c *Core) sampleHealth(ctx context.Context) {
	snap := c.srv.Router().Snapshot()
	if len(snap) == 0 {
		return
	}
	now := c.clk.Now()
	samples := make([]store.HealthSample, 0, len(snap))
	for _, h := range snap {
		samples = append(samples, store.HealthSample{Time: now, CredentialID: h.CredentialID, State: h.State.String(),
			Requests: int64(h.Requests), Failures: int64(h.Failures), P95MS: h.P95.Milliseconds()})
	}
	if err := c.st.InsertHealthSamples(ctx, samples); err != nil {
		c.log.Warn("writing health samples failed", "err", err)
	}
}

// saveLastUsed writes when each account last served a request.
func (c *Core) saveLastUsed(ctx context.Context) {
	for id, at := range c.used.drain() {
		c.accMu.RLock()
		_, isAccount := c.accounts[id]
		c.accMu.RUnlock()
		if !isAccount {
			continue // an API-key entry of the config, not an account
		}
		if err := c.st.TouchAccount(ctx, id, at); err != nil && !errors.Is(err, store.ErrNotFound) {
			c.log.Warn("saving when an account was last used failed", "account", id, "err", err)
		}
	}
}

// Close shuts the proxy down gracefully (requests in flight may finish until ctx ends), stops the
// background loops and logins, flushes the spend writer and virtual-key spend, and closes the store.
// It is idempotent: later calls return the first result.
func (c *Core) Close(ctx context.Context) error {
	c.closeOnce.Do(func() { c.closeErr = c.teardown(ctx) })
	return c.closeErr
}

func (c *Core) teardown(ctx context.Context) error {
	var errs []error
	c.lifeMu.Lock()
	c.closed = true
	if c.serveDone != nil {
		if err := c.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutting down: %w", err))
		}
		<-c.serveDone
		c.serveDone = nil
	}
	c.lifeMu.Unlock()
	// Cancelling under loginMu means no login watcher joins c.wg after this point.
	c.loginMu.Lock()
	for _, l := range c.logins {
		l.Cancel()
	}
	c.lifeCancel()
	c.loginMu.Unlock()
	c.wg.Wait()
	if c.st != nil {
		c.saveLastUsed(ctx)
	}
	if c.writer != nil {
		if err := c.writer.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.reqLog != nil {
		if err := c.reqLog.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.reqLogFile != nil {
		if err := c.reqLogFile.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.keys != nil {
		if err := c.keys.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.st != nil {
		if err := c.st.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.standInDir != "" {
		if err := os.RemoveAll(c.standInDir); err != nil {
			errs = append(errs, err)
		}
	}
	c.bus.close()
	return errors.Join(errs...)
}

// Pause stops listening (requests in flight get up to 10 s to finish, so call it off the UI goroutine);
// accounts, keys and data stay. Resume listens again.
func (c *Core) Pause() error {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.closed {
		return errors.New("the proxy core is closed")
	}
	if !c.started || c.paused {
		return nil
	}
	err := c.stopServingLocked(context.Background())
	c.paused = true
	c.emit(Event{Kind: "status", Title: "Proxy paused", Body: "Clients get connection errors until you resume it."})
	return err
}

// Resume listens again after Pause; the error names the port when it was taken in the meantime.
func (c *Core) Resume() error {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.closed {
		return errors.New("the proxy core is closed")
	}
	if !c.started || !c.paused {
		return nil
	}
	if err := c.listenLocked(); err != nil {
		return err
	}
	c.paused = false
	c.emit(Event{Kind: "status", Title: "Proxy running", Body: "Listening on " + c.baseURLLocked()})
	return nil
}

// Paused reports whether the proxy was paused.
func (c *Core) Paused() bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	return c.paused
}

// Running reports whether the proxy is listening.
func (c *Core) Running() bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	return c.serveDone != nil
}

// startWatcher reloads the configuration file when it changes. It is off when the caller supplied the
// configuration (CoreOptions.Config) or no path is known.
func (c *Core) startWatcher(ctx context.Context) {
	if c.cfgPath == "" || c.opts.Config != nil {
		return
	}
	if _, err := os.Stat(filepath.Dir(c.cfgPath)); err != nil {
		c.log.Debug("config hot reload is off: the config directory does not exist", "dir", filepath.Dir(c.cfgPath))
		return
	}
	w, err := config.NewWatcher(c.cfgPath, c.explicit, c.log, func(cfg *config.Config) {
		if cfg.Keystore.Backend != c.Config().Keystore.Backend {
			// `cliproxy accounts migrate` moved the credentials and named the new backend in the file.
			if err := c.switchKeystore(cfg); err != nil {
				c.log.Warn("keeping the previous credential store", "err", err)
				cfg = cfg.Clone()
				cfg.Keystore = c.Config().Keystore
			}
		}
		if err := c.applyConfig(cfg, "Configuration reloaded"); err != nil {
			c.log.Warn("config reloaded with a caveat", "err", err)
			return
		}
		c.log.Info("config reloaded", "file", c.cfgPath)
	})
	if err != nil {
		c.log.Warn("config hot reload is off", "err", err)
		return
	}
	c.goLoop(func() {
		if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			c.log.Warn("config watcher stopped", "err", err)
		}
	})
}

// syncKeys picks up virtual keys created or revoked with `cliproxy keys` while the app runs.
func (c *Core) syncKeys(ctx context.Context) {
	if c.keys == nil {
		return
	}
	if n, err := c.keys.Reload(ctx); err != nil {
		c.log.Warn("reloading virtual keys failed", "err", err)
	} else if n > 0 {
		c.log.Info("virtual keys changed by another process", "changed", n)
		c.emit(Event{Kind: "keys", Title: "Virtual keys changed"})
	}
}
