package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Request bodies that share their start with a recent one. A coding tool resends the conversation so
// far, its system prompt and its tool list with every turn, so consecutive requests of a session share
// most of their bytes, and different sessions of one tool still share the system prompt and tools. The
// request log keeps a few recent bodies in memory (a baseSet); a new body is compared with each, and if
// the longest shared start is long enough, the row stores only the base row's id, the length of the
// shared start and the rest. Reading follows the chain back. Chains are at most maxChain long, bases
// are at most baseWindow rows older than the rows naming them, and pruning stores whole any kept row
// whose base it deletes, so every stored body can always be read back.
const (
	maxBases   = 8       // bodies kept as candidates
	maxChain   = 16      // a body stored as a continuation of at most this many others
	baseWindow = 5000    // rows a base may be behind a row that names it
	minShared  = 256     // bytes a shared start must have to be worth a reference
	maxBaseLen = 1 << 20 // a longer body is not kept as a candidate (max-body-kb = 0 logs bodies whole)
)

// storedBody is a request body as stored: the base row, the bytes of its body that come first, and the
// rest (base 0: rest is the whole body).
type storedBody struct {
	base   int64
	prefix int
	rest   string
}

// baseBody is a candidate base: a row and its whole request body.
type baseBody struct {
	id    int64
	body  string
	chain int // rows its stored body goes back through
}

// baseSet is the candidate bases, oldest first.
type baseSet struct{ list []baseBody }

func (s baseSet) clone() baseSet { return baseSet{list: append([]baseBody(nil), s.list...)} }

// add decides how the request body of row id is stored and makes it a candidate for the rows after it.
func (s *baseSet) add(id int64, body string) storedBody {
	best, bestLen := -1, 0
	for i := range s.list {
		b := &s.list[i]
		if b.chain >= maxChain || id-b.id > baseWindow {
			continue
		}
		if n := sharedPrefix(b.body, body); n > bestLen {
			best, bestLen = i, n
		}
	}
	out := storedBody{rest: body}
	chain := 0
	if best >= 0 && bestLen >= minShared {
		out = storedBody{base: s.list[best].id, prefix: bestLen, rest: body[bestLen:]}
		chain = s.list[best].chain + 1
	}
	if len(body) >= minShared && len(body) <= maxBaseLen {
		if len(s.list) == maxBases {
			s.list = append(s.list[:0], s.list[1:]...)
		}
		s.list = append(s.list, baseBody{id: id, body: body, chain: chain})
	}
	return out
}

// dropBefore forgets the candidates with ids below first (deleted by pruning).
func (s *baseSet) dropBefore(first int64) {
	kept := s.list[:0]
	for _, b := range s.list {
		if b.id >= first {
			kept = append(kept, b)
		}
	}
	s.list = kept
}

// sharedPrefix returns how many bytes a and b have in common at their start, ending on a UTF-8
// boundary so that neither part of a split body is cut inside a character.
func sharedPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	// Whole blocks first: each == is one vectorised compare, so a long shared start costs a few calls.
	for _, block := range [...]int{1024, 64, 8} {
		for i+block <= n && a[i:i+block] == b[i:i+block] {
			i += block
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	for i > 0 && i < len(b) && b[i]&0xC0 == 0x80 {
		i--
	}
	return i
}

// querier is what reading bodies needs of a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// bodyReader rebuilds stored request bodies, remembering those it read.
type bodyReader struct {
	q     querier
	known map[int64]string
}

// full returns the whole body b stands for.
func (r *bodyReader) full(ctx context.Context, b storedBody, depth int) (string, error) {
	if b.base == 0 {
		return b.rest, nil
	}
	base, ok := r.known[b.base]
	if !ok {
		if depth > maxChain+1 {
			return "", fmt.Errorf("request body of entry %d: the chain of shared starts is too long", b.base)
		}
		var sb storedBody
		err := r.q.QueryRowContext(ctx, `SELECT request_base, request_prefix, request_body FROM request_log
			WHERE id = ?`, b.base).Scan(&sb.base, &sb.prefix, &sb.rest)
		if err == sql.ErrNoRows {
			return "[the start of this body is no longer stored] " + b.rest, nil
		}
		if err != nil {
			return "", err
		}
		if base, err = r.full(ctx, sb, depth+1); err != nil {
			return "", err
		}
		r.known[b.base] = base
	}
	if b.prefix > len(base) {
		return "[the start of this body is no longer stored] " + b.rest, nil
	}
	return base[:b.prefix] + b.rest, nil
}
