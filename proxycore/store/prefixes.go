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
	lcp   int // bytes its body has in common at the start with the body added last (-1: not known)
}

// baseSet is the candidate bases, oldest first.
type baseSet struct {
	list []baseBody
	// lastIsNewest: the newest candidate is the body added last, so the candidates' lcp fields are their
	// shared starts with it.
	lastIsNewest bool
}

func (s baseSet) clone() baseSet {
	return baseSet{list: append([]baseBody(nil), s.list...), lastIsNewest: s.lastIsNewest}
}

// add decides how the request body of row id is stored and makes it a candidate for the rows after it.
//
// The longest shared start is found comparing the body with one candidate, the newest, in most cases.
// Each candidate remembers its shared start with the newest (lcp); when that length differs from the
// newest's shared start with the body, the candidate's shared start with the body is the smaller of
// the two without a comparison, and when they are equal only the bytes after them are compared. In a
// coding session every candidate is an earlier turn of the same conversation, so comparing each in full
// would read the body eight times.
func (s *baseSet) add(id int64, body string) storedBody {
	n := -1 // the body's shared start with the newest candidate
	last := len(s.list) - 1
	if s.lastIsNewest && last >= 0 {
		n = commonPrefix(s.list[last].body, body)
	}
	best, bestLen := -1, 0
	for i := range s.list {
		b := &s.list[i]
		l := -1
		switch {
		case b.chain >= maxChain || id-b.id > baseWindow:
			// Never eligible again (its chain is fixed, and rows only get newer): nothing to remember.
		case n >= 0 && i == last:
			l = n + commonPrefix(b.body[n:], body[n:])
		case n >= 0 && b.lcp >= 0 && b.lcp != n:
			l = min(b.lcp, n)
		case n >= 0 && b.lcp == n:
			l = n + commonPrefix(b.body[n:], body[n:])
		default:
			l = commonPrefix(b.body, body)
		}
		b.lcp = l
		if l > bestLen {
			best, bestLen = i, l
		}
	}
	bestLen = runeStartAtOrBefore(body, bestLen)
	out := storedBody{rest: body}
	chain := 0
	if best >= 0 && bestLen >= minShared {
		out = storedBody{base: s.list[best].id, prefix: bestLen, rest: body[bestLen:]}
		chain = s.list[best].chain + 1
	}
	s.lastIsNewest = len(body) >= minShared && len(body) <= maxBaseLen
	if s.lastIsNewest {
		if len(s.list) == maxBases {
			s.list = append(s.list[:0], s.list[1:]...)
		}
		s.list = append(s.list, baseBody{id: id, body: body, chain: chain, lcp: -1})
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
	if len(s.list) == 0 {
		s.lastIsNewest = false
	}
}

// sharedPrefix returns how many bytes a and b have in common at their start, ending on a UTF-8
// boundary so that neither part of a split body is cut inside a character.
func sharedPrefix(a, b string) int {
	return runeStartAtOrBefore(b, commonPrefix(a, b))
}

// commonPrefix returns how many bytes a and b have in common at their start.
func commonPrefix(a, b string) int {
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
	return i
}

// runeStartAtOrBefore moves i back to the start of the UTF-8 character of b it falls in (len(b) stays).
func runeStartAtOrBefore(b string, i int) int {
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
