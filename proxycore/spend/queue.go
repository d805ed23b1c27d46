package spend

import "sync"

// queue is a bounded FIFO that takes memory only for what it holds. A buffered channel of the same bound
// would allocate the whole bound up front and, since its ring walks every slot, touch all of it under
// steady load (65536 spend records are 14 MiB); this ring grows by doubling while it is full. When it
// empties it keeps its size if the items it held since it last emptied filled more than a quarter of it
// (steady load: a busy proxy's batches would otherwise regrow it from the start for every batch), and
// goes back to its initial size otherwise (a burst is over).
type queue[T any] struct {
	mu      sync.Mutex
	buf     []T // ring; len(buf) is the capacity in use
	head, n int
	peak    int // most items held since the queue last emptied
	bound   int // most items held
	start   int // the ring's first size
}

func newQueue[T any](bound int) *queue[T] {
	return &queue[T]{bound: bound, start: min(bound, 64)}
}

// push appends v and reports the new length, or false when the queue already holds bound items.
func (q *queue[T]) push(v T) (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n >= q.bound {
		return q.n, false
	}
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	q.peak = max(q.peak, q.n)
	return q.n, true
}

func (q *queue[T]) grow() {
	size := max(q.start, min(2*len(q.buf), q.bound))
	nb := make([]T, size)
	for i := 0; i < q.n; i++ {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

// popInto moves up to limit items (all when limit <= 0) to the end of dst and returns it.
func (q *queue[T]) popInto(dst []T, limit int) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := q.n
	if limit > 0 && limit < k {
		k = limit
	}
	var zero T
	for i := 0; i < k; i++ {
		j := (q.head + i) % len(q.buf)
		dst = append(dst, q.buf[j])
		q.buf[j] = zero // let go of what the item references
	}
	q.n -= k
	q.head = (q.head + k) % max(len(q.buf), 1)
	if q.n == 0 {
		q.head = 0
		if len(q.buf) > q.start && q.peak*4 <= len(q.buf) { // a burst grew it: give the memory back
			q.buf = nil
		}
		q.peak = 0
	}
	return dst
}

// len returns the number of queued items.
func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
