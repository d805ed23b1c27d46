package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/keystore"
	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/server"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// CoreOptions configures OpenCore. Every field is optional.
type CoreOptions struct {
	// ConfigFlag is the --config value ("" = $CLIPROXY_CONFIG or the default path).
	ConfigFlag string
	// DataDir overrides the data directory: the SQLite store (DataDir/cliproxy.db) and the file keystore
	// (DataDir/auth). With DataDir set, keystore backend "auto" means the file store, so that demo data and
	// tests never touch the user's keychain.
	DataDir string
	// Config, when non-nil, is used instead of loading ConfigFlag, and the file is not watched (the caller
	// owns the configuration; the demo uses this). ConfigPath (where ApplySettings writes) is then
	// ConfigFlag, else DataDir/config.toml, else the default path.
	Config *config.Config
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Clock tells the time; nil means the system clock.
	Clock clock.Clock

	// Factories builds account executors by provider id; nil means the built-in subscription providers
	// (see factories.go). Tests and the demo supply their own.
	Factories map[string]provider.AccountFactory
	// LoginSleep waits between device-flow polls; nil means a real timer. Tests make polling instant.
	LoginSleep oauth.SleepFunc
	// RefreshAfter returns a channel that fires when the next background token-refresh pass is due (the
	// first runs at Start); nil means time.After. Tests drive the passes with it.
	RefreshAfter func(time.Duration) <-chan time.Time
	// HTTPClient talks to OAuth servers during logins and refreshes; nil means a client over a shared
	// pooled transport that honours proxy-url.
	HTTPClient *http.Client
	// SpendQueue bounds how many spend records may wait for the database (the request log gets an eighth);
	// 0 means the spend package's default of 65536. The queue takes memory only for the records waiting,
	// about 220 bytes each, so the bound is what a stalled disk may cost.
	SpendQueue int
}

// Background intervals of a started Core.
const (
	healthSampleEvery = time.Minute      // health samples written to the store
	healthCheckEvery  = 5 * time.Second  // COOLDOWN/ERROR transitions turned into events
	accountSyncEvery  = 10 * time.Second // accounts changed by CLI commands in another process
	pruneEvery        = 6 * time.Hour    // retention of spend rows, request log and health samples
	// SpendRetention is how long per-request spend rows are kept; daily rollups are kept for good.
	SpendRetention = 90 * 24 * time.Hour
	// HealthRetention is how long health samples are kept.
	HealthRetention = 7 * 24 * time.Hour
	// pauseGrace bounds how long Pause and a port change wait for requests in flight.
	pauseGrace = 10 * time.Second
)

// Core is the one composition root of the tray app and `cliproxy serve`: configuration, keystore,
// SQLite store, virtual keys, the spend writer, OAuth providers with their refresher, the
// logged-in accounts and the proxy server. OpenCore builds it without listening; Start serves; Close
// tears it down. Every method is safe for concurrent use.
type Core struct {
	opts     CoreOptions
	log      *slog.Logger
	clk      clock.Clock
	cfgPath  string
	explicit bool // cfgPath was named (flag or environment), so its absence is an error

	st         *store.Store
	keys       *spend.Keys
	writer     *spend.Writer
	reqLog     *spend.RequestLog
	reqLogFile *requestLogFile
	providers  *oauth.Providers
	refresher  *oauth.Refresher
	transports *provider.Transports
	httpClient *http.Client
	factories  map[string]provider.AccountFactory
	srv        *server.Server
	clientKey  string // the generated client key (kept even when api-keys are configured)
	bus        *eventBus
	budget     budgetWatch
	health     healthWatch
	used       usageWatch

	// lifeCtx lives from OpenCore to Close: logins and background loops run under it.
	lifeCtx    context.Context
	lifeCancel context.CancelFunc
	wg         sync.WaitGroup // background loops started by Start and login watchers

	ksMu      sync.RWMutex // guards ks and ksBackend
	ks        keystore.Store
	ksBackend string
	// keychainNotice explains, when "auto" fell back to the file store at start, why and what to do.
	keychainNotice string
	// dbErr is why the database could not be opened at start; the Core then runs on a stand-in in
	// standInDir (see standin.go), and dbNotice tells the user.
	dbErr      error
	standInDir string
	dbNotice   string

	cfgMu sync.RWMutex // guards cfg
	cfg   *config.Config

	accMu    sync.RWMutex // guards accounts
	accounts map[string]*account

	loginMu sync.Mutex // guards logins
	logins  map[string]*Login

	lifeMu    sync.Mutex // guards started, paused, closed, addr, listenCfg, serveDone
	started   bool
	paused    bool
	closed    bool
	addr      net.Addr
	listenCfg string     // host:port the listener was bound from
	serveDone chan error // receives Serve's result; nil while not serving

	closeOnce sync.Once
	closeErr  error
}

// OpenCore loads the configuration and opens everything the proxy needs without binding the port:
// keystore, store, keys, spend writer, OAuth providers and refresher, accounts and server.
// On error everything opened so far is closed again.
func OpenCore(o CoreOptions) (_ *Core, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Core{
		opts: o, log: log, clk: clock.Or(o.Clock),
		transports: provider.NewTransports(),
		bus:        newEventBus(),
		accounts:   map[string]*account{},
		logins:     map[string]*Login{},
	}
	c.lifeCtx, c.lifeCancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			c.teardown(context.Background())
		}
	}()

	if o.Config != nil {
		c.cfg = o.Config
		switch {
		case o.ConfigFlag != "":
			c.cfgPath, c.explicit = o.ConfigFlag, true
		case o.DataDir != "":
			c.cfgPath = filepath.Join(o.DataDir, "config.toml")
		default:
			c.cfgPath, _ = config.ResolvePath("")
		}
	} else {
		cfg, path, explicit, err := loadConfig(o.ConfigFlag, log)
		if err != nil {
			return nil, err
		}
		c.cfg, c.cfgPath, c.explicit = cfg, path, explicit
	}
	cfg := c.cfg

	ks, backend, err := openKeystoreNotify(cfg.Keystore, o.DataDir, "", log, func(reason error) {
		c.keychainNotice = "The OS keychain could not be used (" + reason.Error() + "), so logins are kept in an " +
			"encrypted file in the data folder instead. They are safe there; to use the keychain, unlock it (or " +
			"install a Secret Service such as gnome-keyring) and choose \"keychain\" under Settings, which moves them."
	})
	if err != nil {
		return nil, err
	}
	c.ks, c.ksBackend = ks, backend

	dbPath := cfg.Database.Path
	if o.DataDir != "" {
		dbPath = filepath.Join(o.DataDir, "cliproxy.db")
	} else if dbPath == "" {
		dbPath = store.DefaultPath()
	}
	st, err := store.Open(dbPath, log, store.WithClock(c.clk))
	if err != nil {
		if st, err = c.openStandIn(dbPath, err); err != nil {
			return nil, err
		}
	}
	c.st = st

	key, err := c.loadClientKey()
	if err != nil {
		return nil, err
	}
	c.clientKey = key

	if c.keys, err = spend.NewKeys(c.lifeCtx, st, spend.KeysOptions{Clock: c.clk, Logger: log}); err != nil {
		return nil, err
	}
	wo := spend.WriterOptions{FlushInterval: cfg.Database.SpendFlushInterval(), QueueSize: o.SpendQueue}
	if c.writer, err = spend.NewWriter(st, wo, log); err != nil {
		return nil, err
	}
	c.reqLogFile = &requestLogFile{path: store.RequestLogPath(dbPath), main: st, log: log, clk: c.clk}
	c.reqLog = spend.NewRequestLog(c.reqLogFile, spend.WriterOptions{QueueSize: o.SpendQueue}, log)

	c.httpClient = o.HTTPClient
	if c.httpClient == nil {
		tr, err := c.transports.Get(cfg.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("proxy-url: %w", err)
		}
		c.httpClient = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	}
	if c.providers, err = oauth.NewProviders(providerOverrides(cfg)); err != nil {
		return nil, err
	}
	c.refresher, err = oauth.NewRefresher(oauth.RefresherOptions{
		Store: tokenStore{c}, Providers: c.providers, HTTPClient: c.httpClient, Clock: c.clk, Logger: log,
		OnFailure: c.onRefreshFailure, After: o.RefreshAfter,
	})
	if err != nil {
		return nil, err
	}
	c.factories = o.Factories
	if c.factories == nil {
		c.factories = defaultFactories()
	}
	if err := c.loadAccounts(c.lifeCtx); err != nil {
		return nil, err
	}

	c.srv, err = server.New(server.Options{
		Config: cfg, Logger: log, Clock: c.clk, GeneratedKey: c.clientKey,
		Recorder: recorder{c}, Accounts: accountSource{c},
		// Pricing stays nil: the server derives it from each configuration, so a hot reload of
		// [[pricing.models]] takes effect without a restart.
		Gateway:         server.Gateway{Keys: c.keys, Spend: c.writer, RequestLog: c.reqLog, StoreError: c.dbErr},
		ExtraManagement: c.managementRoutes(),
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Server returns the proxy server.
func (c *Core) Server() *server.Server { return c.srv }

// Config returns the configuration in force (read-only; hot reload and ApplySettings replace it).
func (c *Core) Config() *config.Config {
	c.cfgMu.RLock()
	defer c.cfgMu.RUnlock()
	return c.cfg
}

// ConfigPath returns the configuration file (which may not exist yet).
func (c *Core) ConfigPath() string { return c.cfgPath }

// BaseURL is the URL clients point at: the bound address once listening, else the configured one.
func (c *Core) BaseURL() string {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	return c.baseURLLocked()
}

func (c *Core) baseURLLocked() string {
	cfg := c.Config()
	port := cfg.Port
	if tcp, ok := c.addr.(*net.TCPAddr); ok && c.serveDone != nil {
		port = tcp.Port
	}
	return "http://" + net.JoinHostPort(cfg.Host, strconv.Itoa(port))
}

// ClientKey returns the key clients use: the first api-keys entry when configured, else the generated key.
func (c *Core) ClientKey() string {
	if k := c.Config().APIKeys; len(k) > 0 {
		return k[0]
	}
	return c.clientKey
}

// Store returns the SQLite store; it is never nil after OpenCore.
func (c *Core) Store() *store.Store { return c.st }

// Keys returns the virtual keys.
func (c *Core) Keys() *spend.Keys { return c.keys }

// KeystoreBackend names the keystore in use: "keychain" or "file".
func (c *Core) KeystoreBackend() string {
	c.ksMu.RLock()
	defer c.ksMu.RUnlock()
	return c.ksBackend
}

// keystore returns the keystore in use.
func (c *Core) keystore() keystore.Store {
	c.ksMu.RLock()
	defer c.ksMu.RUnlock()
	return c.ks
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// KeychainNotice is a sentence for the user when the keystore fell back from the OS keychain to the
// encrypted file store at start ("" when it did not).
func (c *Core) KeychainNotice() string { return c.keychainNotice }
