package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/keystore"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/server"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// ErrNoAccount is returned for an account id that does not exist.
var ErrNoAccount = errors.New("no such account")

// AccountInfo is what the UI, the CLI and the management API show about one subscription account.
type AccountInfo struct {
	ID           string
	Provider     string // provider id, e.g. "claude-code"
	ProviderName string // display name, e.g. "Claude Code"
	Label        string // e-mail or login name
	Disabled     bool
	Error        string // what the user should do, e.g. "log in to Claude Code again: ..."; "" when fine
	State        string // router health state (HEALTHY, DEGRADED, COOLDOWN, ERROR); "" before any request
	Quota        provider.Quota
	Models       []string
	AddedAt      time.Time
	LastUsedAt   time.Time // zero until the account served a request
}

// account is one loaded account: its metadata and, when its provider is built in, its executor.
type account struct {
	meta     store.Account
	exec     provider.Executor
	buildErr error
}

// accountSource hands the server the executors of the enabled accounts.
type accountSource struct{ c *Core }

// Accounts implements server.AccountSource.
func (s accountSource) Accounts() []server.Account {
	s.c.accMu.RLock()
	defer s.c.accMu.RUnlock()
	out := make([]server.Account, 0, len(s.c.accounts))
	for _, a := range s.c.accounts {
		if a.exec == nil {
			continue
		}
		out = append(out, server.Account{Executor: a.exec, Disabled: a.meta.Disabled})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Executor.CredentialID() < out[j].Executor.CredentialID() })
	return out
}

// accountID derives a stable id from provider and label, so that logging in to the same account again
// replaces its credential instead of adding a twin. Without a label the id is random.
func accountID(providerID, label string) string {
	if label == "" {
		return providerID + "-" + randomHex(4)
	}
	sum := sha256.Sum256([]byte(providerID + "\x00" + strings.ToLower(label)))
	return providerID + "-" + hex.EncodeToString(sum[:4])
}

// providerSettings returns the provider's settings: the built-in defaults merged with [providers.<id>].
func (c *Core) providerSettings(id string) map[string]string {
	out := map[string]string{}
	if p, ok := c.providers.Get(id); ok {
		for k, v := range p.Settings {
			out[k] = v
		}
	}
	return out
}

// providerName returns a provider's display name.
func (c *Core) providerName(id string) string {
	if p, ok := c.providers.Get(id); ok {
		return p.Name
	}
	return id
}

// buildAccount makes the executor of one account.
func (c *Core) buildAccount(meta store.Account) *account {
	a := &account{meta: meta}
	factory, ok := c.factories[meta.Provider]
	if !ok {
		a.buildErr = fmt.Errorf("this build of cliproxy cannot route to %s accounts yet", meta.Provider)
		return a
	}
	proxyURL := c.Config().ProxyURL
	tr, err := c.transports.Get(proxyURL)
	if err != nil {
		a.buildErr = fmt.Errorf("proxy-url: %w", err)
		return a
	}
	exec, err := factory(provider.AccountOptions{
		ID: meta.ID, Label: meta.Label, Tokens: c.refresher, Settings: c.providerSettings(meta.Provider),
		Client: &http.Client{Transport: tr}, Logger: c.log.With("account", meta.ID),
	})
	if err != nil {
		a.buildErr = fmt.Errorf("setting up the %s account: %w", meta.Provider, err)
		return a
	}
	a.exec = exec
	return a
}

// putAccountLocked makes a the loaded version of its account. An enabled account that cannot route is shown
// as ERROR in the router's health, with the reason. accMu must be held.
func (c *Core) putAccountLocked(a *account) {
	c.accounts[a.meta.ID] = a
	if a.buildErr != nil && !a.meta.Disabled && c.srv != nil {
		c.srv.Router().MarkError(a.meta.ID, a.buildErr.Error())
	}
}

// loadAccounts reads the account table and builds every account, tracking the enabled ones for refresh.
func (c *Core) loadAccounts(ctx context.Context) error {
	metas, err := c.st.ListAccounts(ctx)
	if err != nil {
		return err
	}
	c.accMu.Lock()
	defer c.accMu.Unlock()
	c.accounts = make(map[string]*account, len(metas))
	for _, m := range metas {
		c.putAccountLocked(c.buildAccount(m))
		if !m.Disabled {
			c.refresher.Track(m.ID)
		}
	}
	return nil
}

// rebuildAccounts builds every account's executor again (after proxy-url changed).
func (c *Core) rebuildAccounts() {
	c.accMu.Lock()
	for _, a := range c.accounts {
		c.putAccountLocked(c.buildAccount(a.meta))
	}
	c.accMu.Unlock()
	if err := c.srv.RefreshAccounts(); err != nil {
		c.log.Warn("rebuilding the routing tables failed", "err", err)
	}
}

// syncAccounts picks up accounts added, removed, enabled or disabled by another process (a CLI command
// run while the app is open). Accounts whose metadata did not change keep their executor.
func (c *Core) syncAccounts(ctx context.Context) {
	metas, err := c.st.ListAccounts(ctx)
	if err != nil {
		c.log.Warn("reading accounts failed", "err", err)
		return
	}
	changed := false
	seen := make(map[string]bool, len(metas))
	var relogged []string
	c.accMu.Lock()
	for _, m := range metas {
		seen[m.ID] = true
		old, ok := c.accounts[m.ID]
		if ok && old.meta.Provider == m.Provider && old.meta.Label == m.Label && old.meta.Disabled == m.Disabled &&
			old.meta.CreatedAt.Equal(m.CreatedAt) && old.meta.LoginAt.Equal(m.LoginAt) {
			continue
		}
		if ok && !old.meta.LoginAt.Equal(m.LoginAt) {
			relogged = append(relogged, m.ID) // logged in again elsewhere: the old credential's errors are over
		}
		changed = true
		c.putAccountLocked(c.buildAccount(m))
		if m.Disabled {
			c.refresher.Untrack(m.ID)
		} else {
			c.refresher.Track(m.ID) // a re-login elsewhere replaced the credential: forget the cached one
		}
	}
	for id := range c.accounts {
		if !seen[id] {
			changed = true
			delete(c.accounts, id)
			c.refresher.Untrack(id)
			c.srv.Router().Forget(id)
		}
	}
	c.accMu.Unlock()
	for _, id := range relogged {
		c.resetHealth(id)
	}
	if changed {
		c.accountsChanged("Accounts changed", "")
	}
}

// accountsChanged rebuilds the routing tables and tells subscribers.
func (c *Core) accountsChanged(title, body string) {
	if err := c.srv.RefreshAccounts(); err != nil {
		c.log.Warn("rebuilding the routing tables failed", "err", err)
	}
	c.emit(Event{Kind: "accounts", Title: title, Body: body})
}

// Accounts lists the subscription accounts, ordered by provider and then by the time they were added.
func (c *Core) Accounts() []AccountInfo {
	health := map[string]string{}
	msgs := map[string]string{}
	for _, h := range c.srv.Router().Snapshot() {
		health[h.CredentialID] = h.State.String()
		if h.Message != "" {
			msgs[h.CredentialID] = h.Message
		}
	}
	c.accMu.RLock()
	list := make([]*account, 0, len(c.accounts))
	for _, a := range c.accounts {
		list = append(list, a)
	}
	c.accMu.RUnlock()
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i].meta, list[j].meta
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	out := make([]AccountInfo, 0, len(list))
	for _, a := range list {
		out = append(out, c.accountInfo(a, health, msgs))
	}
	return out
}

func (c *Core) accountInfo(a *account, health, msgs map[string]string) AccountInfo {
	info := AccountInfo{
		ID: a.meta.ID, Provider: a.meta.Provider, ProviderName: c.providerName(a.meta.Provider),
		Label: a.meta.Label, Disabled: a.meta.Disabled, AddedAt: a.meta.CreatedAt, State: health[a.meta.ID],
		Models: append([]string(nil), provider.DefaultModelsFor(a.meta.Provider)...),
	}
	if a.meta.LastUsedAt != nil {
		info.LastUsedAt = *a.meta.LastUsedAt
	}
	if t := c.used.lastUsed(a.meta.ID); t.After(info.LastUsedAt) {
		info.LastUsedAt = t
	}
	switch {
	case a.buildErr != nil:
		info.Error = a.buildErr.Error()
	case c.refresher.Failed(a.meta.ID) != nil:
		info.Error = c.refresher.Failed(a.meta.ID).Error()
		info.State = "ERROR"
	case msgs[a.meta.ID] != "":
		info.Error = msgs[a.meta.ID]
	}
	if q, ok := a.exec.(provider.QuotaReporter); ok {
		info.Quota = q.Quota()
	}
	return info
}

// account returns the info of one account.
func (c *Core) account(id string) (AccountInfo, error) {
	for _, a := range c.Accounts() {
		if a.ID == id {
			return a, nil
		}
	}
	return AccountInfo{}, fmt.Errorf("%w %q: `cliproxy accounts list` shows the ids", ErrNoAccount, id)
}

// SetAccountDisabled turns an account off (it stops routing and refreshing; its credential stays) or on.
func (c *Core) SetAccountDisabled(id string, disabled bool) error {
	ctx, cancel := context.WithTimeout(c.lifeCtx, 30*time.Second)
	defer cancel()
	if err := c.st.SetAccountDisabled(ctx, id, disabled); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w %q: `cliproxy accounts list` shows the ids", ErrNoAccount, id)
		}
		return err
	}
	meta, err := c.st.GetAccount(ctx, id)
	if err != nil {
		return err
	}
	if !disabled {
		c.resetHealth(id) // enabling gives a failed account another chance
	}
	c.accMu.Lock()
	c.putAccountLocked(c.buildAccount(meta))
	c.accMu.Unlock()
	verb := "enabled"
	if disabled {
		verb = "disabled"
		c.refresher.Untrack(id)
	} else {
		c.refresher.Track(id)
	}
	c.accountsChanged("Account "+verb, c.providerName(meta.Provider)+" "+meta.Label)
	return nil
}

// RemoveAccount deletes an account: its credential from the keystore and its metadata from the store.
func (c *Core) RemoveAccount(id string) error {
	ctx, cancel := context.WithTimeout(c.lifeCtx, 30*time.Second)
	defer cancel()
	meta, err := c.st.GetAccount(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w %q: `cliproxy accounts list` shows the ids", ErrNoAccount, id)
		}
		return err
	}
	if err := c.keystore().Delete(accountPrefix + id); err != nil && !errors.Is(err, keystore.ErrNotFound) {
		return fmt.Errorf("removing the credential of account %s: %w", id, err)
	}
	if err := c.st.DeleteAccount(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c.refresher.Untrack(id)
	c.accMu.Lock()
	delete(c.accounts, id)
	c.accMu.Unlock()
	c.srv.Router().Forget(id)
	c.accountsChanged("Account removed", c.providerName(meta.Provider)+" "+meta.Label)
	return nil
}

// saveAccount stores a freshly obtained credential and its metadata and makes the account routable.
// An account with the same id (same provider and label) is replaced and enabled again.
func (c *Core) saveAccount(ctx context.Context, providerID, label string, tok oauth.Token) (AccountInfo, error) {
	id := accountID(providerID, label)
	if label == "" {
		label = c.providerName(providerID)
	}
	cred := oauth.Credential{ID: id, Provider: providerID, Label: label, Token: tok}
	if err := saveCredential(c.keystore(), cred); err != nil {
		return AccountInfo{}, err
	}
	now := c.clk.Now()
	meta := store.Account{ID: id, Provider: providerID, Label: label, CreatedAt: now, LoginAt: now}
	if err := c.st.UpsertAccount(ctx, meta); err != nil {
		return AccountInfo{}, err
	}
	if stored, err := c.st.GetAccount(ctx, id); err == nil {
		meta = stored
	}
	c.refresher.Track(id)
	c.resetHealth(id) // a fresh login ends the old credential's errors and cooldowns
	c.accMu.Lock()
	c.putAccountLocked(c.buildAccount(meta))
	c.accMu.Unlock()
	c.accountsChanged("Account added", c.providerName(providerID)+" "+label)
	return c.account(id)
}

// resetHealth clears an account's error, cooldowns and failure history in the router.
func (c *Core) resetHealth(id string) {
	c.srv.Router().ClearError(id)
	c.srv.Router().Reset(id)
}

// onRefreshFailure marks an account whose refresh keeps failing as ERROR with the re-login sentence.
func (c *Core) onRefreshFailure(id, providerID string, err error) {
	if c.srv != nil {
		c.srv.Router().MarkError(id, err.Error())
	}
	c.emit(Event{Kind: "accounts", Title: "Log in to " + c.providerName(providerID) + " again", Body: err.Error()})
}
