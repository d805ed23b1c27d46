package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/cliproxy/cliproxy/keystore"
	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/server"
)

// Settings are the options the dashboard's Settings page edits.
type Settings struct {
	Port            int
	Strategy        string // fill-first | round-robin | random | least-busy | lowest-latency
	HealthAware     bool
	KeystoreBackend string // auto | keychain | file (as configured)
}

// Settings returns the current settings.
func (c *Core) Settings() Settings {
	cfg := c.Config()
	return Settings{Port: cfg.Port, Strategy: cfg.Routing.Strategy, HealthAware: cfg.Routing.HealthAware,
		KeystoreBackend: cfg.Keystore.Backend}
}

// ApplySettings validates s, writes it to the configuration file (created when missing; other keys and
// comments are kept) and applies it live: the routing strategy through a reload, a port change by
// moving the listener (the old port keeps serving if the new one is taken), a keystore change by moving
// every credential into the new backend.
func (c *Core) ApplySettings(s Settings) error {
	old := c.Config()
	next := old.Clone()
	next.Port = s.Port
	next.Routing.Strategy = strings.ToLower(strings.TrimSpace(s.Strategy))
	next.Routing.HealthAware = s.HealthAware
	next.Keystore.Backend = strings.ToLower(strings.TrimSpace(s.KeystoreBackend))
	if next.Keystore.Backend == "" {
		next.Keystore.Backend = keystore.BackendAuto
	}
	if err := next.Validate(); err != nil {
		return fmt.Errorf("these settings are not valid: %w", err)
	}
	switched := next.Keystore.Backend != old.Keystore.Backend
	if switched {
		if err := c.switchKeystore(next); err != nil {
			return err
		}
	}
	if err := c.applyConfig(next, "Settings changed"); err != nil {
		if switched {
			if berr := c.switchKeystore(old); berr != nil {
				c.log.Error("moving credentials back failed", "err", berr)
			}
		}
		return err
	}
	if err := c.writeSettings(s, next); err != nil {
		return fmt.Errorf("the settings apply now but could not be saved: %w", err)
	}
	return nil
}

// switchKeystore moves every credential into the backend cfg names and switches to it.
func (c *Core) switchKeystore(cfg *config.Config) error {
	to, name, err := openKeystore(cfg.Keystore, c.opts.DataDir, "", c.log)
	if err != nil {
		return err
	}
	c.ksMu.Lock()
	defer c.ksMu.Unlock()
	if name == c.ksBackend {
		return nil
	}
	if err := keystore.Migrate(c.ks, to); err != nil {
		return fmt.Errorf("moving credentials to the %s store: %w", name, err)
	}
	c.ks, c.ksBackend = to, name
	c.log.Info("credentials moved", "backend", name)
	return nil
}

// applyConfig makes cfg the configuration in force: it reloads the server and, when host or port
// changed while listening, moves the listener (keeping the old one when the new address is busy).
func (c *Core) applyConfig(cfg *config.Config, title string) error {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	old := c.Config()
	// Reload reports a host/port change as an error after applying everything else; the listener is
	// moved below, so only an error that left the old configuration in force counts.
	if err := c.srv.Reload(cfg); err != nil && !errors.Is(err, server.ErrListenerChanged) {
		return err
	}
	c.cfgMu.Lock()
	c.cfg = cfg
	c.cfgMu.Unlock()
	if c.serveDone != nil && cfg.Addr() != c.listenCfg {
		if err := c.moveListenerLocked(); err != nil {
			c.cfgMu.Lock()
			c.cfg = old
			c.cfgMu.Unlock()
			_ = c.srv.Reload(old)
			return err
		}
	}
	c.emit(Event{Kind: "config", Title: title, Body: "Listening on " + c.baseURLLocked()})
	if old.ProxyURL != cfg.ProxyURL {
		c.rebuildAccounts() // account executors hold a transport for the proxy they were built with
	}
	if !reflect.DeepEqual(old.Providers, cfg.Providers) {
		c.log.Warn("[providers] changed: restart cliproxy to log in and refresh with the new endpoints")
		c.emit(Event{Kind: "config", Title: "Restart to apply [providers] changes",
			Body: "Logins and token refreshes use the provider endpoints read at start."})
	}
	return nil
}

// moveListenerLocked binds the new address first and only then stops the old listener.
func (c *Core) moveListenerLocked() error {
	oldDone := c.serveDone
	addr, err := c.srv.Listen()
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), pauseGrace)
	_ = c.srv.Shutdown(sctx)
	cancel()
	<-oldDone
	c.addr = addr
	c.listenCfg = c.srv.Config().Addr()
	c.serveLocked()
	return nil
}

// writeSettings edits the four keys in the configuration file, keeping everything else.
func (c *Core) writeSettings(s Settings, cfg *config.Config) error {
	if c.cfgPath == "" {
		return errors.New("no configuration file path is known (set --config or CLIPROXY_CONFIG)")
	}
	data, err := os.ReadFile(c.cfgPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	text := string(data)
	if len(data) == 0 {
		text = "# cliproxy configuration. Every key is optional; see config.example.toml for all of them.\n"
	}
	text = setTOMLKey(text, "", "port", strconv.Itoa(cfg.Port))
	text = setTOMLKey(text, "routing", "strategy", strconv.Quote(cfg.Routing.Strategy))
	text = setTOMLKey(text, "routing", "health-aware", strconv.FormatBool(cfg.Routing.HealthAware))
	text = setTOMLKey(text, "keystore", "backend", strconv.Quote(cfg.Keystore.Backend))
	if _, err := config.Parse([]byte(text), c.cfgPath); err != nil {
		return fmt.Errorf("the edited configuration would not load (left unchanged): %w", err)
	}
	return writeFileAtomic(c.cfgPath, []byte(text), 0o600)
}

// setTOMLKey sets key = value in [table] ("" for the top level) of a TOML document, editing the line in
// place (a trailing comment stays) or adding it at the start of the table, and adding the table at the
// end when it is missing. It understands plain [table] headers and bare keys, which is what the
// settings use.
func setTOMLKey(doc, table, key, value string) string {
	lines := strings.Split(doc, "\n")
	current := ""
	tableLine := -1 // header line of table; -1 for the top level before any header
	firstHeader := len(lines)
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "[") {
			name := strings.Trim(strings.TrimSpace(stripComment(line)), "[] ")
			if i < firstHeader {
				firstHeader = i
			}
			current = name
			if strings.HasPrefix(line, "[[") {
				current = "[[" + name // keys of array tables are never the ones we edit
			} else if name == table {
				tableLine = i
			}
			continue
		}
		if current != table {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") || strings.Trim(strings.TrimSpace(k), `"'`) != key {
			continue
		}
		indent := raw[:len(raw)-len(strings.TrimLeft(raw, " \t"))]
		comment := ""
		if idx := commentIndex(line); idx >= 0 {
			comment = "  " + line[idx:]
		}
		lines[i] = indent + key + " = " + value + comment
		return strings.Join(lines, "\n")
	}
	entry := key + " = " + value
	switch {
	case table == "":
		at := firstHeader
		for at > 0 && strings.TrimSpace(lines[at-1]) == "" {
			at--
		}
		lines = insertLine(lines, at, entry)
	case tableLine >= 0:
		lines = insertLine(lines, tableLine+1, entry)
	default:
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		lines = append(lines, "", "["+table+"]", entry, "")
	}
	return strings.Join(lines, "\n")
}

func insertLine(lines []string, at int, s string) []string {
	lines = append(lines, "")
	copy(lines[at+1:], lines[at:])
	lines[at] = s
	return lines
}

// commentIndex finds a '#' outside a quoted string, or -1.
func commentIndex(line string) int {
	var quote byte
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote != 0:
			if ch == '\\' && quote == '"' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '#':
			return i
		}
	}
	return -1
}

func stripComment(line string) string {
	if i := commentIndex(line); i >= 0 {
		return line[:i]
	}
	return line
}

// writeFileAtomic writes data to a temporary file next to path and renames it into place.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".cliproxy-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
