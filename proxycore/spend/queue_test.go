package spend

import (
	"sync"
	"testing"
)

func TestQueueKeepsOrderThroughGrowthAndWrapAround(t *testing.T) {
	q := newQueue[int](10000)
	next, want := 0, 0
	var got []int
	// Interleave pushes and partial pops so the ring wraps and grows with items in both halves.
	for round := 0; round < 50; round++ {
		for i := 0; i < 7+round; i++ {
			if _, ok := q.push(next); !ok {
				t.Fatalf("push %d refused below the bound", next)
			}
			next++
		}
		got = q.popInto(got[:0], 5)
		for _, v := range got {
			if v != want {
				t.Fatalf("popped %d, want %d", v, want)
			}
			want++
		}
	}
	got = q.popInto(got[:0], 0)
	for _, v := range got {
		if v != want {
			t.Fatalf("popped %d, want %d", v, want)
		}
		want++
	}
	if want != next || q.len() != 0 {
		t.Fatalf("popped %d of %d pushed, %d left", want, next, q.len())
	}
}

func TestQueueBoundAndShrink(t *testing.T) {
	q := newQueue[string](300)
	for i := 0; i < 300; i++ {
		if n, ok := q.push("x"); !ok || n != i+1 {
			t.Fatalf("push %d: n=%d ok=%v", i, n, ok)
		}
	}
	if n, ok := q.push("over"); ok || n != 300 {
		t.Fatalf("push over the bound: n=%d ok=%v, want refused", n, ok)
	}
	if len(q.buf) > 300 {
		t.Fatalf("ring grew to %d past the bound 300", len(q.buf))
	}
	if got := q.popInto(nil, 0); len(got) != 300 {
		t.Fatalf("popped %d, want 300", len(got))
	}
	// It was full: steady load would fill it again, so the ring stays.
	if len(q.buf) != 300 {
		t.Fatalf("a queue emptied after filling its ring kept %d slots, want 300", len(q.buf))
	}
	q.push("a")
	q.push("b")
	if len(q.buf) != 300 {
		t.Fatalf("the kept ring has %d slots, want 300", len(q.buf))
	}
	if got := q.popInto(nil, 0); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("popped %v from the kept ring", got)
	}
	// That round used under a quarter of it: the burst is over and the memory goes back.
	if q.buf != nil {
		t.Fatalf("an emptied queue kept a %d-slot ring from a burst", len(q.buf))
	}
	q.push("again")
	if len(q.buf) != q.start {
		t.Fatalf("after a burst the ring restarts at %d slots, not %d", len(q.buf), q.start)
	}
}

func TestQueueConcurrentPushPop(t *testing.T) {
	q := newQueue[int](1 << 20)
	const producers, each = 4, 5000
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				q.push(p*each + i)
			}
		}()
	}
	seen := make([]bool, producers*each)
	last := make([]int, producers)
	for i := range last {
		last[i] = -1
	}
	count := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var buf []int
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		buf = q.popInto(buf[:0], 100)
		for _, v := range buf {
			p := v / each
			if seen[v] || v%each <= last[p] {
				t.Fatalf("item %d out of order or twice", v)
			}
			seen[v], last[p] = true, v%each
			count++
		}
	}
	count += len(q.popInto(nil, 0))
	if count != producers*each {
		t.Fatalf("popped %d of %d", count, producers*each)
	}
}
