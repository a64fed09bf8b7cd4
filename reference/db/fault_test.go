package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ncruces/go-sqlite3"
	"github.com/smpkit/smpkit/internal/faultvfs"
)

// TestDiskFullDuringTransaction fills the disk at many points of a
// transaction's commit (the WAL append, its header, a checkpoint): the
// failed transaction is reported as ErrDiskFull and leaves no trace; what
// was committed before stays; once space is back the database takes
// writes again, and a reopened database is intact.
func TestDiskFullDuringTransaction(t *testing.T) {
	ctx := context.Background()
	for _, budget := range []int64{0, 1, 4096, 3 * 4096, 40 << 10, 200 << 10} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			fv := faultvfs.New(nil)
			path := filepath.Join(t.TempDir(), "state.db")
			d := open(t, path, "p", &Options{VFS: fv})
			if err := d.Migrate(ctx, kvSchema); err != nil {
				t.Fatal(err)
			}
			blob := bytes.Repeat([]byte{0xa5}, 3000)
			for i := range 20 {
				put(t, d, fmt.Sprint("base", i), blob)
			}
			fv.FailAfter(budget)
			err := d.Update(ctx, func(tx *Tx) error {
				for i := range 100 {
					if _, err := tx.Exec(`INSERT INTO kv_items VALUES (?, ?)`, fmt.Sprint("new", i), blob); err != nil {
						return err
					}
				}
				_, err := tx.Exec(`DELETE FROM kv_items WHERE k = 'base0'`)
				return err
			})
			if err == nil {
				t.Fatalf("transaction of 300 KB committed with %d bytes of space", budget)
			}
			if !errors.Is(err, ErrDiskFull) || !errors.Is(err, sqlite3.FULL) {
				t.Fatalf("error %v, want ErrDiskFull", err)
			}
			if fv.Failed() == 0 {
				t.Fatal("no write failed")
			}
			checkBase := func(d *DB, when string) {
				t.Helper()
				if n := count(t, d, "kv_items"); n != 20 {
					t.Fatalf("%s: %d items, want the 20 committed", when, n)
				}
				if got := get(t, d, "base0"); !bytes.Equal(got, blob) {
					t.Fatalf("%s: base0 lost", when)
				}
				var ok string
				d.View(ctx, func(tx *Tx) error { return tx.QueryRow(`PRAGMA integrity_check`).Scan(&ok) })
				if ok != "ok" {
					t.Fatalf("%s: integrity_check: %s", when, ok)
				}
			}
			// Still full: reads work and show the state before.
			checkBase(d, "disk still full")
			fv.Heal()
			checkBase(d, "after freeing space")
			put(t, d, "after", []byte("x"))
			d.Close()

			d = open(t, path, "p", nil)
			if n := count(t, d, "kv_items"); n != 21 || string(get(t, d, "after")) != "x" {
				t.Fatalf("reopened: %d items", n)
			}
		})
	}
}

// TestWriteErrorDuringTransaction: an I/O error other than a full disk
// also rolls the transaction back, and is not mistaken for one.
func TestWriteErrorDuringTransaction(t *testing.T) {
	ctx := context.Background()
	fv := faultvfs.New(nil)
	d := open(t, filepath.Join(t.TempDir(), "state.db"), "p", &Options{VFS: fv})
	if err := d.Migrate(ctx, kvSchema); err != nil {
		t.Fatal(err)
	}
	put(t, d, "a", []byte("1"))
	fv.FailAfterWith(0, sqlite3.IOERR_WRITE)
	err := d.Update(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`UPDATE kv_items SET v = '2' WHERE k = 'a'`)
		return err
	})
	if err == nil || errors.Is(err, ErrDiskFull) {
		t.Fatalf("write error: %v", err)
	}
	fv.Heal()
	if got := get(t, d, "a"); string(got) != "1" {
		t.Fatalf("a = %q after the failed update", got)
	}
	put(t, d, "a", []byte("3"))
	if got := get(t, d, "a"); string(got) != "3" {
		t.Fatalf("a = %q", got)
	}
}

// TestDiskFullInGroupCommit fills the disk while many Updates share
// commits: afterwards exactly the Updates that reported success are in
// the database, before and after a reopen.
func TestDiskFullInGroupCommit(t *testing.T) {
	ctx := context.Background()
	for _, budget := range []int64{0, 8 << 10, 64 << 10} {
		fv := faultvfs.New(nil)
		path := filepath.Join(t.TempDir(), "state.db")
		d := open(t, path, "p", &Options{VFS: fv})
		if err := d.Migrate(ctx, kvSchema); err != nil {
			t.Fatal(err)
		}
		fv.FailAfter(budget)
		blob := bytes.Repeat([]byte{1}, 2000)
		errs := make([]error, 100)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.Update(ctx, func(tx *Tx) error {
					_, err := tx.Exec(`INSERT INTO kv_items VALUES (?, ?)`, fmt.Sprint(i), blob)
					return err
				})
			}()
		}
		wg.Wait()
		fv.Heal()
		check := func(d *DB, when string) {
			failed := 0
			for i, err := range errs {
				if err != nil {
					failed++
				}
				if got := get(t, d, fmt.Sprint(i)); (got != nil) != (err == nil) {
					t.Fatalf("budget %d, %s: update %d reported %v, row present %v", budget, when, i, err, got != nil)
				}
			}
			if failed == 0 {
				t.Fatalf("budget %d: nothing failed", budget)
			}
		}
		check(d, "open")
		d.Close()
		check(open(t, path, "p", nil), "reopened")
	}
}
