package db

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fastKDF keeps the tests' key derivation cheap; DefaultKDF is exercised
// once, in TestDefaultKDF.
var fastKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func open(t testing.TB, path, pass string, o *Options) *DB {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	if o.KDF == (KDFParams{}) {
		o.KDF = fastKDF
	}
	d, err := Open(context.Background(), path, pass, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

var kvSchema = Schema{Package: "kv", Migrations: []Migration{
	{Name: "create", SQL: `CREATE TABLE kv_items (k TEXT PRIMARY KEY, v BLOB NOT NULL)`},
}}

func put(t testing.TB, d *DB, k string, v []byte) {
	t.Helper()
	if err := d.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.Exec(`INSERT OR REPLACE INTO kv_items (k, v) VALUES (?, ?)`, k, v)
		return err
	}); err != nil {
		t.Fatalf("put %s: %v", k, err)
	}
}

func get(t testing.TB, d *DB, k string) []byte {
	t.Helper()
	var v []byte
	err := d.View(context.Background(), func(tx *Tx) error {
		return tx.QueryRow(`SELECT v FROM kv_items WHERE k = ?`, k).Scan(&v)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	return v
}

func count(t testing.TB, d *DB, table string) int {
	t.Helper()
	var n int
	if err := d.View(context.Background(), func(tx *Tx) error {
		return tx.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
	}); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	d := open(t, path, "correct horse", nil)
	if err := d.Migrate(ctx, kvSchema); err != nil {
		t.Fatal(err)
	}
	put(t, d, "a", []byte("one"))
	put(t, d, "b", []byte("two"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Update(ctx, func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}

	d = open(t, path, "correct horse", nil)
	if err := d.Migrate(ctx, kvSchema); err != nil {
		t.Fatal(err)
	}
	if got := get(t, d, "a"); string(got) != "one" {
		t.Fatalf("a = %q after reopen", got)
	}
	if got := get(t, d, "b"); string(got) != "two" {
		t.Fatalf("b = %q after reopen", got)
	}
	if v, err := d.Version(ctx, "kv"); err != nil || v != 1 {
		t.Fatalf("version %d, %v", v, err)
	}
}

func TestWrongPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	d := open(t, path, "right", nil)
	if err := d.Migrate(context.Background(), kvSchema); err != nil {
		t.Fatal(err)
	}
	put(t, d, "a", []byte("x"))
	d.Close()
	for _, pass := range []string{"wrong", "righ", "right "} {
		_, err := Open(context.Background(), path, pass, &Options{KDF: fastKDF})
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("passphrase %q: %v, want ErrWrongPassphrase", pass, err)
		}
	}
	// The right one still opens it: a failed attempt changed nothing.
	d = open(t, path, "right", nil)
	if got := get(t, d, "a"); string(got) != "x" {
		t.Fatalf("a = %q", got)
	}
}

func TestEmptyPassphrase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	if _, err := Open(context.Background(), path, "", &Options{KDF: fastKDF}); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty passphrase without asking: %v", err)
	}
	if _, err := os.Stat(HeaderPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refused open left a header: %v", err)
	}
	d := open(t, path, "", &Options{AllowEmptyPassphrase: true})
	if err := d.Migrate(context.Background(), kvSchema); err != nil {
		t.Fatal(err)
	}
	put(t, d, "a", []byte("x"))
	d.Close()
	if _, err := Open(context.Background(), path, "", &Options{KDF: fastKDF}); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("reopen with empty passphrase without asking: %v", err)
	}
	if _, err := Open(context.Background(), path, "x", &Options{KDF: fastKDF}); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("non-empty passphrase on an empty-passphrase database: %v", err)
	}
	d = open(t, path, "", &Options{AllowEmptyPassphrase: true})
	if got := get(t, d, "a"); string(got) != "x" {
		t.Fatalf("a = %q", got)
	}
}

func TestHeaderErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	d := open(t, path, "p", nil)
	if err := d.Migrate(context.Background(), kvSchema); err != nil {
		t.Fatal(err)
	}
	d.Close()
	hdr, err := os.ReadFile(HeaderPath(path))
	if err != nil {
		t.Fatal(err)
	}

	// Altered parameters are caught by the check value.
	bad := bytes.Clone(hdr)
	bad[15]++ // argon2id time
	os.WriteFile(HeaderPath(path), bad, 0o600)
	if _, err := Open(context.Background(), path, "p", nil); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("altered time: %v", err)
	}
	// Truncated header, unknown version.
	os.WriteFile(HeaderPath(path), hdr[:40], 0o600)
	if _, err := Open(context.Background(), path, "p", nil); !errors.Is(err, ErrHeader) {
		t.Errorf("short header: %v", err)
	}
	bad = bytes.Clone(hdr)
	bad[9] = 2
	os.WriteFile(HeaderPath(path), bad, 0o600)
	if _, err := Open(context.Background(), path, "p", nil); !errors.Is(err, ErrHeader) {
		t.Errorf("version 2: %v", err)
	}
	// No header: the key cannot be derived; the database is not replaced.
	os.Remove(HeaderPath(path))
	if _, err := Open(context.Background(), path, "p", nil); !errors.Is(err, ErrNoHeader) {
		t.Errorf("no header: %v", err)
	}
	os.WriteFile(HeaderPath(path), hdr, 0o600)
	d = open(t, path, "p", nil)
	if v, err := d.Version(context.Background(), "kv"); v != 1 || err != nil {
		t.Fatalf("after restoring the header: version %d, %v", v, err)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h, err := newHeader(KDFParams{Time: 2, MemoryKiB: 1024, Threads: 2}, strings.NewReader(strings.Repeat("s", 16)))
	if err != nil {
		t.Fatal(err)
	}
	_, h.Check = h.keys("pass")
	b := h.Marshal()
	if len(b) != headerLen {
		t.Fatalf("header %d bytes", len(b))
	}
	if !bytes.HasPrefix(b, []byte("smpkitdb\x00\x01\x01\x01\x00\x00\x00\x02\x00\x00\x04\x00\x02\x10ssss")) {
		t.Fatalf("layout: %x", b[:26])
	}
	h2, err := ParseHeader(b)
	if err != nil || *h2 != *h {
		t.Fatalf("round trip: %+v, %v", h2, err)
	}
	// Every truncation and every single-byte change of the fixed fields
	// is either rejected or yields another well-formed header.
	for i := range b {
		if _, err := ParseHeader(b[:i]); err == nil {
			t.Fatalf("prefix %d accepted", i)
		}
	}
	for _, p := range []KDFParams{{0, 64, 1}, {1, 4, 1}, {1, 64, 0}, {1, 8, 2}, {65, 64, 1}, {1, maxKDFMemoryKiB + 1, 1}} {
		if _, err := newHeader(p, strings.NewReader(strings.Repeat("s", 16))); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
}

// TestDefaultKDF opens one database with the real parameters.
func TestDefaultKDF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	d, err := Open(context.Background(), path, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	b, _ := os.ReadFile(HeaderPath(path))
	h, err := ParseHeader(b)
	if err != nil || h.KDF != DefaultKDF {
		t.Fatalf("header KDF %+v, %v", h, err)
	}
}

// TestNoPlaintext stores distinctive values, table and column names and
// checks that no file in the directory holds them, nor SQLite's own magic:
// both while open (the write-ahead log holds the pages) and after Close.
func TestNoPlaintext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	d := open(t, path, "p", nil)
	canaries := []string{"CANARY_TABLE_NAME", "canary_column_name", "the plaintext canary value", "SQLite format 3"}
	if err := d.Migrate(ctx, Schema{Package: "canary", Migrations: []Migration{{Name: "t",
		SQL: `CREATE TABLE CANARY_TABLE_NAME (canary_column_name TEXT); CREATE INDEX canary_idx ON CANARY_TABLE_NAME (canary_column_name)`}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := d.Update(ctx, func(tx *Tx) error {
			_, err := tx.Exec(`INSERT INTO CANARY_TABLE_NAME VALUES (?)`, fmt.Sprintf("the plaintext canary value %d", i))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		ents, _ := os.ReadDir(dir)
		if len(ents) < 2 {
			t.Fatalf("%s: only %v", when, ents)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range canaries {
				if bytes.Contains(b, []byte(c)) {
					t.Errorf("%s: %s holds %q", when, e.Name(), c)
				}
			}
		}
	}
	check("open")
	d.Close()
	check("closed")
}

func TestMigrationsOnceInOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	var ran []string
	step := func(name string) Migration {
		return Migration{Name: name, SQL: `INSERT INTO log_steps (name) VALUES ('` + name + `')`,
			Func: func(tx *Tx) error { ran = append(ran, name); return nil }}
	}
	v1 := Schema{Package: "log", Migrations: []Migration{
		{Name: "create", SQL: `CREATE TABLE log_steps (seq INTEGER PRIMARY KEY, name TEXT NOT NULL)`},
		step("two"), step("three"),
	}}
	d := open(t, path, "p", nil)
	if err := d.Migrate(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx, v1); err != nil { // again: nothing to do
		t.Fatal(err)
	}
	d.Close()

	// A newer program adds two steps; the old ones do not run again.
	v2 := v1
	v2.Migrations = append(append([]Migration{}, v1.Migrations...), step("four"), step("five"))
	d = open(t, path, "p", nil)
	if err := d.Migrate(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if want := []string{"two", "three", "four", "five"}; fmt.Sprint(ran) != fmt.Sprint(want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
	var names []string
	d.View(ctx, func(tx *Tx) error {
		rows, err := tx.Query(`SELECT name FROM log_steps ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		return rows.Err()
	})
	if want := []string{"two", "three", "four", "five"}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", names, want)
	}
	if v, _ := d.Version(ctx, "log"); v != 5 {
		t.Fatalf("version %d", v)
	}

	// The old program on the newer database refuses rather than guess.
	if err := d.Migrate(ctx, v1); !errors.Is(err, ErrSchemaNewer) {
		t.Fatalf("old schema on newer database: %v", err)
	}
	// An applied migration edited in place is refused.
	v3 := v2
	v3.Migrations = append([]Migration{}, v2.Migrations...)
	v3.Migrations[1].SQL += ` -- edited`
	if err := d.Migrate(ctx, v3); !errors.Is(err, ErrMigrationChanged) {
		t.Fatalf("edited migration: %v", err)
	}
	// A failing migration leaves the schema where it was.
	v4 := v2
	v4.Migrations = append(append([]Migration{}, v2.Migrations...), step("six"), Migration{Name: "bad", SQL: `CREATE TABLE log_steps (x)`})
	if err := d.Migrate(ctx, v4); err == nil {
		t.Fatal("failing migration succeeded")
	}
	if v, _ := d.Version(ctx, "log"); v != 5 {
		t.Fatalf("version %d after failed migration", v)
	}
	if n := count(t, d, "log_steps"); n != 4 {
		t.Fatalf("%d steps after failed migration", n)
	}
	if err := d.Migrate(ctx, Schema{Package: "Bad-Name"}); err == nil {
		t.Fatal("bad package name accepted")
	}
}

// agentSchema and chatSchema stand for two packages sharing one database;
// chat's table refers to agent's.
var (
	agentSchema = Schema{Package: "agent", Migrations: []Migration{
		{Name: "conns", SQL: `CREATE TABLE agent_conns (id TEXT PRIMARY KEY, state BLOB)`},
		{Name: "msgs", SQL: `CREATE TABLE agent_msgs (conn TEXT NOT NULL REFERENCES agent_conns(id), n INTEGER, PRIMARY KEY (conn, n))`},
	}}
	chatSchema = Schema{Package: "chat", Migrations: []Migration{
		{Name: "items", SQL: `CREATE TABLE chat_items (conn TEXT NOT NULL REFERENCES agent_conns(id), text TEXT)`},
	}}
)

func TestTwoPackages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	d := open(t, path, "p", nil)
	for _, s := range []Schema{agentSchema, chatSchema} {
		if err := d.Migrate(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// The agent's receive transaction; chat joins it through the context
	// to store the message it was handed.
	chatStore := func(ctx context.Context, conn, text string, fail bool) error {
		return d.Update(ctx, func(tx *Tx) error {
			if _, err := tx.Exec(`INSERT INTO chat_items VALUES (?, ?)`, conn, text); err != nil {
				return err
			}
			if fail {
				return errors.New("chat: refused")
			}
			return nil
		})
	}
	var acked []int
	receive := func(n int, chatFails bool) error {
		return d.Update(ctx, func(tx *Tx) error {
			if _, err := tx.Exec(`INSERT OR IGNORE INTO agent_conns VALUES ('c1', x'00')`); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO agent_msgs VALUES ('c1', ?)`, n); err != nil {
				return err
			}
			tx.AfterCommit(func() { acked = append(acked, n) })
			return chatStore(tx.Context(), "c1", fmt.Sprint("message ", n), chatFails)
		})
	}
	if err := receive(1, false); err != nil {
		t.Fatal(err)
	}
	if err := receive(2, true); err == nil {
		t.Fatal("chat's failure did not fail the transaction")
	}
	if err := receive(3, false); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(acked) != "[1 3]" {
		t.Fatalf("acked %v", acked)
	}
	if a, c := count(t, d, "agent_msgs"), count(t, d, "chat_items"); a != 2 || c != 2 {
		t.Fatalf("agent_msgs %d, chat_items %d; want 2, 2", a, c)
	}
	// Foreign keys hold across the packages.
	if err := chatStore(ctx, "nobody", "x", false); err == nil {
		t.Fatal("chat item for an unknown connection accepted")
	}
	// A View joined from an Update sees its uncommitted writes; an Update
	// cannot join a View.
	d.Update(ctx, func(tx *Tx) error {
		tx.Exec(`INSERT INTO agent_conns VALUES ('c2', NULL)`)
		return d.View(tx.Context(), func(tx *Tx) error {
			var n int
			tx.QueryRow(`SELECT count(*) FROM agent_conns`).Scan(&n)
			if n != 2 {
				t.Errorf("joined view sees %d conns", n)
			}
			return nil
		})
	})
	err := d.View(ctx, func(tx *Tx) error {
		return d.Update(tx.Context(), func(*Tx) error { return nil })
	})
	if err == nil {
		t.Fatal("Update joined a View")
	}
	// Each package's version is its own.
	d.Close()
	d = open(t, path, "p", nil)
	for pkg, want := range map[string]int{"agent": 2, "chat": 1, "other": 0} {
		if v, err := d.Version(ctx, pkg); v != want || err != nil {
			t.Errorf("%s version %d, %v; want %d", pkg, v, err, want)
		}
	}
}

// TestConcurrentUpdates: writers from many goroutines are serialised, none
// lost; readers run alongside.
func TestConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	d := open(t, filepath.Join(t.TempDir(), "state.db"), "p", nil)
	if err := d.Migrate(ctx, kvSchema); err != nil {
		t.Fatal(err)
	}
	put(t, d, "n", []byte{0})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 10 {
				err := d.Update(ctx, func(tx *Tx) error {
					var v []byte
					if err := tx.QueryRow(`SELECT v FROM kv_items WHERE k = 'n'`).Scan(&v); err != nil {
						return err
					}
					_, err := tx.Exec(`UPDATE kv_items SET v = ? WHERE k = 'n'`, []byte{v[0] + 1})
					if err == nil {
						_, err = tx.Exec(`INSERT INTO kv_items VALUES (?, x'')`, fmt.Sprint(w, "/", i))
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 10 {
				get(t, d, "n")
			}
		}()
	}
	wg.Wait()
	if got := get(t, d, "n"); got[0] != 80 {
		t.Fatalf("counter %d, want 80", got[0])
	}
	if n := count(t, d, "kv_items"); n != 81 {
		t.Fatalf("%d items", n)
	}
}

// TestGroupCommitIsolation: Updates that wait together share a commit, but
// each keeps its own outcome: a fn that fails (with its own error or with
// an SQL error) leaves no trace, the others commit, and AfterCommit runs
// exactly for the committed ones.
func TestGroupCommitIsolation(t *testing.T) {
	ctx := context.Background()
	d := open(t, filepath.Join(t.TempDir(), "state.db"), "p", nil)
	if err := d.Migrate(ctx, kvSchema); err != nil {
		t.Fatal(err)
	}
	put(t, d, "taken", []byte("x"))
	var mu sync.Mutex
	committed := map[int]bool{}
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Update(ctx, func(tx *Tx) error {
				if _, err := tx.Exec(`INSERT INTO kv_items VALUES (?, x'')`, fmt.Sprint(i)); err != nil {
					return err
				}
				tx.AfterCommit(func() { mu.Lock(); committed[i] = true; mu.Unlock() })
				switch {
				case i%5 == 0:
					return errors.New("refused")
				case i%7 == 0:
					_, err := tx.Exec(`INSERT INTO kv_items VALUES ('taken', x'')`)
					return err
				}
				return nil
			})
		}()
	}
	wg.Wait()
	want := 1
	for i, err := range errs {
		fails := i%5 == 0 || i%7 == 0
		if (err != nil) != fails {
			t.Errorf("update %d: %v", i, err)
		}
		if committed[i] == fails {
			t.Errorf("update %d: AfterCommit ran %v", i, committed[i])
		}
		if got := get(t, d, fmt.Sprint(i)); (got != nil) == fails {
			t.Errorf("update %d: row present %v", i, got != nil)
		}
		if !fails {
			want++
		}
	}
	if n := count(t, d, "kv_items"); n != want {
		t.Fatalf("%d rows, want %d", n, want)
	}
}
