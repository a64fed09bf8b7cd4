package agent_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/db/dbtest"
)

const testPassphrase = "agent test passphrase"

// testDB keeps key derivation cheap in tests; the real parameters are
// exercised in package db.
func testDB() *db.Options {
	return dbtest.Options()
}

// snapshotDir reads every file of an agent's directory: a backup.
func snapshotDir(t *testing.T, dir string) map[string][]byte {
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

// restoreDir replaces the directory's files by a snapshot.
func restoreDir(t *testing.T, dir string, files map[string][]byte) {
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
