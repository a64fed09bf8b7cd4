package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

// state is what the store must hold after a crash: every queue and message
// change answered OK, and nothing else.
type state struct {
	queues map[string]store.Queue
	msgs   map[string][]store.Message
}

func (st state) clone() state {
	c := state{queues: map[string]store.Queue{}, msgs: map[string][]store.Message{}}
	for k, v := range st.queues {
		c.queues[k] = v
	}
	for k, v := range st.msgs {
		c.msgs[k] = append([]store.Message(nil), v...)
	}
	return c
}

// diff compares a store with a state; ids lists every recipient id ever
// used, so that a queue that should not exist is found too.
func (st state) diff(s *store.Store, ids []string) string {
	var d []string
	opts := cmpopts.EquateEmpty()
	for _, rid := range ids {
		want, exists := st.queues[rid]
		got, err := s.Queue(store.ByRecipient, []byte(rid))
		switch {
		case exists && err != nil:
			d = append(d, fmt.Sprintf("queue %q lost", rid))
		case !exists && err == nil:
			d = append(d, fmt.Sprintf("queue %q appeared", rid))
		case exists:
			if x := cmp.Diff(want, *got, opts); x != "" {
				d = append(d, x)
			}
		}
		if x := cmp.Diff(st.msgs[rid], s.AllMessages([]byte(rid)), opts); x != "" {
			d = append(d, fmt.Sprintf("messages of %q (-want +got):\n%s", rid, x))
		}
	}
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprint(d)
}

// compactGate holds each online compaction at the fsync of its snapshot
// (the first fsync of a file named *.tmp after arm), so that a test's
// workload goes on while the compaction is in progress, and lets it go on
// cue. Open's own snapshots are fsynced under the same names: disarm
// around Open.
type compactGate struct {
	mu      sync.Mutex
	armed   bool
	parked  chan struct{}
	release chan struct{}
}

func newCompactGate(mem *storetest.MemFS) *compactGate {
	g := &compactGate{parked: make(chan struct{}), release: make(chan struct{})}
	mem.SyncHook = func(name string) {
		if !strings.HasSuffix(name, ".tmp") {
			return
		}
		g.mu.Lock()
		park := g.armed
		g.armed = false
		g.mu.Unlock()
		if park {
			g.parked <- struct{}{}
			<-g.release
		}
	}
	return g
}

func (g *compactGate) arm(on bool) {
	g.mu.Lock()
	g.armed = on
	g.mu.Unlock()
}

// TestPowerLoss runs random workloads on a file system that loses every
// write not made durable when the power goes, cutting the power at random
// points (during writes, fsyncs, compactions, restarts). After each crash,
// Open must succeed and the store must hold exactly the changes answered
// OK, plus possibly the one in flight when the power went: every message
// and queue record answered OK survives, nothing never written appears.
// Half the runs leave torn or zero-filled tails, as real file systems do.
//
// Online compactions run in the background: with a small CompactMin they
// start often; each is held at the fsync of its snapshot while the
// workload goes on (its records go to the old logs and the compaction's
// tail), and let go at a random later step, often with a crash planned so
// that the power goes inside its catch-up, switch or finish. The test
// waits for a compaction to be held or done after each step, so the
// interleaving (and rapid's shrinking) stays deterministic.
func TestPowerLoss(t *testing.T) {
	// inside: the power went during a compaction's catch-up, switch or
	// finish; during: while one was held at its snapshot's fsync.
	crashes, started, compactions, inside, during := 0, 0, 0, 0, 0
	rapid.Check(t, func(rt *rapid.T) {
		mem := storetest.NewMemFS()
		if rapid.Bool().Draw(rt, "torn tails") {
			mem.Torn = storetest.TornTail(rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 1)))
		}
		gate := newCompactGate(mem)
		held := false // a compaction is parked at its snapshot's fsync
		let := func() {
			if held {
				gate.release <- struct{}{}
				held = false
			}
		}
		opts := store.Options{FS: mem, CompactMin: 256, Backups: rapid.IntRange(-1, 2).Draw(rt, "backups")}
		var ids []string
		model := state{queues: map[string]store.Queue{}, msgs: map[string][]store.Message{}}

		// reopen powers on after a crash (or a clean stop) and checks the
		// store against model, or against pending if the change in flight
		// made it to disk.
		var s *store.Store
		reopen := func(pending *state) {
			if held && mem.Crashed() {
				during++
			}
			if s != nil {
				let()
				s.WaitCompaction()
			}
			gate.arm(false)
			for {
				mem.Restart()
				if rapid.IntRange(0, 4).Draw(rt, "crash during open") == 0 {
					mem.CrashAfter(rapid.IntRange(1, 12).Draw(rt, "open ops before crash"))
				}
				var err error
				s, _, err = store.Open("/data", opts)
				if err == nil {
					break
				}
				if !errors.Is(err, storetest.ErrCrashed) {
					rt.Fatalf("replay failed: %v", err)
				}
				crashes++
			}
			mem.CrashAfter(-1)
			if d := model.diff(s, ids); d != "" {
				if pending == nil {
					rt.Fatalf("after power loss: %s", d)
				}
				if d2 := pending.diff(s, ids); d2 != "" {
					rt.Fatalf("after power loss, neither the state before the change in flight nor after:\n%s\n--- or ---\n%s", d, d2)
				}
				model = *pending
			}
		}
		reopen(nil)
		next := 0
		pick := func() (string, bool) {
			if len(model.queues) == 0 {
				return "", false
			}
			keys := make([]string, 0, len(model.queues))
			for k := range model.queues {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return keys[rapid.IntRange(0, len(keys)-1).Draw(rt, "queue")], true
		}
		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			if rapid.IntRange(0, 5).Draw(rt, "plan crash") == 0 {
				mem.CrashAfter(rapid.IntRange(1, 6).Draw(rt, "ops before crash"))
			}
			if held && rapid.IntRange(0, 2).Draw(rt, "let compaction go") == 0 {
				if rapid.Bool().Draw(rt, "crash inside the compaction") {
					mem.CrashAfter(rapid.IntRange(1, 8).Draw(rt, "compaction ops before crash"))
				}
				let()
				s.WaitCompaction()
				compactions++
				if mem.Crashed() {
					inside++
				}
			}
			gate.arm(!held)
			after := model.clone()
			var err error
			switch op := rapid.IntRange(0, 6).Draw(rt, "op"); op {
			case 0: // create
				q := newQueue(next)
				next++
				ids = append(ids, string(q.RecipientID))
				err = s.CreateQueue(q)
				after.queues[string(q.RecipientID)] = q
			case 1: // secure
				rid, ok := pick()
				if !ok {
					continue
				}
				key := []byte(fmt.Sprintf("key %d", next))
				next++
				_, err = s.UpdateQueue([]byte(rid), func(q *store.Queue) error { q.SenderKey = key; return nil })
				q := after.queues[rid]
				q.SenderKey = key
				after.queues[rid] = q
			case 2: // delete
				rid, ok := pick()
				if !ok {
					continue
				}
				err = s.DeleteQueue([]byte(rid))
				delete(after.queues, rid)
				delete(after.msgs, rid)
			case 3, 4: // send
				rid, ok := pick()
				if !ok {
					continue
				}
				m := store.Message{ID: qid('m', next), Timestamp: int64(next),
					Body: bytes.Repeat([]byte{byte(next)}, rapid.IntRange(0, 300).Draw(rt, "body size"))}
				next++
				err = s.AddMessage([]byte(rid), m)
				after.msgs[rid] = append(after.msgs[rid], m)
			case 5: // ack
				rid, ok := pick()
				if !ok || len(model.msgs[rid]) == 0 {
					continue
				}
				var done bool
				done, err = s.DeleteHead([]byte(rid), model.msgs[rid][0].ID)
				if err == nil && !done {
					rt.Fatal("head not deleted")
				}
				after.msgs[rid] = after.msgs[rid][1:]
				if len(after.msgs[rid]) == 0 {
					delete(after.msgs, rid)
				}
			case 6: // clean restart, unless the power goes meanwhile
				let()
				if err := s.Close(); err != nil && !mem.Crashed() {
					rt.Fatal(err)
				}
				if mem.Crashed() {
					crashes++
				}
				reopen(nil)
				continue
			}
			if !held {
				// A compaction this step started runs to its
				// snapshot's fsync, or fails before.
				select {
				case <-gate.parked:
					held = true
					started++
				case <-s.CompactionDone():
				}
			}
			if err == nil {
				model = after
				if mem.Crashed() {
					// The compaction this change started, running
					// beside its fsync, cut the power after the
					// change was durable: it must survive.
					crashes++
					reopen(nil)
				}
				continue
			}
			if !mem.Crashed() {
				rt.Fatalf("write failed without a crash: %v", err)
			}
			crashes++
			reopen(&after)
		}
		let()
		s.Close()
	})
	t.Logf("%d power losses survived (%d inside the end of a compaction, %d while one was held); %d online compactions, %d let go mid-workload",
		crashes, inside, during, started, compactions)
}

// TestGroupCommit: writers pending at the same moment share one fsync, and
// each is answered only after the fsync that covers its record: after a
// power loss every write answered OK is there.
func TestGroupCommit(t *testing.T) {
	mem := storetest.NewMemFS()
	mem.SyncDelay = 200 * time.Microsecond
	// A small CompactMin: compactions run among the concurrent writes.
	s, _ := mustOpen(t, "/data", store.Options{FS: mem, CompactMin: 4 << 10})
	const writers, each = 16, 50
	for w := 0; w < writers; w++ {
		if err := s.CreateQueue(newQueue(w)); err != nil {
			t.Fatal(err)
		}
	}
	syncs := mem.Syncs()
	var wg sync.WaitGroup
	var mu sync.Mutex
	okd := map[int][]int{}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				n := w*each + i
				if err := s.AddMessage(qid('r', w), msg(n)); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.DeleteHead(qid('r', w), qid('m', n)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				okd[w] = append(okd[w], n)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	shared := mem.Syncs() - syncs
	t.Logf("%d writes, %d fsyncs, %d compactions", 2*writers*each, shared, s.Stats().Compactions)
	if s.Stats().Compactions == 0 {
		t.Error("no compaction among the writes")
	}
	if shared >= 2*writers*each {
		t.Errorf("%d fsyncs for %d concurrent writes: none shared", shared, writers*each)
	}
	// Now the same with the power cut in the middle.
	for w := 0; w < writers; w++ {
		s.CreateQueue(newQueue(100 + w))
	}
	mem.CrashAfter(400)
	okd = map[int][]int{}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				if err := s.AddMessage(qid('r', 100+w), msg(100000+w*1000+i)); err != nil {
					return
				}
				mu.Lock()
				okd[w] = append(okd[w], i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.WaitCompaction()
	mem.Restart()
	s2, _ := mustOpen(t, "/data", store.Options{FS: mem})
	defer s2.Close()
	for w, list := range okd {
		got := s2.AllMessages(qid('r', 100+w))
		if len(got) < len(list) {
			t.Fatalf("writer %d: %d messages answered OK, %d after power loss", w, len(list), len(got))
		}
		for i := range list {
			if !bytes.Equal(got[i].ID, qid('m', 100000+w*1000+i)) {
				t.Fatalf("writer %d: message %d differs", w, i)
			}
		}
	}
}
