package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

func TestSharedPrefixEndsOnARuneBoundary(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"abcdef", "abcxyz", 3}, {"", "abc", 0}, {"abc", "abc", 3}, {"abc", "abcd", 3},
		{"0123456789abcdefXYZ", "0123456789abcdefXYz", 18},
		{"prix: 10€", "prix: 10£", 8}, // € and £ share their first byte: the split stays before it
	} {
		if got := sharedPrefix(tc.a, tc.b); got != tc.want {
			t.Errorf("sharedPrefix(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// conversation returns the request bodies of a chat session that grows by a turn each request, as
// coding tools send them: a long system prompt, then every turn so far.
func conversation(r *rand.Rand, name string, turns int) []string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"model":"claude-sonnet-4-5","system":"You are %s. %s","messages":[`, name, strings.Repeat("Follow the repository's conventions. ", 20))
	out := make([]string, 0, turns)
	for i := range turns {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"role":"user","content":"turn %d: %s é→%d"}`, i, strings.Repeat("x", r.IntN(400)), r.IntN(1000))
		out = append(out, sb.String()+"]}")
	}
	return out
}

// TestRequestBodiesRoundTripWithSharedStarts interleaves three sessions (and a body unlike any other)
// in batches, and reads every body back whole; most of them are stored as continuations.
func TestRequestBodiesRoundTripWithSharedStarts(t *testing.T) {
	l := openLogTest(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	sessions := [][]string{conversation(r, "alpha", 40), conversation(r, "beta", 40), conversation(r, "gamma", 40)}
	var want []string
	var batch []RequestLogRow
	for turn := range 40 {
		for s := range sessions {
			body := sessions[s][turn]
			if turn == 17 && s == 1 {
				body = strings.Repeat("unrelated ", 60)
			}
			want = append(want, body)
			batch = append(batch, RequestLogRow{Time: time.Now(), RequestID: fmt.Sprint("r", len(want)), RequestBody: body, ResponseBody: "ok"})
			if len(batch) == 7 {
				if err := l.InsertRequestLog(ctx, batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := l.InsertRequestLog(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := l.RecentRequestLog(ctx, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i, row := range got {
		if w := want[len(want)-1-i]; row.RequestBody != w {
			t.Fatalf("row %s: body\n%q\nwant\n%q", row.RequestID, row.RequestBody, w)
		}
	}
	// Paged reads rebuild bodies whose bases are on other pages.
	page, err := l.RecentRequestLog(ctx, 3, got[10].ID)
	if err != nil || len(page) != 3 || page[0].RequestBody != want[len(want)-12] {
		t.Fatalf("a middle page: %v", err)
	}
	var stored, whole int
	if err := l.db.QueryRowContext(ctx, `SELECT sum(length(request_body)) FROM request_log`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		whole += len(w)
	}
	if stored*5 > whole {
		t.Errorf("stored %d bytes of request bodies for %d: the shared starts were not used", stored, whole)
	}
	var longest int
	if err := l.db.QueryRowContext(ctx, `WITH RECURSIVE chain(id, n) AS (
		SELECT id, 0 FROM request_log WHERE request_base = 0
		UNION ALL SELECT r.id, c.n + 1 FROM request_log r JOIN chain c ON r.request_base = c.id)
		SELECT max(n) FROM chain`).Scan(&longest); err != nil {
		t.Fatal(err)
	}
	if longest > maxChain {
		t.Errorf("a body is stored %d continuations deep, more than %d", longest, maxChain)
	}
}

// TestPruneKeepsContinuationsReadable prunes the start of a session whose later requests continue the
// deleted ones: the kept rows are stored whole first, and read back unchanged.
func TestPruneKeepsContinuationsReadable(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	l := openLogTest(t, WithClock(fc))
	ctx := context.Background()
	bodies := conversation(rand.New(rand.NewPCG(3, 4)), "delta", 12)
	var rows []RequestLogRow
	for i, b := range bodies {
		age := time.Duration(12-i) * 24 * time.Hour // 12 days old down to 1
		rows = append(rows, RequestLogRow{Time: fc.Now().Add(-age), RequestID: fmt.Sprint("d", i), RequestBody: b})
	}
	if err := l.InsertRequestLog(ctx, rows); err != nil {
		t.Fatal(err)
	}
	n, err := l.PruneRequestLog(ctx, 7)
	if err != nil || n != 5 {
		t.Fatalf("PruneRequestLog = %d, %v; want the 5 older than 7 days", n, err)
	}
	got, err := l.RecentRequestLog(ctx, 100, 0)
	if err != nil || len(got) != 7 {
		t.Fatalf("%d rows kept, %v", len(got), err)
	}
	for i, row := range got {
		if w := bodies[len(bodies)-1-i]; row.RequestBody != w {
			t.Fatalf("row %s after pruning: body %q, want %q", row.RequestID, row.RequestBody, w)
		}
	}
	// New rows after the prune continue the kept ones, not the deleted.
	next := bodies[len(bodies)-1] + " and one more"
	if err := l.InsertRequestLog(ctx, []RequestLogRow{{Time: fc.Now(), RequestID: "after", RequestBody: next}}); err != nil {
		t.Fatal(err)
	}
	if got, err := l.RecentRequestLog(ctx, 1, 0); err != nil || got[0].RequestBody != next {
		t.Fatalf("row after the prune: %v", err)
	}
}

// TestReopenedLogStartsWithoutBases: a reopened log has no candidates in memory, so its first rows are
// stored whole, and the rows before still read back.
func TestReopenedLogStartsWithoutBases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x-requests.db")
	ctx := context.Background()
	bodies := conversation(rand.New(rand.NewPCG(5, 6)), "epsilon", 4)
	l, err := OpenRequestLog(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies[:2] {
		if err := l.InsertRequestLog(ctx, []RequestLogRow{{Time: time.Now(), RequestBody: b}}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	l, err = OpenRequestLog(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, b := range bodies[2:] {
		if err := l.InsertRequestLog(ctx, []RequestLogRow{{Time: time.Now(), RequestBody: b}}); err != nil {
			t.Fatal(err)
		}
	}
	var base int64
	if err := l.db.QueryRowContext(ctx, `SELECT request_base FROM request_log WHERE id = 3`).Scan(&base); err != nil || base != 0 {
		t.Errorf("first row after reopening stored as a continuation of %d (%v)", base, err)
	}
	got, err := l.RecentRequestLog(ctx, 10, 0)
	if err != nil || len(got) != 4 {
		t.Fatal(err)
	}
	for i, row := range got {
		if row.RequestBody != bodies[3-i] {
			t.Fatalf("row %d: %q", row.ID, row.RequestBody)
		}
	}
}

func TestFindRequestLog(t *testing.T) {
	l := openLogTest(t)
	ctx := context.Background()
	bodies := conversation(rand.New(rand.NewPCG(7, 8)), "zeta", 30)
	var rows []RequestLogRow
	for i, b := range bodies {
		rows = append(rows, RequestLogRow{Time: time.Now(), RequestID: fmt.Sprint("z", i), RequestBody: b, ResponseBody: fmt.Sprint("answer ", i)})
	}
	if err := l.InsertRequestLog(ctx, rows); err != nil {
		t.Fatal(err)
	}
	got, ok, err := l.FindRequestLog(ctx, "z25", 100)
	if err != nil || !ok || got.RequestBody != bodies[25] || got.ResponseBody != "answer 25" {
		t.Fatalf("FindRequestLog(z25) = %v, %v, %v", got.RequestID, ok, err)
	}
	if _, ok, err := l.FindRequestLog(ctx, "z2", 10); err != nil || ok {
		t.Fatalf("an entry further back than within was found (%v, %v)", ok, err)
	}
	if _, ok, err := l.FindRequestLog(ctx, "nope", 100); err != nil || ok {
		t.Fatalf("an unknown request was found (%v, %v)", ok, err)
	}
}

// TestBaseSetFindsTheLongestSharedStart feeds the candidate set bodies from interleaved conversations,
// repeats, edits and unrelated text, and checks each choice against comparing the body with every
// eligible candidate in full: the stored prefix is the longest shared start there is (when long enough),
// and the base chosen has it.
func TestBaseSetFindsTheLongestSharedStart(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	sessions := [][]string{conversation(r, "alpha", 60), conversation(r, "beta", 60), conversation(r, "alpha", 60)}
	var bases baseSet
	next := [3]int{}
	for id := int64(1); id <= 2000; id++ {
		var body string
		switch k := r.IntN(10); {
		case k < 6: // the next turn of a session, or its current one again
			si := r.IntN(len(sessions))
			body = sessions[si][next[si]%len(sessions[si])]
			if r.IntN(4) > 0 {
				next[si]++
			}
		case k < 8: // an earlier turn edited somewhere
			s := sessions[r.IntN(len(sessions))]
			b := []byte(s[r.IntN(len(s))])
			b[r.IntN(len(b))] = "xé"[r.IntN(2)]
			body = string(b)
		case k < 9: // too short to be a base
			body = strings.Repeat("s", r.IntN(minShared))
		default: // unrelated
			body = fmt.Sprint(id, strings.Repeat(" unrelated", 40+r.IntN(40)))
		}
		before := bases.clone()
		got := bases.add(id, body)

		want, wantBase := 0, int64(0)
		for _, c := range before.list {
			if c.chain >= maxChain || id-c.id > baseWindow {
				continue
			}
			if n := sharedPrefix(c.body, body); n > want {
				want, wantBase = n, c.id
			}
		}
		if want < minShared {
			want, wantBase = 0, 0
		}
		if got.prefix != want || got.rest != body[got.prefix:] || (want == 0) != (got.base == 0) {
			t.Fatalf("row %d: stored as base %d, prefix %d; the longest shared start is %d bytes (base %d)", id, got.base, got.prefix, want, wantBase)
		}
		if got.base != 0 {
			var base *baseBody
			for i := range before.list {
				if before.list[i].id == got.base {
					base = &before.list[i]
				}
			}
			if base == nil || base.chain >= maxChain || id-base.id > baseWindow || base.body[:got.prefix] != body[:got.prefix] {
				t.Fatalf("row %d: base %d is not an eligible candidate sharing %d bytes", id, got.base, got.prefix)
			}
		}
	}
}

// BenchmarkBaseSetAdd stores the turns of one long coding session (bodies of 64-130 KB, each the one
// before plus a turn), the case where every candidate shares most of the body.
func BenchmarkBaseSetAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	turn := func(i int) string {
		return fmt.Sprintf(`,{"role":"user","content":"turn %d: %s"}`, i, strings.Repeat("y", 200+r.IntN(800)))
	}
	body := `{"model":"claude-sonnet-4-5","messages":[` + strings.Repeat("Follow the repository's conventions. ", 1700)
	bodies := make([]string, 128)
	for i := range bodies {
		body += turn(i)
		bodies[i] = body + "]}"
	}
	var s baseSet
	b.SetBytes(int64(len(bodies[len(bodies)/2])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%len(bodies) == 0 {
			s = baseSet{}
		}
		s.add(int64(i+1), bodies[i%len(bodies)])
		i++
	}
}
