// Package spend prices requests, enforces virtual-key budgets and writes spend records to storage
// asynchronously, so that recording a request never adds disk latency to the request path.
package spend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

// Record is one finished request as handed to the Writer. It is the store's row type, so batches go to
// SQLite without copying.
type Record = store.SpendRow

// Sink persists batches of records. *store.Store satisfies it (its WriteSpend inserts the batch and
// updates the daily rollups in one transaction). WriteSpend must not keep recs after it returns: the
// writer reuses the slice. An error means nothing was written; the batch is retried whole.
type Sink interface {
	WriteSpend(ctx context.Context, recs []Record) error
}

var _ Sink = (*store.Store)(nil)

// WriterOptions tunes a Writer. Zero fields take the documented defaults.
type WriterOptions struct {
	// FlushInterval bounds how long a record waits in memory (default 500ms, per [database]
	// spend-flush-interval-ms). It is also the most a crash can lose.
	FlushInterval time.Duration
	// BatchSize flushes early once this many records are waiting (default 512).
	BatchSize int
	// QueueSize is the capacity of the in-memory queue; Add drops records beyond it (default 65536).
	QueueSize int
	// MaxAttempts is how many times one batch is tried before it is dropped and counted in Dropped
	// (default 10; retries are spaced by FlushInterval, doubling up to 30s).
	MaxAttempts int
	// WriteTimeout bounds one flush (default 30s).
	WriteTimeout time.Duration
}

func (o *WriterOptions) defaults() {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 500 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 65536
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
}

// Writer batches records in memory and writes them to a Sink from one background goroutine, started by
// NewWriter and stopped by Close. Add never blocks the request path: when the queue is full the record
// is dropped and counted. A failed flush is logged and the batch is kept and retried (MaxAttempts times,
// with backoff) before it is dropped and counted, never lost silently.
type Writer struct {
	sink   Sink
	opts   WriterOptions
	logger *slog.Logger

	mu     sync.RWMutex // guards closed against Add sending while Close seals the queue
	closed bool

	queue *queue[Record]
	full  chan struct{}      // Add's hint that BatchSize records are queued (capacity 1)
	flush chan chan struct{} // Flush's requests; the loop closes the reply when done
	stop  chan struct{}      // closed by Close: drain and exit
	done  chan struct{}      // closed when the loop has exited

	// base parents every sink call; abort cancels it when Close's context ends, so a hung sink
	// cannot hold Close forever.
	base  context.Context
	abort context.CancelFunc

	pending atomic.Int64 // records taken off the queue but not yet written
	dropped atomic.Uint64
	flushed atomic.Uint64
	failed  atomic.Uint64 // flush attempts that failed

	closeOnce sync.Once
}

// NewWriter starts a writer over sink. logger may be nil.
func NewWriter(sink Sink, opts WriterOptions, logger *slog.Logger) (*Writer, error) {
	if sink == nil {
		return nil, errors.New("spend writer: nil sink")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts.defaults()
	base, abort := context.WithCancel(context.Background())
	w := &Writer{
		sink:   sink,
		opts:   opts,
		logger: logger,
		queue:  newQueue[Record](opts.QueueSize),
		full:   make(chan struct{}, 1),
		flush:  make(chan chan struct{}),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		base:   base,
		abort:  abort,
	}
	go w.loop()
	return w, nil
}

// Add queues a record and reports whether it was accepted. It never blocks: a full queue, or a closed
// writer, drops the record and counts it in Dropped.
func (w *Writer) Add(rec Record) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return false
	}
	n, ok := w.queue.push(rec)
	if !ok {
		w.dropped.Add(1)
		return false
	}
	if n >= w.opts.BatchSize {
		select { // a full batch is waiting: flush now rather than at the next tick
		case w.full <- struct{}{}:
		default:
		}
	}
	return true
}

// QueueDepth is the number of records accepted but not yet written.
func (w *Writer) QueueDepth() int { return w.queue.len() + int(w.pending.Load()) }

// Dropped counts records lost: refused by a full queue or a closed writer, or given up after
// MaxAttempts failed flushes.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Flushed counts records written to the sink successfully.
func (w *Writer) Flushed() uint64 { return w.flushed.Load() }

// FailedFlushes counts flush attempts the sink refused.
func (w *Writer) FailedFlushes() uint64 { return w.failed.Load() }

// Close stops accepting records, writes everything still queued and waits for the background goroutine.
// If ctx ends first, the remaining records are dropped (and counted) and ctx's error is returned.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
	})
	select {
	case <-w.done:
		w.abort()
		return nil
	case <-ctx.Done():
		w.abort()
		<-w.done
		return fmt.Errorf("closing spend writer: %w", ctx.Err())
	}
}

// loop owns the batch. It collects queued records on every FlushInterval tick, or earlier when Add
// reports a full batch, and writes them; after stop it drains the queue. Records are not received one by
// one, so a request's Add wakes no goroutine.
func (w *Writer) loop() {
	defer close(w.done)
	ticker := time.NewTicker(w.opts.FlushInterval)
	defer ticker.Stop()
	batch := make([]Record, 0, w.opts.BatchSize)
	var (
		attempts int       // failed attempts of the current batch
		retryAt  time.Time // when a failed batch may be tried again
	)
	for {
		var now time.Time
		tick := false
		var reply chan struct{}
		select {
		case now = <-ticker.C:
			tick = true
		case reply = <-w.flush:
			now, tick = time.Now(), true
			retryAt = now // a Flush retries a failed batch at once
		case <-w.full:
			now = time.Now()
		case <-w.stop:
			w.drain(batch, attempts)
			return
		}
		// While a failed batch waits for its retry, take no records so the batch stays bounded; the
		// queue absorbs new records meanwhile.
		if attempts > 0 {
			if !now.Before(retryAt) {
				batch, attempts, retryAt = w.flushBatch(batch, attempts)
			}
			if attempts > 0 || reply == nil {
				if reply != nil {
					close(reply)
				}
				continue
			}
		}
		for {
			batch = w.take(batch)
			full := len(batch) >= w.opts.BatchSize
			if len(batch) == 0 || (!full && !tick) {
				break // a partial batch waits for the tick
			}
			batch, attempts, retryAt = w.flushBatch(batch, attempts)
			if attempts > 0 || (!full && w.queue.len() == 0) {
				break
			}
		}
		if reply != nil {
			close(reply)
		}
	}
}

// take tops batch up to BatchSize records from the queue.
func (w *Writer) take(batch []Record) []Record {
	n := len(batch)
	if n >= w.opts.BatchSize {
		return batch
	}
	batch = w.queue.popInto(batch, w.opts.BatchSize-n)
	w.pending.Add(int64(len(batch) - n))
	return batch
}

// Flush writes every record queued so far and returns when that is done (or tried and failed), or when
// ctx ends. Requests never need it; tests and shutdown paths that read the store right away do.
func (w *Writer) Flush(ctx context.Context) error { return askFlush(ctx, w.flush, w.done) }

// askFlush asks a writer loop to write what is queued, through its flush channel, and waits for the
// reply; a loop that has exited (done closed) has nothing left to write.
func askFlush(ctx context.Context, flush chan<- chan struct{}, done <-chan struct{}) error {
	reply := make(chan struct{})
	select {
	case flush <- reply:
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushBatch writes batch. On success or final failure it returns an empty batch; on a retryable failure it
// returns the same batch with the attempt count and the time of the next try.
func (w *Writer) flushBatch(batch []Record, attempts int) ([]Record, int, time.Time) {
	err := w.write(batch)
	if err == nil {
		w.flushed.Add(uint64(len(batch)))
		w.pending.Add(-int64(len(batch)))
		return batch[:0], 0, time.Time{}
	}
	attempts++
	w.failed.Add(1)
	if attempts >= w.opts.MaxAttempts || w.base.Err() != nil {
		w.logger.Error("spend writer: dropping records after failed writes",
			"records", len(batch), "attempts", attempts, "err", err)
		w.dropped.Add(uint64(len(batch)))
		w.pending.Add(-int64(len(batch)))
		return batch[:0], 0, time.Time{}
	}
	backoff := min(w.opts.FlushInterval<<attempts, 30*time.Second)
	w.logger.Warn("spend writer: flush failed, will retry",
		"records", len(batch), "attempt", attempts, "retry_in", backoff, "err", err)
	return batch, attempts, time.Now().Add(backoff)
}

// write hands one batch to the sink. A panicking sink is reported as an error so that the batch is
// retried instead of the process going down.
func (w *Writer) write(batch []Record) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("spend sink panicked: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(w.base, w.opts.WriteTimeout)
	defer cancel()
	return w.sink.WriteSpend(ctx, batch)
}

// drain writes what is left after Close: the current batch and everything still queued, in BatchSize
// chunks, retrying failures until MaxAttempts or until Close's context gives up.
func (w *Writer) drain(batch []Record, attempts int) {
	for {
		batch = w.take(batch)
		if len(batch) == 0 {
			return
		}
		if w.base.Err() != nil {
			rest := len(w.queue.popInto(nil, 0))
			n := len(batch) + rest
			w.logger.Error("spend writer: closed before everything was written", "records", n)
			w.dropped.Add(uint64(n))
			w.pending.Add(-int64(len(batch)))
			return
		}
		var retryAt time.Time
		batch, attempts, retryAt = w.flushBatch(batch, attempts)
		if attempts > 0 {
			t := time.NewTimer(time.Until(retryAt))
			select {
			case <-t.C:
			case <-w.base.Done():
			}
			t.Stop()
		}
	}
}
