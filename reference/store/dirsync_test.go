package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

// TestOpenMakesDirDurable: Open of a data directory that does not exist
// yet makes the new directories durable (each synced into its parent)
// before it answers, so a queue answered OK survives a power loss. Before,
// the directories were made and never synced into their parents: with a
// strict file system the power loss took the directory and both logs.
func TestOpenMakesDirDurable(t *testing.T) {
	mem := storetest.NewMemFS()
	s, _ := mustOpen(t, "/srv/smp/data", store.Options{FS: mem})
	if err := s.CreateQueue(newQueue(1)); err != nil {
		t.Fatal(err)
	}
	mem.CrashAfter(0)
	s.Close()
	mem.Restart()
	s, _ = mustOpen(t, "/srv/smp/data", store.Options{FS: mem})
	defer s.Close()
	if nq, _ := s.Counts(); nq != 1 {
		t.Fatalf("%d queues after power loss, want 1 (answered OK)", nq)
	}
}

// TestBackupsDirDurable: once a start has made its backups (the next step
// fsyncs the first new snapshot), they survive a power loss. Before, the
// backups directory, made at the first start with backups, was not synced
// into the data directory: a power loss before the compaction's own
// directory sync took the directory and the links in it.
func TestBackupsDirDurable(t *testing.T) {
	mem := storetest.NewMemFS()
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	opts := store.Options{FS: mem, Now: func() time.Time { return clock }}
	s, _ := mustOpen(t, "/data", opts)
	if err := s.CreateQueue(newQueue(1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The second start backs the logs up, then writes the compacted
	// messages.log.tmp: the power goes at its fsync.
	mem.SyncHook = func(name string) {
		if strings.HasSuffix(name, "/messages.log.tmp") {
			mem.SyncHook = nil
			mem.CrashAfter(0)
		}
	}
	clock = clock.Add(time.Minute)
	if _, _, err := store.Open("/data", opts); err == nil {
		t.Fatal("open went on after the power loss")
	}
	mem.Restart()
	names, err := mem.ReadDir("/data/backups")
	want := "messages.log.20261201T000100.000000000Z queues.log.20261201T000100.000000000Z"
	if got := strings.Join(names, " "); err != nil || got != want {
		t.Fatalf("backups after power loss: %q, %v; want %q", got, err, want)
	}
}
