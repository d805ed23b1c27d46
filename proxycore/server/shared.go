package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// Instances that point [redis] url at the same server share three things: rate-limit counters
// ([rate-limits] backend = "redis", limit.Redis), the response cache (cache.Redis) and cooldowns (this
// file). When one instance learns that a credential must cool down (a 429 with a reset time, a quota
// window), it publishes the cooldown, and the others apply it, so they stop sending that credential
// requests the upstream would refuse. Credential ids match across instances that share a
// configuration (openai-1, ...) and the same accounts.

// cooldownChannel is the Redis pub/sub channel cooldowns travel on.
const cooldownChannel = "cliproxy:cooldowns"

// cooldownMsg is one published cooldown.
type cooldownMsg struct {
	Instance   string `json:"instance"`        // the publisher, which ignores its own messages
	Credential string `json:"credential"`      // credential id
	Model      string `json:"model,omitempty"` // upstream model; "" for the whole credential
	UntilMS    int64  `json:"until_ms"`        // Unix milliseconds
}

// cooldownShare queues this instance's cooldowns for publishing; Run's sharing loop sends them.
type cooldownShare struct {
	instance string
	out      chan cooldownMsg
}

func newCooldownShare() *cooldownShare {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &cooldownShare{instance: hex.EncodeToString(id[:]), out: make(chan cooldownMsg, 256)}
}

// offer queues a cooldown for publishing without blocking (the router calls it on the request path); a
// full queue drops it, and Redis being slow costs the other instances a few refused requests at most.
func (c *cooldownShare) offer(credentialID, model string, until time.Time) {
	select {
	case c.out <- cooldownMsg{Instance: c.instance, Credential: credentialID, Model: model, UntilMS: until.UnixMilli()}:
	default:
	}
}

// redisClient returns the Redis client of the current configuration, or nil.
func (s *Server) redisClient() *redis.Client {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	return s.gs.redis
}

// shareCooldowns publishes this instance's cooldowns and applies the other instances' until ctx ends.
// It follows the configuration: with no [redis] url it waits, and when the url changes it subscribes
// anew.
func (s *Server) shareCooldowns(ctx context.Context) {
	check := time.NewTicker(time.Second)
	defer check.Stop()
	failing := false // warned about a failed subscription, until one succeeds
	for ctx.Err() == nil {
		rdb := s.redisClient()
		if rdb == nil {
			s.dropOffered() // nothing to share them with
			select {
			case <-ctx.Done():
				return
			case <-check.C:
			}
			continue
		}
		s.shareWith(ctx, rdb, check.C, &failing)
	}
}

// shareWith runs the sharing on rdb until ctx ends, the subscription fails or the configuration names
// another Redis (checked at every tick).
func (s *Server) shareWith(ctx context.Context, rdb *redis.Client, tick <-chan time.Time, failing *bool) {
	sub := rdb.Subscribe(ctx, cooldownChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		if ctx.Err() == nil {
			if !*failing {
				s.log.Warn("sharing cooldowns through Redis: subscribing failed; retrying every second", "err", redactURL(err.Error()))
				*failing = true
			}
			s.dropOffered()
			select {
			case <-ctx.Done():
			case <-tick:
			}
		}
		return
	}
	if *failing {
		s.log.Info("sharing cooldowns through Redis again")
		*failing = false
	}
	in := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if s.redisClient() != rdb {
				return
			}
		case m := <-s.share.out:
			b, _ := json.Marshal(m)
			if err := rdb.Publish(ctx, cooldownChannel, b).Err(); err != nil && ctx.Err() == nil {
				s.log.Warn("sharing cooldowns through Redis: publishing failed", "credential", m.Credential, "err", redactURL(err.Error()))
			}
		case msg, ok := <-in:
			if !ok {
				return
			}
			s.applySharedCooldown(msg.Payload)
		}
	}
}

// applySharedCooldown applies another instance's cooldown; its own, malformed or expired ones are
// ignored.
func (s *Server) applySharedCooldown(payload string) {
	var m cooldownMsg
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.Credential == "" || m.Instance == s.share.instance {
		return
	}
	until := time.UnixMilli(m.UntilMS)
	if !until.After(s.clock.Now()) {
		return
	}
	s.router.SetCooldown(m.Credential, m.Model, until)
}

// dropOffered empties the publishing queue.
func (s *Server) dropOffered() {
	for {
		select {
		case <-s.share.out:
		default:
			return
		}
	}
}
