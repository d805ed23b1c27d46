package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// writeConn is a database connection of its own for the bulk write paths (spend rows and their
// rollups, request-log rows), driven through SQLite's C API as modernc.org/sqlite transpiles it rather
// than through database/sql.
//
// Those paths write hundreds of rows per transaction, and per row database/sql and the driver cost as
// much as SQLite itself: every value is converted to a driver.Value (boxing most of them), every
// parameter's name is looked up, and every string is copied into memory of its own that is freed after
// the statement. Here a statement's parameters are bound directly, and the text of all of them is
// copied into one reused buffer: a spend row costs about half the CPU and allocates nothing.
//
// Reads, migrations and everything else stay on database/sql. SQLite's locks coordinate the two (the
// busy timeout applies here too); writes here run in BEGIN IMMEDIATE transactions like those on the
// pool, and see the schema changes made there (statements are re-prepared when the schema changes).
//
// A writeConn is safe for concurrent use: a mutex serialises its transactions, and with them all use of
// its libc thread state, which must never be used by two goroutines at once.
type writeConn struct {
	mu    sync.Mutex
	path  string
	tls   *libc.TLS
	db    uintptr            // sqlite3*; 0 once closed
	stmts map[string]uintptr // prepared statements by SQL text

	// text is C memory that the text parameters of the statement being bound are copied into, bound
	// with SQLITE_STATIC: it stays valid until the statement has been stepped and reset, and is then
	// reused for the next one. Text that does not fit goes into spill blocks, freed once the statement
	// ran; the buffer then grows to hold the whole statement next time.
	text       uintptr
	textCap    int
	textUsed   int
	spill      []uintptr
	spillBytes int

	tx writeTx // the transaction in progress, reused
}

// maxKeptText is the largest text buffer kept between statements; a larger one (a batch of big request
// bodies) is freed after its statement.
const maxKeptText = 1 << 20

// openWriteConn opens a write connection to the database file at path, which Open has already created
// and migrated (so it is in WAL mode: the journal mode is stored in the file). The connection has the
// pool's settings: the busy timeout, synchronous=NORMAL and foreign keys.
func openWriteConn(path string, busyTimeout time.Duration) (*writeConn, error) {
	c := &writeConn{path: path, tls: libc.NewTLS(), stmts: make(map[string]uintptr)}
	cpath, err := libc.CString(path)
	if err != nil {
		c.tls.Close()
		return nil, err
	}
	defer libc.Xfree(c.tls, cpath)
	pdb := libc.Xmalloc(c.tls, 8)
	if pdb == 0 {
		c.tls.Close()
		return nil, errors.New("out of memory")
	}
	defer libc.Xfree(c.tls, pdb)
	*cPtr[uintptr](pdb) = 0
	// NOMUTEX: c.mu already serialises every call on this connection.
	rc := sqlite3.Xsqlite3_open_v2(c.tls, cpath, pdb, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = *cPtr[uintptr](pdb)
	if rc != sqlite3.SQLITE_OK {
		err := c.errorOf(rc)
		c.closeLocked()
		return nil, err
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, int32(min(busyTimeout.Milliseconds(), math.MaxInt32)))
	for _, q := range []string{`PRAGMA synchronous = NORMAL`, `PRAGMA foreign_keys = ON`} {
		if err := c.run(q); err != nil {
			c.closeLocked()
			return nil, err
		}
	}
	return c, nil
}

// close finalizes the statements and closes the connection; later transactions fail.
func (c *writeConn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeLocked()
}

func (c *writeConn) closeLocked() error {
	if c.tls == nil {
		return nil
	}
	var err error
	if c.db != 0 {
		for _, st := range c.stmts {
			sqlite3.Xsqlite3_finalize(c.tls, st)
		}
		c.stmts = nil
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.errorOf(rc)
		}
		c.db = 0
	}
	c.endStatement()
	c.freeText()
	c.tls.Close()
	c.tls = nil
	return err
}

// sqliteError is a failed SQLite call: its (extended) result code and the connection's message.
type sqliteError struct {
	code int
	msg  string
}

func (e *sqliteError) Error() string {
	return fmt.Sprintf("%s (%d)", e.msg, e.code)
}

// Code returns the extended result code, as (*sqlite.Error).Code does.
func (e *sqliteError) Code() int { return e.code }

// errorOf returns the error for result code rc, with the connection's message when it has one.
func (c *writeConn) errorOf(rc int32) error {
	msg := ""
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	if msg == "" || msg == "not an error" {
		msg = libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	}
	return &sqliteError{code: int(rc), msg: msg}
}

// errClosedWriteConn is returned by transactions after close.
var errClosedWriteConn = errors.New("the database is closed")

// transaction runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back when fn or the commit fails. ctx
// is checked before the transaction and before each statement (see writeTx.check); a statement waiting
// for another connection's lock gives up after the busy timeout.
func (c *writeConn) transaction(ctx context.Context, fn func(t *writeTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db == 0 {
		return errClosedWriteConn
	}
	if err := c.run(`BEGIN IMMEDIATE`); err != nil {
		return err
	}
	c.tx = writeTx{c: c, ctx: ctx}
	defer func() {
		// Still in the transaction: fn or COMMIT failed (or fn panicked).
		if sqlite3.Xsqlite3_get_autocommit(c.tls, c.db) == 0 {
			_ = c.run(`ROLLBACK`)
		}
		c.tx = writeTx{}
		if c.textCap > maxKeptText {
			c.freeText()
		}
	}()
	if err := fn(&c.tx); err != nil {
		return err
	}
	return c.run(`COMMIT`)
}

// run executes a statement that takes no parameters and returns no rows.
func (c *writeConn) run(query string) error {
	st, err := c.prepare(query)
	if err != nil {
		return err
	}
	return c.step(st)
}

// prepare returns query's statement, prepared on first use and kept until close.
func (c *writeConn) prepare(query string) (uintptr, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	q, err := libc.CString(query)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, q)
	pst := libc.Xmalloc(c.tls, 8)
	if pst == 0 {
		return 0, errors.New("out of memory")
	}
	defer libc.Xfree(c.tls, pst)
	*cPtr[uintptr](pst) = 0
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, q, int32(len(query)), sqlite3.SQLITE_PREPARE_PERSISTENT, pst, 0); rc != sqlite3.SQLITE_OK {
		return 0, c.errorOf(rc)
	}
	st := *cPtr[uintptr](pst)
	c.stmts[query] = st
	return st, nil
}

// step runs st to completion (it must not return rows) and resets it, along with the text buffer its
// parameters were bound from.
func (c *writeConn) step(st uintptr) error {
	rc := sqlite3.Xsqlite3_step(c.tls, st)
	var err error
	if rc != sqlite3.SQLITE_DONE {
		if rc == sqlite3.SQLITE_ROW {
			err = errors.New("statement returned rows")
		} else {
			err = c.errorOf(rc)
		}
	}
	sqlite3.Xsqlite3_reset(c.tls, st)
	c.endStatement()
	return err
}

// textSpace returns n bytes of C memory for a text parameter of the statement being bound, valid until
// endStatement.
func (c *writeConn) textSpace(n int) (uintptr, error) {
	if c.text != 0 && c.textUsed+n <= c.textCap {
		p := c.text + uintptr(c.textUsed)
		c.textUsed += n
		return p, nil
	}
	if c.textUsed == 0 { // nothing of this statement is in the buffer yet: replace it with a larger one
		if err := c.growText(n); err != nil {
			return 0, err
		}
		c.textUsed = n
		return c.text, nil
	}
	p := libc.Xmalloc(c.tls, types.Size_t(max(n, 1)))
	if p == 0 {
		return 0, fmt.Errorf("out of memory for %d bytes of a statement parameter", n)
	}
	c.spill = append(c.spill, p)
	c.spillBytes += n
	return p, nil
}

// endStatement releases the text of the statement that just ran (or failed to bind): the buffer is
// reused, spill blocks are freed, and a buffer that was too small is replaced by one that fits.
func (c *writeConn) endStatement() {
	for _, p := range c.spill {
		libc.Xfree(c.tls, p)
	}
	need := c.textUsed + c.spillBytes
	c.spill, c.spillBytes, c.textUsed = c.spill[:0], 0, 0
	if need > c.textCap {
		_ = c.growText(need) // on failure the old buffer stays, and spills serve again
	}
}

// growText replaces the text buffer, which holds no bound text at the time, with one of at least n bytes
// (at least 4 KiB, and double the old size).
func (c *writeConn) growText(n int) error {
	size := max(4<<10, 2*c.textCap)
	for size < n {
		size *= 2
	}
	p := libc.Xmalloc(c.tls, types.Size_t(size))
	if p == 0 {
		return fmt.Errorf("out of memory for %d bytes of statement parameters", size)
	}
	c.freeText()
	c.text, c.textCap = p, size
	return nil
}

func (c *writeConn) freeText() {
	if c.text != 0 {
		libc.Xfree(c.tls, c.text)
		c.text, c.textCap, c.textUsed = 0, 0, 0
	}
}

// writeTx is the transaction in progress on a writeConn.
type writeTx struct {
	c   *writeConn
	ctx context.Context
	b   binder
}

// check returns ctx's error once it is done, so that a long batch stops between statements.
func (t *writeTx) check() error { return t.ctx.Err() }

// exec binds the parameters bind sets, in order, and runs query.
func (t *writeTx) exec(query string, bind func(b *binder)) error {
	if err := t.check(); err != nil {
		return err
	}
	st, err := t.c.prepare(query)
	if err != nil {
		return err
	}
	t.b = binder{c: t.c, st: st}
	b := &t.b
	bind(b)
	if b.err != nil {
		sqlite3.Xsqlite3_reset(t.c.tls, st)
		t.c.endStatement()
		return b.err
	}
	return t.c.step(st)
}

// queryInt64 runs a query returning one integer (NULL reads as 0).
func (t *writeTx) queryInt64(query string) (int64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	st, err := t.c.prepare(query)
	if err != nil {
		return 0, err
	}
	c := t.c
	rc := sqlite3.Xsqlite3_step(c.tls, st)
	var v int64
	switch rc {
	case sqlite3.SQLITE_ROW:
		v = sqlite3.Xsqlite3_column_int64(c.tls, st, 0)
	case sqlite3.SQLITE_DONE:
		err = errors.New("query returned no row")
	default:
		err = c.errorOf(rc)
	}
	sqlite3.Xsqlite3_reset(c.tls, st)
	return v, err
}

// binder sets a statement's parameters in order, from the first. The first failure is kept in err
// (the rest are skipped).
type binder struct {
	c   *writeConn
	st  uintptr
	i   int32
	err error
}

func (b *binder) int(v int64) {
	b.i++
	if b.err == nil {
		b.check(sqlite3.Xsqlite3_bind_int64(b.c.tls, b.st, b.i, v))
	}
}

func (b *binder) float(v float64) {
	b.i++
	if b.err == nil {
		b.check(sqlite3.Xsqlite3_bind_double(b.c.tls, b.st, b.i, v))
	}
}

// text binds s, copied into the connection's text memory (SQLite copies it again into the row).
func (b *binder) text(s string) {
	b.i++
	if b.err != nil {
		return
	}
	if len(s) > math.MaxInt32 {
		b.err = fmt.Errorf("a text parameter of %d bytes is over SQLite's limit", len(s))
		return
	}
	p, err := b.c.textSpace(len(s))
	if err != nil {
		b.err = err
		return
	}
	if len(s) > 0 {
		copy(unsafe.Slice(cPtr[byte](p), len(s)), s)
	}
	// SQLITE_STATIC (0): the buffer outlives the statement's use of it.
	b.check(sqlite3.Xsqlite3_bind_text(b.c.tls, b.st, b.i, p, int32(len(s)), 0))
}

func (b *binder) check(rc int32) {
	if rc != sqlite3.SQLITE_OK {
		b.err = b.c.errorOf(rc)
	}
}

// cPtr returns the C memory at address p (allocated by libc, outside the Go heap, so the garbage
// collector neither moves nor frees it) as a *T. The address is reinterpreted through its variable
// rather than converted, which is the same thing for memory the Go heap does not own.
func cPtr[T any](p uintptr) *T { return *(**T)(unsafe.Pointer(&p)) }
