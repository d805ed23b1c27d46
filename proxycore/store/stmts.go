package store

import "strings"

// The write paths' statements. Spend and request-log rows go in with multi-row inserts.
const (
	spendRollupUpsert = `INSERT INTO spend_daily (day, provider, model, key_id, requests,
		errors, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_usd)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (day, provider, model, key_id) DO UPDATE SET
			requests = requests + excluded.requests,
			errors = errors + excluded.errors,
			input_tokens = input_tokens + excluded.input_tokens,
			output_tokens = output_tokens + excluded.output_tokens,
			cached_tokens = cached_tokens + excluded.cached_tokens,
			cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
			reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
			cost_usd = cost_usd + excluded.cost_usd`
)

// multiInsert is an INSERT of several rows per statement: as many chunks of the largest size as fit,
// then the smaller sizes, so that a few prepared statements cover every batch size.
//
// The statements are INSERT OR FAIL. With the default conflict action (ABORT) SQLite must be able to undo
// the rows a failing statement already wrote, so a statement writing several rows keeps a statement
// journal of every page it touches, spilled to a temporary file past 64 KiB: for the request log's big
// rows that was a fifth of the insert's CPU. FAIL keeps the earlier rows instead, and needs no journal;
// every write runs in a transaction that is rolled back whole on any error, so nothing partial stays.
type multiInsert struct {
	head   string // "INSERT INTO t (...) VALUES "
	values string // one row's "(?,...)"
	chunks [3]int // rows per statement, largest first; the last is 1

	queries [3]string // sql(chunks[i])
}

// newMultiInsert returns the multi-row insert with head, one row's values and the chunk sizes.
func newMultiInsert(head, values string, chunks [3]int) *multiInsert {
	m := &multiInsert{head: head, values: values, chunks: chunks}
	for i, n := range chunks {
		m.queries[i] = m.sql(n)
	}
	return m
}

var (
	// spendInsert carries 19 parameters per row, far below SQLite's limit of 32766; fewer statements
	// per batch roughly double throughput.
	spendInsert = newMultiInsert(`INSERT OR FAIL INTO spend_log (ts, request_id, key_id, credential_id,
		provider, model, route, input_tokens, output_tokens, cached_tokens, cache_write_tokens,
		reasoning_tokens, cost_usd, price_known, latency_ms, ttfb_ms, status, error_class, cache_hit) VALUES `,
		`(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, [3]int{32, 8, 1})
)

// sql is the statement inserting n rows.
func (m *multiInsert) sql(n int) string {
	return m.head + strings.Repeat(m.values+",", n-1) + m.values
}

// insert writes count rows in t with m's statements (each prepared once per connection and kept);
// bindRow binds row i's values in column order.
func (m *multiInsert) insert(t *writeTx, count int, bindRow func(b *binder, i int)) error {
	done := 0
	for ci, n := range m.chunks {
		for ; count-done >= n; done += n {
			err := t.exec(m.queries[ci], func(b *binder) {
				for i := done; i < done+n; i++ {
					bindRow(b, i)
				}
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
