package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/server"
	"github.com/cliproxy/cliproxy/proxycore/spend"
)

// Event is one thing that happened in the Core, for the tray, notifications and the dashboard.
//
// Kinds: "request" (Request set, one per finished client request), "accounts" (added, removed,
// enabled, disabled, or needing a new login), "login" (a login finished, failed or was cancelled),
// "health" (a credential entered or left COOLDOWN or ERROR; Key is the credential id), "budget" (a
// virtual key reached 80% or 100% of its budget; Key is the key id), "fallback" (a fallback model
// answered), "config" (the configuration was reloaded or changed) and "status" (running, paused).
type Event struct {
	Kind    string
	Time    time.Time
	Request *server.Record
	Title   string
	Body    string
	Key     string
}

// subscriberBuffer is how many events a slow subscriber may lag behind before events are dropped for it.
const subscriberBuffer = 256

// eventBus fans events out to subscribers without ever blocking the publisher.
type eventBus struct {
	mu     sync.Mutex // guards subs, next, closed
	subs   map[int]chan Event
	next   int
	closed bool
}

func newEventBus() *eventBus { return &eventBus{subs: map[int]chan Event{}} }

func (b *eventBus) subscribe() (<-chan Event, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan Event, subscriberBuffer)
	if b.closed {
		close(ch)
		return ch, func() {}
	}
	id := b.next
	b.next++
	b.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if c, ok := b.subs[id]; ok {
				delete(b.subs, id)
				close(c)
			}
		})
	}
}

func (b *eventBus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.subs {
		select {
		case ch <- e:
		default: // a slow subscriber misses events rather than stalling requests
		}
	}
}

func (b *eventBus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for id, ch := range b.subs {
		delete(b.subs, id)
		close(ch)
	}
}

// Subscribe returns a channel of events and a function that ends the subscription (and closes the
// channel). Delivery never blocks the Core: a subscriber that falls more than a few hundred events
// behind misses events. The channel is closed when the Core closes.
func (c *Core) Subscribe() (<-chan Event, func()) { return c.bus.subscribe() }

func (c *Core) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = c.clk.Now()
	}
	c.bus.publish(e)
}

// recorder receives the server's request records: request, fallback and budget events.
type recorder struct{ c *Core }

// Record implements server.Recorder; it only does in-memory work.
func (r recorder) Record(rec *server.Record) {
	c := r.c
	// Touch first: a subscriber woken by the request event reads the account's last use.
	if rec.CredentialID != "" {
		c.used.touch(rec.CredentialID, rec.Time)
	}
	c.emit(Event{Kind: "request", Time: rec.Time, Request: rec})
	if rec.Fallback != "" {
		c.emit(Event{Kind: "fallback", Title: "Fallback model answered",
			Body: fmt.Sprintf("%s failed on every account; %s answered instead.", rec.Model, rec.Fallback)})
	}
	if rec.KeyID != "" && c.keys != nil {
		if st, err := c.keys.Get(rec.KeyID); err == nil {
			c.budget.check(c, st)
		}
	}
}

// budgetWatch remembers which budget thresholds of which key were already announced in the current
// period, so every threshold is announced once per period.
type budgetWatch struct {
	mu   sync.Mutex // guards seen
	seen map[string]budgetMark
}

type budgetMark struct {
	period time.Time
	level  int // 80 or 100
}

func (w *budgetWatch) check(c *Core, st spend.KeyStatus) {
	if st.BudgetUSD <= 0 {
		return
	}
	level := 0
	switch used := st.SpentUSD / st.BudgetUSD; {
	case used >= 1:
		level = 100
	case used >= 0.8:
		level = 80
	default:
		return
	}
	w.mu.Lock()
	if w.seen == nil {
		w.seen = map[string]budgetMark{}
	}
	m := w.seen[st.ID]
	if m.period.Equal(st.PeriodStart) && m.level >= level {
		w.mu.Unlock()
		return
	}
	w.seen[st.ID] = budgetMark{period: st.PeriodStart, level: level}
	w.mu.Unlock()
	name := st.Name
	if name == "" {
		name = st.ID
	}
	title := fmt.Sprintf("Key %q used 80%% of its budget", name)
	if level == 100 {
		title = fmt.Sprintf("Key %q reached its budget", name)
	}
	body := fmt.Sprintf("$%.2f of $%.2f (%s).", st.SpentUSD, st.BudgetUSD, st.BudgetPeriod)
	if !st.ResetAt.IsZero() {
		body += " It resets at " + st.ResetAt.UTC().Format(time.RFC3339) + "."
	}
	c.emit(Event{Kind: "budget", Title: title, Body: body, Key: st.ID})
}

// usageWatch remembers when each credential last served a request; the minute sampler writes the
// accounts' times to the store in one go instead of one write per request.
type usageWatch struct {
	mu      sync.Mutex // guards last and pending
	last    map[string]time.Time
	pending map[string]time.Time
}

func (u *usageWatch) touch(id string, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		u.last, u.pending = map[string]time.Time{}, map[string]time.Time{}
	}
	if at.After(u.last[id]) {
		u.last[id], u.pending[id] = at, at
	}
}

// lastUsed returns when id last served a request in this process (zero when it did not).
func (u *usageWatch) lastUsed(id string) time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last[id]
}

// drain returns and forgets the times not yet written.
func (u *usageWatch) drain() map[string]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.pending
	u.pending = map[string]time.Time{}
	return out
}

// healthWatch remembers each credential's last seen state to turn changes into events.
type healthWatch struct {
	mu    sync.Mutex // guards state
	state map[string]string
}

// checkHealth compares the router's snapshot with the last one and emits an event for every
// credential that entered or left COOLDOWN or ERROR.
func (c *Core) checkHealth() {
	snap := c.srv.Router().Snapshot()
	c.health.mu.Lock()
	if c.health.state == nil {
		c.health.state = map[string]string{}
	}
	var events []Event
	for _, h := range snap {
		now := h.State.String()
		prev, ok := c.health.state[h.CredentialID]
		c.health.state[h.CredentialID] = now
		if !ok {
			prev = "HEALTHY"
		}
		if now == prev {
			continue
		}
		bad := func(s string) bool { return s == "COOLDOWN" || s == "ERROR" }
		if !bad(now) && !bad(prev) {
			continue
		}
		e := Event{Kind: "health", Key: h.CredentialID}
		switch now {
		case "COOLDOWN":
			e.Title = h.CredentialID + " is cooling down"
			if !h.CooldownUntil.IsZero() {
				e.Body = "The upstream asked to wait; it is skipped until " + h.CooldownUntil.UTC().Format(time.RFC3339) + "."
			}
		case "ERROR":
			e.Title = h.CredentialID + " is failing"
			e.Body = h.Message
			if e.Body == "" {
				e.Body = h.LastError
			}
		default:
			e.Title = h.CredentialID + " is " + now + " again"
		}
		events = append(events, e)
	}
	c.health.mu.Unlock()
	for _, e := range events {
		c.emit(e)
	}
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
