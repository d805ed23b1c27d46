package spend

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

// Check reports whether key may call model now: ModelNotAllowedError when the allow-list (with '*'
// wildcards) does not name the model, BudgetExceededError when spent plus reserved has reached the
// budget of the current period. See Keys for how far concurrent requests can overshoot.
func (k *Keys) Check(key *Key, model string) error {
	e, err := k.entry(key.ID)
	if err != nil {
		return err
	}
	if len(e.allow) > 0 && !allowed(e.allow, model) {
		return &ModelNotAllowedError{KeyID: key.ID, Model: model}
	}
	if key.BudgetUSD <= 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roll(key.BudgetPeriod, k.clock.Now())
	if e.spent+e.reserved >= key.BudgetUSD {
		return e.exceeded(key)
	}
	return nil
}

// Reserve sets usd aside for a request about to run, refusing with BudgetExceededError when spent +
// reserved + usd would pass the budget. Pair it with Release(usd) and then Charge(actual).
func (k *Keys) Reserve(keyID string, usd float64) error {
	e, err := k.entry(keyID)
	if err != nil {
		return err
	}
	usd = max(usd, 0)
	k.mu.RLock()
	key := e.key
	k.mu.RUnlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roll(key.BudgetPeriod, k.clock.Now())
	if key.BudgetUSD > 0 && e.spent+e.reserved+usd > key.BudgetUSD {
		return e.exceeded(key)
	}
	e.reserved += usd
	return nil
}

// Release returns a reservation made by Reserve.
func (k *Keys) Release(keyID string, usd float64) {
	e, err := k.entry(keyID)
	if err != nil {
		return
	}
	e.mu.Lock()
	e.reserved = max(e.reserved-max(usd, 0), 0)
	e.mu.Unlock()
}

// Charge adds the actual cost of a finished request to the key's spend. It takes effect in memory at
// once and reaches the store with the next background persist.
func (k *Keys) Charge(keyID string, usd float64) error {
	e, err := k.entry(keyID)
	if err != nil {
		return err
	}
	if usd <= 0 {
		return nil
	}
	k.mu.RLock()
	period := e.key.BudgetPeriod
	k.mu.RUnlock()
	e.mu.Lock()
	e.roll(period, k.clock.Now())
	e.spent += usd
	e.dirty = true
	e.mu.Unlock()
	return nil
}

// Get returns one key with its budget state, or ErrUnknownKey.
func (k *Keys) Get(id string) (KeyStatus, error) {
	e, err := k.entry(id)
	if err != nil {
		return KeyStatus{}, err
	}
	return k.status(e), nil
}

// List returns every key, revoked ones included, oldest first.
func (k *Keys) List() []KeyStatus {
	k.mu.RLock()
	entries := make([]*keyEntry, 0, len(k.byID))
	for _, e := range k.byID {
		entries = append(entries, e)
	}
	k.mu.RUnlock()
	out := make([]KeyStatus, 0, len(entries))
	for _, e := range entries {
		out = append(out, k.status(e))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Revoke disables a key for good; Authenticate answers ErrRevoked from then on.
func (k *Keys) Revoke(ctx context.Context, id string) error {
	e, err := k.entry(id)
	if err != nil {
		return err
	}
	now := k.clock.Now().UTC()
	if err := k.st.RevokeKey(ctx, id, now); err != nil {
		return fmt.Errorf("revoking key %s: %w", id, err)
	}
	k.mu.Lock()
	if e.key.RevokedAt == nil {
		revoked := *e.key
		revoked.RevokedAt = &now
		e.key = &revoked
	}
	k.mu.Unlock()
	k.logger.Info("virtual key revoked", "id", id)
	return nil
}

// Flush writes the spend of every key charged since the last flush.
func (k *Keys) Flush(ctx context.Context) error {
	k.mu.RLock()
	entries := make([]*keyEntry, 0, len(k.byID))
	for _, e := range k.byID {
		entries = append(entries, e)
	}
	k.mu.RUnlock()
	var (
		states []store.KeySpend
		saved  []*keyEntry
	)
	for _, e := range entries {
		e.mu.Lock()
		if e.dirty {
			states = append(states, store.KeySpend{ID: e.id, PeriodStart: e.periodStart, SpentUSD: e.spent})
			saved = append(saved, e)
			e.dirty = false
		}
		e.mu.Unlock()
	}
	if len(states) == 0 {
		return nil
	}
	if err := k.st.UpdateKeySpend(ctx, states); err != nil {
		for _, e := range saved {
			e.mu.Lock()
			e.dirty = true
			e.mu.Unlock()
		}
		return fmt.Errorf("saving virtual key spend: %w", err)
	}
	return nil
}

// Close stops the background persister and writes outstanding spend.
func (k *Keys) Close(ctx context.Context) error {
	k.closeOnce.Do(func() { close(k.stop) })
	select {
	case <-k.done:
	case <-ctx.Done():
		return fmt.Errorf("closing virtual keys: %w", ctx.Err())
	}
	return k.Flush(ctx)
}

func (k *Keys) persistLoop(every time.Duration) {
	defer close(k.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := k.Flush(ctx); err != nil {
				k.logger.Warn("virtual key spend not saved, will retry", "err", err)
			}
			cancel()
		}
	}
}

func (k *Keys) entry(id string) (*keyEntry, error) {
	k.mu.RLock()
	e := k.byID[id]
	k.mu.RUnlock()
	if e == nil {
		return nil, fmt.Errorf("key %s: %w", id, ErrUnknownKey)
	}
	return e, nil
}

func (k *Keys) status(e *keyEntry) KeyStatus {
	k.mu.RLock()
	key := *e.key
	k.mu.RUnlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roll(key.BudgetPeriod, k.clock.Now())
	return KeyStatus{Key: key, SpentUSD: e.spent, ReservedUSD: e.reserved, PeriodStart: e.periodStart,
		ResetAt: e.resetAt}
}

// roll starts a new budget period when now has passed the current one. Callers hold e.mu.
func (e *keyEntry) roll(period string, now time.Time) {
	if period == PeriodTotal || period == "" {
		return
	}
	if !e.periodStart.IsZero() && now.Before(e.resetAt) {
		return
	}
	e.periodStart = periodStart(period, now)
	e.resetAt = nextReset(period, e.periodStart)
	e.spent = 0
	e.dirty = true
}

func (e *keyEntry) exceeded(key *Key) *BudgetExceededError {
	return &BudgetExceededError{KeyID: key.ID, Period: key.BudgetPeriod, BudgetUSD: key.BudgetUSD,
		SpentUSD: e.spent, ResetAt: e.resetAt}
}

// allowed reports whether model matches one allow-list entry (case-insensitive, '*' wildcards).
func allowed(allow [][]string, model string) bool {
	m := strings.ToLower(model)
	for _, parts := range allow {
		if matchParts(parts, m) {
			return true
		}
	}
	return false
}

// periodStart returns the start of the budget period containing t, in UTC.
func periodStart(period string, t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case PeriodDaily:
		return day
	case PeriodWeekly:
		sinceMonday := (int(day.Weekday()) + 6) % 7
		return day.AddDate(0, 0, -sinceMonday)
	case PeriodMonthly:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// nextReset returns when the period that started at start ends; zero for a total budget.
func nextReset(period string, start time.Time) time.Time {
	if start.IsZero() {
		return time.Time{}
	}
	switch period {
	case PeriodDaily:
		return start.AddDate(0, 0, 1)
	case PeriodWeekly:
		return start.AddDate(0, 0, 7)
	case PeriodMonthly:
		return start.AddDate(0, 1, 0)
	}
	return time.Time{}
}
