package spend

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

// RequestLogSink persists request-log rows; *store.Store satisfies it.
type RequestLogSink interface {
	InsertRequestLog(ctx context.Context, rows []store.RequestLogRow) error
}

var _ RequestLogSink = (*store.Store)(nil)

// RequestLog queues request-log rows and writes them in batches from one goroutine, like Writer does
// for spend rows. The log is a debugging aid: a row that cannot be queued or written is counted in
// Dropped rather than retried.
type RequestLog struct {
	sink     RequestLogSink
	logger   *slog.Logger
	interval time.Duration

	mu     sync.RWMutex // guards closed against LogRequest sending while Close seals the queue
	closed bool
	queue  chan store.RequestLogRow
	done   chan struct{}

	dropped atomic.Uint64
	once    sync.Once
}

// NewRequestLog starts a request log over sink. opts.FlushInterval, BatchSize and QueueSize apply.
func NewRequestLog(sink RequestLogSink, opts WriterOptions, logger *slog.Logger) *RequestLog {
	opts.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &RequestLog{sink: sink, logger: logger, interval: opts.FlushInterval,
		queue: make(chan store.RequestLogRow, opts.QueueSize/8+1), done: make(chan struct{})}
	go l.loop(opts.BatchSize)
	return l
}

// LogRequest queues a row without blocking.
func (l *RequestLog) LogRequest(row store.RequestLogRow) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.queue <- row:
	default:
		l.dropped.Add(1)
	}
}

// Dropped counts rows lost to a full queue or a failed write.
func (l *RequestLog) Dropped() uint64 { return l.dropped.Load() }

// Close writes what is queued and stops the writer; it returns when done or when ctx ends.
func (l *RequestLog) Close(ctx context.Context) error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.queue)
		l.mu.Unlock()
	})
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *RequestLog) loop(batchSize int) {
	defer close(l.done)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	batch := make([]store.RequestLogRow, 0, batchSize)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := l.sink.InsertRequestLog(ctx, batch); err != nil {
			l.dropped.Add(uint64(len(batch)))
			l.logger.Warn("request log: writing rows failed; they are dropped", "rows", len(batch), "err", err)
		}
		cancel()
		batch = batch[:0]
	}
	for {
		select {
		case row, ok := <-l.queue:
			if !ok {
				flush()
				return
			}
			batch = append(batch, row)
			if len(batch) >= batchSize {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}
