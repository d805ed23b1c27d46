package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

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
}

var (
	// spendInsert carries 19 parameters per row, far below SQLite's limit of 32766; fewer statements
	// per batch roughly double throughput.
	spendInsert = multiInsert{
		head: `INSERT OR FAIL INTO spend_log (ts, request_id, key_id, credential_id, provider, model, route,
		input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_usd,
		price_known, latency_ms, ttfb_ms, status, error_class, cache_hit) VALUES `,
		values: `(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		chunks: [3]int{32, 8, 1},
	}
)

// sql is the statement inserting n rows.
func (m *multiInsert) sql(n int) string {
	return m.head + strings.Repeat(m.values+",", n-1) + m.values
}

// insert writes count rows inside tx with m's statements (prepared holds them in the order of
// m.chunks, nil when not prepared); appendRow appends the values of row i to args.
func (m *multiInsert) insert(ctx context.Context, tx *sql.Tx, prepared [3]*sql.Stmt, count int,
	appendRow func(args []any, i int) []any) error {
	var args []any
	done := 0
	for ci, n := range m.chunks {
		if count-done < n {
			continue
		}
		st, err := txStmt(ctx, tx, prepared[ci], m.sql(n))
		if err != nil {
			return err
		}
		for ; count-done >= n; done += n {
			args = args[:0]
			for i := done; i < done+n; i++ {
				args = appendRow(args, i)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				_ = st.Close()
				return err
			}
		}
		_ = st.Close()
	}
	return nil
}

// writeStmts are the write paths' statements, prepared once by Open: a batch binds them to its
// transaction, and database/sql prepares each on a connection only the first time it is used there,
// instead of SQLite parsing the SQL for every batch (for a multi-row insert that parse costs about as
// much as the rows at the proxy's usual batch sizes).
type writeStmts struct {
	spendRows [3]*sql.Stmt // spendInsert's, by chunk
	rollup    *sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) (err error) {
	prep := func(q string) *sql.Stmt {
		st, perr := db.PrepareContext(ctx, q)
		err = errors.Join(err, perr)
		return st
	}
	for i, n := range spendInsert.chunks {
		w.spendRows[i] = prep(spendInsert.sql(n))
	}
	w.rollup = prep(spendRollupUpsert)
	if err != nil {
		w.close()
	}
	return err
}

func (w *writeStmts) close() {
	for _, st := range append(w.spendRows[:], w.rollup) {
		if st != nil {
			_ = st.Close()
		}
	}
	*w = writeStmts{}
}

// txStmt returns st bound to tx, or query prepared on tx when st was not prepared (a Store made
// without Open).
func txStmt(ctx context.Context, tx *sql.Tx, st *sql.Stmt, query string) (*sql.Stmt, error) {
	if st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}
