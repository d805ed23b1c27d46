package desktop

import (
	"strings"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/app"
	"github.com/cliproxy/cliproxy/proxycore/route"
	"github.com/cliproxy/cliproxy/ui"
)

// coalescer merges change events: kinds pile up and are released at most once per interval, so a burst of
// 100 requests a second costs the UI a few refreshes a second. It is driven by the caller's clock.
type coalescer struct {
	interval time.Duration
	mu       sync.Mutex // guards the fields below
	pending  map[ui.EventKind]bool
	order    []ui.EventKind // pending kinds in arrival order, so the output is deterministic
	last     time.Time      // when the last batch was released
}

func newCoalescer(interval time.Duration) *coalescer {
	return &coalescer{interval: interval, pending: map[ui.EventKind]bool{}}
}

// add marks kind as changed.
func (c *coalescer) add(kind ui.EventKind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pending[kind] {
		c.pending[kind] = true
		c.order = append(c.order, kind)
	}
}

// take returns the pending kinds when at least interval passed since the last release, else nothing.
func (c *coalescer) take(now time.Time) []ui.EventKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) == 0 || (!c.last.IsZero() && now.Sub(c.last) < c.interval) {
		return nil
	}
	out := c.order
	c.order = nil
	clear(c.pending)
	c.last = now
	return out
}

// notifier deduplicates notifications: one key is shown at most once per period.
type notifier struct {
	every time.Duration
	mu    sync.Mutex // guards last
	last  map[string]time.Time
}

func newNotifier(every time.Duration) *notifier {
	return &notifier{every: every, last: map[string]time.Time{}}
}

// allow reports whether a notification with key may be shown at now, and records it if so.
func (n *notifier) allow(key string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if t, ok := n.last[key]; ok && now.Sub(t) < n.every {
		return false
	}
	if len(n.last) >= 1024 {
		for k, t := range n.last {
			if now.Sub(t) >= n.every {
				delete(n.last, k)
			}
		}
	}
	n.last[key] = now
	return true
}

// uiKindFor maps a core event kind to the view part it changes. Unknown kinds refresh the status line,
// which is cheap and never wrong.
func uiKindFor(kind string) ui.EventKind {
	switch ui.EventKind(kind) {
	case ui.EventStatus, ui.EventAccounts, ui.EventHealth, ui.EventSpend, ui.EventKeys, ui.EventLogs,
		ui.EventSettings:
		return ui.EventKind(kind)
	}
	switch kind {
	case "account", "login":
		return ui.EventAccounts
	case "key":
		return ui.EventKeys
	case "config", "reload":
		return ui.EventSettings
	}
	return ui.EventStatus
}

// loop follows the core's events until Quit: requests feed the traffic ring, other events mark view parts
// as changed, and on every tick the changed parts are released as one batch.
func (d *Desktop) loop(sub <-chan app.Event, tick <-chan time.Time) {
	for {
		select {
		case <-d.ctx.Done():
			return
		case ev, ok := <-sub:
			if !ok {
				sub = nil // the core stopped publishing; keep serving ticks until Quit
				continue
			}
			d.guard(func() { d.handle(ev) })
		case <-tick:
			d.guard(d.flush)
		}
	}
}

// guard runs f and logs a panic instead of ending the event loop.
func (d *Desktop) guard(f func()) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("desktop: event handling panicked", "panic", r)
		}
	}()
	f()
}

// handle folds one core event into the view state. Of the core's titled events only those worth a
// notification become one: a credential entering ERROR, a budget at 80% or 100% and a fallback model
// answering. Login results are announced by waitLogin for the flows started here.
func (d *Desktop) handle(ev app.Event) {
	if r := ev.Request; r != nil {
		at := r.Time
		if at.IsZero() {
			at = d.clock.Now()
		}
		n := d.names()
		d.traffic.add(at, r.Latency.Milliseconds(), requestFromRecord(r, n.keyName, n.accountName))
		for _, k := range []ui.EventKind{ui.EventStatus, ui.EventHealth, ui.EventLogs, ui.EventSpend} {
			d.merge.add(k)
		}
		return
	}
	switch ev.Kind {
	case "budget":
		d.notify(ev.Title, ev.Body, "budget:"+ev.Key+":"+ev.Title)
		d.merge.add(ui.EventKeys)
	case "fallback":
		d.notify(ev.Title, ev.Body, "fallback:"+ev.Body)
		d.merge.add(ui.EventHealth)
	case "health":
		if d.inError(ev.Key) {
			body := ev.Body
			if body == "" {
				body = "Its requests are failing; the proxy routes around it. See the Accounts tab."
			}
			d.notify("Credential in error: "+d.accountLabel(ev.Key), body, "error:"+ev.Key)
		}
		d.merge.add(ui.EventHealth)
		d.merge.add(ui.EventAccounts)
	case "accounts":
		d.forgetNames()
		if strings.HasPrefix(ev.Title, "Log in to ") {
			// A refresh that keeps failing: the account is in ERROR until the user logs in again.
			d.notify(ev.Title, ev.Body, "relogin:"+ev.Title)
		}
		d.merge.add(ui.EventAccounts)
	default:
		if k := uiKindFor(ev.Kind); k == ui.EventKeys || k == ui.EventAccounts {
			d.forgetNames()
		}
		d.merge.add(uiKindFor(ev.Kind))
	}
}

// inError reports whether the router has the credential in ERROR now.
func (d *Desktop) inError(id string) bool {
	for _, h := range d.health() {
		if h.CredentialID == id {
			return h.State == route.Error
		}
	}
	return false
}

// accountLabel names a credential by its account label, or its id.
func (d *Desktop) accountLabel(id string) string {
	return d.names().accountName(id)
}

// flush releases the changed parts, at most once per interval. Spend answers are not invalidated here:
// they stay cached for their TTL, so heavy traffic costs no extra queries.
func (d *Desktop) flush() {
	kinds := d.merge.take(d.clock.Now())
	if len(kinds) == 0 {
		return
	}
	for _, k := range kinds {
		d.send(ui.Event{Kind: k})
	}
}

// notify sends a notification event unless one with the same key went out within the dedupe period.
func (d *Desktop) notify(title, body, key string) {
	if !d.notes.allow(key, d.clock.Now()) {
		return
	}
	d.send(ui.Event{Kind: ui.EventNotification, Title: title, Body: body, Key: key})
}

// send delivers an event to the UI without blocking: when the UI is behind, the event is dropped (change
// events are hints and the next batch refreshes the same parts).
func (d *Desktop) send(ev ui.Event) {
	d.sendMu.RLock()
	defer d.sendMu.RUnlock()
	if d.closed {
		return
	}
	select {
	case d.events <- ev:
	default:
		d.log.Debug("desktop: UI is behind; dropped an event", "kind", ev.Kind)
	}
}
