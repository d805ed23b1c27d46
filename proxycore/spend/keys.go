package spend

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// Budget periods. A budget resets at 00:00 UTC every day, on Monday 00:00 UTC, on the 1st of the month
// 00:00 UTC, or never.
const (
	PeriodDaily   = "daily"
	PeriodWeekly  = "weekly"
	PeriodMonthly = "monthly"
	PeriodTotal   = "total"
)

// KeyPrefix starts every virtual key, so that people and secret scanners can recognise one.
const KeyPrefix = "sk-cp-"

// Sentinel errors of key authentication and authorisation.
var (
	ErrUnknownKey      = errors.New("unknown API key")
	ErrRevoked         = errors.New("API key has been revoked")
	ErrExpired         = errors.New("API key has expired")
	ErrModelNotAllowed = errors.New("model not allowed for this API key")
)

// ModelNotAllowedError names the model a key may not use. errors.Is(err, ErrModelNotAllowed) holds.
type ModelNotAllowedError struct {
	KeyID string
	Model string
}

// Error says which model was refused.
func (e *ModelNotAllowedError) Error() string {
	return fmt.Sprintf("model %q is not allowed for API key %s", e.Model, e.KeyID)
}

// Is makes the error match ErrModelNotAllowed.
func (e *ModelNotAllowedError) Is(target error) bool { return target == ErrModelNotAllowed }

// BudgetExceededError reports a key whose spend reached its budget; ResetAt is when the period ends
// (zero for a total budget, which never resets).
type BudgetExceededError struct {
	KeyID     string
	Period    string
	BudgetUSD float64
	SpentUSD  float64
	ResetAt   time.Time
}

// Error says how much was spent and when the budget resets.
func (e *BudgetExceededError) Error() string {
	if e.ResetAt.IsZero() {
		return fmt.Sprintf("API key %s reached its budget ($%.2f of $%.2f)", e.KeyID, e.SpentUSD, e.BudgetUSD)
	}
	return fmt.Sprintf("API key %s reached its %s budget ($%.2f of $%.2f); it resets at %s", e.KeyID,
		e.Period, e.SpentUSD, e.BudgetUSD, e.ResetAt.UTC().Format(time.RFC3339))
}

// KeyParams describes a key to create. Zero limits mean "no limit"; an empty Models list allows every
// model; entries may use '*' wildcards ("claude-*").
type KeyParams struct {
	Name         string
	Models       []string
	BudgetUSD    float64
	BudgetPeriod string // daily | weekly | monthly | total (default total when a budget is set)
	RPM          int
	TPM          int
	MaxParallel  int
	ExpiresAt    *time.Time
}

// Key is a virtual key's settings. Keys returned by Authenticate are shared, immutable snapshots:
// callers must not modify them.
type Key struct {
	ID           string
	Name         string
	Prefix       string // first characters of the plaintext, for display
	Last4        string // last four characters of the plaintext, for display
	Models       []string
	BudgetUSD    float64
	BudgetPeriod string
	RPM          int
	TPM          int
	MaxParallel  int
	ExpiresAt    *time.Time
	CreatedAt    time.Time
	RevokedAt    *time.Time
}

// Masked is the display form of the key, e.g. "sk-cp-1a2b...9f0e".
func (k *Key) Masked() string { return k.Prefix + "..." + k.Last4 }

// KeyStatus is a key with its budget state, for lists and dashboards.
type KeyStatus struct {
	Key
	SpentUSD    float64 // charged in the current period
	ReservedUSD float64 // reserved by requests in flight
	PeriodStart time.Time
	ResetAt     time.Time // zero when the budget never resets
}

// KeyStore is the persistence Keys needs; *store.Store satisfies it.
type KeyStore interface {
	InsertKey(ctx context.Context, k store.KeyRow) error
	ListKeys(ctx context.Context) ([]store.KeyRow, error)
	RevokeKey(ctx context.Context, id string, at time.Time) error
	UpdateKeySpend(ctx context.Context, states []store.KeySpend) error
}

var _ KeyStore = (*store.Store)(nil)

// KeysOptions configures Keys. Zero fields take defaults.
type KeysOptions struct {
	Clock  clock.Clock  // default: system clock
	Logger *slog.Logger // default: discard
	// PersistInterval is how often charged spend is written back to the store (default 2s). Spend
	// charged since the last write is lost if the process is killed; the spend log still has it.
	PersistInterval time.Duration
}

// Keys manages virtual keys. Every key lives in memory, so Authenticate and Check cost no disk I/O;
// creation and revocation are written through to the store, charges are persisted in the background.
//
// Budgets and concurrency: Check followed by Charge is not atomic. Every request in flight may pass
// Check before any of them is charged, so a budget can be overshot by at most (requests in flight for
// the key) x (largest single request cost). Reserve closes that gap to the error of the estimate:
// it admits a request only if spent + reserved + estimate stays within the budget.
type Keys struct {
	st     KeyStore
	clock  clock.Clock
	logger *slog.Logger

	mu     sync.RWMutex // guards byHash, byID and every entry's key pointer
	byHash map[[sha256.Size]byte]*keyEntry
	byID   map[string]*keyEntry

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// keyEntry is the cached state of one key.
type keyEntry struct {
	id    string
	key   *Key // immutable; replaced (under Keys.mu) on revoke
	hash  [sha256.Size]byte
	allow [][]string // Models split at '*', lower-cased

	mu          sync.Mutex // guards the budget state below
	periodStart time.Time
	resetAt     time.Time
	spent       float64
	reserved    float64
	dirty       bool // spent/periodStart changed since the last persist
}

// NewKeys loads every key from st and starts the background persister; call Close to stop it.
func NewKeys(ctx context.Context, st KeyStore, opts KeysOptions) (*Keys, error) {
	if st == nil {
		return nil, errors.New("virtual keys: nil store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PersistInterval <= 0 {
		opts.PersistInterval = 2 * time.Second
	}
	k := &Keys{
		st:     st,
		clock:  clock.Or(opts.Clock),
		logger: opts.Logger,
		byHash: make(map[[sha256.Size]byte]*keyEntry),
		byID:   make(map[string]*keyEntry),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	rows, err := st.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading virtual keys: %w", err)
	}
	now := k.clock.Now()
	for _, r := range rows {
		e, err := entryFromRow(r)
		if err != nil {
			return nil, fmt.Errorf("loading virtual key %s: %w", r.ID, err)
		}
		e.roll(e.key.BudgetPeriod, now)
		k.byHash[e.hash] = e
		k.byID[e.key.ID] = e
	}
	go k.persistLoop(opts.PersistInterval)
	return k, nil
}

func entryFromRow(r store.KeyRow) (*keyEntry, error) {
	var h [sha256.Size]byte
	if n, err := hex.Decode(h[:], []byte(r.Hash)); err != nil || n != sha256.Size {
		return nil, fmt.Errorf("bad key hash (%d bytes): %v", n, err)
	}
	key := &Key{ID: r.ID, Name: r.Name, Prefix: r.Prefix, Last4: r.Last4, Models: r.Models,
		BudgetUSD: r.BudgetUSD, BudgetPeriod: r.BudgetPeriod, RPM: r.RPM, TPM: r.TPM,
		MaxParallel: r.MaxParallel, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt}
	e := &keyEntry{id: r.ID, key: key, hash: h, periodStart: r.PeriodStart, spent: r.SpentUSD}
	for _, m := range r.Models {
		e.allow = append(e.allow, strings.Split(strings.ToLower(m), "*"))
	}
	e.resetAt = nextReset(key.BudgetPeriod, e.periodStart)
	return e, nil
}

// Create makes a new key and returns its plaintext, which is shown once and never stored.
func (k *Keys) Create(ctx context.Context, p KeyParams) (string, Key, error) {
	period := strings.ToLower(strings.TrimSpace(p.BudgetPeriod))
	switch period {
	case "":
		period = PeriodTotal
	case PeriodDaily, PeriodWeekly, PeriodMonthly, PeriodTotal:
	default:
		return "", Key{}, fmt.Errorf("creating key: budget period %q is not daily, weekly, monthly or total", p.BudgetPeriod)
	}
	if p.BudgetUSD < 0 || p.RPM < 0 || p.TPM < 0 || p.MaxParallel < 0 {
		return "", Key{}, errors.New("creating key: budget and limits must not be negative")
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Key{}, fmt.Errorf("creating key: %w", err)
	}
	var idb [6]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", Key{}, fmt.Errorf("creating key: %w", err)
	}
	plain := KeyPrefix + hex.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(plain))
	now := k.clock.Now().UTC()
	models := append([]string{}, p.Models...)
	row := store.KeyRow{
		ID: "vk_" + hex.EncodeToString(idb[:]), Name: p.Name, Hash: hex.EncodeToString(sum[:]),
		Prefix: plain[:len(KeyPrefix)+4], Last4: plain[len(plain)-4:], Models: models,
		BudgetUSD: p.BudgetUSD, BudgetPeriod: period, PeriodStart: periodStart(period, now),
		RPM: p.RPM, TPM: p.TPM, MaxParallel: p.MaxParallel, ExpiresAt: p.ExpiresAt, CreatedAt: now,
	}
	if err := k.st.InsertKey(ctx, row); err != nil {
		return "", Key{}, fmt.Errorf("creating key: %w", err)
	}
	e, err := entryFromRow(row)
	if err != nil {
		return "", Key{}, fmt.Errorf("creating key: %w", err)
	}
	k.mu.Lock()
	k.byHash[e.hash] = e
	k.byID[row.ID] = e
	k.mu.Unlock()
	k.logger.Info("virtual key created", "id", row.ID, "name", row.Name, "key", e.key.Masked())
	return plain, *e.key, nil
}

// Authenticate finds the key whose plaintext is given. It reads only memory: the plaintext is hashed,
// the hash looked up, and the stored hash compared in constant time.
func (k *Keys) Authenticate(plaintext string) (*Key, error) {
	if !strings.HasPrefix(plaintext, KeyPrefix) {
		return nil, ErrUnknownKey
	}
	sum := hashKey(plaintext)
	k.mu.RLock()
	e := k.byHash[sum]
	var key *Key
	if e != nil {
		key = e.key
	}
	k.mu.RUnlock()
	if e == nil || subtle.ConstantTimeCompare(e.hash[:], sum[:]) != 1 {
		return nil, ErrUnknownKey
	}
	if key.RevokedAt != nil {
		return nil, ErrRevoked
	}
	if key.ExpiresAt != nil && !k.clock.Now().Before(*key.ExpiresAt) {
		return nil, ErrExpired
	}
	return key, nil
}

// hashKey hashes a key without allocating for keys of the usual length.
func hashKey(s string) [sha256.Size]byte {
	var buf [128]byte
	if len(s) <= len(buf) {
		n := copy(buf[:], s)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(s))
}

// Reload picks up keys created or revoked by another process sharing the store (the `cliproxy keys`
// command while the app runs). Keys this process knows keep their budget state; a key revoked
// elsewhere is refused from now on. It returns how many keys were added or revoked.
func (k *Keys) Reload(ctx context.Context) (int, error) {
	rows, err := k.st.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("reloading virtual keys: %w", err)
	}
	now := k.clock.Now()
	changed := 0
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range rows {
		e, ok := k.byID[r.ID]
		if !ok {
			ne, err := entryFromRow(r)
			if err != nil {
				k.logger.Warn("virtual key skipped on reload", "id", r.ID, "err", err)
				continue
			}
			ne.roll(ne.key.BudgetPeriod, now)
			k.byHash[ne.hash] = ne
			k.byID[r.ID] = ne
			changed++
			continue
		}
		if r.RevokedAt != nil && e.key.RevokedAt == nil {
			revoked := *e.key
			at := *r.RevokedAt
			revoked.RevokedAt = &at
			e.key = &revoked
			changed++
		}
	}
	return changed, nil
}
