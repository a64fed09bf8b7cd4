// Package dbtest holds what tests of packages above reference/db share:
// database options whose passphrase key derivation is as cheap as the KDF
// allows, because tests open hundreds of databases (never for real data),
// and snapshots of database directories for backup-restore tests.
package dbtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/smpkit/smpkit/reference/db"
)

// FastKDF is the cheapest Argon2id setting the database accepts.
var FastKDF = db.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// Options returns database options with FastKDF.
func Options() *db.Options { return &db.Options{KDF: FastKDF} }

// SnapshotDir reads every file of a database directory: a backup, for
// tests of a peer restoring one.
func SnapshotDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// RestoreDir replaces a directory's files by a snapshot.
func RestoreDir(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.Remove(filepath.Join(dir, e.Name()))
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
