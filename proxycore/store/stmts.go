package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// The write paths' statements. A spend batch is inserted with the multi-row statements, largest first.
const (
	spendRowsInsert = `INSERT INTO spend_log (ts, request_id, key_id, credential_id, provider, model, route,
		input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_usd,
		price_known, latency_ms, ttfb_ms, status, error_class, cache_hit) VALUES `
	spendRowValues    = `(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
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
	requestLogInsert = `INSERT INTO request_log (ts, request_id, method, path, status,
		request_body, response_body, latency_ms) VALUES (?,?,?,?,?,?,?,?)`
)

// spendChunks are the row counts of the multi-row spend inserts, largest first; the last must be 1.
var spendChunks = [...]int{spendChunk, 8, 1}

// spendInsertSQL is the insert of n spend rows.
func spendInsertSQL(n int) string {
	return spendRowsInsert + strings.Repeat(spendRowValues+",", n-1) + spendRowValues
}

// writeStmts are the write paths' statements, prepared once by Open: a batch binds them to its
// transaction, and database/sql prepares each on a connection only the first time it is used there,
// instead of SQLite parsing the SQL for every batch (for a multi-row insert that parse costs about as
// much as the rows at the proxy's usual batch sizes).
type writeStmts struct {
	spendRows [len(spendChunks)]*sql.Stmt
	rollup    *sql.Stmt
	logRow    *sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) (err error) {
	prep := func(q string) *sql.Stmt {
		st, perr := db.PrepareContext(ctx, q)
		err = errors.Join(err, perr)
		return st
	}
	for i, n := range spendChunks {
		w.spendRows[i] = prep(spendInsertSQL(n))
	}
	w.rollup = prep(spendRollupUpsert)
	w.logRow = prep(requestLogInsert)
	if err != nil {
		w.close()
	}
	return err
}

func (w *writeStmts) close() {
	for _, st := range append(w.spendRows[:], w.rollup, w.logRow) {
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
