package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

func qid(prefix byte, n int) []byte { return []byte(fmt.Sprintf("%c%023d", prefix, n)) }

func newQueue(n int) store.Queue {
	return store.Queue{
		RecipientID:   qid('r', n),
		RecipientKeys: [][]byte{bytes.Repeat([]byte{byte(n)}, 44)},
		RcvDHSecret:   bytes.Repeat([]byte{1}, 32),
		SenderID:      qid('s', n),
		Mode:          'M',
		Status:        store.Active,
		UpdatedAt:     1_700_000_000,
	}
}

func msg(n int) store.Message {
	return store.Message{ID: qid('m', n), Timestamp: 5, Body: []byte(fmt.Sprintf("body %d", n))}
}

func mustOpen(t testing.TB, dir string, opts store.Options) (*store.Store, *store.Recovery) {
	t.Helper()
	s, rec, err := store.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, rec
}

// fillDir writes n queues with one message each in a real directory.
func fillDir(t *testing.T, n int) string {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir, store.Options{Sync: store.SyncNever})
	for i := 0; i < n; i++ {
		if err := s.CreateQueue(newQueue(i)); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMessage(qid('r', i), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestZeroFilledTail: 8 zero bytes after the last record (what power loss
// leaves on ext4 or XFS) made Open panic, as the CRC of an empty payload is
// 0. They are damage: set aside, reported, and nothing else is lost.
func TestZeroFilledTail(t *testing.T) {
	for _, file := range []string{"queues.log", "messages.log"} {
		for _, n := range []int{1, 8, 4096} {
			t.Run(fmt.Sprintf("%s/%d", file, n), func(t *testing.T) {
				dir := fillDir(t, 5)
				appendBytes(t, filepath.Join(dir, file), make([]byte, n))
				s, rec := mustOpen(t, dir, store.Options{})
				defer s.Close()
				if nq, nm := s.Counts(); nq != 5 || nm != 5 {
					t.Fatalf("kept %d queues, %d messages of 5", nq, nm)
				}
				if len(rec.Dropped) != 1 || !strings.Contains(rec.Dropped[0], fmt.Sprintf("%s: %d damaged bytes", file, n)) {
					t.Fatalf("report %q", rec.Dropped)
				}
				b, err := os.ReadFile(filepath.Join(dir, file+".damaged"))
				if err != nil || !bytes.Equal(b, make([]byte, n)) {
					t.Fatalf("set aside %x, %v", b, err)
				}
			})
		}
	}
}

// TestLegacyFormat reads a log of format 1 (no header, CRC of the payload
// only), zero-filled tail included, and rewrites it in format 2.
func TestLegacyFormat(t *testing.T) {
	dir := fillDir(t, 3)
	// Rewrite queues.log in format 1 from its format-2 frames.
	p := filepath.Join(dir, "queues.log")
	b, _ := os.ReadFile(p)
	if string(b[:8]) != "SMPSTOR2" {
		t.Fatalf("header %q", b[:8])
	}
	var v1 []byte
	for r := b[8:]; len(r) > 0; {
		n := int(r[2])<<24 | int(r[3])<<16 | int(r[4])<<8 | int(r[5])
		payload := r[10 : 10+n]
		v1 = append(v1, v1Frame(payload)...)
		r = r[10+n:]
	}
	v1 = append(v1, make([]byte, 8)...)
	os.WriteFile(p, v1, 0o600)
	s, rec := mustOpen(t, dir, store.Options{})
	if nq, nm := s.Counts(); nq != 3 || nm != 3 || len(rec.Dropped) != 1 {
		t.Fatalf("%d queues, %d messages, report %q", nq, nm, rec.Dropped)
	}
	s.Close()
	if b, _ := os.ReadFile(p); string(b[:8]) != "SMPSTOR2" {
		t.Fatal("not rewritten in format 2")
	}
}

func v1Frame(p []byte) []byte {
	h := make([]byte, 8)
	n := len(p)
	h[0], h[1], h[2], h[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	c := store.CRC32C(p)
	h[4], h[5], h[6], h[7] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return append(h, p...)
}

// TestDamageInTheMiddle: one flipped bit early in queues.log used to drop
// every later queue, and compaction deleted their messages. Now only the
// damaged record is lost; its queue's message is an orphan, set aside in
// messages.orphans, and every later record is kept.
func TestDamageInTheMiddle(t *testing.T) {
	const n = 50
	dir := fillDir(t, n)
	p := filepath.Join(dir, "queues.log")
	b, _ := os.ReadFile(p)
	b[8+30] ^= 0x10 // inside the first record
	os.WriteFile(p, b, 0o600)
	m := filepath.Join(dir, "messages.log")
	mb, _ := os.ReadFile(m)
	mb[len(mb)/2] ^= 0x01 // inside some message in the middle
	os.WriteFile(m, mb, 0o600)

	s, rec := mustOpen(t, dir, store.Options{})
	nq, nm := s.Counts()
	if nq != n-1 || nm != n-2 {
		t.Fatalf("kept %d queues and %d messages; want %d and %d", nq, nm, n-1, n-2)
	}
	if rec.Orphans != 1 || len(rec.Dropped) != 3 {
		t.Fatalf("orphans %d, report %q", rec.Orphans, rec.Dropped)
	}
	for _, want := range []string{"queues.log: ", "at offset 8 ", "messages.log: ", "messages.orphans"} {
		if !strings.Contains(strings.Join(rec.Dropped, "\n"), want) {
			t.Errorf("report lacks %q: %q", want, rec.Dropped)
		}
	}
	s.Close()
	orph, err := os.ReadFile(filepath.Join(dir, "messages.orphans"))
	if err != nil || !bytes.Contains(orph, []byte("body 0")) {
		t.Fatalf("orphan not set aside: %v", err)
	}
	// The next start is clean and keeps the set-aside files.
	s, rec = mustOpen(t, dir, store.Options{})
	defer s.Close()
	if len(rec.Dropped) != 0 || rec.Orphans != 0 {
		t.Fatalf("second start: %+v", rec)
	}
	if nq2, nm2 := s.Counts(); nq2 != nq || nm2 != nm {
		t.Fatal("second start lost records")
	}
}

// TestDeletedQueueMessagesAreNotOrphans: messages of a deleted queue are
// dropped silently at compaction, not reported as orphans.
func TestDeletedQueueMessagesAreNotOrphans(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir, store.Options{Sync: store.SyncNever})
	s.CreateQueue(newQueue(1))
	s.AddMessage(qid('r', 1), msg(1))
	s.DeleteQueue(qid('r', 1))
	s.Close()
	s, rec := mustOpen(t, dir, store.Options{})
	defer s.Close()
	if rec.Orphans != 0 || len(rec.Dropped) != 0 {
		t.Fatalf("%+v", rec)
	}
}

// TestDirectoryLock: a second Open of a directory in use fails and names
// the holder; the first store is unharmed. Before, a second relay compacted
// the logs under a running one.
func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir, store.Options{})
	_, _, err := store.Open(dir, store.Options{})
	want := fmt.Sprintf("data directory in use (pid %d)", os.Getpid())
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), want) {
		t.Fatalf("second open: %v; want %q", err, want)
	}
	if err := s.CreateQueue(newQueue(1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _ = mustOpen(t, dir, store.Options{})
	defer s.Close()
	if nq, _ := s.Counts(); nq != 1 {
		t.Fatal("queue lost")
	}
}

// TestBackups: each start keeps the previous logs, up to the retention count.
func TestBackups(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		clock = clock.Add(time.Minute)
		s, _ := mustOpen(t, dir, store.Options{Backups: 2, Now: func() time.Time { return clock }})
		s.CreateQueue(newQueue(i))
		s.Close()
	}
	es, _ := os.ReadDir(filepath.Join(dir, "backups"))
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	want := []string{"messages.log.20261201T000400.000000000Z", "messages.log.20261201T000500.000000000Z",
		"queues.log.20261201T000400.000000000Z", "queues.log.20261201T000500.000000000Z"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("backups %q, want %q", names, want)
	}
	// The newest backup of queues.log holds the four queues written before
	// the last start.
	b, _ := os.ReadFile(filepath.Join(dir, "backups", want[3]))
	if bytes.Count(b, []byte("SMPSTOR2")) != 1 || !bytes.Contains(b, qid('r', 3)) || bytes.Contains(b, qid('r', 4)) {
		t.Fatal("backup does not hold the previous log")
	}
}

// TestIntervalWritesThrough: with fsync = interval, a record reaches the
// kernel before the call returns, so kill -9 (the page cache survives) loses
// nothing. Before, records waited in a user-space buffer until the tick.
func TestIntervalWritesThrough(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir, store.Options{Sync: store.SyncInterval, SyncInterval: time.Hour})
	defer s.Close()
	if err := s.CreateQueue(newQueue(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMessage(qid('r', 1), msg(1)); err != nil {
		t.Fatal(err)
	}
	q, _ := os.ReadFile(filepath.Join(dir, "queues.log"))
	m, _ := os.ReadFile(filepath.Join(dir, "messages.log"))
	if !bytes.Contains(q, qid('r', 1)) || !bytes.Contains(m, []byte("body 1")) {
		t.Fatal("records not in the files before the interval's fsync")
	}
}

// TestWriteErrorsClear: after the disk fills, writes fail (and are
// counted); once there is room again they succeed, without a restart. The
// failed writes leave nothing behind, and every write answered OK survives.
// Before, the first error stuck in a buffered writer until restart.
func TestWriteErrorsClear(t *testing.T) {
	mem := storetest.NewMemFS()
	ffs := &storetest.FaultFS{FS: mem}
	s, _ := mustOpen(t, "/data", store.Options{FS: ffs})
	if err := s.CreateQueue(newQueue(1)); err != nil {
		t.Fatal(err)
	}
	ffs.SetFull(true)
	if err := s.AddMessage(qid('r', 1), msg(1)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v", err)
	}
	if err := s.CreateQueue(newQueue(2)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("create on a full disk: %v", err)
	}
	if st := s.Stats(); st.WriteErrors != 2 || st.Messages != 0 || st.Queues != 1 {
		t.Fatalf("stats %+v", st)
	}
	ffs.SetFull(false)
	if err := s.AddMessage(qid('r', 1), msg(2)); err != nil {
		t.Fatalf("write after space was freed: %v", err)
	}
	if err := s.CreateQueue(newQueue(3)); err != nil {
		t.Fatal(err)
	}
	// An fsync failure fails the writes it covered; the logs are then
	// rewritten from memory, and later writes succeed.
	ffs.SetSyncError(syscall.EIO)
	if err := s.AddMessage(qid('r', 3), msg(3)); !errors.Is(err, syscall.EIO) {
		t.Fatalf("write with failing fsync: %v", err)
	}
	ffs.SetSyncError(nil)
	if err := s.AddMessage(qid('r', 3), msg(4)); err != nil {
		t.Fatal(err)
	}
	s.WaitCompaction() // the rewrite runs in the background
	if st := s.Stats(); st.Compactions != 1 || st.WriteErrors != 3 {
		t.Fatalf("after the rewrite: %+v", st)
	}
	mem.CrashAfter(0) // power loss: only durable writes remain
	mem.Restart()
	s2, rec := mustOpen(t, "/data", store.Options{FS: mem})
	defer s2.Close()
	if len(rec.Dropped) != 0 {
		t.Fatalf("damage after write errors: %q", rec.Dropped)
	}
	if nq, nm := s2.Counts(); nq != 2 || nm != 3 {
		t.Fatalf("%d queues, %d messages; want 2 and 3 (msg 3 stays: written, fsync in doubt)", nq, nm)
	}
	if h, ok := s2.Head(qid('r', 1)); !ok || !bytes.Equal(h.ID, qid('m', 2)) {
		t.Fatal("message written after the disk had room is lost")
	}
}

// TestOnlineCompaction: messages.log stays within max(2·live, CompactMin)
// plus a record while messages come and go, and delivered bodies leave the
// file.
func TestOnlineCompaction(t *testing.T) {
	mem := storetest.NewMemFS()
	const min = 4 << 10
	s, _ := mustOpen(t, "/data", store.Options{FS: mem, CompactMin: min})
	defer s.Close()
	s.CreateQueue(newQueue(1))
	for i := 0; i < 2000; i++ {
		if err := s.AddMessage(qid('r', 1), msg(i)); err != nil {
			t.Fatal(err)
		}
		if i >= 5 { // keep the last five
			if ok, err := s.DeleteHead(qid('r', 1), qid('m', i-5)); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
		// The bound holds once the compaction a write started is done
		// (it runs in the background).
		s.WaitCompaction()
		st := s.Stats()
		if bound := max(2*st.LiveMessages, min) + 64; st.MessagesLog > bound {
			t.Fatalf("after %d: messages.log %d bytes > bound %d (live %d)", i, st.MessagesLog, bound, st.LiveMessages)
		}
	}
	if s.Stats().Compactions == 0 {
		t.Fatal("no compaction")
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	b, _ := mem.ReadFile("/data/messages.log")
	if bytes.Contains(b, []byte("\x00\x08body 100")) || bytes.Contains(b, []byte("body 1994")) {
		t.Fatal("delivered body still in messages.log")
	}
	if !bytes.Contains(b, []byte("body 1995")) || !bytes.Contains(b, []byte("body 1999")) {
		t.Fatal("live body missing from messages.log")
	}
}

// TestOnlineQueueCompaction: queues.log stays within max(2·(queues +
// services), CompactMin/256) records while queues come, change and go.
func TestOnlineQueueCompaction(t *testing.T) {
	mem := storetest.NewMemFS()
	const min = 4 << 10 // 16 records
	s, _ := mustOpen(t, "/data", store.Options{FS: mem, CompactMin: min})
	for i := 0; i < 1000; i++ {
		if err := s.CreateQueue(newQueue(i)); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMessage(qid('r', i), msg(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateQueue(qid('r', i), func(q *store.Queue) error { q.SenderKey = []byte("key"); return nil }); err != nil {
			t.Fatal(err)
		}
		if i%4 != 0 { // keep a quarter
			if err := s.DeleteQueue(qid('r', i)); err != nil {
				t.Fatal(err)
			}
		}
		s.WaitCompaction()
		st := s.Stats()
		if bound := max(2*int64(st.Queues), min/256); st.QueueRecords > bound {
			t.Fatalf("after %d: %d records in queues.log > %d", i, st.QueueRecords, bound)
		}
	}
	s.Close()
	mem.CrashAfter(0)
	mem.Restart()
	s, rec := mustOpen(t, "/data", store.Options{FS: mem})
	defer s.Close()
	if nq, nm := s.Counts(); nq != 250 || nm != 250 || rec.Orphans != 0 || len(rec.Dropped) != 0 {
		t.Fatalf("%d queues, %d messages, %+v", nq, nm, rec)
	}
	if q, err := s.Queue(store.ByRecipient, qid('r', 996)); err != nil || string(q.SenderKey) != "key" {
		t.Fatalf("queue 996: %v", err)
	}
}
