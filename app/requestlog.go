package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

// requestLogWriter is the server's RequestLogSink: rows are queued without blocking and written to the
// store in batches by one goroutine. A full queue drops rows (the log is a convenience, not a ledger).
type requestLogWriter struct {
	st    *store.Store
	log   *slog.Logger
	queue chan store.RequestLogRow
	stop  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // guards closed against LogRequest racing Close
	closed bool
	once   sync.Once
}

const (
	requestLogQueue = 4096
	requestLogBatch = 128
	requestLogEvery = time.Second
)

func newRequestLogWriter(st *store.Store, log *slog.Logger) *requestLogWriter {
	w := &requestLogWriter{st: st, log: log, queue: make(chan store.RequestLogRow, requestLogQueue),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// LogRequest queues a row; it never blocks.
func (w *requestLogWriter) LogRequest(row store.RequestLogRow) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return
	}
	select {
	case w.queue <- row:
	default:
	}
}

// Close writes what is queued and stops the goroutine.
func (w *requestLogWriter) Close() {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
	})
	<-w.done
}

func (w *requestLogWriter) loop() {
	defer close(w.done)
	t := time.NewTicker(requestLogEvery)
	defer t.Stop()
	batch := make([]store.RequestLogRow, 0, requestLogBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := w.st.InsertRequestLog(ctx, batch); err != nil {
			w.log.Warn("writing the request log failed", "rows", len(batch), "err", err)
		}
		cancel()
		batch = batch[:0]
	}
	for {
		select {
		case r := <-w.queue:
			batch = append(batch, r)
			if len(batch) >= requestLogBatch {
				flush()
			}
		case <-t.C:
			flush()
		case <-w.stop:
			for {
				select {
				case r := <-w.queue:
					batch = append(batch, r)
				default:
					flush()
					return
				}
			}
		}
	}
}
