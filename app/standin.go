package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

// The database may be unusable at start: a corrupt or foreign file, one locked by another process, a
// directory without write permission, a schema from a newer version. The proxy must still serve, so
// the Core then runs on a stand-in: an empty database in a private temporary directory, deleted at Close.
// The real file is left exactly as it was. What depends on it is reported unavailable rather than
// quietly emptied:
//
//   - readiness shows spend as unavailable with the reason, and the tray shows a notice;
//   - virtual keys (kept in the real file) answer 503 saying why, and the management API refuses to
//     create keys or report spend, since neither would survive the session;
//   - subscription accounts are rebuilt from the keystore, where their credentials live, so logged-in
//     accounts keep serving (an account disabled in the unreadable file is enabled meanwhile);
//   - the request log has its own file and keeps working.

// openStandIn opens the stand-in database after the real one at path failed with cause.
func (c *Core) openStandIn(path string, cause error) (*store.Store, error) {
	dir, err := os.MkdirTemp("", "cliproxy-standin-")
	if err != nil {
		return nil, errors.Join(cause, err)
	}
	// Its own log lines (migrations of a file deleted at exit) would only confuse.
	st, err := store.Open(filepath.Join(dir, "cliproxy.db"), nil, store.WithClock(c.clk))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, errors.Join(cause, err)
	}
	c.dbErr, c.standInDir = cause, dir
	c.dbNotice = "The database " + path + " could not be opened, so spend, budgets and virtual keys are unavailable " +
		"and this session's spend is not saved. The proxy and your logged-in accounts keep working. " + remedyOf(cause) +
		" The file was not changed."
	c.log.Error("the database cannot be used; serving without spend tracking and virtual keys until it is fixed and cliproxy restarted",
		"path", path, "err", cause)
	if err := c.seedAccounts(st); err != nil {
		c.log.Warn("rebuilding the account list from the keystore failed", "err", err)
	}
	return st, nil
}

// remedyOf is the sentence of cause that says what to do (store.Open's errors end with one).
func remedyOf(cause error) string {
	msg := cause.Error()
	for _, cue := range []string{"move it aside", "stop the other", "check the file", "upgrade cliproxy"} {
		if i := strings.Index(msg, cue); i >= 0 {
			end := strings.Index(msg[i:], ":")
			if end < 0 {
				end = len(msg) - i
			}
			r := msg[i : i+end]
			return strings.ToUpper(r[:1]) + r[1:] + ", then restart cliproxy."
		}
	}
	return "Fix the file or set [database] path to another one, then restart cliproxy."
}

// seedAccounts lists the accounts of the keystore into st, so that they serve while the real account
// table cannot be read.
func (c *Core) seedAccounts(st *store.Store) error {
	ks := c.keystore()
	ids, err := ks.List()
	if err != nil {
		return err
	}
	now := c.clk.Now()
	var errs []error
	for _, id := range ids {
		if !strings.HasPrefix(id, accountPrefix) {
			continue
		}
		cred, err := loadCredential(ks, strings.TrimPrefix(id, accountPrefix))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if cred.Provider == "" {
			continue
		}
		err = st.UpsertAccount(context.Background(), store.Account{ID: cred.ID, Provider: cred.Provider, Label: cred.Label, CreatedAt: now})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// DatabaseError is why the database could not be opened at start, or nil when it is in use.
func (c *Core) DatabaseError() error { return c.dbErr }

// DatabaseNotice is a paragraph for the user when the Core runs on the stand-in database, else "".
func (c *Core) DatabaseNotice() string { return c.dbNotice }
