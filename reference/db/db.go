// Package db is smpkit's encrypted embedded database: one SQLite file
// (github.com/ncruces/go-sqlite3, pure Go) shared by the packages of one
// user's state — the agent's connections and, later, the chat history.
//
// Every page of the database and of its write-ahead log is encrypted with
// Adiantum (the library's vfs/adiantum) under a key derived from a
// passphrase with argon2id. The salt and the argon2id parameters live in a
// small clear sidecar, "<path>.hdr", with a check value that makes a wrong
// passphrase a clear error ([ErrWrongPassphrase]) before SQLite reads a
// page. docs/db.md specifies the header.
//
// Each package registers its own versioned schema with [DB.Migrate]; the
// tables of all packages live in one database, so one transaction
// ([DB.Update]) can change the agent's ratchet and the chat's message record
// together. A package joins a transaction already under way by passing the
// context [Tx.Context] returns.
package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"
	"github.com/ncruces/go-sqlite3/vfs"
	"github.com/ncruces/go-sqlite3/vfs/adiantum"
)

// Errors callers branch on.
var (
	// ErrWrongPassphrase: the passphrase does not match the header's check
	// value (or the header's parameters were altered).
	ErrWrongPassphrase = errors.New("db: wrong passphrase")
	// ErrEmptyPassphrase: an empty passphrase without
	// Options.AllowEmptyPassphrase.
	ErrEmptyPassphrase = errors.New("db: empty passphrase not allowed (set AllowEmptyPassphrase to ask for it)")
	// ErrHeader: the clear header is malformed or of an unknown version.
	ErrHeader = errors.New("db: bad header")
	// ErrNoHeader: the database file exists but its header does not, so
	// its key cannot be derived.
	ErrNoHeader = errors.New("db: database without header")
	// ErrDiskFull: a write failed for lack of space; the transaction was
	// rolled back and the database is as it was before it.
	ErrDiskFull = errors.New("db: disk full")
	// ErrClosed: the database was closed.
	ErrClosed = errors.New("db: closed")
)

// Options tune Open.
type Options struct {
	// AllowEmptyPassphrase permits the empty passphrase. The file is then
	// still encrypted, but under a key anyone can derive from the header:
	// it hides nothing.
	AllowEmptyPassphrase bool
	// KDF is used when the database is created (default DefaultKDF); an
	// existing database uses the parameters in its header.
	KDF KDFParams
	// VFS is the file system under the encryption (default the operating
	// system's). Tests wrap it to inject faults.
	VFS vfs.VFS
	// Rand supplies the salt (default crypto/rand).
	Rand io.Reader
	// MaxReaders bounds the connections used by View (default 4).
	MaxReaders int
}

// DB is an open database.
type DB struct {
	path    string
	sql     *sql.DB
	vfsName string // registered for a custom Options.VFS, unregistered on Close
	jobs    chan *job
	stop    chan struct{}
	stopped chan struct{}
	closed  atomic.Bool
}

var vfsSeq atomic.Uint64

// HeaderPath is where the clear header of the database at path lives.
func HeaderPath(path string) string { return path + ".hdr" }

// Open opens the database at path, creating it (and its header) if neither
// exists. The directory must exist.
func Open(ctx context.Context, path, passphrase string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if passphrase == "" && !o.AllowEmptyPassphrase {
		return nil, ErrEmptyPassphrase
	}
	if o.KDF == (KDFParams{}) {
		o.KDF = DefaultKDF
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.MaxReaders <= 0 {
		o.MaxReaders = 4
	}
	h, err := loadHeader(path, o)
	if err != nil {
		return nil, err
	}
	pageKey, check := h.keys(passphrase)
	if h.Check == ([checkLen]byte{}) { // a header of ours not yet written
		h.Check = check
		if err := writeHeader(path, h); err != nil {
			return nil, err
		}
	} else if !equal(h.Check[:], check[:]) {
		return nil, ErrWrongPassphrase
	}

	d := &DB{path: path, jobs: make(chan *job), stop: make(chan struct{}), stopped: make(chan struct{})}
	vfsName := "adiantum"
	if o.VFS != nil {
		d.vfsName = fmt.Sprintf("smpkit-db-%d", vfsSeq.Add(1))
		vfs.Register(d.vfsName, adiantum.Wrap(o.VFS, nil))
		vfsName = d.vfsName
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	hexKey := hex.EncodeToString(pageKey)
	// The key is set by PRAGMA, not in the URI, so that it is not kept in
	// the connection's file name (vfs/adiantum's advice).
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: "vfs=" + url.QueryEscape(vfsName) + "&_txlock=immediate"}).String()
	d.sql, err = driver.Open(dsn, func(c *sqlite3.Conn) error {
		return c.Exec(`PRAGMA hexkey='` + hexKey + `';` +
			`PRAGMA journal_mode=WAL;` +
			// FULL: a commit is on disk when Update returns, so what the
			// agent acknowledges to a relay survives power loss.
			`PRAGMA synchronous=FULL;` +
			`PRAGMA foreign_keys=ON;`)
	})
	if err != nil {
		d.unregister()
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	d.sql.SetMaxOpenConns(o.MaxReaders + 1)
	d.sql.SetMaxIdleConns(o.MaxReaders + 1)
	d.sql.SetConnMaxLifetime(0)
	go d.writer()
	if err := d.bootstrap(ctx); err != nil {
		d.Close()
		if errors.Is(err, sqlite3.NOTADB) {
			// The check value matched, so the key is right: the pages are
			// damaged (or were written under another key).
			return nil, fmt.Errorf("db: %s: not a database under this key (damaged?): %w", path, err)
		}
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	return d, nil
}

func equal(a, b []byte) bool {
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return len(a) == len(b) && v == 0
}

// loadHeader reads the header, or makes one (check value unset) for a new
// database.
func loadHeader(path string, o Options) (*Header, error) {
	b, err := os.ReadFile(HeaderPath(path))
	switch {
	case err == nil:
		h, err := ParseHeader(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", HeaderPath(path), err)
		}
		if h.Check == ([checkLen]byte{}) {
			return nil, fmt.Errorf("%s: %w: zero check value", HeaderPath(path), ErrHeader)
		}
		return h, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("db: read header: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoHeader)
	}
	return newHeader(o.KDF, o.Rand)
}

// writeHeader writes the header atomically and durably before the database
// exists: temporary file, fsync, rename, fsync of the directory.
func writeHeader(path string, h *Header) error {
	hp := HeaderPath(path)
	tmp := hp + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("db: write header: %w", err)
	}
	_, err = f.Write(h.Marshal())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, hp)
	}
	if err == nil {
		err = syncDir(filepath.Dir(hp))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("db: write header: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *DB) unregister() {
	if d.vfsName != "" {
		vfs.Unregister(d.vfsName)
	}
}

// Path is the database file's path.
func (d *DB) Path() string { return d.path }

// Close closes the database; transactions under way finish first.
func (d *DB) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	var err error
	if d.sql != nil {
		close(d.stop)
		<-d.stopped
		err = d.sql.Close()
	}
	d.unregister()
	return err
}

// Tx is a transaction. Its methods run SQL in it; a package that joins it
// passes Context() to its own Update or View calls.
type Tx struct {
	db          *DB
	tx          *sql.Tx
	ctx         context.Context
	write       bool
	afterCommit []func()
}

type txKey struct{}

// Context returns a context carrying the transaction: Update and View
// called with it (or a context derived from it) run inside this
// transaction instead of starting their own.
func (t *Tx) Context() context.Context { return t.ctx }

// Exec runs a statement.
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, query, args...)
}

// Query runs a query.
func (t *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, query, args...)
}

// QueryRow runs a query expected to return at most one row.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

// AfterCommit runs fn once the outermost transaction has committed (never
// if it rolls back), outside the write lock. The agent acknowledges a
// message to its relay here.
func (t *Tx) AfterCommit(fn func()) { t.afterCommit = append(t.afterCommit, fn) }

// Writable reports whether the transaction may write (Update, not View).
func (t *Tx) Writable() bool { return t.write }

// joined returns the transaction ctx carries for this database, if any.
func (d *DB) joined(ctx context.Context) *Tx {
	t, _ := ctx.Value(txKey{}).(*Tx)
	if t != nil && t.db == d {
		return t
	}
	return nil
}

// Update runs fn in a read-write transaction and commits it if fn returns
// nil; any error (from fn or the commit) means nothing fn did was kept.
// Called with a context from Tx.Context, fn joins that transaction (which
// must be an Update) and an error from fn aborts it.
//
// Updates are group-committed: one writer runs the Updates waiting at the
// same time in one SQLite transaction, each in its own savepoint, and syncs
// once for all. An error of one fn rolls back only its savepoint. So fn
// must change nothing but the database through tx, and may run more than
// once (when a batch is retried after a failure of SQLite itself); what it
// must do only once it registers with AfterCommit.
func (d *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	if t := d.joined(ctx); t != nil {
		if !t.write {
			return errors.New("db: Update inside a View")
		}
		return fn(t)
	}
	if d.closed.Load() {
		return ErrClosed
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case d.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.stop:
		return ErrClosed
	}
	<-j.done // once taken, a job always finishes: its outcome is known
	if j.err != nil {
		return j.err
	}
	for _, f := range j.t.afterCommit {
		f()
	}
	return nil
}

// job is one Update waiting for the writer.
type job struct {
	ctx  context.Context
	fn   func(*Tx) error
	solo bool // run in a transaction of its own (after a failed batch)
	t    *Tx
	err  error
	done chan struct{}
}

// maxBatch bounds how many Updates share a commit.
const maxBatch = 64

// writer runs the Updates, batching those that wait together.
func (d *DB) writer() {
	defer close(d.stopped)
	var retry []*job
	for {
		var batch []*job
		if len(retry) > 0 {
			batch, retry = retry[:1], retry[1:]
		} else {
			select {
			case j := <-d.jobs:
				batch = append(batch, j)
			case <-d.stop:
				return
			}
		more:
			for len(batch) < maxBatch {
				select {
				case j := <-d.jobs:
					batch = append(batch, j)
				default:
					break more
				}
			}
		}
		retry = append(retry, d.runBatch(batch)...)
	}
}

// runBatch runs jobs in one transaction and finishes them, except those
// it returns: to be run again alone, because SQLite itself failed in the
// batch (a full disk may roll the whole transaction back, which savepoints
// cannot contain).
func (d *DB) runBatch(jobs []*job) (again []*job) {
	finish := func(j *job, err error) {
		j.err = err
		close(j.done)
	}
	stx, err := d.sql.BeginTx(context.Background(), nil)
	if err != nil {
		for _, j := range jobs {
			finish(j, d.wrap("begin", err))
		}
		return nil
	}
	savepoints := len(jobs) > 1
	var ok []*job
	for i, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			finish(j, err)
			continue
		}
		if savepoints {
			if _, err := stx.Exec(`SAVEPOINT job`); err != nil {
				stx.Rollback()
				finish(j, d.wrap("savepoint", err))
				return append(ok, jobs[i+1:]...)
			}
		}
		t := &Tx{db: d, tx: stx, write: true}
		t.ctx = context.WithValue(j.ctx, txKey{}, t)
		ferr := j.fn(t)
		var serr *sqlite3.Error
		switch {
		case ferr == nil:
			if savepoints {
				if _, err := stx.Exec(`RELEASE job`); err != nil {
					stx.Rollback()
					finish(j, d.wrap("release", err))
					return append(ok, jobs[i+1:]...)
				}
			}
			j.t = t
			ok = append(ok, j)
		case savepoints && errors.As(ferr, &serr):
			// SQLite failed: the transaction may be gone. Undo the batch;
			// this job has its answer, the others run again alone.
			stx.Rollback()
			finish(j, d.wrap("", ferr))
			for _, o := range append(ok, jobs[i+1:]...) {
				o.solo = true
				again = append(again, o)
			}
			return again
		case savepoints:
			if _, err := stx.Exec(`ROLLBACK TO job; RELEASE job`); err != nil {
				stx.Rollback()
				finish(j, d.wrap("", ferr))
				return append(ok, jobs[i+1:]...)
			}
			finish(j, d.wrap("", ferr))
		default:
			stx.Rollback()
			finish(j, d.wrap("", ferr))
			return nil
		}
	}
	err = stx.Commit()
	for _, j := range ok {
		if err != nil {
			finish(j, d.wrap("commit", err))
		} else {
			finish(j, nil)
		}
	}
	return nil
}

// View runs fn in a read-only transaction that sees one snapshot. Called
// with a context from Tx.Context, fn joins that transaction.
func (d *DB) View(ctx context.Context, fn func(*Tx) error) error {
	if t := d.joined(ctx); t != nil {
		return fn(t)
	}
	if d.closed.Load() {
		return ErrClosed
	}
	_, err := d.run(ctx, false, fn)
	return err
}

func (d *DB) run(ctx context.Context, write bool, fn func(*Tx) error) (*Tx, error) {
	stx, err := d.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: !write})
	if err != nil {
		return nil, d.wrap("begin", err)
	}
	t := &Tx{db: d, tx: stx, write: write}
	t.ctx = context.WithValue(ctx, txKey{}, t)
	if err := fn(t); err != nil {
		if rerr := stx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return nil, errors.Join(d.wrap("", err), d.wrap("rollback", rerr))
		}
		return nil, d.wrap("", err)
	}
	if err := stx.Commit(); err != nil {
		return nil, d.wrap("commit", err)
	}
	return t, nil
}

// wrap marks disk-full failures with ErrDiskFull.
func (d *DB) wrap(op string, err error) error {
	if errors.Is(err, sqlite3.FULL) && !errors.Is(err, ErrDiskFull) {
		err = fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	if op == "" {
		return err
	}
	return fmt.Errorf("db: %s: %w", op, err)
}

// Size returns the bytes of the database's pages in use (free pages not
// counted), whether they are in the file or still in the write-ahead log.
func (d *DB) Size(ctx context.Context) (int64, error) {
	var pages, free, size int64
	err := d.View(ctx, func(tx *Tx) error {
		if err := tx.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
			return err
		}
		if err := tx.QueryRow(`PRAGMA freelist_count`).Scan(&free); err != nil {
			return err
		}
		return tx.QueryRow(`PRAGMA page_size`).Scan(&size)
	})
	return (pages - free) * size, err
}
