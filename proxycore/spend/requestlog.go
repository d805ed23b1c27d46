package spend

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

// RequestLogSink persists request-log rows; *store.RequestLogDB satisfies it.
type RequestLogSink interface {
	InsertRequestLog(ctx context.Context, rows []store.RequestLogRow) error
}

var _ RequestLogSink = (*store.RequestLogDB)(nil)

// RequestLog queues request-log rows and writes them in batches from one goroutine, like Writer does
// for spend rows: it collects the queue on every FlushInterval tick, or as soon as BatchSize rows wait,
// so logging a request wakes no goroutine. The log is a debugging aid: a row that cannot be queued or
// written is counted in Dropped rather than retried.
type RequestLog struct {
	sink      RequestLogSink
	logger    *slog.Logger
	interval  time.Duration
	batchSize int

	mu     sync.RWMutex // guards closed against LogRequest sending while Close seals the queue
	closed bool
	queue  *queue[logEntry]
	taken  []logEntry         // the loop's scratch space for entries taken off the queue
	full   chan struct{}      // LogRequest's hint that a batch is waiting (capacity 1)
	flush  chan chan struct{} // Flush's requests; the loop closes the reply when done
	stop   chan struct{}      // closed by Close: write what is queued and exit
	done   chan struct{}

	dropped atomic.Uint64
	once    sync.Once
}

// logEntry is a queued row; fill, when set, completes it in the writer goroutine.
type logEntry struct {
	row  store.RequestLogRow
	fill func(*store.RequestLogRow)
}

// NewRequestLog starts a request log over sink. opts.FlushInterval, BatchSize and QueueSize apply.
func NewRequestLog(sink RequestLogSink, opts WriterOptions, logger *slog.Logger) *RequestLog {
	opts.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &RequestLog{sink: sink, logger: logger, interval: opts.FlushInterval, batchSize: opts.BatchSize,
		queue: newQueue[logEntry](opts.QueueSize/8 + 1), full: make(chan struct{}, 1),
		flush: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

// LogRequest queues a row without blocking.
func (l *RequestLog) LogRequest(row store.RequestLogRow) { l.enqueue(logEntry{row: row}) }

// LogRequestFunc queues a row without blocking and has fill complete it in the writer goroutine, just
// before it is written, so that work such as masking the bodies stays off the request path. fill must
// only read data that nothing changes after the call; if it panics, the row is dropped.
func (l *RequestLog) LogRequestFunc(row store.RequestLogRow, fill func(*store.RequestLogRow)) {
	l.enqueue(logEntry{row: row, fill: fill})
}

func (l *RequestLog) enqueue(e logEntry) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	n, ok := l.queue.push(e)
	if !ok {
		l.dropped.Add(1)
		return
	}
	if n >= min(l.batchSize, l.queue.bound) {
		select { // a full batch is waiting: write it now rather than at the next tick
		case l.full <- struct{}{}:
		default:
		}
	}
}

// Dropped counts rows lost to a full queue or a failed write.
func (l *RequestLog) Dropped() uint64 { return l.dropped.Load() }

// Flush writes every row queued so far and returns when that is done, or when ctx ends.
func (l *RequestLog) Flush(ctx context.Context) error { return askFlush(ctx, l.flush, l.done) }

// Close writes what is queued and stops the writer; it returns when done or when ctx ends.
func (l *RequestLog) Close(ctx context.Context) error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.stop)
	})
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *RequestLog) loop() {
	defer close(l.done)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	batch := make([]store.RequestLogRow, 0, l.batchSize)
	for {
		var reply chan struct{}
		stop := false
		select {
		case <-t.C:
		case <-l.full:
		case reply = <-l.flush:
		case <-l.stop:
			stop = true
		}
		batch = l.writeQueued(batch)
		if reply != nil {
			close(reply)
		}
		if stop {
			return
		}
	}
}

// writeQueued takes every queued row and writes them in batches of at most batchSize.
func (l *RequestLog) writeQueued(batch []store.RequestLogRow) []store.RequestLogRow {
	for {
		l.taken = l.taken[:0]
		if room := l.batchSize - len(batch); room > 0 {
			l.taken = l.queue.popInto(l.taken, room)
		}
		for i := range l.taken {
			e := &l.taken[i]
			if e.fill != nil && !l.fill(e) {
				continue
			}
			batch = append(batch, e.row)
		}
		took := len(l.taken)
		clear(l.taken) // the entries hold request bodies: let them go
		if len(batch) == 0 {
			if took > 0 {
				continue // every row taken was dropped; more may wait
			}
			return batch
		}
		l.write(batch)
		clear(batch) // the rows hold request bodies: let them go
		batch = batch[:0]
	}
}

// fill completes a deferred row; a panicking fill drops the row instead of the process.
func (l *RequestLog) fill(e *logEntry) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			l.dropped.Add(1)
			l.logger.Error("request log: preparing a row failed; it is dropped", "err", fmt.Sprint(r))
			ok = false
		}
	}()
	e.fill(&e.row)
	return true
}

func (l *RequestLog) write(batch []store.RequestLogRow) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.sink.InsertRequestLog(ctx, batch); err != nil {
		l.dropped.Add(uint64(len(batch)))
		l.logger.Warn("request log: writing rows failed; they are dropped", "rows", len(batch), "err", err)
	}
}
