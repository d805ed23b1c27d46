package spend

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

func openStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.db")
	st, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, path
}

func newKeys(t testing.TB, st KeyStore, c clock.Clock) *Keys {
	t.Helper()
	k, err := NewKeys(context.Background(), st, KeysOptions{Clock: c, PersistInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close(context.Background()) })
	return k
}

func TestKeyLifecycle(t *testing.T) {
	st, _ := openStore(t)
	fc := clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	keys := newKeys(t, st, fc)
	ctx := context.Background()
	exp := fc.Now().Add(24 * time.Hour)
	plain, key, err := keys.Create(ctx, KeyParams{Name: "ci", Models: []string{"claude-*"}, BudgetUSD: 5,
		BudgetPeriod: "Daily", RPM: 10, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, KeyPrefix) || len(plain) != len(KeyPrefix)+64 {
		t.Fatalf("plaintext %q has the wrong shape", plain)
	}
	if key.BudgetPeriod != PeriodDaily || key.Last4 != plain[len(plain)-4:] || !strings.HasPrefix(plain, key.Prefix) {
		t.Fatalf("created key = %+v", key)
	}
	if strings.Contains(key.Masked(), plain[len(key.Prefix):len(plain)-4]) {
		t.Fatal("Masked() shows the secret middle")
	}
	got, err := keys.Authenticate(plain)
	if err != nil || got.ID != key.ID || got.RPM != 10 {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	// The store holds a hash, never the plaintext.
	rows, err := st.ListKeys(ctx)
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	if rows[0].Hash == plain || strings.Contains(rows[0].Hash+rows[0].Prefix+rows[0].Last4+rows[0].Name, plain[10:30]) {
		t.Fatal("the plaintext reached the database")
	}

	wrong := plain[:len(plain)-1] + "x"
	tests := []struct {
		name    string
		key     string
		advance time.Duration
		want    error
	}{
		{"wrong key", wrong, 0, ErrUnknownKey},
		{"not a virtual key", "sk-ant-123", 0, ErrUnknownKey},
		{"empty", "", 0, ErrUnknownKey},
		{"expired", plain, 24 * time.Hour, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc.Advance(tt.advance)
			if _, err := keys.Authenticate(tt.key); !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate = %v, want %v", err, tt.want)
			}
		})
	}
	fc.Set(exp.Add(-time.Hour))

	if err := keys.Revoke(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Authenticate(plain); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Authenticate after Revoke = %v, want ErrRevoked", err)
	}
	if err := keys.Revoke(ctx, "vk_missing"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Revoke(missing) = %v", err)
	}
	// A fresh manager over the same store sees the revocation.
	again := newKeys(t, st, fc)
	if _, err := again.Authenticate(plain); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after reload Authenticate = %v, want ErrRevoked", err)
	}
	if l := again.List(); len(l) != 1 || l[0].Name != "ci" || l[0].RevokedAt == nil || l[0].Models[0] != "claude-*" {
		t.Fatalf("List after reload = %+v", l)
	}
}

func TestCreateValidates(t *testing.T) {
	st, _ := openStore(t)
	keys := newKeys(t, st, nil)
	for name, p := range map[string]KeyParams{
		"bad period":      {BudgetUSD: 1, BudgetPeriod: "hourly"},
		"negative budget": {BudgetUSD: -1},
		"negative rpm":    {RPM: -5},
	} {
		if _, _, err := keys.Create(context.Background(), p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if len(keys.List()) != 0 {
		t.Fatal("a refused key was stored")
	}
}

func TestCheckModelAllowList(t *testing.T) {
	st, _ := openStore(t)
	keys := newKeys(t, st, nil)
	ctx := context.Background()
	_, limited, err := keys.Create(ctx, KeyParams{Models: []string{"claude-*", "gpt-5", "*-flash"}})
	if err != nil {
		t.Fatal(err)
	}
	_, open, err := keys.Create(ctx, KeyParams{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key   Key
		model string
		ok    bool
	}{
		{limited, "claude-sonnet-4-5", true},
		{limited, "Claude-Opus-4-1", true},
		{limited, "gpt-5", true},
		{limited, "gpt-5-mini", false},
		{limited, "gemini-2.0-flash", true},
		{limited, "gemini-2.5-pro", false},
		{open, "anything-at-all", true},
	}
	for _, tt := range tests {
		err := keys.Check(&tt.key, tt.model)
		if tt.ok && err != nil {
			t.Errorf("Check(%q) = %v, want allowed", tt.model, err)
		}
		if !tt.ok {
			var mna *ModelNotAllowedError
			if !errors.Is(err, ErrModelNotAllowed) || !errors.As(err, &mna) || mna.Model != tt.model ||
				!strings.Contains(err.Error(), tt.model) {
				t.Errorf("Check(%q) = %v, want a ModelNotAllowedError naming it", tt.model, err)
			}
		}
	}
	if err := keys.Check(&Key{ID: "vk_gone"}, "x"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Check of an unknown key = %v", err)
	}
}

func TestBudgetPeriodsReset(t *testing.T) {
	// Wednesday 2026-05-13 15:00 UTC.
	start := time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		period      string
		wantReset   time.Time
		stillBefore time.Duration // advancing this much keeps the period
	}{
		{PeriodDaily, time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC), 8*time.Hour + 59*time.Minute},
		{PeriodWeekly, time.Date(2026, 5, 18, 0, 0, 0, 0, time.UTC), 4*24*time.Hour + 8*time.Hour},
		{PeriodMonthly, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 18*24*time.Hour + 8*time.Hour},
		{PeriodTotal, time.Time{}, 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.period, func(t *testing.T) {
			st, _ := openStore(t)
			fc := clock.NewFake(start)
			keys := newKeys(t, st, fc)
			_, key, err := keys.Create(context.Background(), KeyParams{BudgetUSD: 1, BudgetPeriod: tt.period})
			if err != nil {
				t.Fatal(err)
			}
			if err := keys.Charge(key.ID, 1.2); err != nil {
				t.Fatal(err)
			}
			var be *BudgetExceededError
			if err := keys.Check(&key, "m"); !errors.As(err, &be) {
				t.Fatalf("Check over budget = %v, want BudgetExceededError", err)
			}
			if !be.ResetAt.Equal(tt.wantReset) || be.SpentUSD != 1.2 || be.BudgetUSD != 1 {
				t.Fatalf("BudgetExceededError = %+v, want ResetAt %v", be, tt.wantReset)
			}
			fc.Advance(tt.stillBefore)
			if err := keys.Check(&key, "m"); !errors.As(err, &be) {
				t.Fatalf("Check before the reset = %v, want still exceeded", err)
			}
			if tt.wantReset.IsZero() {
				return
			}
			fc.Set(tt.wantReset)
			if err := keys.Check(&key, "m"); err != nil {
				t.Fatalf("Check at the reset = %v, want allowed", err)
			}
			if s, _ := keys.Get(key.ID); s.SpentUSD != 0 || !s.PeriodStart.Equal(tt.wantReset) {
				t.Fatalf("status after reset = %+v", s)
			}
		})
	}
}

func TestChargePersistsAndReloads(t *testing.T) {
	st, _ := openStore(t)
	fc := clock.NewFake(time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC))
	keys := newKeys(t, st, fc)
	ctx := context.Background()
	_, key, err := keys.Create(ctx, KeyParams{BudgetUSD: 10, BudgetPeriod: PeriodDaily})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := keys.Charge(key.ID, 0.5); err != nil {
			t.Fatal(err)
		}
	}
	if err := keys.Charge("vk_missing", 1); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Charge(missing) = %v", err)
	}
	if err := keys.Close(ctx); err != nil {
		t.Fatal(err)
	}
	row, err := st.GetKey(ctx, key.ID)
	if err != nil || math.Abs(row.SpentUSD-2) > 1e-9 {
		t.Fatalf("persisted spend = %+v, %v; want 2", row, err)
	}
	same := newKeys(t, st, fc)
	if s, err := same.Get(key.ID); err != nil || math.Abs(s.SpentUSD-2) > 1e-9 {
		t.Fatalf("reloaded status = %+v, %v", s, err)
	}
	fc.Advance(24 * time.Hour) // next day: a reload starts a fresh period
	next := newKeys(t, st, fc)
	if s, _ := next.Get(key.ID); s.SpentUSD != 0 {
		t.Fatalf("spend after the period rolled = %v, want 0", s.SpentUSD)
	}
}

// failingKeyStore refuses spend updates until fixed, to check that unsaved spend is retried.
type failingKeyStore struct {
	*store.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingKeyStore) UpdateKeySpend(ctx context.Context, s []store.KeySpend) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("disk I/O error")
	}
	return f.Store.UpdateKeySpend(ctx, s)
}

func TestFlushRetriesAfterFailure(t *testing.T) {
	st, _ := openStore(t)
	fs := &failingKeyStore{Store: st, fail: true}
	keys := newKeys(t, fs, nil)
	ctx := context.Background()
	_, key, err := keys.Create(ctx, KeyParams{BudgetUSD: 10})
	if err != nil {
		t.Fatal(err)
	}
	_ = keys.Charge(key.ID, 3)
	if err := keys.Flush(ctx); err == nil {
		t.Fatal("Flush hid a store failure")
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	if err := keys.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if row, _ := st.GetKey(ctx, key.ID); row.SpentUSD != 3 {
		t.Fatalf("spend after retry = %v, want 3", row.SpentUSD)
	}
}

// TestBudgetOvershootBoundedByInFlight runs 200 requests, at most inFlight at a time, each doing
// Check then Charge. The budget may be overshot only by requests that passed Check before the budget
// was reached: at most inFlight x the largest single cost.
func TestBudgetOvershootBoundedByInFlight(t *testing.T) {
	st, _ := openStore(t)
	keys := newKeys(t, st, nil)
	const (
		budget   = 1.0
		maxCost  = 0.05
		inFlight = 8
		requests = 200
	)
	_, key, err := keys.Create(context.Background(), KeyParams{BudgetUSD: budget, BudgetPeriod: PeriodTotal})
	if err != nil {
		t.Fatal(err)
	}
	sem := make(chan struct{}, inFlight)
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		charged         float64
		served, refused int
	)
	for i := range requests {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := keys.Check(&key, "m"); err != nil {
				var be *BudgetExceededError
				if !errors.As(err, &be) {
					t.Errorf("Check = %v", err)
				}
				mu.Lock()
				refused++
				mu.Unlock()
				return
			}
			cost := maxCost * float64(1+i%5) / 5 // 0.01 .. 0.05
			if err := keys.Charge(key.ID, cost); err != nil {
				t.Error(err)
			}
			mu.Lock()
			charged += cost
			served++
			mu.Unlock()
		})
	}
	wg.Wait()
	s, err := keys.Get(key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.SpentUSD-charged) > 1e-9 {
		t.Fatalf("spent %v but charged %v: a charge was lost", s.SpentUSD, charged)
	}
	if s.SpentUSD < budget {
		t.Fatalf("spent %v never reached the budget %v (served %d)", s.SpentUSD, budget, served)
	}
	if over := s.SpentUSD - budget; over > inFlight*maxCost+1e-9 {
		t.Fatalf("overshoot %v exceeds in-flight bound %v", over, inFlight*maxCost)
	}
	if served+refused != requests || refused == 0 {
		t.Fatalf("served %d refused %d", served, refused)
	}
	t.Logf("served %d, refused %d, spent %.3f of %.2f", served, refused, s.SpentUSD, budget)
}

func TestReserveKeepsWithinBudget(t *testing.T) {
	st, _ := openStore(t)
	keys := newKeys(t, st, nil)
	_, key, err := keys.Create(context.Background(), KeyParams{BudgetUSD: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if err := keys.Reserve(key.ID, 0.1); err != nil {
				return
			}
			keys.Release(key.ID, 0.1)
			_ = keys.Charge(key.ID, 0.1) // the estimate was exact
		})
	}
	wg.Wait()
	s, _ := keys.Get(key.ID)
	if s.SpentUSD > 1+1e-9 || s.SpentUSD < 0.9-1e-9 || s.ReservedUSD > 1e-9 {
		t.Fatalf("with exact reservations spent %v (reserved %v), want within the $1 budget", s.SpentUSD, s.ReservedUSD)
	}
	var be *BudgetExceededError
	if err := keys.Reserve(key.ID, 0.2); !errors.As(err, &be) {
		t.Fatalf("Reserve beyond the budget = %v", err)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	st, _ := openStore(b)
	keys := newKeys(b, st, nil)
	ctx := context.Background()
	var plain string
	for i := range 1000 {
		p, _, err := keys.Create(ctx, KeyParams{Name: "k"})
		if err != nil {
			b.Fatal(err)
		}
		if i == 500 {
			plain = p
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := keys.Authenticate(plain); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentAuthenticateCreateRevoke exercises the cache under the race detector: readers see a
// key either valid or revoked, never anything else.
func TestConcurrentAuthenticateCreateRevoke(t *testing.T) {
	st, _ := openStore(t)
	keys := newKeys(t, st, nil)
	ctx := context.Background()
	plain, key, err := keys.Create(ctx, KeyParams{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				if _, err := keys.Authenticate(plain); err != nil && !errors.Is(err, ErrRevoked) {
					t.Errorf("Authenticate = %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, _, err := keys.Create(ctx, KeyParams{}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		if err := keys.Revoke(ctx, key.ID); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if _, err := keys.Authenticate(plain); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after Revoke: %v", err)
	}
	if n := len(keys.List()); n != 21 {
		t.Fatalf("List has %d keys, want 21", n)
	}
}

func TestReloadSeesKeysOfAnotherProcess(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "keys.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	running, err := NewKeys(ctx, st, KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close(ctx)
	cli, err := NewKeys(ctx, st, KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain, key, err := cli.Create(ctx, KeyParams{Name: "from-cli"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := running.Authenticate(plain); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before reload: %v, want unknown", err)
	}
	if n, err := running.Reload(ctx); err != nil || n != 1 {
		t.Fatalf("reload: %d %v", n, err)
	}
	if _, err := running.Authenticate(plain); err != nil {
		t.Fatalf("after reload: %v", err)
	}
	if err := cli.Revoke(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	cli.Close(ctx)
	if n, err := running.Reload(ctx); err != nil || n != 1 {
		t.Fatalf("second reload: %d %v", n, err)
	}
	if _, err := running.Authenticate(plain); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after revocation elsewhere: %v, want revoked", err)
	}
	if n, _ := running.Reload(ctx); n != 0 {
		t.Errorf("a reload with nothing new reports %d changes", n)
	}
}
