package store_test

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

// returns runs f in a goroutine and fails the test if it has not returned
// within a minute: that is a store stalled behind a held fsync (a
// deadlock detector, not a measure of speed).
func returns(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("%s stalled behind the compaction's fsync", what)
	}
}

// TestCompactionDoesNotStall: while an online compaction's fsync does not
// return (held on a channel by the file system), writes of every kind go
// on and are answered, under fsync = each. Before, compaction wrote and
// fsynced under the store's lock, and a write waited for it (the relay,
// calling the store under its own lock, stalled with it).
func TestCompactionDoesNotStall(t *testing.T) {
	for _, kind := range []string{"messages", "queues", "rewrite"} {
		t.Run(kind, func(t *testing.T) {
			mem := storetest.NewMemFS()
			ffs := &storetest.FaultFS{FS: mem}
			const min = 4 << 10
			s, _ := mustOpen(t, "/data", store.Options{FS: ffs, CompactMin: min})
			gate := newCompactGate(mem)
			for i := 0; i < 4; i++ {
				if err := s.CreateQueue(newQueue(i)); err != nil {
					t.Fatal(err)
				}
			}
			gate.arm(true)
			next := 0
			switch kind {
			case "messages": // a stream of messages delivered at once
				for s.Stats().Compactions == 0 && !s.Compacting() {
					if err := s.AddMessage(qid('r', 0), msg(next)); err != nil {
						t.Fatal(err)
					}
					if _, err := s.DeleteHead(qid('r', 0), qid('m', next)); err != nil {
						t.Fatal(err)
					}
					next++
				}
			case "queues": // queue records piling up
				for n := 0; s.Stats().Compactions == 0 && !s.Compacting(); n++ {
					if _, err := s.UpdateQueue(qid('r', 1), func(q *store.Queue) error { q.UpdatedAt = int64(n); return nil }); err != nil {
						t.Fatal(err)
					}
				}
			case "rewrite": // a failed fsync: the next write starts a rewrite
				ffs.SetSyncError(syscall.EIO)
				if err := s.AddMessage(qid('r', 0), msg(next)); !errors.Is(err, syscall.EIO) {
					t.Fatalf("write with failing fsync: %v", err)
				}
				next++
				ffs.SetSyncError(nil)
				// This write starts the rewrite and is answered
				// while the rewrite is held.
				returns(t, "write starting the rewrite", func() error { return s.AddMessage(qid('r', 0), msg(next)) })
				next++
			}
			<-gate.parked // the compaction is at its snapshot's fsync, and stays there
			if !s.Compacting() {
				t.Fatal("no compaction in progress")
			}
			returns(t, "AddMessage", func() error { return s.AddMessage(qid('r', 2), msg(1000)) })
			returns(t, "DeleteHead", func() error {
				_, err := s.DeleteHead(qid('r', 2), qid('m', 1000))
				return err
			})
			returns(t, "AddMessage", func() error { return s.AddMessage(qid('r', 2), msg(1001)) })
			returns(t, "CreateQueue", func() error { return s.CreateQueue(newQueue(10)) })
			returns(t, "UpdateQueue", func() error {
				_, err := s.UpdateQueue(qid('r', 3), func(q *store.Queue) error { q.SenderKey = []byte("key"); return nil })
				return err
			})
			returns(t, "DeleteQueue", func() error { return s.DeleteQueue(qid('r', 1)) })
			returns(t, "Stats", func() error { s.Stats(); return nil })
			select {
			case <-s.CompactionDone():
				t.Fatal("the compaction ended while its fsync was held")
			default:
			}
			before := s.Stats().Compactions
			gate.release <- struct{}{}
			s.WaitCompaction()
			if st := s.Stats(); st.Compactions != before+1 {
				t.Fatalf("compaction did not complete: %+v", st)
			}
			// Everything answered OK, during the compaction too, is in
			// the new logs after a power loss.
			mem.CrashAfter(0)
			mem.Restart()
			s2, rec := mustOpen(t, "/data", store.Options{FS: mem})
			defer s2.Close()
			if len(rec.Dropped) != 0 || rec.Orphans != 0 {
				t.Fatalf("recovery %+v", rec)
			}
			if nq, _ := s2.Counts(); nq != 4 {
				t.Fatalf("%d queues, want 4", nq)
			}
			if ms := s2.AllMessages(qid('r', 2)); len(ms) != 1 || string(ms[0].ID) != string(qid('m', 1001)) {
				t.Fatalf("messages of queue 2: %v", ms)
			}
			if q, err := s2.Queue(store.ByRecipient, qid('r', 3)); err != nil || string(q.SenderKey) != "key" {
				t.Fatalf("queue 3: %v", err)
			}
			if kind == "rewrite" {
				if ms := s2.AllMessages(qid('r', 0)); len(ms) != 2 {
					t.Fatalf("messages of queue 0 after the rewrite: %d, want 2", len(ms))
				}
			}
		})
	}
}

// TestCompactionHoldsAcks: a record written after a compaction switched
// the log to its new file is answered only once the new file and its name
// are durable. Here the compaction's last fsync is held and the power goes
// before it returns: the write in flight must not have been answered OK
// (or, if it was, it must survive). Without the hold the group commit
// fsynced the old, already replaced, file and answered OK for a record a
// power loss then took with the rename.
func TestCompactionHoldsAcks(t *testing.T) {
	mem := storetest.NewMemFS()
	s, _ := mustOpen(t, "/data", store.Options{FS: mem, CompactMin: 4 << 10})
	if err := s.CreateQueue(newQueue(1)); err != nil {
		t.Fatal(err)
	}
	gate := newCompactGate(mem)
	gate.arm(true)
	for i := 0; !s.Compacting(); i++ {
		if err := s.AddMessage(qid('r', 1), msg(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteHead(qid('r', 1), qid('m', i)); err != nil {
			t.Fatal(err)
		}
	}
	<-gate.parked // at the snapshot's fsync
	// Now hold the first fsync of the file named messages.log: the
	// compaction's last one, after its rename.
	finish := make(chan struct{})
	mem.SyncHook = func(name string) {
		if strings.HasSuffix(name, "/messages.log") && finish != nil {
			c := finish
			finish = nil
			c <- struct{}{}
			<-c
		}
	}
	held := finish
	gate.release <- struct{}{}
	<-held // the compaction is in its finish, new file renamed, not yet durable
	answered := make(chan error, 1)
	w := s.Written()
	go func() { answered <- s.AddMessage(qid('r', 1), msg(5000)) }()
	for s.Written() == w { // written to the new file
		time.Sleep(time.Millisecond)
	}
	// Give a wrong acknowledgement the time to happen; a right one
	// cannot happen before the release.
	time.Sleep(20 * time.Millisecond)
	var err error
	early := false
	select {
	case err = <-answered:
		early = true
	default:
	}
	mem.CrashAfter(0)
	held <- struct{}{}
	s.WaitCompaction()
	if !early {
		select {
		case err = <-answered:
		case <-time.After(time.Minute):
			t.Fatal("write still waiting after the compaction ended")
		}
	}
	mem.Restart()
	s2, _ := mustOpen(t, "/data", store.Options{FS: mem})
	defer s2.Close()
	got := s2.AllMessages(qid('r', 1))
	if err == nil && (len(got) != 1 || string(got[0].ID) != string(qid('m', 5000))) {
		t.Fatalf("a write answered OK during the compaction is lost: %v", got)
	}
	if err != nil && !errors.Is(err, storetest.ErrCrashed) {
		t.Fatalf("write: %v", err)
	}
}

// TestCompactionFinishFails: when the fsync that ends a compaction fails
// (here the directory's, after the rename), the writes it covered fail,
// the logs are rewritten from memory at the next write, and from then on
// writes are answered and survive a power loss.
func TestCompactionFinishFails(t *testing.T) {
	mem := storetest.NewMemFS()
	ffs := &storetest.FaultFS{FS: mem}
	s, _ := mustOpen(t, "/data", store.Options{FS: ffs, CompactMin: 4 << 10})
	if err := s.CreateQueue(newQueue(1)); err != nil {
		t.Fatal(err)
	}
	gate := newCompactGate(mem)
	gate.arm(true)
	n := 0
	for ; !s.Compacting(); n++ {
		if err := s.AddMessage(qid('r', 1), msg(n)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteHead(qid('r', 1), qid('m', n)); err != nil {
			t.Fatal(err)
		}
	}
	<-gate.parked
	finish := make(chan struct{})
	mem.SyncHook = func(name string) {
		if strings.HasSuffix(name, "/messages.log") && finish != nil {
			c := finish
			finish = nil
			c <- struct{}{}
			<-c
		}
	}
	held := finish
	gate.release <- struct{}{}
	<-held // in the finish: its file fsync is under way, the directory's next
	answered := make(chan error, 1)
	w := s.Written()
	go func() { answered <- s.AddMessage(qid('r', 1), msg(5000)) }()
	for s.Written() == w { // written, and waiting for the hold
		time.Sleep(time.Millisecond)
	}
	ffs.SetSyncError(syscall.EIO)
	held <- struct{}{}
	s.WaitCompaction()
	if err := <-answered; !errors.Is(err, syscall.EIO) {
		t.Fatalf("write covered by the failed finish: %v", err)
	}
	ffs.SetSyncError(nil)
	mem.SyncHook = nil
	if err := s.AddMessage(qid('r', 1), msg(5001)); err != nil { // starts the rewrite
		t.Fatal(err)
	}
	s.WaitCompaction()
	if err := s.AddMessage(qid('r', 1), msg(5002)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Compactions != 2 || st.WriteErrors != 1 {
		t.Fatalf("stats %+v, want 2 compactions and 1 error (the directory's fsync)", st)
	}
	mem.CrashAfter(0)
	mem.Restart()
	s2, rec := mustOpen(t, "/data", store.Options{FS: mem})
	defer s2.Close()
	if len(rec.Dropped) != 0 {
		t.Fatalf("recovery %+v", rec)
	}
	var ids []string
	for _, m := range s2.AllMessages(qid('r', 1)) {
		ids = append(ids, string(m.ID[len(m.ID)-4:]))
	}
	if got := strings.Join(ids, " "); got != "5000 5001 5002" {
		t.Fatalf("messages after power loss: %s (5000 was in doubt and kept in memory, so the rewrite keeps it)", got)
	}
}
