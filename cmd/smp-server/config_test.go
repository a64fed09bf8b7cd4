package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/store"
)

// TestStoreOptions: [STORE_LOG] backups and compact_min reach the store,
// with the file's 0 meaning zero (no backups, no minimum), not the store's
// default.
func TestStoreOptions(t *testing.T) {
	for in, want := range map[string]store.Options{
		"":                                   {Backups: 3, CompactMin: 1 << 20},
		"backups = 7\ncompact_min = 65536\n": {Backups: 7, CompactMin: 65536},
		"backups = 0\ncompact_min = 0\n":     {Backups: -1, CompactMin: 1},
	} {
		s, _, err := relay.ReadSettings(strings.NewReader("[STORE_LOG]\n" + in))
		if err != nil {
			t.Fatal(err)
		}
		o := storeOptions(s)
		if o.Backups != want.Backups || o.CompactMin != want.CompactMin || o.Sync != store.SyncEachWrite {
			t.Errorf("%q: %+v, want backups %d, compact_min %d", in, o, want.Backups, want.CompactMin)
		}
	}
}

// TestStartKeepsConfiguredBackups: `start` keeps as many generations of
// each log in backups/ as [STORE_LOG] backups says (1 here, where the
// default would keep 2 after three starts), and with backups = 0 none.
func TestStartKeepsConfiguredBackups(t *testing.T) {
	if testing.Short() {
		t.Skip("starts relay processes")
	}
	for backups, want := range map[string]int{"1": 1, "0": 0} {
		dir, port := t.TempDir(), freePort(t)
		if code := run([]string{"init", "--dir", dir, "--host", "127.0.0.1", "--port", port, "--no-password"}, io.Discard, os.Stderr); code != 0 {
			t.Fatalf("init exited %d", code)
		}
		ini := filepath.Join(dir, configFile)
		b, err := os.ReadFile(ini)
		if err != nil || !strings.Contains(string(b), "\nbackups = 3\n") {
			t.Fatalf("init wrote no backups = 3: %v", err)
		}
		if err := os.WriteFile(ini, []byte(strings.Replace(string(b), "\nbackups = 3\n", "\nbackups = "+backups+"\n", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			child := startChild(t, dir, port)
			child.Process.Kill()
			child.Wait()
		}
		names, _ := filepath.Glob(filepath.Join(dir, "backups", "queues.log.*"))
		if len(names) != want {
			t.Errorf("backups = %s: %d generations of queues.log kept, want %d: %q", backups, len(names), want, names)
		}
	}
}
